import pytest

from arabic_ner.text import split_words


def surfaces(text):
    return [text[w.start : w.end] for w in split_words(text)]


def forms(text):
    return [w.form for w in split_words(text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("لداعش", ["ل", "داعش"]),
        ("وسوريا", ["و", "سوريا"]),
        ("بالعراق", ["ب", "العراق"]),
        ("للتحالف", ["ل", "لتحالف"]),  # ل written together with ال: the span starts after the first ل
        ("وبالموصل", ["و", "ب", "الموصل"]),  # conjunction + preposition
        ("وللتحالف", ["و", "ل", "لتحالف"]),
    ],
)
def test_proclitics_are_split_off(text, expected):
    assert surfaces(text) == expected


def test_short_words_keep_their_first_letter():
    assert surfaces("ولا كل في") == ["و", "لا", "كل", "في"]


def test_proclitic_before_a_digit_is_split_by_script():
    assert surfaces("و٦ نيسان") == ["و", "٦", "نيسان"]
    assert forms("و٦ نيسان") == ["و", "6", "نيسان"]


def test_diacritics_and_tatweel_are_hidden_from_the_model_but_kept_in_offsets():
    text = "التَّحَالُفُ داعـــش"
    assert surfaces(text) == ["التَّحَالُفُ", "داعـــش"]
    assert forms(text) == ["التحالف", "داعش"]


def test_a_diacritic_on_the_proclitic_stays_with_it():
    assert surfaces("وَسُورِيَا") == ["وَ", "سُورِيَا"]


def test_invisible_marks_are_trimmed_from_word_edges_but_join_inside():
    text = "\u200fسن\u200cجار\u200f داعش\u200e"
    assert surfaces(text) == ["سن\u200cجار", "داعش"]
    assert forms(text) == ["سنجار", "داعش"]


def test_every_kind_of_space_separates_words():
    text = "19\u00a0ألف\r\nضربة\t\u2009 x  y"
    assert surfaces(text) == ["19", "ألف", "ضربة", "x", "y"]


def test_latin_and_punctuation_inside_arabic():
    assert surfaces("طائرة F-16 بF-16") == ["طائرة", "F", "-", "16", "ب", "F", "-", "16"]


def test_digits_glued_to_letters_are_split():
    assert surfaces("في 2014على") == ["في", "2014", "على"]


def test_emoji_and_flags_are_words_of_their_own():
    assert surfaces("🇮🇶 الموصل🔥 👍🏽") == ["🇮🇶", "الموصل", "🔥", "👍🏽"]


def test_presentation_forms_are_unfolded():
    assert forms("\ufefb") == ["لا"]  # the lam-alef ligature


def test_a_run_of_tatweel_alone_is_not_a_word():
    assert surfaces("ـــ داعش") == ["داعش"]


def test_offsets_always_slice_the_original_text(hard_documents):
    for doc in hard_documents:
        words = split_words(doc.text)
        assert all(0 <= w.start < w.end <= len(doc.text) for w in words)
        assert all(a.end <= b.start for a, b in zip(words, words[1:]))
        assert all(w.form for w in words)
