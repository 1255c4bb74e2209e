"""Chapter 8's diagram of FlashAttention's tiling: blocks of Q, K and V travel from the GPU's
large, slow HBM into its small, fast on-chip SRAM, where one block of queries keeps its
running maximum, running sum and unnormalised output; only the finished output block (and
its log-sum-exp) goes back to HBM.

``draw_tiling(ax)`` draws it on a matplotlib axes; the loop order drawn is FlashAttention-2's
(one query block stays on chip while the key and value blocks stream past).
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.patches import FancyArrowPatch, Rectangle

BLOCKS = 4  # blocks drawn per matrix
BLOCK_H = 0.75  # height of one block in the diagram's units
MATRIX_W = 0.7
HBM_COLOUR, SRAM_COLOUR = "#eeeeee", "#e3effa"
QUERY_COLOUR, KEY_COLOUR, STATE_COLOUR = "#f4a259", "#5b8e7d", "#bc4b51"
FONT = 9
HBM_RIGHT, SRAM_LEFT = 3.95, 6.25  # the two memories' facing edges


def _matrix(ax: Axes, x: float, y: float, name: str, highlight: int, colour: str) -> list[Rectangle]:
    """A matrix drawn as BLOCKS row blocks from the top, with block ``highlight`` coloured."""
    blocks = []
    for index in range(BLOCKS):
        top = y + (BLOCKS - 1 - index) * BLOCK_H
        block = Rectangle((x, top), MATRIX_W, BLOCK_H, facecolor=colour if index == highlight else "white",
                          edgecolor="black", linewidth=0.8)
        ax.add_patch(block)
        blocks.append(block)
    ax.text(x + MATRIX_W / 2, y + BLOCKS * BLOCK_H + 0.12, name, ha="center", va="bottom", fontsize=FONT)
    return blocks


def _tile(ax: Axes, x: float, y: float, width: float, height: float, colour: str, label: str) -> Rectangle:
    """One block held on chip, with its label below it."""
    tile = Rectangle((x, y), width, height, facecolor=colour, edgecolor="black", linewidth=0.8)
    ax.add_patch(tile)
    ax.text(x + width / 2, y - 0.08, label, ha="center", va="top", fontsize=FONT)
    return tile


def _arrow(ax: Axes, y: float, label: str, towards_sram: bool) -> None:
    """A horizontal arrow across the gap between HBM and SRAM, with its label above it."""
    left, right = (HBM_RIGHT, SRAM_LEFT) if towards_sram else (SRAM_LEFT, HBM_RIGHT)
    ax.add_patch(FancyArrowPatch((left, y), (right, y), arrowstyle="-|>", mutation_scale=12,
                                 linewidth=1.2, color="black"))
    ax.text((HBM_RIGHT + SRAM_LEFT) / 2, y + 0.08, label, ha="center", va="bottom", fontsize=FONT)


def draw_tiling(ax: Axes, query_block: int = 1, key_block: int = 2) -> Axes:
    """Draw the tiling on ``ax``: Q, K, V and O in HBM, the blocks ``query_block`` of Q and O and
    ``key_block`` of K and V highlighted, and what SRAM holds while they meet; return ``ax``."""
    ax.add_patch(Rectangle((0, 0), HBM_RIGHT, 5.0, facecolor=HBM_COLOUR, edgecolor="grey"))
    ax.text(0.15, 4.85, "HBM: large, slow\n(holds all of Q, K, V, O)", fontsize=FONT, va="top")
    bottom = 0.75
    for x, name, highlight, colour in [(0.3, "Q", query_block, QUERY_COLOUR), (1.25, "K", key_block, KEY_COLOUR),
                                       (2.2, "V", key_block, KEY_COLOUR), (3.15, "O", query_block, STATE_COLOUR)]:
        _matrix(ax, x, bottom, name, highlight, colour)
    ax.text(HBM_RIGHT / 2, 0.06, "blocks of rows: n rows in Q, O,\nm rows in K, V", ha="center",
            va="bottom", fontsize=FONT)

    ax.add_patch(Rectangle((SRAM_LEFT, 0.0), 10.4 - SRAM_LEFT, 5.0, facecolor=SRAM_COLOUR, edgecolor="grey"))
    ax.text(SRAM_LEFT + 0.15, 4.85, "SRAM: on chip, small, fast", fontsize=FONT, va="top")
    _tile(ax, 6.5, 3.3, MATRIX_W, BLOCK_H, QUERY_COLOUR, "$Q_i$")
    _tile(ax, 7.55, 3.3, MATRIX_W, BLOCK_H, KEY_COLOUR, "$K_j$, $V_j$")
    _tile(ax, 9.2, 3.3, BLOCK_H, BLOCK_H, "#d9d9d9", r"$S_{ij}=Q_iK_j^\top/\sqrt{d}$")
    _tile(ax, 6.5, 1.6, MATRIX_W, BLOCK_H, STATE_COLOUR, r"$\tilde O_i$")
    _tile(ax, 7.55, 1.6, 0.18, BLOCK_H, STATE_COLOUR, "$m_i$")
    _tile(ax, 7.95, 1.6, 0.18, BLOCK_H, STATE_COLOUR, r"$\ell_i$")
    ax.text(8.35, 1.6 + BLOCK_H / 2, "running max\nand sum, fp32", fontsize=FONT, va="center")
    ax.text(SRAM_LEFT + 0.15, 0.55, r"per block $j$: $m_i \leftarrow \max(m_i, \mathrm{rowmax}\,S_{ij})$,"
            "\n" r"rescale $\ell_i$, $\tilde O_i$ by $e^{m_\mathrm{old} - m_i}$, add block $j$",
            fontsize=FONT, va="center")

    _arrow(ax, 3.9, "$Q_i$, once", towards_sram=True)
    _arrow(ax, 2.8, "$K_j$, $V_j$, for\n$j = 1, 2, \\dots$", towards_sram=True)
    _arrow(ax, 1.3, "$O_i = \\tilde O_i/\\ell_i$ and\n$m_i + \\log \\ell_i$, once", towards_sram=False)
    ax.set_xlim(-0.05, 10.45)
    ax.set_ylim(-0.05, 5.05)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax
