"""tools/frame_probe.py: the single-frame probe behind issue 14's shape-or-budget question."""
from __future__ import annotations

import json

import numpy as np

from conftest import load_tool


def test_pattern_frames_draw_the_named_fill():
    probe = load_tool("frame_probe")
    from tcclip.world.synthetic import COLOURS

    red = np.array(COLOURS["red"], np.float32)
    share = {}
    for pattern in probe.PATTERNS:
        # the same nuisance for every pattern: only the fill differs
        frame = probe.pattern_frame(np.random.default_rng(3), "red", pattern).astype(np.float32)
        near = np.abs(frame - red).max(-1) < 40
        share[pattern] = near.sum()
    # solid covers the disc; hollow keeps its outer ring; stripes and checks about half of it
    assert share["solid"] > share["hollow"] > 0.4 * share["solid"]
    for pattern in ("striped", "checkered"):
        assert 0.3 * share["solid"] < share[pattern] < 0.7 * share["solid"], share


def test_probe_writes_a_curve_with_chance_and_attribute_shares(tmp_path):
    probe = load_tool("frame_probe")
    frames, labels, colour_of, attr_of = probe.make_frames("shape", 24)
    assert frames.shape == (24, 64, 64, 3) and frames.dtype == np.uint8
    assert len(colour_of) == len(attr_of) == 16 and labels.max() < 16  # the world's appearance classes
    out = tmp_path / "p.json"
    assert probe.main(["--task", "pattern", "--steps", "2", "--every", "1", "--frames", "40", "--holdout", "16",
                       "--batch", "4", "--threads", "1", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["classes"] == 24 and result["chance_top1"] == round(100 / 24, 2)
    assert [p["step"] for p in result["curve"]] == [0, 1, 2]
    for point in result["curve"]:
        assert 0 <= point["top1"] <= min(point["colour_right"], point["attribute_right"]) <= 100
