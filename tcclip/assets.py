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

log = logging.getLogger("tcclip")


def synthetic_world(profile: Optional[Profile] = None, size: str = "default", workers: int = 2):
    """The synthetic world under ``<data_root>/synthetic`` (generated if missing)."""
    from .data.registry import dataset_dir
    from .data.synthetic import generate_video_world

    profile = profile or get_profile()
    root = dataset_dir("synthetic", root=profile.data_root if profile.is_tiny else profile.cache_dir)
    return generate_video_world(root, seed=0, size=size, workers=workers, progress=False)


def clip_weights(profile: Optional[Profile] = None) -> Optional[str]:
    """CLIP weights for ``build_model(pretrained=...)``: the profile's tag, or the tiny weights.

    In the tiny profile the weights are pretrained on the synthetic stills the first time
    they are needed (``python -m tcclip pretrain-mini`` does the same explicitly).
    """
    profile = profile or get_profile()
    if not profile.is_tiny:
        return profile.pretrained
    path = Path(profile.pretrained)
    if not path.is_file():
        from .pretrain import pretrain_mini

        log.info("pretraining the tiny CLIP on synthetic stills (first use) -> %s", path)
        pretrain_mini(path, cache_dir=profile.cache_dir)
    return str(path)


def build_profile_model(name: str, classnames: Sequence[str], profile: Optional[Profile] = None, **options: Any):
    """`tcclip.build_model` with the profile's CLIP, weights, clip length and k."""
    from .models import build_model

    profile = profile or get_profile()
    options.setdefault("num_context", profile.context_tokens)
    return build_model(
        name, classnames, clip=profile.clip_model, pretrained=clip_weights(profile), num_frames=profile.num_frames, **options
    )
