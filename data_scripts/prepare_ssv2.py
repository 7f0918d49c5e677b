"""Prepare Something-Something v2 (Goyal et al., ICCV 2017) after its manual download.

    python data_scripts/prepare_ssv2.py --root DATA [--manual-dir DIR]

SSv2 is distributed under a licence that has to be accepted on the Qualcomm developer site,
so it cannot be downloaded by a script. Download by hand, into ``--manual-dir`` (default
``DATA/ssv2/_manual``):

* the video parts ``20bn-something-something-v2-00`` ... ``-19`` (or the ``.zip`` files
  that contain them): together they are one ``.tar.gz`` of ``<id>.webm`` clips;
* the labels archive (``...labels.zip``, holding ``labels.json``, ``train.json``,
  ``validation.json``), or those JSON files themselves. The older 20BN release names them
  ``something-something-v2-labels.json``, ``-train.json``, ``-validation.json``; both
  names are accepted.

The script then checks the files, streams the parts through one tar reader into
``videos/<id>.webm``, and writes ``splits/train.txt`` from ``train.json`` (a video's class is
its ``template`` with the brackets removed: "Putting [something] on a surface" -> "Putting
something on a surface") and the published protocol files (``tcclip.data.published``):
``labels.csv`` (the 174 classes), ``splits/val.txt`` (``validation.txt``), the few-shot
lists, the base-to-novel lists and the temporal / static subsets. ``--redraw-seed N`` draws
the few-shot and base-to-novel training lists from ``train.txt`` instead.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

from tcclip.io import atomic_path  # noqa: E402

DATASET = "ssv2"
PART_GLOB = "20bn-something-something-v2-[0-9][0-9]"
INSTRUCTIONS = (
    "Something-Something v2 must be downloaded by hand (licence): sign in at "
    "https://developer.qualcomm.com/software/ai-datasets/something-something , download the "
    "video parts '20bn-something-something-v2-00' .. '-19' (or their .zip files) and the "
    "labels archive, put them in {manual}, then rerun this script.")


class _Concat(io.RawIOBase):
    """Read several files as one stream (the parts of one .tar.gz), without copying."""

    def __init__(self, paths: list[Path]) -> None:
        self._paths = list(paths)
        self._fh: io.BufferedReader | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buf: memoryview) -> int:  # type: ignore[override]
        while True:
            if self._fh is None:
                if not self._paths:
                    return 0
                self._fh = open(self._paths.pop(0), "rb")
            n = self._fh.readinto(buf)
            if n:
                return n
            self._fh.close()
            self._fh = None

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
        super().close()


def find_parts(manual: Path) -> list[Path]:
    """The video parts, unzipping ``*-NN.zip`` wrappers when only those are present."""
    parts = sorted(manual.glob(PART_GLOB))
    if parts:
        return parts
    zips = sorted(manual.glob(PART_GLOB + ".zip"))
    for z in zips:
        with zipfile.ZipFile(z) as zf:
            for m in zf.infolist():
                if Path(m.filename).name.startswith("20bn-something-something-v2-"):
                    C._check_member(m.filename, manual)
                    target = manual / Path(m.filename).name
                    if not target.exists():
                        with atomic_path(target) as tmp, zf.open(m) as src, open(tmp, "wb") as dst:
                            shutil.copyfileobj(src, dst, C.CHUNK)
    return sorted(manual.glob(PART_GLOB))


# role -> accepted file names: the current Qualcomm release, then the older 20BN one
LABEL_FILES = {
    "labels": ("labels.json", "something-something-v2-labels.json"),
    "train": ("train.json", "something-something-v2-train.json"),
    "validation": ("validation.json", "something-something-v2-validation.json"),
}


def load_label_files(manual: Path) -> dict[str, object]:
    """The labels / train / validation JSON (either release's names), from the folder or a zip."""
    found: dict[str, object] = {}
    for role, names in LABEL_FILES.items():
        for name in names:
            hits = sorted(manual.rglob(name))
            if hits:
                found[role] = json.loads(hits[0].read_text())
                break
    for z in sorted(manual.glob("*.zip")):
        if len(found) == len(LABEL_FILES):
            break
        with zipfile.ZipFile(z) as zf:
            members = {Path(m).name: m for m in zf.namelist()}
            for role, names in LABEL_FILES.items():
                name = next((n for n in names if n in members), None)
                if role not in found and name is not None:
                    found[role] = json.loads(zf.read(members[name]))
    missing = [" or ".join(LABEL_FILES[role]) for role in LABEL_FILES if role not in found]
    if missing:
        raise C.PrepareError(f"missing {missing} in {manual}. " +
                             INSTRUCTIONS.format(manual=manual))
    return found


def extract_videos(parts: list[Path], videos: Path, show: bool) -> None:
    """Stream the concatenated parts through tar into ``videos/<id>.webm`` (marker)."""
    if (videos / C.EXTRACTED_MARKER).exists():
        return
    videos.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".videos.", dir=videos.parent))
    try:
        with _Concat(parts) as raw, tarfile.open(fileobj=io.BufferedReader(raw), mode="r|*") as tf:
            for m in C.progress(tf, None, "ssv2 clips", "clip", show):
                if not m.isfile():
                    continue
                src = tf.extractfile(m)
                assert src is not None
                with src, open(tmp / Path(m.name).name, "wb") as dst:
                    shutil.copyfileobj(src, dst, C.CHUNK)
        videos.mkdir(exist_ok=True)
        C.move_tree(tmp, videos)
        (videos / C.EXTRACTED_MARKER).touch()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def class_of(entry: dict[str, str]) -> str:
    """The class name of a train/validation entry: its template without brackets."""
    return entry["template"].replace("[", "").replace("]", "")


def build_list(entries: list[dict[str, str]], index: dict[str, int], videos: Path
               ) -> tuple[list[C.ListItem], int]:
    items, missing = [], 0
    for e in entries:
        rel = f"{e['id']}.webm"
        if not (videos / rel).exists():
            missing += 1
            continue
        name = class_of(e)
        if name not in index:
            raise C.PrepareError(f"template {name!r} of video {e['id']} is not in labels.json")
        items.append((rel, index[name]))
    return items, missing


def prepare(root: Path, manual_dir: Path | None = None, redraw_seed: int | None = None,
            show: bool = True) -> C.Summary:
    """Check the manual download, extract and index SSv2 under ``root/ssv2``."""
    ddir = C.dataset_dir(DATASET, root)
    manual = Path(manual_dir) if manual_dir else ddir / "_manual"
    videos = ddir / C.registry.VIDEOS_DIRNAME
    if not (videos / C.EXTRACTED_MARKER).exists():
        if not manual.is_dir():
            raise C.PrepareError(f"{manual} does not exist. " + INSTRUCTIONS.format(manual=manual))
        parts = find_parts(manual)
        if not parts:
            raise C.PrepareError(f"no video parts ({PART_GLOB}) in {manual}. " +
                                 INSTRUCTIONS.format(manual=manual))
        labels = load_label_files(manual)
        extract_videos(parts, videos, show)
    else:
        labels = load_label_files(manual)
    names = C.published.read_names(C.published_labels_file(DATASET, "labels/standard"))
    official = set(labels["labels"])  # type: ignore[arg-type]
    if official != set(names):
        raise C.PrepareError(f"labels.json's classes differ from the published 174: "
                             f"{sorted(official ^ set(names))[:3]}")
    index = C.label_index(names)
    train, miss_t = build_list(labels["train"], index, videos)  # type: ignore[arg-type]
    val, _ = build_list(labels["validation"], index, videos)  # type: ignore[arg-type]
    C.lists.write_list(C.layout_path(DATASET, "standard/train", ddir), train)
    sizes, notes = C.write_protocol_lists(DATASET, ddir, train, redraw_seed)
    sizes[C.registry.DATASET_LAYOUT[DATASET]["standard/train"]] = len(train)
    listed = C.lists.read_list(ddir / C.published.find_list(DATASET, "standard/test").target, allow_empty=True)
    if set(val) != set(listed):
        notes.append(f"validation.json differs from the published validation.txt in "
                     f"{len(set(val) ^ set(listed))} videos on disk (the published list is used)")
    return C.Summary(DATASET, ddir, len(names), sizes, 0, 0, miss_t, notes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    C.add_common_args(parser)
    parser.add_argument("--manual-dir", type=Path, default=None,
                        help="folder with the hand-downloaded files (default <root>/ssv2/_manual)")
    args = parser.parse_args(argv)
    return C.run_main(prepare, dict(root=args.root, manual_dir=args.manual_dir, redraw_seed=args.redraw_seed,
                                    show=not args.no_progress))


if __name__ == "__main__":
    raise SystemExit(main())
