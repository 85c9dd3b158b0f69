"""The model folder (``tokforge train -o``, ``Tokenizer.save``): ``tokforge.json`` and the Hugging Face
files, written together, the native file recording the fingerprint of the ``tokenizer.json`` written
with it; and finding the model file in a folder or a path.

    >>> sorted(model_files({"algorithm": "bpe"}, {"tokenizer.json": {"model": {}}}))
    ['tokenizer.json', 'tokforge.json']
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from tokforge.errors import ModelFormatError
from tokforge.formats.hf import HF_FILES
from tokforge.formats.hf_code import MODULE_FILE
from tokforge.formats.native import NATIVE_FILE
from tokforge.io.folders import FINGERPRINTS, FolderKind, check_fingerprints, fingerprint, json_text

# a model folder: tokforge.json and the Hugging Face files; loading it checks that its tokenizer.json is
# the one written with tokforge.json (the config files may be edited, e.g. to add a chat template)
MODEL_FOLDER = FolderKind("model folder", files="|".join(map(re.escape, (NATIVE_FILE, *HF_FILES, MODULE_FILE))),
                          index=NATIVE_FILE, fingerprinted=re.escape("tokenizer.json"))


def model_files(native_doc: dict[str, Any], hf_docs: dict[str, Any]) -> dict[str, str]:
    """The texts of a model folder's files by name: the native document, recording the fingerprints of
    the Hugging Face documents (``hf_docs``, by file name: JSON documents, or a text as it is), then those."""
    texts = {name: doc if isinstance(doc, str) else json_text(doc) for name, doc in hf_docs.items()}
    native_doc = {**native_doc, FINGERPRINTS: MODEL_FOLDER.recorded(
        {name: fingerprint(text.encode("utf-8")) for name, text in texts.items()})}
    return {NATIVE_FILE: json_text(native_doc), **texts}


def read_model_file(path: str | os.PathLike) -> tuple[Any, str, bool]:
    """The JSON document of a model (a folder: its ``tokforge.json``, else its ``tokenizer.json``; or the
    file), its path for messages, and whether it is a native file (else a tokenizer.json). A
    ``tokforge.json`` in a folder is checked to be the one written with its tokenizer.json."""
    p = Path(path)
    if p.is_dir():
        for name in (NATIVE_FILE, "tokenizer.json"):
            if (p / name).is_file():
                return read_model_file(p / name)
        raise ModelFormatError(f"{p}: no {NATIVE_FILE} or tokenizer.json in this folder")
    if not p.is_file():
        raise ModelFormatError(f"{p}: no such file or folder; give the folder written by "
                               "`tokforge train -o` or a tokenizer.json")
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise ModelFormatError(f"{p}: cannot read a JSON model ({e})") from None
    is_native = isinstance(doc, dict) and ("format_version" in doc or "tokforge_version" in doc
                                           or (p.name == NATIVE_FILE and "model" not in doc))
    is_native = is_native or (p.name == NATIVE_FILE and not isinstance(doc, dict))
    if is_native and p.name == NATIVE_FILE and isinstance(doc, dict) and FINGERPRINTS in doc:
        check_fingerprints(p.parent, MODEL_FOLDER, doc[FINGERPRINTS], complete=False)
    return doc, str(p), is_native
