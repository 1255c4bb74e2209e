"""A Transformer encoder built on PyTorch's own attention, for the demos and later chapters.

``Attention`` has the same interface and parameter names as the ``MultiHeadAttention`` that
learners write in chapter 6, so either one fits into ``EncoderLayer(attention=...)``.
Masks follow the course's convention: boolean, ``True`` = may attend, broadcastable to
(batch, heads, n, m). A query with no key to attend to gets zero weights and a zero output.
Everything follows the device and dtype of its parameters and inputs.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class Attention(nn.Module):
    """Multi-head attention: ``q_proj``, ``k_proj``, ``v_proj`` and ``out_proj``, all (d_model -> d_model)."""

    def __init__(self, d_model: int, num_heads: int, bias: bool = True, dropout: float = 0.0) -> None:
        super().__init__()
        if d_model % num_heads != 0:
            raise ValueError(f"d_model={d_model} is not divisible by num_heads={num_heads}")
        self.d_model = d_model
        self.num_heads = num_heads
        self.d_head = d_model // num_heads
        self.dropout = dropout
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def _heads(self, x: Tensor) -> Tensor:
        """(batch, length, d_model) -> (batch, heads, length, d_head)."""
        return x.unflatten(-1, (self.num_heads, self.d_head)).permute(0, 2, 1, 3)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        mask: Tensor | None = None,
        need_weights: bool = False,
    ) -> Tensor | tuple[Tensor, Tensor]:
        """query (B, n, d_model), key and value (B, m, d_model), mask bool broadcastable to (B, h, n, m).

        Returns the output (B, n, d_model), or ``(output, weights)`` with weights (B, h, n, m)
        when ``need_weights`` is true.
        """
        q = self._heads(self.q_proj(query))  # (B, h, n, d_head)
        k = self._heads(self.k_proj(key))  # (B, h, m, d_head)
        v = self._heads(self.v_proj(value))  # (B, h, m, d_head)
        dropout = self.dropout if self.training else 0.0
        if need_weights:
            # The weights themselves: attention applied to the identity matrix as values.
            m = k.shape[-2]
            identity = torch.eye(m, dtype=v.dtype, device=v.device).expand(*v.shape[:-2], m, m)
            weights = F.scaled_dot_product_attention(q, k, identity, attn_mask=mask, dropout_p=dropout)
            weights = self._zero_masked_rows(weights, mask)  # (B, h, n, m)
            mixed = weights @ v  # (B, h, n, d_head)
        else:
            mixed = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout)
            mixed = self._zero_masked_rows(mixed, mask)  # (B, h, n, d_head)
        output = self.out_proj(mixed.transpose(1, 2).flatten(-2))  # (B, n, d_model)
        return (output, weights) if need_weights else output

    @staticmethod
    def _zero_masked_rows(x: Tensor, mask: Tensor | None) -> Tensor:
        """Set to zero the rows of queries that may attend to no key at all."""
        if mask is None:
            return x
        has_key = mask.any(dim=-1, keepdim=True)  # broadcastable to (B, h, n, 1)
        return torch.where(has_key, x, torch.zeros((), dtype=x.dtype, device=x.device))


class EncoderLayer(nn.Module):
    """One encoder block: self-attention and a feed-forward network, each with a residual and a LayerNorm.

    ``norm_first=False`` is the post-norm block of Vaswani et al. (2017) and BERT;
    ``norm_first=True`` is the pre-norm block of most current models. Parameters:
    ``attention``, ``attention_norm``, ``intermediate`` (d_model -> d_ff), ``output``
    (d_ff -> d_model) and ``ffn_norm``. Pass ``attention=`` to use another attention module
    with the same interface (for example a learner's ``MultiHeadAttention``).
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        d_ff: int,
        dropout: float = 0.1,
        norm_first: bool = False,
        activation: str = "gelu",
        layer_norm_eps: float = 1e-5,
        bias: bool = True,
        attention: nn.Module | None = None,
    ) -> None:
        super().__init__()
        if activation not in ("gelu", "relu"):
            raise ValueError(f"activation must be 'gelu' or 'relu', got {activation!r}")
        self.norm_first = norm_first
        self.attention = attention if attention is not None else Attention(d_model, num_heads, bias, dropout)
        self.attention_norm = nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.intermediate = nn.Linear(d_model, d_ff, bias=bias)
        self.activation = nn.GELU() if activation == "gelu" else nn.ReLU()
        self.output = nn.Linear(d_ff, d_model, bias=bias)
        self.ffn_norm = nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def _attend(self, x: Tensor, mask: Tensor | None, need_weights: bool) -> tuple[Tensor, Tensor | None]:
        if need_weights:
            output, weights = self.attention(x, x, x, mask=mask, need_weights=True)
        else:
            output, weights = self.attention(x, x, x, mask=mask), None
        return self.dropout(output), weights

    def _feed_forward(self, x: Tensor) -> Tensor:
        hidden = self.dropout(self.activation(self.intermediate(x)))  # (B, n, d_ff)
        return self.dropout(self.output(hidden))  # (B, n, d_model)

    def forward(
        self, x: Tensor, mask: Tensor | None = None, need_weights: bool = False
    ) -> Tensor | tuple[Tensor, Tensor]:
        """x (B, n, d_model), mask bool broadcastable to (B, h, n, n), True = may attend.

        Returns the new x (B, n, d_model), or ``(x, weights)`` with weights (B, h, n, n).
        """
        if self.norm_first:
            attended, weights = self._attend(self.attention_norm(x), mask, need_weights)
            x = x + attended
            x = x + self._feed_forward(self.ffn_norm(x))
        else:
            attended, weights = self._attend(x, mask, need_weights)
            x = self.attention_norm(x + attended)
            x = self.ffn_norm(x + self._feed_forward(x))
        return (x, weights) if need_weights else x


class Encoder(nn.Module):
    """A stack of layers (``layers``), with a final LayerNorm (``final_norm``) when pre-norm.

    ``attention_factory``, if given, is called once per layer to make its attention module
    (default: ``Attention``). ``layer_factory``, if given, is called once per layer with that
    attention module and returns the layer (default: an ``EncoderLayer`` around it); a layer
    is called as ``layer(x, mask=mask)``, and as ``layer(x, mask=mask, need_weights=True)``
    only when the encoder is.
    """

    def __init__(
        self,
        num_layers: int,
        d_model: int,
        num_heads: int,
        d_ff: int,
        dropout: float = 0.1,
        norm_first: bool = False,
        activation: str = "gelu",
        layer_norm_eps: float = 1e-5,
        bias: bool = True,
        attention_factory: Callable[[], nn.Module] | None = None,
        layer_factory: Callable[[nn.Module], nn.Module] | None = None,
    ) -> None:
        super().__init__()

        def make_layer() -> nn.Module:
            attention = attention_factory() if attention_factory is not None else Attention(
                d_model, num_heads, bias, dropout)
            if layer_factory is not None:
                return layer_factory(attention)
            return EncoderLayer(d_model, num_heads, d_ff, dropout, norm_first, activation, layer_norm_eps, bias,
                                attention=attention)

        self.layers = nn.ModuleList(make_layer() for _ in range(num_layers))
        self.final_norm = nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias) if norm_first else None

    def forward(
        self, x: Tensor, mask: Tensor | None = None, need_weights: bool = False
    ) -> Tensor | tuple[Tensor, list[Tensor]]:
        """x (B, n, d_model) -> (B, n, d_model); with ``need_weights``, also each layer's (B, h, n, n) weights."""
        all_weights = []
        for layer in self.layers:
            if need_weights:
                x, weights = layer(x, mask=mask, need_weights=True)
                all_weights.append(weights)
            else:
                x = layer(x, mask=mask)
        if self.final_norm is not None:
            x = self.final_norm(x)
        return (x, all_weights) if need_weights else x


def padding_mask(attention_mask: Tensor) -> Tensor:
    """(B, m) with 1 for real tokens and 0 for padding -> bool (B, 1, 1, m), True = may attend."""
    return attention_mask.bool()[:, None, None, :]
