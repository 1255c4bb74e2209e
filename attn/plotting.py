"""Figures the chapters share: attention heatmaps."""

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
    matrix = np.asarray(weights.detach().cpu() if hasattr(weights, "detach") else weights, dtype=float)
    if matrix.ndim != 2:
        raise ValueError(f"heatmap expects a 2-D (queries, keys) matrix, got shape {matrix.shape}")
    n, m = matrix.shape
    if ax is None:
        _, ax = plt.subplots(figsize=(min(6.8, 1.0 + 0.55 * m), 0.8 + 0.5 * n))
    colormap = plt.get_cmap("viridis").copy()
    colormap.set_bad("lightgrey")
    image = ax.imshow(np.ma.masked_invalid(matrix), cmap=colormap, vmin=0.0, vmax=1.0)
    ax.figure.colorbar(image, ax=ax, label="weight", fraction=0.046, pad=0.04)  # as tall as the axes
    columns = list(key_labels) if key_labels is not None else [str(j) for j in range(m)]
    ax.set_xticks(range(m), columns)
    if max((len(str(label)) for label in columns), default=0) > 3:  # long labels would collide
        ax.tick_params(axis="x", labelrotation=45)
        plt.setp(ax.get_xticklabels(), ha="right", rotation_mode="anchor")
    ax.set_yticks(range(n), query_labels if query_labels is not None else [str(i) for i in range(n)])
    ax.set_xlabel("key position")
    ax.set_ylabel("query position")
    ax.set_title(title)
    cell_inches = ax.get_position().width * ax.figure.get_figwidth() / m
    if annotate and n * m <= 100 and cell_inches >= 0.38:  # 9-pt numbers need the room
        for i in range(n):
            for j in range(m):
                if np.isfinite(matrix[i, j]):
                    shade = "black" if matrix[i, j] > 0.6 else "white"
                    ax.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", color=shade, fontsize=9)
    return ax
