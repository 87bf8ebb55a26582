"""Property tests of the alignment on random Arabic-like texts.

Texts mix words with diacritics and tatweel, attached proclitics, ASCII and Arabic-Indic digits,
Latin, punctuation, emoji and flags, and every kind of separator (runs of spaces, NBSP, tabs,
CRLF, RLM/ZWNJ marks). Spans are random and non-overlapping. Whatever the text and spans, a
span that starts at a word's start or right after its allowed proclitics, and ends at a word's
end, comes back exactly through the tags (and through the model's windows); any other span is
reported as unaligned: never silently moved.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arabic_ner.core.alignment import IGNORE_INDEX, spans_to_tags, tags_to_spans
from arabic_ner.core.config import Config, ScratchModel
from arabic_ner.core.document import Document, Span
from arabic_ner.core.encoding import Encoder
from arabic_ner.core.labels import label_names
from arabic_ner.core.problems import Problems
from arabic_ner.core.words import CONJUNCTIONS, JOIN, MARK, PREPOSITIONS, PROCLITICS, SPACE, char_class, char_form, split_words
from arabic_ner.data.labelstudio_json import ReadStats, labelstudio_task, read_annotations
from arabic_ner.model.vocabulary import train_wordpiece

STEMS = ["داعش", "الموصل", "سوريا", "بغداد", "قصف", "التحالف", "نيسان", "كركوك", "منصات", "صواريخ", "ألف"]
PREFIXES = ["", "", "و", "ل", "ب", "ف", "ك", "وب", "لل", "ول"]
MARKS = ["\u064e", "\u064f", "\u0650", "\u0651", "\u064b", "\u0652", "\u0640", "\u0640\u0640"]  # harakat, shadda, tatweel
OTHERS = ["F-16", "ABC", "2014", "٦", "٢٥", "2,6", "22.03.2017", "🔥", "🇮🇶", "👍🏽", "،", ".", "«", "»", '"', "(", ")", "%", "\ufffd"]
SEPARATORS = [" ", " ", " ", "  ", "\u00a0", "\t", "\r\n", "\n\n", " \u200f", "\u200f ", "\u200e", "   "]
LABELS = ["LOC", "ORG", "WEAPON", "COUNT", "DATE"]


@st.composite
def arabic_word(draw) -> str:
    stem = draw(st.sampled_from(STEMS))
    letters = list(stem)
    for _ in range(draw(st.integers(0, 2))):  # diacritics or tatweel after a random letter
        i = draw(st.integers(0, len(letters) - 1))
        letters[i] += draw(st.sampled_from(MARKS))
    if draw(st.integers(0, 9)) == 0:  # a zero-width non-joiner inside the word
        i = draw(st.integers(1, len(letters) - 1))
        letters[i] = "\u200c" + letters[i]
    return draw(st.sampled_from(PREFIXES)) + "".join(letters)


@st.composite
def texts(draw) -> str:
    tokens = draw(st.lists(st.one_of(arabic_word(), arabic_word(), st.sampled_from(OTHERS)), min_size=1, max_size=25))
    out = [draw(st.sampled_from(["", "\u200f", " "]))]
    for token in tokens:
        out.append(token)
        out.append(draw(st.sampled_from(SEPARATORS + [""])))  # "" glues tokens: 2014على, داعش🔥
    return "".join(out)


@st.composite
def text_and_spans(draw, aligned: bool = False):
    text = draw(texts())
    if aligned:  # spans from a word start, or from after an allowed proclitic, to a word end
        words = split_words(text)
        bounds = sorted(draw(st.sets(st.integers(0, len(words) - 1), max_size=8)))
        spans, i = [], 0
        while i + 1 < len(bounds):
            first = words[bounds[i]]
            start = draw(st.sampled_from((first.start, *first.inner_starts)))
            spans.append(Span(start, words[bounds[i + 1]].end, draw(st.sampled_from(LABELS))))
            i += 2
        return text, spans
    cuts = sorted(draw(st.sets(st.integers(0, len(text)), max_size=10)))
    spans = [
        Span(cuts[i], cuts[i + 1], draw(st.sampled_from(LABELS)))
        for i in range(0, len(cuts) - 1, 2)
        if cuts[i] < cuts[i + 1]
    ]
    return text, spans


PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(texts())
def test_words_slice_the_text_in_order_and_leave_out_only_invisible_characters(text):
    words = split_words(text)
    assert all(0 <= w.start < w.end <= len(text) and w.form for w in words)
    assert all(a.end <= b.start for a, b in zip(words, words[1:]))
    covered = {i for w in words for i in range(w.start, w.end)}
    for i, ch in enumerate(text):
        if i not in covered:
            assert char_class(ch) in (SPACE, JOIN, MARK) or not char_form(ch), (i, ch)


@PROPERTY
@given(text_and_spans())
def test_every_span_comes_back_exactly_or_is_reported(case):
    text, spans = case
    words = split_words(text)
    tags, unaligned = spans_to_tags(words, spans, text)
    reported = {u.span for u in unaligned}
    back = set(tags_to_spans(words, tags))
    assert back == set(spans) - reported  # nothing moved, nothing invented
    starts = {offset for w in words for offset in (w.start, *w.inner_starts)}
    ends = {w.end for w in words}
    representable = {s for s in spans if s.start in starts and s.end in ends}
    # reported exactly when no tags can say it, or when it shares a word with such a span
    unrepresentable = set(spans) - representable
    touched = {i for s in unrepresentable for i, w in enumerate(words) if w.start < s.end and s.start < w.end}
    sharing = {s for s in representable if any(w.start < s.end and s.start < w.end for i, w in enumerate(words) if i in touched)}
    assert reported == unrepresentable | sharing


@PROPERTY
@given(text_and_spans())
def test_a_span_starting_after_a_proclitic_starts_after_a_proclitic_letter(case):
    text, spans = case
    words = split_words(text)
    tags, _ = spans_to_tags(words, spans, text)
    for span in tags_to_spans(words, tags):
        word = next(w for w in words if w.start <= span.start < w.end)
        skipped = "".join(char_form(ch) for ch in text[word.start : span.start])
        assert skipped in ("", *PROCLITICS, *(c + p for c in CONJUNCTIONS for p in PREPOSITIONS)), (skipped, span)


@PROPERTY
@given(text_and_spans(aligned=True))
def test_spans_on_word_boundaries_always_come_back(case):
    text, spans = case
    words = split_words(text)
    tags, unaligned = spans_to_tags(words, spans, text)
    assert unaligned == []
    assert tags_to_spans(words, tags) == sorted(spans)


def _tokenizer():
    config = Config(model="scratch", scratch=ScratchModel(vocab_size=60))  # small: many words spelt in pieces
    sample = " ".join(STEMS + OTHERS)
    return train_wordpiece([[w.form for w in split_words(sample)]], config)


TOKENIZER = _tokenizer()
LABEL2ID = {label: i for i, label in enumerate(label_names(LABELS))}
ID2LABEL = {i: label for label, i in LABEL2ID.items()}


@PROPERTY
@given(text_and_spans(aligned=True), st.integers(16, 40), st.integers(0, 6))
def test_spans_survive_the_sub_word_windows(case, max_length, stride):
    text, spans = case
    words = split_words(text)
    tags, _ = spans_to_tags(words, spans, text)
    encoder = Encoder(TOKENIZER, max_length, stride)
    (enc,) = encoder.encode([words])
    word_tags = []
    for example in encoder.scoring_examples(enc, tags, LABEL2ID):
        assert len(example["input_ids"]) <= max_length
        word_tags += [ID2LABEL[x] for x in example["labels"] if x != IGNORE_INDEX]
    assert tags_to_spans(words, word_tags) == sorted(spans)


@PROPERTY
@given(text_and_spans())
def test_label_studio_round_trip_keeps_every_span_or_reports_it(case):
    import tempfile
    from pathlib import Path

    text, spans = case
    if not text.strip():
        return
    doc = Document("d", text, spans)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "a.json"
        path.write_text(json.dumps([labelstudio_task(doc)], ensure_ascii=False), encoding="utf-8")
        problems = Problems()
        (back,) = read_annotations(path, LABELS, problems, ReadStats())
    assert problems.errors == [] or any("covers only spaces" in str(p) for p in problems.errors)
    trimmed = {str(p).split("span ")[1].split(" ")[0] for p in problems.items}
    for span in spans:
        if f"[{span.start},{span.end})" not in trimmed:
            assert span in back.spans  # untouched spans come back as they were
    assert all(text[s.start] not in " \u00a0\t\r\n" and text[s.end - 1] not in " \u00a0\t\r\n" for s in back.spans)
