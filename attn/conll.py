"""Read the CoNLL-2003 English named-entity data (Tjong Kim Sang and De Meulder, 2003).

The standard files have one token per line with four columns (word, POS tag, chunk tag,
NER tag), a blank line between sentences and ``-DOCSTART-`` lines between documents.
Tags are returned in the IOB2 scheme (every entity starts with ``B-``); files in the
original IOB1 scheme are converted on reading.

Where the data comes from: the ``data_dir`` argument when one is given, otherwise the
environment variable ``CONLL2003_DIR``. The corpus is not redistributable, so the course
never ships it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "CONLL2003_DIR"
SPLITS = ("train", "valid", "test")
# File names tried for each split: the common copies, then the original distribution's names.
SPLIT_FILES = {
    "train": ("train.txt", "eng.train"),
    "valid": ("valid.txt", "dev.txt", "eng.testa"),
    "test": ("test.txt", "eng.testb"),
}
ENTITY_TYPES = ("PER", "ORG", "LOC", "MISC")
LABELS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC")
HOW_TO_GET = (
    "CoNLL-2003 not found: put train.txt, valid.txt and test.txt (columns: word POS chunk NER) in a "
    f"directory and pass it with --data DIR or set {ENV_VAR}=DIR; the data is available from "
    "https://www.clips.uantwerpen.be/conll2003/ner/ (with the Reuters corpus) or on the Hugging Face hub "
    "as 'eriktks/conll2003' (see attn.conll.load_from_hub)."
)


class DataNotFoundError(FileNotFoundError):
    """CoNLL-2003 is not where the course looked; the message says how to get it."""


@dataclass
class Sentence:
    """One sentence: its words, their IOB2 tags (same length) and the index of its document
    in its file (documents start at ``-DOCSTART-`` lines; 0 where a file has none)."""

    words: list[str]
    tags: list[str]
    document: int = 0

    def __len__(self) -> int:
        return len(self.words)


def to_iob2(tags: list[str]) -> list[str]:
    """Convert IOB1 tags (``I-`` may start an entity) to IOB2; IOB2 input comes back unchanged."""
    converted = []
    previous = "O"
    for tag in tags:
        if tag.startswith("I-") and (previous == "O" or previous[2:] != tag[2:]):
            tag = "B-" + tag[2:]
        converted.append(tag)
        previous = tag
    return converted


def read_conll(path: str | Path) -> list[Sentence]:
    """The sentences of one CoNLL-format file; the last column is the NER tag."""
    sentences: list[Sentence] = []
    words: list[str] = []
    tags: list[str] = []
    document = 0

    def finish() -> None:
        if words:
            sentences.append(Sentence(list(words), to_iob2(tags), document))
            words.clear()
            tags.clear()

    with open(path, encoding="utf-8") as lines:
        for line in lines:
            columns = line.split()
            if not columns:
                finish()
            elif columns[0] == "-DOCSTART-":
                finish()
                if sentences:  # a -DOCSTART- at the top of the file opens document 0
                    document += 1
            else:
                words.append(columns[0])
                tags.append(columns[-1])
    finish()
    return sentences


def find_data_dir(data_dir: str | Path | None = None) -> Path | None:
    """The directory holding the CoNLL-2003 files, or None when neither the argument nor
    ``CONLL2003_DIR`` points to one with all three splits."""
    candidate = data_dir if data_dir is not None else os.environ.get(ENV_VAR)
    if not candidate:
        return None
    directory = Path(candidate).expanduser()
    if all(_split_file(directory, split) is not None for split in SPLITS):
        return directory
    return None


def data_available(data_dir: str | Path | None = None) -> bool:
    """Whether CoNLL-2003 can be read from ``data_dir`` or ``CONLL2003_DIR``."""
    return find_data_dir(data_dir) is not None


def _split_file(directory: Path, split: str) -> Path | None:
    for name in SPLIT_FILES[split]:
        if (directory / name).is_file():
            return directory / name
    return None


def load_conll2003(data_dir: str | Path | None = None) -> dict[str, list[Sentence]]:
    """{"train": [...], "valid": [...], "test": [...]} from ``data_dir`` or ``CONLL2003_DIR``.

    Raises ``DataNotFoundError`` with a one-line explanation when the data is not there.
    """
    directory = find_data_dir(data_dir)
    if directory is None:
        where = data_dir if data_dir is not None else os.environ.get(ENV_VAR)
        prefix = f"no train/valid/test files in {where}. " if where else ""
        raise DataNotFoundError(prefix + HOW_TO_GET)
    return {split: read_conll(_split_file(directory, split)) for split in SPLITS}


def load_from_hub(name: str = "eriktks/conll2003") -> dict[str, list[Sentence]]:
    """CoNLL-2003 from the Hugging Face hub, for users with the ``datasets`` library and a network."""
    try:
        from datasets import load_dataset
    except ImportError as error:
        raise DataNotFoundError("loading from the hub needs the 'datasets' library: pip install datasets. "
                                + HOW_TO_GET) from error
    dataset = load_dataset(name)
    names = dataset["train"].features["ner_tags"].feature.names
    hub_splits = {"train": "train", "valid": "validation", "test": "test"}
    splits = {}
    for split, hub_split in hub_splits.items():
        sentences, document = [], 0
        for row in dataset[hub_split]:
            if row["tokens"] == ["-DOCSTART-"]:  # the hub keeps the document markers as rows
                if sentences:
                    document += 1
                continue
            sentences.append(Sentence(list(row["tokens"]), to_iob2([names[i] for i in row["ner_tags"]]), document))
        splits[split] = sentences
    return splits


def documents(sentences: list[Sentence]) -> list[list[int]]:
    """The indices of the sentences of each document, in order (a document is a run of equal ``document``)."""
    groups: list[list[int]] = []
    for index, sentence in enumerate(sentences):
        if groups and sentences[groups[-1][-1]].document == sentence.document:
            groups[-1].append(index)
        else:
            groups.append([index])
    return groups


def tag_counts(sentences: list[Sentence]) -> dict[str, int]:
    """How many words carry each tag, in the order of ``LABELS``."""
    counts = {label: 0 for label in LABELS}
    for sentence in sentences:
        for tag in sentence.tags:
            counts[tag] = counts.get(tag, 0) + 1
    return counts
