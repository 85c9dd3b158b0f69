"""Code points that the installed ``regex`` reads differently from HF's engine (Unicode 16.0).

For the classes the presets use, plus fixed examples that differ for some ``regex`` release (U+0295
is Ll for HF and Lo since Unicode 17; U+16EA0 and U+323B0 are new in Unicode 17; U+0558 later).
The parity tests draw from them, so they check the bridge of tokforge.text.portable_regex whatever
release is installed.
"""
import numpy as np

from tokforge.text import portable_regex

PRESET_CLASSES = (r"\p{L}", r"\p{N}", r"\s", r"\p{Lu}", r"\p{Ll}", r"\p{Lt}", r"\p{Lm}", r"\p{Lo}", r"\p{M}")

DIFFERING = sorted({chr(c) for cls in PRESET_CLASSES
                    for c in np.flatnonzero(portable_regex._regex_mask(cls, 0) != portable_regex.code_points(cls))
                    if not 0xD800 <= c < 0xE000}
                   | set("\u0295\u0558\U00016ea0\U00016ebb\U000323b0\u1c89\U00010d50"))
