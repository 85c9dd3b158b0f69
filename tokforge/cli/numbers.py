"""``tokforge numbers``: how digit policies and the TST number stage cut a text."""
from __future__ import annotations

import click

from tokforge.cli.options import DEFAULTS, read_text
from tokforge.text.numbers import TriadicSuffixStage, describe
from tokforge.text.pretokenizers import DIGIT_POLICIES, PRESETS, Pretokenizer, check_split_pattern


@click.group()
def numbers():
    """Numbers: digit policies and Triadic Suffix Tokenization (TST)."""


@numbers.command()
@click.argument("text", required=False)
@click.option("--pattern", default=DEFAULTS.pattern, show_default=True,
              help=f"Split regex used for the ordinary text: a preset ({', '.join(PRESETS)}) or your own regex.")
def explain(text, pattern):
    """Show how TEXT (or standard input) is cut under each digit policy and each TST variant.

    \b
    Digit policies: the pretokenizer's pieces (digits split before the main regex).
    TST: <eN> is the marker of a triad's place (10^N) after it; [234 e3] is a fixed
    token of tst-vocab; other pieces are ordinary text, pretokenized as usual.
    """
    check_split_pattern(pattern)
    text = read_text(text, None)
    rows = [(f"digits={d}", [_quoted(p) for p in Pretokenizer(pattern, d).split(text)]) for d in DIGIT_POLICIES]
    plain = Pretokenizer(pattern, "none")
    for mode in ("tst-marker", "tst-vocab"):
        stage = TriadicSuffixStage(mode)
        shown = []
        for part, reserved in stage.units(stage.apply(text)):
            if not reserved:
                shown += [_quoted(p) for p in plain.split(part)]
            elif mode == "tst-vocab":
                shown.append("[" + describe(part).replace("<", " ").rstrip(">") + "]")
            else:
                shown.append(describe(part))
        rows.append((mode, shown))
    click.echo(f"text           {_quoted(text)}")
    click.echo(f"pattern        {pattern}")
    for name, shown in rows:
        click.echo(f"{name:<14} {' '.join(shown)}")


def _quoted(piece: str) -> str:
    return repr(describe(piece))
