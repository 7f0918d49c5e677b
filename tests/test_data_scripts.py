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

from tcclip.data import registry
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
    """A local HTTP server over ``root`` with Range support and a request log."""

    root: Path
    url: str
    log: list[tuple[str, str | None]] = field(default_factory=list)
    truncate_once: set[str] = field(default_factory=set)  # paths cut short on first GET
    ignore_range: bool = False

    def downloads(self) -> int:
        return len(self.log)


def _handler(server: Server) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:  # noqa: N802
            from urllib.parse import unquote

            rel = unquote(self.path.lstrip("/"))
            path = server.root / rel
            rng = self.headers.get("Range")
            server.log.append((rel, rng))
            if not path.is_file():
                self.send_error(404)
                return
            data = path.read_bytes()
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
            self.end_headers()
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
    spec = build_classes(["a red square moving left"])[0]
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
    return C.read_list(path)



def check_protocol_views(dataset: str, ddir: Path, names: list[str],
                         train_by_split: dict[int, list[tuple[str, int]]],
                         evaluation: list[tuple[str, int]]) -> None:
    """Few-shot and base-to-novel files: counts, subsets, label files (shared by tests)."""
    layout = registry.DATASET_LAYOUT[dataset]
    if "few_shot/train" in layout:
        for s, train in train_by_split.items():
            per_class = np.bincount([l for _, l in train], minlength=len(names))
            for k in registry.FEW_SHOT_SHOTS:
                items = read_list(ddir / layout["few_shot/train"].format(shots=k, split=s))
                assert set(items) <= set(train) and len(set(items)) == len(items)
                got = np.bincount([l for _, l in items], minlength=len(names))
                assert (got == np.minimum(per_class, k)).all()
    base = read_label_file(ddir / layout["labels/base2novel/base"])
    novel = read_label_file(ddir / layout["labels/base2novel/novel"])
    assert base + novel == names and not set(base) & set(novel)
    train1 = {(p, names[l]) for p, l in train_by_split[min(train_by_split)]}
    for s in registry.SPLIT_IDS:
        items = read_list(ddir / layout["base2novel/train/base"].format(split=s))
        assert {(p, base[l]) for p, l in items} <= train1
    for side, labels in (("base", base), ("novel", novel)):
        items = read_list(ddir / layout[f"base2novel/test/{side}"])
        want = {(p, names[l]) for p, l in evaluation if names[l] in labels}
        assert {(p, labels[l]) for p, l in items} == want


# ----------------------------------------------------------------------------- _common


def test_download_resumes_an_interrupted_file(server: Server, tmp_path: Path) -> None:
    data = os.urandom(3 * C.CHUNK + 123)
    (server.root / "big.bin").write_bytes(data)
    dest = tmp_path / "dl" / "big.bin"
    dest.parent.mkdir()
    dest.with_name("big.bin.part").write_bytes(data[: C.CHUNK + 7])  # an earlier run died
    manifest = C.Manifest(tmp_path / "dl" / C.MANIFEST_NAME)
    C.download(server.url + "big.bin", dest, manifest=manifest, show=False)
    assert dest.read_bytes() == data
    assert server.log == [("big.bin", f"bytes={C.CHUNK + 7}-")]
    assert json.loads(manifest.path.read_text())["files"]["big.bin"]["sha256"] == \
        C.file_hash(dest)
    C.download(server.url + "big.bin", dest, manifest=C.Manifest(manifest.path), show=False)
    assert server.downloads() == 1  # the rerun trusted the manifest


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


def test_missing_rar_tool_message_says_how_to_fix(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(C.shutil, "which", lambda name: None)
    archive = tmp_path / "x.rar"
    archive.write_bytes(rar4_store({"a.txt": b"a"}))
    with pytest.raises(C.PrepareError, match="apt-get install unar"):
        C.extract(archive, tmp_path / "x", show=False)


def test_few_shot_draws_are_seeded_and_capped() -> None:
    items = [(f"c{c}/v{i}.mp4", c) for c in range(3) for i in range(5 if c else 2)]
    a = C.few_shot(items, 4, seed=1)
    assert a == C.few_shot(items, 4, seed=1) and a != C.few_shot(items, 4, seed=2)
    assert np.bincount([l for _, l in a]).tolist() == [2, 4, 4]
    assert a == sorted(a, key=items.index)


# ----------------------------------------------------------------------------- HMDB-51

HMDB_CLASSES = ["brush_hair", "cartwheel", "chew", "clap"]


def _hmdb_fake(server: Server, clip: bytes) -> dict[str, list[str]]:
    """hmdb51_org.rar (inner per-class .rar) + test_train_splits.rar, official formats."""
    videos = {c: [f"{c}_video_{i}.avi" for i in range(6)] for c in HMDB_CLASSES}
    inner = {f"{c}.rar": rar4_store({f"{c}/{v}": clip for v in vids})
             for c, vids in videos.items()}
    (server.root / hmdb.VIDEOS_RAR).write_bytes(rar4_store(inner))
    splits = {}
    for c, vids in videos.items():
        for s in (1, 2, 3):
            # split s: rotate which videos are train (1), test (2) and unused (0)
            flags = ["1", "1", "1", "2", "2", "0"]
            flags = flags[s - 1:] + flags[: s - 1]
            text = "".join(f"{v} {f} \n" for v, f in zip(vids, flags))
            splits[f"testTrainMulti_7030_splits/{c}_test_split{s}.txt"] = text.encode()
    (server.root / hmdb.SPLITS_RAR).write_bytes(rar4_store(splits))
    return videos


@pytest.mark.skipif(not HAS_RAR_TOOL, reason="no RAR extractor (apt-get install unar)")
def test_prepare_hmdb51_end_to_end(server: Server, tmp_path: Path, clip_bytes: bytes) -> None:
    videos = _hmdb_fake(server, clip_bytes)
    root = tmp_path / "data"
    assert hmdb.main(["--root", str(root), "--base-url", server.url, "--no-progress"]) == 0
    ddir = root / "hmdb51"
    names = read_label_file(ddir / "labels.csv")
    assert names == sorted(HMDB_CLASSES)
    trains = {}
    for s in (1, 2, 3):
        train = read_list(ddir / f"splits/train_split{s}.txt")
        test = read_list(ddir / f"splits/test_split{s}.txt")
        assert len(train) == 3 * len(names) and len(test) == 2 * len(names)
        assert not {p for p, _ in train} & {p for p, _ in test}
        for p, label in train + test:
            assert p.split("/")[0] == names[label] and (ddir / "videos" / p).is_file()
            assert p.split("/")[1] in videos[names[label]]
        trains[s] = train
    assert trains[1] != trains[2]
    check_protocol_views("hmdb51", ddir, names, trains,
                         read_list(ddir / "splits/test_split1.txt"))
    n_requests = server.downloads()
    summary = hmdb.prepare(root, show=False, base_url=server.url)
    assert server.downloads() == n_requests and summary.downloaded == 0
    assert summary.skipped_downloads == 2


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
    split_dir = raw / "splits" / "testTrainMulti_7030_splits"
    split_dir.mkdir(parents=True)
    for c, vids in videos.items():
        (ddir / "videos" / c).mkdir(parents=True, exist_ok=True)
        for v in vids[:5]:  # one video is "lost": it must be left out of the lists
            (ddir / "videos" / c / v).write_bytes(clip_bytes)
        (ddir / "videos" / c / C.EXTRACTED_MARKER).touch()
        for s in (1, 2, 3):
            flags = ["1", "1", "1", "2", "2", "0"]
            flags = flags[s - 1:] + flags[: s - 1]
            (split_dir / f"{c}_test_split{s}.txt").write_text(
                "".join(f"{v} {f} \n" for v, f in zip(vids, flags)))
    (raw / "splits" / C.EXTRACTED_MARKER).touch()
    summary = hmdb.prepare(root, show=False, base_url=server.url)
    assert summary.classes == len(HMDB_CLASSES) and summary.missing_videos > 0
    listed = {p for s in (1, 2, 3) for f in ("train", "test")
              for p, _ in read_list(ddir / f"splits/{f}_split{s}.txt")}
    assert listed and all((ddir / "videos" / p).exists() for p in listed)


# ----------------------------------------------------------------------------- UCF-101

UCF_CLASSES = ["ApplyEyeMakeup", "Archery", "HandstandPushups", "YoYo"]


def _ucf_fake(server: Server, clip: bytes) -> None:
    files, train, test = {}, {1: [], 2: [], 3: []}, {1: [], 2: [], 3: []}
    for ci, c in enumerate(UCF_CLASSES):
        stem = "HandStandPushups" if c == "HandstandPushups" else c  # the real quirk
        for g in range(1, 7):
            name = f"v_{stem}_g{g:02d}_c01.avi"
            files[f"UCF-101/{c}/{name}"] = clip
            for s in (1, 2, 3):
                if g in (s, s + 1):  # group-wise test split, as the official lists
                    test[s].append(f"{stem if g % 2 else c}/{name}")
                else:
                    train[s].append(f"{c}/{name} {ci + 1}")
    (server.root / "UCF101.rar").write_bytes(rar4_store(files))
    listing = {"ucfTrainTestlist/classInd.txt":
               "".join(f"{i + 1} {c}\r\n" for i, c in enumerate(UCF_CLASSES)).encode()}
    for s in (1, 2, 3):
        listing[f"ucfTrainTestlist/trainlist0{s}.txt"] = "\r\n".join(train[s]).encode()
        listing[f"ucfTrainTestlist/testlist0{s}.txt"] = "\r\n".join(test[s]).encode()
    (server.root / "splits.zip").write_bytes(zip_bytes(listing))


@pytest.mark.skipif(not HAS_RAR_TOOL, reason="no RAR extractor (apt-get install unar)")
def test_prepare_ucf101_end_to_end(server: Server, tmp_path: Path, clip_bytes: bytes) -> None:
    _ucf_fake(server, clip_bytes)
    root = tmp_path / "data"
    argv = ["--root", str(root), "--videos-url", server.url + "UCF101.rar",
            "--splits-url", server.url + "splits.zip", "--no-progress"]
    assert ucf.main(argv) == 0
    ddir = root / "ucf101"
    names = read_label_file(ddir / "labels.csv")
    assert names == UCF_CLASSES  # classInd order, not alphabetical re-sorting
    trains = {}
    for s in (1, 2, 3):
        train = read_list(ddir / f"splits/train_split{s}.txt")
        test = read_list(ddir / f"splits/test_split{s}.txt")
        assert len(train) == 4 * len(names) and len(test) == 2 * len(names)
        for p, label in train + test:
            assert (ddir / "videos" / p).is_file()  # case-mismatched lines were resolved
            assert p.split("/")[0] == names[label]
        trains[s] = train
    check_protocol_views("ucf101", ddir, names, trains, read_list(ddir / "splits/test_split1.txt"))
    n = server.downloads()
    assert ucf.main(argv) == 0 and server.downloads() == n


# ----------------------------------------------------------------------------- Kinetics

K400 = ["abseiling", "air drumming", "playing cello", "yoga"]
K600_NEW = [f"new action {i:03d}" for i in range(170)]


def _kinetics_csv(rows: list[tuple[str, str, int, str]]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["label", "youtube_id", "time_start", "time_end", "split"])
    for label, yid, start, split in rows:
        w.writerow([label, yid, start, start + 10, split])
    return out.getvalue().encode()


def _kinetics_fake(server: Server, clip: bytes) -> None:
    """CVDF-like tree: annotation CSVs, *_path.txt URL lists and .tar.gz archives."""
    from urllib.parse import quote

    k400_rows = []
    for split in ("train", "val"):
        for ci, c in enumerate(K400):
            for i in range(3 if split == "train" else 2):
                k400_rows.append((c, f"{split[0]}{ci}x{i}-_", 10 * i, split))
    for split in ("train", "val"):
        rows = [r for r in k400_rows if r[3] == split]
        (server.root / "400/annotations").mkdir(parents=True, exist_ok=True)
        (server.root / f"400/annotations/{split}.csv").write_bytes(_kinetics_csv(rows))
        names = [f"{y}_{s:06d}_{s + 10:06d}.mp4" for _, y, s, _ in rows]
        names = names[:-1]  # a clip taken down from YouTube: in the CSV, not in the tars
        half = len(names) // 2
        (server.root / f"400/{split}").mkdir(parents=True)
        urls = []
        for part, chunk in enumerate((names[:half], names[half:])):
            (server.root / f"400/{split}/part_{part}.tar.gz").write_bytes(
                tar_gz({n: clip for n in chunk}))
            urls.append(f"https://s3.amazonaws.com/kinetics/400/{split}/part_{part}.tar.gz")
        (server.root / f"400/{split}/k400_{split}_path.txt").write_text("\n".join(urls))
    # K-600: the K-400 classes plus 170 new ones; train archives per class, val in parts.
    for split in ("train", "val"):
        rows = [(c, f"k6{split[0]}{ci}", 0, split) for ci, c in enumerate(K400 + K600_NEW)]
        rows += [(c, f"k6{split[0]}{ci}b", 5, split) for ci, c in enumerate(K600_NEW[:20])]
        (server.root / "600/annotations").mkdir(parents=True, exist_ok=True)
        (server.root / f"600/annotations/{split}.txt").write_bytes(_kinetics_csv(rows))
        (server.root / f"600/{split}").mkdir(parents=True)
        urls = []
        if split == "train":
            for c in K400 + K600_NEW:
                mine = {f"{y}_{s:06d}_{s + 10:06d}.mp4": clip for l, y, s, _ in rows if l == c}
                (server.root / f"600/train/{c}.tar.gz").write_bytes(tar_gz(mine))
                urls.append(f"https://s3.amazonaws.com/kinetics/600/train/{quote(c)}.tar.gz")
        else:
            (server.root / "600/val/part_0.tar.gz").write_bytes(
                tar_gz({f"{y}_{s:06d}_{s + 10:06d}.mp4": clip for _, y, s, _ in rows}))
            urls.append("https://s3.amazonaws.com/kinetics/600/val/part_0.tar.gz")
        (server.root / f"600/{split}/k600_{split}_path.txt").write_text("\n".join(urls))


def test_prepare_kinetics_400_and_600(server: Server, tmp_path: Path, clip_bytes: bytes) -> None:
    _kinetics_fake(server, clip_bytes)
    root = tmp_path / "data"
    k4 = importlib.import_module("prepare_k400")
    assert k4.main(["--root", str(root), "--base-url", server.url, "--no-progress"]) == 0
    ddir = root / "k400"
    names = read_label_file(ddir / "labels.csv")
    assert names == sorted(K400)
    train, val = read_list(ddir / "splits/train.txt"), read_list(ddir / "splits/val.txt")
    assert len(train) == 3 * 4 - 1 and len(val) == 2 * 4 - 1  # the taken-down clips
    for p, label in train + val:
        assert (ddir / "videos" / p).is_file()
        assert p.split("/")[1] == names[label].replace(" ", "_")
    assert not list((ddir / "_downloads" / "targz").rglob("*.tar.gz"))  # deleted after use
    check_protocol_views("k400", ddir, names, {1: train}, val)
    n = server.downloads()
    summary = kin.prepare_k400(root, show=False, base_url=server.url)
    assert server.downloads() == n and summary.downloaded == 0

    summary = kin.prepare_k600(root, show=False, base_url=server.url)
    k6 = root / "k600"
    assert summary.classes == len(K600_NEW) and summary.notes  # 170 != 220 is reported
    fetched = {p for p, _ in server.log if p.startswith("600/train/") and p.endswith(".tar.gz")}
    assert fetched == {f"600/train/{c}.tar.gz" for c in K600_NEW}  # K-400 classes skipped
    variants = {"vifi": ("splits", "train"), "openvclip": ("splits/openvclip", "val")}
    draws = {}
    for variant, (folder, source) in variants.items():
        for s in registry.SPLIT_IDS:
            labels = read_label_file(k6 / folder / f"labels_split{s}.csv")
            assert len(labels) == 160 and set(labels) <= set(K600_NEW) and labels == sorted(labels)
            items = read_list(k6 / folder / f"test_split{s}.txt")
            assert {labels[l] for _, l in items} == set(labels)
            for p, l in items:
                assert p.startswith(f"{source}/") and (k6 / "videos" / p).is_file()
                assert p.split("/")[1] == labels[l].replace(" ", "_")
            draws[(variant, s)] = tuple(labels)
    assert len(set(draws.values())) == 6  # every split and variant is its own draw
    paths = registry.get_split("k600", "zero_shot", split=2, subset="test", root=root)
    assert paths.list_file == k6 / "splits/test_split2.txt"
    assert paths.label_file == k6 / "splits/labels_split2.csv"
    n = server.downloads()
    kin.prepare_k600(root, show=False, base_url=server.url)
    assert server.downloads() == n
    # the same class draw again from scratch (seeded), using K-400 names from its CSV
    shutil.rmtree(root / "k400")
    again = tmp_path / "again"
    kin.prepare_k600(again, show=False, base_url=server.url)
    assert read_label_file(again / "k600/splits/labels_split1.csv") == list(draws[("vifi", 1)])


def test_zero_shot_class_arithmetic() -> None:
    assert kin.zero_shot_classes(["A b", "c_d", "e"], ["a B", "c d"]) == ["e"]
    with pytest.raises(C.PrepareError, match="need 160"):
        kin.draw_zero_shot_splits(["x"] * 10, 0, "vifi")


# ----------------------------------------------------------------------------- SSv2


SSV2_TEMPLATES = ["Approaching something with your camera", "Pushing something from left to right",
                  "Pushing something from right to left", "Putting something on a surface"]


def _ssv2_manual(manual: Path, clip: bytes, zipped_parts: bool = False) -> None:
    manual.mkdir(parents=True)
    entries = {"train": [], "validation": []}
    files = {}
    vid = 1000
    for split, n in (("train", 5), ("validation", 2)):
        for t in SSV2_TEMPLATES:
            for _ in range(n):
                vid += 1
                template = t.replace("something", "[something]", 1)
                entries[split].append({"id": str(vid), "label": t.lower(), "template": template,
                                       "placeholders": ["a cup"]})
                files[f"20bn-something-something-v2/{vid}.webm"] = clip
    blob = tar_gz(files)
    third = len(blob) // 3
    parts = [blob[:third], blob[third: 2 * third], blob[2 * third:]]
    for i, part in enumerate(parts):
        name = f"20bn-something-something-v2-{i:02d}"
        if zipped_parts:
            (manual / f"{name}.zip").write_bytes(zip_bytes({name: part}))
        else:
            (manual / name).write_bytes(part)
    labels = {t: str(i) for i, t in enumerate(SSV2_TEMPLATES)}
    (manual / "something-something-v2-labels.zip").write_bytes(zip_bytes({
        "labels/labels.json": json.dumps(labels).encode(),
        "labels/train.json": json.dumps(entries["train"]).encode(),
        "labels/validation.json": json.dumps(entries["validation"]).encode(),
    }))


def test_prepare_ssv2_explains_the_manual_download(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert ssv2.main(["--root", str(tmp_path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "by hand" in err and str(tmp_path / "ssv2" / "_manual") in err
    (tmp_path / "ssv2" / "_manual").mkdir(parents=True)
    assert ssv2.main(["--root", str(tmp_path), "--no-progress"]) == 2
    assert "no video parts" in capsys.readouterr().err


@pytest.mark.parametrize("zipped", [False, True])
def test_prepare_ssv2_from_manual_files(tmp_path: Path, clip_bytes: bytes, zipped: bool) -> None:
    root = tmp_path / "data"
    _ssv2_manual(root / "ssv2" / "_manual", clip_bytes, zipped_parts=zipped)
    assert ssv2.main(["--root", str(root), "--no-progress"]) == 0
    ddir = root / "ssv2"
    names = read_label_file(ddir / "labels.csv")
    assert names == SSV2_TEMPLATES
    train, val = read_list(ddir / "splits/train.txt"), read_list(ddir / "splits/val.txt")
    assert len(train) == 5 * 4 and len(val) == 2 * 4
    assert all((ddir / "videos" / p).is_file() for p, _ in train + val)
    entries = json.loads(zipfile.ZipFile(ddir / "_manual" / "something-something-v2-labels.zip")
                         .read("labels/train.json"))
    by_id = {e["id"]: e["template"].replace("[", "").replace("]", "") for e in entries}
    assert all(names[l] == by_id[p.split(".")[0]] for p, l in train)
    check_protocol_views("ssv2", ddir, names, {s: train for s in registry.SPLIT_IDS}, val)
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
    C.write_list(ddir / "splits/train_split1.txt", [("a/a0.avi", 0), ("b/b1.avi", 1)])
    C.write_list(ddir / "splits/few_shot/train_2shot_split1.txt", [("a/a2.avi", 0)])
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
    assert read_list(ddir / "splits/few_shot/train_2shot_split1.txt") == [("a/a2.mp4", 0)]
    summary = reenc.reencode(tmp_path, "hmdb51", show=False, ffmpeg=str(fake))
    assert "already" in summary.notes[0] and len(log.read_text().split()) == 5


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
