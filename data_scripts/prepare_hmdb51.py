"""Download and prepare HMDB-51 (Kuehne et al., ICCV 2011) in the registry's layout.

    python data_scripts/prepare_hmdb51.py --root DATA

Steps (each skipped when already done, so a rerun is cheap and an interrupted run resumes):
1. download ``hmdb51_org.rar`` (51 inner .rar files, one per class) and
   ``test_train_splits.rar`` (the official 3 splits) from the Serre lab site;
2. extract them (needs a RAR tool: ``apt-get install unar``, or unrar / 7zip / bsdtar);
3. parse ``<class>_test_split<s>.txt`` (``video.avi 1|2|0``: 1 train, 2 test, 0 unused);
4. write ``splits/train_split{s}.txt`` from the official files (not published) and the
   published protocol files, mapped to paths ``<class>/<video>.avi`` under ``videos/``
   (``tcclip.data.published``): ``labels.csv`` and the LLM names, ``splits/test_split{s}.txt``
   (``val{s}.txt``), the few-shot lists (``train1_few_shot_K.txt``, from split 1) and the
   base-to-novel lists. Label ids are the published ones: the sorted class folder names.
   ``--redraw-seed N`` draws the few-shot and base-to-novel training lists instead.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

DATASET = "hmdb51"
BASE_URL = "http://serre-lab.clps.brown.edu/wp-content/uploads/2013/10/"
VIDEOS_RAR = "hmdb51_org.rar"
SPLITS_RAR = "test_train_splits.rar"
SPLIT_FILE = re.compile(r"^(?P<cls>.+)_test_split(?P<split>[123])\.txt$")
NUM_CLASSES = 51


def parse_splits(split_dir: Path) -> tuple[list[str], dict[int, dict[str, list[tuple[str, str]]]]]:
    """Class names and, per split id, the (class, video) pairs marked train (1) / test (2)."""
    files = sorted(p for p in Path(split_dir).rglob("*.txt") if SPLIT_FILE.match(p.name))
    if not files:
        raise C.PrepareError(f"no '<class>_test_split<1-3>.txt' files under {split_dir}; "
                             f"is {SPLITS_RAR} extracted there?")
    classes = sorted({SPLIT_FILE.match(p.name)["cls"] for p in files})  # type: ignore[index]
    out: dict[int, dict[str, list[tuple[str, str]]]] = {}
    for path in files:
        m = SPLIT_FILE.match(path.name)
        assert m is not None
        split = out.setdefault(int(m["split"]), {"train": [], "test": []})
        for line in path.read_text().splitlines():
            fields = line.split()
            if len(fields) < 2:
                continue
            video, flag = fields[0], fields[1]
            if flag == "1":
                split["train"].append((m["cls"], video))
            elif flag == "2":
                split["test"].append((m["cls"], video))
            elif flag != "0":
                raise C.PrepareError(f"{path}: unexpected marker {flag!r} in {line!r}")
    return classes, out


def unpack_videos(outer: Path, videos: Path, show: bool) -> None:
    """Extract each class's inner .rar into ``videos/<class>/`` (marker per class)."""
    inner = sorted(outer.rglob("*.rar"))
    if not inner:
        raise C.PrepareError(f"no per-class .rar files in {outer}; is {VIDEOS_RAR} complete?")
    for rar in C.progress(inner, len(inner), "classes", "class", show):
        target = videos / rar.stem
        if (target / C.EXTRACTED_MARKER).exists():
            continue
        with tempfile.TemporaryDirectory(dir=videos.parent) as tmp:
            staged = C.extract(rar, Path(tmp) / "x", show=False)
            target.mkdir(parents=True, exist_ok=True)
            for avi in staged.rglob("*.avi"):
                shutil.move(str(avi), target / avi.name)
        (target / C.EXTRACTED_MARKER).touch()


def write_lists(ddir: Path, classes: list[str],
                splits: dict[int, dict[str, list[tuple[str, str]]]], redraw_seed: int | None
                ) -> tuple[dict[str, int], int, list[str]]:
    """The official training lists and the published protocol files; returns sizes, #missing, notes."""
    videos = ddir / C.registry.VIDEOS_DIRNAME
    keys = C.standard_class_keys(DATASET)  # the published ids: sorted class folder names
    if set(classes) != set(keys):
        raise C.PrepareError(f"the official split files name the classes {sorted(set(classes) ^ set(keys))[:5]}, "
                             f"which do not match the published label file's 51 classes")
    index = C.label_index(keys)
    missing, train, notes = 0, {}, []
    for s, parts in sorted(splits.items()):
        items = []
        for cls, video in parts["train"]:
            rel = f"{cls}/{video}"
            if (videos / rel).exists():
                items.append((rel, index[cls]))
            else:
                missing += 1
        train[s] = items
        C.lists.write_list(C.layout_path(DATASET, "standard/train", ddir, split=s), items)
    sizes = {C.registry.DATASET_LAYOUT[DATASET]["standard/train"].format(split=s): len(v) for s, v in train.items()}
    written, notes = C.write_protocol_lists(DATASET, ddir, train.get(1), redraw_seed)
    sizes.update(written)
    for s, parts in sorted(splits.items()):  # the published test lists are the official test splits
        official = {C.published.path_key(f"{cls}/{video}") for cls, video in parts["test"]
                    if (videos / cls / video).exists()}
        target = ddir / C.published.find_list(DATASET, "standard/test", split=s).target
        listed = {C.published.path_key(p) for p, _ in C.lists.read_list(target, allow_empty=True)}
        if official != listed:
            notes.append(f"official test split {s} differs from the published val{s}.txt in "
                         f"{len(official ^ listed)} videos on disk (the published list is used)")
    return sizes, missing, notes


def prepare(root: Path, redraw_seed: int | None = None, show: bool = True,
            base_url: str = BASE_URL) -> C.Summary:
    """Download, extract and index HMDB-51 under ``root/hmdb51``; see the module doc."""
    ddir = C.dataset_dir(DATASET, root)
    raw = ddir / "_downloads"
    manifest = C.Manifest(raw / C.MANIFEST_NAME)
    files = [(base_url + name, name, None) for name in (VIDEOS_RAR, SPLITS_RAR)]
    (videos_rar, splits_rar), new, skipped = C.fetch_all(files, raw, manifest, show)
    split_dir = C.extract(splits_rar, raw / "splits", show)
    classes, splits = parse_splits(split_dir)
    videos = ddir / C.registry.VIDEOS_DIRNAME
    videos.mkdir(parents=True, exist_ok=True)
    if any(not (videos / c / C.EXTRACTED_MARKER).exists() for c in classes):
        try:
            unpack_videos(C.extract(videos_rar, raw / "class_archives", show), videos, show)
        except C.PrepareError as err:
            raise C.PrepareError(
                f"{err}\nAlternatively extract each class's .avi files by hand into "
                f"{videos}/<class>/ and create an empty {C.EXTRACTED_MARKER} file in each "
                f"class folder.") from err
    if len(classes) != NUM_CLASSES:
        print(f"warning: {len(classes)} classes in the split files, expected {NUM_CLASSES}",
              file=sys.stderr)
    sizes, missing, notes = write_lists(ddir, classes, splits, redraw_seed)
    return C.Summary(DATASET, ddir, len(classes), sizes, new, skipped, missing, notes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    C.add_common_args(parser)
    parser.add_argument("--base-url", default=BASE_URL,
                        help="where the two .rar files are (a mirror, or file:// folder)")
    args = parser.parse_args(argv)
    return C.run_main(prepare, dict(root=args.root, redraw_seed=args.redraw_seed,
                                    show=not args.no_progress, base_url=args.base_url))


if __name__ == "__main__":
    raise SystemExit(main())
