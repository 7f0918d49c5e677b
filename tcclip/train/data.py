"""Datasets and loaders for training / evaluation, built from a run config.

Exact resume needs the data order and every random augmentation to be a function of
(seed, epoch, position) only. The order comes from DistributedSampler (seeded by seed + epoch);
:class:`KeyedSampler` pairs each index with a per-sample seed and can skip the batches a
resumed run has already seen; :class:`SeededDataset` draws the sample's random clip offsets
and crops under that seed (torch's global RNG, forked so the caller's state is untouched).
"""
from __future__ import annotations

from typing import Iterator, Optional, Sequence

import numpy as np
import torch
from omegaconf import DictConfig
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

from .distributed import DistInfo

__all__ = ["sample_seed", "SeededDataset", "KeyedSampler", "resolve_data_root", "build_video_dataset",
           "train_loader", "eval_indices", "collate_videos"]


def sample_seed(*keys: int) -> int:
    """A 63-bit seed from integer keys (numpy SeedSequence: well mixed, platform independent)."""
    return int(np.random.SeedSequence([int(k) & 0xFFFFFFFF for k in keys]).generate_state(2, np.uint64)[0] >> 1)


class SeededDataset(Dataset):
    """Wraps a dataset so that item ``(index, seed)`` is drawn under torch.manual_seed(seed).

    ``repeats`` > 1 lists every video that many times (the recipe's n training views per
    video per epoch, each with its own random clip and augmentation).
    """

    def __init__(self, base: Dataset, repeats: int = 1) -> None:
        self.base = base
        self.repeats = repeats

    def __len__(self) -> int:
        return len(self.base) * self.repeats

    def __getitem__(self, key: tuple[int, int]) -> dict:
        index, seed = key
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return self.base[index % len(self.base)]


class KeyedSampler(Sampler):
    """DistributedSampler's order for ``epoch``, each index paired with its own seed.

    ``skip`` drops the first ``skip`` samples of this rank (batches already trained on before
    a resume). The seed depends on (seed, epoch, global position), not on the rank count.
    """

    def __init__(self, dataset: Dataset, info: DistInfo, seed: int, epoch: int, skip: int = 0) -> None:
        self.inner = DistributedSampler(dataset, num_replicas=info.world_size, rank=info.rank, shuffle=True,
                                        seed=seed, drop_last=True)
        self.inner.set_epoch(epoch)
        self.seed, self.epoch, self.skip, self.info = seed, epoch, skip, info

    def __len__(self) -> int:
        return max(0, len(self.inner) - self.skip)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for pos, index in enumerate(self.inner):
            if pos < self.skip:
                continue
            global_pos = pos * self.info.world_size + self.info.rank
            yield index, sample_seed(self.seed, self.epoch, global_pos)


def collate_videos(items: list[dict]) -> dict:
    """A batch of ``VideoDataset`` items: stacked videos, labels, indices and skip counts.

    Test-mode items whose video could not be decoded (``video`` None) are not in ``video`` /
    ``label`` / ``index``; they are listed in ``unreadable`` ({index, label, path, error} each),
    so evaluation can count and name them. ``video`` is None when no item of the batch decoded.
    ``skipped`` has one entry per item.
    """
    readable = [it for it in items if it["video"] is not None]
    return {
        "video": torch.stack([it["video"] for it in readable]) if readable else None,
        "label": torch.tensor([int(it["label"]) for it in readable], dtype=torch.long),
        "index": torch.tensor([int(it["index"]) for it in readable], dtype=torch.long),
        "skipped": torch.tensor([int(it["skipped"]) for it in items]),
        "unreadable": [{"index": int(it["index"]), "label": int(it["label"]), "path": str(it.get("path", "")),
                        "error": str(it.get("error", ""))} for it in items if it["video"] is None],
    }


def train_loader(dataset: Dataset, info: DistInfo, batch: int, seed: int, epoch: int, skip_batches: int,
                 workers: int) -> DataLoader:
    from .interrupt import ignore_interrupts

    sampler = KeyedSampler(dataset, info, seed, epoch, skip=skip_batches * batch)
    # Ctrl-C reaches every process of the terminal's group: workers ignore it and the loop decides
    return DataLoader(dataset, batch_size=batch, sampler=sampler, num_workers=workers, collate_fn=collate_videos,
                      drop_last=True, persistent_workers=False, pin_memory=info.device.type == "cuda",
                      worker_init_fn=ignore_interrupts if workers > 0 else None)


def eval_indices(n: int, info: DistInfo) -> list[int]:
    """This rank's share of an evaluation set: every video exactly once over all ranks."""
    return list(range(info.rank, n, info.world_size))


def resolve_data_root(cfg: DictConfig, name: str) -> Optional[str]:
    """The data root of a run (None: the registry's environment variables decide)."""
    return str(cfg.data.root) if cfg.data.root else None


def build_video_dataset(cfg: DictConfig, name: str, protocol: str, subset: str, *, split: Optional[int] = None,
                        shots: Optional[int] = None, classes: Optional[str] = None, mode: str = "test",
                        num_clips: int = 1, num_crops: int = 1, list_file: Optional[str] = None,
                        video_root: Optional[str] = None, labels: Optional[str | Sequence[str]] = None):
    """A VideoDataset for a registry view, or for an explicit list / root / labels triple."""
    from ..data import VideoDataset, get_split
    from ..data.transforms import TrainAugment

    if list_file is None:
        paths = get_split(name, protocol=protocol, split=split, shots=shots, subset=subset, classes=classes,
                          label_source=cfg.data.label_source, root=resolve_data_root(cfg, name))
        list_file, video_root, labels = str(paths.list_file), str(paths.video_root), labels or str(paths.label_file)
    if video_root is None or labels is None:
        raise ValueError("an explicit list file needs a video root and a label file (or class names) too")
    return VideoDataset(list_file, video_root, labels, num_frames=int(cfg.data.num_frames), mode=mode,
                        size=int(cfg.data.size), num_clips=num_clips, num_crops=num_crops, backend=cfg.data.backend,
                        max_skip_rate=float(cfg.data.max_skip_rate), seed=int(cfg.seed), flip=bool(cfg.data.flip),
                        augment=TrainAugment.from_config(cfg.data.get("augment")))
