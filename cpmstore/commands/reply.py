"""The tagged outcome of a command handler."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Reply:
    status: bytes = b"OK"
    text: str = "Completed."
    code: bytes | None = None

    @classmethod
    def ok(cls, text: str = "Completed.", code: bytes | None = None) -> "Reply":
        return cls(b"OK", text, code)
