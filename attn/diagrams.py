"""Block diagrams of the Transformer encoder and of multi-head attention, and the windows of document
context of chapter 9, drawn with matplotlib.

The block diagrams are labelled boxes joined by arrows, in axes without ticks whose data
coordinates are inches, so that text and boxes keep their sizes whatever the figure's width.
The context windows are bars along the sub-tokens of a document, on a labelled axis.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch

FONT = 9  # the smallest text the course allows
ATTENTION, NORM, FEED_FORWARD, DATA, HEAD, WRONG = (
    "#cfe2f3", "#fff2cc", "#d9ead3", "#eeeeee", "#f4cccc", "#e6b8af")


def _canvas(width: float, height: float) -> tuple[Figure, Axes]:
    """A figure of width x height inches whose axes' data coordinates are inches."""
    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")
    return fig, ax


def box(ax: Axes, x: float, y: float, width: float, height: float, text: str,
        color: str = DATA, bold: bool = False) -> tuple[float, float, float, float]:
    """A rounded box centred on (x, y) with centred text; returns (left, bottom, right, top)."""
    left, bottom = x - width / 2, y - height / 2
    ax.add_patch(FancyBboxPatch((left, bottom), width, height, boxstyle="round,pad=0.02,rounding_size=0.06",
                                facecolor=color, edgecolor="#333333", linewidth=1.0))
    ax.text(x, y, text, ha="center", va="center", fontsize=FONT, fontweight="bold" if bold else "normal")
    return left, bottom, left + width, bottom + height


def arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float], curve: float = 0.0,
          color: str = "#333333") -> None:
    """An arrow from ``start`` to ``end``, bent by ``curve`` (0: straight)."""
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=10, linewidth=1.0, color=color,
                                 connectionstyle=f"arc3,rad={curve}", shrinkA=0, shrinkB=0))


def note(ax: Axes, x: float, y: float, text: str, ha: str = "left", color: str = "#333333",
         style: str = "normal") -> None:
    ax.text(x, y, text, ha=ha, va="center", fontsize=FONT, color=color, fontstyle=style)


def _sublayer_stack(ax: Axes, x: float, bottom: float, width: float, step: float) -> float:
    """The four boxes of a post-norm block, bottom-up, with their residual paths; returns the top."""
    layers = [("multi-head\nself-attention", ATTENTION), ("add & norm", NORM),
              ("feed-forward", FEED_FORWARD), ("add & norm", NORM)]
    edges = []
    for index, (text, color) in enumerate(layers):
        y = bottom + index * step
        edges.append(box(ax, x, y, width, 0.42 if "\n" in text else 0.3, text, color))
        if index:
            arrow(ax, (x, edges[index - 1][3]), (x, edges[index][1]))
    side = x + width / 2 + 0.25
    for first, norm in ((0, 1), (2, 3)):  # the residual: from below the sublayer to its add & norm
        start_y = edges[first][1] - 0.14
        ax.plot([x, side, side], [start_y, start_y, bottom + norm * step], color="#333333", linewidth=1.0)
        arrow(ax, (side, bottom + norm * step), (edges[norm][2], bottom + norm * step))
    return edges[-1][3]


def encoder_block() -> Figure:
    """The post-norm Transformer encoder block of Vaswani et al. (2017), with its residual paths."""
    fig, ax = _canvas(3.6, 4.5)
    x, width = 1.6, 1.9
    box(ax, x, 0.3, width, 0.36, "x: (B, n, d_model)")
    arrow(ax, (x, 0.48), (x, 0.79))
    top = _sublayer_stack(ax, x, 1.0, width, 0.8)
    ax.add_patch(FancyBboxPatch((x - width / 2 - 0.12, 0.57), width + 0.52, top - 0.45,
                                boxstyle="round,pad=0.02", facecolor="none", edgecolor="#666666",
                                linestyle="--", linewidth=1.0))
    arrow(ax, (x, top + 0.12), (x, top + 0.42))
    box(ax, x, top + 0.6, width, 0.36, "(B, n, d_model)")
    note(ax, x + width / 2 + 0.45, 1.4, "residual")
    note(ax, x + width / 2 + 0.45, 3.0, "residual")
    note(ax, 0.05, 2.2, "one\nblock", style="italic")
    return fig


def encoder_pipelines() -> Figure:
    """Left, the source article's pipeline as it describes it (softmax inside the encoder, ResNet and
    VGG after it); right, the encoder as it is, with the softmax in the task head."""
    fig, ax = _canvas(6.8, 5.6)
    left, right = 1.5, 4.9
    note(ax, left, 5.4, "the article's pipeline (wrong)", ha="center", color="#990000")
    note(ax, right, 5.4, "a Transformer encoder with a task head", ha="center")
    wrong = [("input", DATA), ("embedding", DATA), ("multi-head attention", ATTENTION),
             ("softmax", WRONG), ("output", DATA), ("ResNet / VGG", WRONG)]
    for index, (text, color) in enumerate(wrong):
        y = 0.35 + index * 0.7
        box(ax, left, y, 2.0, 0.36, text, color)
        if index:
            arrow(ax, (left, y - 0.7 + 0.18), (left, y - 0.18))
    note(ax, left, 4.65, "softmax ends no encoder block;\nResNet and VGG are CNNs,\n"
         "with no attention layer", ha="center", color="#990000", style="italic")
    box(ax, right, 0.35, 2.4, 0.36, "tokens", DATA)
    arrow(ax, (right, 0.53), (right, 0.78))
    box(ax, right, 0.96, 2.4, 0.36, "embeddings + positions", DATA)
    arrow(ax, (right, 1.14), (right, 1.42))
    top = _sublayer_stack(ax, right, 1.64, 2.0, 0.62)
    frame_left, frame_bottom = right - 1.35, 1.22
    ax.add_patch(FancyBboxPatch((frame_left, frame_bottom), 2.7 + 0.2, top - frame_bottom + 0.12,
                                boxstyle="round,pad=0.02", facecolor="none", edgecolor="#666666",
                                linestyle="--", linewidth=1.0))
    note(ax, frame_left - 0.08, (frame_bottom + top) / 2, "N ×", ha="right")
    arrow(ax, (right, top + 0.12), (right, top + 0.42))
    box(ax, right, top + 0.65, 2.4, 0.46, "task head: linear,\nsoftmax over tags", HEAD)
    arrow(ax, (right, top + 0.88), (right, top + 1.1))
    box(ax, right, top + 1.28, 2.4, 0.36, "one tag per token", DATA)
    return fig


def multi_head_attention(num_heads: int = 4) -> Figure:
    """Multi-head attention left to right: one projection each for Q, K and V, the split into heads,
    attention in every head, the merge and the output projection, with the shapes between them."""
    fig, ax = _canvas(6.8, 3.6)
    y_mid = 1.75
    box(ax, 0.4, y_mid, 0.7, 0.5, "x\n(B, n, d)")
    rows = {"Q": y_mid + 0.9, "K": y_mid, "V": y_mid - 0.9}
    for name, y in rows.items():
        arrow(ax, (0.75, y_mid), (1.05, y))
        box(ax, 1.45, y, 0.8, 0.44, f"${name} = x W_{name}$\n(B, n, d)", ATTENTION)
        arrow(ax, (1.85, y), (2.1, y))
        for head in range(num_heads):
            offset = (head - (num_heads - 1) / 2) * 0.08
            ax.add_patch(FancyBboxPatch((2.15 + 0.04 * head, y - 0.2 - offset), 0.45, 0.3,
                                        boxstyle="square,pad=0", facecolor=ATTENTION, edgecolor="#333333",
                                        linewidth=0.8))
        arrow(ax, (2.85, y), (3.15, y_mid + 0.3 * (1 if name == "Q" else -1 if name == "V" else 0)))
    note(ax, 2.45, y_mid + 1.45, f"split into h = {num_heads} heads\n(B, h, n, d/h)", ha="center")
    box(ax, 3.95, y_mid, 1.55, 1.0, "attention\nin every head:\n" + r"$\mathrm{softmax}(QK^\top/\sqrt{d/h})\,V$",
        HEAD)
    note(ax, 3.95, y_mid - 0.8, "weights (B, h, n, n)\nout (B, h, n, d/h)", ha="center")
    arrow(ax, (4.75, y_mid), (4.9, y_mid))
    box(ax, 5.25, y_mid, 0.7, 0.6, "merge\n(B, n, d)", DATA)
    arrow(ax, (5.6, y_mid), (5.75, y_mid))
    box(ax, 6.2, y_mid, 0.9, 0.6, "$W_O$\n(B, n, d)", ATTENTION)
    note(ax, 6.2, y_mid + 0.55, "output\nprojection", ha="center")
    note(ax, 0.1, 0.2, "d = d_model; one (d, d) matrix per projection holds the h heads side by side")
    return fig


def context_windows(lengths: list[int], centre: int, centred: tuple[int, int],
                    packed: list[tuple[int, int]], budget: int) -> Figure:
    """A document's sentences laid end to end by sub-tokens (``lengths``): the window ``centred``
    (sentences first:last) that predicts sentence ``centre``, and the ``packed`` windows that train
    on every sentence once; each window holds at most ``budget`` sub-tokens."""
    starts = [sum(lengths[:index]) for index in range(len(lengths) + 1)]
    fig, ax = plt.subplots(figsize=(6.8, 2.8))
    narrow = 0.045 * starts[-1]  # too narrow for its number inside (about a quarter of an inch)
    for index, length in enumerate(lengths):
        color = HEAD if index == centre else DATA
        ax.barh(2, length, left=starts[index], height=0.6, color=color, edgecolor="#333333", linewidth=0.8)
        if length >= narrow:
            ax.text(starts[index] + length / 2, 2, str(index + 1), ha="center", va="center", fontsize=FONT)
        elif index == centre:  # the sentence predicted keeps its number, above its bar
            ax.text(starts[index] + length / 2, 2.35, str(index + 1), ha="center", va="bottom", fontsize=FONT)
    first, last = centred
    ax.barh(1, starts[last] - starts[first], left=starts[first], height=0.6, color=ATTENTION,
            edgecolor="#333333", linewidth=0.8)
    ax.barh(1, lengths[centre], left=starts[centre], height=0.6, color=HEAD, edgecolor="#333333", linewidth=0.8)
    for number, (window_first, window_last) in enumerate(packed):
        color = FEED_FORWARD if number % 2 == 0 else NORM
        ax.barh(0, starts[window_last] - starts[window_first], left=starts[window_first], height=0.6,
                color=color, edgecolor="#333333", linewidth=0.8)
        ax.text((starts[window_first] + starts[window_last]) / 2, 0, f"window {number + 1}", ha="center",
                va="center", fontsize=FONT)
    ax.set_yticks([0, 1, 2], ["training:\npacked windows", f"predicting\nsentence {centre + 1}",
                              "the document's\nsentences"], fontsize=FONT)
    ax.set_xlabel("sub-token position in the document", fontsize=FONT)
    ax.tick_params(axis="x", labelsize=FONT)
    ax.set_xlim(0, starts[-1])
    ax.set_ylim(-0.5, 2.75)
    ax.set_title(f"Windows of whole sentences, at most {budget} sub-tokens with [CLS] and [SEP]", fontsize=FONT + 1)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    legend = [Patch(facecolor=HEAD, edgecolor="#333333", label=f"sentence {centre + 1}: its tags are predicted"),
              Patch(facecolor=ATTENTION, edgecolor="#333333", label="its context: read, not tagged")]
    fig.legend(handles=legend, loc="lower center", ncol=2, fontsize=FONT, frameon=False)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig
