import pytest

from arabic_ner.core.alignment import IGNORE_INDEX, spans_to_tags
from arabic_ner.core.config import Config, ScratchModel
from arabic_ner.core.encoding import Encoder, assign_owners, make_windows
from arabic_ner.core.words import split_words
from arabic_ner.model.vocabulary import train_wordpiece

from helpers import long_document, marked


@pytest.fixture(scope="module")
def tokenizer():
    texts = [marked(long_document()).text, "قصف لداعش في العراق وسوريا F-16 ٢٥ خزينة"]
    config = Config(model="scratch", scratch=ScratchModel(vocab_size=300))
    return train_wordpiece(([w.form for w in split_words(t)] for t in texts), config)


def test_windows_cover_every_token_and_overlap():
    word_ids = [i // 2 for i in range(100)]  # every word is two pieces
    windows = make_windows(word_ids, size=20, stride=6)
    covered = set()
    for start, end in windows:
        assert end - start <= 20
        covered.update(range(start, end))
        assert word_ids[start] != word_ids[start - 1] or start == 0  # starts on a first piece
    assert covered == set(range(100))
    assert all(b[0] < a[1] for a, b in zip(windows, windows[1:]))  # consecutive windows overlap


def test_a_short_document_is_one_window():
    assert make_windows([0, 1, 2], size=10, stride=2) == [(0, 3)]


def test_a_word_longer_than_the_overlap_is_cut_rather_than_looping():
    word_ids = [0] * 50 + [1]
    windows = make_windows(word_ids, size=10, stride=3)
    assert windows[-1][1] == 51
    assert all(b[0] > a[0] for a, b in zip(windows, windows[1:]))


def test_each_word_is_owned_by_exactly_one_window():
    word_ids = [i // 3 for i in range(90)]
    windows = make_windows(word_ids, size=24, stride=9)
    owned = assign_owners(word_ids, windows)
    positions = [p for ps in owned for p in ps]
    assert sorted(positions) == [p for p in range(90) if p % 3 == 0]
    for k, ps in enumerate(owned):
        assert all(windows[k][0] <= p < windows[k][1] for p in ps)


def test_long_document_is_windowed_not_truncated(tokenizer):
    doc = marked(long_document())
    encoder = Encoder(tokenizer, max_length=64, stride=16)
    (enc,) = encoder.encode([split_words(doc.text)])
    assert len(enc.windows) > 5
    assert enc.windows[-1][1] == len(enc.ids)
    assert all(len(encoder.inputs(enc, k)) <= 64 for k in range(len(enc.windows)))
    owned_words = [enc.word_ids[p] for ps in enc.owned for p in ps]
    assert owned_words == list(range(len(enc.words)))  # every word once, in order


def test_scoring_examples_label_each_word_exactly_once(tokenizer):
    doc = marked(long_document())
    words = split_words(doc.text)
    tags, _ = spans_to_tags(words, doc.spans)
    encoder = Encoder(tokenizer, max_length=64, stride=16)
    (enc,) = encoder.encode([words])
    label2id = {"O": 0, "B-ORG": 1, "I-ORG": 2, "B-LOC": 3, "I-LOC": 4}
    labelled = [x for ex in encoder.scoring_examples(enc, tags, label2id) for x in ex["labels"] if x != IGNORE_INDEX]
    assert labelled == [label2id[t] for t in tags]


def test_training_examples_put_special_tokens_around_each_window(tokenizer):
    doc = marked("قصف ل⟦ORG|داعش⟧")
    words = split_words(doc.text)
    tags, _ = spans_to_tags(words, doc.spans)
    encoder = Encoder(tokenizer, max_length=64, stride=16)
    (enc,) = encoder.encode([words])
    (example,) = encoder.training_examples(enc, tags, {"O": 0, "B-ORG": 1, "I-ORG": 2, "B1-ORG": 3})
    assert example["input_ids"][0] == tokenizer.cls_token_id and example["input_ids"][-1] == tokenizer.sep_token_id
    assert example["labels"][0] == example["labels"][-1] == IGNORE_INDEX
    assert 3 in example["labels"]  # لداعش: B1-ORG


def test_reads_name_each_words_first_piece_once_in_model_input_columns(tokenizer):
    doc = marked(long_document())
    encoder = Encoder(tokenizer, max_length=64, stride=16)
    (enc,) = encoder.encode([split_words(doc.text)])
    read = []
    for k in range(len(enc.windows)):
        inputs = encoder.inputs(enc, k)
        for column, word in encoder.reads(enc, k):
            start = enc.windows[k][0]
            assert inputs[column] == enc.ids[start + column - len(encoder.prefix)]
            assert enc.word_ids[start + column - len(encoder.prefix)] == word
            read.append(word)
    assert read == list(range(len(enc.words)))


def test_a_word_the_tokenizer_drops_gets_the_unknown_token(tokenizer):
    text = "قصف \ufffd داعش"  # BERT's normaliser deletes U+FFFD: the word would vanish
    words = split_words(text)
    encoder = Encoder(tokenizer, max_length=64, stride=16)
    (enc,) = encoder.encode([words])
    assert sorted(set(enc.word_ids)) == [0, 1, 2]
    assert enc.unknown_words == 1
    assert enc.ids[enc.word_ids.index(1)] == tokenizer.unk_token_id


def test_empty_documents_encode_to_nothing(tokenizer):
    encoder = Encoder(tokenizer, max_length=64, stride=16)
    (enc,) = encoder.encode([[]])
    assert enc.ids == [] and enc.windows == []


def test_touching_words_are_tokenized_as_one_chunk_like_a_pretrained_tokenizer_does():
    from arabic_ner.model.vocabulary import train_wordpiece

    tokenizer = train_wordpiece([["في", "2014", "على", "الحدود"]], Config(model="scratch", scratch=ScratchModel(vocab_size=300)))
    words = split_words("في 2014على الحدود")
    encoder = Encoder(tokenizer, max_length=64, stride=16)
    (enc,) = encoder.encode([words])
    assert enc.ids == tokenizer("في 2014على الحدود", add_special_tokens=False)["input_ids"]
    pieces = tokenizer.convert_ids_to_tokens(enc.ids)
    first_of = {w: pieces[enc.word_ids.index(w)] for w in range(len(words))}
    assert first_of[2].startswith("##")  # على continues 2014's chunk
    assert sorted(set(enc.word_ids)) == list(range(len(words)))


def test_a_chunk_whose_piece_would_straddle_two_words_goes_word_by_word():
    from arabic_ner.model.vocabulary import train_wordpiece

    config = Config(model="scratch", scratch=ScratchModel(vocab_size=300))
    tokenizer = train_wordpiece([["قصف", "الموصل"]], config)  # no "2", no "🔥": the chunk الموصل🔥 is one [UNK]
    words = split_words("قصف الموصل🔥")
    assert tokenizer("الموصل🔥", add_special_tokens=False)["input_ids"] == [tokenizer.unk_token_id]
    (enc,) = Encoder(tokenizer, max_length=64, stride=16).encode([words])
    assert tokenizer.convert_ids_to_tokens(enc.ids) == ["قصف", "الموصل", "[UNK]"]
    assert enc.word_ids == [0, 1, 2]
