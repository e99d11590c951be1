"""Deterministic small CPM chat messages for benchmarks (shared/cpm-formats.md §3.2, 1-1 chat).

It owns: turning (count, seed) into the same sequence of RFC 5322 messages every time: outer headers as the
Orange CMS server emits them, a `message/cpim` body with an IMDN namespace and a short UTF-8 text, CRLF line
ends, a few hundred bytes each. `Conversation-ID` is drawn from a fixed pool (about 100 conversations);
`IMDN-Message-ID` and `Message-ID` are unique. It must never read the clock, the environment or the disk:
two runs with the same arguments give the same bytes, so two servers get the same workload.

    python benchmarks/gen_cpm.py --count 3        # print three messages
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import random
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

CONVERSATIONS = 100
_EPOCH = datetime(2024, 3, 1, 9, 0, 0, tzinfo=timezone.utc)
_WORDS = (
    "ok", "see", "you", "at", "the", "station", "tomorrow", "call", "me", "when", "ready", "lunch",
    "meeting", "moved", "to", "three", "thanks", "great", "news", "running", "late", "café", "déjà",
    "vu", "photo", "sent", "where", "are", "we", "going", "tonight", "sounds", "good", "👍",
)


@dataclasses.dataclass(frozen=True, slots=True)
class CpmMessage:
    """One generated object and the fields a benchmark checks answers against."""

    conversation_id: str
    imdn_message_id: str
    raw: bytes


def _ident(seed: int, kind: str, number: int) -> str:
    digest = hashlib.sha256(f"{seed}:{kind}:{number}".encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def conversation_ids(seed: int = 1) -> list[str]:
    """The pool the messages' Conversation-ID values come from, in a fixed order."""
    return [_ident(seed, "conversation", number) for number in range(CONVERSATIONS)]


def _phone(rng: random.Random) -> str:
    return "tel:+3361%07d" % rng.randrange(10_000_000)


def _message(number: int, seed: int, rng: random.Random, pool: list[str], parties: list[str]) -> CpmMessage:
    conversation = rng.randrange(len(pool))
    conversation_id = pool[conversation]
    imdn_id = _ident(seed, "imdn", number)
    own, remote = "tel:+33600000001", parties[conversation]
    received = rng.random() < 0.5
    sender, recipient = (remote, own) if received else (own, remote)
    when = _EPOCH + timedelta(seconds=number * 7 + rng.randrange(7))
    text = " ".join(rng.choice(_WORDS) for _ in range(rng.randrange(3, 25))).encode("utf-8")
    cpim = (
        b"From: <sip:anonymous@anonymous.invalid>\r\n"
        b"To: <sip:anonymous@anonymous.invalid>\r\n"
        b"NS: imdn <urn:ietf:params:imdn>\r\n"
        b"imdn.Message-ID: " + imdn_id.encode() + b"\r\n"
        b"DateTime: " + when.strftime("%Y-%m-%dT%H:%M:%SZ").encode() + b"\r\n"
        b"imdn.Disposition-Notification: positive-delivery\r\n"
        b"\r\n"
        b"Content-type: text/plain;charset=utf-8\r\n"
        b"Content-length: %d\r\n"
        b"\r\n" % len(text)
    ) + text + b"\r\n"
    outer = (
        f"Date: {when.strftime('%a, %d %b %Y %H:%M:%S +0000')}\r\n"
        f"From: {sender}\r\n"
        f"To: {recipient}\r\n"
        f"Message-ID: <{imdn_id}@cpm.bench.invalid>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: message/cpim\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        f"Conversation-ID: {conversation_id}\r\n"
        f"Contribution-ID: {conversation_id}\r\n"
        f"IMDN-Message-ID: {imdn_id}\r\n"
        f"Message-Direction: {'received' if received else 'sent'}\r\n"
        "\r\n"
    ).encode("ascii")
    return CpmMessage(conversation_id=conversation_id, imdn_message_id=imdn_id, raw=outer + cpim)


def generate(count: int, seed: int = 1) -> Iterator[CpmMessage]:
    """`count` messages, the same ones for the same (count, seed); a prefix of a longer run is identical."""
    rng = random.Random(seed)
    pool = conversation_ids(seed)
    parties = [_phone(rng) for _ in pool]
    for number in range(count):
        yield _message(number, seed, rng, pool, parties)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    for message in generate(args.count, args.seed):
        sys.stdout.buffer.write(message.raw + b"\r\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
