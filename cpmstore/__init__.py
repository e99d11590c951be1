"""cpmstore: an OMA CPM Message Storage Server speaking IMAP4rev1, run by twistd."""

__version__ = "0.1.0"
