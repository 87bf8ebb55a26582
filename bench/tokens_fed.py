"""What a pretrained BERT is fed: arabic_ner's whole words against the proclitic-splitting view it replaced.

    .venv/bin/python -m bench.tokens_fed            # ~10 seconds

A WordPiece vocabulary is learnt from unsegmented text (ANERcorp's training file, by the
``tokenizers`` trainer, 30,000 pieces), as a pretrained Arabic BERT's was, and the five articles
of data/raw (which it never saw) are encoded three ways, each paragraph a document:

- *reference*: the tokenizer on the paragraph with diacritics and tatweel removed, what the model
  saw in pretraining;
- *whole words*: arabic_ner (``split_words`` and the ``Encoder``), what the model is fed now;
- *split proclitics* (the baseline): the view arabic_ner had before (scheme ``arabic-ner-words/1``,
  commit 415ebf4): words also cut at every change of script, one attached proclitic (و ف ب ل ك),
  or a conjunction and a preposition, cut off every Arabic word of three or more letters, and
  each word tokenised on its own.

Printed for each view: the tokens fed per paragraph and per article, how much more than the
reference, and for how many paragraphs the ids are exactly the reference's. The ``tokenizers``
trainer breaks ties between pieces differently from one process to the next, so the counts can
move by a token or two between runs.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from arabic_ner.core.encoding import Encoder  # noqa: E402
from arabic_ner.core.words import CONJUNCTIONS, PREPOSITIONS, PROCLITICS, Word, char_form, split_words  # noqa: E402
from arabic_ner.model.vocabulary import learn_wordpiece  # noqa: E402

DIACRITICS_AND_TATWEEL = re.compile("[\u064b-\u065f\u0670\u0640]")


def old_view(text: str, words: list[Word]) -> list[str]:
    """The baseline's word forms: today's words cut at every change of script (the old view had no
    exception for و٦), then one proclitic letter, or a conjunction and a preposition, cut off each
    Arabic word of three or more letters."""
    forms = []
    for w in words:
        pieces, start = [], w.start
        for i in range(w.start + 1, w.end):
            if char_form(text[i]) and char_form(text[i - 1]) and _arabic(text[i]) != _arabic(text[i - 1]):
                pieces.append((start, i))
                start = i
        pieces.append((start, w.end))
        for a, b in pieces:
            letters = [i for i in range(a, b) if char_form(text[i])]
            cuts = []
            if len(letters) >= 3 and text[letters[0]] in PROCLITICS:
                cuts.append(letters[1])
                if text[letters[0]] in CONJUNCTIONS and text[letters[1]] in PREPOSITIONS and len(letters) >= 4:
                    cuts.append(letters[2])
            bounds = [a, *cuts, b]
            forms += ["".join(char_form(ch) for ch in text[x:y]) for x, y in zip(bounds, bounds[1:])]
    return forms


def _arabic(ch: str) -> bool:
    return "\u0600" <= ch <= "\u06ff"


def main() -> None:
    lines = (ROOT / "data" / "anercorp" / "train.txt").read_text(encoding="utf-8").splitlines()
    tokens = [line.split()[0] for line in lines if line.strip()]
    tokenizer = learn_wordpiece([" ".join(tokens[i : i + 40]) for i in range(0, len(tokens), 40)], 30000)
    encoder = Encoder(tokenizer, 512, 128)
    articles = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "data" / "raw").glob("*.txt"))]
    paragraphs = [[line for line in a.split("\n") if line.strip()] for a in articles]
    flat = [p for ps in paragraphs for p in ps]
    reference = [tokenizer(DIACRITICS_AND_TATWEEL.sub("", p), add_special_tokens=False)["input_ids"] for p in flat]
    whole = [split_words(p) for p in flat]
    views = {  # the old view's words went to the tokenizer one by one, never in chunks
        "whole words": [enc.ids for enc in encoder.encode(whole)],
        "split proclitics": tokenizer([old_view(p, w) for p, w in zip(flat, whole)], is_split_into_words=True,
                                      add_special_tokens=False)["input_ids"],
    }
    results = {"paragraphs": len(flat), "articles": len(articles), "reference_tokens": sum(map(len, reference))}
    print(f"{len(flat)} paragraphs of {len(articles)} articles; reference: {results['reference_tokens']} tokens")
    for name, ids in views.items():
        n = sum(map(len, ids))
        same = sum(a == b for a, b in zip(ids, reference))
        per_article, k = [], 0
        for ps in paragraphs:
            per_article.append(sum(len(ids[k + i]) for i in range(len(ps))))
            k += len(ps)
        results[name] = {"tokens": n, "vs_reference": round(n / results["reference_tokens"] - 1, 4),
                         "identical_paragraphs": same, "tokens_per_article": per_article}
        print(f"{name:>16}: {n} tokens ({100 * (n / results['reference_tokens'] - 1):+.1f}%), "
              f"{n / len(flat):.1f} per paragraph, per article {per_article}; "
              f"ids identical to the reference for {same} of {len(flat)} paragraphs ({100 * same / len(flat):.1f}%)")
    if "--json" in sys.argv:
        print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
