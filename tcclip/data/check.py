"""Dataset health check: does every listed video exist and decode, and do the labels fit?

Why: real video collections always contain a few broken downloads, and the training loader
skips them silently (up to a limit). Running this once after preparing a dataset says which
files are broken before a long run finds out, and records frame counts and resolutions.

Usage (the command line is ``tcclip.cli.check``)::

    python -m tcclip check LIST VIDEO_ROOT LABEL_FILE [--workers 4] [--out report]
    python -m tcclip check --dataset hmdb51 --protocol standard --split 1 --subset test
    python -m tcclip check --dataset hmdb51 --published

It writes ``<out>.json`` (machine-readable) and ``<out>.txt`` (readable summary) and exits
with status 0 when everything is usable, 1 otherwise. ``--published`` instead counts, for
every published protocol list of the dataset (``tcclip.data.published``), how many of its
entries resolve to a video under the dataset's video root, and names a few that do not
(status 0 when all resolve).
"""

from __future__ import annotations

import os
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..io import atomic_write_json, atomic_write_text
from .decoding import Backend, VideoDecodeError, backends_agree, read_video_frames, video_info
from .lists import load_classnames, parse_annotation_list
from .published import VIDEO_EXTENSIONS


def _probe(path: Path, backend: Backend) -> dict[str, object]:
    """Decodes the first, middle and last frame; returns what was learnt or the error."""
    length: list[int] = []

    def first_middle_last(num_frames: int) -> list[int]:
        length.append(num_frames)
        return sorted({0, num_frames // 2, num_frames - 1})

    details: dict[str, object] = {}
    try:
        frames = read_video_frames(path, first_middle_last, backend=backend, details=details)
    except VideoDecodeError as error:
        status = "missing" if not path.exists() else ("empty" if path.is_file() and path.stat().st_size == 0
                                                      else "corrupt")
        return {"status": status, "error": error.reason}
    except Exception as error:  # a check must report, not crash, whatever the decoder throws
        return {"status": "corrupt", "error": f"{type(error).__name__}: {error}"}
    try:
        pix_fmt = str(video_info(path)["pix_fmt"])
    except VideoDecodeError:  # decoded (by decord) but PyAV cannot read the header: format unknown
        pix_fmt = "unknown"
    return {"status": "ok", "frames": length[-1], "height": int(frames.shape[-2]), "width": int(frames.shape[-1]),
            "pix_fmt": pix_fmt, **details}


def _summary(values: list[int]) -> dict[str, float] | None:
    if not values:
        return None
    return {"min": min(values), "median": statistics.median(values), "max": max(values),
            "mean": round(statistics.fmean(values), 2)}


def _unlisted_files(video_root: Path, listed: set[str]) -> int:
    """Video files under the root that no list line names (a hint of a wrong list or root)."""
    count = 0
    for folder, _dirs, files in os.walk(video_root):
        for name in files:
            if Path(name).suffix.lower() in VIDEO_EXTENSIONS:
                relative = os.path.relpath(os.path.join(folder, name), video_root)
                count += relative not in listed
    return count


def check_dataset(
    list_file: str | os.PathLike[str],
    video_root: str | os.PathLike[str],
    label_file: str | os.PathLike[str],
    num_workers: int = 2,
    backend: Backend = "auto",
    num_frames: int = 16,
    report_path: str | os.PathLike[str] | None = None,
    scan_unlisted: bool = True,
    max_skip_rate: float = 0.05,
) -> dict[str, object]:
    """Checks a list against its video folder and label file -> report dict.

    The report has ``ok`` (True when the list parses, the labels fit and every video decodes),
    the problems by kind (``list_errors``, ``label_errors``, ``missing``, ``empty``,
    ``corrupt``), ``unreadable`` (how many entries, their fraction of the list, and whether that
    is over ``max_skip_rate``: the limit at which training and evaluation stop, see
    :class:`~tcclip.data.datasets.VideoDataset`), frame-count and resolution statistics, videos
    shorter than ``num_frames``, per-class counts, duplicates and the number of unlisted video
    files. With ``report_path`` it also writes ``<report_path>.json`` and ``<report_path>.txt``.
    """
    list_file, video_root, label_file = Path(list_file), Path(video_root), Path(label_file)
    report: dict[str, object] = {
        "list_file": str(list_file), "video_root": str(video_root), "label_file": str(label_file),
        "list_errors": [], "label_errors": [], "missing": [], "empty": [], "corrupt": [],
    }
    classnames: list[str] = []
    try:
        classnames = load_classnames(label_file)
    except (ValueError, FileNotFoundError) as error:
        report["label_errors"].append(str(error))  # type: ignore[union-attr]
    try:
        records = parse_annotation_list(list_file)
    except (ValueError, FileNotFoundError) as error:
        report["list_errors"].append(str(error))  # type: ignore[union-attr]
        records = []
    if not video_root.is_dir():
        report["list_errors"].append(f"video root {video_root} is not a directory")  # type: ignore[union-attr]
    report["num_entries"] = len(records)
    report["num_classes"] = len(classnames)
    if classnames:
        for record in records:
            if record.label >= len(classnames):
                report["label_errors"].append(  # type: ignore[union-attr]
                    f"{list_file}:{record.line_number}: label {record.label} >= {len(classnames)} classes")

    paths = [video_root / record.path for record in records]
    with ThreadPoolExecutor(max_workers=max(1, num_workers)) as pool:
        probes = list(pool.map(lambda p: _probe(p, backend), paths))
    frame_counts, heights, widths, short = [], [], [], []
    pixel_formats: Counter[str] = Counter()
    backend_dependent: list[str] = []
    cut_short: list[dict[str, object]] = []
    for record, path, probe in zip(records, paths, probes, strict=True):
        if probe["status"] == "ok":
            pixel_formats[str(probe["pix_fmt"])] += 1
            if "frames_decoded" in probe:
                cut_short.append({"path": str(path), "line": record.line_number, "frames_in_header":
                                  probe["frames_in_header"], "frames_decoded": probe["frames_decoded"]})
            if probe["pix_fmt"] != "unknown" and not backends_agree(str(probe["pix_fmt"])):
                backend_dependent.append(record.path)
            frame_counts.append(int(probe["frames"]))  # type: ignore[arg-type]
            heights.append(int(probe["height"]))  # type: ignore[arg-type]
            widths.append(int(probe["width"]))  # type: ignore[arg-type]
            if int(probe["frames"]) < num_frames:  # type: ignore[arg-type]
                short.append(record.path)
        else:
            report[str(probe["status"])].append(  # type: ignore[union-attr]
                {"path": str(path), "line": record.line_number, "error": probe["error"]})
    counts = Counter(record.label for record in records)
    report["decodable"] = len(frame_counts)
    broken = len(records) - len(frame_counts)
    allowed = int(max_skip_rate * len(records) + 1e-9)  # VideoDataset.max_unreadable
    report["unreadable"] = {"count": broken, "of": len(records),
                            "fraction": round(broken / len(records), 6) if records else 0.0,
                            "max_skip_rate": max_skip_rate, "allowed": allowed, "over_limit": broken > allowed}
    report["frame_counts"] = _summary(frame_counts)
    report["heights"] = _summary(heights)
    report["widths"] = _summary(widths)
    report["shorter_than_num_frames"] = {"num_frames": num_frames, "count": len(short), "examples": short[:20]}
    report["decode_short"] = cut_short
    report["pixel_formats"] = dict(pixel_formats.most_common())
    report["backend_dependent_pixels"] = {"count": len(backend_dependent), "examples": backend_dependent[:20]}
    report["per_class_counts"] = {str(label): counts[label] for label in sorted(counts)}
    report["classes_without_videos"] = [name for i, name in enumerate(classnames) if counts.get(i, 0) == 0]
    duplicates = [path for path, n in Counter(record.path for record in records).items() if n > 1]
    report["duplicates"] = duplicates
    report["unlisted_video_files"] = (
        _unlisted_files(video_root, {os.path.normpath(r.path) for r in records})
        if scan_unlisted and video_root.is_dir() else None)
    report["ok"] = not any(report[key] for key in ("list_errors", "label_errors", "missing", "empty", "corrupt"))
    if report_path is not None:
        write_report(report, report_path)
    return report


def format_report(report: dict[str, object]) -> str:
    """Readable multi-line summary of a check_dataset report."""
    lines = [
        f"list:        {report['list_file']}",
        f"videos:      {report['video_root']}",
        f"labels:      {report['label_file']} ({report.get('num_classes', 0)} classes)",
        f"entries:     {report.get('num_entries', 0)}, decodable {report.get('decodable', 0)}",
        f"verdict:     {'OK' if report['ok'] else 'PROBLEMS FOUND'}",
    ]
    for key in ("list_errors", "label_errors"):
        for message in report.get(key, []):  # type: ignore[union-attr]
            lines.append(f"  {key[:-7]} error: {message}")
    unreadable = report.get("unreadable")
    if unreadable and unreadable["count"]:  # type: ignore[index]
        lines.append(
            f"unreadable:  {unreadable['count']} of {unreadable['of']} ({unreadable['fraction']:.1%}); "  # type: ignore[index]
            f"max_skip_rate {unreadable['max_skip_rate']:g} allows {unreadable['allowed']}: "  # type: ignore[index]
            + ("training and evaluation on this list STOP when they meet one more"
               if unreadable["over_limit"] else  # type: ignore[index]
               "training replaces them, evaluation leaves them out and names them"))
    for key in ("missing", "empty", "corrupt"):
        items = report.get(key, [])
        lines.append(f"{key + ':':<13}{len(items)}")  # type: ignore[arg-type]
        for item in items[:20]:  # type: ignore[index]
            lines.append(f"  line {item['line']}: {item['path']} ({item['error']})")
    for key, label in (("frame_counts", "frames"), ("heights", "height"), ("widths", "width")):
        stats = report.get(key)
        if stats:
            lines.append(f"{label + ':':<13}min {stats['min']}, median {stats['median']}, max {stats['max']}")  # type: ignore[index]
    short = report.get("shorter_than_num_frames") or {}
    if short:
        lines.append(f"short:       {short['count']} videos have fewer than {short['num_frames']} frames")  # type: ignore[index]
    cut = report.get("decode_short") or []
    if cut:
        lines.append(f"cut short:   {len(cut)} videos decode fewer frames than their header says (they load, the last "  # type: ignore[arg-type]
                     "frame repeating; a download cut short? fetch them again)")
        for item in cut[:20]:  # type: ignore[index]
            lines.append(f"  line {item['line']}: {item['path']} ({item['frames_decoded']} of "
                         f"{item['frames_in_header']} frames)")
    if report.get("pixel_formats"):
        lines.append("pixels:      " + ", ".join(f"{n} {fmt}" for fmt, n in report["pixel_formats"].items()))  # type: ignore[union-attr]
    dependent = report.get("backend_dependent_pixels") or {}
    if dependent.get("count"):  # type: ignore[union-attr]
        lines.append(f"             {dependent['count']} videos have more than 8 bits and subsampled chroma: "  # type: ignore[index]
                     "decord and PyAV give slightly different colours for them (re-encode to 8 bits for identical "
                     "pixels on every platform: data_scripts/reencode.py)")
    if report.get("classes_without_videos"):
        lines.append(f"empty classes: {len(report['classes_without_videos'])}")  # type: ignore[arg-type]
    if report.get("duplicates"):
        lines.append(f"duplicates:  {len(report['duplicates'])}")  # type: ignore[arg-type]
    if report.get("unlisted_video_files"):
        lines.append(f"unlisted:    {report['unlisted_video_files']} video files under the root are not in the list")
    return "\n".join(lines) + "\n"


def write_report(report: dict[str, object], report_path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Writes ``<report_path>.json`` and ``<report_path>.txt``; returns both paths."""
    base = Path(report_path)
    if base.suffix in (".json", ".txt"):
        base = base.with_suffix("")
    base.parent.mkdir(parents=True, exist_ok=True)
    json_path, text_path = base.with_name(base.name + ".json"), base.with_name(base.name + ".txt")
    atomic_write_json(json_path, report)
    atomic_write_text(text_path, format_report(report))
    return json_path, text_path


def check_published(dataset: str, root: str | os.PathLike[str] | None = None, examples: int = 5,
                    environ: Mapping[str, str] | None = None) -> list[dict[str, object]]:
    """For each published list of ``dataset``: how many entries resolve to a video on disk.

    The entries are mapped to this project's layout first (:func:`tcclip.data.published.mapped_items`),
    then looked up under the dataset's video root (another video extension or letter case is
    accepted, as the preparation scripts do). Each row: ``list`` (a readable name), ``file``
    (the release file), ``target`` (where the scripts write it), ``entries``, ``resolved``,
    and ``missing`` (up to ``examples`` pairs of published entry and expected path).
    """
    from . import published, registry

    key = registry.canonical_dataset_name(dataset)
    if key not in published.PUBLISHED_LISTS:
        raise ValueError(f"{dataset!r} has no published protocol lists; these do: {', '.join(published.DATASETS)}")
    video_root = registry.dataset_dir(key, root, environ) / registry.VIDEOS_DIRNAME
    index = published.VideoIndex(video_root)
    rows = []
    for entry in published.PUBLISHED_LISTS[key]:
        items = published.read_items(entry.file)
        kept, missing, _ = published.resolve_items(published.mapped_items(entry), items, index, examples)
        rows.append({"list": entry.name, "file": entry.file, "target": entry.target, "video_root": str(video_root),
                     "entries": len(items), "resolved": len(kept), "missing": missing})
    return rows


def format_published_report(rows: Sequence[dict[str, object]]) -> str:
    """The rows of :func:`check_published` as a readable table, with the examples of missing videos."""
    if not rows:
        return "no published lists\n"
    lines = [f"video root: {rows[0]['video_root']}", f"{'published list':<44} {'resolved':>9} / {'entries':<8}"]
    for row in rows:
        lines.append(f"{row['list']:<44} {row['resolved']:>9} / {row['entries']:<8}  ({row['file']})")
        for source, expected in row["missing"]:  # type: ignore[union-attr]
            lines.append(f"    not found: {source} (looked for {expected})")
    return "\n".join(lines) + "\n"
