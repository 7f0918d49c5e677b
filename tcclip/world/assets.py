"""Generated assets of the tiny profile, made on first use and cached.

The book's chapters, the CLI and the experiments all need the same two things on a CPU: the
synthetic video world and a tiny CLIP pretrained on the synthetic stills (the stand-in for
CLIP's web pretraining). They are made here, once, deterministically, under the profile's
cache directory; later calls only check the files.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Optional, Sequence

from .profile import Profile, get_profile

__all__ = ["synthetic_world", "clip_weights", "build_profile_model", "prepare_run_config"]

log = logging.getLogger("tcclip")


def synthetic_world(profile: Optional[Profile] = None, size: str = "default", workers: int = 2):
    """The synthetic world under ``<data_root>/synthetic`` (generated if missing)."""
    from tcclip.data.registry import dataset_dir
    from .synthetic import generate_video_world, made_by_other_generator

    profile = profile or get_profile()
    root = dataset_dir("synthetic", root=profile.data_root if profile.is_tiny else profile.cache_dir)
    # the cache is ours: a world of an older generator is replaced, not an error (another
    # size or seed of the current generator still is, as it may be someone's run)
    stale = made_by_other_generator(root)
    if stale:
        log.warning("%s holds a world of another generator version: generating the current one", root)
    return generate_video_world(root, seed=0, size=size, workers=workers, progress=False, overwrite=stale)


def clip_weights(profile: Optional[Profile] = None) -> Optional[str]:
    """CLIP weights for ``build_model(pretrained=...)``: the profile's tag, or the tiny weights.

    In the tiny profile the weights are pretrained on the synthetic stills the first time
    they are needed, and again when the file was made by an older world generator or other
    settings (``python -m tcclip pretrain-mini`` does the same explicitly).
    """
    profile = profile or get_profile()
    if not profile.is_tiny:
        return profile.pretrained
    from .pretrain import pretrain_mini, weights_are_current
    from .profile import TINY_WEIGHTS_NAME

    path, own = Path(profile.pretrained), profile.weights_dir / TINY_WEIGHTS_NAME
    if path != own:
        # weights the caller chose are used as they are: only the cache's own file is
        # (re)made here, never a file someone else owns
        if not path.is_file():
            raise FileNotFoundError(f"tiny CLIP weights {path} do not exist; leave the profile's pretrained "
                                    f"at {own} to have them pretrained there")
        return str(path)
    if not path.is_file():
        log.info("pretraining the tiny CLIP on synthetic stills (first use) -> %s", path)
        pretrain_mini(path, cache_dir=profile.cache_dir)
    elif not weights_are_current(path):
        # weights of an older world (its class words) would be reused silently otherwise
        log.warning("%s was pretrained on stills the current world no longer makes (or has no sidecar): "
                    "pretraining again", path)
        pretrain_mini(path, cache_dir=profile.cache_dir)
    return str(path)


def build_profile_model(name: str, classnames: Sequence[str], profile: Optional[Profile] = None, **options: Any):
    """`tcclip.build_model` with the profile's CLIP, weights, clip length and k."""
    from tcclip.models import build_model

    profile = profile or get_profile()
    options.setdefault("num_context", profile.context_tokens)
    return build_model(
        name, classnames, clip=profile.clip_model, pretrained=clip_weights(profile), num_frames=profile.num_frames, **options
    )


def prepare_run_config(cfg, clip_weights_needed: bool = True):
    """Resolve a run config's ``"auto"`` values and make the assets they stand for.

    The library trains and evaluates what a config names and never generates data or
    pretrains a CLIP itself; the command line, the experiments and the book call this first.
    ``model.pretrained=auto`` becomes the profile's CLIP weights (in the tiny profile,
    pretrained on first use); under the tiny profile, a run on the synthetic world without
    ``data.root`` gets the profile's world (generated on first use) as its root. Returns the
    same config, changed in place. ``clip_weights_needed=False`` (evaluating a checkpoint that
    records the CLIP weights it was built from) leaves ``model.pretrained=auto`` unresolved, so
    no tiny CLIP is pretrained for nothing.
    """
    from omegaconf import open_dict

    profile = get_profile(str(cfg.profile))
    with open_dict(cfg):
        if clip_weights_needed and str(cfg.model.pretrained) == "auto":
            cfg.model.pretrained = clip_weights(profile)
        targets = [str(t.name) for t in cfg.protocol.get("targets") or []]
        if profile.is_tiny and not cfg.data.root and "synthetic" in (str(cfg.data.name), *targets):
            synthetic_world(profile)
            cfg.data.root = str(profile.data_root)
    return cfg
