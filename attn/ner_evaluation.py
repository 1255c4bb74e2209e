"""Scoring a tagger the way the CoNLL shared task does, and reading its errors (chapter 9)."""

from __future__ import annotations

import numpy as np

from attn.conll import ENTITY_TYPES, Sentence

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
