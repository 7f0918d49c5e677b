"""Download and prepare UCF-101 (Soomro et al., 2012) in the registry's layout.

    python data_scripts/prepare_ucf101.py --root DATA

Steps (each skipped when already done):
1. download ``UCF101.rar`` and the official ``UCF101TrainTestSplits-RecognitionTask.zip``
   from the CRCV site;
2. extract (the .rar needs ``apt-get install unar`` or unrar / 7zip / bsdtar);
3. read ``ucfTrainTestlist/classInd.txt`` (``1 ApplyEyeMakeup``: label order),
   ``trainlist0{s}.txt`` (``Class/v_x.avi 1``) and ``testlist0{s}.txt`` (``Class/v_x.avi``,
   labelled by its folder; matched case-insensitively, since the lists and the folders
   disagree in case for a few classes, e.g. ``HandStandPushups``);
4. write ``splits/train_split{s}.txt`` from the official lists (not published) and the
   published protocol files mapped to ``<Class>/<video>.avi`` (``tcclip.data.published``):
   ``labels.csv`` (= classInd order) and the LLM names, ``splits/test_split{s}.txt``
   (``val{s}.txt``), few-shot lists (from split 1) and base-to-novel lists.
   ``--redraw-seed N`` draws the few-shot and base-to-novel training lists instead.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

DATASET = "ucf101"
VIDEOS_URL = "https://www.crcv.ucf.edu/data/UCF101/UCF101.rar"
SPLITS_URL = "https://www.crcv.ucf.edu/data/UCF101/UCF101TrainTestSplits-RecognitionTask.zip"
NUM_CLASSES = 101


def read_class_index(path: Path) -> list[str]:
    """classInd.txt -> class names in label order (its 1-based ids must be 1..C)."""
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    ids = [int(r[0]) for r in rows]
    if ids != list(range(1, len(rows) + 1)):
        raise C.PrepareError(f"{path}: ids are not 1..{len(rows)} in order")
    return [r[1] for r in rows]


def _find(folder: Path, name: str) -> Path:
    hits = sorted(folder.rglob(name))
    if not hits:
        raise C.PrepareError(f"{name} not found under {folder}; is the splits zip complete?")
    return hits[0]


def parse_list(path: Path, classes: list[str], video_index: dict[str, str],
               has_labels: bool) -> tuple[list[C.ListItem], int]:
    """One official list -> items with on-disk relative paths; counts missing videos."""
    by_lower = {c.lower(): i for i, c in enumerate(classes)}
    items, missing = [], 0
    for line in path.read_text().splitlines():
        fields = line.strip().replace("\\", "/").split()
        if not fields:
            continue
        rel = fields[0]
        folder = rel.split("/")[0].lower()
        if folder not in by_lower:
            raise C.PrepareError(f"{path}: class folder {folder!r} is not in classInd.txt")
        label = by_lower[folder]
        if has_labels and len(fields) > 1 and int(fields[1]) - 1 != label:
            raise C.PrepareError(f"{path}: {rel} has label {fields[1]} but its folder is "
                                 f"class {label + 1}")
        actual = video_index.get(rel.lower())
        if actual is None:
            missing += 1
            continue
        items.append((actual, label))
    return items, missing


def index_videos(videos: Path) -> dict[str, str]:
    """lower-case relative path -> relative path as on disk (case-insensitive lookup)."""
    return {p.relative_to(videos).as_posix().lower(): p.relative_to(videos).as_posix()
            for p in videos.rglob("*.avi")}


def place_videos(extracted: Path, videos: Path) -> None:
    """Move ``UCF-101/<Class>/*.avi`` under ``videos/`` once (marker file)."""
    if (videos / C.EXTRACTED_MARKER).exists():
        return
    roots = sorted({p.parent.parent for p in extracted.rglob("*.avi")})
    if len(roots) != 1:
        raise C.PrepareError(f"expected one folder of class folders in {extracted}, got "
                             f"{[str(r) for r in roots][:3]}")
    C.move_tree(roots[0], videos)
    (videos / C.EXTRACTED_MARKER).touch()


def prepare(root: Path, redraw_seed: int | None = None, show: bool = True,
            videos_url: str = VIDEOS_URL, splits_url: str = SPLITS_URL) -> C.Summary:
    """Download, extract and index UCF-101 under ``root/ucf101``; see the module doc."""
    ddir = C.dataset_dir(DATASET, root)
    raw = ddir / "_downloads"
    manifest = C.Manifest(raw / C.MANIFEST_NAME)
    files = [(videos_url, Path(videos_url).name, None), (splits_url, Path(splits_url).name, None)]
    (videos_rar, splits_zip), new, skipped = C.fetch_all(files, raw, manifest, show)
    split_dir = C.extract(splits_zip, raw / "splits", show)
    videos = ddir / C.registry.VIDEOS_DIRNAME
    if not (videos / C.EXTRACTED_MARKER).exists():
        extracted = C.extract(videos_rar, raw / "videos_extracted", show)
        videos.mkdir(parents=True, exist_ok=True)
        place_videos(extracted, videos)
    classes = read_class_index(_find(split_dir, "classInd.txt"))
    if classes != C.standard_class_keys(DATASET):
        raise C.PrepareError(f"classInd.txt's classes are not the published ucf_101_labels.csv classes in the "
                             f"same order (first: {classes[:3]}); is the splits zip the official one?")
    index = index_videos(videos)
    train: dict[int, list[C.ListItem]] = {}
    official_test: dict[int, list[C.ListItem]] = {}
    missing = 0
    for s in C.registry.SPLIT_IDS:
        train[s], miss = parse_list(_find(split_dir, f"trainlist0{s}.txt"), classes, index, has_labels=True)
        official_test[s], _ = parse_list(_find(split_dir, f"testlist0{s}.txt"), classes, index, has_labels=False)
        missing += miss
        C.lists.write_list(C.layout_path(DATASET, "standard/train", ddir, split=s), train[s])
    sizes = {C.registry.DATASET_LAYOUT[DATASET]["standard/train"].format(split=s): len(v) for s, v in train.items()}
    written, notes = C.write_protocol_lists(DATASET, ddir, train[1], redraw_seed)
    sizes.update(written)
    for s in C.registry.SPLIT_IDS:  # the published test lists are the official test splits
        official = {C.published.path_key(p) for p, _ in official_test[s]}
        target = ddir / C.published.find_list(DATASET, "standard/test", split=s).target
        listed = {C.published.path_key(p) for p, _ in C.lists.read_list(target, allow_empty=True)}
        if official != listed:
            notes.append(f"official test split {s} differs from the published val{s}.txt in "
                         f"{len(official ^ listed)} videos on disk (the published list is used)")
    return C.Summary(DATASET, ddir, len(classes), sizes, new, skipped, missing, notes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    C.add_common_args(parser)
    parser.add_argument("--videos-url", default=VIDEOS_URL)
    parser.add_argument("--splits-url", default=SPLITS_URL)
    args = parser.parse_args(argv)
    return C.run_main(prepare, dict(root=args.root, redraw_seed=args.redraw_seed, show=not args.no_progress,
                                    videos_url=args.videos_url, splits_url=args.splits_url))


if __name__ == "__main__":
    raise SystemExit(main())
