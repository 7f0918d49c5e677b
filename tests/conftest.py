"""Shared fixtures and helpers: a tiny CLIP with random (seeded) weights in open_clip's layout, videos, label files."""
from __future__ import annotations

import csv
import hashlib
import importlib.util
import shutil
import sys
from pathlib import Path

import pytest
import torch

CLASSNAMES = ["ApplyEyeMakeup", "walking_the_dog", "a red square moving left", "jump", "Bowling"]


@pytest.fixture(scope="session")
def tiny_clip_path(tmp_path_factory):
    import open_clip

    from tcclip.models.backbone import register_tiny_configs

    register_tiny_configs()
    torch.manual_seed(0)
    model = open_clip.create_model("TC-Tiny", pretrained=None, force_quick_gelu=True, load_weights=False)
    # random init leaves some tensors at exactly 0/1 (biases, LN); perturb everything so that
    # a wrongly wired parameter cannot hide behind a neutral value
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    path = tmp_path_factory.mktemp("clip") / "tiny_clip.pt"
    torch.save(model.state_dict(), path)
    return str(path)


def tiny_model(name: str, classnames, pretrained, num_frames: int = 8, **options):
    """``tcclip.build_model(name, ...)`` on TC-Tiny as most tests build it: 8 frames, and for
    TC-CLIP 16 context tokens unless ``num_context`` is given."""
    import tcclip

    if name == "tc_clip":
        options.setdefault("num_context", 16)
    return tcclip.build_model(name, classnames, clip="TC-Tiny", pretrained=pretrained, num_frames=num_frames,
                              **options)


@pytest.fixture
def classnames():
    return list(CLASSNAMES)


def make_video(batch=2, frames=8, size=64, dtype=torch.float64, seed=0):
    # drawn in float64 and cast, so that every dtype gets the same video
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, frames, 3, size, size, generator=g, dtype=torch.float64).to(dtype)


def read_label_file(path) -> list[str]:
    """Class names of an ``id,name`` label CSV, checking the header and that ids run 0..C-1."""
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["id", "name"]
    assert [int(r[0]) for r in rows[1:]] == list(range(len(rows) - 1))
    return [r[1] for r in rows[1:]]


def load_tool(name: str, folder: str = "tools"):
    """``<folder>/<name>.py`` as a module (``tools/`` and ``benchmarks/`` are scripts, not packages)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses in the tool look their module up here
    spec.loader.exec_module(module)
    return module


def install_random_tiny_clip(tiny_clip_path: str, cache: Path) -> Path:
    """Make ``tiny_clip_path``'s random weights the tiny CLIP of the profile cache ``cache``.

    Without a sidecar saying they were made for the current world's stills, the profile would
    treat them as stale and pretrain a tiny CLIP first (minutes), which tests of the pipeline do
    not need. The sidecar says what they are: random weights, not a pretraining.
    """
    import json

    from tcclip.world.pretrain import sidecar_identity, sidecar_path
    from tcclip.world.profile import TINY_WEIGHTS_NAME

    weights = cache / "weights" / TINY_WEIGHTS_NAME
    weights.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(tiny_clip_path, weights)
    sidecar_path(weights).write_text(json.dumps({
        "note": "random TC-Tiny weights installed by the tests (no pretraining)", **sidecar_identity(),
        "metrics": {}}), encoding="utf-8")
    return weights


def _file_digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory):
    """The tiny synthetic world (its ``WorldInfo``), generated once per test session and shared: read it only.

    It lies at ``<data root>/synthetic``, where the registry looks for ``synthetic``. A test that
    changes files works on ``tiny_world_copy``. At the end of the session every file is checked
    against its digest at generation, so a test that writes into the shared world fails there.
    """
    from tcclip.world.synthetic import generate_video_world

    root = tmp_path_factory.mktemp("data")
    world = generate_video_world(root / "synthetic", seed=0, size="tiny")
    digests = _file_digests(root)
    yield world
    now = _file_digests(root)
    changed = sorted(k for k in digests.keys() | now.keys() if digests.get(k) != now.get(k))
    assert not changed, f"a test changed the shared tiny world (use tiny_world_copy): {changed[:10]}"


@pytest.fixture(scope="session")
def tiny_world_root(tiny_world) -> Path:
    """The data root holding the shared tiny world (``data.root=`` of a run); read it only."""
    return tiny_world.root.parent


def copy_tiny_world(tiny_world_root: Path, dest: Path) -> Path:
    """A private copy of the shared tiny world's data root at ``dest``, for a test that changes files."""
    shutil.copytree(tiny_world_root, dest)
    return dest


@pytest.fixture
def tiny_world_copy(tiny_world_root, tmp_path) -> Path:
    """This test's own copy of the tiny world's data root (``<copy>/synthetic``): free to break."""
    return copy_tiny_world(tiny_world_root, tmp_path / "data")
