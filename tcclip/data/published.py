"""The paper's protocols exactly: the published split and label files, mapped to this layout.

TC-CLIP's numbers (Kim et al., ECCV 2024) were measured on split and label files that its
reference release publishes (most of them ViFi-CLIP's, byte for byte). The files this
project needs ship with the package, gzip-compressed, in ``published_files/`` (licence
CC BY-NC 4.0; source and commit in ``published_files/NOTICE.md``, a sha256 of every original
file in ``published_files/MANIFEST.json``). This module says which published file is which
view of :mod:`tcclip.data.registry`, reads them, and maps their file names to this project's
on-disk layout; ``data_scripts/`` write the mapped lists (:func:`write_published`) and
``python -m tcclip check --published`` counts how many of their entries are on disk.

What the published lines mean, worked out from the files themselves (``tests/
test_published_lists.py`` checks each claim):

* A line is ``<path> <label id>``. The ids index the label file listed next to it in
  :data:`PUBLISHED_LISTS`: the dataset's full label file, or the base / novel / temporal /
  static / K-600-split label file of that view (their ids restart at 0).
* HMDB-51: ``<video>.avi``, flat. The ids index the **class folder names in sorted order**;
  the published ``hmdb_51_labels.csv`` (and the base / novel halves) name ids 20 / 21 and
  44 / 45 the other way round ("kick ball" / "kick", "sword exercise" / "sword"), while the
  LLM-rephrased files have them in folder order. The label files are shipped and written
  unchanged, because the paper's numbers were measured with them; :func:`label_order_mismatches`
  lists the swapped ids. This project: ``<class folder>/<video>.avi``.
* UCF-101: ``v_<Class>_gNN_cNN.avi``, flat; ids index ``ucf_101_labels.csv`` (= classInd.txt
  order); the file name's class may differ in case from the folder (``v_HandStandPushups_*``
  in ``HandstandPushups/``). This project: ``<Class>/<video>.avi``.
* Kinetics-400: ``train/`` or ``val/`` + ``<youtube_id>_<start:06d>_<end:06d>.mp4``; the
  temporal / static training lists also name 153 entries as
  ``replacement/replacement_for_corrupted_k400/<name>``: the CVDF mirror's re-encoded copies
  of training clips whose originals are corrupt. This project: ``<train|val>/<class
  folder>/<same name>`` (a replacement is the training clip it replaces), the class folder
  being the label with spaces as underscores (:func:`kinetics_class_dir`).
* Kinetics-600 zero-shot (ER-ZSAR / ViFi-CLIP / TC-CLIP): ``train/``, ``val/`` or ``test/`` +
  ``<youtube_id>_<start>_<end>.mp4``; the prefix is the folder of the authors' own copy, not
  a K-600 split: the clips are rows of the K-600 **test** annotation file (as a comparison with
  the official annotation files showed; ``prepare_k600.py`` reports any published clip that is
  not a row of ``test.csv``). This project: ``test/<class folder>/<same name>``.
* Something-Something v2: ``<id>.webm`` with the ids of the official JSON files; the same here.

Plain Python (no torch): the dataset scripts import it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

from . import lists, registry

PUBLISHED_DIR = Path(__file__).with_name("published_files")
SOURCE_REPOSITORY = "naver-ai/tc-clip"
SOURCE_COMMIT = "8728fe4ca2b27f00e7235ed8f81f59cb933c8ed9"
LICENSE = "CC BY-NC 4.0 (https://creativecommons.org/licenses/by-nc/4.0/)"
VIDEO_EXTENSIONS = frozenset({".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg"})

DATASETS: tuple[str, ...] = ("hmdb51", "ucf101", "k400", "k600", "ssv2")
# The CVDF mirror's folder of re-encoded K-400 training clips (replacing corrupt originals).
K400_REPLACEMENT_FOLDER = "replacement"


@dataclass(frozen=True)
class PublishedList:
    """One published annotation list and the registry view it fills.

    ``file`` and ``labels`` are paths inside the reference release; ``view`` is the registry's
    list key (``"base2novel/test/novel"``), with ``split`` / ``shots`` for its template.
    """

    dataset: str
    view: str
    file: str
    labels: str
    split: int | None = None
    shots: int | None = None

    @property
    def target(self) -> str:
        """The list's path in this project, relative to the dataset folder."""
        return registry.DATASET_LAYOUT[self.dataset][self.view].format(split=self.split, shots=self.shots)

    @property
    def name(self) -> str:
        """A readable name: ``"hmdb51 few_shot/train K=2"``."""
        extra = f" split {self.split}" if self.split is not None else ""
        extra += f" K={self.shots}" if self.shots is not None else ""
        return f"{self.dataset} {self.view}{extra}"


@dataclass(frozen=True)
class PublishedLabels:
    """One published label file and the registry label key it fills (``labels/standard_llm``)."""

    dataset: str
    key: str
    file: str
    split: int | None = None

    @property
    def target(self) -> str:
        return registry.DATASET_LAYOUT[self.dataset][self.key].format(split=self.split, shots=None)


# ----------------------------------------------------------------------------- the catalogue

_L, _S = "labels/", "datasets_splits/"
_FROSTER = _L + "labels_froster/"
_TS = _L + "labels_temporal_static/"
_SHOTS = registry.FEW_SHOT_SHOTS
_SPLITS = registry.SPLIT_IDS


def _hmdb_ucf(dataset: str, stem: str, folder: str) -> tuple[list[PublishedList], list[PublishedLabels]]:
    full, base, novel = (f"{_L}{stem}_labels.csv", f"{_L}{stem}_base_labels.csv", f"{_L}{stem}_novel_labels.csv")
    b2n = f"{_S}base2novel_splits/{folder}/"
    lsts = [PublishedList(dataset, "standard/test", f"{_S}{folder}/val{s}.txt", full, split=s) for s in _SPLITS]
    lsts += [PublishedList(dataset, "few_shot/train", f"{_S}{folder}/train1_few_shot_{k}.txt", full, shots=k)
             for k in _SHOTS]
    lsts += _base2novel(dataset, b2n, base, novel)
    labels = [PublishedLabels(dataset, "labels/standard", full),
              PublishedLabels(dataset, "labels/standard_llm", f"{_FROSTER}{stem}_llm_labels.json"),
              PublishedLabels(dataset, "labels/base2novel/base", base),
              PublishedLabels(dataset, "labels/base2novel/novel", novel),
              PublishedLabels(dataset, "labels/base2novel/base_llm", f"{_FROSTER}{stem}_base_llm_labels.json"),
              PublishedLabels(dataset, "labels/base2novel/novel_llm", f"{_FROSTER}{stem}_novel_llm_labels.json")]
    return lsts, labels


def _base2novel(dataset: str, folder: str, base: str, novel: str) -> list[PublishedList]:
    out = [PublishedList(dataset, "base2novel/train/base", f"{folder}fs_base_s{s}_train.txt", base, split=s)
           for s in _SPLITS]
    return out + [PublishedList(dataset, "base2novel/test/base", f"{folder}base_val.txt", base),
                  PublishedList(dataset, "base2novel/test/novel", f"{folder}novel_val.txt", novel)]


def _temporal_static(dataset: str, folder: str, stem: str, val: str, sizes: dict[str, int]
                     ) -> tuple[list[PublishedList], list[PublishedLabels]]:
    lsts, labels = [], []
    for kind, n in sizes.items():
        label_file = f"{_TS}{stem}_{kind}{n}_labels.csv"
        root = f"{_S}temporal_static_splits/{folder}/"
        lsts += [PublishedList(dataset, f"{kind}/train", f"{root}train_{kind}{n}.txt", label_file),
                 PublishedList(dataset, f"{kind}/test", f"{root}{val}_{kind}{n}.txt", label_file)]
        labels.append(PublishedLabels(dataset, f"labels/{kind}", label_file))
    return lsts, labels


def _catalogue() -> tuple[dict[str, tuple[PublishedList, ...]], dict[str, tuple[PublishedLabels, ...]]]:
    out_lists: dict[str, list[PublishedList]] = {}
    out_labels: dict[str, list[PublishedLabels]] = {}
    for dataset, stem, folder in (("hmdb51", "hmdb_51", "hmdb_splits"), ("ucf101", "ucf_101", "ucf_splits")):
        out_lists[dataset], out_labels[dataset] = _hmdb_ucf(dataset, stem, folder)

    k400, k400_base, k400_novel = (f"{_L}kinetics_400_labels.csv", f"{_L}kinetics_400_base_labels.csv",
                                   f"{_L}kinetics_400_novel_labels.csv")
    ts_lists, ts_labels = _temporal_static("k400", "k400_splits", "kinetics_400", "val", {"temporal": 32, "static": 32})
    out_lists["k400"] = [PublishedList("k400", "standard/test", f"{_S}k400_splits/val.txt", k400),
                         *_base2novel("k400", f"{_S}base2novel_splits/k400_splits/", k400_base, k400_novel), *ts_lists]
    out_labels["k400"] = [PublishedLabels("k400", "labels/standard", k400),
                          PublishedLabels("k400", "labels/standard_llm", f"{_FROSTER}kinetics_400_llm_labels.json"),
                          PublishedLabels("k400", "labels/base2novel/base", k400_base),
                          PublishedLabels("k400", "labels/base2novel/novel", k400_novel),
                          PublishedLabels("k400", "labels/base2novel/base_llm",
                                          f"{_FROSTER}kinetics_400_base_llm_labels.json"),
                          PublishedLabels("k400", "labels/base2novel/novel_llm",
                                          f"{_FROSTER}kinetics_400_novel_llm_labels.json"), *ts_labels]

    out_lists["k600"] = [PublishedList("k600", "zero_shot/test", f"{_S}k600_splits/ZS_split{s}_K600_eval.txt",
                                       f"{_L}ZS_split{s}_K600.csv", split=s) for s in _SPLITS]
    out_labels["k600"] = [label for s in _SPLITS for label in (
        PublishedLabels("k600", "labels/zero_shot", f"{_L}ZS_split{s}_K600.csv", split=s),
        PublishedLabels("k600", "labels/zero_shot_llm", f"{_FROSTER}ZS_split{s}_K600_llm.json", split=s))]

    ssv2, ssv2_base, ssv2_novel = f"{_L}ssv2_labels.csv", f"{_L}ssv2_174_base_labels.csv", f"{_L}ssv2_174_novel_labels.csv"
    ts_lists, ts_labels = _temporal_static("ssv2", "ssv2_splits", "ssv2", "validation", {"temporal": 18, "static": 16})
    out_lists["ssv2"] = [PublishedList("ssv2", "standard/test", f"{_S}ssv2_splits/validation.txt", ssv2),
                         *[PublishedList("ssv2", "few_shot/train", f"{_S}ssv2_splits/train1_few_shot_{k}.txt", ssv2,
                                         shots=k) for k in _SHOTS],
                         *_base2novel("ssv2", f"{_S}base2novel_splits/ssv2_splits/", ssv2_base, ssv2_novel), *ts_lists]
    out_labels["ssv2"] = [PublishedLabels("ssv2", "labels/standard", ssv2),
                          PublishedLabels("ssv2", "labels/base2novel/base", ssv2_base),
                          PublishedLabels("ssv2", "labels/base2novel/novel", ssv2_novel), *ts_labels]
    return ({k: tuple(v) for k, v in out_lists.items()}, {k: tuple(v) for k, v in out_labels.items()})


PUBLISHED_LISTS, PUBLISHED_LABELS = _catalogue()


def find_list(dataset: str, view: str, split: int | None = None, shots: int | None = None) -> PublishedList:
    """The catalogue entry of one view, e.g. ``find_list("hmdb51", "standard/test", split=2)``."""
    for entry in PUBLISHED_LISTS[dataset]:
        if (entry.view, entry.split, entry.shots) == (view, split, shots):
            return entry
    raise KeyError(f"no published list for {dataset} {view} split={split} shots={shots}")


def shipped_files() -> list[str]:
    """Every release file the catalogue uses (what ``published_files/`` must hold)."""
    names = {x.file for d in DATASETS for x in PUBLISHED_LISTS[d]}
    names |= {x.labels for d in DATASETS for x in PUBLISHED_LISTS[d]}
    names |= {x.file for d in DATASETS for x in PUBLISHED_LABELS[d]}
    return sorted(names)


# ----------------------------------------------------------------------------- reading the shipped files


def shipped_path(release_file: str) -> Path:
    """Where the gzip copy of a release file lives in the package."""
    return PUBLISHED_DIR / f"{release_file}.gz"


@cache
def manifest() -> dict:
    """``MANIFEST.json``: source, commit, licence and the sha256 / size of every original file."""
    return json.loads((PUBLISHED_DIR / "MANIFEST.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=64)
def read_text(release_file: str) -> str:
    """The original text of a shipped release file, checked against its recorded sha256."""
    path = shipped_path(release_file)
    if not path.is_file():
        raise FileNotFoundError(f"{release_file} is not shipped with tcclip ({path} is missing); "
                                f"reinstall the package or rerun data_scripts/vendor_published.py")
    data = gzip.decompress(path.read_bytes())
    expected = manifest()["files"].get(release_file, {}).get("sha256")
    if hashlib.sha256(data).hexdigest() != expected:
        raise ValueError(f"{path} does not match the sha256 in MANIFEST.json: the shipped copy is damaged")
    return data.decode("utf-8")


@lru_cache(maxsize=64)
def read_items(release_file: str) -> tuple[lists.ListItem, ...]:
    """The (published path, label id) entries of a published list, in file order."""
    records = lists.parse_list_text(read_text(release_file), release_file)
    return tuple((r.path, r.label) for r in records)


@lru_cache(maxsize=64)
def read_names(release_file: str) -> tuple[str, ...]:
    """The class names (or LLM descriptions) of a published label file, in id order."""
    kind = "json" if release_file.endswith(".json") else "csv"
    return tuple(lists.parse_label_text(read_text(release_file), kind, release_file))


# ----------------------------------------------------------------------------- name mapping


def kinetics_class_dir(label: str) -> str:
    """This project's folder for a Kinetics class: spaces -> underscores, no quotes or slashes."""
    return label.strip().replace(" ", "_").replace("/", "-").replace("'", "").replace('"', "")


def _hmdb_folder(name: str) -> str:
    return name.strip().replace(" ", "_")


def class_keys(dataset: str, label_file: str) -> list[str]:
    """What each label id of ``label_file`` stands for, as the class folder (names for SSv2).

    HMDB-51's ids index the sorted folder names (see the module doc); every other dataset's
    ids index its label file's names.
    """
    names = read_names(label_file)
    if dataset == "hmdb51":
        return sorted(_hmdb_folder(n) for n in names)
    if dataset in ("k400", "k600"):
        return [kinetics_class_dir(n) for n in names]
    return list(names)


def project_path(dataset: str, published: str, key: str) -> str:
    """A published list path -> this project's path under ``videos/`` (``key`` from :func:`class_keys`)."""
    name = published.rsplit("/", 1)[-1]  # string operations, not pathlib: lists have ~10^5 entries
    if dataset in ("hmdb51", "ucf101"):
        return f"{key}/{name}"
    if dataset == "k400":
        split = published.split("/", 1)[0]
        return f"{'train' if split == K400_REPLACEMENT_FOLDER else split}/{key}/{name}"
    if dataset == "k600":
        return f"test/{key}/{name}"
    return published  # ssv2: <id>.webm in both


def mapped_items(entry: PublishedList) -> list[lists.ListItem]:
    """The entries of a published list with this project's paths (labels unchanged)."""
    keys = class_keys(entry.dataset, entry.labels)
    return [(project_path(entry.dataset, path, keys[label]), label) for path, label in read_items(entry.file)]


def label_order_mismatches(dataset: str, label_file: str) -> list[tuple[int, str, str]]:
    """(id, name in the label file, class the list ids mean) where the two disagree.

    Empty for every published label file except HMDB-51's, whose CSV files swap two pairs of
    names relative to the ids the lists use (the paper's numbers were measured that way).
    """
    names = read_names(label_file)
    keys = class_keys(dataset, label_file)
    own = (_hmdb_folder if dataset == "hmdb51" else kinetics_class_dir if dataset in ("k400", "k600")
           else (lambda n: n))
    return [(i, n, k) for i, (n, k) in enumerate(zip(names, keys)) if own(n) != k]


# ----------------------------------------------------------------------------- finding files on disk


def path_key(relative: str) -> str:
    """A list path without its video extension, lower case: what :class:`VideoIndex` matches on."""
    path = relative.replace("\\", "/")
    stem, dot, extension = path.rpartition(".")
    if dot and "/" not in extension and f".{extension.lower()}" in VIDEO_EXTENSIONS:
        path = stem
    return path.lower()


class VideoIndex:
    """Finds the file a list path names under a video root.

    Exact paths first; otherwise the same path with another video extension (``.avi`` listed,
    ``.mp4`` on disk after ``data_scripts/reencode.py``) or another letter case. The folder is
    scanned once, on the first lookup (a dictionary lookup per path afterwards: the big lists
    have tens of thousands of entries).
    """

    def __init__(self, video_root: str | os.PathLike[str]) -> None:
        self.video_root = Path(video_root)
        self._files: set[str] | None = None
        self._by_key: dict[str, str] = {}

    def _scan(self) -> set[str]:
        if self._files is None:
            self._files = set()
            if self.video_root.is_dir():
                root = str(self.video_root)
                for folder, _dirs, files in os.walk(root):
                    prefix = os.path.relpath(folder, root).replace(os.sep, "/")
                    for name in files:
                        if os.path.splitext(name)[1].lower() in VIDEO_EXTENSIONS:
                            rel = name if prefix == "." else f"{prefix}/{name}"
                            self._files.add(rel)
                            self._by_key.setdefault(path_key(rel), rel)
        return self._files

    def resolve(self, relative: str) -> str | None:
        """The path as it is on disk, relative to the video root, or None."""
        if relative in self._scan():
            return relative
        return self._by_key.get(path_key(relative))


# ----------------------------------------------------------------------------- writing a dataset's lists


@dataclass
class ListReport:
    """What happened to one published list: entries published, written, and some not on disk."""

    name: str
    file: str
    target: str
    published: int
    written: int
    missing_examples: list[tuple[str, str]] = field(default_factory=list)  # (published path, expected path)

    @property
    def missing(self) -> int:
        return self.published - self.written


def resolve_items(items: Sequence[lists.ListItem], published: Sequence[lists.ListItem],
                  index: VideoIndex | None, examples: int = 5
                  ) -> tuple[list[lists.ListItem], list[tuple[str, str]], int]:
    """Keep the items whose video is on disk (as its on-disk path): (kept, a few missing, #missing).

    ``index=None`` keeps every item as it is (no disk to look at).
    """
    if index is None:
        return list(items), [], 0
    kept, missing_examples, missing = [], [], 0
    for (path, label), (source, _) in zip(items, published, strict=True):
        found = index.resolve(path)
        if found is None:
            missing += 1
            if len(missing_examples) < examples:
                missing_examples.append((source, path))
        else:
            kept.append((found, label))
    return kept, missing_examples, missing


def write_labels_file(target: Path, names: Sequence[str]) -> Path:
    """A label file in the format its name says (``.json``: descriptions by id, else ``id,name`` CSV)."""
    return lists.write_label_json(target, names) if target.suffix == ".json" else lists.write_labels(target, names)


def write_published(dataset: str, dataset_dir: str | os.PathLike[str], index: VideoIndex | None,
                    skip_views: Collection[str] = (), examples: int = 5) -> list[ListReport]:
    """Write every published label file and list of ``dataset`` under ``dataset_dir``.

    Lists get this project's paths (:func:`mapped_items`); with an ``index`` only the entries
    whose video is on disk are kept (a video listed by the paper but lost from your copy cannot
    be evaluated; the report counts and names them). Label files are written as published.
    Views in ``skip_views`` (registry list keys) are left alone (``--redraw-seed`` draws them).
    """
    ddir = Path(dataset_dir)
    for labels in PUBLISHED_LABELS[dataset]:
        write_labels_file(ddir / labels.target, read_names(labels.file))
    reports = []
    written: set[str] = set()
    for entry in PUBLISHED_LISTS[dataset]:
        if entry.view in skip_views or entry.target in written:
            continue
        kept, missing_examples, _ = resolve_items(mapped_items(entry), read_items(entry.file), index, examples)
        lists.write_list(ddir / entry.target, kept)
        written.add(entry.target)
        reports.append(ListReport(entry.name, entry.file, entry.target, len(read_items(entry.file)), len(kept),
                                  missing_examples))
    return reports


# ----------------------------------------------------------------------------- counts for the book


def count_rows(datasets: Sequence[str] = DATASETS) -> list[dict[str, object]]:
    """Per published list: dataset, view, this project's list, release file, clips, classes with clips,
    label-file classes."""
    rows = []
    for dataset in datasets:
        for entry in PUBLISHED_LISTS[dataset]:
            items = read_items(entry.file)
            rows.append({"dataset": dataset, "view": entry.name.split(" ", 1)[1], "list": entry.target,
                         "published file": entry.file,
                         "clips": len(items), "classes": len({label for _, label in items}),
                         "label file": entry.labels, "label-file classes": len(read_names(entry.labels))})
    return rows


def count_table(datasets: Sequence[str] = DATASETS) -> str:
    """:func:`count_rows` as a Markdown table (the book's pages include it; a test keeps them equal)."""
    lines = ["| dataset | view | written to | published file (`datasets_splits/...`) | clips | classes |",
             "|---|---|---|---|---:|---:|"]
    for row in count_rows(datasets):
        file = str(row["published file"]).removeprefix("datasets_splits/")
        lines.append(f"| {row['dataset']} | {row['view']} | `{row['list']}` | `{file}` | {row['clips']:,} "
                     f"| {row['classes']} |")
    return "\n".join(lines) + "\n"

