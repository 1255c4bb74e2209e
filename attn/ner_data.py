"""Words to model inputs for named-entity recognition (chapter 9).

Word shapes (the casing the uncased tokenizer throws away), WordPiece encoding that keeps
track of each sub-token's word, the first-sub-token labels, length-grouped batches and
dynamic padding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from attn.conll import LABELS, Sentence, documents

IGNORE = -100  # the label of positions that the loss skips (special tokens, non-first sub-tokens, padding)
LABEL_TO_ID = {label: index for index, label in enumerate(LABELS)}
CASING_CLASSES = ("special", "lower", "initial", "upper", "mixed", "numeric", "other")


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


@dataclass
class Encoded:
    """One sentence, or a window of sentences (``attn.ner_context``), as the model sees it: sub-token
    ids, the labelled word of each (None for special tokens and context), labels and casing."""

    input_ids: list[int]
    word_ids: list[int | None]
    labels: list[int]
    casing: list[int]
    num_words: int
    num_sentences: int = 1


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
    shuffle the batches. Without it (evaluation): sort everything by length, longest first.
    Longest first, each batch fits in the memory that a longer one freed; shortest first,
    each needs a little more than any block freed, and glibc's heap grows with every batch.
    The order changes which examples share a batch, and no score beyond float rounding:
    the padding is masked.
    """
    if rng is None:
        order = sorted(range(len(lengths)), key=lambda index: lengths[index], reverse=True)
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


def subset(sentences: list[Sentence], size: int | None, seed: int) -> list[Sentence]:
    """A seeded random choice of whole documents, in their order, with ``size`` sentences or just over
    (all of them when size is None): whole documents, so that each sentence keeps its context."""
    if size is None or size >= len(sentences):
        return sentences
    groups = documents(sentences)
    chosen: list[int] = []
    count = 0
    for group in np.random.default_rng(seed).permutation(len(groups)):
        if count >= size:
            break
        chosen.append(int(group))
        count += len(groups[group])
    return [sentences[index] for group in sorted(chosen) for index in groups[group]]
