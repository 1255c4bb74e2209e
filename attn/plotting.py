"""Figures the chapters share: attention heatmaps, and what a mask does to a score matrix."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes


def heatmap(
    weights,
    query_labels: Sequence[str] | None = None,
    key_labels: Sequence[str] | None = None,
    title: str = "Attention weights",
    ax: Axes | None = None,
    annotate: bool = True,
) -> Axes:
    """Draw a (queries, keys) weight matrix: one row per query, one column per key.

    ``weights`` may be a NumPy array or a torch tensor of shape (n, m). Masked entries
    (NaN) are drawn grey; each cell shows its weight when there is room for 9-pt text.
    Returns the axes, so a caller can add to the figure.
    """
    matrix = _as_matrix(weights)
    n, m = matrix.shape
    if ax is None:
        _, ax = plt.subplots(figsize=(min(6.8, 1.0 + 0.55 * m), 0.8 + 0.5 * n))
    colormap = plt.get_cmap("viridis").copy()
    colormap.set_bad("lightgrey")
    image = ax.imshow(np.ma.masked_invalid(matrix), cmap=colormap, vmin=0.0, vmax=1.0)
    ax.figure.colorbar(image, ax=ax, label="weight", fraction=0.046, pad=0.04)  # as tall as the axes
    _label_axes(ax, n, m, query_labels, key_labels, title)
    cell_inches = ax.get_position().width * ax.figure.get_figwidth() / m
    if annotate and n * m <= 100 and cell_inches >= 0.38:  # 9-pt numbers need the room
        for i in range(n):
            for j in range(m):
                if np.isfinite(matrix[i, j]):
                    shade = "black" if matrix[i, j] > 0.6 else "white"
                    ax.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", color=shade, fontsize=9)
    return ax


def masked_score_grid(
    scores,
    allowed,
    query_labels: Sequence[str] | None = None,
    key_labels: Sequence[str] | None = None,
    title: str = "Masked scores",
    ax: Axes | None = None,
) -> Axes:
    """Draw what a boolean mask does to a (queries, keys) score matrix before the softmax.

    ``scores`` and ``allowed`` (True = may attend) have shape (n, m), NumPy or torch. An
    allowed entry keeps its score, written in the cell on a blue-to-red scale; a masked
    entry becomes -inf, drawn grey. Returns the axes.
    """
    matrix = _as_matrix(scores)
    keep = _as_matrix(allowed) > 0
    if keep.shape != matrix.shape:
        raise ValueError(f"scores {matrix.shape} and mask {keep.shape} must have the same shape")
    n, m = matrix.shape
    if ax is None:
        _, ax = plt.subplots(figsize=(min(6.8, 1.0 + 0.6 * m), 0.8 + 0.6 * n))
    limit = float(np.abs(matrix).max()) or 1.0  # a symmetric scale: 0 is white
    colormap = plt.get_cmap("coolwarm").copy()
    colormap.set_bad("lightgrey")
    ax.imshow(np.ma.masked_where(~keep, matrix), cmap=colormap, vmin=-limit, vmax=limit)
    for i in range(n):
        for j in range(m):
            text = f"{matrix[i, j]:.2f}" if keep[i, j] else "−∞"
            shade = "white" if keep[i, j] and abs(matrix[i, j]) > 0.6 * limit else "black"
            ax.text(j, i, text, ha="center", va="center", color=shade, fontsize=9)
    _label_axes(ax, n, m, query_labels, key_labels, title)
    return ax


def _as_matrix(values) -> np.ndarray:
    """A NumPy float copy of a 2-D array or tensor."""
    matrix = np.asarray(values.detach().cpu() if hasattr(values, "detach") else values, dtype=float)
    if matrix.ndim != 2:
        raise ValueError(f"expected a 2-D (queries, keys) matrix, got shape {matrix.shape}")
    return matrix


def _label_axes(ax: Axes, n: int, m: int, query_labels: Sequence[str] | None,
                key_labels: Sequence[str] | None, title: str) -> None:
    """Ticks for every query (rows) and key (columns), the axis names and the title."""
    columns = list(key_labels) if key_labels is not None else [str(j) for j in range(m)]
    ax.set_xticks(range(m), columns)
    if max((len(str(label)) for label in columns), default=0) > 3:  # long labels would collide
        ax.tick_params(axis="x", labelrotation=45)
        plt.setp(ax.get_xticklabels(), ha="right", rotation_mode="anchor")
    ax.set_yticks(range(n), query_labels if query_labels is not None else [str(i) for i in range(n)])
    ax.set_xlabel("key position")
    ax.set_ylabel("query position")
    ax.set_title(title)
