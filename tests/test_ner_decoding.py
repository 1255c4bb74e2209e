"""attn.ner_decoding: IOB2-constrained decoding against brute force, and against the argmax."""

from __future__ import annotations

import itertools

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attn.conll import LABELS
from attn.ner_decoding import allowed_transitions, argmax_decode, constrained_decode
from attn.ner_evaluation import entity_spans


def well_formed(tags: list[str]) -> bool:
    """IOB2: every I-X follows B-X or I-X."""
    previous = "O"
    for tag in tags:
        if tag.startswith("I-") and (previous == "O" or previous[2:] != tag[2:]):
            return False
        previous = tag
    return True


def brute_force(log_probs: torch.Tensor) -> tuple[float, list[str]]:
    """The best well-formed sequence by trying them all."""
    best_score, best_tags = float("-inf"), []
    for indices in itertools.product(range(len(LABELS)), repeat=len(log_probs)):
        tags = [LABELS[i] for i in indices]
        if well_formed(tags):
            score = sum(float(log_probs[t, i]) for t, i in enumerate(indices))
            if score > best_score:
                best_score, best_tags = score, tags
    return best_score, best_tags


def test_the_transitions_are_those_of_iob2():
    allowed = allowed_transitions()
    for i, previous in enumerate(LABELS):
        for j, label in enumerate(LABELS):
            opening = ["B-" + previous[2:]] if previous.startswith("I-") else []  # a well-formed start
            assert bool(allowed[i, j]) == well_formed(opening + [previous, label])
    assert not allowed[LABELS.index("O"), LABELS.index("I-PER")]
    assert not allowed[LABELS.index("B-LOC"), LABELS.index("I-ORG")]
    assert allowed[LABELS.index("B-ORG"), LABELS.index("I-ORG")]


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=4), st.integers(min_value=0, max_value=2**31 - 1))
def test_constrained_decoding_finds_the_best_well_formed_sequence(length, seed):
    generator = torch.Generator().manual_seed(seed)
    log_probs = (3 * torch.randn(length, len(LABELS), generator=generator, dtype=torch.float64)).log_softmax(-1)
    tags = constrained_decode(log_probs)
    best_score, _ = brute_force(log_probs)
    assert well_formed(tags)
    score = sum(float(log_probs[t, LABELS.index(tag)]) for t, tag in enumerate(tags))
    assert abs(score - best_score) < 1e-9


def test_it_repairs_what_the_argmax_gets_wrong_and_keeps_what_it_gets_right():
    def scores(*rows):
        table = torch.full((len(rows), len(LABELS)), -5.0)
        for t, row in enumerate(rows):
            for label, value in row.items():
                table[t, LABELS.index(label)] = value
        return table.log_softmax(-1)

    # "O I-ORG": the argmax starts an entity with I-; B-ORG I-ORG is the best allowed reading
    broken = scores({"O": 0.0, "B-ORG": -0.2}, {"I-ORG": 2.0})
    assert argmax_decode(broken) == ["O", "I-ORG"]
    assert constrained_decode(broken) == ["B-ORG", "I-ORG"]
    # "B-LOC I-ORG": two one-word entities for seqeval; one two-word entity of one type here
    mixed = scores({"B-LOC": 2.0, "B-ORG": 1.5}, {"I-ORG": 2.0, "I-LOC": 1.0})
    assert entity_spans(argmax_decode(mixed)) == [("LOC", 0, 1), ("ORG", 1, 2)]
    assert constrained_decode(mixed) == ["B-ORG", "I-ORG"]
    fine = scores({"B-PER": 2.0}, {"I-PER": 2.0}, {"O": 2.0})
    assert constrained_decode(fine) == argmax_decode(fine) == ["B-PER", "I-PER", "O"]
    assert constrained_decode(torch.empty(0, len(LABELS))) == []
