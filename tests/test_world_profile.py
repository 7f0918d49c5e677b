"""tcclip.world.profile: TCCLIP_PROFILE and friends, read in one place."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import tcclip

from tcclip.world import profile as prof
from tcclip.world.profile import Profile, describe_missing, get_profile

ENV_VARS = ("TCCLIP_PROFILE", "TCCLIP_CACHE", "TCCLIP_DATA_ROOT", "TCCLIP_DEVICE")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)


def test_default_is_tiny():
    p = get_profile()
    assert p.name == "tiny" and p.is_tiny
    assert p.clip_model == "TC-Tiny"
    assert (p.num_frames, p.image_size, p.context_tokens) == (8, 64, 16)
    assert p.device in {"cpu", "cuda"}


def test_full_profile_values(monkeypatch, tmp_path):
    monkeypatch.setenv("TCCLIP_PROFILE", "full")
    monkeypatch.setenv("TCCLIP_DATA_ROOT", str(tmp_path))
    p = get_profile()
    assert p.name == "full" and not p.is_tiny
    assert (p.clip_model, p.pretrained) == ("ViT-B-16", "openai")
    assert (p.num_frames, p.image_size, p.context_tokens) == (16, 224, 96)
    assert p.data_root == tmp_path


def test_name_argument_overrides_env(monkeypatch):
    monkeypatch.setenv("TCCLIP_PROFILE", "full")
    assert get_profile("tiny").name == "tiny"
    monkeypatch.setenv("TCCLIP_PROFILE", " FULL ")
    assert get_profile().name == "full"


def test_unknown_profile_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("TCCLIP_PROFILE", "huge")
    with pytest.raises(ValueError, match="TCCLIP_PROFILE"):
        get_profile()


def test_profile_is_frozen():
    p = get_profile()
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.num_frames = 3  # type: ignore[misc]


def test_cache_dir_env_and_tiny_paths(monkeypatch, tmp_path):
    monkeypatch.setenv("TCCLIP_CACHE", str(tmp_path))
    p = get_profile("tiny")
    assert p.cache_dir == tmp_path
    assert Path(p.pretrained).parent == tmp_path / "weights"
    assert p.data_root == tmp_path
    from tcclip.data.registry import dataset_dir

    assert dataset_dir("synthetic", root=p.data_root) == tmp_path / "synthetic"
    assert p.weights_dir == tmp_path / "weights"


def test_default_cache_dir_in_checkout():
    # The package under test sits in a checkout exactly when pyproject.toml is beside it; the
    # answer must not depend on where profile.py sits inside the package (it moved once).
    checkout = Path(tcclip.__file__).resolve().parents[1]
    root = prof.repository_root()
    if (checkout / "pyproject.toml").is_file():
        assert root == checkout
        assert prof.default_cache_dir() == checkout / ".cache"
    else:  # installed, not a checkout
        assert root is None
        assert prof.default_cache_dir() == Path.home() / ".cache" / "tcclip"
    assert get_profile().cache_dir == prof.default_cache_dir()


def test_device_override(monkeypatch):
    monkeypatch.setenv("TCCLIP_DEVICE", "cpu")
    assert get_profile("full").device == "cpu"


def test_as_dict_and_str():
    p = get_profile()
    d = p.as_dict()
    assert set(d) == {f.name for f in dataclasses.fields(Profile)}
    assert isinstance(d["cache_dir"], str)
    assert "context_tokens" in str(p)


def test_describe_missing_full_reports_everything(monkeypatch, tmp_path):
    monkeypatch.setenv("TCCLIP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TCCLIP_DEVICE", "cpu")
    monkeypatch.setattr(prof, "_clip_weights_cached", lambda p: False)
    text = describe_missing(get_profile("full"))
    assert "GPU" in text
    assert "CLIP weights" in text and "open_clip" in text
    assert "TCCLIP_DATA_ROOT" in text
    assert text.count("->") == 3  # every item says how to get it


def test_describe_missing_full_empty_data_root(monkeypatch, tmp_path):
    monkeypatch.setenv("TCCLIP_DATA_ROOT", str(tmp_path / "nowhere"))
    monkeypatch.setenv("TCCLIP_DEVICE", "cpu")
    text = describe_missing(get_profile("full"))
    assert "No dataset at TCCLIP_DATA_ROOT" in text


def test_describe_missing_full_nothing_missing(monkeypatch, tmp_path):
    (tmp_path / "k400").mkdir()
    monkeypatch.setenv("TCCLIP_DATA_ROOT", str(tmp_path))
    monkeypatch.setenv("TCCLIP_DEVICE", "cuda")
    monkeypatch.setattr(prof, "_clip_weights_cached", lambda p: True)
    assert describe_missing(get_profile("full")) == ""


def test_clip_weights_found_in_own_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("TCCLIP_CACHE", str(tmp_path))
    p = get_profile("full")
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "ViT-B-16-openai.pt").write_bytes(b"x")
    assert prof._clip_weights_cached(p)


def test_describe_missing_tiny(monkeypatch, tmp_path):
    monkeypatch.setenv("TCCLIP_CACHE", str(tmp_path))
    p = get_profile("tiny")
    text = describe_missing(p)
    assert "synthetic world" in text and "weights" in text
    assert "GPU" not in text
    Path(p.pretrained).parent.mkdir(parents=True)
    Path(p.pretrained).write_bytes(b"x")
    (p.data_root / "synthetic").mkdir(parents=True)
    (p.data_root / "synthetic" / "manifest.json").write_text("{}")  # what the generator writes last
    assert describe_missing(p) == ""


def test_profile_world_of_an_older_generator_is_replaced(monkeypatch, tmp_path):
    """The profile's cache is tcclip's: a world written by another generator version (an old
    checkout's cache) is regenerated instead of stopping the first chapter with an error; a
    world of the current generator with other parameters is still refused."""
    import json

    from tcclip.world.assets import synthetic_world
    from tcclip.world.synthetic import GENERATOR_VERSION

    monkeypatch.setenv("TCCLIP_CACHE", str(tmp_path))
    root = tmp_path / "synthetic"
    root.mkdir()
    (root / "manifest.json").write_text(json.dumps({"params": {"version": GENERATOR_VERSION - 1, "size": "tiny"},
                                                    "param_hash": "old", "complete": True}))
    info = synthetic_world(get_profile("tiny"), size="tiny", workers=1)
    assert json.loads((root / "manifest.json").read_text())["params"]["version"] == GENERATOR_VERSION
    assert info.counts["train"] > 0
    manifest = json.loads((root / "manifest.json").read_text())
    (root / "manifest.json").write_text(json.dumps({**manifest, "param_hash": "other seed"}))
    with pytest.raises(FileExistsError, match="other parameters"):
        synthetic_world(get_profile("tiny"), size="tiny", workers=1)
