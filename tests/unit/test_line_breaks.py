"""Characters that ``str.splitlines()`` cuts at but a data file does not: U+2028, U+2029, U+0085,
``\\x0b`` and ``\\x0c`` inside a token or a document id. Lines end at ``\\n`` (or ``\\r\\n``) only, CoNLL
fields are separated by spaces or tabs only, and only ``# key = value`` lines are comments.
Every file is written by the test, byte for byte."""

import pytest

from arabic_ner.core.document import Document, Span
from arabic_ner.core.problems import Problems, UserError
from arabic_ner.data.conll import conll_fields, is_comment, one_line, read_conll, text_lines
from arabic_ner.data.writers import PredictionWriter
from arabic_ner.evaluation.scoring import read_conll_predictions, score_conll

LABELS = ["LOC", "ORG", "GPE"]
SEPARATORS = pytest.mark.parametrize("sep", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c"],
                                     ids=["U+2028", "U+2029", "U+0085", "x0b", "x0c"])


def write(tmp_path, text, name="corpus.txt"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))  # no newline translation: the test says every byte
    return path


def read(path, labels=LABELS, label_map=None):
    problems = Problems()
    return read_conll(path, labels, problems, label_map), problems


def entities(doc):
    return [(doc.text[s.start : s.end], s.label) for s in doc.spans]


def strict(report, row):
    scores = report.seqeval.strict.row(row)
    return scores.precision, scores.recall, scores.support


# ---------------------------------------------------------------- lines and fields

def test_lines_end_at_a_newline_only_and_a_windows_line_end_loses_its_cr():
    text = "في O\r\nدير\u2028الزور\x85B B-LOC\n\nحلب\x0c\x0b\u2029 B-LOC\n"
    assert text_lines(text) == ["في O", "دير\u2028الزور\x85B B-LOC", "", "حلب\x0c\x0b\u2029 B-LOC"]
    assert text_lines("") == [] and text_lines("a O") == ["a O"] and text_lines("\n") == [""]


def test_only_spaces_and_tabs_separate_fields():
    assert conll_fields("19\xa0ألف\u2028x  B-LOC ") == ["19\xa0ألف\u2028x", "B-LOC"]
    assert conll_fields("دير الزور\t B-LOC\t") == ["دير الزور", "B-LOC"]
    assert conll_fields(" \x0c\u2028 ") == []  # whitespace alone: a blank line


# ---------------------------------------------------------------- the CoNLL training reader

@SEPARATORS
def test_a_training_token_holding_the_character_is_one_token(tmp_path, sep):
    (doc,), problems = read(write(tmp_path, f"في O\nدير{sep}الزور B-LOC\nقصف O\n\nحلب B-LOC\n"))
    assert problems.items == []
    assert doc.text == f"في دير{sep}الزور قصف\nحلب"
    assert doc.spans == [Span(3, 12, "LOC"), Span(17, 20, "LOC")]
    assert entities(doc) == [(f"دير{sep}الزور", "LOC"), ("حلب", "LOC")]


@SEPARATORS
def test_a_bad_training_line_is_quoted_whole(tmp_path, sep):
    _, problems = read(write(tmp_path, f"في O\nدير{sep}الزور\nحلب B-LOC\n"))
    assert [str(p) for p in problems.errors] == [
        f"error: {tmp_path / 'corpus.txt'}: line 2: a single field, so the token or its tag is missing: "
        f"{'دير' + sep + 'الزور'!r}; fix the line (the token, then its tag, separated by spaces or a tab) or delete it, "
        "or set `skip_bad_lines: true` on this source to skip such lines"
    ]


@SEPARATORS
def test_a_document_id_holding_the_character_stays_whole(tmp_path, sep):
    docs, problems = read(write(tmp_path, f"# doc_id = a{sep}b\nحلب B-LOC\n# doc_id = c\nفي O\n"))
    assert problems.items == [] and [d.id for d in docs] == [f"a{sep}b", "c"]


def test_an_nbsp_inside_a_token_is_part_of_it(tmp_path):
    (doc,), problems = read(write(tmp_path, "نفذ O\n19\xa0ألف B-LOC\n"))
    assert problems.items == [] and entities(doc) == [("19\xa0ألف", "LOC")]


def test_training_lines_that_start_with_a_hash_are_tokens_unless_key_equals_value(tmp_path):
    text = "# doc_id = d1\n# sent_id = 1\n# text = في الموصل O\n#الموصل B-LOC\n# O\nفي O\n"
    (doc,), problems = read(write(tmp_path, text))
    assert problems.items == []
    assert doc.id == "d1" and doc.text == "#الموصل # في" and entities(doc) == [("#الموصل", "LOC")]


def test_what_is_a_comment():
    assert [is_comment(line) for line in ("# doc_id = x", "# text_sha256 = ab12", "# newdoc id = y", "# doc_id = ")] == [True] * 4
    assert [is_comment(line) for line in ("# O", "# O O", "#الموصل B-LOC B-LOC", "# B-LOC O", "#x = O", "")] == [False] * 6


# ---------------------------------------------------------------- conlleval files (evaluate --conll)

@SEPARATORS
def test_a_conlleval_token_holding_the_character_is_one_token(tmp_path, sep):
    path = write(tmp_path, f"في O O\nدير{sep}الزور B-LOC B-LOC\n\nقصف O O\nحلب B-LOC O\n", "p.conll")
    assert read_conll_predictions(path, Problems()) == ([["O", "B-LOC"], ["O", "B-LOC"]], [["O", "B-LOC"], ["O", "O"]])
    report = score_conll(path, Problems())
    assert (report.sentences, report.tokens) == (2, 4)
    assert strict(report, "LOC") == (1.0, 0.5, 2)


@SEPARATORS
def test_a_bad_conlleval_line_is_quoted_whole(tmp_path, sep):
    path = write(tmp_path, f"في O O\nدير{sep}الزور B-LOC\n", "p.conll")
    with pytest.raises(UserError) as raised:
        read_conll_predictions(path, Problems())
    assert raised.value.lines == [
        f"error: {path}: line 2: expected 'token GOLD PRED', found 2 fields: {'دير' + sep + 'الزور B-LOC'!r}",
        f"1 error(s) in {path}; fix them and run again.",
    ]


def test_conlleval_lines_that_start_with_a_hash_are_tokens_unless_key_equals_value(tmp_path):
    text = "# doc_id = x\n# text = في الموصل O\n#الموصل B-LOC B-LOC\n# O O\nفي O B-LOC\n"
    y_true, y_pred = read_conll_predictions(write(tmp_path, text, "p.conll"), Problems())
    assert (y_true, y_pred) == ([["B-LOC", "O", "O"]], [["B-LOC", "O", "B-LOC"]])


# ---------------------------------------------------------------- evaluate --conll --map

MAPPED = "داعش B-ORG B-ORG\nفي O O\nالموصل B-LOC O\nو O O\nبغداد B-GPE B-GPE\n"


def test_without_a_map_every_type_is_scored(tmp_path):
    report = score_conll(write(tmp_path, MAPPED, "p.conll"), Problems())
    assert sorted(report.seqeval.strict.per_type) == ["GPE", "LOC", "ORG"]
    assert strict(report, "micro") == (1.0, 2 / 3, 3)


def test_a_map_to_null_drops_the_type_from_gold_and_predictions(tmp_path):
    report = score_conll(write(tmp_path, MAPPED, "p.conll"), Problems(), {"LOC": None})
    assert sorted(report.seqeval.strict.per_type) == ["GPE", "ORG"]
    assert strict(report, "micro") == (1.0, 1.0, 2)


def test_a_map_renames_the_type_in_gold_and_predictions(tmp_path):
    report = score_conll(write(tmp_path, MAPPED, "p.conll"), Problems(), {"GPE": "LOC"})
    assert sorted(report.seqeval.strict.per_type) == ["LOC", "ORG"]
    assert strict(report, "LOC") == (1.0, 0.5, 2)


def test_a_map_of_a_type_the_file_lacks_is_a_warning(tmp_path):
    path = write(tmp_path, MAPPED, "p.conll")
    problems = Problems()
    score_conll(path, problems, {"PERS": None})
    assert [str(p) for p in problems.items] == [
        f"warning: --map PERS=null: {path} has no PERS tags, so this map changes nothing; its types are GPE, LOC, ORG"
    ]


def test_a_map_that_drops_every_type_is_refused(tmp_path):
    path = write(tmp_path, MAPPED, "p.conll")
    with pytest.raises(UserError) as raised:
        score_conll(path, Problems(), {"LOC": None, "ORG": None, "GPE": None})
    assert raised.value.lines == [f"{path}: --map drops every type the file holds (GPE, LOC, ORG), so nothing is left to score"]


# ---------------------------------------------------------------- predict's conll output reads back

def test_conll_predictions_of_texts_and_ids_holding_the_characters_read_back_with_the_same_tokens(tmp_path):
    docs = [
        Document("a\u2028b", "قصف\u2028التحالف مواقع\x85لداعش", [Span(4, 11, "ORG"), Span(19, 23, "ORG")]),
        Document("c\x85d\x0be\x0cf\u2029", "في\x0bالموصل\x0cو\u2029بغداد", [Span(3, 9, "LOC"), Span(12, 17, "GPE")]),
    ]
    with PredictionWriter(tmp_path / "o.conll", "conll", "tiny-abc") as writer:
        for doc in docs:
            writer.write(doc, None)
    written = (tmp_path / "o.conll").read_text(encoding="utf-8")
    assert [line for line in written.split("\n") if line.startswith("# doc_id")] == ["# doc_id = a\\u2028b", "# doc_id = c\\x85d\\x0be\\x0cf\\u2029"]
    back, problems = read(tmp_path / "o.conll")
    assert problems.errors == []
    # one_line escaped the ids for the header; the texts come back as their tokens joined by spaces
    assert [d.id for d in back] == [one_line(d.id) for d in docs]
    assert [d.text.split(" ") for d in back] == [["قصف", "التحالف", "مواقع", "ل", "داعش"], ["في", "الموصل", "و", "بغداد"]]
    assert [entities(d) for d in back] == [entities(d) for d in docs]
