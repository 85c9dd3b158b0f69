"""What one pass over a corpus read, dropped and repaired (``Corpus.stats``)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CorpusStats:
    """What one iteration over a corpus read, dropped and repaired."""

    files: int = 0              # files opened
    bytes_read: int = 0         # raw (on-disk, possibly compressed) bytes consumed
    documents: int = 0          # documents yielded
    skipped_documents: int = 0  # documents dropped by errors="skip"
    replaced_documents: int = 0  # documents in which errors="replace" substituted U+FFFD
    first_invalid: str | None = None  # "path:offset" of the first invalid UTF-8 seen (replace/skip)
    malformed_records: int = 0  # JSON Lines records dropped by errors="skip": not JSON, not an object, no text
    first_malformed: str | None = None  # "path line N" of the first of them
    ignored_files: list[str] = field(default_factory=list)  # folder files skipped: unknown extension, not regular
