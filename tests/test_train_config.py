"""Config composition (every protocol x model), schedule and optimizer groups."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from tcclip.train import compose_config, effective_batch
from tcclip.train.config import list_choices
from tcclip.train.optim import build_optimizer, build_scheduler, lr_factor, param_groups

# spec section 4 table: epochs (warm-up), lr -> min, total batch, train views, test views
RECIPES = {
    "zero_shot": dict(epochs=10, warmup_epochs=5, lr=8e-6, min_lr=8e-8, total_batch=256, train=(1, 1), test=(2, 1)),
    "few_shot": dict(epochs=50, warmup_epochs=5, lr=2e-6, min_lr=2e-8, total_batch=64, train=(2, 1), test=(2, 1)),
    "base2novel": dict(epochs=12, warmup_epochs=2, lr=3.33e-6, min_lr=3.33e-8, total_batch=64, train=(2, 1), test=(2, 1)),
    "fully_supervised": dict(epochs=30, warmup_epochs=5, lr=2.2e-5, min_lr=2.2e-7, total_batch=512, train=(1, 1),
                             test=(4, 3)),
}


def test_groups_exist():
    assert set(list_choices("protocol")) == set(RECIPES)
    assert set(list_choices("data")) == {"k400", "k600", "hmdb51", "ucf101", "ssv2", "synthetic"}
    assert set(list_choices("model")) == {"clip", "vifi_clip", "tc_clip"}
    assert {"gpu24gb", "gpu80gb"} <= set(list_choices("preset"))


@pytest.mark.parametrize("model", ["clip", "vifi_clip", "tc_clip"])
@pytest.mark.parametrize("protocol", list(RECIPES))
def test_paper_recipe_per_protocol_and_model(protocol, model, monkeypatch):
    monkeypatch.delenv("TCCLIP_PROFILE", raising=False)
    cfg = compose_config([f"protocol={protocol}", f"model={model}"])
    r = RECIPES[protocol]
    p = cfg.protocol
    assert (p.name, p.epochs, p.warmup_epochs, p.total_batch) == (protocol, r["epochs"], r["warmup_epochs"], r["total_batch"])
    assert math.isclose(p.lr, r["lr"]) and math.isclose(p.min_lr, r["min_lr"])
    assert (p.train_clips, p.train_crops) == r["train"] and (p.test_clips, p.test_crops) == r["test"]
    assert cfg.model.name == model and cfg.model.clip == "ViT-B-16" and cfg.model.pretrained == "openai"
    assert (cfg.data.num_frames, cfg.data.size) == (16, 224)
    t = cfg.train
    assert (list(t.betas), t.weight_decay, t.label_smoothing, t.mixup, t.cutmix, t.switch_prob, t.prompt_lr_mult) == (
        [0.9, 0.98], 0.001, 0.1, 0.8, 1.0, 0.5, 10.0)
    if protocol == "zero_shot":
        assert cfg.data.name == "k400" and cfg.eval.wise_ft == 0.7
        assert [(t.name, list(t.splits)) for t in cfg.protocol.targets] == [
            ("hmdb51", [1, 2, 3]), ("ucf101", [1, 2, 3]), ("k600", [1, 2, 3])]


def test_command_line_example_and_options():
    cfg = compose_config(["protocol=few_shot", "data=hmdb51", "model=tc_clip", "data.shots=2", "data.split=1",
                          "output=runs/x", "model.options.num_context=64", "model.options.merge=kmeans"])
    assert (cfg.data.name, cfg.data.shots, cfg.data.split, cfg.output) == ("hmdb51", 2, 1, "runs/x")
    assert dict(cfg.model.options) == {"num_context": 64, "merge": "kmeans"}
    assert compose_config(["data=ssv2"]).data.flip is False


def test_tiny_profile(monkeypatch):
    monkeypatch.delenv("TCCLIP_PROFILE", raising=False)
    cfg = compose_config(["profile=tiny", "protocol=zero_shot"])
    assert (cfg.profile, cfg.data.name, cfg.model.clip, cfg.model.pretrained) == ("tiny", "synthetic", "TC-Tiny", "auto")
    assert (cfg.data.size, cfg.data.num_frames, cfg.train.amp) == (64, 8, "none")
    assert [t.name for t in cfg.protocol.targets] == ["synthetic"]
    assert compose_config(["protocol=few_shot"], profile="tiny").profile == "tiny"
    assert compose_config(["protocol=few_shot", "data=hmdb51"], profile="tiny").data.name == "hmdb51"  # explicit wins
    assert compose_config(["profile=full"], profile="tiny").model.clip == "ViT-B-16"  # an override beats the argument


def test_the_library_never_reads_the_profile_from_the_environment(monkeypatch):
    """TCCLIP_PROFILE is read in one place (tcclip.world.profile), with one default."""
    from tcclip.cli.train import _compose

    monkeypatch.setenv("TCCLIP_PROFILE", "tiny")
    assert compose_config(["protocol=few_shot"]).profile == "full"  # the library: what it is told
    assert _compose(["protocol=few_shot"]).profile == "tiny"  # the command line: the environment
    monkeypatch.delenv("TCCLIP_PROFILE")
    assert _compose(["protocol=few_shot"]).profile == "tiny"  # one default everywhere
    from tcclip.world.profile import get_profile

    assert get_profile().name == "tiny"


def test_presets_and_overrides_order():
    cfg = compose_config(["preset=gpu24gb", "train.batch_per_gpu=2"])
    assert cfg.train.grad_checkpointing is True and cfg.train.batch_per_gpu == 2 and cfg.train.amp == "bf16"
    assert compose_config(["preset=gpu80gb"]).train.batch_per_gpu == 32


@pytest.mark.parametrize("preset", ["gpu24gb", "gpu80gb"])
@pytest.mark.parametrize("protocol", list(RECIPES))
def test_single_gpu_presets_reach_every_recipe_batch(protocol, preset):
    cfg = compose_config([f"protocol={protocol}", f"preset={preset}"], profile="full")
    accumulation = effective_batch(int(cfg.protocol.total_batch), int(cfg.train.batch_per_gpu), 1)
    assert accumulation * cfg.train.batch_per_gpu == RECIPES[protocol]["total_batch"]
    assert cfg.train.amp == "bf16" and cfg.data.num_frames == 16 and cfg.data.size == 224


@pytest.mark.parametrize("bad, match", [("protocol=nope", "unknown protocol"), ("train.no_such_key=1", "bad override"),
                                        ("data.shots", "key=value"), ("profile=huge", "unknown profile")])
def test_bad_overrides(bad, match):
    with pytest.raises(ValueError, match=match):
        compose_config([bad])


def test_effective_batch():
    assert effective_batch(256, 8, 4) == 8
    assert effective_batch(64, 8, 1) == 8
    with pytest.raises(ValueError, match="multiple"):
        effective_batch(64, 6, 1)


def test_lr_schedule_warmup_cosine():
    total, warm, ratio = 100, 10, 0.01
    f = [lr_factor(s, total, warm, ratio) for s in range(total + 1)]
    assert f[0] == pytest.approx(0.1) and f[9] == pytest.approx(1.0) and f[10] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(f[10:], f[11:]))  # monotone decay after warm-up
    assert f[total] == pytest.approx(ratio)
    assert f[55] == pytest.approx(ratio + (1 - ratio) * 0.5)  # half way through the cosine


class _Toy(nn.Module):
    def __init__(self):
        super().__init__()
        self.visual = nn.Linear(3, 3)
        self.prompt_learner = nn.Module()
        self.prompt_learner.ctx = nn.Parameter(torch.zeros(4, 3))
        self.prompt_generator = nn.Linear(3, 3)
        self.logit_scale = nn.Parameter(torch.ones(()))


def test_param_groups_decay_and_prompt_lr():
    model = _Toy()
    groups = {tuple(g["names"]): g for g in param_groups(model, 1e-3, 0.001, 10.0)}
    by_name = {n: (g["lr"], g["weight_decay"]) for names, g in groups.items() for n in names}
    assert by_name["visual.weight"] == (1e-3, 0.001)
    assert by_name["visual.bias"] == (1e-3, 0.0) and by_name["logit_scale"] == (1e-3, 0.0)
    assert by_name["prompt_learner.ctx"] == (pytest.approx(1e-2), 0.001)  # 2-D: decayed, 10x lr
    assert by_name["prompt_generator.weight"] == (pytest.approx(1e-2), 0.001)
    assert by_name["prompt_generator.bias"] == (pytest.approx(1e-2), 0.0)
    opt = build_optimizer(model, 1e-3, betas=(0.9, 0.98))
    assert all(g["betas"] == (0.9, 0.98) for g in opt.param_groups)
    sched = build_scheduler(opt, total_steps=10, warmup_steps=2, lr=1e-3, min_lr=1e-5)
    for _ in range(10):
        opt.step()
        sched.step()
    lrs = sorted(g["lr"] for g in opt.param_groups)
    assert lrs[0] == pytest.approx(1e-5) and lrs[-1] == pytest.approx(1e-4)  # prompts keep 10x down to min


def test_positional_lr_mult_moves_only_the_positional_embedding():
    class Joint(_Toy):
        def __init__(self):
            super().__init__()
            self.visual.positional_embedding = nn.Parameter(torch.zeros(8, 5, 3))  # a joint [T, N, D] table

    model = Joint()
    recipe = [sorted(g["names"]) for g in param_groups(model, 1e-3, 0.001, 10.0)]  # the recipe's four groups
    assert recipe == [["visual.positional_embedding", "visual.weight"], ["prompt_generator.weight", "prompt_learner.ctx"],
                      ["logit_scale", "visual.bias"], ["prompt_generator.bias"]]
    by_name = {n: g["lr"] for g in param_groups(model, 1e-3, 0.001, 10.0, positional_lr_mult=3.0) for n in g["names"]}
    assert by_name["visual.positional_embedding"] == pytest.approx(3e-3)
    assert by_name["visual.weight"] == pytest.approx(1e-3) and by_name["prompt_learner.ctx"] == pytest.approx(1e-2)
    cfg = compose_config(["train.positional_lr_mult=10"])
    assert cfg.train.positional_lr_mult == 10
    with pytest.raises(ValueError, match="positional_lr_mult"):
        compose_config(["train.positional_lr_mult=-1"])


def test_zero_shot_targets_pick_the_k600_variant():
    from tcclip.train import test_sets

    cfg = compose_config(["protocol=zero_shot"])
    assert [(t["key"], t["subset"]) for t in test_sets(cfg)][-3:] == [
        ("k600/split1", "test"), ("k600/split2", "test"), ("k600/split3", "test")]  # the published lists by default
    cfg = compose_config(["protocol=zero_shot", "protocol.targets=[{name: k600, splits: [1, 2], subset: val}]"])
    sets = test_sets(cfg)
    assert [(t["key"], t["group"], t["subset"]) for t in sets] == [("k600/val/split1", "k600/val", "val"),
                                                                   ("k600/val/split2", "k600/val", "val")]


@pytest.mark.parametrize("bad, key, says", [
    ("protocol.epochs=abc", "protocol.epochs", "could not be converted to Integer"),
    ("log.csv=maybe", "log.csv", "not a valid bool"),
    ("train.max_steps=abc", "train.max_steps", "could not be converted to Integer"),
    ("protocol.lr=fast", "protocol.lr", "could not be converted to Float"),
    ("train.amp=fp8", "train.amp", "choose one of bf16, fp16, none"),
    ("train.dtype=float16", "train.dtype", "choose one of float32, float64"),
    ("data.label_source=gpt", "data.label_source", "choose one of names, llm"),
    ("device=gpu", "device", "cuda:N"),
    ("eval.wise_ft=1.5", "eval.wise_ft", r"out of range: it must be \[0, 1\]"),
    ("protocol.epochs=0", "protocol.epochs", "out of range"),
    ("model.options.merge=kmean", "merge", "must be one of 'bipartite'"),
    ("model.options.num_context=abc", "num_context", "must be of type int"),
    ("model.options.nmu_context=3", "nmu_context", "unknown option"),
])
def test_a_wrong_value_fails_at_composition_naming_the_key(bad, key, says):
    """Typed schema + one validation pass: nothing wrong reaches training (issue 12)."""
    with pytest.raises(ValueError, match=rf"{key}.*{says}|{says}.*{key}"):
        compose_config([bad])


def test_the_schema_holds_every_key_of_every_file():
    """Each group file composes against RunConfig (a key missing from the schema would fail here)."""
    from tcclip.train.config import RunConfig

    for protocol in RECIPES:
        for profile in ("full", "tiny"):
            cfg = compose_config([f"protocol={protocol}", "preset=gpu24gb"], profile=profile)
            assert OmegaConfType(cfg) is RunConfig
    for data in list_choices("data"):
        compose_config([f"data={data}"])
    cfg = compose_config(["protocol=zero_shot"])
    assert isinstance(cfg.protocol.lr, float) and isinstance(cfg.protocol.epochs, int)


def OmegaConfType(cfg):
    from omegaconf import OmegaConf

    return OmegaConf.get_type(cfg)


def test_machine_info_names_the_processor(tmp_path, monkeypatch):
    """Results record the CPU model: the same run rounds differently on another processor."""
    import builtins

    from tcclip.train import protocols

    fake = tmp_path / "cpuinfo"
    fake.write_text("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Processor\n")
    real_open = builtins.open
    monkeypatch.setattr(builtins, "open",
                        lambda path, *a, **k: real_open(fake if path == "/proc/cpuinfo" else path, *a, **k))
    assert protocols.machine_info()["cpu_model"] == "Intel(R) Xeon(R) Processor"
    fake.write_text("processor\t: 0\n")
    assert protocols.cpu_model() is None
