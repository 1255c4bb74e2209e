"""Tagging with a fine-tuned token classifier: CoNLL sentences, or a raw document with character offsets.

Each sentence is read inside its window of context (``attn.ner_context``), as long as the
model was trained with (``model.context``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch

from attn.conll import LABELS, Sentence
from attn.ner_context import prediction_examples
from attn.ner_data import collate, first_subtokens, length_grouped_batches
from attn.ner_evaluation import entity_spans
from attn.ner_model import TokenClassifier

@torch.no_grad()
def predict_tags(model: TokenClassifier, tokenizer, sentences: list[list[str]] | list[Sentence],
                 batch_size: int = 32) -> list[list[str]]:
    """The predicted tag of every word: the argmax at its first sub-token (O for cut words).

    Sentences of the same document (``Sentence.document``) are each other's context; plain
    word lists are documents of one sentence each.
    """
    sentences = [s if isinstance(s, Sentence) else Sentence(list(s), ["O"] * len(s), index)
                 for index, s in enumerate(sentences)]
    encoded = prediction_examples(tokenizer, sentences, model.context)
    model.eval()
    predictions: list[list[str]] = [["O"] * len(sentence) for sentence in sentences]
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


def split_sentences(text: str) -> list[list[tuple[str, int, int]]]:
    """Raw text as sentences of words with their offsets.

    A sentence ends at a line break, or at ".", "!" or "?" before a word that starts with an
    upper-case letter or a digit. The rule splits "Mr. Smith" in two; with document context
    the two halves still see each other.
    """
    sentences: list[list[tuple[str, int, int]]] = []
    current: list[tuple[str, int, int]] = []
    for word in split_words(text):
        if current:
            previous = current[-1]
            line_break = "\n" in text[previous[2]:word[1]]
            full_stop = previous[0] in (".", "!", "?") and (word[0][0].isupper() or word[0][0].isdigit())
            if line_break or full_stop:
                sentences.append(current)
                current = []
        current.append(word)
    if current:
        sentences.append(current)
    return sentences


def tag_text(model: TokenClassifier, tokenizer, text: str) -> list[Entity]:
    """The entities of a raw document, with character offsets into ``text``; its sentences are
    each other's context."""
    split = split_sentences(text)
    sentences = [Sentence([word for word, _, _ in words], ["O"] * len(words)) for words in split]
    entities = []
    for words, tags in zip(split, predict_tags(model, tokenizer, sentences)):
        for kind, first, last in entity_spans(tags):
            start, end = words[first][1], words[last - 1][2]
            entities.append(Entity(text[start:end], kind, start, end))
    return entities
