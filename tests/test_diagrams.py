"""The block diagrams of attn.diagrams: legible (9 pt or more, inside the figure, no label over
another), at most 6.8 in wide, and saying what the chapters say they say."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from attn import diagrams  # noqa: E402

DIAGRAMS = [diagrams.encoder_block, diagrams.encoder_pipelines, diagrams.multi_head_attention]


def texts_of(fig):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    return [(text, text.get_window_extent(renderer)) for text in fig.findobj(matplotlib.text.Text)
            if text.get_text().strip()]


@pytest.mark.parametrize("draw", DIAGRAMS, ids=lambda draw: draw.__name__)
def test_diagram_text_is_legible_and_inside(draw):
    fig = draw()
    try:
        assert fig.get_figwidth() <= 6.8
        placed = texts_of(fig)
        assert len(placed) >= 8
        frame = fig.bbox
        for text, extent in placed:
            assert text.get_fontsize() >= 9, text.get_text()
            assert frame.x0 <= extent.x0 and extent.x1 <= frame.x1, text.get_text()
            assert frame.y0 <= extent.y0 and extent.y1 <= frame.y1, text.get_text()
        boxes = [patch.get_window_extent() for patch in fig.axes[0].patches
                 if isinstance(patch, matplotlib.patches.FancyBboxPatch)]
        for text, extent in placed:  # a label that starts inside a box stays inside it
            centre = ((extent.x0 + extent.x1) / 2, (extent.y0 + extent.y1) / 2)
            for frame_of_box in boxes:
                if frame_of_box.contains(*centre) and frame_of_box.width > extent.width / 2:
                    assert (frame_of_box.x0 <= extent.x0 and extent.x1 <= frame_of_box.x1
                            and frame_of_box.y0 <= extent.y0 and extent.y1 <= frame_of_box.y1), text.get_text()
        for index, (text, extent) in enumerate(placed):
            for other, other_extent in placed[index + 1:]:
                assert not extent.overlaps(other_extent), (text.get_text(), other.get_text())
    finally:
        plt.close(fig)


def labels(fig) -> dict[str, list]:
    found: dict[str, list] = {}
    for text, extent in texts_of(fig):
        found.setdefault(text.get_text(), []).append(extent)
    return found


def test_the_correct_encoder_has_its_softmax_in_the_task_head_only():
    fig = diagrams.encoder_pipelines()
    try:
        found = labels(fig)
        middle = fig.bbox.x1 / 2
        norms = [extent for extent in found["add & norm"] if extent.x0 > middle]
        softmaxes = [(label, extent) for label, extents in found.items() for extent in extents
                     if "softmax" in label and extent.x0 > middle]
        assert len(norms) == 2 and len(softmaxes) == 1
        assert "task head" in softmaxes[0][0]
        assert softmaxes[0][1].y0 > max(extent.y1 for extent in norms)  # after the last block
        left = {label for label, extents in found.items() if any(extent.x1 < middle for extent in extents)}
        assert {"softmax", "ResNet / VGG"} <= left  # the article's version, for contrast
    finally:
        plt.close(fig)


def test_the_block_runs_attention_then_feed_forward_each_with_add_and_norm():
    fig = diagrams.encoder_block()
    try:
        found = labels(fig)
        order = sorted([(extents[0].y0, label) for label, extents in found.items()
                        if label in ("multi-head\nself-attention", "feed-forward")]
                       + [(extent.y0, "add & norm") for extent in found["add & norm"]])
        assert [label for _, label in order] == ["multi-head\nself-attention", "add & norm", "feed-forward",
                                                 "add & norm"]
        assert len(found["residual"]) == 2
    finally:
        plt.close(fig)


def test_multi_head_diagram_gives_the_shapes_of_every_stage():
    fig = diagrams.multi_head_attention(num_heads=4)
    try:
        text = " ".join(labels(fig))
        for shape in ("(B, n, d)", "(B, h, n, d/h)", "(B, h, n, n)", "h = 4"):
            assert shape in text, shape
        assert "merge" in text and "W_O" in text and "W_Q" in text
    finally:
        plt.close(fig)
