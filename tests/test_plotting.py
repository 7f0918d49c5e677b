"""tcclip.book.plotting: the book's shared figure helpers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from tcclip.book.plotting import (  # noqa: E402
    colour_by_group,
    frame_strip,
    overlay_patches,
    set_book_style,
    show_image,
    to_display,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_set_book_style_runs():
    set_book_style()
    assert matplotlib.rcParams["savefig.bbox"] == "tight"


@pytest.mark.parametrize(
    "video",
    [
        torch.rand(4, 3, 16, 24),  # float, channel-first, [0, 1]
        (torch.rand(4, 16, 24, 3) * 255).to(torch.uint8),  # uint8, channel-last
        torch.randn(4, 3, 16, 24),  # CLIP-normalised-looking floats
        np.random.default_rng(0).integers(0, 255, (4, 3, 16, 24), dtype=np.uint8),
    ],
)
def test_to_display_shapes_and_range(video):
    out = to_display(video)
    assert out.shape == (4, 16, 24, 3) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1


def test_to_display_uint8_exact():
    v = np.full((2, 5, 5, 3), 255, dtype=np.uint8)
    assert np.allclose(to_display(v), 1.0)


def test_frame_strip_returns_figure_with_strip_image():
    fig = frame_strip(torch.rand(5, 3, 8, 8), titles=[f"f{i}" for i in range(5)])
    ax = fig.axes[0]
    img = ax.images[0].get_array()
    assert img.shape == (8, 5 * 8 + 4 * 2, 3)
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"f{i}" for i in range(5)]


def test_frame_strip_on_given_axis():
    fig, axes = plt.subplots(2, 1)
    out = frame_strip(np.zeros((3, 4, 4, 3), dtype=np.uint8), ax=axes[1], titles=[])
    assert out is fig and axes[1].images


def test_frame_strip_bad_titles():
    with pytest.raises(ValueError):
        frame_strip(torch.rand(3, 3, 4, 4), titles=["a"])


def test_overlay_mask_changes_exactly_the_masked_patches():
    frame = np.full((3, 8, 8), 0.5, dtype=np.float32)
    mask = np.zeros(4, dtype=bool)
    mask[1] = True  # top-right patch of a 2x2 grid
    out = overlay_patches(frame, mask, grid=(2, 2))
    assert out.shape == (8, 8, 3)
    changed = np.any(np.abs(out - 0.5) > 1e-6, axis=-1)
    expected = np.zeros((8, 8), dtype=bool)
    expected[0:4, 4:8] = True
    assert np.array_equal(changed, expected)
    # 2-D masks infer the grid; dimming touches the others
    dimmed = overlay_patches(frame, mask.reshape(2, 2), dim_unselected=0.5)
    assert np.allclose(dimmed[6, 1], 0.75)


def test_overlay_scores_heatmap():
    frame = torch.zeros(3, 12, 12)
    scores = torch.arange(9, dtype=torch.float32)
    out = overlay_patches(frame, scores, grid=3)
    assert out.shape == (12, 12, 3)
    assert not np.allclose(out[0, 0], out[-1, -1])  # lowest and highest score differ


def test_overlay_grid_mismatch():
    with pytest.raises(ValueError):
        overlay_patches(np.zeros((8, 8, 3)), np.zeros(5, dtype=bool), grid=(2, 2))


def test_colour_by_group_paints_group_means():
    # two frames of 4x4 pixels, 2x2 grid; group 0 = a red patch in frame 0 + a blue patch
    # in frame 1 -> both painted purple; everything else outside any group
    frames = np.zeros((2, 4, 4, 3), dtype=np.float32)
    frames[0, :2, :2] = [1, 0, 0]
    frames[1, 2:, 2:] = [0, 0, 1]
    ids = -np.ones((2, 4), dtype=int)
    ids[0, 0] = 0
    ids[1, 3] = 0
    out = colour_by_group(frames, ids)
    assert out.shape == (2, 4, 4, 3)
    assert np.allclose(out[0, 0, 0], [0.5, 0, 0.5])
    assert np.allclose(out[1, 3, 3], [0.5, 0, 0.5])
    # non-group patches are faded grey, not the group colour
    assert np.allclose(out[0, 3, 3], 0.85)
    kept = colour_by_group(frames, ids.reshape(2, 2, 2), background=None)
    assert np.allclose(kept[0, 3, 3], frames[0, 3, 3])


def test_show_image_composes_with_overlays():
    fig, axes = plt.subplots(1, 2)
    ax = show_image(overlay_patches(torch.rand(3, 8, 8), np.ones(4, dtype=bool), grid=2), ax=axes[0], title="seeds")
    assert ax is axes[0] and ax.images[0].get_array().shape == (8, 8, 3)
    assert ax.get_title() == "seeds" and not ax.get_xticks().size
    assert show_image(np.zeros((4, 6, 3))).images
