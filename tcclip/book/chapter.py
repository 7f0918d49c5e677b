"""The set-up the model chapters share: book style, a seed, the profile, its world and a test clip.

Chapters 04-09 start the same way; ``chapter = setup()`` does it in one line, so each chapter's
first cell shows only what the chapter is about. Everything here is a thin layer over
`tcclip.world` (the profile's assets) and `tcclip.data` (the dataset a real run uses too).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Optional, Sequence

import torch

from tcclip.data import VideoDataset
from tcclip.world.assets import build_profile_model, synthetic_world
from tcclip.world.profile import Profile, get_profile
from tcclip.world.synthetic import WorldInfo

from .plotting import set_book_style

__all__ = ["Chapter", "setup"]


@dataclasses.dataclass
class Chapter:
    """What a chapter works with: the profile, its synthetic world and the world's test set."""

    profile: Profile
    world: WorldInfo
    _datasets: dict = dataclasses.field(default_factory=dict, repr=False)

    def dataset(self, view: str = "test") -> VideoDataset:
        """The world's ``view`` list as the test-mode dataset an evaluation reads (one clip per video)."""
        if view not in self._datasets:
            if view not in self.world.views:
                raise KeyError(f"the world has no view {view!r}; it has {sorted(self.world.views)}")
            videos, labels = self.world.views[view]
            self._datasets[view] = VideoDataset(videos, self.world.video_root, labels, num_frames=self.profile.num_frames,
                                                mode="test", size=self.profile.image_size)
        return self._datasets[view]

    def clips(self, classnames: Sequence[str], view: str = "test") -> torch.Tensor:
        """The first clip of each named class in ``view``, CLIP-normalised: ``[len(classnames), T, 3, H, W]``."""
        dataset = self.dataset(view)
        found = []
        for name in classnames:
            index = next((i for i, r in enumerate(dataset.records) if dataset.classnames[r.label] == name), None)
            if index is None:
                raise KeyError(f"no {view} video of class {name!r}; classes: {dataset.classnames}")
            found.append(dataset[index]["video"][0])  # view 0 of the test views
        return torch.stack(found)

    def model(self, name: str = "tc_clip", classnames: Optional[Sequence[str]] = None, **options: Any):
        """`tcclip.build_model` with the profile's CLIP, weights, clip length and k, on the world's classes."""
        return build_profile_model(name, list(classnames or self.world.classes), self.profile, **options)


def setup(seed: int = 0, profile: Optional[Profile] = None) -> Chapter:
    """Book style, ``torch.manual_seed(seed)``, the profile (``TCCLIP_PROFILE``) and its world (made on first use)."""
    set_book_style()
    torch.manual_seed(seed)
    profile = profile or get_profile()
    return Chapter(profile, synthetic_world(profile))
