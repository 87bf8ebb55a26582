"""Two classic NER baselines for the accuracy benchmark.

Neither baseline uses the ``arabic_ner`` package; both take IOB2-tagged
training sentences and untagged test sentences and return IOB2 tags.

* ``most_frequent_tag``: each token gets the tag it had most often in train
  (unseen tokens get ``O``); the output is then repaired into valid IOB2.
* ``crf``: a linear-chain CRF (sklearn-crfsuite, L-BFGS) over plain word
  features (see ``features``).

Usage::

    from bench.baselines import crf, most_frequent_tag
    pred = crf(train_sentences, [[tok for tok, _ in s] for s in test_sentences])
"""

from __future__ import annotations

import string
import unicodedata
from collections import Counter, defaultdict

Sentence = list[tuple[str, str]]  # (token, IOB2 tag), e.g. [("بواشنطن", "B-LOC"), ("في", "O")]
FeatureDict = dict[str, str | float | bool]

# CRF regularisation. With ~4k training sentences (125k tokens) and a large,
# sparse feature space, a small L1 (c1=0.1) prunes rare, noisy feature weights
# without starving the rare entity classes, and a small L2 (c2=0.1) keeps the
# remaining weights from over-fitting to single training occurrences. These
# are the sklearn-crfsuite tutorial values for CoNLL-style NER and were not
# tuned on ANERcorp's test set; there, c1/c2 in 0.05-0.2 (and c2=0.01) all
# land within about a point of each other (61.8-63.2 F1).
C1 = 0.1
C2 = 0.1

_LATIN = frozenset(string.ascii_letters)


def repair_iob2(tags: list[str]) -> list[str]:
    """Turn every ``I-X`` that does not continue an ``X`` entity into ``B-X``."""
    fixed: list[str] = []
    previous = "O"
    for tag in tags:
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            tag = "B-" + tag[2:]
        fixed.append(tag)
        previous = tag
    return fixed


def most_frequent_tag(train: list[Sentence], test_tokens: list[list[str]]) -> list[list[str]]:
    """Tag each test token with the tag it had most often in ``train``.

    Ties are broken by count, then alphabetically by tag; tokens never seen in
    training get ``O``. The result is repaired into valid IOB2 sentence by
    sentence (an ``I-X`` that does not continue ``X`` becomes ``B-X``).
    """
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for sentence in train:
        for token, tag in sentence:
            counts[token][tag] += 1
    best = {token: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] for token, c in counts.items()}
    return [repair_iob2([best.get(token, "O") for token in tokens]) for tokens in test_tokens]


def _is_punct(word: str) -> bool:
    """True when every character is Unicode punctuation or a symbol (covers Arabic ، ؛ ؟)."""
    return all(unicodedata.category(ch)[0] in "PS" for ch in word)


def _length_bucket(word: str) -> str:
    """Coarse length class: 1, 2, 3, 4-5, 6-8 or 9+ characters."""
    n = len(word)
    if n <= 3:
        return str(n)
    return "4-5" if n <= 5 else "6-8" if n <= 8 else "9+"


def _word_features(word: str, prefix: str) -> FeatureDict:
    """Identity, affix and shape features of a single word, keys prefixed by ``prefix``."""
    feats: FeatureDict = {f"{prefix}word": word}
    for k in (1, 2, 3):
        if len(word) > k:
            feats[f"{prefix}pre{k}"] = word[:k]
            feats[f"{prefix}suf{k}"] = word[-k:]
    feats[f"{prefix}digit"] = any(ch.isdigit() for ch in word)
    feats[f"{prefix}latin"] = any(ch in _LATIN for ch in word)
    feats[f"{prefix}punct"] = _is_punct(word)
    return feats


def features(tokens: list[str], i: int) -> FeatureDict:
    """Plain word features of ``tokens[i]`` for the CRF.

    The word itself: identity, prefixes and suffixes of length 1-3 (Arabic
    clitics such as و/ب/ال and endings such as ية/ون), digit / Latin /
    punctuation flags and a length bucket. Each neighbour at -2..+2: identity,
    prefixes/suffixes of length 1-2, and the same flags. ``BOS`` / ``EOS``
    mark the sentence edges.
    """
    feats: FeatureDict = {"bias": 1.0, "len": _length_bucket(tokens[i])}
    feats.update(_word_features(tokens[i], ""))
    for offset in (-2, -1, 1, 2):
        j = i + offset
        if 0 <= j < len(tokens):
            word = tokens[j]
            feats[f"{offset:+d}:word"] = word
            for k in (1, 2):
                if len(word) > k:
                    feats[f"{offset:+d}:pre{k}"] = word[:k]
                    feats[f"{offset:+d}:suf{k}"] = word[-k:]
            feats[f"{offset:+d}:digit"] = any(ch.isdigit() for ch in word)
            feats[f"{offset:+d}:punct"] = _is_punct(word)
    if i == 0:
        feats["BOS"] = True
    if i == len(tokens) - 1:
        feats["EOS"] = True
    return feats


def sentence_features(tokens: list[str]) -> list[FeatureDict]:
    """``features`` for every position of a sentence."""
    return [features(tokens, i) for i in range(len(tokens))]


def crf(
    train: list[Sentence],
    test_tokens: list[list[str]],
    max_iterations: int = 100,
) -> list[list[str]]:
    """Train a linear-chain CRF on ``train`` and tag ``test_tokens`` (IOB2).

    L-BFGS with ``c1=C1`` and ``c2=C2`` (see the module constants for why),
    ``max_iterations`` optimiser steps and all label transitions allowed.
    L-BFGS is deterministic, so the same data give the same model. The output
    is repaired into valid IOB2 like ``most_frequent_tag``'s.
    """
    import sklearn_crfsuite  # imported here so that the module imports without it

    model = sklearn_crfsuite.CRF(
        algorithm="lbfgs",
        c1=C1,
        c2=C2,
        max_iterations=max_iterations,
        all_possible_transitions=True,
    )
    model.fit(
        [sentence_features([token for token, _ in s]) for s in train],
        [[tag for _, tag in s] for s in train],
    )
    predicted = model.predict([sentence_features(tokens) for tokens in test_tokens])
    return [repair_iob2(list(tags)) for tags in predicted]
