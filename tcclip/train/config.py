"""Run configuration: YAML files composed Hydra-style with OmegaConf (no Hydra needed), checked
against a typed schema.

A run is ``base.yaml`` merged with one file from each group (``protocol/``, ``data/``,
``model/``), then the ``tiny`` profile if asked for, then optional presets (``preset/``), then
command-line dotlist overrides. Group choices are written ``group=name`` among the overrides:

    compose_config(["protocol=few_shot", "data=hmdb51", "model=tc_clip", "data.shots=2"])

The schema (:class:`RunConfig`, OmegaConf structured configs) types every key, so
``protocol.epochs=abc`` fails at composition with the key named; :func:`validate_config` then
checks the choices (``train.amp``, ``data.label_source``, ...), the ranges and the model
options (as a ``tcclip.ModelSpec``), once, before any work starts.

Hydra itself is not used because the project needs only this one composition rule, and a
plain function keeps configs importable from notebooks and tests without global state.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence

from omegaconf import DictConfig, OmegaConf

__all__ = ["GROUPS", "RunConfig", "config_dir", "list_choices", "compose_config", "validate_config",
           "split_overrides", "effective_batch"]

#: Config groups in merge order; ``profile`` and ``preset`` are optional.
GROUPS: tuple[str, ...] = ("protocol", "data", "model", "profile", "preset")
PROTOCOLS: tuple[str, ...] = ("zero_shot", "few_shot", "base2novel", "fully_supervised")


# ----------------------------------------------------------------------------------------
# the schema: base.yaml's sections, typed (values and comments live in the YAML files)
# ----------------------------------------------------------------------------------------

@dataclass
class TargetConfig:
    """A zero-shot test target: a dataset, its splits, and the subset ("test"; K-600 also "val")."""

    name: str = "???"
    splits: List[Optional[int]] = field(default_factory=list)
    subset: Optional[str] = None


@dataclass
class ProtocolConfig:
    name: str = "fully_supervised"
    epochs: int = 30
    warmup_epochs: int = 5
    lr: float = 2.2e-5
    min_lr: float = 2.2e-7
    total_batch: int = 512
    train_clips: int = 1
    train_crops: int = 1
    test_clips: int = 4
    test_crops: int = 3
    steps_per_epoch: Optional[int] = None
    targets: List[TargetConfig] = field(default_factory=list)


@dataclass
class AugmentConfig:
    """Training augmentation strengths (``tcclip.data.transforms.TrainAugment``)."""

    scale: List[float] = field(default_factory=lambda: [0.08, 1.0])
    ratio: List[float] = field(default_factory=lambda: [0.75, 1.3333333333333333])
    color_jitter_p: float = 0.8
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.4
    hue: float = 0.1
    grayscale_p: float = 0.2


@dataclass
class DataConfig:
    name: str = "k400"
    root: Optional[str] = None
    split: int = 1
    shots: Optional[int] = None
    num_frames: int = 16
    size: int = 224
    workers: int = 8
    flip: bool = True
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    label_source: str = "names"
    max_skip_rate: float = 0.05
    backend: str = "auto"
    val_subset: str = "val"


@dataclass
class ModelConfig:
    name: str = "tc_clip"
    clip: str = "ViT-B-16"
    pretrained: Optional[str] = "openai"
    options: Dict[str, Any] = field(default_factory=dict)  # checked as a tcclip.ModelSpec


@dataclass
class TrainConfig:
    batch_per_gpu: int = 8
    amp: str = "bf16"
    dtype: str = "float32"
    label_smoothing: float = 0.1
    mixup: float = 0.8
    cutmix: float = 1.0
    switch_prob: float = 0.5
    weight_decay: float = 0.001
    betas: List[float] = field(default_factory=lambda: [0.9, 0.98])
    eps: float = 1e-8
    prompt_lr_mult: float = 10.0
    positional_lr_mult: float = 1.0
    clip_grad: Optional[float] = None
    grad_checkpointing: bool = False
    compile: bool = False
    find_unused_parameters: bool = False
    max_steps: Optional[int] = None
    checkpoint_every: int = 0
    deterministic: bool = False


@dataclass
class EvalConfig:
    batch_size: int = 8
    every_epochs: int = 1
    val_clips: int = 1
    val_crops: int = 1
    train_probe: int = 0
    test: bool = True
    wise_ft: Optional[float] = None
    save_predictions: bool = False


@dataclass
class LogConfig:
    every: int = 10
    csv: bool = True
    tensorboard: bool = True
    wandb: bool = False
    wandb_project: str = "tcclip"
    progress: bool = True


@dataclass
class RunConfig:
    """The schema of a composed run config (``base.yaml`` holds the values and says what they mean)."""

    seed: int = 0
    output: str = "runs/default"
    profile: str = "full"
    device: str = "auto"
    resume: str = "auto"
    protocol: ProtocolConfig = field(default_factory=ProtocolConfig)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    log: LogConfig = field(default_factory=LogConfig)
    choices: Dict[str, Any] = field(default_factory=dict)  # the group files picked (set by compose_config)


#: Keys that take one of a few names: checked once, here.
CHOICES: dict[str, tuple[str, ...]] = {
    "protocol.name": PROTOCOLS,
    "train.amp": ("bf16", "fp16", "none"),
    "train.dtype": ("float32", "float64"),
    "data.label_source": ("names", "llm"),
    "data.backend": ("auto", "decord", "pyav"),
}
#: Numeric keys and the interval they must lie in (None: unbounded); a None value is allowed
#: wherever the schema says Optional.
RANGES: dict[str, tuple[Optional[float], Optional[float]]] = {
    "seed": (0, None), "protocol.epochs": (1, None), "protocol.warmup_epochs": (0, None), "protocol.lr": (0, None),
    "protocol.min_lr": (0, None), "protocol.total_batch": (1, None), "protocol.train_clips": (1, None),
    "protocol.train_crops": (1, 1), "protocol.test_clips": (1, None), "protocol.test_crops": (1, None),
    "protocol.steps_per_epoch": (1, None), "data.shots": (1, None), "data.num_frames": (1, None),
    "data.size": (1, None), "data.workers": (0, None), "data.max_skip_rate": (0, 1), "train.batch_per_gpu": (1, None),
    "train.label_smoothing": (0, 1), "train.mixup": (0, None), "train.cutmix": (0, None), "train.switch_prob": (0, 1),
    "train.weight_decay": (0, None), "train.eps": (0, None), "train.prompt_lr_mult": (0, None),
    "train.positional_lr_mult": (0, None),
    "train.clip_grad": (0, None), "train.max_steps": (0, None), "train.checkpoint_every": (0, None),
    "eval.batch_size": (1, None), "eval.every_epochs": (0, None), "eval.val_clips": (1, None),
    "eval.val_crops": (1, None), "eval.train_probe": (0, None),
    "data.augment.color_jitter_p": (0, 1), "data.augment.grayscale_p": (0, 1), "data.augment.brightness": (0, None),
    "data.augment.contrast": (0, None), "data.augment.saturation": (0, None), "data.augment.hue": (0, 0.5), "eval.wise_ft": (0, 1), "log.every": (1, None),
}
DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def validate_config(cfg: DictConfig) -> DictConfig:
    """Check what the schema's types cannot: choices, ranges, the device and the model options.

    Raises ValueError naming the key, the value and what is allowed; returns ``cfg``.
    """
    for key, allowed in CHOICES.items():
        value = OmegaConf.select(cfg, key)
        if value not in allowed:
            raise ValueError(f"{key}={value!r}: choose one of {', '.join(allowed)}")
    for key, (low, high) in RANGES.items():
        value = OmegaConf.select(cfg, key)
        if value is not None and ((low is not None and value < low) or (high is not None and value > high)):
            bounds = f"[{low}, {high}]" if high is not None else f">= {low}"
            raise ValueError(f"{key}={value!r} is out of range: it must be {bounds}")
    if not DEVICE.match(str(cfg.device)):
        raise ValueError(f"device={cfg.device!r}: use auto, cpu, cuda or cuda:N")
    if len(cfg.train.betas) != 2 or not all(0 <= b < 1 for b in cfg.train.betas):
        raise ValueError(f"train.betas={list(cfg.train.betas)}: two values in [0, 1)")
    from ..models import ModelSpec

    try:  # the model options, checked as the model will get them (pretrained may still be "auto")
        ModelSpec(str(cfg.model.name), str(cfg.model.clip), cfg.model.pretrained, int(cfg.data.num_frames),
                  OmegaConf.to_container(cfg.model.options, resolve=True) or {})
    except ValueError as err:
        raise ValueError(f"model: {err}") from None
    return cfg


def config_dir() -> Path:
    """The folder holding base.yaml and the group folders (shipped inside the package)."""
    return Path(str(resources.files("tcclip") / "configs"))


def list_choices(group: str) -> list[str]:
    """The file names (without .yaml) available in a group."""
    folder = config_dir() / group
    return sorted(p.stem for p in folder.glob("*.yaml"))


def _load(group: str, name: str) -> DictConfig:
    path = config_dir() / group / f"{name}.yaml"
    if not path.is_file():
        raise ValueError(f"unknown {group} {name!r}: choose one of {', '.join(list_choices(group))} "
                         f"(files in {config_dir() / group})")
    cfg = OmegaConf.load(path)
    assert isinstance(cfg, DictConfig)
    return cfg


def split_overrides(overrides: Iterable[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Separate group choices (``data=hmdb51``, ``preset=gpu24gb,other``) from dotlist values."""
    choices: dict[str, list[str]] = {}
    values: list[str] = []
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"override {item!r} is not of the form key=value (e.g. data.shots=2 or protocol=few_shot)")
        key, value = item.split("=", 1)
        key = key.strip().lstrip("+")
        if key in GROUPS:
            choices[key] = [v for v in value.split(",") if v] if key == "preset" else [value]
        else:
            values.append(f"{key}={value}")
    return choices, values


def compose_config(overrides: Sequence[str] = (), profile: str = "full") -> DictConfig:
    """The run configuration for ``overrides`` (group choices and dotlist ``key=value`` items).

    ``profile`` ("full", the paper's setting, or "tiny") picks ``profile/<name>.yaml``; a
    ``profile=...`` among the overrides wins. This function never reads the environment: the
    command line and the book choose the profile (``tcclip.world.profile.profile_name``). Under
    the tiny profile the data group defaults to ``synthetic`` unless ``data=`` is given. Unknown
    keys in dotlist overrides are an error (a typo would otherwise be silently ignored), and so
    is a value of the wrong type or out of its range (:func:`validate_config`).
    """
    choices, values = split_overrides(overrides)
    base = OmegaConf.load(config_dir() / "base.yaml")
    defaults = base.pop("defaults")
    prof = choices["profile"][0] if "profile" in choices else profile
    if prof not in list_choices("profile"):
        raise ValueError(f"unknown profile {prof!r}: use profile={' or profile='.join(list_choices('profile'))}")
    picked = {g: choices.get(g, [defaults[g]])[0] for g in ("protocol", "data", "model")}
    if prof == "tiny" and "data" not in choices:
        picked["data"] = "synthetic"
    parts = [(config_dir() / "base.yaml", base)]
    parts += [(config_dir() / g / f"{picked[g]}.yaml", _load(g, picked[g])) for g in ("protocol", "data", "model")]
    parts.append((config_dir() / "profile" / f"{prof}.yaml", _load("profile", prof)))
    for preset in choices.get("preset", []):
        parts.append((config_dir() / "preset" / f"{preset}.yaml", _load("preset", preset)))
    cfg = OmegaConf.structured(RunConfig)
    for path, part in parts:
        try:
            cfg.merge_with(part)
        except Exception as err:  # omegaconf's ValidationError / ConfigKeyError: a file that breaks the schema
            raise ValueError(f"{path} does not fit the config schema (tcclip.train.config.RunConfig): "
                             + str(err).split("\n")[0]) from None
    cfg.choices = {**picked, "profile": prof, "preset": choices.get("preset", [])}
    OmegaConf.set_struct(cfg, True)
    for item in values:
        key = item.split("=", 1)[0]
        # model.options.* is free-form (build_model validates it); everything else must exist
        if key.startswith("model.options."):
            with _open(cfg):
                cfg.merge_with_dotlist([item])
            continue
        try:
            cfg.merge_with_dotlist([item])
        except Exception as err:  # omegaconf raises several error types here
            raise ValueError(f"bad override {item!r}: {err}".split("\n")[0]
                             + " (see `python -m tcclip train --show-config` for the keys)") from None
    if cfg.protocol.name not in PROTOCOLS:
        raise ValueError(f"unknown protocol {cfg.protocol.name!r}; choose one of {PROTOCOLS}")
    return validate_config(cfg)


class _open:
    """Temporarily lift OmegaConf's struct flag (to add free-form keys)."""

    def __init__(self, cfg: DictConfig) -> None:
        self.cfg = cfg

    def __enter__(self) -> DictConfig:
        OmegaConf.set_struct(self.cfg, False)
        return self.cfg

    def __exit__(self, *exc: object) -> None:
        OmegaConf.set_struct(self.cfg, True)


def effective_batch(total_batch: int, batch_per_gpu: int, world_size: int) -> int:
    """Gradient-accumulation steps so that batch_per_gpu x world_size x steps == total_batch."""
    per_step = batch_per_gpu * world_size
    if per_step <= 0 or total_batch % per_step:
        raise ValueError(
            f"total batch {total_batch} is not a multiple of batch_per_gpu {batch_per_gpu} x world size {world_size}: "
            "pick train.batch_per_gpu so that it divides total_batch / world_size "
            "(e.g. train.batch_per_gpu=8 with protocol.total_batch=64)")
    return total_batch // per_step
