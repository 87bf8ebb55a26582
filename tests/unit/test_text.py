import pytest

from arabic_ner.core.words import split_words


def surfaces(text):
    return [text[w.start : w.end] for w in split_words(text)]


def forms(text):
    return [w.form for w in split_words(text)]


@pytest.mark.parametrize("text", ["لداعش", "وسوريا", "بالعراق", "للتحالف", "وبالموصل", "وللتحالف", "واشنطن", "بغداد", "كركوك"])
def test_words_reach_the_model_whole(text):
    assert surfaces(text) == [text] and forms(text) == [text]


def inner(text):
    """Where an entity may start inside the (single) word of ``text``: what follows each such offset."""
    (word,) = split_words(text)
    return [text[offset : word.end] for offset in word.inner_starts]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("لداعش", ["داعش"]),
        ("وسوريا", ["سوريا"]),
        ("بالعراق", ["العراق"]),
        ("للتحالف", ["لتحالف"]),  # ل written together with ال: the entity starts after the first ل
        ("وبالموصل", ["بالموصل", "الموصل"]),  # conjunction + preposition
        ("وللتحالف", ["للتحالف", "لتحالف"]),
        ("فكركوك", ["كركوك", "ركوك"]),  # the policy allows; the model learns which one the text means
        ("بغداد", ["غداد"]),
    ],
)
def test_an_entity_may_start_after_one_or_two_proclitics(text, expected):
    assert inner(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("سوريا", []),  # س is no proclitic
        ("ببغداد", ["بغداد"]),  # two prepositions: only the first is a proclitic
        ("لوسوريا", ["وسوريا"]),  # a conjunction after a preposition is not a second proclitic
        ("ولا", ["لا"]),
        ("لا", []),  # at least two letters must remain
        ("وبه", ["به"]),
        ("Fly", []),
    ],
)
def test_only_proclitic_letters_may_be_skipped(text, expected):
    assert inner(text) == expected


def test_the_entity_starts_at_the_letter_after_the_proclitic_and_its_marks():
    text = "وَسُورِيَا لـداعش"
    first, second = split_words(text)
    assert text[first.inner_starts[0] : first.end] == "سُورِيَا"
    assert text[second.inner_starts[0] : second.end] == "داعش"  # the tatweel stays with the proclitic


def test_a_proclitic_in_a_presentation_form_counts():
    (word,) = split_words("\ufedfداعش")  # initial-form lam
    assert word.form == "لداعش" and word.inner_starts == (1,)


def test_word_entity_start_and_skip_at_invert_each_other():
    (word,) = split_words("وبالموصل")
    assert [word.entity_start(k) for k in range(4)] == [0, 1, 2, None]
    assert [word.skip_at(offset) for offset in range(4)] == [0, 1, 2, None]


def test_proclitics_attached_to_digits_or_latin_stay_on_them_and_an_entity_may_start_after():
    assert surfaces("و٦ نيسان بF-16 وب2014") == ["و٦", "نيسان", "بF", "-", "16", "وب2014"]
    assert forms("و٦ نيسان") == ["و6", "نيسان"]
    assert inner("و٦") == ["٦"] and inner("بF") == ["F"] and inner("وب2014") == ["ب2014", "2014"]


def test_other_arabic_words_glued_to_digits_or_latin_are_split_by_script():
    assert surfaces("على2014 سوريا2014 iconمقاتلات") == ["على", "2014", "سوريا", "2014", "icon", "مقاتلات"]


def test_diacritics_and_tatweel_are_hidden_from_the_model_but_kept_in_offsets():
    text = "التَّحَالُفُ داعـــش"
    assert surfaces(text) == ["التَّحَالُفُ", "داعـــش"]
    assert forms(text) == ["التحالف", "داعش"]


def test_invisible_marks_are_trimmed_from_word_edges_but_join_inside():
    text = "\u200fسن\u200cجار\u200f داعش\u200e"
    assert surfaces(text) == ["سن\u200cجار", "داعش"]
    assert forms(text) == ["سنجار", "داعش"]


def test_every_kind_of_space_separates_words():
    text = "19\u00a0ألف\r\nضربة\t\u2009 x  y"
    assert surfaces(text) == ["19", "ألف", "ضربة", "x", "y"]


def test_latin_and_punctuation_inside_arabic():
    assert surfaces("طائرة F-16") == ["طائرة", "F", "-", "16"]


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
