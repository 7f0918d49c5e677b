"""Dataset registry: where every dataset, protocol and split lives on disk.

Why this module exists: the training and evaluation code should never build paths by hand.
It asks ``get_split(...)`` for the (list file, video root, label file) of one view of a
dataset, and the data preparation scripts (``data_scripts/``) write exactly the layout
described here. Both sides import the same constants, so they cannot drift apart.

On-disk layout
--------------
The data root is, in order of precedence: the ``root`` argument, the per-dataset environment
variable (e.g. ``TCCLIP_HMDB51_ROOT``, which points at the dataset directory itself), the
environment variable ``TCCLIP_DATA_ROOT`` (the parent of all dataset directories). There is no
default: with none of them set, :func:`dataset_dir` raises and says which to set (a default
relative to the working directory would find or miss data depending on where a command runs).

Every dataset directory has the same skeleton::

    <root>/<dataset>/
        videos/                      video files; list paths are relative to this folder
        labels.csv                   "id,name" header, one class per line, ids 0..C-1
        labels_llm.json              optional: LLM-rephrased class descriptions {"0": "...", ...}
        splits/                      annotation lists, one "relative/path.mp4 label_id" per line
            ...                      protocol files, see DATASET_LAYOUT below

Annotation lists use the reference release's format unchanged (``a.mp4 0``); the class ids in
a list index the label file that goes with it (base-to-novel and temporal subsets have their
own label files whose ids start again at 0). For the five real datasets the protocol lists and
label files are the published ones (``tcclip.data.published`` maps them to this layout).

``DATASET_LAYOUT`` maps each dataset name to its file templates (relative to the dataset
directory; ``{split}`` is 1..3, ``{shots}`` is K). ``DATASET_SPECS`` holds the facts
(class counts, splits, which protocols exist, which command prepares the data).

Protocols (``protocol=`` argument):

* ``standard``: the dataset's own train / eval lists (``fully_supervised`` is an alias; on
  K-400 it is the fully-supervised and the zero-shot training set).
* ``zero_shot``: train on K-400 (``subset="train"``; its val list is the ``test`` subset) and
  evaluate on HMDB-51 / UCF-101 test splits 1-3 with all classes, and on K-600 splits 1-3 of
  160 classes (each K-600 split has its own label file): ``subset="test"`` is the published
  K-600 test-set clips (ER-ZSAR / ViFi-CLIP / TC-CLIP), ``subset="val"`` the K-600 validation
  clips of the same classes (Open-VCLIP / FROSTER).
* ``few_shot``: K = 2/4/8/16 training videos per class, one list per K (HMDB-51, UCF-101 from
  split 1, SSv2); the evaluation subset is the dataset's standard eval list (split 1 for
  HMDB/UCF).
* ``base2novel``: training splits 1-3 (16 shots per base class) and the base / novel
  evaluation lists, each half with its own label file (``classes="base"|"novel"``).
* ``temporal`` / ``static``: the K-400 (32 / 32 classes) and SSv2 (18 / 16 classes) subsets
  that need / do not need temporal reasoning.

Subset names: ``train``; the evaluation list answers to both ``val`` and ``test`` (every real
dataset has only one), except on ``synthetic`` and on K-600 zero-shot, where ``val`` and
``test`` are distinct lists.

The ``synthetic`` dataset (written by ``tcclip.world.synthetic``) keeps its standard lists
(``train.txt``, ``val.txt``, ``test.txt``) next to ``labels.csv``, reuses the real datasets'
few-shot and base-to-novel file names, and has a zero-shot view under ``splits/zero_shot/``
with separate seen-class (train / val) and unseen-class (test) label files.

The page ``book/datasets.md`` documents all of this for users; a test checks that it names
every file in ``DATASET_LAYOUT``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DATA_ROOT_ENV = "TCCLIP_DATA_ROOT"
VIDEOS_DIRNAME = "videos"
LABELS_FILENAME = "labels.csv"
LLM_LABELS_FILENAME = "labels_llm.json"
SPLITS_DIRNAME = "splits"

FEW_SHOT_SHOTS: tuple[int, ...] = (2, 4, 8, 16)
SPLIT_IDS: tuple[int, ...] = (1, 2, 3)
PROTOCOLS: tuple[str, ...] = ("standard", "zero_shot", "few_shot", "base2novel", "temporal", "static")
PROTOCOL_ALIASES: dict[str, str] = {"fully_supervised": "standard", "supervised": "standard"}
DATASET_ALIASES: dict[str, str] = {
    "kinetics400": "k400",
    "kinetics-400": "k400",
    "kinetics600": "k600",
    "kinetics-600": "k600",
    "hmdb": "hmdb51",
    "hmdb-51": "hmdb51",
    "ucf": "ucf101",
    "ucf-101": "ucf101",
    "sthsthv2": "ssv2",
    "something-something-v2": "ssv2",
}

# File templates per dataset, relative to <root>/<dataset>/. Keys are
# "<protocol>/<subset>[/<classes>]" for lists; label files are looked up as
# "labels/<protocol>/<subset>", then "labels/<protocol>[/<classes>]", then "labels/standard";
# a label key ending in "_llm" is the LLM-rephrased version. "video_root" (default "videos")
# is the folder list paths are relative to. Templates take {split} and {shots}.
_S = SPLITS_DIRNAME
_B2N = {
    "base2novel/train/base": f"{_S}/base2novel/train_base_s{{split}}.txt",
    "base2novel/test/base": f"{_S}/base2novel/val_base.txt",
    "base2novel/test/novel": f"{_S}/base2novel/val_novel.txt",
    "labels/base2novel/base": f"{_S}/base2novel/labels_base.csv",
    "labels/base2novel/novel": f"{_S}/base2novel/labels_novel.csv",
    "labels/base2novel/base_llm": f"{_S}/base2novel/labels_base_llm.json",
    "labels/base2novel/novel_llm": f"{_S}/base2novel/labels_novel_llm.json",
}
# One few-shot list per K (the published lists draw from training split 1 of HMDB-51 / UCF-101
# and from SSv2's training set).
_FEW_SHOT_TRAIN = f"{_S}/few_shot/train_{{shots}}shot.txt"
_HMDB_UCF = {
    "standard/train": f"{_S}/train_split{{split}}.txt",
    "standard/test": f"{_S}/test_split{{split}}.txt",
    "zero_shot/test": f"{_S}/test_split{{split}}.txt",
    "few_shot/train": _FEW_SHOT_TRAIN,
    "few_shot/test": f"{_S}/test_split{{split}}.txt",
    "labels/standard": LABELS_FILENAME,
    "labels/standard_llm": LLM_LABELS_FILENAME,
    **_B2N,
}


def _temporal_templates(temporal_classes: int, static_classes: int) -> dict[str, str]:
    out: dict[str, str] = {}
    for kind, n in (("temporal", temporal_classes), ("static", static_classes)):
        out[f"{kind}/train"] = f"{_S}/{kind}/train_{kind}{n}.txt"
        out[f"{kind}/test"] = f"{_S}/{kind}/val_{kind}{n}.txt"
        out[f"labels/{kind}"] = f"{_S}/{kind}/labels_{kind}{n}.csv"
    return out


DATASET_LAYOUT: dict[str, dict[str, str]] = {
    "k400": {
        "standard/train": f"{_S}/train.txt",
        "standard/test": f"{_S}/val.txt",
        "zero_shot/train": f"{_S}/train.txt",
        "zero_shot/test": f"{_S}/val.txt",
        "labels/standard": LABELS_FILENAME,
        "labels/standard_llm": LLM_LABELS_FILENAME,
        **_B2N,
        **_temporal_templates(32, 32),
    },
    "k600": {
        # Zero-shot evaluation only: 3 splits of 160 classes absent from K-400, each with its
        # own label file (ids 0..159). "test": the K-600 test-set clips of the published lists
        # (ER-ZSAR / ViFi-CLIP / TC-CLIP); "val": the K-600 validation clips of the same classes
        # (Open-VCLIP / FROSTER).
        "zero_shot/test": f"{_S}/test_split{{split}}.txt",
        "zero_shot/val": f"{_S}/val_split{{split}}.txt",
        "labels/zero_shot": f"{_S}/labels_split{{split}}.csv",
        "labels/zero_shot_llm": f"{_S}/labels_split{{split}}_llm.json",
    },
    "hmdb51": dict(_HMDB_UCF),
    "ucf101": dict(_HMDB_UCF),
    "ssv2": {
        # No LLM-rephrased names: the FROSTER release has none for SSv2 (the paper's SSv2
        # rows use the class templates).
        "standard/train": f"{_S}/train.txt",
        "standard/test": f"{_S}/val.txt",
        "few_shot/train": _FEW_SHOT_TRAIN,
        "few_shot/test": f"{_S}/val.txt",
        "labels/standard": LABELS_FILENAME,
        **{k: v for k, v in _B2N.items() if not k.endswith("_llm")},
        **_temporal_templates(18, 16),
    },
    "synthetic": {
        # The project's generated world (tcclip.world.synthetic writes it from these
        # templates): the standard lists sit next to labels.csv, few-shot and base-to-novel
        # views use the real datasets' file names, and zero-shot has a seen-class (train / val)
        # and an unseen-class (test) label file.
        "standard/train": "train.txt",
        "standard/val": "val.txt",
        "standard/test": "test.txt",
        "labels/standard": LABELS_FILENAME,
        "few_shot/train": f"{_S}/few_shot/train_{{shots}}shot_split{{split}}.txt",
        "few_shot/val": "val.txt",
        "few_shot/test": "test.txt",
        **{k: v for k, v in _B2N.items() if "_llm" not in k},
        "zero_shot/train": f"{_S}/zero_shot/train.txt",
        "zero_shot/val": f"{_S}/zero_shot/val.txt",
        "zero_shot/test": f"{_S}/zero_shot/test.txt",
        "labels/zero_shot/train": f"{_S}/zero_shot/labels_train.csv",
        "labels/zero_shot/val": f"{_S}/zero_shot/labels_train.csv",
        "labels/zero_shot/test": f"{_S}/zero_shot/labels_test.csv",
    },
}


@dataclass(frozen=True)
class DatasetSpec:
    """Facts about one dataset that the layout templates do not carry.

    ``num_classes`` is the standard label set's size (0 for ``synthetic``, whose class list
    depends on the generated world); ``protocol_classes`` the sizes of subset label files.
    """

    name: str
    title: str
    num_classes: int
    dirname: str
    prepare_command: str  # may use {data_root} and {dataset_dir}
    split_ids: tuple[int, ...] = (1,)
    protocol_classes: dict[str, int] = field(default_factory=dict)

    @property
    def env_var(self) -> str:
        """Per-dataset override: points at the dataset directory itself."""
        return f"TCCLIP_{self.name.upper()}_ROOT"


def _prepare(name: str) -> str:
    return f"python data_scripts/prepare_{name}.py --root {{data_root}}"


DATASET_SPECS: dict[str, DatasetSpec] = {
    "k400": DatasetSpec("k400", "Kinetics-400", 400, "k400", _prepare("k400"),
                        protocol_classes={"temporal": 32, "static": 32}),
    "k600": DatasetSpec("k600", "Kinetics-600 (zero-shot, 160 novel classes)", 160, "k600",
                        _prepare("k600"), split_ids=SPLIT_IDS),
    "hmdb51": DatasetSpec("hmdb51", "HMDB-51", 51, "hmdb51", _prepare("hmdb51"), split_ids=SPLIT_IDS),
    "ucf101": DatasetSpec("ucf101", "UCF-101", 101, "ucf101", _prepare("ucf101"), split_ids=SPLIT_IDS),
    "ssv2": DatasetSpec("ssv2", "Something-Something v2", 174, "ssv2", _prepare("ssv2"),
                        protocol_classes={"temporal": 18, "static": 16}),
    "synthetic": DatasetSpec("synthetic", "Synthetic world (generated)", 0, "synthetic",
                             "python -m tcclip.world.synthetic --root {dataset_dir}"),
}


@dataclass(frozen=True)
class SplitPaths:
    """The three paths VideoDataset needs, plus what they are."""

    dataset: str
    protocol: str
    subset: str
    list_file: Path
    video_root: Path
    label_file: Path
    split: int | None = None
    shots: int | None = None
    classes: str | None = None

    def missing(self) -> list[Path]:
        """Paths that do not exist on disk."""
        return [p for p in (self.list_file, self.video_root, self.label_file) if not p.exists()]


class DatasetNotPreparedError(FileNotFoundError):
    """Raised when a registered split's files are not on disk; says how to create them."""


def canonical_dataset_name(name: str) -> str:
    """Lower-cases and resolves aliases ("HMDB-51" -> "hmdb51"); raises on unknown names."""
    key = name.strip().lower()
    key = DATASET_ALIASES.get(key, key)
    if key not in DATASET_SPECS:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASET_SPECS))}")
    return key


def list_datasets() -> list[str]:
    """Names accepted by get_split."""
    return sorted(DATASET_SPECS)


def dataset_dir(name: str, root: str | os.PathLike[str] | None = None,
                environ: Mapping[str, str] | None = None) -> Path:
    """Directory of one dataset: root argument > per-dataset env var > TCCLIP_DATA_ROOT.

    ``environ`` defaults to ``os.environ``; tests pass their own mapping instead of mutating
    the process environment.
    """
    spec = DATASET_SPECS[canonical_dataset_name(name)]
    env = os.environ if environ is None else environ
    if root is not None:
        return Path(root) / spec.dirname
    if env.get(spec.env_var):
        return Path(env[spec.env_var])
    if env.get(DATA_ROOT_ENV):
        return Path(env[DATA_ROOT_ENV]) / spec.dirname
    raise DatasetNotPreparedError(
        f"no data root for {spec.title}: pass root=... (data.root=... on the command line), or set "
        f"${DATA_ROOT_ENV} (the folder holding every dataset) or ${spec.env_var} (this dataset's folder)")


def _eval_subset_key(layout: dict[str, str], protocol: str, subset: str) -> str:
    """'val' and 'test' both mean the single evaluation list, unless both exist (synthetic)."""
    if f"{protocol}/{subset}" in layout:
        return subset
    if subset in ("val", "test"):
        other = "test" if subset == "val" else "val"
        if f"{protocol}/{other}" in layout:
            return other
    return subset


def get_split(
    name: str,
    protocol: str = "standard",
    split: int | None = None,
    shots: int | None = None,
    subset: str = "train",
    classes: str | None = None,
    label_source: str = "names",
    root: str | os.PathLike[str] | None = None,
    check_exists: bool = True,
    environ: Mapping[str, str] | None = None,
) -> SplitPaths:
    """Paths of one view of a dataset, e.g. ``get_split("hmdb51", "few_shot", split=1, shots=2)``.

    ``label_source="llm"`` returns the LLM-rephrased label JSON instead of ``labels.csv``.
    ``classes`` ("base"/"novel") is only for base2novel (training is always on base classes).
    With ``check_exists`` (default) a missing file raises DatasetNotPreparedError naming the
    command in data_scripts/ that creates it.
    """
    key = canonical_dataset_name(name)
    spec = DATASET_SPECS[key]
    layout = DATASET_LAYOUT[key]
    protocol = PROTOCOL_ALIASES.get(protocol, protocol)
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")
    available = sorted({k.split("/")[0] for k in layout if "/" in k and not k.startswith("labels/")})
    if protocol not in available:
        raise ValueError(f"dataset {key!r} has no {protocol!r} protocol; it has: {', '.join(available)}")
    if label_source not in ("names", "llm"):
        raise ValueError(f"label_source must be 'names' or 'llm', got {label_source!r}")

    subset = _eval_subset_key(layout, protocol, subset)
    if protocol == "base2novel":
        classes = classes or "base"
        if classes not in ("base", "novel"):
            raise ValueError(f"classes must be 'base' or 'novel', got {classes!r}")
        if subset == "train" and classes != "base":
            raise ValueError("base2novel trains on base classes only; use classes='base' for subset='train'")
        list_key = f"{protocol}/{subset}/{classes}"
        label_key = f"labels/{protocol}/{classes}"
    else:
        if classes is not None:
            raise ValueError("classes= is only meaningful for protocol='base2novel'")
        list_key = f"{protocol}/{subset}"
        label_key = next(
            key for key in (f"labels/{protocol}/{subset}", f"labels/{protocol}", "labels/standard")
            if key in layout or key == "labels/standard"
        )
    if label_source == "llm":
        label_key += "_llm"
    if list_key not in layout:
        subsets = sorted({k.split("/")[1] for k in layout if k.startswith(protocol + "/")})
        raise ValueError(f"{key} {protocol}: unknown subset {subset!r}; available: {', '.join(subsets)}")
    if label_key not in layout:
        raise ValueError(f"{key} {protocol}: no {label_source!r} label file is registered")

    uses_split = "{split}" in layout[list_key] or "{split}" in layout[label_key]
    if uses_split:
        split = 1 if split is None else split
        valid = SPLIT_IDS if protocol == "base2novel" or protocol == "few_shot" else spec.split_ids
        if split not in valid:
            raise ValueError(f"{key} {protocol}: split must be one of {valid}, got {split}")
    else:
        split = None
    uses_shots = "{shots}" in layout[list_key]
    if uses_shots:
        if not isinstance(shots, int) or shots <= 0:
            raise ValueError(f"{key} few_shot: shots must be a positive int (the paper uses "
                             f"{FEW_SHOT_SHOTS}), got {shots!r}")
    else:
        shots = None

    base = dataset_dir(key, root, environ)
    fmt = {"split": split, "shots": shots}
    paths = SplitPaths(
        dataset=key,
        protocol=protocol,
        subset=subset,
        list_file=base / layout[list_key].format(**fmt),
        video_root=base / layout.get("video_root", VIDEOS_DIRNAME),
        label_file=base / layout[label_key].format(**fmt),
        split=split,
        shots=shots,
        classes=classes if protocol == "base2novel" else None,
    )
    if check_exists:
        missing = paths.missing()
        if missing:
            raise DatasetNotPreparedError(
                f"{spec.title} ({key}, protocol={protocol}, subset={subset}) is not prepared: missing "
                + ", ".join(str(p) for p in missing)
                + ". Create it with: "
                + spec.prepare_command.format(data_root=base.parent, dataset_dir=base)
                + f" (the data root comes from the root argument, ${spec.env_var} or "
                f"${DATA_ROOT_ENV})."
            )
    return paths
