"""Gold segmentation readers: the TSV format and CoNLL-U (the lemma ends the root)."""
import pytest

from tokforge.errors import InputError
from tokforge.eval.gold import GoldWord, parse_conllu, parse_tsv, read_gold, read_wordlist


def test_tsv_segments_give_character_boundaries():
    lines = ["# header", "", "kitapçılar\tkitap çı lar", "ev\tev", "güzel\tgüz el, güzel"]
    assert parse_tsv(lines) == [GoldWord("kitapçılar", (5, 7)), GoldWord("ev", ()), GoldWord("güzel", (3,))]
    # byte offsets: "kitap" 5 bytes, "çı" 4 bytes (ç and ı are 2 each)
    assert GoldWord("kitapçılar", (5, 7)).byte_boundaries(offset=1) == {6, 10}


@pytest.mark.parametrize("line, message", [
    ("kitaplar\tkitap ler", "line 1: the segments 'kitap ler' do not spell the word 'kitaplar'"),
    ("kitaplar", "line 1: expected 'word<TAB>seg1 seg2 ...'"),
    ("kitaplar\t", "line 1: expected"),
])
def test_tsv_errors_name_the_line(line, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(".", r"\.")):
        parse_tsv([line], "g.tsv")


CONLLU = """# sent_id = 1
# text = Kitapları okudum, kitabı da.
1\tKitapları\tkitap\tNOUN\t_\t_\t2\tobj\t_\t_
2\tokudum\toku\tVERB\t_\t_\t0\troot\t_\t_
3\t,\t,\tPUNCT\t_\t_\t2\tpunct\t_\t_
4\tkitabı\tkitap\tNOUN\t_\t_\t2\tobj\t_\t_
5-6\tdaki\t_\t_\t_\t_\t_\t_\t_\t_
5\tda\tda\tCCONJ\t_\t_\t4\tcc\t_\t_
5.1\tboş\tboş\t_\t_\t_\t_\t_\t_\t_
6\tİstanbul'da\tİstanbul\tPROPN\t_\t_\t2\tobl\t_\t_
7\tgitti\t_\tVERB\t_\t_\t2\tconj\t_\t_
"""


def test_conllu_lemma_is_the_root_boundary():
    words, skipped = parse_conllu(CONLLU.splitlines())
    assert words == [GoldWord("Kitapları", (5,)), GoldWord("okudum", (3,)), GoldWord(",", ()),
                     GoldWord("da", ()), GoldWord("İstanbul'da", (8,))]
    assert skipped == 2  # kitabı (lemma kitap is not a prefix), gitti (no lemma)


def test_conllu_lemmas_fold_case_for_the_language(tmp_path):
    """Uppercase Turkish forms meet their lowercase lemmas only with the Turkish I rules."""
    lines = ["1\tİSTANBUL'da\tistanbul\tPROPN\t_\t_\t0\troot\t_\t_",
             "2\tISPARTA\tısparta\tPROPN\t_\t_\t1\tnmod\t_\t_"]
    assert parse_conllu(lines) == ([], 2)
    assert parse_conllu(lines, language="tr") == ([GoldWord("İSTANBUL'da", (8,)), GoldWord("ISPARTA", ())], 0)
    (tmp_path / "g.conllu").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert read_gold(tmp_path / "g.conllu", "tr").words == parse_conllu(lines, language="tr")[0]


def test_conllu_needs_ten_columns():
    with pytest.raises(InputError, match="line 2: a CoNLL-U word line has 10"):
        parse_conllu(["# c", "1\tev\tev"], "x.conllu")


def test_read_gold_picks_the_format_by_extension(tmp_path):
    (tmp_path / "g.conllu").write_text(CONLLU, encoding="utf-8")
    (tmp_path / "g.tsv").write_text("evler\tev ler\n", encoding="utf-8")
    conllu, tsv = read_gold(tmp_path / "g.conllu"), read_gold(tmp_path / "g.tsv")
    assert (conllu.name, len(conllu.words), conllu.skipped) == ("g.conllu", 5, 2)
    assert tsv.words == [GoldWord("evler", (2,))] and tsv.skipped == 0
    (tmp_path / "empty.tsv").write_text("# nothing\n", encoding="utf-8")
    with pytest.raises(InputError, match="no segmented words"):
        read_gold(tmp_path / "empty.tsv")
    with pytest.raises(InputError, match="no such gold segmentation file"):
        read_gold(tmp_path / "missing.tsv")
    (tmp_path / "latin1.tsv").write_bytes("é\té\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        read_gold(tmp_path / "latin1.tsv")


def test_wordlist_takes_the_first_field_casefolded(tmp_path):
    (tmp_path / "w.txt").write_text("Kitap 120\nev\n\nİNSAN\n", encoding="utf-8")
    assert read_wordlist(tmp_path / "w.txt") == {"kitap", "ev", "i̇nsan"}  # default: str.casefold, unchanged


def test_wordlist_with_turkish_case_folding(tmp_path):
    (tmp_path / "w.txt").write_text("İSTANBUL 3\nISPARTA\nIşık\nkitap\nStraße\n", encoding="utf-8")
    assert read_wordlist(tmp_path / "w.txt", "tr") == {"istanbul", "ısparta", "ışık", "kitap", "straße"}
    assert read_wordlist(tmp_path / "w.txt", "az") == read_wordlist(tmp_path / "w.txt", "tr")
    assert read_wordlist(tmp_path / "w.txt") == {"i̇stanbul", "isparta", "işık", "kitap", "strasse"}
