"""Chapter 8's diagram of FlashAttention's tiling, drawn by attn.tiling_figure."""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle

from attn.tiling_figure import BLOCKS, FONT, draw_tiling


def drawn(query_block: int, key_block: int):
    ax = Figure(figsize=(6.8, 3.4)).subplots()
    return draw_tiling(ax, query_block=query_block, key_block=key_block)


def test_the_diagram_shows_both_memories_the_matrices_the_state_and_the_transfers():
    ax = drawn(1, 2)
    texts = " ".join(text.get_text() for text in ax.texts)
    for word in ["HBM", "SRAM", "Q", "K", "V", "O", "$m_i$", r"$\ell_i$", "once"]:
        assert word in texts, word
    assert len([p for p in ax.patches if isinstance(p, FancyArrowPatch)]) == 3
    assert min(text.get_fontsize() for text in ax.texts) >= 9 and FONT >= 9
    assert ax.figure.get_figwidth() <= 6.8


def test_the_highlighted_query_block_is_the_one_asked_for():
    def highlighted_q_block_top(ax) -> float:
        q_column = [p for p in ax.patches if isinstance(p, Rectangle) and round(p.get_x(), 3) == 0.3
                    and p.get_width() < 1]  # the blocks of Q in HBM
        assert len(q_column) == BLOCKS
        white = [p for p in q_column if p.get_facecolor()[:3] == (1.0, 1.0, 1.0)]
        assert len(white) == BLOCKS - 1
        return next(p.get_y() for p in q_column if p not in white)

    assert highlighted_q_block_top(drawn(0, 0)) > highlighted_q_block_top(drawn(BLOCKS - 1, 0))
