"""Every data_scripts/ program on a fake copy of its dataset, served from 127.0.0.1.

Real downloads are impossible in tests, so each test builds the dataset's official files in
miniature (split files, class index, annotation CSVs, JSON labels, archives in the real
formats, tiny real video clips), serves them over a local HTTP server that honours Range
requests, and runs the script: the parsing and bookkeeping are the real ones. Reruns must
not touch the network or redo work; an interrupted download must resume.
"""

from __future__ import annotations

import csv
import http.server
import importlib
import io
import json
import os
import shutil
import stat
import struct
import sys
import tarfile
import threading
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from tcclip.data import published, registry
from tcclip.world.synthetic import build_classes, encode_mp4, render_video

from conftest import read_label_file

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "data_scripts"))

C = importlib.import_module("_common")
hmdb = importlib.import_module("prepare_hmdb51")
ucf = importlib.import_module("prepare_ucf101")
kin = importlib.import_module("prepare_kinetics")
ssv2 = importlib.import_module("prepare_ssv2")
reenc = importlib.import_module("reencode")

HAS_RAR_TOOL = any(shutil.which(t) for t in ("unrar", "unar", "7z", "bsdtar"))


# ----------------------------------------------------------------------------- fixtures


@dataclass
class Server:
    """A local HTTP server over ``root`` with Range support and a request log.

    Like a real file server it sends a strong ``ETag`` (a hash of the content) and
    ``Last-Modified``, and honours ``If-Range`` (a Range request whose validator no longer
    matches gets the whole file, status 200); each can be switched off to play a server that
    lacks it. ``replace_after`` swaps a file's content once the first request for it is served
    (a file replaced on the server between two attempts).
    """

    root: Path
    url: str
    log: list[tuple[str, str | None]] = field(default_factory=list)
    if_range_log: list[str | None] = field(default_factory=list)
    truncate_once: set[str] = field(default_factory=set)  # paths cut short on first GET
    replace_after: dict[str, bytes] = field(default_factory=dict)
    ignore_range: bool = False
    honour_if_range: bool = True
    send_etag: bool = True
    send_last_modified: bool = True

    def downloads(self) -> int:
        return len(self.log)


def _handler(server: Server) -> type[http.server.BaseHTTPRequestHandler]:
    import email.utils
    import hashlib

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:  # noqa: N802
            from urllib.parse import unquote

            rel = unquote(self.path.lstrip("/"))
            path = server.root / rel
            rng = self.headers.get("Range")
            server.log.append((rel, rng))
            server.if_range_log.append(self.headers.get("If-Range"))
            if not path.is_file():
                self.send_error(404)
                return
            data = path.read_bytes()
            etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
            modified = email.utils.formatdate(path.stat().st_mtime, usegmt=True)
            if_range = self.headers.get("If-Range")
            if rng and if_range and server.honour_if_range and if_range not in (etag, modified):
                rng = None  # RFC 9110: the file changed, so the Range is ignored and all of it is sent
            start = 0
            if rng and not server.ignore_range:
                start = int(rng.split("=")[1].split("-")[0])
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            if server.send_etag:
                self.send_header("ETag", etag)
            if server.send_last_modified:
                self.send_header("Last-Modified", modified)
            self.end_headers()
            if rel in server.replace_after:  # the next request finds another file
                path.write_bytes(server.replace_after.pop(rel))
                os.utime(path, (path.stat().st_atime + 10, path.stat().st_mtime + 10))
            if rel in server.truncate_once:  # a dropped connection half-way through
                server.truncate_once.discard(rel)
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

    return Handler


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[Server]:
    root = tmp_path / "www"
    root.mkdir()
    srv = Server(root, "")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(srv))
    srv.url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield srv
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def clip_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """One real tiny H.264 clip; every fake video is a copy of it."""
    path = tmp_path_factory.mktemp("clip") / "c.mp4"
    spec = build_classes(["a ring moving horizontally"])[0]
    encode_mp4(render_video(spec, 0, 32, 32, (6, 6)), path)
    return path.read_bytes()


def rar4_store(files: dict[str, bytes]) -> bytes:
    """A RAR 4 archive with uncompressed ("store") members, which any RAR tool extracts.

    Hand-written (a few header structs + CRCs) because no RAR *writer* is pip- or
    apt-installable; it lets the tests run the real extraction path.
    """
    def block(htype: int, flags: int, body: bytes) -> bytes:
        head = struct.pack("<BHH", htype, flags, 7 + len(body)) + body
        return struct.pack("<H", zlib.crc32(head) & 0xFFFF) + head

    out = b"Rar!\x1a\x07\x00" + block(0x73, 0, b"\x00" * 6)
    for name, data in files.items():
        raw = name.encode()
        body = struct.pack("<IIBIIBBHI", len(data), len(data), 3, zlib.crc32(data),
                           0x50210000, 20, 0x30, len(raw), 0o100644) + raw
        out += block(0x74, 0x8000, body) + data
    return out + block(0x7B, 0x4000, b"")


def tar_gz(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def read_list(path: Path) -> list[tuple[str, int]]:
    return C.lists.read_list(path, allow_empty=True)


def published_on_disk(dataset: str, ddir: Path, skip: tuple[str, ...] = ()) -> dict[str, list[tuple[str, int]]]:
    """What each published list should become on this disk: its mapped entries whose video exists."""
    on_disk = {p.relative_to(ddir / "videos").as_posix() for p in (ddir / "videos").rglob("*") if p.is_file()}
    out = {}
    for entry in published.PUBLISHED_LISTS[dataset]:
        if entry.view in skip:
            continue
        out[entry.target] = [(p, label) for p, label in published.mapped_items(entry) if p in on_disk]
    return out


def check_published_views(dataset: str, ddir: Path, skip: tuple[str, ...] = ()) -> None:
    """Every published list was written as published, restricted to the videos on disk, in order;
    every published label file as published."""
    for target, want in published_on_disk(dataset, ddir, skip).items():
        assert read_list(ddir / target) == want, target
    for labels in published.PUBLISHED_LABELS[dataset]:
        assert C.lists.load_classnames(ddir / labels.target) == list(published.read_names(labels.file))


def pick(release_file: str, per_class: int, classes: int | None = None) -> list[tuple[str, int]]:
    """The first ``per_class`` entries of each class of a published list (of its first ``classes`` classes)."""
    seen: dict[int, int] = {}
    out = []
    for path, label in published.read_items(release_file):
        if classes is not None and label >= classes:
            continue
        if seen.get(label, 0) < per_class:
            seen[label] = seen.get(label, 0) + 1
            out.append((path, label))
    return out


# ----------------------------------------------------------------------------- _common


def test_download_resumes_an_interrupted_file(server: Server, tmp_path: Path) -> None:
    data = os.urandom(3 * C.CHUNK + 123)
    (server.root / "big.bin").write_bytes(data)
    server.truncate_once.add("big.bin")
    dest = tmp_path / "dl" / "big.bin"
    manifest = C.Manifest(tmp_path / "dl" / C.MANIFEST_NAME)
    with pytest.raises(C.PrepareError, match="rerun"):  # an earlier run died half-way
        C.download(server.url + "big.bin", dest, manifest=manifest, show=False, retries=1)
    part = dest.with_name("big.bin.part")
    done = part.stat().st_size
    assert 0 < done < len(data) and json.loads(part.with_name("big.bin.part.json").read_text())["size"] == len(data)
    C.download(server.url + "big.bin", dest, manifest=manifest, show=False)
    assert dest.read_bytes() == data and not part.exists() and not part.with_name("big.bin.part.json").exists()
    assert server.log == [("big.bin", None), ("big.bin", f"bytes={done}-")]
    assert server.if_range_log[1].startswith('"')  # the ETag of the file the part came from
    assert json.loads(manifest.path.read_text())["files"]["big.bin"]["sha256"] == \
        C.file_hash(dest)
    C.download(server.url + "big.bin", dest, manifest=C.Manifest(manifest.path), show=False)
    assert server.downloads() == 2  # the rerun trusted the manifest


@pytest.mark.parametrize("record,honour_if_range", [(False, True), (True, True), (True, False)])
def test_download_discards_a_stale_part_larger_than_the_file(server: Server, tmp_path: Path, record: bool,
                                                             honour_if_range: bool) -> None:
    """A .part of an older, longer version of the file got HTTP 416 and was kept as the file (issue 12)."""
    data = os.urandom(C.CHUNK + 3)
    (server.root / "f.bin").write_bytes(data)
    server.honour_if_range = honour_if_range
    dest = tmp_path / "f.bin"
    part = dest.with_name("f.bin.part")
    part.write_bytes(os.urandom(len(data) + 4096))
    if record:  # written by an earlier run of this code, for the old file
        part.with_name("f.bin.part.json").write_text(json.dumps(
            {"url": server.url + "f.bin", "size": len(data) + 9000, "etag": '"old"', "last_modified": None}))
    manifest = C.Manifest(tmp_path / C.MANIFEST_NAME)
    C.download(server.url + "f.bin", dest, manifest=manifest, show=False)
    assert dest.read_bytes() == data and not part.exists() and not part.with_name("f.bin.part.json").exists()
    assert manifest.entries["f.bin"]["size"] == len(data)


@pytest.mark.parametrize("honour_if_range,etag,last_modified,new_size", [
    (True, True, True, 0),      # a good server: If-Range gets the whole new file
    (False, True, False, 0),    # no If-Range: the 206's ETag differs
    (False, False, True, 0),    # no If-Range, no ETag: Last-Modified differs
    (False, False, False, 77),  # no validators at all: the size differs
])
def test_download_restarts_when_the_file_changes_between_attempts(server: Server, tmp_path: Path,
                                                                  honour_if_range: bool, etag: bool,
                                                                  last_modified: bool, new_size: int) -> None:
    """A file replaced on the server between two attempts was stitched: old prefix + new suffix (issue 12)."""
    old = os.urandom(2 * C.CHUNK + 5)
    new = os.urandom(len(old) + new_size)
    (server.root / "f.bin").write_bytes(old)
    server.truncate_once.add("f.bin")
    server.replace_after["f.bin"] = new
    server.honour_if_range, server.send_etag, server.send_last_modified = honour_if_range, etag, last_modified
    dest = tmp_path / "f.bin"
    manifest = C.Manifest(tmp_path / C.MANIFEST_NAME)
    C.download(server.url + "f.bin", dest, manifest=manifest, show=False)
    assert dest.read_bytes() == new
    assert manifest.entries["f.bin"]["sha256"] == C.file_hash(server.root / "f.bin")
    assert server.log[1][1] is not None  # the second try did ask to resume


def test_download_accepts_a_complete_part_only_for_a_file_of_its_size(server: Server, tmp_path: Path) -> None:
    data = os.urandom(C.CHUNK + 3)
    (server.root / "f.bin").write_bytes(data)
    server.honour_if_range = False
    dest = tmp_path / "f.bin"
    part = dest.with_name("f.bin.part")
    part.write_bytes(data)  # the run died between the last byte and the rename
    part.with_name("f.bin.part.json").write_text(json.dumps(
        {"url": server.url + "f.bin", "size": len(data), "etag": None, "last_modified": None}))
    C.download(server.url + "f.bin", dest, show=False)
    assert dest.read_bytes() == data and server.log == [("f.bin", f"bytes={len(data)}-")]  # 416, nothing re-sent


def test_download_retries_a_dropped_connection_and_checks_sha(server: Server,
                                                              tmp_path: Path) -> None:
    data = os.urandom(2 * C.CHUNK + 5)
    (server.root / "f.bin").write_bytes(data)
    server.truncate_once.add("f.bin")
    dest = tmp_path / "f.bin"
    sha = C.file_hash(server.root / "f.bin")
    C.download(server.url + "f.bin", dest, sha256=sha, show=False)
    assert dest.read_bytes() == data and not dest.with_name("f.bin.part").exists()
    assert server.log[0][1] is None and server.log[1][1] is not None  # second try resumed
    with pytest.raises(C.PrepareError, match="sha256"):
        C.download(server.url + "f.bin", tmp_path / "g.bin", sha256="0" * 64, show=False)
    assert not (tmp_path / "g.bin").exists() and not (tmp_path / "g.bin.part").exists()


def test_download_restarts_when_range_is_ignored_and_reads_file_urls(server: Server,
                                                                     tmp_path: Path) -> None:
    data = os.urandom(C.CHUNK + 99)
    (server.root / "x.bin").write_bytes(data)
    server.ignore_range = True
    dest = tmp_path / "x.bin"
    dest.with_name("x.bin.part").write_bytes(b"garbage-that-is-not-a-prefix")
    C.download(server.url + "x.bin", dest, show=False)
    assert dest.read_bytes() == data
    local = tmp_path / "y.bin"
    local.with_name("y.bin.part").write_bytes(data[:1000])
    C.download((server.root / "x.bin").as_uri(), local, show=False)
    assert local.read_bytes() == data
    with pytest.raises(C.PrepareError, match="rerun"):
        C.download(server.url + "missing.bin", tmp_path / "m.bin", show=False, retries=1)


def test_extract_is_atomic_and_skips_when_done(tmp_path: Path) -> None:
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(tar_gz({"d/one.txt": b"1", "d/two.txt": b"2"}))
    dest = C.extract(archive, tmp_path / "out", show=False)
    assert (dest / "d" / "two.txt").read_text() == "2" and (dest / C.EXTRACTED_MARKER).exists()
    archive.unlink()  # a rerun must not need the archive any more
    assert C.extract(archive, tmp_path / "out", show=False) == dest
    evil = tmp_path / "evil.zip"
    evil.write_bytes(zip_bytes({"../escape.txt": b"x"}))
    with pytest.raises(C.PrepareError, match="escapes"):
        C.extract(evil, tmp_path / "evil", show=False)
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "evil").exists()


def _tar(members: list[tarfile.TarInfo], data: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for info in members:
            tf.addfile(info, io.BytesIO(data[info.name]) if info.name in data else None)
    return buf.getvalue()


def test_extract_refuses_hostile_member_names(tmp_path: Path) -> None:
    """Links out of the folder, absolute names, and names that only share the folder's prefix."""
    link = tarfile.TarInfo("videos")
    link.type, link.linkname = tarfile.SYMTYPE, str(tmp_path)  # then a file written "through" the link
    through = tarfile.TarInfo("videos/planted.txt")
    through.size = 1
    archive = tmp_path / "link.tar"
    archive.write_bytes(_tar([link, through], {"videos/planted.txt": b"x"}))
    # a raw tarfile.AbsoluteLinkError (a traceback from every script) before
    with pytest.raises(C.PrepareError, match="refused to extract member 'videos'"):
        C.extract(archive, tmp_path / "out", show=False)
    assert not (tmp_path / "planted.txt").exists() and not (tmp_path / "out").exists()
    absolute = tmp_path / "abs.zip"
    absolute.write_bytes(zip_bytes({"/tmp/tcclip_planted.txt": b"x"}))
    with pytest.raises(C.PrepareError, match="escapes"):
        C.extract(absolute, tmp_path / "out", show=False)
    # the check compared strings: a sibling whose name starts with the folder's name passed
    folder = tmp_path / ".videos.ab12"
    folder.mkdir()
    with pytest.raises(C.PrepareError, match="escapes"):
        C._check_member("../.videos.ab12evil/x.mp4", folder)
    C._check_member("fine/../x.mp4", folder)  # ".." that stays inside is fine


def test_extract_removes_the_temporary_folder_of_an_interrupted_run(tmp_path: Path) -> None:
    """A killed extraction's temporary folder (gigabytes for a Kinetics part) was left forever."""
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(tar_gz({"d/one.txt": b"1"}))
    stale = tmp_path / ".out.k2j4_x9q"  # what tempfile.mkdtemp(prefix=".out.") made before the kill
    (stale / "d").mkdir(parents=True)
    (stale / "d" / "half.txt").write_bytes(b"x" * 100)
    other = tmp_path / ".out_2.k2j4_x9q"  # another archive's folder: not ours
    other.mkdir()
    dest = C.extract(archive, tmp_path / "out", show=False)
    assert (dest / "d" / "one.txt").read_text() == "1"
    assert not stale.exists() and other.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out_2.k2j4_x9q", "a.tar.gz", "out"]


def test_a_damaged_manifest_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / C.MANIFEST_NAME
    for text in ('{"files": {"a.tar": {"size": 1', '{"files": ["a.tar"]}', "[]"):
        path.write_text(text)
        with pytest.raises(C.PrepareError, match="is damaged .* delete it"):
            C.Manifest(path)


def test_missing_rar_tool_message_says_how_to_fix(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(C.shutil, "which", lambda name: None)
    archive = tmp_path / "x.rar"
    archive.write_bytes(rar4_store({"a.txt": b"a"}))
    with pytest.raises(C.PrepareError, match="apt-get install unar"):
        C.extract(archive, tmp_path / "x", show=False)


def test_few_shot_draws_are_seeded_and_capped() -> None:
    items = [(f"c{c}/v{i}.mp4", c) for c in range(3) for i in range(5 if c else 2)]
    a = C.lists.few_shot(items, 4, seed=1)
    assert a == C.lists.few_shot(items, 4, seed=1) and a != C.lists.few_shot(items, 4, seed=2)
    assert np.bincount([l for _, l in a]).tolist() == [2, 4, 4]
    assert a == sorted(a, key=items.index)
    with pytest.raises(ValueError, match="needs 4 items of class 0"):
        C.lists.few_shot(items, 4, seed=1, short_classes="error")
    with pytest.raises(ValueError, match="classes \\[3\\]"):
        C.lists.few_shot(items, 4, seed=1, num_classes=4)


# ----------------------------------------------------------------------------- HMDB-51

HMDB_FOLDERS = sorted(n.replace(" ", "_") for n in published.read_names("labels/hmdb_51_labels.csv"))


def _hmdb_fake(server: Server, clip: bytes) -> dict[str, dict[str, str]]:
    """hmdb51_org.rar (inner per-class .rar) + test_train_splits.rar, official formats.

    Every class has 2 videos of the published test split 1 (val1.txt, marker 2 in split 1)
    and 3 of the published 16-shot list (marker 1) plus one unused video (0); splits 2 and 3
    rotate the markers. Returns class -> {video: split-1 marker}.
    """
    test = pick("datasets_splits/hmdb_splits/val1.txt", 2)
    train = pick("datasets_splits/hmdb_splits/train1_few_shot_16.txt", 3)
    videos: dict[str, dict[str, str]] = {c: {} for c in HMDB_FOLDERS}
    for items, flag in ((test, "2"), (train, "1")):
        for name, label in items:
            videos[HMDB_FOLDERS[label]][name] = flag
    for c in HMDB_FOLDERS:
        videos[c][f"Unused_clip_{c}_f_cm_np1_fr_med_0.avi"] = "0"
    inner = {f"{c}.rar": rar4_store({f"{c}/{v}": clip for v in vids}) for c, vids in videos.items()}
    (server.root / hmdb.VIDEOS_RAR).write_bytes(rar4_store(inner))
    (server.root / hmdb.SPLITS_RAR).write_bytes(rar4_store(_hmdb_split_files(videos)))
    return videos


def _hmdb_split_files(videos: dict[str, dict[str, str]]) -> dict[str, bytes]:
    out = {}
    for c, vids in videos.items():
        for s in (1, 2, 3):
            flags = list(vids.values())
            flags = flags[s - 1:] + flags[: s - 1]  # split s: the markers rotated
            text = "".join(f"{v} {f} \n" for v, f in zip(vids, flags))
            out[f"testTrainMulti_7030_splits/{c}_test_split{s}.txt"] = text.encode()
    return out


@pytest.mark.skipif(not HAS_RAR_TOOL, reason="no RAR extractor (apt-get install unar)")
def test_prepare_hmdb51_end_to_end(server: Server, tmp_path: Path, clip_bytes: bytes) -> None:
    videos = _hmdb_fake(server, clip_bytes)
    root = tmp_path / "data"
    assert hmdb.main(["--root", str(root), "--base-url", server.url, "--no-progress"]) == 0
    ddir = root / "hmdb51"
    assert read_label_file(ddir / "labels.csv") == list(published.read_names("labels/hmdb_51_labels.csv"))
    for s in (1, 2, 3):
        train = read_list(ddir / f"splits/train_split{s}.txt")
        assert len(train) == 3 * 51
        for p, label in train:
            folder, name = p.split("/")
            assert folder == HMDB_FOLDERS[label] and (ddir / "videos" / p).is_file()
            flags = list(videos[folder].values())
            assert (flags[s - 1:] + flags[: s - 1])[list(videos[folder]).index(name)] == "1"
    check_published_views("hmdb51", ddir)
    assert len(read_list(ddir / "splits/test_split1.txt")) == 2 * 51  # the published split 1, on disk
    assert len(read_list(ddir / "splits/few_shot/train_16shot.txt")) == 3 * 51
    n_requests = server.downloads()
    summary = hmdb.prepare(root, show=False, base_url=server.url)
    assert server.downloads() == n_requests and summary.downloaded == 0
    assert summary.skipped_downloads == 2
    assert any("splits/test_split2.txt" in n and "not on disk" in n for n in summary.notes)


def test_prepare_hmdb51_after_manual_extraction(server: Server, tmp_path: Path,
                                                clip_bytes: bytes,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Without any RAR tool: the user extracts by hand and leaves the marker files, as the
    error message says; the script then only indexes."""
    videos = _hmdb_fake(server, clip_bytes)
    monkeypatch.setattr(C.shutil, "which", lambda name: None)
    root = tmp_path / "data"
    with pytest.raises(C.PrepareError, match="extract it yourself"):
        hmdb.prepare(root, show=False, base_url=server.url)
    ddir = root / "hmdb51"
    raw = ddir / "_downloads"
    lost = []
    for c, vids in videos.items():
        (ddir / "videos" / c).mkdir(parents=True, exist_ok=True)
        for v in list(vids)[1:]:  # the first video of each class is "lost": left out of the lists
            (ddir / "videos" / c / v).write_bytes(clip_bytes)
        lost.append(f"{c}/{list(vids)[0]}")
        (ddir / "videos" / c / C.EXTRACTED_MARKER).touch()
    for name, text in _hmdb_split_files(videos).items():
        (raw / "splits" / name).parent.mkdir(parents=True, exist_ok=True)
        (raw / "splits" / name).write_bytes(text)
    (raw / "splits" / C.EXTRACTED_MARKER).touch()
    summary = hmdb.prepare(root, show=False, base_url=server.url)
    assert summary.classes == 51 and summary.missing_videos > 0
    listed = {p for f in ddir.joinpath("splits").rglob("*.txt") for p, _ in read_list(f)}
    assert listed and all((ddir / "videos" / p).exists() for p in listed) and not listed & set(lost)
    check_published_views("hmdb51", ddir)


@pytest.mark.skipif(not HAS_RAR_TOOL, reason="no RAR extractor (apt-get install unar)")
def test_prepare_hmdb51_redraw_is_explicit(server: Server, tmp_path: Path, clip_bytes: bytes) -> None:
    _hmdb_fake(server, clip_bytes)
    root = tmp_path / "data"
    assert hmdb.main(["--root", str(root), "--base-url", server.url, "--no-progress", "--redraw-seed", "7"]) == 0
    ddir = root / "hmdb51"
    train1 = read_list(ddir / "splits/train_split1.txt")
    for k in (2, 4, 8, 16):
        drawn = read_list(ddir / f"splits/few_shot/train_{k}shot.txt")
        assert set(drawn) <= set(train1)
        assert np.bincount([l for _, l in drawn], minlength=51).tolist() == [min(k, 3)] * 51
    base = read_list(ddir / "splits/base2novel/train_base_s1.txt")
    assert np.bincount([l for _, l in base], minlength=26).tolist() == [3] * 26  # all 3 of each base class
    # everything else is still the published protocol
    check_published_views("hmdb51", ddir, skip=C.REDRAWN_VIEWS)


# ----------------------------------------------------------------------------- UCF-101

UCF_CLASSES = list(published.read_names("labels/ucf_101_labels.csv"))


def _ucf_fake(server: Server, clip: bytes) -> dict[str, list[str]]:
    """UCF101.rar + the official splits zip: 2 published test-split-1 videos and 2 of the
    published 16-shot list per class; the list files name a few folders in another case."""
    test = pick("datasets_splits/ucf_splits/val1.txt", 2)
    train = pick("datasets_splits/ucf_splits/train1_few_shot_16.txt", 2)
    files, by_class = {}, {c: [] for c in UCF_CLASSES}
    trainlist, testlist = [], []
    for name, label in test + train:
        c = UCF_CLASSES[label]
        files[f"UCF-101/{c}/{name}"] = clip
        by_class[c].append(name)
        listed = f"{name[2:].rsplit('_', 2)[0]}/{name}"  # the folder as the file name spells it (HandStand...)
        if (name, label) in test:
            testlist.append(listed)
        else:
            trainlist.append(f"{c}/{name} {label + 1}")
    (server.root / "UCF101.rar").write_bytes(rar4_store(files))
    listing = {"ucfTrainTestlist/classInd.txt":
               "".join(f"{i + 1} {c}\r\n" for i, c in enumerate(UCF_CLASSES)).encode()}
    for s in (1, 2, 3):
        listing[f"ucfTrainTestlist/trainlist0{s}.txt"] = "\r\n".join(trainlist).encode()
        listing[f"ucfTrainTestlist/testlist0{s}.txt"] = "\r\n".join(testlist).encode()
    (server.root / "splits.zip").write_bytes(zip_bytes(listing))
    return by_class


@pytest.mark.skipif(not HAS_RAR_TOOL, reason="no RAR extractor (apt-get install unar)")
def test_prepare_ucf101_end_to_end(server: Server, tmp_path: Path, clip_bytes: bytes) -> None:
    _ucf_fake(server, clip_bytes)
    root = tmp_path / "data"
    argv = ["--root", str(root), "--videos-url", server.url + "UCF101.rar",
            "--splits-url", server.url + "splits.zip", "--no-progress"]
    assert ucf.main(argv) == 0
    ddir = root / "ucf101"
    assert read_label_file(ddir / "labels.csv") == UCF_CLASSES  # classInd order = the published order
    for s in (1, 2, 3):
        train = read_list(ddir / f"splits/train_split{s}.txt")
        assert len(train) == 2 * 101
        assert all(p.split("/")[0] == UCF_CLASSES[label] and (ddir / "videos" / p).is_file() for p, label in train)
    check_published_views("ucf101", ddir)
    test1 = read_list(ddir / "splits/test_split1.txt")
    assert len(test1) == 2 * 101 and ("HandstandPushups/v_HandStandPushups_g01_c01.avi", 36) in test1
    n = server.downloads()
    assert ucf.main(argv) == 0 and server.downloads() == n


def test_prepare_ucf101_refuses_a_foreign_class_index(tmp_path: Path, server: Server, clip_bytes: bytes) -> None:
    _ucf_fake(server, clip_bytes)
    listing = zipfile.ZipFile(server.root / "splits.zip")
    files = {n: listing.read(n) for n in listing.namelist()}
    files["ucfTrainTestlist/classInd.txt"] = b"1 Archery\r\n2 ApplyEyeMakeup\r\n"
    (server.root / "splits.zip").write_bytes(zip_bytes(files))
    (tmp_path / "data/ucf101/videos").mkdir(parents=True)
    (tmp_path / "data/ucf101/videos" / C.EXTRACTED_MARKER).touch()
    with pytest.raises(C.PrepareError, match="published ucf_101_labels.csv"):
        ucf.prepare(tmp_path / "data", show=False, videos_url=server.url + "UCF101.rar",
                    splits_url=server.url + "splits.zip")


# ----------------------------------------------------------------------------- Kinetics


def _kinetics_csv(rows: list[tuple[str, str]], with_label: bool = True) -> bytes:
    """Annotation CSV rows from (label, clip name ``<id>_<start>_<end>.mp4``)."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow((["label"] if with_label else []) + ["youtube_id", "time_start", "time_end", "split"])
    for label, name in rows:
        yid, start, end = name[:-4].rsplit("_", 2)
        w.writerow(([label] if with_label else []) + [yid, int(start), int(end), "x"])
    return out.getvalue().encode()


def _serve_split(server: Server, version: str, split: str, archives: dict[str, dict[str, bytes]]) -> None:
    """``<version>/<split>/`` archives and the ``k<version>_<split>_path.txt`` URL list."""
    from urllib.parse import quote

    (server.root / version / split).mkdir(parents=True, exist_ok=True)
    urls = []
    for stem, members in archives.items():
        (server.root / version / split / f"{stem}.tar.gz").write_bytes(tar_gz(members))
        urls.append(f"https://s3.amazonaws.com/kinetics/{version}/{split}/{quote(stem)}.tar.gz")
    (server.root / version / split / f"k{version}_{split}_path.txt").write_text("\n".join(urls))


K400_NAMES = list(published.read_names("labels/kinetics_400_labels.csv"))


def _k400_fake(server: Server, clip: bytes) -> dict[str, list[str]]:
    """CVDF-like K-400: val = 2 published val clips of each of the first 6 classes; train = 2
    clips of the published base-to-novel split 1 of 4 base classes, plus the training clips
    of the temporal list that the mirror replaced; one val clip is gone from the archives."""
    val = [(K400_NAMES[label], p.split("/")[1]) for p, label in
           pick("datasets_splits/k400_splits/val.txt", 2, classes=6)]
    base = published.read_names("labels/kinetics_400_base_labels.csv")
    train = [(base[label], p.split("/")[1]) for p, label in
             pick("datasets_splits/base2novel_splits/k400_splits/fs_base_s1_train.txt", 2, classes=4)]
    temporal = published.read_names("labels/labels_temporal_static/kinetics_400_temporal32_labels.csv")
    replaced = [(temporal[label], p.split("/")[-1]) for p, label in
                published.read_items("datasets_splits/temporal_static_splits/k400_splits/train_temporal32.txt")
                if p.startswith("replacement/")][:2]
    (server.root / "400/annotations").mkdir(parents=True)
    (server.root / "400/annotations/train.csv").write_bytes(_kinetics_csv(train + replaced))
    (server.root / "400/annotations/val.csv").write_bytes(_kinetics_csv([(f'"{n}"' if i == 0 else n, c)
                                                                          for i, (n, c) in enumerate(val)]))
    names = [c for _, c in train + replaced]
    _serve_split(server, "400", "train", {"part_0": {n: clip for n in names[:3]},
                                          "part_1": {n: b"corrupt" for n in names[3:]} | {n: clip for n in names[3:-2]}})
    _serve_split(server, "400", "val", {"part_0": {c: clip for _, c in val[:-1]}})  # the last one is gone
    (server.root / "400" / "replacement_for_corrupted_k400.tgz").write_bytes(tar_gz(
        {f"replacement_for_corrupted_k400/{c}": clip + b"replacement" for _, c in replaced}))
    return {"train": [c for _, c in train], "replaced": [c for _, c in replaced], "val": [c for _, c in val]}


def test_prepare_k400(server: Server, tmp_path: Path, clip_bytes: bytes) -> None:
    fake = _k400_fake(server, clip_bytes)
    root = tmp_path / "data"
    k4 = importlib.import_module("prepare_k400")
    assert k4.main(["--root", str(root), "--base-url", server.url, "--no-progress"]) == 0
    ddir = root / "k400"
    assert read_label_file(ddir / "labels.csv") == K400_NAMES
    train = read_list(ddir / "splits/train.txt")
    assert len(train) == len(fake["train"]) + len(fake["replaced"])
    for p, label in train:
        split, folder, name = p.split("/")
        assert split == "train" and folder == K400_NAMES[label].replace(" ", "_") and (ddir / "videos" / p).is_file()
    for name in fake["replaced"]:  # the mirror's replacement, not the corrupt original
        (hit,) = (ddir / "videos/train").rglob(name)
        assert hit.read_bytes() == clip_bytes + b"replacement"
    check_published_views("k400", ddir)
    assert len(read_list(ddir / "splits/val.txt")) == len(fake["val"]) - 1  # the clip missing from the mirror
    temporal = read_list(ddir / "splits/temporal/train_temporal32.txt")
    assert set(fake["replaced"]) <= {p.split("/")[-1] for p, _ in temporal}
    assert not list((ddir / "_downloads" / "targz").rglob("*.tar.gz"))  # deleted after use
    n = server.downloads()
    summary = kin.prepare_k400(root, show=False, base_url=server.url)
    assert server.downloads() == n and summary.downloaded == 0
    assert any("splits/val.txt" in note and "not on disk" in note for note in summary.notes)
    # a redraw needs every class: on this partial copy it is refused, saying why, and nothing changes
    before = (ddir / "splits/base2novel/train_base_s1.txt").read_text()
    with pytest.raises(C.PrepareError, match="redraw-seed cannot draw.*classes"):
        kin.prepare_k400(root, redraw_seed=1, show=False, base_url=server.url)
    assert (ddir / "splits/base2novel/train_base_s1.txt").read_text() == before


def _k600_fake(server: Server, clip: bytes) -> dict[str, object]:
    """CVDF-like K-600: the test set (CSV without labels) holds 2 published zero-shot clips of the
    first 5 classes of each split; val = 3 clips of 4 zero-shot classes and of one K-400 class,
    one archive per class (the K-400 class's must not be downloaded)."""
    test = {}
    for s in (1, 2, 3):
        names = published.read_names(f"labels/ZS_split{s}_K600.csv")
        for p, label in pick(f"datasets_splits/k600_splits/ZS_split{s}_K600_eval.txt", 2, classes=5):
            test[p.split("/")[1]] = names[label]
    zs = sorted(published.read_names("labels/ZS_split1_K600.csv"))
    val_classes = [zs[0], zs[1], "Dyeing Hair", published.read_names("labels/ZS_split2_K600.csv")[-1]]
    # "Dyeing Hair" is not a zero-shot class (it was renamed from K-400's "dying hair")
    val = {c: [f"v{ci:02d}x{i}abcdef_{i:06d}_{i + 10:06d}.mp4" for i in range(3)] for ci, c in enumerate(val_classes)}
    (server.root / "600/annotations").mkdir(parents=True)
    (server.root / "600/annotations/test.csv").write_bytes(
        _kinetics_csv([("", name) for name in test], with_label=False))
    (server.root / "600/annotations/val.txt").write_bytes(
        _kinetics_csv([(c.lower() if i == 0 else c, n) for i, (c, ns) in enumerate(val.items()) for n in ns]))
    names = list(test)
    _serve_split(server, "600", "test", {"part_0": {n: clip for n in names[: len(names) // 2]},
                                         "part_1": {n: clip for n in names[len(names) // 2:]}})
    _serve_split(server, "600", "val", {c: {n: clip for n in ns} for c, ns in val.items()})
    return {"test": test, "val": val, "val_classes": val_classes}


def test_prepare_k600_both_variants_on_the_published_classes(server: Server, tmp_path: Path,
                                                             clip_bytes: bytes) -> None:
    fake = _k600_fake(server, clip_bytes)
    root = tmp_path / "data"
    assert importlib.import_module("prepare_k600").main(["--root", str(root), "--base-url", server.url,
                                                         "--no-progress"]) == 0
    k6 = root / "k600"
    check_published_views("k600", k6)
    for s in (1, 2, 3):
        labels = read_label_file(k6 / f"splits/labels_split{s}.csv")
        assert labels == list(published.read_names(f"labels/ZS_split{s}_K600.csv"))
        test = read_list(k6 / f"splits/test_split{s}.txt")
        assert len(test) >= 10 and all(p.startswith("test/") for p, _ in test)
        assert all(fake["test"][p.split("/")[-1]] == labels[l] for p, l in test)
        val = read_list(k6 / f"splits/val_split{s}.txt")
        want = [(f"val/{c.replace(' ', '_')}/{n}", labels.index(c)) for c, ns in fake["val"].items()
                if c in labels for n in ns]
        assert val == want and all((k6 / "videos" / p).is_file() for p, _ in val)
        assert registry.get_split("k600", "zero_shot", split=s, subset="val", root=root).list_file.name == \
            f"val_split{s}.txt"
    fetched = {p for p, _ in server.log if p.startswith("600/val/") and p.endswith(".tar.gz")}
    assert fetched == {f"600/val/{c}.tar.gz" for c in fake["val_classes"] if c != "Dyeing Hair"}
    n = server.downloads()
    summary = kin.prepare_k600(root, show=False, base_url=server.url)
    assert server.downloads() == n and summary.classes == 217


# ----------------------------------------------------------------------------- SSv2

SSV2_NAMES = list(published.read_names("labels/ssv2_labels.csv"))


def _template(name: str) -> str:
    """The JSON's template of a class: its first "something" in brackets."""
    return name.replace("something", "[something]", 1)


def _ssv2_manual(manual: Path, clip: bytes, zipped_parts: bool = False, old_names: bool = False) -> dict:
    """The hand-downloaded files: 2 published validation videos of the first 12 classes and 2
    published 2-shot training videos of each class; labels as the Qualcomm zip or as the 20BN
    loose files."""
    manual.mkdir(parents=True)
    val = pick("datasets_splits/ssv2_splits/validation.txt", 2, classes=12)
    train = list(published.read_items("datasets_splits/ssv2_splits/train1_few_shot_2.txt"))
    entries = {split: [{"id": p[:-5], "label": SSV2_NAMES[l].lower(), "template": _template(SSV2_NAMES[l]),
                        "placeholders": ["a cup"]} for p, l in items]
               for split, items in (("train", train), ("validation", val))}
    files = {f"20bn-something-something-v2/{p}": clip for p, _ in train + val}
    blob = tar_gz(files)
    third = len(blob) // 3
    for i, part in enumerate([blob[:third], blob[third: 2 * third], blob[2 * third:]]):
        name = f"20bn-something-something-v2-{i:02d}"
        if zipped_parts:
            (manual / f"{name}.zip").write_bytes(zip_bytes({name: part}))
        else:
            (manual / name).write_bytes(part)
    labels = {n: str(i) for i, n in enumerate(SSV2_NAMES)}
    jsons = {"labels": labels, "train": entries["train"], "validation": entries["validation"]}
    if old_names:
        for role, data in jsons.items():
            (manual / f"something-something-v2-{role}.json").write_text(json.dumps(data))
    else:
        (manual / "labels.zip").write_bytes(zip_bytes({f"labels/{role}.json": json.dumps(data).encode()
                                                       for role, data in jsons.items()}))
    return {"train": train, "val": val}


def test_prepare_ssv2_explains_the_manual_download(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert ssv2.main(["--root", str(tmp_path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "by hand" in err and str(tmp_path / "ssv2" / "_manual") in err
    (tmp_path / "ssv2" / "_manual").mkdir(parents=True)
    assert ssv2.main(["--root", str(tmp_path), "--no-progress"]) == 2
    assert "no video parts" in capsys.readouterr().err


@pytest.mark.parametrize("zipped,old_names", [(False, False), (True, False), (False, True)])
def test_prepare_ssv2_from_manual_files(tmp_path: Path, clip_bytes: bytes, zipped: bool, old_names: bool) -> None:
    root = tmp_path / "data"
    fake = _ssv2_manual(root / "ssv2" / "_manual", clip_bytes, zipped_parts=zipped, old_names=old_names)
    assert ssv2.main(["--root", str(root), "--no-progress"]) == 0
    ddir = root / "ssv2"
    assert read_label_file(ddir / "labels.csv") == SSV2_NAMES
    assert read_list(ddir / "splits/train.txt") == fake["train"]  # from train.json, published ids
    check_published_views("ssv2", ddir)
    assert read_list(ddir / "splits/val.txt") == fake["val"]
    assert read_list(ddir / "splits/few_shot/train_2shot.txt") == fake["train"]
    before = (ddir / "videos").stat().st_mtime_ns
    assert ssv2.main(["--root", str(root), "--no-progress"]) == 0
    assert (ddir / "videos").stat().st_mtime_ns == before


# ----------------------------------------------------------------------------- re-encoding


def _small_dataset(root: Path, clip: bytes) -> Path:
    ddir = root / "hmdb51"
    for c in ("a", "b"):
        for i in range(3):
            (ddir / "videos" / c).mkdir(parents=True, exist_ok=True)
            (ddir / "videos" / c / f"{c}{i}.avi").write_bytes(clip)
    C.lists.write_list(ddir / "splits/train_split1.txt", [("a/a0.avi", 0), ("b/b1.avi", 1)])
    C.lists.write_list(ddir / "splits/few_shot/train_2shot.txt", [("a/a2.avi", 0)])
    return ddir


def test_reencode_without_ffmpeg_leaves_the_data_alone(tmp_path: Path, clip_bytes: bytes,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    ddir = _small_dataset(tmp_path, clip_bytes)
    monkeypatch.setattr(reenc.shutil, "which", lambda name: None)
    with pytest.raises(C.PrepareError, match="apt-get install ffmpeg"):
        reenc.reencode(tmp_path, "hmdb51", show=False)
    assert read_list(ddir / "splits/train_split1.txt")[0][0] == "a/a0.avi"


def test_reencode_is_parallel_resumable_and_rewrites_lists(tmp_path: Path, clip_bytes: bytes
                                                           ) -> None:
    """A stand-in ffmpeg (copies input to output, logs calls) checks the bookkeeping."""
    ddir = _small_dataset(tmp_path, clip_bytes)
    log = tmp_path / "calls.log"
    fake = tmp_path / "ffmpeg"
    fake.write_text(f"#!{sys.executable}\nimport shutil, sys\n"
                    f"a = sys.argv\nopen({str(log)!r}, 'a').write(a[a.index('-i') + 1] + '\\n')\n"
                    "shutil.copy(a[a.index('-i') + 1], a[-1])\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    done = ddir / "videos_320p" / "a" / "a1.mp4"  # pretend an earlier run did this one
    done.parent.mkdir(parents=True)
    done.write_bytes(clip_bytes)
    reenc.reencode(tmp_path, "hmdb51", workers=2, show=False, ffmpeg=str(fake))
    assert len(log.read_text().split()) == 5
    assert sorted(p.relative_to(ddir / "videos").as_posix()
                  for p in (ddir / "videos").rglob("*.mp4")) == \
        [f"{c}/{c}{i}.mp4" for c in "ab" for i in range(3)]
    assert (ddir / "videos_original" / "a" / "a0.avi").exists()
    assert read_list(ddir / "splits/train_split1.txt") == [("a/a0.mp4", 0), ("b/b1.mp4", 1)]
    assert read_list(ddir / "splits/few_shot/train_2shot.txt") == [("a/a2.mp4", 0)]
    summary = reenc.reencode(tmp_path, "hmdb51", show=False, ffmpeg=str(fake))
    assert "already" in summary.notes[0] and len(log.read_text().split()) == 5


def _fake_ffmpeg(tmp_path: Path, fail_on: str = "") -> Path:
    """Copies input to output; exits 1 for inputs whose name contains ``fail_on``."""
    fake = tmp_path / "ffmpeg"
    fake.write_text(f"#!{sys.executable}\nimport shutil, sys\na = sys.argv\nsrc = a[a.index('-i') + 1]\n"
                    f"if {fail_on!r} and {fail_on!r} in src:\n    print('moov atom not found', file=sys.stderr)\n"
                    "    sys.exit(1)\nshutil.copy(src, a[-1])\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return fake


def test_reencode_refuses_videos_that_would_become_one_file(tmp_path: Path, clip_bytes: bytes) -> None:
    """a1.avi and a1.webm both became a1.mp4: one was taken for done, both list entries showed the other."""
    ddir = _small_dataset(tmp_path, clip_bytes)
    (ddir / "videos" / "a" / "a1.webm").write_bytes(clip_bytes[:-1])
    with pytest.raises(C.PrepareError, match=r"differ only in their extension .*a/a1.avi and a/a1.webm"):
        reenc.reencode(tmp_path, "hmdb51", show=False, ffmpeg=str(_fake_ffmpeg(tmp_path)))
    assert not (ddir / "videos_320p").exists() and read_list(ddir / "splits/train_split1.txt")[0][0] == "a/a0.avi"


def test_reencode_names_every_clip_ffmpeg_cannot_read_and_how_to_go_on(tmp_path: Path, clip_bytes: bytes) -> None:
    ddir = _small_dataset(tmp_path, clip_bytes)
    with pytest.raises(C.PrepareError, match=r"2 of 6 clips .*reencode_failures.log.*download it again or delete it"):
        reenc.reencode(tmp_path, "hmdb51", show=False, ffmpeg=str(_fake_ffmpeg(tmp_path, fail_on="1.avi")))
    failed = (ddir / "reencode_failures.log").read_text().splitlines()
    assert len(failed) == 2 and all("1.avi" in line and "moov atom" in line for line in failed)
    assert read_list(ddir / "splits/train_split1.txt")[0][0] == "a/a0.avi"  # the dataset is unchanged
    for broken in ("a/a1.avi", "b/b1.avi"):  # the documented way on: delete the broken clips, rerun
        (ddir / "videos" / broken).unlink()
    reenc.reencode(tmp_path, "hmdb51", show=False, ffmpeg=str(_fake_ffmpeg(tmp_path, fail_on="1.avi")))
    assert read_list(ddir / "splits/train_split1.txt") == [("a/a0.mp4", 0), ("b/b1.mp4", 1)]
    assert not (ddir / "videos" / "b" / "b1.mp4").exists()  # listed, missing: the loaders count it
    assert not (ddir / "reencode_failures.log").exists()


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
def test_reencode_with_real_ffmpeg(tmp_path: Path, clip_bytes: bytes) -> None:
    decord = pytest.importorskip("decord")
    ddir = _small_dataset(tmp_path, clip_bytes)
    reenc.reencode(tmp_path, "hmdb51", short_side=48, fps=10, workers=2, show=False)
    vr = decord.VideoReader(str(ddir / "videos" / "a" / "a0.mp4"))
    assert vr[0].shape[:2] == (48, 48)
    assert abs(vr.get_avg_fps() - 10) < 0.5


def test_scripts_run_as_programs_from_the_repository(tmp_path: Path) -> None:
    """``python data_scripts/x.py`` finds _common and tcclip without any install step."""
    import subprocess

    proc = subprocess.run([sys.executable, "data_scripts/prepare_ssv2.py", "--root",
                           str(tmp_path), "--no-progress"], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and "by hand" in proc.stderr
    for script in ("prepare_hmdb51", "prepare_ucf101", "prepare_k400", "prepare_k600",
                   "reencode"):
        help_text = subprocess.run([sys.executable, f"data_scripts/{script}.py", "--help"],
                                   cwd=REPO, capture_output=True, text=True, timeout=120)
        assert help_text.returncode == 0 and "--root" in help_text.stdout, script
