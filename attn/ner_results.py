"""Runs of chapter 9's fine-tuning whose numbers the course keeps: the full run and the settings compared.

``run_training`` fine-tunes, evaluates and saves a model (and, for the full run, writes
``book/results/ner_full_*``); ``compare_settings`` fine-tunes several settings over several
seeds and writes ``book/results/ner_settings.json``, which the chapter reads.
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
from attn.ner_model import MODEL_NAME, save_model
from attn.ner_prediction import predict_tags, tags_both_ways
from attn.ner_training import FULL, QUICK, TrainConfig, new_model, train

SETTINGS_FILE = "ner_settings.json"


def peak_rss_mb() -> float | None:
    """The peak resident memory of this process so far, in MB; None where ``resource`` is missing (Windows)."""
    try:
        import resource  # POSIX only
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def run_training(config: TrainConfig, splits: dict[str, list[Sentence]], model_dir: Path, overwrite: bool,
                 full: bool, results_dir: Path | None, threads: int) -> dict:
    """Fine-tune, evaluate on valid and test, save the model (and, in full mode, the results).

    In full mode the model is scored on the validation set after every epoch, and the epoch
    with the best validation F1 is the one kept, tested and saved: the test set chooses nothing.
    """
    torch.set_num_threads(threads)
    tokenizer = load_tokenizer()
    train_sentences = subset(splits["train"], config.max_sentences, config.seed)
    examples = training_examples(tokenizer, train_sentences, config.context)
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

    print(f"fine-tuning on {len(train_sentences)} sentences in {len(examples)} examples, {config.epochs} epoch(s), "
          f"{threads} threads", flush=True)
    start = time.perf_counter()
    history = train(model, examples, config, progress=True, on_epoch=on_epoch)
    train_seconds = time.perf_counter() - start - sum(evaluation_seconds)  # without the per-epoch validation
    if best:
        model.load_state_dict(best["state"])
        history["chosen_epoch"] = best["epoch"]
        print(f"kept epoch {best['epoch']}, the best on the validation set", flush=True)
    results, predictions = {}, {}
    for split in ("valid", "test"):  # each word's argmax too, to measure what the constraints buy
        true = [s.tags for s in splits[split]]
        predictions[split], argmax_tags = tags_both_ways(model, tokenizer, splits[split])
        results[split] = evaluate(true, predictions[split])
        results[split]["argmax_f1"] = span_scores(true, argmax_tags)["f1"]
    test_true, test_pred = [s.tags for s in splits["test"]], predictions["test"]
    peak = peak_rss_mb()
    print(f"train time {train_seconds:.0f} s, peak memory " + (f"{peak:.0f} MB" if peak is not None else "unknown"))
    for split in ("valid", "test"):
        r = results[split]
        print(f"{split}: entity precision {r['precision']:.4f} recall {r['recall']:.4f} F1 {r['f1']:.4f}, "
              f"token accuracy {r['token_accuracy']:.4f}")
    save_model(model, tokenizer, model_dir, {"train": asdict(config), "model": MODEL_NAME}, overwrite=overwrite)
    print(f"saved the fine-tuned model to {model_dir}")
    if full and results_dir is not None:
        write_results(results_dir, results, history, config, train_seconds, threads, test_true, test_pred)
        print(f"wrote {results_dir}/ner_full_run.json, ner_full_report.json, ner_full_report.txt, ner_full_curve.png")
    return {"results": results, "history": history, "train_seconds": train_seconds}


def compared_settings() -> list[tuple[dict[str, TrainConfig], list[int]]]:
    """What ``python -m attn.ner compare`` runs.

    The ablations in quick mode over 3 seeds: plain (sentences alone, no casing embedding),
    + casing, + context, + both (the final recipe, ``QUICK``); and, on every training
    sentence for 1 epoch (1 seed), the final recipe, the same without context, and the final
    recipe at BERT's largest peak learning rate (5e-5).
    """
    plain = replace(QUICK, casing=False, context=0)
    ablations = {"plain": plain, "+ casing": replace(plain, casing=True),
                 "+ context": replace(plain, context=QUICK.context), "+ casing + context": QUICK}
    one_epoch = replace(FULL, epochs=1)
    longer = {"all sentences, 1 epoch": one_epoch,
              "all sentences, 1 epoch, no context": replace(one_epoch, context=0),
              "all sentences, 1 epoch, peak lr 5e-5": replace(one_epoch, lr=5e-5)}
    return [(ablations, [0, 1, 2]), (longer, [0])]


def compare_settings(splits: dict[str, list[Sentence]], groups: list[tuple[dict[str, TrainConfig], list[int]]],
                     threads: int, path: Path | None = None) -> dict:
    """Fine-tune once per setting and seed; the validation and test entity F1 of every run, with
    IOB2-constrained decoding and (``*_argmax_f1``) with each word's argmax.

    One seed gives every setting the same training documents (the head's first weights, the
    dropout masks and the batch order come from it too, but a casing embedding draws from the
    same generator first, and windows are batched differently from sentences). The record is
    written to ``path`` (if given) after every setting.
    """
    torch.set_num_threads(threads)
    tokenizer = load_tokenizer()
    record = {"experiments": [], "threads": threads, "model": MODEL_NAME,
              "device": f"cpu ({device_name(torch.device('cpu'))})", "torch": torch.__version__}
    for settings, seeds in groups:
        for name, config in settings.items():
            runs = []
            for seed in seeds:
                chosen = replace(config, seed=seed)
                examples = training_examples(tokenizer, subset(splits["train"], chosen.max_sentences, seed),
                                             chosen.context)
                model = new_model(chosen)
                started = time.perf_counter()
                train(model, examples, chosen, progress=False)
                seconds = time.perf_counter() - started
                run = {"seed": seed}
                for split in ("valid", "test"):  # IOB2-constrained decoding, and each word's argmax
                    true = [s.tags for s in splits[split]]
                    constrained, argmax_tags = tags_both_ways(model, tokenizer, splits[split])
                    run[f"{split}_f1"] = span_scores(true, constrained)["f1"]
                    run[f"{split}_argmax_f1"] = span_scores(true, argmax_tags)["f1"]
                run["train_seconds"] = round(seconds, 1)
                runs.append(run)
                print(f"{name}, seed {seed}: test F1 {run['test_f1']:.4f} ({seconds:.0f} s)", flush=True)
            config_fields = {key: value for key, value in asdict(config).items() if key != "seed"}
            record["experiments"].append({"name": name, "settings": config_fields, "seeds": seeds, "runs": runs})
            if path is not None:
                path.write_text(json.dumps(record, indent=2) + "\n")
    return record


def write_results(results_dir: Path, results: dict, history: dict, config: TrainConfig, train_seconds: float,
                  threads: int, test_true: list[list[str]], test_pred: list[list[str]]) -> None:
    """The committed record of a full run: the summary, the per-type report and the training curve.

    ``test_true`` and ``test_pred`` are the gold and predicted tags of the test set.
    """
    from seqeval.metrics import classification_report

    results_dir.mkdir(parents=True, exist_ok=True)
    peak = peak_rss_mb()
    summary = {
        "test": {key: results["test"][key] for key in ("precision", "recall", "f1", "argmax_f1")},
        "valid": {key: results["valid"][key] for key in ("precision", "recall", "f1", "argmax_f1")},
        "decoding": "IOB2-constrained (argmax_f1: each word's argmax, for comparison)",
        "train_seconds": round(train_seconds, 1),
        "epochs": config.epochs,
        "chosen_epoch": history.get("chosen_epoch", config.epochs),
        "valid_f1_per_epoch": [epoch["valid_f1"] for epoch in history["epochs"] if "valid_f1" in epoch],
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
        "history": history,
        "config": asdict(config),
        "python": platform.python_version(),
    }
    (results_dir / "ner_full_report.json").write_text(json.dumps(report, indent=2) + "\n")
    (results_dir / "ner_full_report.txt").write_text(classification_report(test_true, test_pred, digits=4))
    plot_history(history, results_dir / "ner_full_curve.png")


def plot_history(history: dict, path: Path | None = None, ax=None):
    """Training loss against steps, and the validation F1 after each epoch when recorded."""
    import matplotlib.pyplot as plt

    owns = ax is None
    if owns:
        fig, ax = plt.subplots(figsize=(5, 3))
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
    if owns:
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=120)
            plt.close(fig)
    return ax
