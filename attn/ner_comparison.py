"""The settings chapter 9 compares (``python -m attn.ner compare``), each fine-tuned over seeds and scored
on valid and test.

The record, ``book/results/ner_settings.json``, is what the chapter's ablation table reads.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import torch

from attn.bench import device_name
from attn.bert import load_tokenizer
from attn.conll import Sentence
from attn.ner_context import training_examples
from attn.ner_data import subset
from attn.ner_evaluation import span_scores
from attn.ner_model import MODEL_NAME
from attn.ner_prediction import decode_both_ways, ensemble_log_probs, word_log_probs
from attn.ner_results import fine_tune_members
from attn.ner_training import FULL, QUICK, TrainConfig

SETTINGS_FILE = "ner_settings.json"

Group = tuple[dict[str, TrainConfig], list[int], int]  # settings by name, seeds, members per run


def compared_settings() -> list[Group]:
    """What ``python -m attn.ner compare`` runs.

    The ablations in quick mode over 3 seeds: plain (sentences alone, no casing embedding),
    + casing, + context, + both (``QUICK``), and both with an ensemble of 2 models per run;
    and, on every training sentence for 1 epoch (1 seed), the final recipe's settings, the
    same without context, and at BERT's largest peak learning rate (5e-5).
    """
    plain = replace(QUICK, casing=False, context=0)
    ablations = {"plain": plain, "+ casing": replace(plain, casing=True),
                 "+ context": replace(plain, context=QUICK.context), "+ casing + context": QUICK}
    one_epoch = replace(FULL, epochs=1)
    longer = {"all sentences, 1 epoch": one_epoch,
              "all sentences, 1 epoch, no context": replace(one_epoch, context=0),
              "all sentences, 1 epoch, peak lr 5e-5": replace(one_epoch, lr=5e-5)}
    return [(ablations, [0, 1, 2], 1), (longer, [0], 1), ({"+ casing + context, ensemble of 2": QUICK}, [0, 1, 2], 2)]


def settings_of(config: TrainConfig) -> dict:
    """A setting as the record keeps it: every field but the seed."""
    return {key: value for key, value in asdict(config).items() if key != "seed"}


def reusable_runs(previous: dict | None, record: dict, name: str, config: TrainConfig, seeds: list[int],
                  members: int) -> list[dict] | None:
    """The runs of ``previous`` for this very experiment, made the same way (same threads, torch, device and
    model); else None."""
    if previous is None or any(previous.get(key) != record[key] for key in ("threads", "torch", "device", "model")):
        return None
    for experiment in previous.get("experiments", []):
        same = (experiment.get("name"), experiment.get("settings"), experiment.get("seeds"),
                experiment.get("members", 1)) == (name, settings_of(config), seeds, members)
        if same and [run.get("seed") for run in experiment.get("runs", [])] == seeds:
            return experiment["runs"]
    return None


def run_once(splits: dict[str, list[Sentence]], tokenizer, config: TrainConfig, members: int) -> dict:
    """Fine-tune ``members`` models of one setting and seed; the F1 of their ensemble (of the model, with one)."""
    examples = training_examples(tokenizer, subset(splits["train"], config.max_sentences, config.seed),
                                 config.context)
    models, _, seconds = fine_tune_members(config, examples, splits, tokenizer, members, full=False, progress=False)
    run = {"seed": config.seed}
    for split in ("valid", "test"):  # IOB2-constrained decoding, and each word's argmax
        true = [s.tags for s in splits[split]]
        scores = ensemble_log_probs([word_log_probs(model, tokenizer, splits[split]) for model in models])
        constrained, argmax_tags = decode_both_ways(scores)
        run[f"{split}_f1"] = span_scores(true, constrained)["f1"]
        run[f"{split}_argmax_f1"] = span_scores(true, argmax_tags)["f1"]
    run["train_seconds"] = round(sum(seconds), 1)
    return run


def compare_settings(splits: dict[str, list[Sentence]], groups: list[Group], threads: int,
                     path: Path | None = None, previous: dict | None = None) -> dict:
    """Fine-tune once per setting and seed (``members`` models per run, their ensemble scored);
    the validation and test entity F1 of every run, with IOB2-constrained decoding and
    (``*_argmax_f1``) with each word's argmax.

    One seed gives every setting the same training documents (the head's first weights, the
    dropout masks and the batch order come from it too, but a casing embedding draws from the
    same generator first, and windows are batched differently from sentences). An experiment
    that ``previous`` (an earlier record) holds, made the same way, is kept, not run again.
    The record is written to ``path`` (if given) after every setting.
    """
    torch.set_num_threads(threads)
    tokenizer = load_tokenizer()
    record = {"experiments": [], "threads": threads, "model": MODEL_NAME,
              "device": f"cpu ({device_name(torch.device('cpu'))})", "torch": torch.__version__}
    for settings, seeds, members in groups:
        for name, config in settings.items():
            runs = reusable_runs(previous, record, name, config, seeds, members)
            if runs is not None:
                print(f"{name}: kept the {len(runs)} earlier run(s)", flush=True)
            else:
                runs = []
                for seed in seeds:
                    runs.append(run_once(splits, tokenizer, replace(config, seed=seed), members))
                    print(f"{name}, seed {seed}: test F1 {runs[-1]['test_f1']:.4f} "
                          f"({runs[-1]['train_seconds']:.0f} s)", flush=True)
            experiment = {"name": name, "settings": settings_of(config), "seeds": seeds, "runs": runs}
            if members > 1:
                experiment["members"] = members
            record["experiments"].append(experiment)
            if path is not None:
                path.write_text(json.dumps(record, indent=2) + "\n")
    return record
