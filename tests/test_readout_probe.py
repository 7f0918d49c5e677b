"""tools/readout_probe.py: linear readouts of frozen frame features on the rings and the pairs (chapter 10)."""
from __future__ import annotations

import json

import pytest

from conftest import load_tool


def test_readout_probe_scores_every_readout_of_both_families(tmp_path, tiny_world_root, tiny_world):
    probe = load_tool("readout_probe")
    out = tmp_path / "probe.json"
    assert probe.main(["--out", str(out), "--data-root", str(tiny_world_root), "--size", "tiny",
                       "--random-weights", "--steps", "5", "--threads", "1"]) == 0
    record = json.loads(out.read_text())
    assert record["world_hash"] == tiny_world.param_hash and record["weights_digest"] is None
    families = record["families"]
    assert set(families) == {"across_frames", "time_direction"}
    for family, rec in families.items():
        names = [n for n in tiny_world.classes if tiny_world.families[n] == family]
        assert rec["classes"] == names
        # every training and test clip of the family's classes, nothing else
        assert rec["train_videos"] == 16 * len(names) and rec["test_videos"] == 2 * len(names)
        assert rec["chance_top1"] == pytest.approx(100 / len(names))
        assert set(rec["readouts"]) == {"mean over frames", "spread over frames", "frames in order"}
        for r in rec["readouts"].values():
            assert 0 <= r["train_top1"] <= 100 and 0 <= r["test_top1"] <= 100
    assert "| across frames | spread over frames |" in record["table"]
