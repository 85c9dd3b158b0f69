"""The errors tokforge raises on bad input: each says what went wrong, where, and how to fix it.

Every error is a ``TokforgeError``; the CLI prints its message without a traceback.
"""


class TokforgeError(Exception):
    """Base class of all errors tokforge raises on purpose."""


class CorpusError(TokforgeError):
    """The corpus cannot be read: missing path, unreadable or binary file, invalid UTF-8, no text."""


class ConfigError(TokforgeError):
    """An option or a combination of options is invalid."""


class ModelFormatError(TokforgeError):
    """A saved model or tokenizer.json cannot be loaded (corrupt, unsupported feature, wrong version).

    ``field``: the field of the file the message names (``tokforge.formats.fields``), None if it names none.
    """

    def __init__(self, message: str, field: object = None) -> None:
        super().__init__(message)
        self.field = field


class ExportError(TokforgeError):
    """The tokenizer cannot be expressed exactly in the requested format."""


class InputError(TokforgeError):
    """Text or ids given to encode/decode are invalid (e.g. a lone surrogate, an unknown id)."""


class OutputError(TokforgeError):
    """An output cannot be written: no space left, not writable, being written by another tokforge
    process, or a folder holding files tokforge does not write."""


class WorkerError(TokforgeError):
    """A worker process ended while it had work to do (killed by a signal, or out of memory)."""
