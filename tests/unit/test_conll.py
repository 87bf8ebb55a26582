"""CoNLL-style corpora as they ship: any file name, IOB1/IOB2/BIOES, extra columns, nested tags,
label maps, and lines that cannot be read. Every file is written by the test."""

import re

import pytest

from arabic_ner.core.document import Span
from arabic_ner.core.problems import Problems, UserError
from arabic_ner.data.conll import conll_lines
from arabic_ner.data.labelstudio_json import ReadStats, read_annotations

LABELS = ["LOC", "ORG", "WEAPON", "COUNT", "DATE"]


def read(path, labels=LABELS, **options):
    problems = Problems()
    return read_annotations(path, labels, problems, ReadStats(), **options), problems


def write(tmp_path, text, name="corpus.txt"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def entities(doc):
    return [(doc.text[s.start : s.end], s.label) for s in doc.spans]


def test_round_trip(tmp_path, hard_documents):
    path = write(tmp_path, "\n".join(line for d in hard_documents for line in conll_lines(d)), "gold.conll")
    docs, problems = read(path)
    assert problems.errors == []
    assert [d.id for d in docs] == [d.id for d in hard_documents]
    for original, back in zip(hard_documents, docs):
        # CoNLL keeps words and tags, not the spacing between words: compare each entity's words.
        assert [(original.text[s.start : s.end].split(), s.label) for s in sorted(original.spans)] == [
            (back.text[s.start : s.end].split(), s.label) for s in back.spans
        ], original.id


@pytest.mark.parametrize("name", ["train.txt", "corpus", "x.conll", "ANER.TXT", "data.json.bak"])
def test_any_file_name_is_read_by_its_content(tmp_path, name):
    (doc,), problems = read(write(tmp_path, "قصف O\nل O\nداعش B-ORG\n\nفي O\nدير B-LOC\nالزور I-LOC\n", name))
    assert problems.items == []
    assert doc.text == "قصف ل داعش\nفي دير الزور"
    assert entities(doc) == [("داعش", "ORG"), ("دير الزور", "LOC")]


def test_a_label_studio_export_is_recognised_whatever_its_name(tmp_path):
    path = write(tmp_path, '[{"id": 1, "data": {"text": "في الموصل"}, "annotations": [{"result": []}]}]', "export.txt")
    (doc,), problems = read(path)
    assert doc.text == "في الموصل" and problems.items == []


def test_tabs_separate_columns_so_a_token_may_hold_a_space(tmp_path):
    (doc,), problems = read(write(tmp_path, "في\tO\nدير الزور\tB-LOC\n"))
    assert problems.items == [] and entities(doc) == [("دير الزور", "LOC")]


def test_iob1_is_recognised_and_said_once(tmp_path):
    # IOB1: I- starts an entity; B- only where two entities of one type touch.
    (doc,), problems = read(write(tmp_path, "في O\nدير I-LOC\nالزور I-LOC\nحلب B-LOC\nو O\nداعش I-ORG\n"))
    assert [p.level for p in problems.items] == ["note"] and "IOB1" in str(problems.items[0])
    assert entities(doc) == [("دير الزور", "LOC"), ("حلب", "LOC"), ("داعش", "ORG")]


@pytest.mark.parametrize("tags", [("S", "B", "E", "S"), ("U", "B", "L", "U")])
def test_bioes_and_bilou(tmp_path, tags):
    single, begin, end, single2 = tags
    text = f"داعش {single}-ORG\nفي O\nدير {begin}-LOC\nالزور {end}-LOC\nحلب {single2}-LOC\n"
    (doc,), problems = read(write(tmp_path, text))
    assert problems.errors == [] and problems.warnings == []
    assert entities(doc) == [("داعش", "ORG"), ("دير الزور", "LOC"), ("حلب", "LOC")]


def test_a_stray_inside_tag_in_an_iob2_file_is_read_as_begin_with_a_warning(tmp_path):
    (doc,), problems = read(write(tmp_path, "في O\nالموصل I-LOC\n\nقصف O\nحلب B-LOC\n"))
    assert "line 2: I-LOC does not continue a LOC entity; read as B-LOC" in str(problems.warnings[0])
    assert doc.spans[0] == Span(3, 9, "LOC")


def test_an_entity_does_not_continue_across_a_sentence_break(tmp_path):
    (doc,), problems = read(write(tmp_path, "في O\nحلب B-LOC\n\nالموصل I-LOC\nقصف O\nدير B-LOC\n"))
    assert [str(p) for p in problems.warnings] == [f"warning: {tmp_path / 'corpus.txt'}: line 4: I-LOC does not continue a LOC entity; read as B-LOC"]
    assert entities(doc) == [("حلب", "LOC"), ("الموصل", "LOC"), ("دير", "LOC")]


def test_conll2003_columns_keep_the_first_and_the_last(tmp_path):
    text = "-DOCSTART- -X- -X- O\n\nقصف VB B-VP O\nداعش NNP B-NP B-ORG\nفي IN B-PP O\nحلب NNP B-NP B-LOC\n"
    (doc,), problems = read(write(tmp_path, text))
    assert problems.errors == [] and "the token is the first, the tag the last" in str(problems.items[0])
    assert doc.text == "قصف داعش في حلب" and entities(doc) == [("داعش", "ORG"), ("حلب", "LOC")]


WOJOOD = """رئيس B-OCC
بلدية I-OCC B-ORG
نابلس I-OCC I-ORG B-GPE
زار O
مدينة B-GPE
رام I-GPE
الله I-GPE
"""


def test_nested_tags_keep_the_outermost_layer_with_a_warning(tmp_path):
    labels = ["OCC", "ORG", "GPE"]
    (doc,), problems = read(write(tmp_path, WOJOOD), labels)
    assert entities(doc) == [("رئيس بلدية نابلس", "OCC"), ("مدينة رام الله", "GPE")]
    (warning,) = problems.warnings
    assert "2 lines carry several tags (nested entities)" in str(warning) and "3 inner tags are left out" in str(warning)


def test_a_layer_the_label_map_drops_gives_way_to_the_next(tmp_path):
    (doc,), problems = read(write(tmp_path, WOJOOD), label_map={"OCC": None, "GPE": "LOC"})
    assert problems.errors == []
    assert entities(doc) == [("بلدية نابلس", "ORG"), ("مدينة رام الله", "LOC")]


def test_label_map_renames_and_drops(tmp_path):
    text = "قال B-PERS\nفي O\nبغداد B-GPE\nالعراقية I-GPE\nو O\nثلاثة B-CARDINAL\n"
    (doc,), problems = read(write(tmp_path, text), label_map={"PERS": None, "GPE": "LOC", "CARDINAL": "COUNT"})
    assert problems.items == []
    assert entities(doc) == [("بغداد العراقية", "LOC"), ("ثلاثة", "COUNT")]


def test_labels_neither_declared_nor_mapped_are_one_error_that_lists_them(tmp_path):
    text = "قال B-PERS\nزيد I-PERS\nفي O\nبغداد B-GPE\nو O\nعمرو B-PERS\nداعش B-ORG\n"
    _, problems = read(write(tmp_path, text))
    (error,) = problems.errors
    message = str(error)
    assert "labels neither declared nor mapped: GPE (1 entities, first at line 4), PERS (2 entities, first at line 1)" in message
    assert "`GPE: null` drops GPE" in message and "label_map" in message


def test_a_line_without_a_tag_is_an_error_that_says_how_to_fix_or_skip_it(tmp_path):
    path = write(tmp_path, "قصف O\nداعش\nهنا X-ORG\nفي O\n")
    _, problems = read(path)
    assert [p.where for p in problems.errors] == [f"{path}: line 2", f"{path}: line 3"]
    assert "single field" in problems.errors[0].message and "skip_bad_lines: true" in problems.errors[0].message
    assert "'X-ORG' is not a tag" in problems.errors[1].message
    (doc,), problems = read(path, skip_bad_lines=True)
    assert problems.errors == [] and len(problems.warnings) == 2 and doc.text == "قصف في"


def test_a_token_with_a_space_in_a_two_column_file_is_kept_whole_with_a_warning(tmp_path):
    # ANERcorp's test file starts with such a line: nothing of the text is lost.
    (doc,), problems = read(write(tmp_path, "الصالحية ونايفة O\nفي O\nحلب B-LOC\n"))
    (warning,) = problems.warnings
    assert "line 1: 3 fields where the file has 'token TAG'; read as the token 'الصالحية ونايفة'" in str(warning)
    assert doc.text == "الصالحية ونايفة في حلب" and entities(doc) == [("حلب", "LOC")]


def test_documents_comments_and_a_byte_order_mark(tmp_path):
    text = "\ufeff# doc_id = a\n# sent_id = 1\nحلب B-LOC\n\n-DOCSTART- O\n\nداعش B-ORG\n"
    docs, problems = read(write(tmp_path, text))
    assert problems.items == []
    assert [(d.id, entities(d)) for d in docs] == [("a", [("حلب", "LOC")]), ("corpus-2", [("داعش", "ORG")])]


def test_a_file_with_no_token_lines_is_refused_in_one_line(tmp_path):
    with pytest.raises(UserError, match="no 'token TAG' lines found"):
        read(write(tmp_path, "<x/>\n", "gold.xml"))


@pytest.mark.parametrize("encoding, message", [("utf-16", "UTF-16 text; save the file as UTF-8"), ("cp1256", "not UTF-8 (byte 0)")])
def test_a_file_in_another_encoding_is_refused_in_one_line_that_says_how_to_convert(tmp_path, encoding, message):
    path = tmp_path / "corpus.txt"
    path.write_bytes("حلب B-LOC\n".encode(encoding))
    with pytest.raises(UserError, match=re.escape(message)):
        read(path)


@pytest.mark.parametrize("split, entities, lines", [("train", 9002, [127150]), ("test", 2231, [1])])
def test_anercorp_reads_as_shipped(split, entities, lines):
    from helpers import ROOT

    (doc,), problems = read(ROOT / "data" / "anercorp" / f"{split}.txt", ["LOC", "ORG", "PERS", "MISC"])
    assert problems.errors == [] and len(doc.spans) == entities  # the README's conlleval chunk counts
    odd = [p for p in problems.warnings if "fields where the file has 'token TAG'" in p.message]
    assert [int(p.where.rsplit(" ", 1)[1]) for p in odd] == lines  # its two malformed lines, read whole
    assert all("does not continue" in p.message for p in problems.warnings if p not in odd)  # its orphan I- tags
