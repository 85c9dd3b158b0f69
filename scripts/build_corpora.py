#!/usr/bin/env python3
r"""Rebuild the machine-extracted part of ``corpora/`` from Debian packages.

The shipped corpus (see ``corpora/README.md``) is made of two kinds of files:

* files written for tokforge by hand (``*_tokforge_*.txt``, CC0): this script
  never touches them;
* files extracted from Debian 12 (bookworm) packages: this script regenerates
  them byte for byte from the package versions named in ``corpora/README.md``.

Needs (as root)::

    apt-get update
    apt-get install --no-install-recommends \
        debian-handbook manpages-tr python3.11-doc libpython3.11-stdlib \
        libpython3.11-dev groff-base

Then, from the repository root::

    python3 scripts/build_corpora.py            # writes corpora/<lang>/*.txt
    python3 scripts/build_corpora.py --check    # only verifies corpora/

Only the Python standard library is used, so any Python >= 3.10 works.
"""
from __future__ import annotations

import argparse
import gzip
import html.parser
import re
import subprocess
import sys
import textwrap
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "corpora"

HANDBOOK = Path("/usr/share/doc/debian-handbook/html")
MAN_TR = Path("/usr/share/man/tr")
PYDOC = Path("/usr/share/doc/python3.11/html/_sources")
STDLIB = Path("/usr/lib/python3.11")
INCLUDE = Path("/usr/include/python3.11")

WIDTH = 100          # wrap prose at this many characters
CJK_WIDTH = 60       # ... and CJK prose at this many characters

# --------------------------------------------------------------------------- #
# generic text helpers
# --------------------------------------------------------------------------- #

_CTRL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def clean_chars(s: str) -> str:
    """NFC-normalise, turn NBSP into a space, drop control and bidi marks."""
    s = unicodedata.normalize("NFC", s)
    s = s.replace("\u00a0", " ").replace("\u202f", " ")
    return _CTRL.sub("", s)


def is_cjk(ch: str) -> bool:
    o = ord(ch)
    return 0x3000 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or 0xFF00 <= o <= 0xFFEF


def wrap_cjk(para: str, width: int = CJK_WIDTH) -> list[str]:
    """Greedy wrap for text with few spaces: break after CJK punctuation or at spaces."""
    chunks = re.findall(r"[^。！？；，、：）」』 ]*[。！？；，、：）」』]+|[^ ]+ ?|[^。！？；，、：）」』 ]+", para)
    lines, cur = [], ""
    for ch in chunks:
        if cur and len(cur) + len(ch.rstrip()) > width:
            lines.append(cur.rstrip())
            cur = ""
        while len(ch) > width * 3 // 2:          # an unbreakable run: hard split
            lines.append(ch[:width])
            ch = ch[width:]
        cur += ch
    if cur.strip():
        lines.append(cur.rstrip())
    return lines


def wrap(para: str, cjk: bool = False) -> str:
    para = re.sub(r"\s+", " ", para).strip()
    if cjk and sum(map(is_cjk, para)) > len(para) // 4:
        return "\n".join(wrap_cjk(para))
    return "\n".join(textwrap.wrap(para, WIDTH, break_long_words=False, break_on_hyphens=False))


def write(rel: str, text: str) -> None:
    path = OUT / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip("\n") + "\n"
    path.write_text(text, encoding="utf-8", newline="\n")
    print(f"{rel:40s} {len(text.encode()):>9,d} bytes")


# --------------------------------------------------------------------------- #
# Debian Administrator's Handbook (HTML, 26 languages)
# --------------------------------------------------------------------------- #

class _HandbookParser(html.parser.HTMLParser):
    """Collects the text of DocBook paragraphs and titles, skipping <pre> blocks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paras: list[str] = []
        self._cur: list[str] | None = None
        self._tag = ""
        self._depth = 0
        self._pre = 0

    def handle_starttag(self, tag, attrs):
        cls = (dict(attrs).get("class") or "").split()
        if tag == "pre":
            self._pre += 1
        if self._cur is None and (
            (tag == "div" and "para" in cls)
            or tag in ("h1", "h2", "h3", "h4", "h5")
            or (tag == "p" and "title" in cls)
        ):
            self._cur, self._tag, self._depth = [], tag, 0
        if self._cur is not None and tag == self._tag:
            self._depth += 1

    def handle_endtag(self, tag):
        if tag == "pre":
            self._pre -= 1
        if self._cur is not None and tag == self._tag:
            self._depth -= 1
            if self._depth == 0:
                text = re.sub(r"\s+", " ", clean_chars("".join(self._cur))).strip()
                if text:
                    self.paras.append(text)
                self._cur = None

    def handle_data(self, data):
        if self._cur is not None and not self._pre:
            self._cur.append(data)


# pages left out: title page/legal notice and the long list of crowdfunding backers
HANDBOOK_SKIP = {"index.html", "sect.acknowledgments.html"}


def handbook_pages(lang: str) -> list[tuple[str, list[str]]]:
    """(page, paragraphs) in reading order (the order of the table of contents)."""
    d = HANDBOOK / lang
    toc = (d / "index.html").read_text(encoding="utf-8")
    pages: list[str] = []
    for href in re.findall(r'href="([^"#/]+\.html)', toc):
        if href not in pages and href not in HANDBOOK_SKIP and (d / href).exists():
            pages.append(href)
    out = []
    for page in pages:
        p = _HandbookParser()
        p.feed((d / page).read_text(encoding="utf-8"))
        p.close()
        out.append((page, p.paras))
    return out


_WORD = re.compile(r"\w+", re.UNICODE)
STOP = {
    "en": set("the and of to is in that for with this are be it on as which can by an or from will "
              "not you your has have its their these also when into more than was were".split()),
    "tr": set("ve bir bu için ile da de olarak daha gibi çok olan veya ya ise her ancak kadar sonra "
              "şekilde bunun olduğu değil olan tüm ayrıca eğer hem ne".split()),
    "de": set("der die das und ist nicht mit von zu den ein eine auf für im sich es sie wird werden "
              "kann auch dem des oder wenn bei aus nur einem einen einer sind dass wie nach man über "
              "diese dieser zum zur".split()),
    "es": set("el la los las de que y en un una es por para con se del al lo como su más puede "
              "sus este esta o si".split()),
}
SCRIPT = {  # letters of the target script (everything else that is a letter counts against it)
    "ru": lambda c: "\u0400" <= c <= "\u04ff",
    "el": lambda c: "\u0370" <= c <= "\u03ff" or "\u1f00" <= c <= "\u1fff",
    "ar": lambda c: "\u0600" <= c <= "\u06ff" or "\u0750" <= c <= "\u077f" or "\ufb50" <= c <= "\ufeff",
    "zh": lambda c: is_cjk(c),
}


def in_language(para: str, lang: str) -> bool:
    """Heuristic: is this paragraph translated, or English left untranslated?"""
    words = [w.lower() for w in _WORD.findall(para)]
    en = sum(w in STOP["en"] for w in words)
    if lang == "zh":   # CJK characters against Latin words (a command name is one word)
        cjk = sum(map(is_cjk, para))
        latin = len(re.findall(r"[A-Za-z]+", para))
        return cjk >= 2 and (cjk >= 2 * latin or en == 0 or (cjk >= latin and en < 3))
    if lang in SCRIPT:
        letters = [c for c in para if c.isalpha()]
        target = sum(map(SCRIPT[lang], letters))
        return bool(letters) and target >= 0.4 * len(letters) and not (en >= 3 and target < 0.6 * len(letters))
    native = sum(w in STOP[lang] for w in words)
    if sum(w.isalpha() for w in words) < 6:  # titles and labels: no English function word
        return en == 0
    return native > en or (en <= 1 and native >= en)


def build_handbook(lang_dir: str, lang: str, budget: int, out: str) -> None:
    english = {p for _, ps in handbook_pages("en-US") for p in ps}
    seen: set[str] = set()
    parts, size = [], 0
    for _page, paras in handbook_pages(lang_dir):
        block = []
        for p in paras:
            if p in seen:
                continue
            if lang != "en" and (p in english or not in_language(p, lang)):
                continue
            seen.add(p)
            block.append(wrap(p, cjk=(lang == "zh")))
        if not block:
            continue
        text = "\n\n".join(block) + "\n\n"
        n = len(text.encode())
        if size + n > budget:
            break
        parts.append(text)
        size += n
    write(out, "".join(parts))


# --------------------------------------------------------------------------- #
# Turkish manual pages of GNU programs (manpages-tr, GPLv3+ pages only)
# --------------------------------------------------------------------------- #

def build_manpages_tr(budget: int, out: str) -> None:
    pages = []
    for sec in sorted(MAN_TR.glob("man[1-8]")):
        for f in sorted(sec.glob("*.gz")):
            if f.is_symlink():
                continue
            src = gzip.decompress(f.read_bytes()).decode("utf-8")
            # only pages whose copyright section states GNU GPL version 3 or later
            # ("Özgün Belgenin Lisans ..." heads pages that keep another original licence)
            if "Lisans GPLv3+" not in src or "Özgün Belgenin Lisans" in src:
                continue
            pages.append((f, src))
    boiler_seen: set[str] = set()
    parts, size = [], 0
    for f, src in pages:
        res = subprocess.run(
            ["groff", "-k", "-Kutf-8", "-Tutf8", "-man", "-rLL=3000n", "-rcR=1", "-P-cbou"],
            input=src.encode("utf-8"), capture_output=True, check=True,
        )
        lines = res.stdout.decode("utf-8").split("\n")
        body = [l for l in lines if l.strip()]
        # drop the running header (first line) and footer (last line)
        body_text = "\n".join(lines[lines.index(body[0]) + 1: len(lines) - lines[::-1].index(body[-1]) - 1])
        paras, cur = [], []
        for line in body_text.split("\n"):
            s = clean_chars(line).strip()
            if not s:
                if cur:
                    paras.append(cur)
                    cur = []
                continue
            # translator boilerplate repeated on every page: keep its first occurrence only
            if s.startswith(("Bu çeviri özgür yazılımdır", "Lütfen, çeviri ile ilgili")):
                if s in boiler_seen:
                    continue
                boiler_seen.add(s)
            cur.append(s)
        if cur:
            paras.append(cur)
        text = "\n\n".join("\n".join(wrap(l) for l in p) for p in paras) + "\n\n\n"
        n = len(text.encode())
        if size + n > budget:
            break
        parts.append(text)
        size += n
    write(out, "".join(parts))


# --------------------------------------------------------------------------- #
# Python tutorial (reStructuredText sources shipped by python3.11-doc)
# --------------------------------------------------------------------------- #

TUTORIAL = ["appetite", "interpreter", "introduction", "controlflow", "datastructures", "modules",
            "inputoutput", "errors", "classes", "stdlib", "stdlib2", "venv", "whatnow",
            "interactive", "floatingpoint", "appendix"]
ADMONITIONS = {"note": "Note:", "warning": "Warning:", "seealso": "See also:", "tip": "Tip:",
               "important": "Important:", "versionadded": "New in version", "versionchanged":
               "Changed in version", "deprecated": "Deprecated since version", "rubric": ""}


def rst_inline(s: str) -> str:
    """Turn reST inline markup into plain text (s may span several lines)."""
    saved: list[str] = []

    def keep(text: str) -> str:          # protect literal text from the later rules
        saved.append(text)
        return f"\x00{len(saved) - 1}\x00"

    s = re.sub(r":(pep|rfc):`([^`<]*)`", lambda m: f"{m.group(1).upper()} {m.group(2).strip()}", s)
    s = re.sub(r":[\w:.+-]+:`([^`]*)`",
               lambda m: keep(re.sub(r"\s*<[^>]*>$", "", m.group(1)).lstrip("~!")), s)
    s = re.sub(r"``(.+?)``", lambda m: keep(m.group(1)), s, flags=re.S)   # ``literal``
    s = re.sub(r"`([^`<]*?)\s*<[^>]*>`__?", r"\1", s)                   # `text <url>`_
    s = re.sub(r"`([^`]+)`_{0,2}", r"\1", s)                            # `ref`_ / `interpreted`
    s = re.sub(r"\*\*(\S(?:[^*]*?\S)?)\*\*", r"\1", s, flags=re.S)       # **strong**
    s = re.sub(r"(?<![\w*])\*(\S(?:[^*]*?\S)?)\*(?![\w*])", r"\1", s, flags=re.S)  # *emphasis*
    s = re.sub(r"\s*\[#\w*\]_", "", s)                                   # footnote references
    s = s.replace("|version|", "3.11").replace("|release|", "3.11")
    s = s.replace("\\ ", "").replace("\\", "").replace(" --- ", " — ").replace("---", "—")
    return re.sub("\x00(\\d+)\x00", lambda m: saved[int(m.group(1))], s)


def clean_rst(src: str) -> str:
    items: list[tuple[str, str]] = []     # ("code" | "text", line)
    lines = src.split("\n")
    i, code_indent = 0, None   # code_indent: indentation of the literal block we are in
    expect_code = False
    while i < len(lines):
        line = lines[i].rstrip()
        indent = len(line) - len(line.lstrip())
        if code_indent is not None:
            if not line or indent >= code_indent:
                items.append(("code", line[code_indent:] if line else ""))
                i += 1
                continue
            code_indent = None
        if expect_code and line:
            code_indent, expect_code = indent, False
            continue
        m = re.match(r"\s*\.\.\s+(?:(\w[\w-]*)::\s*(.*)|_.*:|\|.*|.*)$", line) if line.lstrip().startswith("..") else None
        if m:
            name, arg = m.group(1), (m.group(2) or "").strip()
            i += 1
            if name in ADMONITIONS:
                head = " ".join(x for x in (ADMONITIONS[name], arg) if x)
                if name.startswith(("version", "deprecated")):
                    head += "."
                items += [("text", ""), ("text", head), ("text", "")]
            elif name in ("code-block", "testcode", "doctest", "sourcecode", "code"):
                expect_code = True
                while i < len(lines) and lines[i].strip().startswith(":"):   # options
                    i += 1
            else:   # index, toctree, highlight, labels, comments, ...: drop with their block
                while i < len(lines) and (not lines[i].strip() or lines[i].startswith((" ", "\t"))):
                    if not lines[i].strip() and i + 1 < len(lines) and not lines[i + 1].startswith((" ", "\t")):
                        break
                    i += 1
            continue
        if re.fullmatch(r"([=\-*~^\"#+'`.])\1{3,}", line.strip()):
            i += 1
            continue
        if line.endswith("::"):
            expect_code = True
            line = line[:-2].rstrip()
            line = line + ":" if line and not line.endswith(":") else line
            if not line.strip():
                i += 1
                continue
        items.append(("text", line.strip()))
        i += 1
    out: list[str] = []
    para: list[str] = []
    for kind, line in items + [("code", "")]:
        if kind == "text" and line:
            para.append(line)
            continue
        if para:
            out.append(rst_inline("\n".join(para)))
            para = []
        out.append(line)
    text = "\n".join(out)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def build_tutorial(out: str) -> None:
    parts = [clean_rst(clean_chars((PYDOC / "tutorial" / f"{n}.rst.txt").read_text(encoding="utf-8")))
             for n in TUTORIAL]
    write(out, "\n\n".join(parts))


# --------------------------------------------------------------------------- #
# Python source code from the standard library
# --------------------------------------------------------------------------- #

STDLIB_MODULES = ["string.py", "textwrap.py", "shlex.py", "fnmatch.py", "glob.py", "bisect.py",
                  "heapq.py", "colorsys.py", "copy.py", "reprlib.py", "pprint.py", "numbers.py",
                  "fractions.py", "statistics.py", "random.py", "secrets.py", "calendar.py",
                  "sched.py", "queue.py", "graphlib.py", "functools.py", "contextlib.py",
                  "csv.py", "base64.py", "gettext.py", "tokenize.py", "html/parser.py"]


def build_code(out: str) -> None:
    parts = []
    for mod in STDLIB_MODULES:
        src = (STDLIB / mod).read_text(encoding="utf-8")
        parts.append(f"# ---- Lib/{mod} (CPython 3.11) ----\n\n{src.strip()}\n")
    write(out, "\n\n".join(parts))


CPYTHON_HEADERS = ["object.h", "cpython/object.h", "listobject.h", "cpython/listobject.h",
                   "dictobject.h", "longobject.h", "pymem.h", "pyerrors.h"]


def build_c_headers(out: str) -> None:
    parts = []
    for h in CPYTHON_HEADERS:
        src = (INCLUDE / h).read_text(encoding="utf-8")
        parts.append(f"/* ---- Include/{h} (CPython 3.11) ---- */\n\n{src.strip()}\n")
    write(out, "\n\n".join(parts))


# --------------------------------------------------------------------------- #
# checks
# --------------------------------------------------------------------------- #

def copy_licences() -> None:
    """Full texts of the licences that ask for a copy to travel with the text.

    They have no .txt suffix on purpose, so that a ``*/*.txt`` glob over corpora/
    does not feed them to a trainer.
    """
    for src, dst in ((Path("/usr/share/common-licenses/GPL-3"), "LICENSES/GPL-3.0"),
                     (STDLIB / "LICENSE.txt", "LICENSES/PSF-2.0-CPython")):
        path = OUT / dst
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(src.read_bytes())
        print(f"{dst:40s} {path.stat().st_size:>9,d} bytes (licence text, not corpus)")


def check() -> int:
    bad = 0
    total = 0
    for f in sorted(OUT.rglob("*")):
        if not f.is_file() or f.name == "README.md" or f.parent.name == "LICENSES":
            continue
        raw = f.read_bytes()
        total += len(raw)
        problems = []
        if f.suffix != ".txt":
            problems.append("not .txt")
        try:
            text = raw.decode("utf-8", errors="strict")
        except UnicodeDecodeError as e:
            problems.append(f"invalid UTF-8: {e}")
            text = raw.decode("utf-8", errors="replace")
        if b"\x00" in raw:
            problems.append("NUL byte")
        if raw.startswith(b"\xef\xbb\xbf"):
            problems.append("BOM")
        if b"\r" in raw:
            problems.append("CR byte")
        longest = max(map(len, text.split("\n")))
        if longest > 200:
            problems.append(f"line of {longest} chars")
        print(f"{f.relative_to(ROOT)}: {len(raw):,d} bytes, longest line {longest}"
              + (f"  PROBLEMS: {problems}" if problems else ""))
        bad += bool(problems)
    print(f"total {total:,d} bytes ({total / 2**20:.2f} MiB)")
    if not 1.5e6 <= total <= 3e6:
        print("total size outside 1.5-3 MB")
        bad += 1
    return 1 if bad else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="only check corpora/")
    args = ap.parse_args()
    if not args.check:
        for p in (HANDBOOK, MAN_TR, PYDOC, STDLIB, INCLUDE):
            if not p.exists():
                sys.exit(f"missing {p}: install the packages listed in {__file__}")
        build_handbook("en-US", "en", 300_000, "en/debian_handbook_en.txt")
        build_tutorial("en/python_tutorial_en.txt")
        build_handbook("tr-TR", "tr", 300_000, "tr/debian_handbook_tr.txt")
        build_manpages_tr(250_000, "tr/gnu_manpages_tr.txt")
        build_handbook("ru-RU", "ru", 300_000, "ru/debian_handbook_ru.txt")
        build_handbook("zh-CN", "zh", 250_000, "zh/debian_handbook_zh_cn.txt")
        build_handbook("de-DE", "de", 150_000, "de/debian_handbook_de.txt")
        build_handbook("es-ES", "es", 150_000, "es/debian_handbook_es.txt")
        build_handbook("el-GR", "el", 150_000, "el/debian_handbook_el.txt")
        build_handbook("ar-MA", "ar", 150_000, "ar/debian_handbook_ar.txt")
        build_code("code/python_stdlib.txt")
        build_c_headers("code/cpython_headers_c.txt")
        copy_licences()
    return check()


if __name__ == "__main__":
    sys.exit(main())
