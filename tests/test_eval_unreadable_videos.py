"""Evaluation never scores one video under another's name: unreadable test videos are left out,
counted and named (issue 12: a broken video's replacement was scored as the broken video)."""
from __future__ import annotations

import csv
import json
import logging

import pytest
from conftest import copy_tiny_world

from tcclip.data import VideoDataset
from tcclip.train import compose_config
from tcclip.train.eval_checkpoint import evaluate_checkpoint
from tcclip.train.evaluate import evaluate


@pytest.fixture(scope="module")
def world(tiny_world_root, tmp_path_factory):
    """A copy of the tiny world with broken videos added to its video folder, and two lists over it."""
    root = copy_tiny_world(tiny_world_root, tmp_path_factory.mktemp("eval_unreadable") / "data")
    syn = root / "synthetic"
    (syn / "videos" / "bad").mkdir()
    (syn / "videos" / "bad" / "empty.mp4").write_bytes(b"")
    (syn / "videos" / "bad" / "junk.mp4").write_bytes(b"\x00not a video\x01" * 50)
    good = (syn / "test.txt").read_text().splitlines()
    # broken entries between good ones (one at the very start), labels of classes that also have good videos
    mixed = ["bad/empty.mp4 3", *good[:5], "bad/junk.mp4 5", *good[5:11], "bad/missing.mp4 1", *good[11:]]
    (root / "mixed.txt").write_text("\n".join(mixed) + "\n")
    (root / "good.txt").write_text("\n".join(good) + "\n")
    return root


def overrides(world, output):
    return ["profile=tiny", f"data.root={world}", "data.num_frames=4", "data.max_skip_rate=0.2",
            f"output={output}", "device=cpu"]


@pytest.fixture(scope="module")
def checkpoint(world, tiny_clip_path, tmp_path_factory):
    from tcclip import save_checkpoint
    from tcclip.train.protocols import build_run_model

    out = tmp_path_factory.mktemp("ckpt")
    cfg = compose_config([*overrides(world, out), f"model.pretrained={tiny_clip_path}", "model.options.num_context=4"])
    save_checkpoint(out / "best.pt", build_run_model(cfg, ["a", "b"]))
    return out / "best.pt"


def test_eval_leaves_unreadable_videos_out_of_metrics_and_predictions(world, checkpoint, tmp_path, caplog):
    syn = world / "synthetic"
    listed = dict(line.rsplit(maxsplit=1) for line in (world / "mixed.txt").read_text().splitlines())
    with caplog.at_level(logging.WARNING, logger="tcclip"):
        mixed = evaluate_checkpoint(compose_config(overrides(world, tmp_path / "mixed")), str(checkpoint),
                                    views=(1, 1), list_file=str(world / "mixed.txt"), video_root=str(syn / "videos"),
                                    labels=str(syn / "labels.csv"), predictions=True, name="eval")
    res = mixed["tests"]["mixed"]
    assert res["num_videos"] == 16 and res["skipped"] == 3
    assert [(r["path"], r["label"]) for r in res["unreadable"]] == [
        ("bad/empty.mp4", 3), ("bad/junk.mp4", 5), ("bad/missing.mp4", 1)]
    assert "empty" in res["unreadable"][0]["error"] and "does not exist" in res["unreadable"][2]["error"]
    # every prediction row is the video it names, with that video's listed label
    rows = list(csv.DictReader((tmp_path / "mixed" / "eval_predictions.csv").open()))
    assert len(rows) == 16 and not [r for r in rows if r["path"].startswith("bad/")]
    assert all(int(listed[r["path"]]) == int(r["label"]) for r in rows)
    # the metrics are exactly those of the list without the broken entries
    clean = evaluate_checkpoint(compose_config(overrides(world, tmp_path / "clean")), str(checkpoint), views=(1, 1),
                                list_file=str(world / "good.txt"), video_root=str(syn / "videos"),
                                labels=str(syn / "labels.csv"), name="eval")["tests"]["good"]
    assert (res["top1"], res["top5"]) == (clean["top1"], clean["top5"]) and clean["skipped"] == 0
    # the count is printed and the files are named; results.json keeps them
    warning = next(r.getMessage() for r in caplog.records if "left out of the metrics" in r.getMessage())
    assert "3 of 19 videos" in warning and all(f"bad/{n}.mp4" in warning for n in ("empty", "junk", "missing"))
    saved = json.loads((tmp_path / "mixed" / "eval.json").read_text())["tests"]["mixed"]
    assert [r["path"] for r in saved["unreadable"]] == ["bad/empty.mp4", "bad/junk.mp4", "bad/missing.mp4"]
    assert "3 unreadable" in (tmp_path / "mixed" / "eval.md").read_text()


def test_evaluate_with_workers_and_an_all_unreadable_batch(world, checkpoint, tmp_path):
    """DataLoader workers pass unreadable items through; a batch with no readable video is not run."""
    from tcclip.train.protocols import load_eval_model

    syn = world / "synthetic"
    cfg = compose_config(overrides(world, tmp_path))
    dataset = VideoDataset(world / "mixed.txt", syn / "videos", syn / "labels.csv", num_frames=4, mode="test",
                           size=int(cfg.data.size), max_skip_rate=0.2)
    model = load_eval_model(str(checkpoint), cfg, dataset.classnames)
    one = evaluate(model, dataset, batch_size=1, workers=2, return_predictions=True)  # batch 0: bad/empty.mp4 alone
    assert one["num_videos"] == 16 and one["skipped"] == 3 and len(one["predictions"]) == 16
    assert [r["index"] for r in one["unreadable"]] == [0, 6, 13]
    assert {r["index"] for r in one["predictions"]}.isdisjoint({0, 6, 13})
    whole = evaluate(model, dataset, batch_size=19)
    assert (whole["top1"], whole["top5"], whole["num_videos"]) == (one["top1"], one["top5"], 16)


def test_evaluation_still_stops_when_the_list_is_mostly_broken(world, checkpoint, tmp_path):
    from tcclip.data import TooManyCorruptVideosError

    syn = world / "synthetic"
    with pytest.raises(TooManyCorruptVideosError, match="2 of the 19 videos"):
        evaluate_checkpoint(compose_config([*overrides(world, tmp_path), "data.max_skip_rate=0.1"]), str(checkpoint),
                            views=(1, 1), list_file=str(world / "mixed.txt"), video_root=str(syn / "videos"),
                            labels=str(syn / "labels.csv"))
