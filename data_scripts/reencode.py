"""Optional: re-encode a prepared dataset to short side 320 px at a constant frame rate.

    python data_scripts/reencode.py --root DATA --dataset hmdb51 [--short-side 320 --fps 30]

Why: decoding full-resolution, variable-frame-rate originals (and .avi / .webm containers)
dominates data-loading time; many video-CLIP codebases train on 320 px short-side H.264
copies. This script writes ``videos_<short>p/<same path>.mp4`` with ffmpeg, in parallel,
one temporary file per clip renamed when done (so a rerun continues where it stopped).
When every clip is done it swaps the folders (``videos`` -> ``videos_original``, the new
one -> ``videos``) and rewrites every list under ``splits/`` (and top-level ``*.txt`` lists)
to the ``.mp4`` names. Needs the ``ffmpeg`` program (``apt-get install ffmpeg``); without it
the script says so and stops, leaving the dataset untouched.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

from tcclip.io import atomic_path  # noqa: E402

VIDEO_EXTS = (".mp4", ".avi", ".webm", ".mkv", ".mov")
SWAPPED_MARKER = ".reencoded"


def ffmpeg_command(src: Path, dst: Path, short_side: int, fps: int, ffmpeg: str) -> list[str]:
    """Scale the short side to ``short_side`` (even sizes), constant ``fps``, H.264, no audio."""
    scale = (f"scale='if(gt(iw,ih),-2,{short_side})':'if(gt(iw,ih),{short_side},-2)'")
    return [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-i", str(src),
            "-vf", scale, "-r", str(fps), "-c:v", "libx264", "-preset", "veryfast",
            "-crf", "23", "-pix_fmt", "yuv420p", "-an", "-f", "mp4", str(dst)]


def _one(src: Path, dst: Path, short_side: int, fps: int, ffmpeg: str) -> str | None:
    """Encode one clip to ``dst`` via a temporary file; error text or None."""
    if dst.exists():
        return None
    try:
        with atomic_path(dst) as tmp:  # ffmpeg is told the format (-f mp4), so the .tmp name is fine
            proc = subprocess.run(ffmpeg_command(src, tmp, short_side, fps, ffmpeg),
                                  capture_output=True, text=True)
            if proc.returncode or not tmp.exists() or not tmp.stat().st_size:
                raise _EncodeError(f"{src}: {proc.stderr.strip()[-300:]}")
    except _EncodeError as err:
        return str(err)
    return None


class _EncodeError(RuntimeError):
    """ffmpeg failed on one clip (reported, the others go on)."""


def _list_files(ddir: Path) -> list[Path]:
    splits = ddir / C.registry.SPLITS_DIRNAME
    lists = sorted(splits.rglob("*.txt")) if splits.exists() else []
    return lists + sorted(ddir.glob("*.txt"))


def _swap(ddir: Path, videos: Path, out: Path, short_side: int, fps: int) -> None:
    """Point the lists at the .mp4 copies and swap the folders; each step is repeatable."""
    for lst in _list_files(ddir):
        items = C.lists.read_list(lst, allow_empty=True)
        C.lists.write_list(lst, [(Path(p).with_suffix(".mp4").as_posix(), label)
                                 for p, label in items])
    if videos.exists():
        os.replace(videos, ddir / "videos_original")
    os.replace(out, videos)
    (ddir / SWAPPED_MARKER).write_text(f"short_side={short_side} fps={fps}\n")


def reencode(root: Path, dataset: str, short_side: int = 320, fps: int = 30,
             workers: int = 0, show: bool = True, ffmpeg: str | None = None) -> C.Summary:
    """Re-encode ``root/<dataset>/videos`` and switch the dataset to the copies."""
    ddir = C.dataset_dir(dataset, root)
    videos = ddir / C.registry.VIDEOS_DIRNAME
    if (ddir / SWAPPED_MARKER).exists():
        return C.Summary(dataset, ddir, notes=["already re-encoded; nothing to do"])
    out = ddir / f"videos_{short_side}p"
    original = ddir / "videos_original"
    if original.is_dir() and not videos.exists() and (out / C.EXTRACTED_MARKER).exists():
        _swap(ddir, videos, out, short_side, fps)  # a run stopped half-way through the swap
        return C.Summary(dataset, ddir, notes=["finished an interrupted folder swap"])
    ffmpeg = ffmpeg or shutil.which("ffmpeg")
    if not ffmpeg:
        raise C.PrepareError("ffmpeg was not found; install it (sudo apt-get install ffmpeg) "
                             "and rerun. The dataset was left as it is (re-encoding is "
                             "optional: the loaders read the original files too).")
    if not videos.is_dir():
        raise C.PrepareError(f"{videos} does not exist; prepare the dataset first")
    sources = sorted(p for p in videos.rglob("*") if p.suffix.lower() in VIDEO_EXTS)
    jobs = [(s, (out / s.relative_to(videos)).with_suffix(".mp4")) for s in sources]
    # "a.avi" and "a.webm" would both become "a.mp4": the second would be taken for done and
    # both list entries would point at the first video.
    by_target: dict[Path, list[Path]] = {}
    for src, dst in jobs:
        by_target.setdefault(dst, []).append(src)
    clashes = [srcs for srcs in by_target.values() if len(srcs) > 1]
    if clashes:
        shown = "; ".join(" and ".join(str(p.relative_to(videos)) for p in srcs) for srcs in clashes[:5])
        raise C.PrepareError(f"{sum(map(len, clashes))} videos differ only in their extension and would become "
                             f"the same .mp4 ({shown}{' ...' if len(clashes) > 5 else ''}); keep one of each "
                             f"(check which one the lists name) and rerun. Nothing was changed.")
    workers = workers or max(1, (os.cpu_count() or 2))
    with ThreadPoolExecutor(workers) as pool:  # threads: the work is in the ffmpeg children
        results = pool.map(lambda j: _one(j[0], j[1], short_side, fps, ffmpeg), jobs)
        errors = [e for e in C.progress(results, len(jobs), "re-encode", "clip", show) if e]
    if errors:
        failures = ddir / "reencode_failures.log"
        C.atomic_write_text(failures, "".join(f"{e}\n" for e in errors))
        raise C.PrepareError(
            f"ffmpeg could not re-encode {len(errors)} of {len(jobs)} clips (all listed in {failures}); first: "
            f"{errors[0]}. A rerun retries only these. If a clip is broken (python -m tcclip check names every "
            f"broken video), download it again or delete it: the loaders then count it as a missing video. "
            f"The dataset itself was not changed.")
    (ddir / "reencode_failures.log").unlink(missing_ok=True)  # not .txt: _swap rewrites top-level .txt lists
    (out / C.EXTRACTED_MARKER).touch()
    _swap(ddir, videos, out, short_side, fps)
    return C.Summary(dataset, ddir, notes=[f"re-encoded {len(jobs)} clips; originals kept in "
                                           f"{ddir / 'videos_original'} (delete when happy)"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", required=True, type=Path)
    parser.add_argument("--dataset", required=True, choices=sorted(C.registry.DATASET_SPECS))
    parser.add_argument("--short-side", type=int, default=320)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--workers", type=int, default=0, help="parallel ffmpeg processes")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    return C.run_main(reencode, dict(root=args.root, dataset=args.dataset,
                                     short_side=args.short_side, fps=args.fps,
                                     workers=args.workers, show=not args.no_progress))


if __name__ == "__main__":
    raise SystemExit(main())
