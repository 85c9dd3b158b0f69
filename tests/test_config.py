"""TrainConfig refuses what it would otherwise ignore or misread: misspelt presets, patterns
without regex syntax, and options of another algorithm (in the API and on the command line)."""
from pathlib import Path

import pytest
from click.testing import CliRunner

from tokforge.cli import main
from tokforge.config import ALGORITHM_FIELDS, ALGORITHMS, TrainConfig
from tokforge.errors import ConfigError

from conftest import CORPORA


@pytest.mark.parametrize("typo, preset", [("cl100", "cl100k"), ("CL100K", "cl100k"), ("gpt-2", "gpt2"),
                                          ("o200k_base", "o200k"), ("cl100k_base", "cl100k"), ("gpt4o", "o200k"),
                                          ("whitespce", "whitespace"), ("metaspac", "metaspace")])
def test_a_pattern_that_looks_like_a_preset_is_an_error_naming_it(typo, preset):
    with pytest.raises(ConfigError, match=f"pattern '{typo}' is not a preset: did you mean '{preset}'"):
        TrainConfig(pattern=typo)


@pytest.mark.parametrize("text", ["foo", ",", "hello world", "abc123"])
def test_a_pattern_without_regex_syntax_is_an_error(text):
    with pytest.raises(ConfigError, match="has no regex syntax"):
        TrainConfig(pattern=text)


@pytest.mark.parametrize("pattern", ["gpt2", "cl100k", "o200k", "whitespace", "superword", r" ?\S+|\s+",
                                     r"(?:,)", r"[^,]+|,"])
def test_presets_and_regexes_are_accepted(pattern):
    assert TrainConfig(pattern=pattern).pattern == pattern


def test_superword_pattern_is_checked_too():
    with pytest.raises(ConfigError, match="superword_pattern 'superwrd' is not a preset: did you mean 'superword'"):
        TrainConfig(algo="superbpe", superword_pattern="superwrd")
    assert TrainConfig(algo="superbpe", superword_pattern=r"[^\n]+|\n").superword_pattern == r"[^\n]+|\n"


NON_DEFAULT = {"transition": 0.5, "max_words": 2, "superword_pattern": r"[^\n]+|\n", "morph_rules": "en",
               "morph_roots": 0.5, "morph_fallback": "unigram"}


@pytest.mark.parametrize("field", sorted(ALGORITHM_FIELDS))
def test_a_field_of_another_algorithm_is_an_error_naming_the_field_and_its_algorithms(field):
    users = ALGORITHM_FIELDS[field]
    for algo in ALGORITHMS:
        if algo in users:
            continue
        with pytest.raises(ConfigError, match=f"'{field}' applies only to algo {' and '.join(users)}, "
                                              f"not to algo '{algo}'"):
            TrainConfig(algo=algo, **{field: NON_DEFAULT[field]})
        TrainConfig(algo=algo)  # its default is no statement: accepted
    config = TrainConfig(algo=users[0], vocab_size=8000, **{field: NON_DEFAULT[field]})
    assert getattr(config, field) == NON_DEFAULT[field]


@pytest.fixture(scope="module")
def runner():
    return CliRunner()


@pytest.mark.parametrize("args, message", [
    (["--superword-pattern", "superword"], "--superword-pattern applies only to algo superbpe, not to algo 'bpe'"),
    (["--morph-rules", "tr"], "--morph-rules applies only to algo morph, not to algo 'bpe'"),
    (["--transition", "0.8"], "--transition applies only to algo superbpe"),
    (["--max-words", "4"], "--max-words applies only to algo superbpe"),
    (["--morph-roots", "0.8"], "--morph-roots applies only to algo morph"),
    (["--morph-fallback", "bpe"], "--morph-fallback applies only to algo morph"),
    (["--algo", "unigram", "--transition", "0.5"], "--transition applies only to algo superbpe, not to algo 'unigram'"),
    (["--algo", "superbpe", "--morph-roots", "0.5"], "--morph-roots applies only to algo morph, not to algo 'superbpe'"),
    (["--pattern", "cl100"], "pattern 'cl100' is not a preset: did you mean 'cl100k'"),
])
def test_cli_refuses_options_given_explicitly_for_another_algorithm(runner, tmp_path, args, message):
    """Given on the command line, an option of another algorithm is an error even at its default."""
    out = tmp_path / "out"
    result = runner.invoke(main, ["train", str(CORPORA / "tr"), "--vocab-size", "400", "-o", str(out), "-q", *args])
    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not out.exists()  # refused before any work


def test_cli_accepts_the_options_of_the_chosen_algorithm(runner, tmp_path):
    result = runner.invoke(main, ["train", str(CORPORA / "tr"), "--algo", "superbpe", "--vocab-size", "500",
                                  "--transition", "0.8", "--superword-pattern", "superword", "-o",
                                  str(tmp_path / "sb"), "-q"])
    assert result.exit_code == 0, result.output


def test_explain_refuses_a_misspelt_preset(runner):
    result = runner.invoke(main, ["numbers", "explain", "12345", "--pattern", "cl100"])
    assert result.exit_code == 1 and "did you mean 'cl100k'" in result.output


def test_help_explains_the_rules(runner):
    out = " ".join(runner.invoke(main, ["train", "--help"]).output.split())
    assert "apply to that algorithm only; giving one with another --algo is an error" in out
    assert "looks like a preset (cl100, GPT-2) or text without regex syntax is an error" in out
    assert "stops short of --vocab-size" in out


# ---- one source of truth per option: the metadata of TrainConfig's fields --------------------------

def test_readme_option_table_is_made_from_the_config():
    from tokforge.config import options_table
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    start, end = "<!-- options table: made by tokforge.config.options_table() -->\n", "\n<!-- end of options table -->"
    assert readme[readme.index(start) + len(start):readme.index(end)] == options_table()


def test_cli_options_are_built_from_the_config():
    from tokforge.cli.train import count, train
    from tokforge.config import options
    for command, sections in ((train, ("model", "pipeline", "corpus", "superbpe", "morph")), (count, ("pipeline", "corpus"))):
        params = {p.name: p for p in command.params}
        for o in (o for s in sections for o in options(s)):
            p = params[o.name]
            assert o.flag in p.opts and p.help == o.help
            assert o.multiple or p.default == (",".join(o.default) if isinstance(o.default, tuple) else o.default)
        assert not {p.name for p in command.params} & {o.name for o in options() if o.section not in sections}


def test_algorithm_fields_and_choices_come_from_the_sections():
    from tokforge.config import MORPH_FALLBACKS, options
    from tokforge.models.morph.trainer import FALLBACKS
    from tokforge.training import TRAINERS
    assert ALGORITHM_FIELDS == {o.name: (o.section,) for o in options() if o.section in ("superbpe", "morph")}
    assert tuple(TRAINERS) == ALGORITHMS and MORPH_FALLBACKS == FALLBACKS
    assert {o.section for o in options()} == {"model", "pipeline", "corpus", "superbpe", "morph"}
    config = TrainConfig(algo="superbpe", vocab_size=1000, transition=900)
    assert config.section("superbpe") == {"transition": 900, "max_words": 4, "superword_pattern": "superword"}
