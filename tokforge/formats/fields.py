"""Reading a model file (tokforge.json, tokenizer.json) field by field: every problem becomes a
``ModelFormatError`` that names the file and the field.

    >>> f = ModelFile("out/tokforge.json", "tokforge model file")
    >>> f.get({"merges": "ab"}, "merges", list)
    Traceback (most recent call last):
    ...
    tokforge.errors.ModelFormatError: out/tokforge.json: not a valid tokforge model file: field 'merges' must be a list, got a string
    >>> with f.field("pretokenizer"):
    ...     raise ConfigError("digits 'x' is unknown")
    Traceback (most recent call last):
    ...
    tokforge.errors.ModelFormatError: out/tokforge.json: not a valid tokforge model file: field 'pretokenizer': digits 'x' is unknown

Readers check the types of the fields they take with ``get`` and read each field inside
``field(name)``: a ConfigError or ModelFormatError raised by the code that reads it (a normalizer,
a pretokenizer, a model's vocabulary), or a Python error of a value that holds the wrong thing
deeper down, then names that field.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from tokforge.errors import ConfigError, ModelFormatError, TokforgeError  # noqa: F401 (ConfigError: the example)

MISSING = object()
_TYPE_NAMES = {dict: "an object", list: "a list", str: "a string", int: "an integer", float: "a number",
               bool: "true or false", type(None): "null"}
# Python errors that a value of the wrong shape deep inside a field raises while it is read
_SHAPE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError, RecursionError)


def json_type(value: Any) -> str:
    """The JSON name of a value's type, for messages.

    >>> json_type([1]), json_type(None), json_type(True)
    ('a list', 'null', 'true or false')
    """
    return _TYPE_NAMES.get(type(value), type(value).__name__)


class ModelFile:
    """A model file being read: ``source`` (its path, for messages) and what it should be."""

    def __init__(self, source: str, kind: str) -> None:
        self.source, self.kind = source, kind

    def error(self, name: str | tuple[str, ...] | None, problem: str) -> ModelFormatError:
        """The error for ``problem`` with field ``name`` (several: their consistency; None: the whole file)."""
        problem = problem.removeprefix(f"{self.source}: ")
        if name is None:
            return ModelFormatError(f"{self.source}: not a valid {self.kind}: {problem}", field="")
        if isinstance(name, tuple):
            where = "fields " + ", ".join(map(repr, name[:-1])) + f" and {name[-1]!r}"
        else:
            where = f"field {name!r}"
        return ModelFormatError(f"{self.source}: not a valid {self.kind}: {where}"
                                f"{'' if problem.startswith(':') else ' '}{problem}", field=name)

    def get(self, obj: dict[str, Any], key: str, kind: type | tuple[type, ...], name: str | None = None,
            default: Any = MISSING) -> Any:
        """``obj[key]`` when it is of type ``kind`` (a bool is no int); ``default`` when missing (if given).
        ``name``: the field's name in messages (default ``key``)."""
        name = name or key
        if key not in obj:
            if default is MISSING:
                raise self.error(name, "is missing")
            return default
        value = obj[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            wanted = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
            raise self.error(name, f"must be {wanted}, got {json_type(value)}")
        return value

    def object(self, value: Any, name: str | None) -> dict[str, Any]:
        """``value`` when it is a JSON object (``name``: None for the whole document)."""
        if not isinstance(value, dict):
            raise self.error(name, f"must be an object, got {json_type(value)}" if name else
                             f"the document must be a JSON object, got {json_type(value)}")
        return value

    @contextmanager
    def field(self, name: str | tuple[str, ...]) -> Iterator[None]:
        """Read field ``name``: any error of its value becomes a ModelFormatError naming the file and it
        (one that already names a field is passed on as it is)."""
        try:
            yield
        except ModelFormatError as e:
            if e.field is not None:
                raise
            raise self.error(name, _problem(str(e), self.source)) from None
        except TokforgeError as e:  # ConfigError, InputError (e.g. a lone surrogate) of the code reading it
            raise self.error(name, _problem(str(e), self.source)) from None
        except _SHAPE_ERRORS as e:
            detail = f"lacks the key {e.args[0]!r}" if isinstance(e, KeyError) else \
                "is nested too deeply" if isinstance(e, RecursionError) else f"holds a wrong value ({e})"
            raise self.error(name, detail) from None


def _problem(message: str, source: str) -> str:
    """A message of the code that read a field, to follow "field 'x'" (its own file prefix removed)."""
    return ": " + message.removeprefix(f"{source}: ")
