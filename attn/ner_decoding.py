"""Reading a sentence's tags out of the classifier's scores (chapter 9).

The classifier scores each word's tags independently, so its argmax can produce tag
sequences that IOB2 does not allow: ``I-ORG`` after ``O``, or ``B-LOC I-ORG``. The
constrained decoder chooses instead the allowed sequence with the highest total
log-probability (the Viterbi algorithm over the allowed transitions); no weight is learned.
"""

from __future__ import annotations

import functools

import torch
from torch import Tensor

from attn.conll import LABELS

FORBIDDEN = -1e9  # the log-score of what may not happen: far below any sum of real log-probabilities


def allowed_transitions(labels: tuple[str, ...] = LABELS) -> Tensor:
    """(C, C) booleans: [i, j] is True when tag j may follow tag i in IOB2 (I-X only after B-X or I-X)."""
    allowed = torch.ones(len(labels), len(labels), dtype=torch.bool)
    for j, label in enumerate(labels):
        if label.startswith("I-"):
            for i, previous in enumerate(labels):
                allowed[i, j] = previous != "O" and previous[2:] == label[2:]
    return allowed


def allowed_starts(labels: tuple[str, ...] = LABELS) -> Tensor:
    """(C,) booleans: the tags that may begin a sentence (all but I-X)."""
    return torch.tensor([not label.startswith("I-") for label in labels])


@functools.cache
def _log_scores(labels: tuple[str, ...]) -> tuple[Tensor, Tensor]:
    """The transition and start scores (0 or FORBIDDEN) of a tag set, built once per tag set."""
    return (torch.where(allowed_transitions(labels), 0.0, FORBIDDEN),
            torch.where(allowed_starts(labels), 0.0, FORBIDDEN))


def constrained_decode(log_probs: Tensor, labels: tuple[str, ...] = LABELS) -> list[str]:
    """The allowed IOB2 tag sequence of highest total log-probability; ``log_probs`` is (n_words, C)."""
    if len(log_probs) == 0:
        return []
    transition, start = _log_scores(labels)  # (C, C), (C,)
    score = log_probs[0] + start
    backpointers = []
    for word_scores in log_probs[1:]:
        candidates = score[:, None] + transition  # (previous C, next C)
        score, best_previous = candidates.max(dim=0)
        score = score + word_scores
        backpointers.append(best_previous)
    path = [int(score.argmax())]
    for best_previous in reversed(backpointers):
        path.append(int(best_previous[path[-1]]))
    return [labels[index] for index in reversed(path)]


def argmax_decode(log_probs: Tensor, labels: tuple[str, ...] = LABELS) -> list[str]:
    """Each word's most likely tag on its own; ``log_probs`` is (n_words, C)."""
    return [labels[index] for index in log_probs.argmax(dim=-1).tolist()]
