"""Run configuration: YAML files composed Hydra-style with OmegaConf (no Hydra needed).

A run is ``base.yaml`` merged with one file from each group (``protocol/``, ``data/``,
``model/``), then the ``tiny`` profile if asked for, then optional presets (``preset/``), then
command-line dotlist overrides. Group choices are written ``group=name`` among the overrides:

    compose_config(["protocol=few_shot", "data=hmdb51", "model=tc_clip", "data.shots=2"])

Hydra itself is not used because the project needs only this one composition rule, and a
plain function keeps configs importable from notebooks and tests without global state.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Iterable, Sequence

from omegaconf import DictConfig, OmegaConf

__all__ = ["GROUPS", "config_dir", "list_choices", "compose_config", "split_overrides", "effective_batch"]

#: Config groups in merge order; ``profile`` and ``preset`` are optional.
GROUPS: tuple[str, ...] = ("protocol", "data", "model", "profile", "preset")
PROTOCOLS: tuple[str, ...] = ("zero_shot", "few_shot", "base2novel", "fully_supervised")


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
    keys in dotlist overrides are an error (a typo would otherwise be silently ignored).
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
    parts = [base]
    parts += [_load(g, picked[g]) for g in ("protocol", "data", "model")]
    parts.append(_load("profile", prof))
    for preset in choices.get("preset", []):
        parts.append(_load("preset", preset))
    cfg = OmegaConf.merge(*parts)
    assert isinstance(cfg, DictConfig)
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
    return cfg


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
