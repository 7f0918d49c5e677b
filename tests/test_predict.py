"""`python -m tcclip predict`: top-k tables, JSON, checkpoints, bad videos, --explain figures."""
from __future__ import annotations

import json

import pytest
import torch

import tcclip
from tcclip.book.explain import explain_video, group_ids_from_sources
from tcclip.cli.predict import main
from tcclip.data.sampling import ViewSpec, parse_views
from tcclip.predict import load_clip_views, predict_videos

from conftest import install_random_tiny_clip, tiny_model

CLASSES = ["a ring moving horizontally", "a blue striped circle staying still", "a red circle growing", "two green circles moving apart"]


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """Two generated clips of the synthetic world, a corrupt file and a missing path."""
    from tcclip.world.synthetic import build_classes, encode_mp4, render_video

    root = tmp_path_factory.mktemp("predict_videos")
    paths = {}
    for i, name in enumerate(CLASSES[:2]):
        paths[name] = root / f"clip{i}.mp4"
        encode_mp4(render_video(build_classes([name])[0], i, frames=(12, 12)), paths[name])
    paths["corrupt"] = root / "corrupt.mp4"
    paths["corrupt"].write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"not a video" * 50)
    paths["missing"] = root / "missing.mp4"
    return paths


@pytest.fixture(scope="module")
def tc_model(tiny_clip_path):
    torch.manual_seed(0)
    return tiny_model("tc_clip", CLASSES, tiny_clip_path)


@pytest.fixture
def tiny_cache(tmp_path, monkeypatch, tiny_clip_path):
    """A private TCCLIP_CACHE whose tiny weights are the test's random CLIP (no pretraining)."""
    install_random_tiny_clip(tiny_clip_path, tmp_path)
    monkeypatch.setenv("TCCLIP_CACHE", str(tmp_path))
    monkeypatch.setenv("TCCLIP_PROFILE", "tiny")
    return tmp_path


def test_views_are_sampled_as_the_test_split(videos):
    video, frames = load_clip_views(videos[CLASSES[0]], 8, 64, ViewSpec(2, 3))
    assert video.shape == (6, 8, 3, 64, 64) and video.dtype == torch.float32
    assert frames.shape == (8, 3, 64, 64) and frames.dtype == torch.uint8
    assert parse_views("2x1") == ViewSpec(2, 1)
    for bad in ("2", "0x1", "1x2", "axb"):
        with pytest.raises(ValueError, match="views"):
            parse_views(bad)


def test_predict_top_k_classes_and_probabilities(tc_model, videos):
    results = predict_videos(tc_model, [videos[CLASSES[0]], videos["corrupt"], videos[CLASSES[1]]], topk=3)
    assert [r["video"] for r in results] == [str(videos[CLASSES[0]]), str(videos["corrupt"]), str(videos[CLASSES[1]])]
    good = [results[0], results[2]]
    for r in good:
        assert r["error"] is None and len(r["top"]) == 3
        names = [t["class"] for t in r["top"]]
        probs = [t["prob"] for t in r["top"]]
        assert len(set(names)) == 3 and set(names) <= set(CLASSES)
        assert probs == sorted(probs, reverse=True) and all(0 < p < 1 for p in probs)
    # with k = number of classes the probabilities are the whole softmax
    full = predict_videos(tc_model, [videos[CLASSES[0]]], topk=10)[0]
    assert len(full["top"]) == len(CLASSES)
    assert sum(t["prob"] for t in full["top"]) == pytest.approx(1.0, abs=1e-4)
    # the same numbers as the model's own forward pass on the test-mode tensors
    video, _ = load_clip_views(videos[CLASSES[0]], 8, 64)
    with torch.no_grad():
        expected = tc_model(video).softmax(-1)[0]
    for t in full["top"]:
        assert t["prob"] == pytest.approx(float(expected[CLASSES.index(t["class"])]), abs=1e-5)
    assert results[1]["top"] == [] and "cannot decode" in results[1]["error"]


def test_cli_prints_table_reports_bad_videos_and_fails(tiny_cache, videos, capsys):
    rc = main([str(videos[CLASSES[0]]), str(videos["missing"]), str(videos["corrupt"]), "--classes", ",".join(CLASSES),
               "--topk", "2", "--model", "clip"])
    out, err = capsys.readouterr()
    assert rc == 1
    assert str(videos["missing"]) in err and str(videos["corrupt"]) in err and "does not exist" in err
    assert str(videos[CLASSES[0]]) in out and out.count("ERROR") == 2
    rows = [line.split() for line in out.splitlines() if line.strip()[:1] in "12" and line.strip()[1:2] == " "]
    assert len(rows) == 2  # rank 1 and 2 of the readable video


def test_cli_json_with_a_checkpoint_and_views(tc_model, tmp_path, videos, capsys, tiny_cache):
    ckpt = tcclip.save_checkpoint(tmp_path / "model.pt", tc_model)
    labels = tmp_path / "labels.csv"
    labels.write_text("id,name\n" + "".join(f"{i},{c}\n" for i, c in enumerate(CLASSES[::-1])))
    rc = main([str(videos[CLASSES[1]]), "--labels", str(labels), "--checkpoint", str(ckpt), "--json", "--views", "2x1"])
    out = capsys.readouterr().out
    assert rc == 0
    result = json.loads(out)[0]
    assert result["error"] is None and len(result["top"]) == len(CLASSES)
    assert {t["class"] for t in result["top"]} == set(CLASSES)
    assert sum(t["prob"] for t in result["top"]) == pytest.approx(1.0, abs=1e-4)


def test_cli_needs_classes(tiny_cache, videos, capsys):
    assert main([str(videos[CLASSES[0]])]) == 2
    assert "--classes" in capsys.readouterr().err


def test_group_ids_from_sources():
    sources = torch.zeros(3, 2, 4)  # k=3 tokens, T=2 frames, P=4 patches
    sources[0, 0, 1] = sources[2, 1, 3] = sources[1, 0, 0] = 1
    ids = group_ids_from_sources(sources)
    assert ids.tolist() == [[1, 0, -1, -1], [-1, -1, -1, 2]]


def test_explain_writes_a_png(tc_model, videos, tmp_path):
    out = explain_video(tc_model, videos[CLASSES[0]], tmp_path / "figs" / "explain.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 5000
    assert not [p for p in out.parent.iterdir() if p.name != "explain.png"]  # no temporary left behind
    with pytest.raises(ValueError, match="layer"):
        explain_video(tc_model, videos[CLASSES[0]], tmp_path / "x.png", layer=7)


def test_explain_needs_temporal_context(tiny_clip_path, videos, tmp_path):
    clip = tiny_model("clip", CLASSES, tiny_clip_path)
    with pytest.raises(ValueError, match="tc_clip"):
        explain_video(clip, videos[CLASSES[0]], tmp_path / "x.png")


def test_cli_explain(tiny_cache, videos, tmp_path, capsys):
    out = tmp_path / "e.png"
    rc = main([str(videos[CLASSES[0]]), str(videos[CLASSES[1]]), "--classes", ",".join(CLASSES), "--explain", str(out)])
    assert rc == 0, capsys.readouterr().err
    for i in range(2):
        assert (tmp_path / f"e-{i}.png").read_bytes()[:4] == b"\x89PNG"
