"""VideoDataset: annotation list + video folder + class names -> clips ready for the model.

File formats (the reference release's, so its split files load unchanged; parsed by
:mod:`tcclip.data.lists`, re-exported here):

* Annotation list: one ``relative/path.mp4 label_id`` per line, whitespace separated. The
  label is the last field, so paths that contain spaces work. Blank lines are ignored; there
  are no comments (HMDB-51 has videos whose names start with ``#``).
* Class names (``load_classnames``):
  - CSV with the header ``id,name`` and one ``id,name`` row per class (ids 0..C-1, any order;
    unquoted commas inside a name are kept as part of the name);
  - JSON (e.g. the LLM-rephrased descriptions of the FROSTER release): a dict
    ``{"0": "name", "1": "name", ...}`` keyed by class id; a dict keyed by the original class
    names ``{"abseiling": "description", ...}`` whose order is the id order; a list of names in
    id order; or a list of records ``{"id": 0, "name": "..."}``. A value that is a list of
    strings (several descriptions of a class) contributes its first entry;
  - a plain text file with one name per line (line i is class i).

Bad data policy: problems in the text files are errors at construction (a ValueError naming the
file and line), because they are mistakes to fix, not noise to skip. A video that is missing,
empty or corrupt is logged (logger ``tcclip.data``) and counted, then:

* in **train** mode a replacement sample is drawn deterministically from ``seed`` and the
  index (training needs a clip for every slot of the batch, and a few other clips change
  nothing);
* in **test** mode it is never replaced (a replacement would be scored under the broken
  video's name): the sample comes back with ``video=None`` and ``error`` set, and evaluation
  leaves it out of the metrics, counts it and names it.

The stop rule does not depend on the order of the list: once more than ``max_skip_rate`` of
the list's entries (``max_skip_rate * len(dataset)``, counting each broken video once) have
been found unreadable, loading raises TooManyCorruptVideosError. A list within the limit never
stops; ``python -m tcclip check`` finds every broken video up front and says whether the list
is over the limit.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch.utils.data import Dataset

from .decoding import Backend, VideoDecodeError, read_video_frames
from .lists import VideoRecord, load_classnames, parse_annotation_list  # noqa: F401 (re-exported)
from .sampling import segment_indices, test_view_indices
from .transforms import Normalization, TrainAugment, build_transform

logger = logging.getLogger("tcclip.data")

Mode = Literal["train", "test"]


class TooManyCorruptVideosError(RuntimeError):
    """More of the list's videos failed to decode than ``max_skip_rate`` allows."""


class VideoDataset(Dataset):
    """Clips of a video classification list, sampled and transformed for TC-CLIP.

    ``__getitem__`` returns ``dict(video, label, index, skipped)``: ``video`` is float
    ``[T, 3, size, size]`` in train mode and ``[V, T, 3, size, size]`` in test mode with
    ``V = num_clips * num_crops`` (clip-major: all crops of clip 0, then clip 1, ...);
    ``index`` is the index asked for and ``skipped`` the number of unreadable videos met for
    this sample, so a loop using DataLoader workers (each with its own copy of the per-process
    counters) can sum them. In train mode an unreadable video is replaced (``label`` is then
    the replacement's); in test mode it is not: the sample is ``dict(video=None, label, index,
    skipped=1, path, error)`` with the listed label, the list's path and the decoder's message.

    ``classnames_or_label_file`` is a label file path (see ``load_classnames``) or the list
    of class names itself. ``max_skip_rate`` is a fraction of the list (see the module
    docstring); ``max_attempts`` bounds the replacements tried for one training sample.
    """

    def __init__(
        self,
        list_file: str | os.PathLike[str],
        video_root: str | os.PathLike[str],
        classnames_or_label_file: str | os.PathLike[str] | Sequence[str],
        num_frames: int = 16,
        mode: Mode = "train",
        size: int = 224,
        num_clips: int = 1,
        num_crops: int = 1,
        backend: Backend = "auto",
        max_skip_rate: float = 0.05,
        seed: int = 0,
        *,
        decode_threads: int = 1,
        flip: bool = True,
        augment: TrainAugment = TrainAugment(),
        test_short_side: int | None = None,
        normalization: Normalization = "clip",
        max_attempts: int = 10,
    ) -> None:
        if mode not in ("train", "test"):
            raise ValueError(f"mode must be 'train' or 'test', got {mode!r}")
        if mode == "train" and (num_clips != 1 or num_crops != 1):
            raise ValueError("train mode samples one random clip and crop; use num_clips=num_crops=1")
        if num_frames <= 0:
            raise ValueError(f"num_frames must be positive, got {num_frames}")
        if not 0.0 <= max_skip_rate <= 1.0:
            raise ValueError(f"max_skip_rate is a fraction of the list, between 0 and 1; got {max_skip_rate}")
        self.list_file = Path(list_file)
        self.video_root = Path(video_root)
        if not self.video_root.is_dir():
            raise FileNotFoundError(f"video root {self.video_root} is not a directory")
        if isinstance(classnames_or_label_file, (str, os.PathLike)):
            self.label_file: Path | None = Path(classnames_or_label_file)
            self.classnames = load_classnames(self.label_file)
        else:
            self.label_file = None
            self.classnames = [str(name) for name in classnames_or_label_file]
            if not self.classnames:
                raise ValueError("the list of class names is empty")
        self.records = parse_annotation_list(self.list_file)
        label_source = str(self.label_file) if self.label_file else "the given class names"
        for record in self.records:
            if record.label >= len(self.classnames):
                raise ValueError(
                    f"{self.list_file}:{record.line_number}: label {record.label} is out of range for "
                    f"{len(self.classnames)} classes in {label_source} (does the label file match the list?)")
        self.num_frames = num_frames
        self.mode: Mode = mode
        self.size = size
        self.num_clips = num_clips
        self.num_crops = num_crops
        self.backend: Backend = backend
        self.decode_threads = decode_threads
        self.max_skip_rate = max_skip_rate
        self.max_attempts = max_attempts
        self.seed = seed
        self.transform = build_transform(mode == "train", size, num_crops, flip=flip, augment=augment,
                                         short_side=test_short_side, normalization=normalization)
        # Per-instance counters: each DataLoader worker holds its own copy (see "skipped").
        self.videos_tried = 0
        self.videos_skipped = 0
        self.skipped_paths: list[str] = []
        # Which entries were found unreadable, in shared memory: DataLoader workers (forked or
        # spawned: torch shares the storage) all mark the same flags, so the stop rule counts
        # each broken video of the list once, whichever worker or epoch met it.
        self._unreadable = torch.zeros(len(self.records), dtype=torch.bool).share_memory_()

    @property
    def num_classes(self) -> int:
        return len(self.classnames)

    @property
    def labels(self) -> list[int]:
        return [record.label for record in self.records]

    @property
    def max_unreadable(self) -> int:
        """How many distinct unreadable videos the list may hold before loading stops."""
        return int(self.max_skip_rate * len(self) + 1e-9)

    def __len__(self) -> int:
        return len(self.records)

    def video_path(self, index: int) -> Path:
        return self.video_root / self.records[index].path

    def skip_stats(self) -> dict[str, object]:
        """Videos tried / skipped by this instance (in this process), the skipped paths, and
        ``unreadable``: the distinct entries found unreadable by this dataset and its workers."""
        rate = self.videos_skipped / self.videos_tried if self.videos_tried else 0.0
        return {"tried": self.videos_tried, "skipped": self.videos_skipped, "rate": rate,
                "paths": list(self.skipped_paths), "unreadable": int(self._unreadable.sum())}

    def _replacement_index(self, index: int, attempt: int) -> int:
        """A different index, the same for the same (seed, index, attempt) in every process."""
        if len(self) == 1:
            return index
        draw = int(np.random.default_rng([self.seed, index, attempt]).integers(len(self) - 1))
        return draw if draw < index else draw + 1

    def _record_skip(self, index: int, error: VideoDecodeError) -> None:
        self.videos_skipped += 1
        self.skipped_paths.append(error.path)
        self._unreadable[index] = True
        unreadable = int(self._unreadable.sum())
        action = "replacing it" if self.mode == "train" else "leaving it out of the evaluation"
        logger.warning("unreadable video %s (%s); %s [%d distinct unreadable in the list of %d]", error.path,
                       error.reason, action, unreadable, len(self))
        if unreadable > self.max_unreadable:
            raise TooManyCorruptVideosError(
                f"{unreadable} of the {len(self)} videos in {self.list_file} could not be decoded, more than "
                f"max_skip_rate={self.max_skip_rate:g} of the list allows ({self.max_unreadable}); last: "
                f"{error.path} ({error.reason}). Run `python -m tcclip check` on this list to find the broken "
                f"files, then repair or remove them (or raise data.max_skip_rate).")

    def _load(self, index: int) -> torch.Tensor:
        path = self.video_path(index)
        if self.mode == "train":
            frames = read_video_frames(
                path, lambda n: segment_indices(n, self.num_frames, "train"),
                backend=self.backend, num_threads=self.decode_threads)
            return self.transform(frames)
        # One decode for all temporal views: concatenate their indices, split afterwards.
        frames = read_video_frames(
            path, lambda n: torch.cat(test_view_indices(n, self.num_frames, self.num_clips)),
            backend=self.backend, num_threads=self.decode_threads)
        views = [self.transform(clip) for clip in frames.split(self.num_frames)]  # each [crops, T, 3, s, s]
        return torch.cat(views)

    def __getitem__(self, index: int) -> dict[str, object]:
        if index < 0:
            index += len(self)
        if self.mode == "test":
            record = self.records[index]
            self.videos_tried += 1
            try:
                video = self._load(index)
            except VideoDecodeError as error:
                self._record_skip(index, error)
                return {"video": None, "label": record.label, "index": index, "skipped": 1,
                        "path": record.path, "error": error.reason}
            return {"video": video, "label": record.label, "index": index, "skipped": 0}
        current = index
        skipped = 0
        for attempt in range(self.max_attempts):
            self.videos_tried += 1
            try:
                video = self._load(current)
            except VideoDecodeError as error:
                skipped += 1
                self._record_skip(current, error)
                current = self._replacement_index(index, attempt)
                continue
            return {"video": video, "label": self.records[current].label, "index": index, "skipped": skipped}
        raise TooManyCorruptVideosError(
            f"{self.max_attempts} videos in a row failed to decode for index {index} of {self.list_file}")
