"""attn.ner*: alignment, casing classes, span F1 against seqeval, the fine-tuning step, a training smoke test and the CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import asdict, replace
from pathlib import Path

import pytest
import torch

from attn import (ner, ner_comparison, ner_context, ner_data, ner_evaluation, ner_model, ner_prediction, ner_results,
                  ner_training)
from attn.bench import RESULTS_DIR
from attn.bert import BertConfig, BertEncoder, load_tokenizer
from attn.conll import ENV_VAR, LABELS, read_conll

SAMPLE = Path(__file__).parent / "data" / "conll_sample.txt"


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer()


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory, tokenizer) -> Path:
    """A model fine-tuned for 2 steps on the sample, saved like the CLI does."""
    sentences = read_conll(SAMPLE)
    config = ner_training.TrainConfig(epochs=1, batch_size=3, lr=1e-4, seed=0)
    model = ner_training.new_model(config)
    history = ner_training.train(model, ner_data.encode_sentences(tokenizer, sentences), config, progress=False, log_every=1)
    assert history["loss_step"] == [1, 2]
    assert all(torch.isfinite(torch.tensor(history["loss"])))
    directory = tmp_path_factory.mktemp("ner_model")
    ner_model.save_model(model, tokenizer, directory, overwrite=True)
    return directory


@pytest.mark.parametrize("word, shape", [
    ("visited", "lower"), ("Paris", "initial"), ("A", "initial"), ("EU", "upper"), ("U.S.", "upper"),
    ("McDonald", "mixed"), ("iPhone", "mixed"), ("1996-08-22", "numeric"), ("3.5", "numeric"),
    (".", "other"), ("--", "other"), ("1st", "lower"), ("Zürich", "initial"),
])
def test_casing_classes(word, shape):
    assert ner_data.CASING_CLASSES[ner_data.casing_class(word)] == shape


def test_first_subtoken_carries_the_label(tokenizer):
    encoded = ner_data.encode_words(tokenizer, ["Angela", "Merkel", "visited", "1996-08-22"],
                               ["B-PER", "I-PER", "O", "O"])
    tokens = [tokenizer.id_to_token(i) for i in encoded.input_ids]
    assert tokens == ["[CLS]", "angela", "mer", "##kel", "visited", "1996", "-", "08", "-", "22", "[SEP]"]
    ids = {label: index for index, label in enumerate(LABELS)}
    assert encoded.labels == [-100, ids["B-PER"], ids["I-PER"], -100, 0, 0, -100, -100, -100, -100, -100]
    assert encoded.casing == [0, 2, 2, 2, 1, 5, 5, 5, 5, 5, 0]


def test_alignment_of_word_ids():
    assert ner_data.first_subtoken_labels([None, 0, 0, 1, 2, 2, 2, None], [3, 4, 0]) == [-100, 3, -100, 4, 0, -100,
                                                                                   -100, -100]
    assert ner_data.first_subtoken_labels([None, None], []) == [-100, -100]


def test_length_grouped_batches_cover_every_index_once():
    lengths = [5, 30, 7, 12, 30, 3, 9, 22, 14, 8]
    for rng in (None, __import__("numpy").random.default_rng(0)):
        batches = ner_data.length_grouped_batches(lengths, 3, rng, group=2)
        assert sorted(i for batch in batches for i in batch) == list(range(10))
    evaluation = ner_data.length_grouped_batches(lengths, 4)  # longest first
    assert [[lengths[i] for i in batch] for batch in evaluation] == [[30, 30, 22, 14], [12, 9, 8, 7], [5, 3]]


def test_the_scores_do_not_depend_on_which_sentences_share_a_batch(tiny_model_dir, tokenizer):
    model, _ = ner_model.load_model(tiny_model_dir)
    sentences = read_conll(SAMPLE)
    windows = ner_context.prediction_examples(tokenizer, sentences, model.context)
    assert len({len(window.input_ids) for window in windows}) > 1  # so larger batches pad some windows
    alone = ner_prediction.word_log_probs(model, tokenizer, sentences, batch_size=1)  # no padding at all
    for batch_size in (2, 3, 32):
        batched = ner_prediction.word_log_probs(model, tokenizer, sentences, batch_size=batch_size)
        for one, other in zip(alone, batched, strict=True):
            torch.testing.assert_close(one, other, atol=1e-5, rtol=1e-5)


def test_collate_pads_dynamically(tokenizer):
    examples = [ner_data.encode_words(tokenizer, ["Oslo"], ["B-LOC"]), ner_data.encode_words(tokenizer, ["a", "b", "c"])]
    batch = ner_data.collate(examples)
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

    ours = ner_evaluation.span_scores(true, pred)
    assert ours["precision"] == pytest.approx(precision_score(true, pred, zero_division=0), abs=1e-12)
    assert ours["recall"] == pytest.approx(recall_score(true, pred, zero_division=0), abs=1e-12)
    assert ours["f1"] == pytest.approx(f1_score(true, pred, zero_division=0), abs=1e-12)


def test_evaluate_reports_token_accuracy_and_types():
    true = [["B-PER", "I-PER", "O", "O", "B-LOC"]]
    pred = [["B-PER", "O", "O", "O", "B-LOC"]]
    scores = ner_evaluation.evaluate(true, pred)
    assert scores["f1"] == pytest.approx(0.5)
    assert scores["token_accuracy"] == pytest.approx(0.8)
    assert scores["all_o_token_accuracy"] == pytest.approx(0.4)
    assert scores["per_type"]["LOC"]["f1"] == 1.0 and scores["per_type"]["PER"]["f1"] == 0.0
    confusion = ner_evaluation.type_confusion(true, pred)
    assert confusion.sum() == 5 and confusion[0, 4] == 1  # a PER word predicted O


def test_span_errors_name_missed_and_spurious_spans():
    sentence = read_conll(SAMPLE)[0]
    pred = ["B-PER", "O", "O", "O", "B-PER", "I-PER", "O", "B-ORG", "O"]
    errors = ner_evaluation.span_errors([sentence], [pred])
    assert {"sentence": 0, "span": "Ada Lovelace", "gold": "PER", "predicted": "PER 'Ada'"} in errors
    assert {"sentence": 0, "span": "London", "gold": "LOC", "predicted": "ORG 'London'"} in errors


def test_warmup_then_linear_decay():
    factors = [ner_training.warmup_linear(step, 10, 2) for step in range(10)]
    assert factors[:2] == [0.5, 1.0] and factors[-1] == pytest.approx(0.125)
    assert all(a >= b for a, b in zip(factors[1:], factors[2:]))


def tiny_tagger(seed: int = 0) -> ner_model.TokenClassifier:
    """A 1-layer, 8-wide token classifier in float64 without dropout: deterministic steps."""
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=30522, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=16, max_position_embeddings=64, hidden_dropout_prob=0.0)
    return ner_model.TokenClassifier(BertEncoder(config), num_labels=len(LABELS), dropout=0.0).double().train()


TINY_BATCH = {
    "input_ids": torch.tensor([[2, 5, 7, 9, 3], [2, 11, 3, 0, 0]]),
    "attention_mask": torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]),
    "casing_ids": torch.tensor([[0, 1, 2, 1, 0], [0, 3, 0, 0, 0]]),
    "labels": torch.tensor([[-100, 1, 2, -100, -100], [-100, 0, -100, -100, -100]]),
}


def test_training_step_returns_the_loss_of_the_labelled_positions_only():
    model = tiny_tagger()
    with torch.no_grad():
        log_probs = torch.log_softmax(model(TINY_BATCH["input_ids"], TINY_BATCH["attention_mask"],
                                            TINY_BATCH["casing_ids"]), dim=-1)  # (2, 5, 9)
    expected = -(log_probs[0, 1, 1] + log_probs[0, 2, 2] + log_probs[1, 1, 0]) / 3
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    loss = ner_training.training_step(model, TINY_BATCH, optimizer, scheduler, clip_norm=1.0)
    assert isinstance(loss, float) and loss == pytest.approx(expected.item(), rel=1e-12)


def test_training_step_clips_the_gradient_before_the_update_and_steps_the_scheduler():
    model = tiny_tagger()
    before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 / (step + 1))
    ner_training.training_step(model, TINY_BATCH, optimizer, scheduler, clip_norm=1e-3)
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    # SGD moves by lr times the clipped gradient, whose norm is clip_norm
    assert (after - before).norm().item() == pytest.approx(0.5 * 1e-3, rel=1e-6)
    assert scheduler.last_epoch == 1 and optimizer.param_groups[0]["lr"] == pytest.approx(0.25)


def test_training_step_does_not_accumulate_gradients():
    stepped, by_hand = tiny_tagger(), tiny_tagger()
    optimizer = torch.optim.SGD(stepped.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    for _ in range(3):
        ner_training.training_step(stepped, TINY_BATCH, optimizer, scheduler, clip_norm=100.0)
    for _ in range(3):
        logits = by_hand(TINY_BATCH["input_ids"], TINY_BATCH["attention_mask"], TINY_BATCH["casing_ids"])
        loss = ner_training.tagging_loss(logits, TINY_BATCH["labels"])
        gradients = torch.autograd.grad(loss, list(by_hand.parameters()), allow_unused=True)
        with torch.no_grad():
            for parameter, gradient in zip(by_hand.parameters(), gradients):
                if gradient is not None:
                    parameter -= 0.1 * gradient
    for mine, theirs in zip(stepped.parameters(), by_hand.parameters()):
        torch.testing.assert_close(mine, theirs, rtol=1e-10, atol=1e-12)


def test_train_uses_the_step_function_it_is_given(tokenizer):
    calls = []

    def counting_step(model, batch, optimizer, scheduler, clip_norm):
        calls.append(tuple(batch["input_ids"].shape))
        return ner_training.training_step(model, batch, optimizer, scheduler, clip_norm)

    config = ner_training.TrainConfig(epochs=1, batch_size=4, seed=0)
    examples = ner_data.encode_sentences(tokenizer, read_conll(SAMPLE))
    history = ner_training.train(tiny_tagger(), examples, config, progress=False, log_every=1,
                                 step_function=counting_step)
    assert len(calls) == len(history["loss"]) == -(-len(examples) // 4)


@pytest.fixture
def tiny_comparison(monkeypatch) -> tuple[dict, list[int], ner_training.TrainConfig]:
    """The sample as train, valid and test; tiny models in place of MiniLM, their seeds listed as built; a setting."""
    sentences = read_conll(SAMPLE)
    splits = {"train": sentences, "valid": sentences[:3], "test": sentences[3:]}
    built: list[int] = []
    monkeypatch.setattr(ner_results, "new_model", lambda config: built.append(config.seed) or tiny_tagger(config.seed))
    return splits, built, ner_training.TrainConfig(epochs=1, batch_size=4)


def test_compare_settings_records_every_setting_and_seed(tmp_path, tiny_comparison):
    splits, built, base = tiny_comparison
    groups = [({"plain": base, "no casing": replace(base, casing=False)}, [0, 1], 1), ({"pair": base}, [0], 2)]
    record = ner_comparison.compare_settings(splits, groups, threads=1, path=tmp_path / "settings.json")
    assert json.loads((tmp_path / "settings.json").read_text()) == record
    assert [(e["name"], e["seeds"], e["settings"]["casing"], e.get("members", 1)) for e in record["experiments"]] == [
        ("plain", [0, 1], True, 1), ("no casing", [0, 1], False, 1), ("pair", [0], True, 2)]
    assert built == [0, 1, 0, 1, 0, ner_results.member_seed(0, 1)]  # the pair's members: seeds 0 and 100
    for experiment in record["experiments"]:
        assert [run["seed"] for run in experiment["runs"]] == experiment["seeds"]
        assert all(0.0 <= run[f"{split}{kind}_f1"] <= 1.0 for run in experiment["runs"]
                   for split in ("valid", "test") for kind in ("", "_argmax"))


def test_compare_resumes_only_what_was_run_the_same_way(tiny_comparison):
    splits, built, base = tiny_comparison
    first = ner_comparison.compare_settings(splits, [({"plain": base}, [0, 1], 1)], threads=1)
    built.clear()
    groups = [({"plain": base, "changed": replace(base, lr=1e-3)}, [0, 1], 1)]
    resumed = ner_comparison.compare_settings(splits, groups, threads=1, previous=first)
    assert resumed["experiments"][0] == first["experiments"][0] and built == [0, 1]  # only "changed" ran
    built.clear()
    other_seeds = ner_comparison.compare_settings(splits, [({"plain": base}, [0, 2], 1)], threads=1, previous=first)
    assert built == [0, 2] and [run["seed"] for run in other_seeds["experiments"][0]["runs"]] == [0, 2]
    built.clear()
    ner_comparison.compare_settings(splits, [({"plain": base}, [0, 1], 2)], threads=1, previous=first)
    assert len(built) == 4  # an ensemble is another experiment
    built.clear()
    ner_comparison.compare_settings(splits, [({"plain": base}, [0, 1], 1)], threads=1,
                                    previous={**first, "threads": 7})
    assert built == [0, 1]  # made with other threads: run again


def test_compare_resume_from_a_broken_record_says_what_to_do(tmp_path, capsys):
    (tmp_path / ner_comparison.SETTINGS_FILE).write_text("{not json")
    assert ner.main(["compare", "--resume", "--results-dir", str(tmp_path), "--data", str(tmp_path)]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "--overwrite" in error


def test_the_committed_comparison_is_what_the_compare_command_runs():
    record = json.loads((RESULTS_DIR / ner_comparison.SETTINGS_FILE).read_text())
    expected = [(name, asdict_of(config), seeds, members)
                for settings, seeds, members in ner_comparison.compared_settings() for name, config in settings.items()]
    assert [(e["name"], e["settings"], e["seeds"], e.get("members", 1)) for e in record["experiments"]] == expected
    assert all([run["seed"] for run in e["runs"]] == e["seeds"] for e in record["experiments"])


def test_the_committed_full_run_is_the_full_recipe_chosen_on_the_validation_set():
    run = json.loads((RESULTS_DIR / "ner_full_run.json").read_text())
    report = json.loads((RESULTS_DIR / "ner_full_report.json").read_text())
    full = ner_training.FULL
    assert report["config"] == asdict(full)
    assert (run["epochs"], run["context"], run["casing_features"]) == (full.epochs, full.context, full.casing)
    members = run["members"]
    seeds = [ner_results.member_seed(full.seed, k) for k in range(ner_training.FULL_MEMBERS)]
    assert [m["seed"] for m in members] == seeds
    for member, history in zip(members, report["histories"], strict=True):
        curve = member["valid_f1_per_epoch"]
        assert len(curve) == full.epochs and member["chosen_epoch"] == 1 + curve.index(max(curve))
        assert member["valid_f1"] == pytest.approx(max(curve)) and history["chosen_epoch"] == member["chosen_epoch"]
    assert run["train_seconds"] == pytest.approx(sum(m["train_seconds"] for m in members), abs=0.2)
    assert run["train_seconds"] <= 45 * 60 and run["peak_rss_mb"] < 4096 and run["threads"] == 2
    assert run["torch"] == torch.__version__.split("+")[0] or run["torch"] == torch.__version__


def asdict_of(config: ner_training.TrainConfig) -> dict:
    return {key: value for key, value in asdict(config).items() if key != "seed"}


def test_python_m_attn_ner_runs_the_command_line():
    done = subprocess.run([sys.executable, "-m", "attn.ner", "--help"], capture_output=True, text=True, check=True)
    assert "train" in done.stdout and "compare" in done.stdout and "tag" in done.stdout


def test_split_words_keeps_character_offsets():
    text = "Angela Merkel visited the U.S. on 1996-08-22."
    words = ner_prediction.split_words(text)
    assert [w for w, _, _ in words] == ["Angela", "Merkel", "visited", "the", "U.S.", "on", "1996-08-22", "."]
    assert all(text[start:end] == word for word, start, end in words)


def test_saved_model_loads_and_predicts_the_same(tiny_model_dir, tokenizer):
    model, loaded_tokenizer = ner_model.load_model(tiny_model_dir)
    assert model.casing is not None and not model.training
    sentences = read_conll(SAMPLE)
    tags = ner_prediction.predict_tags(model, loaded_tokenizer, sentences)
    assert [len(t) for t in tags] == [len(s) for s in sentences]
    assert all(tag in LABELS for t in tags for tag in t)


def test_an_ensemble_reads_the_mean_probability_of_its_members(tokenizer):
    members = [tiny_tagger(seed).eval() for seed in (0, 1)]
    ensemble = ner_model.Ensemble(members)
    logits = ensemble(TINY_BATCH["input_ids"], TINY_BATCH["attention_mask"], TINY_BATCH["casing_ids"])
    probabilities = [m(TINY_BATCH["input_ids"], TINY_BATCH["attention_mask"], TINY_BATCH["casing_ids"]).softmax(-1)
                     for m in members]
    torch.testing.assert_close(logits.exp(), (probabilities[0] + probabilities[1]) / 2)
    torch.testing.assert_close(logits.log_softmax(-1), logits)  # already log-probabilities
    sentences = read_conll(SAMPLE)
    per_member = [ner_prediction.word_log_probs(m, tokenizer, sentences) for m in members]
    together = ner_prediction.word_log_probs(ensemble, tokenizer, sentences)
    for mine, combined in zip(together, ner_prediction.ensemble_log_probs(per_member), strict=True):
        torch.testing.assert_close(mine, combined.to(mine.dtype))


def test_an_ensemble_needs_members_of_one_context():
    with pytest.raises(ValueError, match="same context"):
        ner_model.Ensemble([tiny_tagger(0), ner_model.TokenClassifier(tiny_tagger(1).encoder, context=64)])
    with pytest.raises(ValueError, match="at least one"):
        ner_model.Ensemble([])


def test_a_saved_ensemble_loads_and_tags_the_same(tokenizer, tmp_path):
    ensemble = ner_model.Ensemble([tiny_tagger(seed).float().eval() for seed in (0, 1)])
    ner_model.save_model(ensemble, tokenizer, tmp_path / "pair")
    assert json.loads((tmp_path / "pair" / "config.json").read_text())["members"] == 2
    loaded, loaded_tokenizer = ner_model.load_model(tmp_path / "pair")
    assert isinstance(loaded, ner_model.Ensemble) and len(loaded.members) == 2 and not loaded.training
    sentences = read_conll(SAMPLE)
    for before, after in zip(ner_prediction.word_log_probs(ensemble, tokenizer, sentences),
                             ner_prediction.word_log_probs(loaded, loaded_tokenizer, sentences), strict=True):
        torch.testing.assert_close(before, after)


def test_tag_command_prints_entities_with_offsets(tiny_model_dir, capsys, monkeypatch):
    fixed = [["B-PER", "I-PER", "O", "B-LOC", "O", "O", "O"]]
    monkeypatch.setattr(ner_prediction, "predict_tags", lambda *args, **kwargs: fixed)
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
    model, tokenizer = ner_model.load_model(tiny_model_dir)
    text = "Angela Merkel visited Paris on Monday."
    fixed = [["B-PER", "I-PER", "O", "B-LOC", "O", "O", "O"]]
    monkeypatch.setattr(ner_prediction, "predict_tags", lambda *args, **kwargs: fixed)
    entities = ner_prediction.tag_text(model, tokenizer, text)
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


def test_train_refuses_no_members(tmp_path, capsys):
    assert ner.main(["train", "--members", "0", "--data", str(tmp_path), "--model-dir", str(tmp_path / "m")]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "--members 0" in error and "1 or more" in error


def test_train_command_end_to_end_on_the_sample(tmp_path, capsys):
    for name in ("train.txt", "valid.txt", "test.txt"):
        shutil.copy(SAMPLE, tmp_path / name)
    assert ner.main(["train", "--data", str(tmp_path), "--sentences", "6", "--model-dir", str(tmp_path / "m"),
                     "--threads", str(torch.get_num_threads())]) == 0
    out = capsys.readouterr().out
    assert "test: entity precision" in out and (tmp_path / "m" / "model.safetensors").exists()


def test_full_training_of_an_ensemble_end_to_end_on_the_sample(tmp_path, capsys):
    for name in ("train.txt", "valid.txt", "test.txt"):
        shutil.copy(SAMPLE, tmp_path / name)
    assert ner.main(["train", "--full", "--epochs", "2", "--members", "2", "--data", str(tmp_path), "--model-dir",
                     str(tmp_path / "m"), "--results-dir", str(tmp_path / "r"),
                     "--threads", str(torch.get_num_threads())]) == 0
    assert "the model of seed 100 alone: valid F1" in capsys.readouterr().out
    run = json.loads((tmp_path / "r" / "ner_full_run.json").read_text())
    assert [m["seed"] for m in run["members"]] == [0, 100]
    assert all(len(m["valid_f1_per_epoch"]) == 2 and 0 <= m["test_f1"] <= 1 for m in run["members"])
    assert len(json.loads((tmp_path / "r" / "ner_full_report.json").read_text())["histories"]) == 2
    model, _ = ner_model.load_model(tmp_path / "m")
    assert isinstance(model, ner_model.Ensemble) and len(model.members) == 2
    assert ner.main(["tag", "Angela Merkel visited Paris.", "--model-dir", str(tmp_path / "m")]) == 0


def test_tag_reads_a_whole_document_from_a_file(tiny_model_dir, tmp_path, capsys, monkeypatch):
    document = tmp_path / "report.txt"
    document.write_text("Harlow beat Dunmore.\nBerg scored.\n", encoding="utf-8")
    seen = []

    def fake_predict(model, tokenizer, sentences):
        seen.append(len(sentences))
        return [["B-ORG", "O", "B-ORG", "O"], ["B-PER", "O", "O"]]

    monkeypatch.setattr(ner_prediction, "predict_tags", fake_predict)
    assert ner.main(["tag", "--file", str(document), "--model-dir", str(tiny_model_dir)]) == 0
    assert seen == [2]
    assert capsys.readouterr().out.splitlines() == ["ORG      0    6  Harlow", "ORG     12   19  Dunmore",
                                                    "PER     21   25  Berg"]


@pytest.mark.parametrize("case", ["empty text", "blank text", "binary file", "latin-1 file", "missing file",
                                  "a folder", "missing model dir", "model dir without config"])
def test_bad_input_to_the_tagger_gets_one_line_that_says_what_to_do(case, tiny_model_dir, tmp_path, capsys):
    model_dir = str(tiny_model_dir)
    arguments = {"empty text": [""], "blank text": ["  \n\t"], "missing file": ["--file", str(tmp_path / "no.txt")],
                 "a folder": ["--file", str(tmp_path)]}.get(case, ["Paris"])
    if case == "binary file":
        (tmp_path / "model.bin").write_bytes(bytes(range(256)))
        arguments = ["--file", str(tmp_path / "model.bin")]
    if case == "latin-1 file":
        (tmp_path / "old.txt").write_bytes("Zürich".encode("latin-1"))
        arguments = ["--file", str(tmp_path / "old.txt")]
    if case == "missing model dir":
        model_dir = str(tmp_path / "nowhere")
    if case == "model dir without config":
        broken = tmp_path / "broken"
        shutil.copytree(tiny_model_dir, broken)
        (broken / "config.json").unlink()
        model_dir = str(broken)
    assert ner.main(["tag", *arguments, "--model-dir", model_dir]) == 2
    captured = capsys.readouterr()
    error = captured.err.strip()
    assert captured.out == "" and error.startswith("error: ") and "\n" not in error and len(error) < 300
    expected = {"empty text": "empty", "blank text": "empty", "binary file": "not a UTF-8 text file",
                "latin-1 file": "not a UTF-8 text file", "missing file": "no file", "a folder": "no file",
                "missing model dir": "no model directory", "model dir without config": "config.json"}[case]
    assert expected in error
