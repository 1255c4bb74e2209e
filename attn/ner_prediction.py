"""Tagging with a fine-tuned token classifier: CoNLL sentences, or raw text with character offsets."""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch

from attn.conll import LABELS, Sentence
from attn.ner_data import collate, encode_words, first_subtokens, length_grouped_batches
from attn.ner_evaluation import entity_spans
from attn.ner_model import TokenClassifier

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
        best = model(batch["input_ids"], batch["attention_mask"], batch["casing_ids"]).argmax(-1)  # (B, n)
        for row, index in enumerate(indices):
            for position, word in first_subtokens(encoded[index].word_ids).items():
                predictions[index][word] = LABELS[int(best[row, position])]
    return predictions


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
