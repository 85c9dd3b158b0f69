"""The invalid-UTF-8 policy of a corpus (``errors``): stop, substitute U+FFFD, or drop the document.

    >>> policy = Utf8Policy("replace", CorpusStats())
    >>> policy.repair_surrogates("a" + chr(0xD800) + "b", "x.jsonl:0", "lone surrogate"), policy.stats.replaced_documents
    ('a�b', 1)

Every reader hands its invalid text here (a line with invalid bytes, a string with a lone
surrogate); the policy raises a ``CorpusError`` that says where and what to do (``strict``), or
counts the document as replaced or skipped in the stats of the pass (``replace``, ``skip``).
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tokforge.corpus.sources import SourceFile, line_number, offset_text
from tokforge.corpus.stats import CorpusStats
from tokforge.errors import ConfigError, CorpusError

if TYPE_CHECKING:
    from tokforge.corpus.readers import Line

ERROR_POLICIES = ("strict", "replace", "skip")
_ERRORS_HINT = (
    "pass --errors replace (substitute U+FFFD) or --errors skip (drop the document), "
    "or errors='replace' / errors='skip' in Python"
)
_SURROGATE = re.compile("[\ud800-\udfff]")


def check_errors_policy(errors: str) -> None:
    """ConfigError unless ``errors`` is one of ``ERROR_POLICIES``."""
    if errors not in ERROR_POLICIES:
        raise ConfigError(
            f"unknown errors policy {errors!r} for invalid UTF-8: choose one of {', '.join(ERROR_POLICIES)}"
        )


class Utf8Policy:
    """The ``errors`` policy of one pass over a corpus, counting into its ``stats``."""

    def __init__(self, errors: str, stats: CorpusStats) -> None:
        self.errors = errors  # one of ERROR_POLICIES (see check_errors_policy)
        self.stats = stats

    def decode(self, line: Line, file: SourceFile) -> str | None:
        """The line as text, or None when the errors policy drops it."""
        try:
            return line.data.decode("utf-8")
        except UnicodeDecodeError as exc:
            return self.invalid_line(line, file, exc.start, exc.end)

    def invalid_line(self, line: Line, file: SourceFile, start: int, end: int) -> str | None:
        """Apply the policy to a line whose first invalid UTF-8 is ``line.data[start:end]``."""
        offset = line.offset + start
        bad = line.data[start:end].hex(" ")
        self.invalid(
            f"{file.path}:{offset}",
            f"invalid UTF-8 in {file.path} at {offset_text(file, offset)} (line {line_number(file, line.number)}, "
            f"bytes {bad})",
        )
        return None if self.errors == "skip" else line.data.decode("utf-8", "replace")

    def repair_surrogates(self, document: str, where: str, problem: str, fix: str = "Fix the file") -> str | None:
        """A string with a lone surrogate (e.g. from a JSON "\\ud800") is not valid Unicode: apply the policy."""
        self.invalid(where, f"{problem}: it is not valid Unicode and cannot be encoded as UTF-8", fix)
        return None if self.errors == "skip" else _SURROGATE.sub("\ufffd", document)

    def invalid(self, where: str, problem: str, fix: str = "Fix the file") -> None:
        """Raise on invalid text in strict mode; otherwise count the dropped or repaired document."""
        if self.errors == "strict":
            raise CorpusError(f"{problem}. {fix}, or {_ERRORS_HINT}.")
        if self.stats.first_invalid is None:
            self.stats.first_invalid = where
        if self.errors == "skip":
            self.stats.skipped_documents += 1
        else:
            self.stats.replaced_documents += 1


def has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def are_utf8_strings(values: list[Any]) -> bool:
    """Whether all values are strings that UTF-8 can encode (no lone surrogate), checked at C speed."""
    try:
        "".join(values).encode("utf-8")
    except (TypeError, UnicodeEncodeError):
        return False
    return True


