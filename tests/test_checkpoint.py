"""Checkpoints: the reference release's layout, this project's own files, WiSE-FT, bad files."""
from __future__ import annotations

import re

import pytest
import torch
from omegaconf import OmegaConf

import tcclip
from tcclip.checkpoint import (NOT_BLENDED, CheckpointError, DamagedCheckpointError, MissingClipWeightsError,
                               MissingModelSpecError, ModelSpecMismatchError, UnsafeCheckpointError, read_checkpoint)

from conftest import make_video, tiny_model

WIDTH = 128


def build(path, classnames, **opts):
    return tiny_model("tc_clip", classnames, path, **opts).double().eval()


def fine_tuned(path, classnames, seed=1, **opts):
    """A model whose every weight moved away from CLIP, standing in for a trained one."""
    model = build(path, classnames, **opts)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name != "text.token_embedding.weight":  # never trained (see TextEncoder.embed_prompts)
                p.add_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.05)
    return model


def reference_layout(model, dtype=torch.float16):
    """The reference release's .pth, as spec section 6 describes it."""
    ref = {}
    for key, value in model.state_dict().items():
        if key == "text.token_embedding.weight":
            continue  # not in the released files
        key = re.sub(r"^visual\.", "image_encoder.", key)
        key = re.sub(r"^prompt_generator\.", "text_encoder.prompt_generation_layer.0.", key)
        key = re.sub(r"^text\.", "text_encoder.", key)
        value = value.to(dtype) if value.is_floating_point() else value
        split = re.match(r"^(image_encoder\..*\.attn)\.in_proj_(weight|bias)$", key)
        if split:
            for part, chunk in zip("qkv", value.chunk(3, dim=0)):
                ref[f"module.{split.group(1)}.{part}_proj.{split.group(2)}"] = chunk.clone()
            continue
        ref[f"module.{key}"] = value
    # stale class-name embeddings of the training classes (400 of them in the real files)
    ref["module.prompt_learner.token_prefix"] = torch.randn(7, 1, WIDTH).to(dtype)
    ref["module.prompt_learner.token_suffix"] = torch.randn(7, 25, WIDTH).to(dtype)
    # what Hydra composes: nested dicts and lists of plain values
    config = OmegaConf.create({"trainer": {"name": "tc_clip"}, "num_frames": 16, "lr": 8e-6, "resume": None,
                               "data": {"train": [{"root": "k400", "num_classes": 400}], "flip": True}})
    return {"model": ref, "epoch": 9, "max_accuracy": 54.2, "config": config}


def test_reference_checkpoint_loads_and_changes_outputs(tiny_clip_path, classnames, tmp_path):
    trained = fine_tuned(tiny_clip_path, classnames)
    path = tmp_path / "best.pth"
    torch.save(reference_layout(trained, dtype=torch.float64), path)
    fresh = build(tiny_clip_path, classnames)
    video = make_video()
    with torch.no_grad():
        before = fresh(video)
        extra = tcclip.load_checkpoint(fresh, path)
        after = fresh(video)
        expected = trained(video)
    assert extra["epoch"] == 9 and extra["max_accuracy"] == 54.2
    assert not torch.allclose(before, after, atol=1e-3)
    torch.testing.assert_close(after, expected, rtol=0, atol=1e-12)


def test_reference_checkpoint_in_float16(tiny_clip_path, classnames, tmp_path):
    trained = fine_tuned(tiny_clip_path, classnames)
    path = tmp_path / "best_fp16.pth"
    torch.save(reference_layout(trained, dtype=torch.float16), path)
    fresh = build(tiny_clip_path, classnames)
    tcclip.load_checkpoint(fresh, path)
    for name, value in fresh.state_dict().items():
        if name != "text.token_embedding.weight":
            torch.testing.assert_close(value, trained.state_dict()[name].half().double(), rtol=0, atol=0, msg=name)


def test_wise_ft_blends_exactly(tiny_clip_path, classnames, tmp_path):
    trained = fine_tuned(tiny_clip_path, classnames)
    path = tmp_path / "best.pth"
    torch.save(reference_layout(trained, dtype=torch.float64), path)
    model = build(tiny_clip_path, classnames)
    clip_weights = {k: v.clone() for k, v in model.state_dict().items()}
    tcclip.load_checkpoint(model, path, wise_ft=0.7)
    kept = 0
    for name, value in model.state_dict().items():
        ft = trained.state_dict()[name]
        if NOT_BLENDED.search(name):
            kept += 1
            torch.testing.assert_close(value, ft, rtol=0, atol=0, msg=name)
        elif value.is_floating_point():
            torch.testing.assert_close(value, 0.3 * clip_weights[name] + 0.7 * ft, rtol=0, atol=1e-15, msg=name)
    n_bias = len(model.visual.transformer.resblocks) - 1
    assert kept == n_bias + 1 + len(dict(model.prompt_generator.named_parameters()))
    # the CLIP side is rebuilt from model.spec, not taken from what the model holds now
    blended = {k: v.clone() for k, v in model.state_dict().items()}
    tcclip.load_checkpoint(model, path, wise_ft=0.7)
    for name, value in model.state_dict().items():
        torch.testing.assert_close(value, blended[name], rtol=0, atol=0, msg=name)


def test_own_checkpoint_roundtrip(tiny_clip_path, classnames, tmp_path):
    trained = fine_tuned(tiny_clip_path, classnames)
    path = tcclip.save_checkpoint(tmp_path / "run" / "last.pt", trained, epoch=3)
    assert not list(path.parent.glob("*.tmp"))  # no temporary left behind
    payload = torch.load(path, weights_only=True)  # loadable without unpickling code
    assert payload["model_spec"] == trained.spec.to_dict() and payload["epoch"] == 3
    assert payload["model_spec"]["name"] == "tc_clip" and payload["model_spec"]["options"] == {"num_context": 16}
    fresh = build(tiny_clip_path, classnames)
    tcclip.load_checkpoint(fresh, path)
    with torch.no_grad():
        torch.testing.assert_close(fresh(make_video()), trained(make_video()), rtol=0, atol=0)


def test_wrong_shape_names_the_keys(tiny_clip_path, classnames, tmp_path):
    joint = fine_tuned(tiny_clip_path, classnames, positional_embedding="joint")
    path = tmp_path / "joint.pth"
    torch.save(reference_layout(joint), path)
    with pytest.raises(CheckpointError, match=r"visual\.positional_embedding: checkpoint \(8, 65, 128\)"):
        tcclip.load_checkpoint(build(tiny_clip_path, classnames), path)


def test_missing_and_unexpected_keys_are_named(tiny_clip_path, classnames, tmp_path):
    payload = reference_layout(fine_tuned(tiny_clip_path, classnames))
    del payload["model"]["module.image_encoder.ln_post.weight"]
    payload["model"]["module.image_encoder.extra_head.weight"] = torch.zeros(3)
    torch.save(payload, tmp_path / "bad.pth")
    model = build(tiny_clip_path, classnames)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(CheckpointError) as err:
        tcclip.load_checkpoint(model, tmp_path / "bad.pth")
    assert "visual.ln_post.weight" in str(err.value) and "visual.extra_head.weight" in str(err.value)
    for k, v in model.state_dict().items():  # never a partial load
        assert torch.equal(v, before[k])
    # a model without VP cannot take a TC-CLIP checkpoint silently
    with pytest.raises(CheckpointError, match="prompt_generator"):
        tcclip.load_checkpoint(build(tiny_clip_path, classnames, video_prompting=False), tmp_path / "bad.pth")


class NotAWeight:
    def __reduce__(self):
        return (print, ("this would run on load",))


def test_pickled_code_is_refused_unless_trusted(tiny_clip_path, classnames, tmp_path):
    trained = fine_tuned(tiny_clip_path, classnames)
    path = tmp_path / "suspicious.pth"
    torch.save({"model": trained.state_dict(), "hook": NotAWeight()}, path)
    with pytest.raises(UnsafeCheckpointError, match="trust_pickle=True"):
        read_checkpoint(path)
    fresh = build(tiny_clip_path, classnames)
    tcclip.load_checkpoint(fresh, path, trust_pickle=True)  # the user said so
    with pytest.raises(FileNotFoundError):
        read_checkpoint(tmp_path / "nope.pth")


def test_load_model_rebuilds_and_swaps_classes(tiny_clip_path, classnames, tmp_path):
    trained = fine_tuned(tiny_clip_path, classnames, merge="kmeans")
    path = tcclip.save_checkpoint(tmp_path / "best.pt", trained)
    model = tcclip.load_model(path).eval()
    assert model.spec == trained.spec and model.visual.cfg.merge == "kmeans" and model.classnames == trained.classnames
    assert next(model.parameters()).dtype == torch.float64  # the precision it was saved in
    with torch.no_grad():
        torch.testing.assert_close(model(make_video()), trained(make_video()), rtol=0, atol=0)
    other = tcclip.load_model(path, classnames=["juggling", "rowing"])
    assert other.num_classes == 2
    torch.save(reference_layout(trained), tmp_path / "ref.pth")
    with pytest.raises(MissingModelSpecError, match="spec=tcclip.ModelSpec"):
        tcclip.load_model(tmp_path / "ref.pth", classnames)
    with pytest.raises(ModelSpecMismatchError, match=r"merge: file 'kmeans' vs asked 'bipartite'"):
        tcclip.load_model(path, spec=trained.spec.replace(options={"num_context": 16}))


def test_missing_clip_weights_one_rule(tiny_clip_path, classnames, tmp_path):
    """Plain loading of this project's files never needs the CLIP weights; WiSE-FT and reference files do."""
    import shutil

    weights = tmp_path / "clip_copy.pt"
    shutil.copy(tiny_clip_path, weights)
    trained = fine_tuned(str(weights), classnames)
    path = tcclip.save_checkpoint(tmp_path / "best.pt", trained)
    torch.save(reference_layout(trained, dtype=torch.float64), tmp_path / "ref.pth")
    weights.unlink()  # the CLIP file the run started from is gone
    with torch.no_grad():
        torch.testing.assert_close(tcclip.load_model(path).eval()(make_video()), trained(make_video()), rtol=0, atol=0)
    with pytest.raises(MissingClipWeightsError, match=rf"WiSE-FT.*{weights.name} does not exist.*pretrained=PATH"):
        tcclip.load_model(path, wise_ft=0.5)
    with pytest.raises(MissingClipWeightsError, match="token embedding"):
        tcclip.load_model(tmp_path / "ref.pth", classnames, spec=trained.spec)
    # the fix the messages name: point the spec at a copy of the weights
    moved = trained.spec.replace(pretrained=tiny_clip_path)
    blend = tcclip.load_model(path, spec=moved, wise_ft=0.5)
    clip = build(tiny_clip_path, classnames).state_dict()
    key = "visual.transformer.resblocks.0.mlp.c_fc.weight"
    torch.testing.assert_close(blend.state_dict()[key], 0.5 * clip[key] + 0.5 * trained.state_dict()[key])
    ref = tcclip.load_model(tmp_path / "ref.pth", classnames, spec=moved).state_dict()  # built in float32
    for key, value in trained.state_dict().items():  # the file's weights, the token embedding from CLIP
        torch.testing.assert_close(ref[key], (clip if key == "text.token_embedding.weight" else trained.state_dict())[key].float(),
                                   rtol=0, atol=0, msg=key)


def test_older_files_with_build_args_still_load(tiny_clip_path, classnames, tmp_path):
    trained = fine_tuned(tiny_clip_path, classnames)
    payload = {"format": "tcclip", "model": trained.state_dict(), "classnames": trained.classnames,
               "build_args": dict(name="tc_clip", clip="TC-Tiny", pretrained=tiny_clip_path, num_frames=8,
                                  options={"num_context": 16})}
    torch.save(payload, tmp_path / "old.pt")
    model = tcclip.load_model(tmp_path / "old.pt")
    assert model.spec == trained.spec


class _ImportsAModule:
    """Pickles to omegaconf._utils._get_class("<module>", "X"): loading imports <module>."""

    def __init__(self, module):
        self.module = module

    def __reduce__(self):
        from omegaconf._utils import _get_class

        return (_get_class, (self.module, "X"))


def test_a_crafted_checkpoint_cannot_import_code(tiny_clip_path, classnames, tmp_path, monkeypatch):
    """omegaconf._utils._get_class imports any module by name: a file that uses it must not load."""
    import sys

    marker = tmp_path / "code_ran"
    (tmp_path / "tcclip_evil_module.py").write_text(f"open({str(marker)!r}, 'w').write('pwned')\nX = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "crafted.pth"
    config = OmegaConf.create({"trainer": {"name": "tc_clip"}})
    torch.save({"model": fine_tuned(tiny_clip_path, classnames).state_dict(), "config": config,
                "hook": _ImportsAModule("tcclip_evil_module")}, path)
    assert not marker.exists() and "tcclip_evil_module" not in sys.modules
    for load in (lambda: read_checkpoint(path), lambda: tcclip.load_checkpoint(build(tiny_clip_path, classnames), path),
                 lambda: tcclip.load_model(path, classnames, spec=tcclip.ModelSpec("tc_clip", "TC-Tiny", tiny_clip_path, 8))):
        with pytest.raises(UnsafeCheckpointError, match=r"omegaconf\._utils\._get_class"):
            load()
    assert not marker.exists() and "tcclip_evil_module" not in sys.modules  # nothing ran


@pytest.mark.parametrize("damage", ["empty", "truncated", "garbage"])
def test_a_damaged_checkpoint_names_the_file(tiny_clip_path, classnames, tmp_path, damage):
    path = tcclip.save_checkpoint(tmp_path / "last.pt", fine_tuned(tiny_clip_path, classnames))
    data = path.read_bytes()
    path.write_bytes({"empty": b"", "truncated": data[: len(data) // 2], "garbage": b"not a checkpoint"}[damage])
    with pytest.raises(DamagedCheckpointError, match=rf"{path} is damaged or not a checkpoint"):
        read_checkpoint(path)
    with pytest.raises(DamagedCheckpointError, match=str(path)):
        tcclip.load_model(path)


def test_export_to_reference_layout_round_trips(tiny_clip_path, classnames):
    from tcclip.checkpoint import convert_reference_state_dict, to_reference_state_dict

    trained = fine_tuned(tiny_clip_path, classnames)
    exported = to_reference_state_dict(trained.state_dict())
    # the exporter writes the same layout as the test's own independent construction
    assert exported.keys() == {k for k in reference_layout(trained)["model"] if "token_" not in k}
    back, dropped = convert_reference_state_dict(exported)
    assert dropped == []
    expected = {k: v for k, v in trained.state_dict().items() if k != "text.token_embedding.weight"}
    assert back.keys() == expected.keys()
    for key in expected:
        assert torch.equal(back[key], expected[key]), key
