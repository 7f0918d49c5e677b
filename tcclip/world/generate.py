"""The world on disk: every clip, the protocol lists and a manifest, in the layout of the
prepared real datasets (``tcclip.data.registry``), so decoding, sampling and evaluation run on
it end to end.

Everything is deterministic: each clip gets its own ``numpy`` generator seeded by
``(seed, class index, split, video index)``, so the content does not depend on the order or
the number of workers; the drawn protocol views (few-shot, base-to-novel) are seeded too.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from tcclip.data import lists
from tcclip.data.registry import (
    DATASET_LAYOUT,
    DATASET_SPECS,
    SPLIT_IDS,
    VIDEOS_DIRNAME,
    SplitPaths,
    get_split,
)
from tcclip.io import atomic_write_text

from .classes import SIZES, ClassSpec, WorldSize, build_classes, check_zero_shot
from .encode import encode_mp4
from .render import render_video
from .version import GENERATOR_VERSION, params_hash

__all__ = [
    "WorldInfo",
    "class_dir_name",
    "generate_video_world",
    "made_by_other_generator",
]

_SPLIT_IDS = {"train": 0, "val": 1, "test": 2}


@dataclass
class WorldInfo:
    """What ``generate_video_world`` produced; paths are absolute.

    ``views`` maps a view name to ``(list_file, labels_file)``: every protocol view is an
    annotation list (paths relative to ``video_root``) plus the labels file its ids index.
    Names: ``train``/``val``/``test``; ``few_shot_K{k}`` (``few_shot_K{k}_s{s}`` when the
    registry keeps several draws); ``b2n_train_s{s}``, ``b2n_test_base``,
    ``b2n_test_novel``; ``zero_shot_train``/``_val``/``_test``. The file names come from
    ``tcclip.data.registry`` (``get_split("synthetic", ...)``), so both always agree.
    """

    root: Path
    classes: list[str]
    families: dict[str, str]
    counts: dict[str, int]
    views: dict[str, tuple[Path, Path]]
    params: dict
    param_hash: str
    generated: bool = False
    seconds: float = 0.0
    zero_shot_seen: list[str] = field(default_factory=list)
    zero_shot_unseen: list[str] = field(default_factory=list)
    base_classes: list[str] = field(default_factory=list)
    novel_classes: list[str] = field(default_factory=list)
    video_root: Path = Path(".")


def class_dir_name(name: str) -> str:
    """Folder name for a class: words joined by underscores (as Kinetics folders are)."""
    return "_".join(name.split())


def made_by_other_generator(root: str | os.PathLike) -> bool:
    """Whether ``root`` holds a synthetic world written by another version of this generator."""
    try:
        old = json.loads((Path(root) / "manifest.json").read_text())
    except (OSError, ValueError):
        return False
    return old.get("params", {}).get("version") != GENERATOR_VERSION


def _params(size: str, seed: int, height: int, width: int, fps: int,
            preset: WorldSize) -> dict:
    return {"kind": "video_world", "version": GENERATOR_VERSION, "size": size, "seed": seed,
            "height": height, "width": width, "fps": fps,
            "preset": dataclasses.asdict(preset),
            "layout": DATASET_LAYOUT["synthetic"]}  # a new file layout means regenerate


def _video_jobs(specs: Sequence[ClassSpec], preset: WorldSize
                ) -> list[tuple[int, str, int, str]]:
    """(class index, split, video index, path relative to videos/) of every clip."""
    jobs = []
    for split, n in (("train", preset.n_train), ("val", preset.n_val),
                     ("test", preset.n_test)):
        for ci, spec in enumerate(specs):
            for vi in range(n):
                jobs.append((ci, split, vi, f"{class_dir_name(spec.name)}/{split}_{vi:04d}.mp4"))
    return jobs


def _render_job(args: tuple) -> None:
    """Worker body (module level so it pickles): render + encode one clip if missing."""
    root, spec, classes, seed, ci, split, vi, rel, h, w, frames, fps = args
    out = Path(root) / VIDEOS_DIRNAME / rel
    if out.exists():
        return
    rng = np.random.default_rng([seed, ci, _SPLIT_IDS[split], vi])
    encode_mp4(render_video(spec, rng, h, w, frames, classes), out, fps=fps)


def _run_jobs(jobs: list[tuple], workers: int, progress: bool) -> None:
    """Run render jobs serially or in a process pool, with an optional tqdm bar."""
    bar: Callable[[Iterable], Iterable] = lambda it: it  # noqa: E731
    if progress:
        from tqdm.auto import tqdm

        bar = lambda it: tqdm(it, total=len(jobs), desc="synthetic videos", unit="clip")  # noqa: E731
    if workers <= 1:
        for job in bar(jobs):
            _render_job(job)
        return
    import multiprocessing as mp

    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    with ctx.Pool(workers) as pool:
        for _ in bar(pool.imap_unordered(_render_job, jobs, chunksize=16)):
            pass


#: Line end of the world's label files: the ``csv`` module's default, which they have always had
#: (a world of one generator version stays byte-identical).
_LABELS_LINE_END = "\r\n"


def _few_shot(train: list[tuple[str, int]], n_classes: int, k: int, seed: list[int]) -> list[tuple[str, int]]:
    """K clips per class drawn without replacement by a ``numpy`` generator seeded with ``seed``,
    kept in list order. Every class of the world has as many training clips, so the generator
    draws for every class or for none (``lists.few_shot_drawn`` skips classes of K clips or less)."""
    rng = np.random.default_rng(seed)
    return lists.few_shot_drawn(train, k, lambda idx, shots: rng.choice(idx, size=shots, replace=False).tolist(),
                                num_classes=n_classes, short_classes="error")


def _registry_split(root: Path, **kwargs: object) -> SplitPaths:
    """``get_split("synthetic", ...)`` for a world living in ``root`` (any folder name)."""
    env = {DATASET_SPECS["synthetic"].env_var: str(root)}
    return get_split("synthetic", environ=env, check_exists=False, **kwargs)  # type: ignore[arg-type]


def _few_shot_draws() -> tuple[int | None, ...]:
    """Draw ids of the few-shot lists: 1..3 if the registry's file name has {split}."""
    return SPLIT_IDS if "{split}" in DATASET_LAYOUT["synthetic"]["few_shot/train"] else (None,)


def _view_table(root: Path, preset: WorldSize) -> dict[str, tuple[Path, Path]]:
    """view -> (list, labels) paths, all asked from the registry (one source of names)."""
    views: dict[str, tuple[Path, Path]] = {}

    def put(key: str, paths: SplitPaths) -> None:
        views[key] = (paths.list_file, paths.label_file)

    for sub in _SPLIT_IDS:
        put(sub, _registry_split(root, protocol="standard", subset=sub))
    for k in preset.shots:
        for s in _few_shot_draws():
            put(f"few_shot_K{k}" + (f"_s{s}" if s else ""),
                _registry_split(root, protocol="few_shot", shots=k, split=s))
    for s in SPLIT_IDS:
        put(f"b2n_train_s{s}", _registry_split(root, protocol="base2novel", split=s))
    for side in ("base", "novel"):
        put(f"b2n_test_{side}", _registry_split(root, protocol="base2novel", subset="test",
                                                classes=side))
    for sub in _SPLIT_IDS:
        put(f"zero_shot_{sub}", _registry_split(root, protocol="zero_shot", subset=sub))
    return views


def _class_splits(names: list[str], preset: WorldSize, seed: int
                  ) -> tuple[list[int], list[int], list[int], list[int]]:
    """(base, novel, zero-shot seen, zero-shot unseen) class indices, sorted.

    Base / novel: a seeded random half (the real benchmarks split their class list in
    half as well). Zero-shot: the preset's held-out compositions.
    """
    n = len(names)
    perm = np.random.default_rng([seed, 2000]).permutation(n)
    base, novel = sorted(perm[: n // 2].tolist()), sorted(perm[n // 2:].tolist())
    unseen = sorted(names.index(u) for u in preset.zero_shot)
    seen = [i for i in range(n) if i not in unseen]
    return base, novel, seen, unseen


def _write_views(root: Path, names: list[str], preset: WorldSize, seed: int,
                 jobs: list[tuple[int, str, int, str]]) -> None:
    """Write the split lists and every protocol view named in ``_view_table`` (through
    ``tcclip.data.lists``, the library's one writer of lists and label files)."""
    views = _view_table(root, preset)

    def write_labels(path: Path, keep: Iterable[int]) -> None:
        lists.write_labels(path, [names[i] for i in keep], lineterminator=_LABELS_LINE_END)

    write_labels(views["train"][1], range(len(names)))
    # Clips live in root/videos/; list paths are relative to the registry's video root.
    video_root = _registry_split(root, protocol="standard").video_root
    prefix = Path(os.path.relpath(root / VIDEOS_DIRNAME, video_root))
    per_split: dict[str, list[tuple[str, int]]] = {"train": [], "val": [], "test": []}
    for ci, split, _, rel in jobs:
        per_split[split].append(((prefix / rel).as_posix(), ci))
    for split, items in per_split.items():
        lists.write_list(views[split][0], items)

    n = len(names)
    for k in preset.shots:
        for s in _few_shot_draws():
            lists.write_list(views[f"few_shot_K{k}" + (f"_s{s}" if s else "")][0],
                             _few_shot(per_split["train"], n, k, [seed, 1000 + k, s or 1]))

    base, novel, seen, unseen = _class_splits(names, preset, seed)
    write_labels(views["b2n_test_base"][1], base)
    write_labels(views["b2n_test_novel"][1], novel)
    base_train = lists.remap(per_split["train"], base)
    for s in SPLIT_IDS:
        lists.write_list(views[f"b2n_train_s{s}"][0],
                         _few_shot(base_train, len(base), preset.b2n_shots, [seed, 3000 + s]))
    lists.write_list(views["b2n_test_base"][0], lists.remap(per_split["test"], base))
    lists.write_list(views["b2n_test_novel"][0], lists.remap(per_split["test"], novel))

    write_labels(views["zero_shot_train"][1], seen)
    if views["zero_shot_val"][1] != views["zero_shot_train"][1]:
        write_labels(views["zero_shot_val"][1], seen)
    write_labels(views["zero_shot_test"][1], unseen)
    lists.write_list(views["zero_shot_train"][0], lists.remap(per_split["train"], seen))
    lists.write_list(views["zero_shot_val"][0], lists.remap(per_split["val"], seen))
    lists.write_list(views["zero_shot_test"][0], lists.remap(per_split["test"], unseen))


def _world_info(root: Path, specs: list[ClassSpec], preset: WorldSize, seed: int,
                params: dict, phash: str, generated: bool, seconds: float) -> WorldInfo:
    names = [s.name for s in specs]
    base, novel, seen, unseen = _class_splits(names, preset, seed)
    counts = {"train": preset.n_train * len(names), "val": preset.n_val * len(names),
              "test": preset.n_test * len(names)}
    return WorldInfo(root, names, {s.name: s.family for s in specs}, counts,
                     _view_table(root, preset), params, phash, generated, seconds,
                     [names[i] for i in seen], [names[i] for i in unseen],
                     [names[i] for i in base], [names[i] for i in novel],
                     _registry_split(root, protocol="standard").video_root)


def generate_video_world(root: str | os.PathLike, seed: int = 0, size: str = "default",
                         height: int = 64, width: int = 64, fps: int = 8,
                         workers: int = 1, progress: bool = False,
                         overwrite: bool = False) -> WorldInfo:
    """Write the synthetic video world into the dataset folder ``root``; describe it.

    ``root`` is the dataset directory itself (``registry.dataset_dir("synthetic")`` by
    convention): ``root/labels.csv``, ``root/train.txt``, ``root/videos/...``.
    Idempotent: a ``manifest.json`` records the parameters and their hash; when it matches
    and says the world is complete, nothing is redone. An interrupted run resumes (clips
    are written atomically, so existing ones are complete). A different world already in
    ``root`` is an error unless ``overwrite``; then its clips are removed first.
    """
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; choose one of {sorted(SIZES)}")
    preset = SIZES[size]
    root = Path(root).resolve()
    specs = build_classes(preset.classes)
    names = [s.name for s in specs]
    check_zero_shot(names, preset.zero_shot)
    params = _params(size, seed, height, width, fps, preset)
    phash = params_hash(params)
    manifest = root / "manifest.json"
    if manifest.exists():
        old = json.loads(manifest.read_text())
        if old.get("param_hash") == phash and old.get("complete"):
            return _world_info(root, specs, preset, seed, params, phash, False, 0.0)
        if old.get("param_hash") != phash:
            if not overwrite:
                old_p = old.get("params", {})
                raise FileExistsError(
                    f"{root} holds a synthetic world with other parameters (size "
                    f"{old_p.get('size')!r}, seed {old_p.get('seed')}); pass overwrite=True "
                    f"(--overwrite) or choose another root")
            import shutil

            shutil.rmtree(root / VIDEOS_DIRNAME, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps({"params": params, "param_hash": phash,
                                    "complete": False}, indent=1))
    start = time.perf_counter()
    jobs = _video_jobs(specs, preset)
    work = [(str(root), specs[ci], specs, seed, ci, split, vi, rel, height, width,
             preset.frames, fps) for ci, split, vi, rel in jobs]
    _run_jobs(work, workers, progress)
    _write_views(root, names, preset, seed, jobs)
    seconds = time.perf_counter() - start
    atomic_write_text(manifest, json.dumps({"params": params, "param_hash": phash, "complete": True,
                                            "classes": names, "seconds": round(seconds, 2)}, indent=1))
    return _world_info(root, specs, preset, seed, params, phash, True, seconds)
