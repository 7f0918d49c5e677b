"""Download and prepare Kinetics-400 / Kinetics-600 from the CVDF mirror.

    python data_scripts/prepare_k400.py --root DATA           # = prepare_kinetics.py --version 400
    python data_scripts/prepare_k600.py --root DATA           # = prepare_kinetics.py --version 600

The CVDF (Common Visual Data Foundation) hosts the clips as .tar.gz archives listed in
``k400_<split>_path.txt`` / ``k600_<split>_path.txt`` plus the annotation CSVs
(``label,youtube_id,time_start,time_end,split``). Clips inside the archives are named
``<youtube_id>_<start:06d>_<end:06d>.mp4``; this script downloads each archive with resume,
extracts it (then deletes it unless ``--keep-archives``; a marker remembers it was done),
moves every clip to ``videos/<split>/<label_with_underscores>/`` and writes the lists.

Kinetics-400: ``labels.csv`` (400 names, alphabetical), ``splits/train.txt``,
``splits/val.txt`` and base-to-novel lists (first 200 label ids = base).

Kinetics-600 is only used for zero-shot evaluation on the 220 classes that are not in
Kinetics-400 (Chen & Huang, ICCV 2021). Only the archives of those classes are downloaded
where the mirror stores one archive per class. Two published protocol variants, both
written (see book/data_scripts.md):

* ``vifi`` (ViFi-CLIP / TC-CLIP): 3 splits of 160 classes drawn from the 220, clips from
  the K-600 *train* folder -> ``splits/test_split{s}.txt`` + ``splits/labels_split{s}.csv``
  (the registry's files);
* ``openvclip`` (Open-VCLIP / FROSTER): 3 splits of 160 of the 220 classes over the K-600
  *validation* clips -> ``splits/openvclip/test_split{s}.txt`` + ``labels_split{s}.csv``.

The published list files cannot be fetched here, so the class draws are regenerated with a
fixed, documented seed; the class *counts* and clip sources follow the papers.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

CVDF = "https://s3.amazonaws.com/kinetics/"
ANNOTATION_NAMES = {"400": "{split}.csv", "600": "{split}.txt"}
ZS_CLASSES_PER_SPLIT = 160
ZS_NOVEL_EXPECTED = 220
ZS_VARIANTS = {"vifi": "train", "openvclip": "val"}  # variant -> K-600 clip source


def dataset_name(version: str) -> str:
    return {"400": "k400", "600": "k600"}[version]


def class_dir(label: str) -> str:
    """Folder name of a class: spaces -> underscores, no quotes or slashes."""
    return label.strip().replace(" ", "_").replace("/", "-").replace("'", "").replace('"', "")


def normalise(label: str) -> str:
    """Comparison key for class names across K-400 / K-600 files."""
    return " ".join(label.strip().strip('"').lower().replace("_", " ").split())


def read_annotations(path: Path) -> list[dict[str, str]]:
    """Rows of a Kinetics CSV (header label,youtube_id,time_start,time_end,split[,is_cc])."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    need = {"label", "youtube_id", "time_start", "time_end"}
    if not rows or not need <= set(rows[0]):
        raise C.PrepareError(f"{path} is not a Kinetics annotation CSV (needs columns {need})")
    return rows


def clip_name(row: dict[str, str]) -> str:
    return f"{row['youtube_id']}_{int(float(row['time_start'])):06d}_" \
           f"{int(float(row['time_end'])):06d}.mp4"


def fetch_archives(version: str, split: str, raw: Path, manifest: C.Manifest, base_url: str,
                   show: bool, keep: bool, only_classes: set[str] | None = None) -> int:
    """Download + extract the split's archives (resumable); returns how many were new.

    ``only_classes`` (normalised names) keeps archives named after those classes; archives
    with other names (``part_0.tar.gz``) are always fetched.
    """
    list_url = f"{base_url}{version}/{split}/k{version}_{split}_path.txt"
    list_file = C.download(list_url, raw / f"k{version}_{split}_path.txt", manifest=manifest,
                           show=False)
    urls = [u.strip() for u in list_file.read_text().splitlines() if u.strip()]
    if base_url != CVDF:  # a mirror: keep the file names, swap the host
        urls = [f"{base_url}{version}/{split}/{Path(urllib.parse.urlparse(u).path).name}"
                for u in urls]
    new = 0
    for url in C.progress(urls, len(urls), f"k{version} {split} archives", "tar", show):
        name = Path(urllib.parse.unquote(urllib.parse.urlparse(url).path)).name
        stem = name.split(".tar")[0]
        if only_classes is not None and not stem.startswith("part_") \
                and normalise(stem) not in only_classes:
            continue
        target = raw / f"{split}_extracted" / stem
        if (target / C.EXTRACTED_MARKER).exists():
            continue
        archive = C.download(url, raw / "targz" / split / name, manifest=manifest, show=show)
        C.extract(archive, target, show=False)
        if not keep:
            archive.unlink()
        new += 1
    return new


def organise(rows: list[dict[str, str]], split: str, raw: Path, videos: Path,
             names: list[str], show: bool) -> tuple[list[C.ListItem], int]:
    """Move extracted clips to ``videos/<split>/<class>/`` and list them; count missing."""
    index = {normalise(n): i for i, n in enumerate(names)}
    found = {p.name: p for p in (raw / f"{split}_extracted").rglob("*.mp4")} \
        if (raw / f"{split}_extracted").exists() else {}
    items, missing = [], 0
    for row in C.progress(rows, len(rows), f"organise {split}", "clip", show):
        key = normalise(row["label"])
        if key not in index:
            continue
        rel = f"{split}/{class_dir(names[index[key]])}/{clip_name(row)}"
        dest = videos / rel
        if not dest.exists():
            src = found.get(clip_name(row))
            if src is None:
                missing += 1
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dest)
        items.append((rel, index[key]))
    return items, missing


def k400_class_names(root: Path, raw: Path, manifest: C.Manifest, base_url: str) -> list[str]:
    """K-400 names: the prepared ``k400/labels.csv`` if present, else its train CSV."""
    labels = C.dataset_dir("k400", root) / C.registry.LABELS_FILENAME
    if labels.exists():
        return C.read_labels(labels)
    path = C.download(f"{base_url}400/annotations/train.csv", raw / "k400_train.csv",
                      manifest=manifest, show=False)
    return sorted({r["label"].strip() for r in read_annotations(path)})


def zero_shot_classes(k600: list[str], k400: list[str]) -> list[str]:
    """K-600 classes whose names are not K-400 names (normalised), alphabetical."""
    seen = {normalise(n) for n in k400}
    return sorted(n for n in k600 if normalise(n) not in seen)


def draw_zero_shot_splits(novel: list[str], seed: int, variant: str,
                          per_split: int = ZS_CLASSES_PER_SPLIT) -> list[list[str]]:
    """3 class draws of ``per_split`` from ``novel``, seeded by (seed, variant, split)."""
    if len(novel) < per_split:
        raise C.PrepareError(f"only {len(novel)} K-600 classes absent from K-400, "
                             f"need {per_split} per split")
    return [sorted(random.Random(f"k600-zs:{variant}:{seed}:{s}").sample(novel, per_split))
            for s in C.registry.SPLIT_IDS]


def _annotations(version: str, split: str, raw: Path, manifest: C.Manifest,
                 base_url: str) -> list[dict[str, str]]:
    name = ANNOTATION_NAMES[version].format(split=split)
    path = C.download(f"{base_url}{version}/annotations/{name}",
                      raw / "annotations" / name, manifest=manifest, show=False)
    return read_annotations(path)


def _open_release(version: str, root: Path, base_url: str):
    """Dataset folder, download folder and manifest, video folder, and the train/val annotations."""
    ddir = C.dataset_dir(f"k{version}", root)
    raw = ddir / "_downloads"
    manifest = C.Manifest(raw / C.MANIFEST_NAME)
    rows = {s: _annotations(version, s, raw, manifest, base_url) for s in ("train", "val")}
    return ddir, raw, manifest, ddir / C.registry.VIDEOS_DIRNAME, rows


def prepare_k400(root: Path, seed: int = C.DEFAULT_SEED, show: bool = True,
                 base_url: str = CVDF, keep_archives: bool = False) -> C.Summary:
    """Kinetics-400 train + val under ``root/k400``; see the module doc."""
    ddir, raw, manifest, videos, rows = _open_release("400", root, base_url)
    names = sorted({r["label"].strip() for r in rows["train"]})
    new = sum(fetch_archives("400", s, raw, manifest, base_url, show, keep_archives)
              for s in ("train", "val"))
    C.write_labels(C.layout_path("k400", "labels/standard", ddir), names)
    lists, missing, sizes = {}, 0, {}
    for split in ("train", "val"):
        items, miss = organise(rows[split], split, raw, videos, names, show)
        missing += miss
        key = "standard/train" if split == "train" else "standard/test"
        path = C.layout_path("k400", key, ddir)
        C.write_list(path, items)
        sizes[path.name] = len(items)
        lists[split] = items
    C.write_base2novel("k400", ddir, names, lists["train"], lists["val"], seed)
    return C.Summary("k400", ddir, len(names), sizes, new, 0, missing,
                     ["temporal/static subsets are not generated (class lists not bundled)"])


def prepare_k600(root: Path, seed: int = C.DEFAULT_SEED, show: bool = True,
                 base_url: str = CVDF, keep_archives: bool = False) -> C.Summary:
    """Kinetics-600 zero-shot splits (both variants) under ``root/k600``."""
    ddir, raw, manifest, videos, rows = _open_release("600", root, base_url)
    k600 = sorted({r["label"].strip() for r in rows["train"]})
    novel = zero_shot_classes(k600, k400_class_names(root, raw, manifest, base_url))
    notes = []
    if len(novel) != ZS_NOVEL_EXPECTED:
        notes.append(f"{len(novel)} K-600 classes are not K-400 names "
                     f"(the papers use {ZS_NOVEL_EXPECTED})")
    wanted = {normalise(n) for n in novel}
    new = 0
    lists, missing, sizes = {}, 0, {}
    for split in sorted(set(ZS_VARIANTS.values())):
        new += fetch_archives("600", split, raw, manifest, base_url, show, keep_archives,
                              only_classes=wanted)
        lists[split], miss = organise(rows[split], split, raw, videos, novel, show)
        missing += miss
    for variant, source in ZS_VARIANTS.items():
        for s, classes in zip(C.registry.SPLIT_IDS, draw_zero_shot_splits(novel, seed, variant)):
            keep = [novel.index(c) for c in classes]
            if variant == "vifi":
                list_path = C.layout_path("k600", "zero_shot/test", ddir, split=s)
                label_path = C.layout_path("k600", "labels/zero_shot", ddir, split=s)
            else:
                list_path = ddir / C.registry.SPLITS_DIRNAME / variant / f"test_split{s}.txt"
                label_path = list_path.with_name(f"labels_split{s}.csv")
            C.write_labels(label_path, classes)
            C.write_list(list_path, C.remap(lists[source], keep))
            sizes[f"{variant}/{list_path.name}"] = len(C.remap(lists[source], keep))
    return C.Summary("k600", ddir, len(novel), sizes, new, 0, missing, notes)


def main(argv: list[str] | None = None, version: str | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    C.add_common_args(parser)
    if version is None:
        parser.add_argument("--version", choices=["400", "600"], required=True)
    parser.add_argument("--base-url", default=CVDF,
                        help="CVDF root (or a mirror with the same folder structure)")
    parser.add_argument("--keep-archives", action="store_true",
                        help="keep the .tar.gz files after extraction")
    args = parser.parse_args(argv)
    version = version or args.version
    fn = prepare_k400 if version == "400" else prepare_k600
    return C.run_main(fn, dict(root=args.root, seed=args.seed, show=not args.no_progress,
                               base_url=args.base_url, keep_archives=args.keep_archives))


if __name__ == "__main__":
    raise SystemExit(main())
