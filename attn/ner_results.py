"""Fine-tuning runs whose numbers the course keeps: ``run_training`` (``python -m attn.ner train``).

It fine-tunes one model, or several from different seeds and their ensemble, evaluates and
saves it, and for the full run writes ``book/results/ner_full_*``, which chapter 9 reads.
The settings compared over seeds are ``attn.ner_comparison``'s.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

from attn.bench import device_name
from attn.bert import load_tokenizer
from attn.conll import ENTITY_TYPES, Sentence
from attn.ner_context import training_examples
from attn.ner_data import subset
from attn.ner_evaluation import evaluate, span_scores, type_confusion
from attn.ner_model import MODEL_NAME, Ensemble, TokenClassifier, save_model
from attn.ner_prediction import decode_both_ways, ensemble_log_probs, predict_tags, word_log_probs
from attn.ner_training import MEMBER_SEED_STRIDE, TrainConfig, new_model, train


def peak_rss_mb() -> float | None:
    """The peak resident memory of this process so far, in MB; None where ``resource`` is missing (Windows)."""
    try:
        import resource  # POSIX only
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def fine_tune_member(config: TrainConfig, examples: list, splits: dict[str, list[Sentence]], tokenizer,
                     full: bool, progress: bool = True) -> tuple[TokenClassifier, dict, float]:
    """Fine-tune one model; return it, its history and its training seconds (validation excluded).

    In full mode the model is scored on the validation set after every epoch, and the epoch
    with the best validation F1 is the one kept: the test set chooses nothing.
    """
    model = new_model(config)
    valid_true = [s.tags for s in splits["valid"]]
    evaluation_seconds: list[float] = []
    best: dict = {}  # full mode: the epoch with the best validation F1 so far, and its weights

    def on_epoch(epoch: int) -> dict:
        if not full:
            return {}
        started = time.perf_counter()
        scores = evaluate(valid_true, predict_tags(model, tokenizer, splits["valid"]))
        if not best or scores["f1"] > best["f1"]:
            best.update(epoch=epoch, f1=scores["f1"],
                        state={name: tensor.detach().clone() for name, tensor in model.state_dict().items()})
        evaluation_seconds.append(time.perf_counter() - started)
        print(f"epoch {epoch}: valid entity F1 {scores['f1']:.4f}", flush=True)
        return {"valid_f1": scores["f1"]}

    start = time.perf_counter()
    history = train(model, examples, config, progress=progress, on_epoch=on_epoch)
    train_seconds = time.perf_counter() - start - sum(evaluation_seconds)
    if best:
        model.load_state_dict(best["state"])
        history["chosen_epoch"] = best["epoch"]
        print(f"kept epoch {best['epoch']}, the best on the validation set", flush=True)
    return model, history, train_seconds


def member_seed(seed: int, member: int) -> int:
    """The seed of member ``member`` of the ensemble of run ``seed``: member 0 is the single run of that seed."""
    return seed + MEMBER_SEED_STRIDE * member


def fine_tune_members(config: TrainConfig, examples: list, splits: dict[str, list[Sentence]], tokenizer,
                      members: int, full: bool, progress: bool = True) -> tuple[list[TokenClassifier], list[dict],
                                                                               list[float]]:
    """``fine_tune_member`` once per member, each from its own seed; the models, histories and training seconds."""
    models, histories, seconds = [], [], []
    for member in range(members):
        member_config = replace(config, seed=member_seed(config.seed, member))
        model, history, train_seconds = fine_tune_member(member_config, examples, splits, tokenizer, full, progress)
        models.append(model)
        histories.append(history)
        seconds.append(train_seconds)
    return models, histories, seconds


def run_training(config: TrainConfig, splits: dict[str, list[Sentence]], model_dir: Path, overwrite: bool,
                 full: bool, results_dir: Path | None, threads: int, members: int = 1) -> dict:
    """Fine-tune ``members`` models (one per seed, ``member_seed``), evaluate them and their
    ensemble on valid and test, save the model (and, in full mode, the results).

    With one member the model saved is that model; with more, their ``Ensemble``. Every member
    is also scored alone, so the record says what the ensemble buys.
    """
    torch.set_num_threads(threads)
    tokenizer = load_tokenizer()
    train_sentences = subset(splits["train"], config.max_sentences, config.seed)
    examples = training_examples(tokenizer, train_sentences, config.context)
    print(f"fine-tuning {members} model(s) on {len(train_sentences)} sentences in {len(examples)} examples, "
          f"{config.epochs} epoch(s) each, {threads} threads", flush=True)
    models, histories, seconds = fine_tune_members(config, examples, splits, tokenizer, members, full)
    member_records = [{"seed": member_seed(config.seed, member), "train_seconds": round(seconds[member], 1)}
                      for member in range(members)]
    results, predictions = {}, {}
    for split in ("valid", "test"):
        true = [s.tags for s in splits[split]]
        per_model = [word_log_probs(model, tokenizer, splits[split]) for model in models]
        for record, scores in zip(member_records, per_model):  # each member alone
            record[f"{split}_f1"] = span_scores(true, decode_both_ways(scores)[0])["f1"]
        # the model saved; each word's argmax too, to measure what the constraints buy
        predictions[split], argmax_tags = decode_both_ways(ensemble_log_probs(per_model))
        results[split] = evaluate(true, predictions[split])
        results[split]["argmax_f1"] = span_scores(true, argmax_tags)["f1"]
    train_seconds = sum(seconds)
    peak = peak_rss_mb()
    print(f"train time {train_seconds:.0f} s, peak memory " + (f"{peak:.0f} MB" if peak is not None else "unknown"))
    for record in member_records if members > 1 else []:
        print(f"the model of seed {record['seed']} alone: valid F1 {record['valid_f1']:.4f}, "
              f"test F1 {record['test_f1']:.4f}")
    for split in ("valid", "test"):
        r = results[split]
        print(f"{split}: entity precision {r['precision']:.4f} recall {r['recall']:.4f} F1 {r['f1']:.4f}, "
              f"token accuracy {r['token_accuracy']:.4f}")
    model = Ensemble(models) if members > 1 else models[0]
    save_model(model, tokenizer, model_dir, {"train": asdict(config), "model": MODEL_NAME}, overwrite=overwrite)
    print(f"saved the fine-tuned model to {model_dir}")
    if full and results_dir is not None:
        for record, history in zip(member_records, histories):
            record["chosen_epoch"] = history["chosen_epoch"]
            record["valid_f1_per_epoch"] = [epoch["valid_f1"] for epoch in history["epochs"]]
        test_true = [s.tags for s in splits["test"]]
        write_results(results_dir, results, histories, member_records, config, train_seconds, threads,
                      test_true, predictions["test"])
        print(f"wrote {results_dir}/ner_full_run.json, ner_full_report.json, ner_full_report.txt, ner_full_curve.png")
    return {"results": results, "histories": histories, "members": member_records, "train_seconds": train_seconds}


def write_results(results_dir: Path, results: dict, histories: list[dict], members: list[dict],
                  config: TrainConfig, train_seconds: float, threads: int, test_true: list[list[str]],
                  test_pred: list[list[str]]) -> None:
    """The committed record of a full run: the summary, the per-type report and the training curves.

    ``results`` are the saved model's (the ensemble's, with several members); ``members`` hold
    each member's seed, validation curve, epoch kept, training time and F1 alone.
    ``test_true`` and ``test_pred`` are the gold and predicted tags of the test set.
    """
    import matplotlib.pyplot as plt
    from seqeval.metrics import classification_report

    results_dir.mkdir(parents=True, exist_ok=True)
    peak = peak_rss_mb()
    summary = {
        "test": {key: results["test"][key] for key in ("precision", "recall", "f1", "argmax_f1")},
        "valid": {key: results["valid"][key] for key in ("precision", "recall", "f1", "argmax_f1")},
        "decoding": "IOB2-constrained (argmax_f1: each word's argmax, for comparison)",
        "members": members,
        "train_seconds": round(train_seconds, 1),
        "epochs": config.epochs,
        "device": f"cpu ({device_name(torch.device('cpu'))})",
        "threads": threads,
        "peak_rss_mb": round(peak) if peak is not None else None,
        "torch": torch.__version__,
        "model": MODEL_NAME,
        "casing_features": config.casing,
        "context": config.context,
    }
    (results_dir / "ner_full_run.json").write_text(json.dumps(summary, indent=2) + "\n")
    report = {
        "per_type": {split: results[split]["per_type"] for split in ("valid", "test")},
        "token_accuracy": {split: results[split]["token_accuracy"] for split in ("valid", "test")},
        "all_o_token_accuracy": {split: results[split]["all_o_token_accuracy"] for split in ("valid", "test")},
        "test_type_confusion": {"order": list(ENTITY_TYPES) + ["O"],
                                "counts": type_confusion(test_true, test_pred).tolist()},
        "histories": histories,
        "config": asdict(config),
        "python": platform.python_version(),
    }
    (results_dir / "ner_full_report.json").write_text(json.dumps(report, indent=2) + "\n")
    (results_dir / "ner_full_report.txt").write_text(classification_report(test_true, test_pred, digits=4))
    figure = plot_members(histories, [member["seed"] for member in members])
    figure.savefig(results_dir / "ner_full_curve.png", dpi=120)
    plt.close(figure)


def plot_members(histories: list[dict], seeds: list[int]):
    """One panel per fine-tuned model (``plot_history``), one above the other; returns the figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(histories), 1, figsize=(5, 3 * len(histories)), squeeze=False)
    for ax, history, seed in zip(axes[:, 0], histories, seeds):
        plot_history(history, ax=ax)
        ax.set_title(f"Fine-tuning from seed {seed}")
    fig.tight_layout()
    return fig


def plot_history(history: dict, ax):
    """Training loss against steps on ``ax``, and the validation F1 after each epoch when recorded."""
    ax.plot(history["loss_step"], history["loss"], color="tab:blue", label="training loss")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy loss")
    ax.set_title("Fine-tuning on CoNLL-2003")
    handles = ax.get_lines()
    legend_ax = ax
    epochs = [e for e in history["epochs"] if "valid_f1" in e]
    if epochs:
        right = ax.twinx()
        scores = [e["valid_f1"] for e in epochs]
        right.plot([e["step"] for e in epochs], scores, "o-", color="tab:orange", label="validation entity F1")
        chosen = [e for e in epochs if e["epoch"] == history.get("chosen_epoch")]
        if chosen:
            right.plot([chosen[0]["step"]], [chosen[0]["valid_f1"]], "*", color="black", markersize=11,
                       label=f"epoch kept ({chosen[0]['epoch']})")
        right.set_ylabel("entity F1")
        spread = max(max(scores) - min(scores), 0.01)
        right.set_ylim(min(scores) - 1.5 * spread, max(scores) + 0.2 * spread)  # the F1 line in the upper part
        handles = handles + right.get_lines()
        legend_ax = right  # drawn last, so the legend stays on top of both lines
    legend_ax.legend(handles=handles, labels=[h.get_label() for h in handles], loc="center right", framealpha=1)
    return ax
