"""Tokenizers made by hand for the evaluation tests: their tokens can be worked out on paper."""
from tokforge.eval.adapters import from_tokforge
from tokforge.models.bpe import BPEModel
from tokforge.text.bytelevel import BYTE_ORDER
from tokforge.text.pretokenizers import Pretokenizer
from tokforge.tokenizer import Tokenizer


def hand_tokenizer(merges=(), name="hand", pattern="cl100k", digits="none", specials=()):
    """A byte-level BPE with the given merges (pairs of byte strings, in rank order) on top of the
    256 byte tokens, wrapped for evaluation. Ids: specials, then bytes in BYTE_ORDER, then merges."""
    vocab = [s.encode() for s in specials] + [bytes([b]) for b in BYTE_ORDER]
    ids = {t: i for i, t in enumerate(vocab) if i >= len(specials)}
    pairs = []
    for a, b in merges:
        a, b = a.encode() if isinstance(a, str) else a, b.encode() if isinstance(b, str) else b
        if a + b not in ids:
            ids[a + b] = len(vocab)
            vocab.append(a + b)
        pairs.append((ids[a], ids[b]))
    model = BPEModel(vocab, pairs, {s: i for i, s in enumerate(specials)})
    return from_tokforge(Tokenizer(model, pretokenizer=Pretokenizer(pattern, digits)), name)
