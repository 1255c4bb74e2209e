"""attn.conll reads CoNLL-format files, converts IOB1 to IOB2 and says clearly when the data is missing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from attn.conll import (ENV_VAR, LABELS, DataNotFoundError, data_available, find_data_dir, load_conll2003,
                        read_conll, tag_counts, to_iob2)

SAMPLE = Path(__file__).parent / "data" / "conll_sample.txt"


@pytest.fixture
def sample_dir(tmp_path: Path) -> Path:
    """A directory with the tiny sample as all three splits."""
    for name in ("train.txt", "valid.txt", "test.txt"):
        shutil.copy(SAMPLE, tmp_path / name)
    return tmp_path


def test_reads_sentences_skipping_docstart_lines():
    sentences = read_conll(SAMPLE)
    assert len(sentences) == 6
    assert sentences[0].words[:2] == ["Ada", "Lovelace"]
    assert sentences[0].tags[:3] == ["B-PER", "I-PER", "O"]
    assert sentences[2].words == ["OSLO", "1998-03-14"]
    assert all(len(s.words) == len(s.tags) == len(s) for s in sentences)
    assert not any("-DOCSTART-" in s.words for s in sentences)


def test_tag_counts_cover_every_label():
    counts = tag_counts(read_conll(SAMPLE))
    assert list(counts) == list(LABELS)
    assert counts["B-PER"] == 3 and counts["I-ORG"] == 4 and counts["B-MISC"] == 2


def test_iob1_becomes_iob2_and_iob2_is_unchanged():
    assert to_iob2(["I-PER", "I-PER", "O", "I-LOC", "I-ORG", "B-ORG"]) == ["B-PER", "I-PER", "O", "B-LOC", "B-ORG",
                                                                            "B-ORG"]
    iob2 = ["B-PER", "I-PER", "B-PER", "O", "B-MISC"]
    assert to_iob2(iob2) == iob2


def test_loads_the_three_splits_from_an_argument(sample_dir: Path, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    splits = load_conll2003(sample_dir)
    assert sorted(splits) == ["test", "train", "valid"]
    assert len(splits["train"]) == 6


def test_loads_from_the_environment_variable(sample_dir: Path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(sample_dir))
    assert data_available() and find_data_dir() == sample_dir
    assert len(load_conll2003()["test"]) == 6


def test_missing_data_gives_one_clear_line(tmp_path: Path, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert not data_available()
    with pytest.raises(DataNotFoundError) as error:
        load_conll2003()
    message = str(error.value)
    assert "\n" not in message and ENV_VAR in message and "--data" in message
    with pytest.raises(DataNotFoundError, match=str(tmp_path)):
        load_conll2003(tmp_path)  # an empty directory
