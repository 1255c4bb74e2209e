"""Fine-tuning a token classifier (chapter 9): settings, schedule, the step and the loop."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from attn.bert import load_bert
from attn.ner_data import IGNORE, Encoded, collate, length_grouped_batches
from attn.ner_model import TokenClassifier

@dataclass
class TrainConfig:
    """Fine-tuning settings.

    ``batch_size`` counts sentences: with context, a batch holds as many windows as carry about
    that many labelled sentences, so that both settings take the same number of steps.
    ``context`` is the window length in sub-tokens (``attn.ner_context``; 0: sentences alone).
    ``max_sentences`` takes a seeded random choice of whole documents of the training set.
    """

    epochs: int = 6
    batch_size: int = 32
    lr: float = 2e-4
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    clip_norm: float = 1.0
    casing: bool = True
    seed: int = 0
    max_sentences: int | None = None
    context: int = 128


# Quick: a first look in the time of a notebook cell (the website's build runs it), not a good
# model; the committed full run (book/results/ner_full_*) gives the real numbers. The full run
# fine-tunes FULL_MEMBERS models from different seeds and keeps their ensemble
# (attn.ner_model.Ensemble); member k of the run of seed s has seed s + MEMBER_SEED_STRIDE * k.
QUICK = TrainConfig(epochs=1, batch_size=16, max_sentences=1000)
FULL = TrainConfig()
FULL_MEMBERS = 2
MEMBER_SEED_STRIDE = 100


def warmup_linear(step: int, total: int, warmup: int) -> float:
    """The learning-rate factor: 0 -> 1 linearly over ``warmup`` steps, then 1 -> 0 linearly."""
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on the weight matrices only (not on biases, LayerNorms or embeddings' norms)."""
    decay, no_decay = [], []
    for parameter in model.parameters():
        (no_decay if parameter.ndim < 2 else decay).append(parameter)
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.lr)


def warmup_then_decay(optimizer: torch.optim.Optimizer, total: int, warmup_fraction: float
                      ) -> torch.optim.lr_scheduler.LambdaLR:
    """The scheduler of ``warmup_linear`` over ``total`` steps, warming up for ``warmup_fraction`` of them."""
    warmup = int(warmup_fraction * total)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: warmup_linear(step, total, warmup))


def new_model(config: TrainConfig, checkpoint: str | Path | None = None) -> TokenClassifier:
    """The pretrained encoder with a fresh (seeded) head, ready to fine-tune."""
    torch.manual_seed(config.seed)
    return TokenClassifier(load_bert(checkpoint), casing=config.casing, context=config.context)


def examples_per_batch(examples: list[Encoded], sentences_per_batch: int) -> int:
    """How many examples (sentences or windows) carry about ``sentences_per_batch`` labelled sentences."""
    sentences = sum(example.num_sentences for example in examples)
    return max(1, round(sentences_per_batch * len(examples) / max(1, sentences)))


def tagging_loss(logits: Tensor, labels: Tensor) -> Tensor:
    """The mean cross-entropy of logits (B, n, C) over the positions whose label (B, n) is not -100."""
    return F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=IGNORE)


def training_step(model: nn.Module, batch: dict[str, Tensor], optimizer: torch.optim.Optimizer,
                  scheduler: torch.optim.lr_scheduler.LRScheduler, clip_norm: float) -> float:
    """One update: forward, loss on the labelled positions, backward, clipping, optimizer and scheduler step.

    ``model(input_ids, attention_mask, casing_ids)`` returns logits (B, n, C). Returns the
    batch's loss before the update.
    """
    logits = model(batch["input_ids"], batch["attention_mask"], batch["casing_ids"])  # (B, n, C)
    loss = tagging_loss(logits, batch["labels"])
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
    optimizer.step()
    scheduler.step()
    return loss.item()


def train(model: TokenClassifier, examples: list[Encoded], config: TrainConfig, progress: bool = True,
          on_epoch: Callable[[int], dict] | None = None, log_every: int = 20,
          step_function: Callable[..., float] = training_step) -> dict:
    """Fine-tune ``model`` on encoded sentences or windows; return the history.

    ``step_function`` (default ``training_step``, same arguments) makes each update.
    History: "loss" (the mean training loss of every ``log_every`` steps, at "loss_step"),
    and whatever ``on_epoch(epoch)`` returns after each epoch (e.g. the validation F1).
    """
    from tqdm.auto import tqdm

    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    lengths = [len(example.input_ids) for example in examples]
    batch_size = examples_per_batch(examples, config.batch_size)
    total = math.ceil(len(examples) / batch_size) * config.epochs
    optimizer = make_optimizer(model, config)
    scheduler = warmup_then_decay(optimizer, total, config.warmup_fraction)
    history: dict = {"loss": [], "loss_step": [], "epochs": []}
    running, step = [], 0
    bar = tqdm(total=total, disable=not progress, desc="fine-tuning", unit="step")
    for epoch in range(config.epochs):
        model.train()
        for indices in length_grouped_batches(lengths, batch_size, rng):
            batch = collate([examples[index] for index in indices])
            running.append(float(step_function(model, batch, optimizer, scheduler, config.clip_norm)))
            step += 1
            if len(running) == log_every or step == total:
                history["loss"].append(float(np.mean(running)))
                history["loss_step"].append(step)
                bar.set_postfix(loss=f"{history['loss'][-1]:.3f}")
                running = []
            bar.update(1)
        model.eval()
        history["epochs"].append({"epoch": epoch + 1, "step": step, **(on_epoch(epoch + 1) if on_epoch else {})})
    bar.close()
    return history
