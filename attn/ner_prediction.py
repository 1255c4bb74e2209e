"""Tagging with a fine-tuned token classifier: CoNLL sentences, or a raw document with character offsets.

Each sentence is read inside its window of context (``attn.ner_context``), as long as the
model was trained with (``model.context``), and its tags are decoded under IOB2's rules
(``attn.ner_decoding``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
from torch import Tensor

from attn.conll import LABELS, Sentence
from attn.ner_context import prediction_examples
from attn.ner_decoding import FORBIDDEN, argmax_decode, constrained_decode
from attn.ner_data import collate, first_subtokens, length_grouped_batches
from attn.ner_evaluation import entity_spans
from attn.ner_model import Ensemble, TokenClassifier, log_mean_prob

@torch.no_grad()
def word_log_probs(model: TokenClassifier | Ensemble, tokenizer, sentences: list[list[str]] | list[Sentence],
                   batch_size: int = 32) -> list[Tensor]:
    """Each sentence's tag log-probabilities, (n_words, C), read at each word's first sub-token.

    Sentences of the same document (``Sentence.document``) are each other's context; plain
    word lists are documents of one sentence each. A word cut off (past 512 sub-tokens) is O.
    """
    sentences = [s if isinstance(s, Sentence) else Sentence(list(s), ["O"] * len(s), index)
                 for index, s in enumerate(sentences)]
    encoded = prediction_examples(tokenizer, sentences, model.context)
    model.eval()
    scores: list[Tensor] = [torch.empty(0)] * len(sentences)
    for indices in length_grouped_batches([len(e.input_ids) for e in encoded], batch_size):
        batch = collate([encoded[index] for index in indices])
        logits = model(batch["input_ids"], batch["attention_mask"], batch["casing_ids"])  # (B, n, C)
        log_probs = logits.log_softmax(dim=-1)
        for row, index in enumerate(indices):
            words = torch.full((len(sentences[index]), len(LABELS)), FORBIDDEN)  # (n_words, C)
            words[:, LABELS.index("O")] = 0.0
            for position, word in first_subtokens(encoded[index].word_ids).items():
                words[word] = log_probs[row, position]
            scores[index] = words
    return scores


def predict_tags(model: TokenClassifier | Ensemble, tokenizer, sentences: list[list[str]] | list[Sentence],
                 constrained: bool = True) -> list[list[str]]:
    """The predicted tags of every sentence: with ``constrained``, the best tag sequence that
    IOB2 allows (``attn.ner_decoding``); otherwise each word's argmax."""
    decode = constrained_decode if constrained else argmax_decode
    return [decode(scores) for scores in word_log_probs(model, tokenizer, sentences)]


def decode_both_ways(scores: list[Tensor]) -> tuple[list[list[str]], list[list[str]]]:
    """The IOB2-constrained and the argmax tags of every sentence, from its word log-probabilities."""
    return [constrained_decode(words) for words in scores], [argmax_decode(words) for words in scores]


def ensemble_log_probs(per_model: list[list[Tensor]]) -> list[Tensor]:
    """Each sentence's word log-probabilities under several models' mean probability (what
    ``attn.ner_model.Ensemble`` computes), from each model's ``word_log_probs``."""
    return [log_mean_prob(torch.stack(sentence)) for sentence in zip(*per_model)]


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


def tag_text(model: TokenClassifier | Ensemble, tokenizer, text: str) -> list[Entity]:
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
