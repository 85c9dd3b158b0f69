"""Write the README's generated tables from their one source: the options table
(``tokforge.config.options_table``) and the composition matrix (``tokforge.compat.matrix_table``).

    python scripts/readme_tables.py           # rewrite them in README.md
    python scripts/readme_tables.py --check   # exit 1 if README.md differs (tests check this too)

Each table sits between ``<!-- NAME table: made by FUNCTION() -->`` and ``<!-- end of NAME table -->``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tokforge.compat import matrix_table
from tokforge.config import options_table

README = Path(__file__).resolve().parents[1] / "README.md"
TABLES = {"options": ("tokforge.config.options_table", options_table),
          "matrix": ("tokforge.compat.matrix_table", matrix_table)}


def with_tables(text: str) -> str:
    """``text`` (the README) with each generated table replaced by its current form."""
    for name, (source, make) in TABLES.items():
        start, end = f"<!-- {name} table: made by {source}() -->\n", f"<!-- end of {name} table -->"
        if start not in text or end not in text:
            sys.exit(f"README.md lacks the markers of the {name} table: {start.strip()} ... {end}")
        head, rest = text.split(start, 1)
        text = head + start + make() + "\n" + end + rest.split(end, 1)[1]
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if README.md is out of date")
    args = parser.parse_args()
    text = README.read_text(encoding="utf-8")
    new = with_tables(text)
    if args.check:
        sys.exit(0 if new == text else "README.md's generated tables are out of date: run scripts/readme_tables.py")
    if new != text:
        README.write_text(new, encoding="utf-8")
        print("README.md: tables rewritten")


if __name__ == "__main__":
    main()
