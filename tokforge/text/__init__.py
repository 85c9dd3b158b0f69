"""Text before the model: special tokens, normalizers, the number stage, the pretokenizer (split
regexes and their presets, digit policies) and the Unicode data they all read (HF's, shipped)."""
