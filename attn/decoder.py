"""A tiny decoder-only Transformer and the digit-reversal task chapter 10 trains it on.

- ``TinyDecoder``: pre-norm decoder blocks with learned absolute positions. Its parts are
  exposed for a learner who writes generation with a key/value cache: ``embed(tokens,
  start)`` (token plus position embeddings from position ``start`` on), each block's
  ``qkv(x)`` (the normalised input projected to per-head queries, keys and values) and
  ``finish(x, mixed)`` (output projection, residuals and feed-forward network), and
  ``logits(x)``. ``forward`` recomputes the whole sequence with a causal mask.
- ``generate_by_recomputing``: greedy generation that runs the whole prefix again for every
  new token, the reference a cache must reproduce.
- ``reversal_batch`` and ``split_prompt``: the task, ``BOS d1 ... dk SEP dk ... d1``.

Masks follow the course's convention: boolean, ``True`` = may attend.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

DIGITS = 10
BOS, SEP = 10, 11
VOCAB_SIZE = 12


class DecoderBlock(nn.Module):
    """Pre-norm block: causal self-attention and a feed-forward network, each with a residual."""

    def __init__(self, d_model: int, num_heads: int, d_ff: int) -> None:
        super().__init__()
        if d_model % num_heads != 0:
            raise ValueError(f"d_model={d_model} is not divisible by num_heads={num_heads}")
        self.num_heads = num_heads
        self.d_head = d_model // num_heads
        self.attention_norm = nn.LayerNorm(d_model)
        self.q_proj = nn.Linear(d_model, d_model)
        self.k_proj = nn.Linear(d_model, d_model)
        self.v_proj = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)
        self.ffn_norm = nn.LayerNorm(d_model)
        self.intermediate = nn.Linear(d_model, d_ff)
        self.output = nn.Linear(d_ff, d_model)

    def qkv(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """x (B, n, d_model) -> queries, keys, values, each (B, heads, n, d_head)."""
        normed = self.attention_norm(x)
        return tuple(projection(normed).unflatten(-1, (self.num_heads, self.d_head)).transpose(1, 2)
                     for projection in (self.q_proj, self.k_proj, self.v_proj))

    def finish(self, x: Tensor, mixed: Tensor) -> Tensor:
        """x (B, n, d_model) and the attention output mixed (B, heads, n, d_head) -> new x."""
        x = x + self.out_proj(mixed.transpose(1, 2).flatten(-2))  # (B, n, d_model)
        return x + self.output(F.gelu(self.intermediate(self.ffn_norm(x))))

    def forward(self, x: Tensor, mask: Tensor | None = None,
                need_weights: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        """x (B, n, d_model); mask bool (n, n), default causal. With ``need_weights``, also
        returns the attention weights (B, heads, n, n)."""
        n = x.shape[1]
        if mask is None:
            mask = torch.ones(n, n, dtype=torch.bool, device=x.device).tril()
        q, k, v = self.qkv(x)
        scores = q @ k.transpose(-2, -1) / self.d_head**0.5  # (B, h, n, n)
        weights = scores.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        x = self.finish(x, weights @ v)
        return (x, weights) if need_weights else x


class TinyDecoder(nn.Module):
    """A decoder-only Transformer: embeddings, ``blocks``, a final LayerNorm and ``lm_head``."""

    def __init__(self, vocab_size: int = VOCAB_SIZE, d_model: int = 64, num_layers: int = 2,
                 num_heads: int = 4, d_ff: int = 256, max_len: int = 64) -> None:
        super().__init__()
        self.max_len = max_len
        self.token_embedding = nn.Embedding(vocab_size, d_model)
        self.position_embedding = nn.Embedding(max_len, d_model)
        self.blocks = nn.ModuleList(DecoderBlock(d_model, num_heads, d_ff) for _ in range(num_layers))
        self.final_norm = nn.LayerNorm(d_model)
        self.lm_head = nn.Linear(d_model, vocab_size)

    def embed(self, tokens: Tensor, start: int = 0) -> Tensor:
        """tokens (B, n) at positions start, ..., start + n - 1 -> vectors (B, n, d_model)."""
        n = tokens.shape[1]
        if start + n > self.max_len:
            raise ValueError(f"positions up to {start + n - 1} exceed max_len={self.max_len}")
        positions = torch.arange(start, start + n, device=tokens.device)
        return self.token_embedding(tokens) + self.position_embedding(positions)

    def logits(self, x: Tensor) -> Tensor:
        """x (..., d_model) -> next-token logits (..., vocab_size)."""
        return self.lm_head(self.final_norm(x))

    def forward(self, tokens: Tensor, mask: Tensor | None = None,
                need_weights: bool = False) -> Tensor | tuple[Tensor, list[Tensor]]:
        """tokens (B, n) -> logits (B, n, vocab); with ``need_weights``, also each block's
        (B, heads, n, n) weights. ``mask`` bool (n, n) replaces the causal mask."""
        x = self.embed(tokens)
        all_weights = []
        for block in self.blocks:
            if need_weights:
                x, weights = block(x, mask, need_weights=True)
                all_weights.append(weights)
            else:
                x = block(x, mask)
        logits = self.logits(x)
        return (logits, all_weights) if need_weights else logits


@torch.no_grad()
def generate_by_recomputing(model: TinyDecoder, prompt: Tensor, num_new: int,
                            mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Greedy generation, running the whole sequence again for each new token.

    prompt (B, p) int64 -> (tokens (B, num_new) int64, logits (B, num_new, vocab)): token t
    is the argmax of logits[:, t]. ``mask``, bool (L, L) with L >= p + num_new - 1, replaces
    the causal mask; a prefix of length n uses its top-left (n, n) block.
    """
    sequence = prompt
    new_tokens, new_logits = [], []
    for _ in range(num_new):
        n = sequence.shape[1]
        step_logits = model(sequence, None if mask is None else mask[:n, :n])[:, -1]  # (B, vocab)
        token = step_logits.argmax(dim=-1)  # (B,)
        new_tokens.append(token)
        new_logits.append(step_logits)
        sequence = torch.cat([sequence, token[:, None]], dim=1)
    return torch.stack(new_tokens, dim=1), torch.stack(new_logits, dim=1)


def reversal_batch(batch: int, length: int, generator: torch.Generator) -> Tensor:
    """Sequences ``BOS d1 ... dk SEP dk ... d1`` of random digits: (batch, 2 * length + 2) int64."""
    digits = torch.randint(0, DIGITS, (batch, length), generator=generator)
    bos = torch.full((batch, 1), BOS)
    sep = torch.full((batch, 1), SEP)
    return torch.cat([bos, digits, sep, digits.flip(1)], dim=1)


def split_prompt(sequences: Tensor) -> tuple[Tensor, Tensor]:
    """(B, 2k + 2) reversal sequences -> (prompts ``BOS d1 ... dk SEP`` (B, k + 2), answers (B, k))."""
    length = (sequences.shape[1] - 2) // 2
    return sequences[:, : length + 2], sequences[:, length + 2:]
