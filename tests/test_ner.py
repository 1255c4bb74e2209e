"""attn.ner: alignment, casing classes, span F1 against seqeval, a training smoke test and the CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from attn import ner
from attn.bert import load_tokenizer
from attn.conll import ENV_VAR, LABELS, read_conll

SAMPLE = Path(__file__).parent / "data" / "conll_sample.txt"


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer()


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory, tokenizer) -> Path:
    """A model fine-tuned for 2 steps on the sample, saved like the CLI does."""
    sentences = read_conll(SAMPLE)
    config = ner.TrainConfig(epochs=1, batch_size=3, lr=1e-4, seed=0)
    model = ner.new_model(config)
    history = ner.train(model, ner.encode_sentences(tokenizer, sentences), config, progress=False, log_every=1)
    assert history["loss_step"] == [1, 2]
    assert all(torch.isfinite(torch.tensor(history["loss"])))
    directory = tmp_path_factory.mktemp("ner_model")
    ner.save_model(model, tokenizer, directory, overwrite=True)
    return directory


@pytest.mark.parametrize("word, shape", [
    ("visited", "lower"), ("Paris", "initial"), ("A", "initial"), ("EU", "upper"), ("U.S.", "upper"),
    ("McDonald", "mixed"), ("iPhone", "mixed"), ("1996-08-22", "numeric"), ("3.5", "numeric"),
    (".", "other"), ("--", "other"), ("1st", "lower"), ("Zürich", "initial"),
])
def test_casing_classes(word, shape):
    assert ner.CASING_CLASSES[ner.casing_class(word)] == shape


def test_first_subtoken_carries_the_label(tokenizer):
    encoded = ner.encode_words(tokenizer, ["Angela", "Merkel", "visited", "1996-08-22"],
                               ["B-PER", "I-PER", "O", "O"])
    tokens = [tokenizer.id_to_token(i) for i in encoded.input_ids]
    assert tokens == ["[CLS]", "angela", "mer", "##kel", "visited", "1996", "-", "08", "-", "22", "[SEP]"]
    ids = {label: index for index, label in enumerate(LABELS)}
    assert encoded.labels == [-100, ids["B-PER"], ids["I-PER"], -100, 0, 0, -100, -100, -100, -100, -100]
    assert encoded.casing == [0, 2, 2, 2, 1, 5, 5, 5, 5, 5, 0]


def test_alignment_of_word_ids():
    assert ner.first_subtoken_labels([None, 0, 0, 1, 2, 2, 2, None], [3, 4, 0]) == [-100, 3, -100, 4, 0, -100,
                                                                                   -100, -100]
    assert ner.first_subtoken_labels([None, None], []) == [-100, -100]


def test_length_grouped_batches_cover_every_index_once():
    lengths = [5, 30, 7, 12, 30, 3, 9, 22, 14, 8]
    for rng in (None, __import__("numpy").random.default_rng(0)):
        batches = ner.length_grouped_batches(lengths, 3, rng, group=2)
        assert sorted(i for batch in batches for i in batch) == list(range(10))
    evaluation = ner.length_grouped_batches(lengths, 4)
    assert [lengths[i] for i in evaluation[0]] == [3, 5, 7, 8]


def test_collate_pads_dynamically(tokenizer):
    examples = [ner.encode_words(tokenizer, ["Oslo"], ["B-LOC"]), ner.encode_words(tokenizer, ["a", "b", "c"])]
    batch = ner.collate(examples)
    assert batch["input_ids"].shape == (2, 5)
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]
    assert batch["labels"][0].tolist() == [-100, LABELS.index("B-LOC"), -100, -100, -100]


TRICKY = [
    # (gold, predicted): I- after O, a type change inside a span, adjacent B-s, entities at the very end
    ([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "I-PER", "O", "B-LOC"]]),
    ([["O", "I-PER", "I-PER", "O"]], [["O", "B-PER", "I-PER", "O"]]),
    ([["B-ORG", "I-ORG", "I-LOC", "O"]], [["B-ORG", "I-ORG", "B-LOC", "O"]]),
    ([["B-PER", "B-PER", "I-PER"]], [["B-PER", "I-PER", "I-PER"]]),
    ([["B-MISC", "I-MISC"], ["O", "B-LOC"]], [["B-MISC", "O"], ["B-LOC", "I-LOC"]]),
    ([["O", "O"], ["B-ORG"]], [["O", "O"], ["O"]]),
    ([["O", "O"]], [["B-PER", "O"]]),
    ([["I-LOC", "B-LOC", "I-ORG", "I-ORG"]], [["B-LOC", "I-LOC", "B-ORG", "I-ORG"]]),
]


@pytest.mark.parametrize("true, pred", TRICKY)
def test_span_scores_equal_seqeval(true, pred):
    from seqeval.metrics import f1_score, precision_score, recall_score

    ours = ner.span_scores(true, pred)
    assert ours["precision"] == pytest.approx(precision_score(true, pred, zero_division=0), abs=1e-12)
    assert ours["recall"] == pytest.approx(recall_score(true, pred, zero_division=0), abs=1e-12)
    assert ours["f1"] == pytest.approx(f1_score(true, pred, zero_division=0), abs=1e-12)


def test_evaluate_reports_token_accuracy_and_types():
    true = [["B-PER", "I-PER", "O", "O", "B-LOC"]]
    pred = [["B-PER", "O", "O", "O", "B-LOC"]]
    scores = ner.evaluate(true, pred)
    assert scores["f1"] == pytest.approx(0.5)
    assert scores["token_accuracy"] == pytest.approx(0.8)
    assert scores["all_o_token_accuracy"] == pytest.approx(0.4)
    assert scores["per_type"]["LOC"]["f1"] == 1.0 and scores["per_type"]["PER"]["f1"] == 0.0
    confusion = ner.type_confusion(true, pred)
    assert confusion.sum() == 5 and confusion[0, 4] == 1  # a PER word predicted O


def test_span_errors_name_missed_and_spurious_spans():
    sentence = read_conll(SAMPLE)[0]
    pred = ["B-PER", "O", "O", "O", "B-PER", "I-PER", "O", "B-ORG", "O"]
    errors = ner.span_errors([sentence], [pred])
    assert {"sentence": 0, "span": "Ada Lovelace", "gold": "PER", "predicted": "PER 'Ada'"} in errors
    assert {"sentence": 0, "span": "London", "gold": "LOC", "predicted": "ORG 'London'"} in errors


def test_warmup_then_linear_decay():
    factors = [ner.warmup_linear(step, 10, 2) for step in range(10)]
    assert factors[:2] == [0.5, 1.0] and factors[-1] == pytest.approx(0.125)
    assert all(a >= b for a, b in zip(factors[1:], factors[2:]))


def test_split_words_keeps_character_offsets():
    text = "Angela Merkel visited the U.S. on 1996-08-22."
    words = ner.split_words(text)
    assert [w for w, _, _ in words] == ["Angela", "Merkel", "visited", "the", "U.S.", "on", "1996-08-22", "."]
    assert all(text[start:end] == word for word, start, end in words)


def test_saved_model_loads_and_predicts_the_same(tiny_model_dir, tokenizer):
    model, loaded_tokenizer = ner.load_model(tiny_model_dir)
    assert model.casing is not None and not model.training
    sentences = read_conll(SAMPLE)
    tags = ner.predict_tags(model, loaded_tokenizer, sentences)
    assert [len(t) for t in tags] == [len(s) for s in sentences]
    assert all(tag in LABELS for t in tags for tag in t)


def test_tag_command_prints_entities_with_offsets(tiny_model_dir, capsys, monkeypatch):
    fixed = [["B-PER", "I-PER", "O", "B-LOC", "O", "O", "O"]]
    monkeypatch.setattr(ner, "predict_tags", lambda *args, **kwargs: fixed)
    assert ner.main(["tag", "Angela Merkel visited Paris on Monday.", "--model-dir", str(tiny_model_dir)]) == 0
    assert capsys.readouterr().out.splitlines() == ["PER      0   13  Angela Merkel", "LOC     22   27  Paris"]


def test_tag_command_on_the_saved_tiny_model(tiny_model_dir, capsys):
    assert ner.main(["tag", "Angela Merkel visited Paris on Monday.", "--model-dir", str(tiny_model_dir)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    text = "Angela Merkel visited Paris on Monday."
    assert lines and (lines == ["no entities found"] or "no entities found" not in lines)
    for line in lines:
        if line != "no entities found":
            kind, start, end, surface = line.split(maxsplit=3)
            assert kind in ("PER", "ORG", "LOC", "MISC") and text[int(start):int(end)] == surface


def test_tag_text_reports_character_offsets(tiny_model_dir, monkeypatch):
    model, tokenizer = ner.load_model(tiny_model_dir)
    text = "Angela Merkel visited Paris on Monday."
    fixed = [["B-PER", "I-PER", "O", "B-LOC", "O", "O", "O"]]
    monkeypatch.setattr(ner, "predict_tags", lambda *args, **kwargs: fixed)
    entities = ner.tag_text(model, tokenizer, text)
    assert [(e.type, e.start, e.end, e.text) for e in entities] == [("PER", 0, 13, "Angela Merkel"),
                                                                    ("LOC", 22, 27, "Paris")]


def test_tag_without_a_model_says_how_to_make_one(tmp_path, capsys):
    assert ner.main(["tag", "Paris", "--model-dir", str(tmp_path / "none")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "python -m attn.ner train" in error


def test_train_without_data_says_how_to_get_it(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert ner.main(["train", "--quick", "--model-dir", str(tmp_path / "model")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and ENV_VAR in error


def test_train_refuses_to_overwrite_a_model_or_results(tiny_model_dir, tmp_path, capsys):
    for name in ("train.txt", "valid.txt", "test.txt"):
        shutil.copy(SAMPLE, tmp_path / name)
    assert ner.main(["train", "--data", str(tmp_path), "--model-dir", str(tiny_model_dir)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    (tmp_path / "ner_full_run.json").write_text("{}")
    assert ner.main(["train", "--full", "--data", str(tmp_path), "--model-dir", str(tmp_path / "new"),
                     "--results-dir", str(tmp_path)]) == 2
    assert "ner_full_run.json exists" in capsys.readouterr().err


def test_train_command_end_to_end_on_the_sample(tmp_path, capsys):
    for name in ("train.txt", "valid.txt", "test.txt"):
        shutil.copy(SAMPLE, tmp_path / name)
    assert ner.main(["train", "--data", str(tmp_path), "--sentences", "6", "--model-dir", str(tmp_path / "m"),
                     "--threads", str(torch.get_num_threads())]) == 0
    out = capsys.readouterr().out
    assert "test: entity precision" in out and (tmp_path / "m" / "model.safetensors").exists()
