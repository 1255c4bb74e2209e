"""attn.ner_context and the document structure it reads: documents, windows, joined encodings, subsets,
and the tagger reading a whole document."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attn import ner_context, ner_data, ner_prediction, ner_training
from attn.bert import BertConfig, BertEncoder, load_tokenizer
from attn.conll import Sentence, documents, read_conll
from attn.ner_data import IGNORE
from attn.ner_model import TokenClassifier

SAMPLE = Path(__file__).parent / "data" / "conll_sample.txt"
lengths_strategy = st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=25)


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer()


def test_docstart_lines_number_the_documents():
    sentences = read_conll(SAMPLE)
    assert [s.document for s in sentences] == [0, 0, 0, 1, 1, 1]
    assert documents(sentences) == [[0, 1, 2], [3, 4, 5]]


def test_centred_window_takes_neighbours_in_turn_previous_first():
    # sentence 2 (4 sub-tokens) + 2 special tokens = 6; then 1 (+3), 3 (+5), 0 (+2) would make 16
    assert ner_context.centred_window([2, 3, 4, 5, 9], centre=2, budget=14) == (1, 4)
    assert ner_context.centred_window([2, 3, 4, 5, 9], centre=2, budget=16) == (0, 4)
    # the left side is exhausted: the right side goes on alone
    assert ner_context.centred_window([4, 1, 1, 1], centre=0, budget=9) == (0, 4)


def test_a_sentence_longer_than_the_budget_is_its_own_window():
    assert ner_context.centred_window([3, 200, 3], centre=1, budget=128) == (1, 2)
    assert ner_context.packed_windows([3, 200, 3], budget=128) == [(0, 1), (1, 2), (2, 3)]


@settings(max_examples=200, deadline=None)
@given(lengths_strategy, st.integers(min_value=8, max_value=150), st.data())
def test_centred_window_fits_and_cannot_grow(lengths, budget, data):
    centre = data.draw(st.integers(min_value=0, max_value=len(lengths) - 1))
    first, last = ner_context.centred_window(lengths, centre, budget)
    assert first <= centre < last
    used = ner_context.SPECIAL_TOKENS + sum(lengths[first:last])
    if last - first > 1:
        assert used <= budget
    assert first == 0 or used + lengths[first - 1] > budget
    assert last == len(lengths) or used + lengths[last] > budget


@settings(max_examples=200, deadline=None)
@given(lengths_strategy, st.integers(min_value=8, max_value=150))
def test_packed_windows_cover_every_sentence_once_and_fit(lengths, budget):
    windows = ner_context.packed_windows(lengths, budget)
    assert [index for first, last in windows for index in range(first, last)] == list(range(len(lengths)))
    for (first, last), following in zip(windows, windows[1:] + [None]):
        used = ner_context.SPECIAL_TOKENS + sum(lengths[first:last])
        assert used <= budget or last - first == 1
        if following is not None:  # greedy: the next sentence did not fit
            assert used + lengths[last] > budget


def test_join_labels_only_the_chosen_sentences(tokenizer):
    a = ner_data.encode_words(tokenizer, ["Berg", "scored", "."], ["B-PER", "O", "O"])
    b = ner_data.encode_words(tokenizer, ["Harlow", "won"], ["B-ORG", "O"])
    window = ner_context.join([a, b], labelled={1})
    tokens = [tokenizer.id_to_token(i) for i in window.input_ids]
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]" and tokens.count("[SEP]") == 1
    assert window.input_ids == a.input_ids[:-1] + b.input_ids[1:]
    assert window.casing == a.casing[:-1] + b.casing[1:]
    context = len(a.input_ids) - 1  # [CLS] and the sub-tokens of a
    assert window.labels[:context] == [IGNORE] * context and window.word_ids[:context] == [None] * context
    assert window.labels[context:] == b.labels[1:]
    assert window.word_ids[context:] == b.word_ids[1:]
    assert (window.num_words, window.num_sentences) == (2, 1)
    both = ner_context.join([a, b], labelled={0, 1})
    assert both.word_ids[1:-1] == a.word_ids[1:-1] + [None if w is None else w + 3 for w in b.word_ids[1:-1]]
    assert (both.num_words, both.num_sentences) == (5, 2)


def test_training_windows_label_every_sentence_once_within_its_document(tokenizer):
    sentences = read_conll(SAMPLE)
    pieces = ner_data.encode_sentences(tokenizer, sentences)
    windows = ner_context.training_windows(sentences, pieces, budget=40)
    assert sum(w.num_sentences for w in windows) == len(sentences)
    assert all(len(w.input_ids) <= 40 or w.num_sentences == 1 for w in windows)
    labelled = [label for w in windows for label in w.labels if label != IGNORE]
    assert labelled == [label for p in pieces for label in p.labels if label != IGNORE]
    first_document = sum(len(p.input_ids) - 2 for p in pieces[:3])
    assert all(len(w.input_ids) - 2 <= max(first_document, 38) for w in windows)
    assert ner_context.training_examples(tokenizer, sentences, 0) == pieces


def test_a_batch_of_windows_carries_as_many_sentences_as_a_batch_of_sentences(tokenizer):
    sentences = read_conll(SAMPLE)
    pieces = ner_data.encode_sentences(tokenizer, sentences)
    windows = ner_context.training_windows(sentences, pieces, budget=512)
    assert [w.num_sentences for w in windows] == [3, 3]
    assert ner_training.examples_per_batch(windows, 6) == 2
    assert ner_training.examples_per_batch(windows, 3) == 1
    assert ner_training.examples_per_batch(windows, 1) == 1  # never an empty batch
    assert ner_training.examples_per_batch(pieces, 4) == 4


def test_prediction_windows_centre_each_sentence_and_stay_in_its_document(tokenizer):
    sentences = read_conll(SAMPLE)
    pieces = ner_data.encode_sentences(tokenizer, sentences)
    windows = ner_context.prediction_windows(sentences, pieces, budget=512)
    for index, (window, piece) in enumerate(zip(windows, pieces)):
        assert window.num_sentences == 1 and window.num_words == len(sentences[index])
        labelled = [label for label in window.labels if label != IGNORE]
        assert labelled == [label for label in piece.labels if label != IGNORE]
        document = [pieces[i] for i in documents(sentences)[sentences[index].document]]
        assert len(window.input_ids) == 2 + sum(len(p.input_ids) - 2 for p in document)


def test_subset_takes_whole_documents():
    sentences = [Sentence(["w"], ["O"], document) for document in range(10) for _ in range(document + 1)]
    chosen = ner_data.subset(sentences, 12, seed=3)
    assert len(chosen) >= 12
    counts = {}
    for sentence in chosen:
        counts[sentence.document] = counts.get(sentence.document, 0) + 1
    assert all(count == document + 1 for document, count in counts.items())
    assert chosen == sorted(chosen, key=lambda s: s.document)
    assert ner_data.subset(sentences, 12, seed=3) == chosen
    assert ner_data.subset(sentences, None, seed=3) is sentences


def test_split_sentences_at_line_breaks_and_full_stops():
    text = "Harlow beat Dunmore.\nBerg scored 11 points. The U.S. team lost 3-1 in 2026. Mr. Okafor said so"
    split = ner_prediction.split_sentences(text)
    assert [[word for word, _, _ in words] for words in split] == [
        ["Harlow", "beat", "Dunmore", "."], ["Berg", "scored", "11", "points", "."],
        ["The", "U.S.", "team", "lost", "3-1", "in", "2026", "."], ["Mr", "."], ["Okafor", "said", "so"]]
    assert all(text[start:end] == word for words in split for word, start, end in words)


def _tiny_model(context: int) -> TokenClassifier:
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64)
    return TokenClassifier(BertEncoder(config), context=context).eval()


def test_the_tagger_reads_each_sentence_in_its_window(tokenizer):
    """A sentence's tags depend on its neighbours with context, and on nothing else without it."""
    sentence = ["Harlow", "won", "."]
    alone = ner_prediction.predict_tags(_tiny_model(0), tokenizer, [Sentence(sentence, ["O"] * 3)])
    model = _tiny_model(128)
    for neighbour in (["Berg", "scored", "for", "Harlow", "."], ["Rain", "fell", "in", "Bristol", "."]):
        document = [Sentence(neighbour, ["O"] * 5), Sentence(sentence, ["O"] * 3)]
        assert ner_prediction.predict_tags(_tiny_model(0), tokenizer, document)[1] == alone[0]
    with torch.no_grad():
        logits = []
        for neighbour in (["Berg", "scored", "for", "Harlow", "."], ["Rain", "fell", "in", "Bristol", "."]):
            document = [Sentence(neighbour, ["O"] * 5), Sentence(sentence, ["O"] * 3)]
            window = ner_context.prediction_examples(tokenizer, document, model.context)[1]
            batch = ner_data.collate([window])
            logits.append(model(batch["input_ids"], batch["attention_mask"], batch["casing_ids"])[0, -2])
    assert not torch.allclose(logits[0], logits[1])  # the same word, read beside different neighbours


def test_tag_text_tags_every_sentence_of_a_document(tokenizer, monkeypatch):
    text = "Harlow beat Dunmore.\nBerg scored."
    calls = []

    def fake_predict(model, tokenizer, sentences):
        calls.append([(s.words, s.document) for s in sentences])
        return [["B-ORG", "O", "B-ORG", "O"], ["B-PER", "O", "O"]]

    monkeypatch.setattr(ner_prediction, "predict_tags", fake_predict)
    entities = ner_prediction.tag_text(_tiny_model(128), tokenizer, text)
    assert calls == [[(["Harlow", "beat", "Dunmore", "."], 0), (["Berg", "scored", "."], 0)]]
    assert [(e.type, e.text, e.start, e.end) for e in entities] == [
        ("ORG", "Harlow", 0, 6), ("ORG", "Dunmore", 12, 19), ("PER", "Berg", 21, 25)]
