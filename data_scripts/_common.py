"""Shared plumbing of the dataset preparation scripts.

Why one module: every script has to download big files over flaky links, extract archives,
and write list files that the training code trusts. Doing those once, carefully, means:

* downloads resume (HTTP ``Range``) from a ``.part`` file and only become the final file
  after the size and checksum check, through a rename, so a half-file never looks finished;
* every downloaded file's sha256 goes into ``download_manifest.json`` (reproducibility,
  and a rerun trusts a file only if it still matches);
* extraction goes to a temporary folder that is renamed into place, with a marker file, so
  a rerun skips finished work and redoes interrupted work;
* the protocol lists are the published ones (``tcclip.data.published``), mapped to the
  layout ``tcclip.data.registry`` describes and written by ``tcclip.data.lists`` (atomic
  writes through ``tcclip.io``); ``--redraw-seed`` draws the few-shot and base-to-novel
  training lists instead, explicitly.

The scripts import this file as ``_common`` (they put their own folder on ``sys.path``), so
they run as ``python data_scripts/prepare_x.py`` from the repository root. They import the
light parts of ``tcclip`` (registry, lists, published, io: standard library only, no torch);
without an installed ``tcclip`` the repository's copy is used.
"""

from __future__ import annotations

import glob
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
try:
    import tcclip  # noqa: F401
except ImportError:  # run from a checkout without installing: use the repository's package
    sys.path.insert(0, str(REPO_ROOT))

from tcclip.data import lists, published, registry  # noqa: E402
from tcclip.io import atomic_write_json, atomic_write_text  # noqa: E402

MANIFEST_NAME = "download_manifest.json"
EXTRACTED_MARKER = ".extracted"
CHUNK = 1 << 20

ListItem = lists.ListItem  # (path relative to the video root, label id)


class PrepareError(RuntimeError):
    """A preparation step cannot go on; the message says what to do."""


# ------------------------------------------------------------------------------- progress


def progress(iterable: Iterable, total: int | None = None, desc: str = "", unit: str = "it",
             enabled: bool = True, unit_scale: bool = False) -> Iterable:
    """tqdm when available and wanted; the plain iterable otherwise (tests, pipes)."""
    if not enabled:
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return iterable
    return tqdm(iterable, total=total, desc=desc, unit=unit, unit_scale=unit_scale,
                leave=False)


# ------------------------------------------------------------------------------- files


def file_hash(path: Path, algo: str = "sha256") -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def layout_path(dataset: str, key: str, dataset_dir: Path, **fmt: object) -> Path:
    """A file of ``dataset`` from the registry's template ``key`` (one source of names)."""
    return dataset_dir / registry.DATASET_LAYOUT[dataset][key].format(**fmt)


def dataset_dir(dataset: str, root: Path) -> Path:
    """``<root>/<dataset dirname>``, the folder the registry looks in under ``root``."""
    return Path(root) / registry.DATASET_SPECS[dataset].dirname


# ------------------------------------------------------------------------------- manifest


class Manifest:
    """``download_manifest.json``: url, size and sha256 of each file a script downloaded.

    Checked on rerun, so a file that was replaced or corrupted is downloaded again. Written
    atomically after each file, so an interrupted run keeps what was finished.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.entries: dict[str, dict] = {}
        if self.path.exists():
            try:
                files = json.loads(self.path.read_text()).get("files", {})
                if not isinstance(files, dict) or not all(isinstance(e, dict) for e in files.values()):
                    raise ValueError("'files' is not an object of file records")
            except (ValueError, AttributeError) as err:  # JSONDecodeError is a ValueError
                raise PrepareError(
                    f"{self.path} is damaged ({err}). Restore it, or delete it to start a new one: files "
                    f"without a published checksum are then downloaded again") from None
            self.entries = files

    def record(self, name: str, url: str, path: Path, sha256: str) -> None:
        self.entries[name] = {"url": url, "size": path.stat().st_size, "sha256": sha256,
                              "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        atomic_write_json(self.path, {"files": dict(sorted(self.entries.items()))}, indent=1)

    def matches(self, name: str, path: Path) -> bool:
        """True if ``path`` is the recorded file (size first: hashing 2 GB costs time)."""
        entry = self.entries.get(name)
        if entry is None or not path.exists() or path.stat().st_size != entry["size"]:
            return False
        return file_hash(path) == entry["sha256"]


# ------------------------------------------------------------------------------- download


@dataclass
class _Response:
    """An opened download: the body stream and what the server said about the file."""

    stream: object
    offset: int  # where the body starts in the file (0: the whole file follows)
    total: int | None  # the file's size, when the server says it
    etag: str | None = None
    last_modified: str | None = None


class _StalePart(Exception):
    """The ``.part`` file is not a prefix of the file the server has now: start over."""


def _part_validator_path(part: Path) -> Path:
    """``x.part.json`` beside ``x.part``: url, size, ETag and Last-Modified of the file it is a prefix of."""
    return part.with_name(part.name + ".json")


def _read_part_validator(part: Path, url: str) -> dict | None:
    """What the ``.part`` was downloaded from, or None if unknown (no record, another url, unreadable)."""
    try:
        record = json.loads(_part_validator_path(part).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("url") == url else None


def _forget_part(part: Path) -> None:
    for path in (part, _part_validator_path(part)):
        path.unlink(missing_ok=True)


def _content_range(header: str | None) -> tuple[int | None, int | None]:
    """``bytes a-b/total`` or ``bytes */total`` -> (a or None, total or None)."""
    if not header or not header.startswith("bytes "):
        return None, None
    span, _, total = header[6:].partition("/")
    first = span.split("-", 1)[0]
    return (int(first) if first.strip().isdigit() else None,
            int(total) if total.strip().isdigit() else None)


def _open(url: str, start: int, timeout: float, validator: dict | None) -> _Response:
    """Open ``url`` from byte ``start`` (a Range request, with If-Range when the part has a validator).

    Raises _StalePart when the server's answer shows that the bytes already on disk belong to
    another version of the file (another size or ETag, or a 416 for a range the file should have).
    """
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":  # local mirror or tests: seek instead of Range
        src = Path(urllib.request.url2pathname(parsed.path))
        if not src.exists():
            raise PrepareError(f"{src} does not exist (from {url})")
        size = src.stat().st_size
        if start > size:
            raise _StalePart(f"{start} bytes on disk, the file has {size}")
        fh = open(src, "rb")
        fh.seek(start)
        return _Response(fh, start, size)
    req = urllib.request.Request(url, headers={"User-Agent": "tcclip-data-scripts/1"})
    if start:
        req.add_header("Range", f"bytes={start}-")
        # If-Range: "send the rest only if the file is still the one with this validator, else all
        # of it" (RFC 9110 13.1.5). It needs a strong ETag or a Last-Modified date.
        etag = (validator or {}).get("etag")
        strong = etag if etag and not etag.startswith("W/") else None
        if strong or (validator or {}).get("last_modified"):
            req.add_header("If-Range", strong or validator["last_modified"])  # type: ignore[index]
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 (http(s) only)
    except urllib.error.HTTPError as err:
        if err.code == 416 and start:  # nothing at or after ``start``: complete only if the file has exactly that size
            _, total = _content_range(err.headers.get("Content-Range"))
            err.close()
            known = (validator or {}).get("size")
            if total == start and (known is None or known == total):
                return _Response(io.BytesIO(b""), start, total)
            raise _StalePart(f"the server has {total if total is not None else 'an unknown number of'} bytes, "
                             f"{start} are on disk") from None
        raise
    status = getattr(resp, "status", 200)
    length = resp.headers.get("Content-Length")
    etag, modified = resp.headers.get("ETag"), resp.headers.get("Last-Modified")
    if status == 206:
        first, total = _content_range(resp.headers.get("Content-Range"))
        if total is None and length is not None and first is not None:
            total = first + int(length)
        reasons = []
        if first != start:
            reasons.append(f"the server sent bytes from {first}, not {start}")
        if validator and validator.get("size") is not None and total is not None and total != validator["size"]:
            reasons.append(f"the file now has {total} bytes, the part was of a {validator['size']}-byte file")
        if validator and validator.get("etag") and etag and etag != validator["etag"]:
            reasons.append(f"its ETag changed ({validator['etag']} -> {etag})")
        if validator and validator.get("last_modified") and modified and modified != validator["last_modified"]:
            reasons.append(f"it was modified ({validator['last_modified']} -> {modified})")
        if reasons:
            resp.close()
            raise _StalePart("; ".join(reasons))
        return _Response(resp, start, total, etag, modified)
    return _Response(resp, 0, int(length) if length else None, etag, modified)


def download(url: str, dest: Path, sha256: str | None = None, md5: str | None = None,
             manifest: Manifest | None = None, show: bool = True, timeout: float = 60.0,
             retries: int = 3) -> Path:
    """Download ``url`` to ``dest`` with resume; return ``dest``.

    Skips the work when ``dest`` exists and matches the given checksum or the manifest's
    record. Otherwise continues ``dest.part`` with a Range request, checks size and checksums,
    then renames. Network errors are retried from where the ``.part`` file stopped.

    A ``.part`` is only continued when it is a prefix of the file the server has now:
    ``dest.part.json`` records the size, ETag and Last-Modified of the file it came from, the
    Range request carries them in If-Range (a server that has a new version then sends all of
    it), and the answer is checked (Content-Range start and total, ETag, Last-Modified; a 416
    means "complete" only when the server's size is the part's). Whenever they disagree, or a
    part has no record and no checksum can vouch for it, the part is discarded and the file
    downloaded from the start.
    """
    dest = Path(dest)
    name = dest.name
    if dest.exists():
        if sha256 and file_hash(dest) == sha256 or md5 and file_hash(dest, "md5") == md5:
            return dest
        if not (sha256 or md5) and (manifest is None or manifest.matches(name, dest)):
            return dest
        dest.unlink()  # stale or corrupt: fetch again
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    last_error: Exception | None = None
    restarts = 0
    attempt = 0
    while attempt < retries:
        start = part.stat().st_size if part.exists() else 0
        validator = _read_part_validator(part, url) if start else None
        if start and validator is None and not (sha256 or md5):
            print(f"note: {part} has no record of the file it came from; downloading {url} from the start",
                  file=sys.stderr)
            _forget_part(part)
            start = 0
        try:
            if _fetch(url, part, start, show, timeout, validator):
                break
        except _StalePart as err:
            _forget_part(part)
            restarts += 1
            if restarts > retries:
                raise PrepareError(f"{url} keeps changing while it downloads ({err}); try again later") from None
            print(f"note: {part} is not part of the file the server has now ({err}); downloading {url} from the "
                  "start", file=sys.stderr)
            continue  # not a network failure: no wait, and not counted as a try
        except (urllib.error.URLError, OSError, TimeoutError) as err:  # HTTPError is a URLError
            last_error = err
        attempt += 1
        time.sleep(min(2 ** (attempt - 1), 10) if attempt < retries else 0)
    else:
        raise PrepareError(f"downloading {url} failed after {retries} tries ({last_error}); "
                           f"rerun the script to resume from {part}")
    digest = file_hash(part)
    if sha256 and digest != sha256:
        _forget_part(part)
        raise PrepareError(f"{url}: sha256 {digest} != expected {sha256}; the partial file "
                           f"was removed, rerun to download again")
    if md5 and file_hash(part, "md5") != md5:
        _forget_part(part)
        raise PrepareError(f"{url}: md5 mismatch; the partial file was removed, rerun")
    # Not tcclip.io.atomic_path: the .part file must survive a crash, so the next run resumes it.
    os.replace(part, dest)
    _part_validator_path(part).unlink(missing_ok=True)
    if manifest is not None:
        manifest.record(name, url, dest, digest)
    return dest


def _fetch(url: str, part: Path, start: int, show: bool, timeout: float, validator: dict | None) -> bool:
    """Append the rest of ``url`` to ``part`` (or rewrite it); True when the file is complete."""
    response = _open(url, start, timeout, validator)
    if response.offset == 0:  # the whole file follows (a first try, or the server sent it all)
        start = 0
        # Recorded before any byte is written, so a part on disk always has its validator.
        atomic_write_json(_part_validator_path(part), {"url": url, "size": response.total, "etag": response.etag,
                                                       "last_modified": response.last_modified})
    with response.stream, open(part, "ab" if start else "wb") as out:  # type: ignore[attr-defined]
        bar = None
        if show:
            from tqdm.auto import tqdm

            bar = tqdm(total=response.total, initial=start, unit="B", unit_scale=True,
                       desc=part.name[:-5], leave=False)
        try:
            while True:
                block = response.stream.read(CHUNK)  # type: ignore[attr-defined]
                if not block:
                    break
                out.write(block)
                if bar is not None:
                    bar.update(len(block))
        finally:
            if bar is not None:
                bar.close()
    size = part.stat().st_size
    if response.total is not None and size != response.total:
        if size > response.total:
            raise _StalePart(f"{size} bytes on disk, the file has {response.total}")
        raise OSError(f"incomplete download of {url}: {size} of {response.total} bytes")
    return True


# ------------------------------------------------------------------------------- archives


def _rar_command(archive: Path, dest: Path) -> list[str]:
    """A command line that extracts a .rar, from whichever tool is installed."""
    if shutil.which("unrar"):
        return ["unrar", "x", "-o+", "-idq", str(archive), str(dest) + os.sep]
    if shutil.which("unar"):
        return ["unar", "-q", "-f", "-D", "-o", str(dest), str(archive)]
    if shutil.which("7z"):
        return ["7z", "x", "-y", f"-o{dest}", str(archive)]
    if shutil.which("bsdtar"):
        return ["bsdtar", "-xf", str(archive), "-C", str(dest)]
    raise PrepareError(
        f"cannot extract {archive}: no RAR tool found. Install one with "
        f"'sudo apt-get install unar' (or unrar / 7zip / libarchive-tools), or extract it "
        f"yourself into {dest} and create the empty file {dest / EXTRACTED_MARKER}; "
        f"then rerun the script")


def extract(archive: Path, dest: Path, show: bool = True) -> Path:
    """Extract ``archive`` (.tar*, .tgz, .zip, .rar) into ``dest``; skip if done before.

    Extraction goes to a sibling temporary folder renamed to ``dest`` at the end, and a
    marker file records completion, so an interrupted extraction is redone from scratch.
    """
    dest = Path(dest)
    if (dest / EXTRACTED_MARKER).exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    # A run killed mid-extraction leaves its temporary folder (a Kinetics part: gigabytes); a
    # rerun starts a new one, so remove those first. One run per dataset at a time, as ever.
    stale_name = re.compile(re.escape(f".{dest.name}.") + r"[A-Za-z0-9_]{8}")
    for stale in dest.parent.glob(f".{glob.escape(dest.name)}.*"):
        if stale.is_dir() and stale_name.fullmatch(stale.name):
            print(f"note: removing {stale}, left by an interrupted extraction", file=sys.stderr)
            shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        name = archive.name.lower()
        if name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                members = zf.infolist()
                for m in progress(members, len(members), f"unzip {archive.name}", "file", show):
                    _check_member(m.filename, tmp)
                    zf.extract(m, tmp)
        elif name.endswith((".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")):
            with tarfile.open(archive) as tf:
                for m in progress(tf, None, f"untar {archive.name}", "file", show):
                    _check_member(m.name, tmp)
                    if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4: no links out
                        try:
                            tf.extract(m, tmp, filter="data")
                        except tarfile.FilterError as err:  # a link out of the folder, a device file, ...
                            raise PrepareError(f"{archive}: refused to extract member {m.name!r} ({err}); "
                                               "the archive is not a plain dataset archive") from None
                    else:  # pragma: no cover
                        if m.issym() or m.islnk():
                            _check_member(os.path.join(os.path.dirname(m.name), m.linkname), tmp)
                        tf.extract(m, tmp)
        elif name.endswith(".rar"):
            cmd = _rar_command(archive, tmp)
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode:
                raise PrepareError(f"{' '.join(cmd)} failed: {proc.stderr.strip()[-500:]}")
        else:
            raise PrepareError(f"unknown archive type: {archive}")
        (tmp / EXTRACTED_MARKER).touch()
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _check_member(name: str, dest: Path) -> None:
    """Refuse archive members that would land outside ``dest`` (path traversal)."""
    # Path.is_relative_to, not a string prefix: "/x/.videos.ab12" is a prefix of "/x/.videos.ab12evil".
    if not (dest / name).resolve().is_relative_to(dest.resolve()):
        raise PrepareError(f"archive member {name!r} escapes the extraction folder")


def move_tree(src: Path, dst: Path) -> None:
    """Move every file under ``src`` to the same place under ``dst`` (same filesystem)."""
    for path in sorted(p for p in Path(src).rglob("*") if p.is_file()):
        if path.name == EXTRACTED_MARKER:
            continue
        target = dst / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)


# ------------------------------------------------------------------------------- protocol lists

REDRAWN_VIEWS = ("few_shot/train", "base2novel/train/base")
BASE2NOVEL_SHOTS = 16


def published_labels_file(dataset: str, key: str, split: int | None = None) -> str:
    """The release label file the catalogue puts at registry label key ``key`` (and ``split``)."""
    return next(x.file for x in published.PUBLISHED_LABELS[dataset] if (x.key, x.split) == (key, split))


def standard_class_keys(dataset: str) -> list[str]:
    """The class each standard label id means (folder names; SSv2: names), from the published labels."""
    return published.class_keys(dataset, published_labels_file(dataset, "labels/standard"))


def base_class_ids(dataset: str) -> list[int]:
    """Standard label ids of the published base classes, in base-id order."""
    full = standard_class_keys(dataset)
    base = published.class_keys(dataset, published_labels_file(dataset, "labels/base2novel/base"))
    return [full.index(key) for key in base]


def write_protocol_lists(dataset: str, ddir: Path, train: Sequence[ListItem] | None = None,
                         redraw_seed: int | None = None, index: published.VideoIndex | None = None
                         ) -> tuple[dict[str, int], list[str]]:
    """The published lists and label files (only videos on disk), plus redrawn views if asked.

    ``redraw_seed`` replaces the published few-shot and base-to-novel *training* lists by draws
    from ``train`` (the standard training list; HMDB-51 / UCF-101: split 1) with that seed:
    K per class, and 16 per published base class for each of the 3 base-to-novel splits. The
    class halves and every evaluation list stay the published ones. Returns the written lists'
    sizes by file and notes on entries that are not on disk. ``index`` finds the videos (default:
    the dataset's ``videos/`` folder).
    """
    index = index or published.VideoIndex(ddir / registry.VIDEOS_DIRNAME)
    skip = REDRAWN_VIEWS if redraw_seed is not None else ()
    sizes: dict[str, int] = {}
    notes: list[str] = []
    for report in published.write_published(dataset, ddir, index, skip_views=skip):
        sizes[report.target] = report.written
        if report.missing:
            shown = ", ".join(source for source, _ in report.missing_examples)
            notes.append(f"{report.target}: {report.missing} of {report.published} published entries are not "
                         f"on disk (left out), e.g. {shown}")
    if redraw_seed is None:
        return sizes, notes
    if train is None:
        raise PrepareError(f"--redraw-seed needs {dataset}'s training list")
    layout = registry.DATASET_LAYOUT[dataset]
    num_classes = len(standard_class_keys(dataset))
    drawn: dict[str, list[ListItem]] = {}
    base = base_class_ids(dataset)
    try:
        if "few_shot/train" in layout:
            for k in registry.FEW_SHOT_SHOTS:
                drawn[layout["few_shot/train"].format(shots=k, split=None)] = lists.few_shot(
                    train, k, f"{redraw_seed}", num_classes)
        for s in registry.SPLIT_IDS:
            drawn[layout["base2novel/train/base"].format(split=s, shots=None)] = lists.few_shot(
                lists.remap(train, base), BASE2NOVEL_SHOTS, f"{redraw_seed}:base2novel:{s}", len(base))
    except ValueError as err:
        raise PrepareError(f"--redraw-seed cannot draw from {dataset}'s training list ({err}); a redraw needs "
                           f"videos of every class on disk. Without --redraw-seed the published lists are "
                           f"written") from None
    for target, items in drawn.items():
        lists.write_list(ddir / target, items)
        sizes[target] = len(items)
    notes.append(f"few-shot and base-to-novel training lists redrawn with seed {redraw_seed} "
                 f"(not the published ones)")
    return sizes, notes


def label_index(names: Sequence[str], key: Callable[[str], str] = lambda n: n) -> dict[str, int]:
    """name (through ``key``) -> label id, for mapping official annotations onto published ids."""
    return {key(n): i for i, n in enumerate(names)}


@dataclass
class Summary:
    """What a preparation run did; printed at the end and returned to callers (tests)."""

    dataset: str
    dataset_dir: Path
    classes: int = 0
    lists: dict[str, int] | None = None
    downloaded: int = 0
    skipped_downloads: int = 0
    missing_videos: int = 0
    notes: list[str] = field(default_factory=list)

    def report(self) -> str:
        lines = [f"{self.dataset}: {self.classes} classes in {self.dataset_dir}"]
        for name, n in sorted((self.lists or {}).items()):
            lines.append(f"  {name}: {n} videos")
        if self.missing_videos:
            lines.append(f"  {self.missing_videos} listed videos are missing on disk "
                         f"(left out of the lists)")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def fetch_all(files: Sequence[tuple[str, str, str | None]], folder: Path, manifest: Manifest,
              show: bool) -> tuple[list[Path], int, int]:
    """Download (url, file name, md5-or-None) entries; returns paths, #new, #skipped."""
    paths, new, skipped = [], 0, 0
    for url, name, md5 in progress(files, len(files), "downloads", "file",
                                   show and len(files) > 1):
        dest = folder / name
        was = dest.exists() and (manifest.matches(name, dest) or
                                 (md5 is not None and file_hash(dest, "md5") == md5))
        paths.append(download(url, dest, md5=md5, manifest=manifest, show=show))
        if was:
            skipped += 1
        else:
            new += 1
        if name not in manifest.entries:  # e.g. a file put there by hand: record it too
            manifest.record(name, url, dest, file_hash(dest))
    return paths, new, skipped


def add_common_args(parser: object) -> None:
    """--root, --redraw-seed, --no-progress: the same in every script."""
    parser.add_argument("--root", required=True, type=Path,  # type: ignore[attr-defined]
                        help="data root; the dataset goes into <root>/<dataset>/ "
                             "(point $TCCLIP_DATA_ROOT at it afterwards)")
    parser.add_argument("--redraw-seed", type=int, default=None,  # type: ignore[attr-defined]
                        help="draw the few-shot and base-to-novel training lists with this seed instead "
                             "of using the published ones (not the paper's protocol)")
    parser.add_argument("--no-progress", action="store_true",  # type: ignore[attr-defined]
                        help="no progress bars")


def run_main(fn: Callable[..., Summary], args: dict) -> int:
    """Run a prepare function, turning PrepareError into a one-line message + exit 2."""
    try:
        summary = fn(**args)
    except PrepareError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(summary.report())
    return 0
