"""Document context for named-entity recognition (chapter 9).

A CoNLL-2003 sentence is often a headline, a dateline or a table row that names an entity
without saying what it is (a results row such as "Harlow 21 Dunmore 18"); the rest of its
document usually says. So each sentence is encoded inside a *window*: the sentence and its
neighbours of the same document, whole sentences only, up to ``budget`` sub-tokens in all
([CLS] and [SEP] included). Labels are predicted, and scored, for the window's own sentence only.

- In prediction every sentence gets its own window, centred on it (``centred_window``).
- In training the sentences of a document are packed into consecutive windows
  (``packed_windows``) and every one of them is labelled, so that an epoch costs about what
  it costs without context: each sentence is seen once, with its neighbours around it.
"""

from __future__ import annotations

from attn.conll import Sentence, documents
from attn.ner_data import IGNORE, Encoded, encode_sentences

SPECIAL_TOKENS = 2  # [CLS] and [SEP]


def centred_window(lengths: list[int], centre: int, budget: int) -> tuple[int, int]:
    """The sentences ``first:last`` of a window around ``centre``.

    ``lengths`` are the sentences' sub-token counts (without [CLS] and [SEP]). Neighbours are
    added in turn, previous first, while the window fits in ``budget`` sub-tokens; a side
    whose next sentence does not fit stops growing. The centre sentence is always in, even
    when it alone is longer than the budget.
    """
    first, last = centre, centre + 1
    used = SPECIAL_TOKENS + lengths[centre]
    left_turn = True
    while True:
        left_fits = first > 0 and used + lengths[first - 1] <= budget
        right_fits = last < len(lengths) and used + lengths[last] <= budget
        if not (left_fits or right_fits):
            return first, last
        if left_fits and (left_turn or not right_fits):
            first -= 1
            used += lengths[first]
        else:
            used += lengths[last]
            last += 1
        left_turn = not left_turn


def packed_windows(lengths: list[int], budget: int) -> list[tuple[int, int]]:
    """Consecutive windows ``first:last`` that cover every sentence once, each as full as ``budget`` allows."""
    windows: list[tuple[int, int]] = []
    first, used = 0, SPECIAL_TOKENS
    for index, length in enumerate(lengths):
        if index > first and used + length > budget:
            windows.append((first, index))
            first, used = index, SPECIAL_TOKENS
        used += length
    if lengths:
        windows.append((first, len(lengths)))
    return windows


def join(pieces: list[Encoded], labelled: set[int]) -> Encoded:
    """One window from encoded sentences (each with its own [CLS] and [SEP]).

    The sub-tokens of the pieces are concatenated between one [CLS] and one [SEP]. Pieces
    whose index is in ``labelled`` keep their labels, and their words are numbered on from
    one another; the others are context only (label -100, word None).
    """
    input_ids, word_ids, labels, casing = [pieces[0].input_ids[0]], [None], [IGNORE], [0]
    words = 0
    for index, piece in enumerate(pieces):
        inner = slice(1, len(piece.input_ids) - 1)  # without the piece's own [CLS] and [SEP]
        size = len(piece.input_ids) - SPECIAL_TOKENS
        input_ids += piece.input_ids[inner]
        casing += piece.casing[inner]
        if index in labelled:
            word_ids += [None if word is None else word + words for word in piece.word_ids[inner]]
            labels += piece.labels[inner]
            words += piece.num_words
        else:
            word_ids += [None] * size
            labels += [IGNORE] * size
    input_ids.append(pieces[0].input_ids[-1])
    word_ids.append(None)
    labels.append(IGNORE)
    casing.append(0)
    return Encoded(input_ids, word_ids, labels, casing, words, num_sentences=len(labelled))


def inner_length(piece: Encoded) -> int:
    return len(piece.input_ids) - SPECIAL_TOKENS


def training_windows(sentences: list[Sentence], pieces: list[Encoded], budget: int) -> list[Encoded]:
    """Every sentence once, packed with its neighbours into windows of at most ``budget`` sub-tokens."""
    windows = []
    for document in documents(sentences):
        lengths = [inner_length(pieces[index]) for index in document]
        for first, last in packed_windows(lengths, budget):
            chosen = [pieces[index] for index in document[first:last]]
            windows.append(join(chosen, set(range(len(chosen)))))
    return windows


def prediction_windows(sentences: list[Sentence], pieces: list[Encoded], budget: int) -> list[Encoded]:
    """One window per sentence, in the order of ``sentences``, centred on it and labelled for it alone."""
    windows: list[Encoded | None] = [None] * len(sentences)
    for document in documents(sentences):
        lengths = [inner_length(pieces[index]) for index in document]
        for position, index in enumerate(document):
            first, last = centred_window(lengths, position, budget)
            chosen = [pieces[i] for i in document[first:last]]
            windows[index] = join(chosen, {position - first})
    return windows


def training_examples(tokenizer, sentences: list[Sentence], budget: int) -> list[Encoded]:
    """The training examples of ``sentences``: packed windows of ``budget`` sub-tokens, or (budget 0)
    the sentences alone."""
    pieces = encode_sentences(tokenizer, sentences)
    return training_windows(sentences, pieces, budget) if budget else pieces


def prediction_examples(tokenizer, sentences: list[Sentence], budget: int) -> list[Encoded]:
    """One example per sentence: its centred window of ``budget`` sub-tokens, or (budget 0) the sentence alone."""
    pieces = encode_sentences(tokenizer, sentences)
    return prediction_windows(sentences, pieces, budget) if budget else pieces
