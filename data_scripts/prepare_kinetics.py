"""Download and prepare Kinetics-400 / Kinetics-600 from the CVDF mirror.

    python data_scripts/prepare_k400.py --root DATA           # = prepare_kinetics.py --version 400
    python data_scripts/prepare_k600.py --root DATA           # = prepare_kinetics.py --version 600

The CVDF (Common Visual Data Foundation) hosts the clips as .tar.gz archives listed in
``k<version>_<split>_path.txt`` plus the annotation CSVs (``label,youtube_id,time_start,
time_end,split``). Clips inside the archives are named ``<youtube_id>_<start:06d>_<end:06d>.mp4``;
this script downloads each archive with resume, extracts it (then deletes it unless
``--keep-archives``; a marker remembers it was done), moves the clips it needs to
``videos/<split>/<label_with_underscores>/`` and writes the lists. Class names and label ids
are the published ones (``tcclip.data.published``); an annotation label is matched to them
without regard to case, underscores or quotes.

Kinetics-400: ``labels.csv`` (the published 400 names) and their LLM-rephrased versions,
``splits/train.txt`` from the official training CSV (the full published training list does
not survive), and the published ``splits/val.txt``, base-to-novel lists and temporal / static
subsets, all mapped to this layout. The mirror's ``replacement_for_corrupted_k400.tgz``
(re-encoded copies of corrupt training clips, which the temporal / static lists use) replaces
those clips. ``--redraw-seed N`` redraws the base-to-novel training lists from ``train.txt``.

Kinetics-600 is only used for zero-shot evaluation, on the published 3 splits of 160 classes
(ER-ZSAR's, absent from Kinetics-400; ids 0-159 per split, ``splits/labels_split{s}.csv``).
Two variants on the same classes (see book/data_scripts.md):

* ``test`` (ER-ZSAR / ViFi-CLIP / TC-CLIP, what TC-CLIP's tables use): the published lists,
  whose clips are K-600 **test**-set clips -> ``splits/test_split{s}.txt``; the test archives
  and ``annotations/test.csv`` are downloaded;
* ``val`` (Open-VCLIP / FROSTER): every K-600 **validation** clip of those classes ->
  ``splits/val_split{s}.txt``.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import urllib.parse
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

CVDF = "https://s3.amazonaws.com/kinetics/"
# Annotation file names on the mirror (K-600's test set has a .csv, its train / val a .txt).
REPLACEMENT_ARCHIVE = "replacement_for_corrupted_k400.tgz"
ANNOTATION_NAMES = {("400", "train"): "train.csv", ("400", "val"): "val.csv",
                    ("600", "val"): "val.txt", ("600", "test"): "test.csv"}


class_dir = C.published.kinetics_class_dir  # the folder of a class (one definition, in the library)


def normalise(label: str) -> str:
    """Comparison key for class names across K-400 / K-600 files."""
    return " ".join(label.strip().strip('"').lower().replace("_", " ").split())


def read_annotations(path: Path, require_label: bool = True) -> list[dict[str, str]]:
    """Rows of a Kinetics CSV (header label,youtube_id,time_start,time_end,split[,is_cc])."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    need = {"youtube_id", "time_start", "time_end"} | ({"label"} if require_label else set())
    if not rows or not need <= set(rows[0]):
        raise C.PrepareError(f"{path} is not a Kinetics annotation CSV (needs columns {sorted(need)})")
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


def fetch_replacements(raw: Path, manifest: C.Manifest, base_url: str, show: bool, keep: bool) -> int:
    """The mirror's re-encoded copies of corrupt K-400 training clips (``replacement_for_corrupted_k400.tgz``)."""
    target = raw / "replacement_extracted"
    if (target / C.EXTRACTED_MARKER).exists():
        return 0
    archive = C.download(f"{base_url}400/{REPLACEMENT_ARCHIVE}", raw / "targz" / REPLACEMENT_ARCHIVE,
                         manifest=manifest, show=show, retries=2)
    C.extract(archive, target, show=False)
    if not keep:
        archive.unlink()
    return 1


def organise(rows: list[dict[str, str]], split: str, raw: Path, videos: Path,
             class_of: Callable[[dict[str, str]], str | None], show: bool) -> tuple[list[tuple[str, str]], int]:
    """Move extracted clips to ``videos/<split>/<class folder>/``; returns (path, class) of each, #missing.

    ``class_of(row)`` names a row's (published) class, or None for rows not wanted. For the
    K-400 training set, the mirror's replacements of corrupt clips take the originals' place.
    """
    found = {}
    for folder in (raw / f"{split}_extracted", *([raw / "replacement_extracted"] if split == "train" else [])):
        if folder.exists():
            found.update({p.name: p for p in folder.rglob("*.mp4")})
    placed, missing = [], 0
    for row in C.progress(rows, len(rows), f"organise {split}", "clip", show):
        name = class_of(row)
        if name is None:
            continue
        rel = f"{split}/{class_dir(name)}/{clip_name(row)}"
        dest = videos / rel
        if not dest.exists():
            src = found.get(clip_name(row))
            if src is None:
                missing += 1
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dest)
        placed.append((rel, name))
    return placed, missing


def published_names(label_file: str) -> dict[str, str]:
    """normalised name -> name, for the classes of a published label file."""
    return {normalise(n): n for n in C.published.read_names(label_file)}


def _annotations(version: str, split: str, raw: Path, manifest: C.Manifest, base_url: str,
                 require_label: bool = True) -> list[dict[str, str]]:
    name = ANNOTATION_NAMES[(version, split)]
    path = C.download(f"{base_url}{version}/annotations/{name}",
                      raw / "annotations" / name, manifest=manifest, show=False)
    return read_annotations(path, require_label)


def _open_release(version: str, root: Path) -> tuple[Path, Path, C.Manifest, Path]:
    """Dataset folder, download folder, manifest and video folder."""
    ddir = C.dataset_dir(f"k{version}", root)
    raw = ddir / "_downloads"
    return ddir, raw, C.Manifest(raw / C.MANIFEST_NAME), ddir / C.registry.VIDEOS_DIRNAME


def prepare_k400(root: Path, redraw_seed: int | None = None, show: bool = True,
                 base_url: str = CVDF, keep_archives: bool = False) -> C.Summary:
    """Kinetics-400 train + val under ``root/k400``; see the module doc."""
    ddir, raw, manifest, videos = _open_release("400", root)
    rows = {s: _annotations("400", s, raw, manifest, base_url) for s in ("train", "val")}
    known = published_names(C.published_labels_file("k400", "labels/standard"))
    unknown = sorted({r["label"] for split in rows.values() for r in split if normalise(r["label"]) not in known})
    if unknown:
        raise C.PrepareError(f"the annotation CSVs name classes that are not among the published 400: {unknown[:5]}")
    new = sum(fetch_archives("400", s, raw, manifest, base_url, show, keep_archives) for s in ("train", "val"))
    notes = []
    try:
        new += fetch_replacements(raw, manifest, base_url, show, keep_archives)
    except C.PrepareError as err:
        notes.append(f"no replacements for corrupt training clips ({err}); the published temporal / static "
                     f"training lists name 153 of them")
    placed, missing = {}, 0
    for split in ("train", "val"):
        placed[split], miss = organise(rows[split], split, raw, videos, lambda r: known[normalise(r["label"])], show)
        missing += miss
    index = C.label_index(C.published.read_names(C.published_labels_file("k400", "labels/standard")))
    train = [(rel, index[name]) for rel, name in placed["train"]]
    C.lists.write_list(C.layout_path("k400", "standard/train", ddir), train)
    sizes, more = C.write_protocol_lists("k400", ddir, train, redraw_seed)
    notes += more
    sizes[C.registry.DATASET_LAYOUT["k400"]["standard/train"]] = len(train)
    return C.Summary("k400", ddir, len(index), sizes, new, 0, missing, notes)


def zero_shot_classes() -> list[str]:
    """The K-600 classes of the three published zero-shot splits (217 of the 220), sorted."""
    return sorted({n for s in C.registry.SPLIT_IDS
                   for n in C.published.read_names(C.published_labels_file("k600", "labels/zero_shot", s))})


def prepare_k600(root: Path, redraw_seed: int | None = None, show: bool = True,
                 base_url: str = CVDF, keep_archives: bool = False) -> C.Summary:
    """Kinetics-600 zero-shot splits (the test and the val variant) under ``root/k600``."""
    del redraw_seed  # nothing is drawn: the K-600 classes and clips are the published ones
    ddir, raw, manifest, videos = _open_release("600", root)
    classes = {normalise(n): n for n in zero_shot_classes()}
    # test variant: the published clips (class from the published lists); the test CSV confirms them
    test_class: dict[str, str] = {}
    for s in C.registry.SPLIT_IDS:
        entry = C.published.find_list("k600", "zero_shot/test", split=s)
        names = C.published.read_names(entry.labels)
        for path, label in C.published.read_items(entry.file):
            test_class[Path(path).name] = names[label]
    rows = {"test": _annotations("600", "test", raw, manifest, base_url, require_label=False),
            "val": _annotations("600", "val", raw, manifest, base_url)}
    notes = []
    in_csv = {clip_name(r) for r in rows["test"]}
    if len(set(test_class) - in_csv):
        notes.append(f"{len(set(test_class) - in_csv)} of the {len(test_class)} published zero-shot clips are not "
                     f"rows of the K-600 test CSV")
    disagree = sum(1 for r in rows["test"] if r.get("label") and clip_name(r) in test_class
                   and normalise(r["label"]) != normalise(test_class[clip_name(r)]))
    if disagree:
        notes.append(f"{disagree} published zero-shot clips have another class in the K-600 test CSV "
                     f"(the published class is used)")
    new = 0
    for split in ("test", "val"):
        new += fetch_archives("600", split, raw, manifest, base_url, show, keep_archives, only_classes=set(classes))
    missing = 0
    _, miss = organise(rows["test"], "test", raw, videos, lambda r: test_class.get(clip_name(r)), show)
    missing += miss
    val, miss = organise(rows["val"], "val", raw, videos, lambda r: classes.get(normalise(r["label"])), show)
    missing += miss
    sizes, more = C.write_protocol_lists("k600", ddir)
    notes += more
    for s in C.registry.SPLIT_IDS:  # the Open-VCLIP / FROSTER variant: the validation clips of the same classes
        index = C.label_index(C.published.read_names(C.published_labels_file("k600", "labels/zero_shot", s)))
        items = [(rel, index[name]) for rel, name in val if name in index]
        target = C.layout_path("k600", "zero_shot/val", ddir, split=s)
        C.lists.write_list(target, items)
        sizes[target.relative_to(ddir).as_posix()] = len(items)
    return C.Summary("k600", ddir, len(classes), sizes, new, 0, missing, notes)


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
    return C.run_main(fn, dict(root=args.root, redraw_seed=args.redraw_seed, show=not args.no_progress,
                               base_url=args.base_url, keep_archives=args.keep_archives))


if __name__ == "__main__":
    raise SystemExit(main())
