"""GPT-2's reversible byte <-> visible-character table (the "ByteLevel" alphabet).

Every byte value 0..255 is mapped to one printable Unicode character: the 188
bytes that are already printable Latin-1 (``!``..``~``, ``¡``..``¬``, ``®``..``ÿ``)
map to themselves, the other 68 (controls, space, DEL, NBSP, soft hyphen...) map
in byte order to ``U+0100``, ``U+0101``, ...  So a space becomes ``Ġ`` (U+0120)
and a newline ``Ċ`` (U+010A).  This is the table of GPT-2's ``bytes_to_unicode``
and of Hugging Face's ``ByteLevel`` pre-tokenizer/decoder.

>>> bytes_to_visible(" héllo".encode())
'ĠhÃ©llo'
>>> visible_to_bytes('ĠhÃ©llo').decode()
' héllo'
"""

from __future__ import annotations

from tokforge.errors import ModelFormatError

__all__ = ["BYTE_TO_CHAR", "CHAR_TO_BYTE", "BYTE_ORDER", "bytes_to_visible", "visible_to_bytes"]


def _build_table() -> tuple[str, ...]:
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    keep = set(printable)
    table = [""] * 256
    n = 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + n)
            n += 1
    return tuple(table)


#: ``BYTE_TO_CHAR[b]`` is the visible character standing for byte ``b`` (e.g. ``BYTE_TO_CHAR[32] == 'Ġ'``).
BYTE_TO_CHAR: tuple[str, ...] = _build_table()

#: Inverse of :data:`BYTE_TO_CHAR` (e.g. ``CHAR_TO_BYTE['Ġ'] == 32``).
CHAR_TO_BYTE: dict[str, int] = {c: b for b, c in enumerate(BYTE_TO_CHAR)}

#: The 256 byte values sorted by the code point of their visible character:
#: ``33..126, 161..172, 174..255, 0..32, 127..160, 173``.  Hugging Face's
#: ``BpeTrainer`` collects the initial alphabet into a set and sorts it by
#: character before assigning ids, so (with no special tokens first) the byte
#: token of ``BYTE_ORDER[i]`` gets id ``i``.  Use this order to give byte
#: tokens the same ids as HF.
BYTE_ORDER: tuple[int, ...] = tuple(sorted(range(256), key=lambda b: ord(BYTE_TO_CHAR[b])))

_DECODE_TRANS = {ord(c): b for b, c in enumerate(BYTE_TO_CHAR)}


def bytes_to_visible(b: bytes) -> str:
    """Map each byte to its visible character.

    >>> bytes_to_visible(b"a b\\n")
    'aĠbĊ'
    """
    table = BYTE_TO_CHAR
    return "".join([table[x] for x in b])


def visible_to_bytes(s: str) -> bytes:
    """Inverse of :func:`bytes_to_visible`; ``ModelFormatError`` on a character outside the table.

    >>> visible_to_bytes('aĠbĊ')
    b'a b\\n'
    """
    try:
        return bytes([_DECODE_TRANS[ord(c)] for c in s])
    except KeyError:
        bad = next(c for c in s if ord(c) not in _DECODE_TRANS)
        raise ModelFormatError(
            f"character {bad!r} (U+{ord(bad):04X}) in {s!r} is not in the byte-level alphabet; "
            "a byte-level token may only use the 256 characters of GPT-2's byte table"
        ) from None
