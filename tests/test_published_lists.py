"""The published protocol files: shipped intact, understood correctly, and written unchanged.

The comparison tests run the scripts' own list writer (``data_scripts/_common.write_protocol_lists``)
as if every video of the dataset were on disk, and compare each written list with the published
file line by line, undoing the name mapping with rules written here independently of
``tcclip.data.published`` (and checking the class folder each path lands in against the class
in the file name or in the label file). Any difference fails.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import importlib
import io
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path, PurePosixPath

import pytest

from tcclip.data import lists, published, registry

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "data_scripts"))
C = importlib.import_module("_common")


class CompleteCopy(published.VideoIndex):
    """A video index for a complete copy of a dataset: every listed video is there, under its listed name."""

    def __init__(self) -> None:
        super().__init__(Path("/nonexistent"))

    def resolve(self, relative: str) -> str | None:
        return relative


def raw_lines(release_file: str) -> list[tuple[str, int]]:
    """A published list parsed here by hand (``path label``, last field the label)."""
    text = gzip.decompress(published.shipped_path(release_file).read_bytes()).decode()
    out = []
    for line in text.split("\n"):
        if line.strip():
            path, label = line.rsplit(None, 1)
            out.append((path, int(label)))
    return out


def raw_names(release_file: str) -> list[str]:
    text = gzip.decompress(published.shipped_path(release_file).read_bytes()).decode()
    if release_file.endswith(".json"):
        data = json.loads(text)
        return [data[str(i)] for i in range(len(data))]
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["id", "name"] and [int(r[0]) for r in rows[1:]] == list(range(len(rows) - 1))
    return [r[1] for r in rows[1:]]


def hmdb_class(file_name: str) -> str:
    """HMDB-51's class from a clip name: ``<title>_<class>_<6 meta fields>.avi``."""
    return "_".join(Path(file_name).stem.split("_")[:-6])


HMDB_FOLDERS = sorted(n.replace(" ", "_") for n in raw_names("labels/hmdb_51_labels.csv"))


def unmap(dataset: str, written: str, label_name: str) -> str:
    """Project path -> published path, checking the class folder on the way."""
    parts = PurePosixPath(written).parts
    if dataset == "hmdb51":
        folder, name = parts
        stem = hmdb_class(name)
        assert stem.endswith(folder) and folder == max((f for f in HMDB_FOLDERS if stem.endswith(f)), key=len), written
        return name
    if dataset == "ucf101":
        folder, name = parts
        assert name.startswith("v_") and name[2:].rsplit("_", 2)[0].lower() == folder.lower(), written
        assert folder == label_name, written
        return name
    if dataset == "k400":
        split, folder, name = parts
        assert folder == label_name.replace(" ", "_").replace("'", "") and split in ("train", "val"), written
        return f"{split}/{name}"
    if dataset == "k600":
        split, folder, name = parts
        assert split == "test" and folder == label_name.replace(" ", "_").replace("'", ""), written
        return name
    assert len(parts) == 1 and re.fullmatch(r"\d+\.webm", written), written
    return written


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """What the scripts write for each dataset when every video is on disk."""
    out = {}
    for dataset in published.DATASETS:
        ddir = tmp_path_factory.mktemp(dataset)
        sizes, notes = C.write_protocol_lists(dataset, ddir, index=CompleteCopy())
        assert not notes  # nothing missing, nothing redrawn
        out[dataset] = ddir
    return out


# ----------------------------------------------------------------------------- the shipped files


def test_shipped_files_are_the_release_files() -> None:
    manifest = json.loads((published.PUBLISHED_DIR / "MANIFEST.json").read_text())
    assert manifest["commit"] == published.SOURCE_COMMIT and "CC BY-NC 4.0" in manifest["license"]
    assert sorted(manifest["files"]) == published.shipped_files()
    for name, entry in manifest["files"].items():
        data = gzip.decompress(published.shipped_path(name).read_bytes())
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["bytes"], name
    on_disk = sorted(p.relative_to(published.PUBLISHED_DIR).as_posix()[:-3]
                     for p in published.PUBLISHED_DIR.rglob("*.gz"))
    assert on_disk == published.shipped_files()  # only what the protocols use
    notice = (published.PUBLISHED_DIR / "NOTICE.md").read_text()
    assert published.SOURCE_COMMIT in notice and "CC BY-NC 4.0" in notice and published.SOURCE_REPOSITORY in notice


@pytest.mark.skipif(not os.environ.get("TCCLIP_REFERENCE_RELEASE"),
                    reason="set TCCLIP_REFERENCE_RELEASE to a checkout of the reference release to compare bytes")
def test_shipped_files_equal_a_checkout_of_the_release() -> None:
    release = Path(os.environ["TCCLIP_REFERENCE_RELEASE"])
    for name in published.shipped_files():
        assert gzip.decompress(published.shipped_path(name).read_bytes()) == (release / name).read_bytes(), name


def test_a_damaged_copy_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = "labels/hmdb_51_labels.csv"
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels/hmdb_51_labels.csv.gz").write_bytes(gzip.compress(b"id,name\n0,brush hair\n"))
    (tmp_path / "MANIFEST.json").write_text((published.PUBLISHED_DIR / "MANIFEST.json").read_text())
    monkeypatch.setattr(published, "PUBLISHED_DIR", tmp_path)
    published.read_text.cache_clear()
    published.manifest.cache_clear()
    try:
        with pytest.raises(ValueError, match="sha256"):
            published.read_text(name)
    finally:
        published.read_text.cache_clear()
        published.manifest.cache_clear()


def test_package_data_ships_the_files() -> None:
    import tomllib

    data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["tcclip"]
    assert "data/published_files/**/*.gz" in data and "data/published_files/MANIFEST.json" in data


# ----------------------------------------------------------------------------- what the lines mean


def test_hmdb_ids_index_the_sorted_class_folders() -> None:
    """Every HMDB-51 clip's class (from its name) is the sorted folder its id names; the CSV label
    files swap two pairs of names relative to that, the LLM files do not."""
    for entry in published.PUBLISHED_LISTS["hmdb51"]:
        folders = sorted(n.replace(" ", "_") for n in raw_names(entry.labels))
        for path, label in raw_lines(entry.file):
            assert hmdb_class(path).endswith(folders[label]), (entry.file, path, label)
            assert max((f for f in HMDB_FOLDERS if hmdb_class(path).endswith(f)), key=len) == folders[label]
    assert published.label_order_mismatches("hmdb51", "labels/hmdb_51_labels.csv") == [
        (20, "kick ball", "kick"), (21, "kick", "kick_ball"), (44, "sword exercise", "sword"),
        (45, "sword", "sword_exercise")]
    llm = raw_names("labels/labels_froster/hmdb_51_llm_labels.json")
    assert llm[20].startswith("Kick:") and llm[21].startswith("Kick ball:") and llm[44].startswith("Sword:")
    for dataset in ("ucf101", "k400", "k600", "ssv2"):
        for labels in published.PUBLISHED_LABELS[dataset]:
            if labels.file.endswith(".csv"):
                assert published.label_order_mismatches(dataset, labels.file) == [], labels.file


def test_ucf_ids_index_the_label_file() -> None:
    for entry in published.PUBLISHED_LISTS["ucf101"]:
        names = raw_names(entry.labels)
        for path, label in raw_lines(entry.file):
            assert path[2:].rsplit("_", 2)[0].lower() == names[label].lower(), (entry.file, path)


@pytest.mark.parametrize("dataset,reference", [("k400", "datasets_splits/k400_splits/val.txt"),
                                               ("ssv2", "datasets_splits/ssv2_splits/validation.txt")])
def test_subset_lists_agree_with_the_full_evaluation_list(dataset: str, reference: str) -> None:
    """A clip in a base / novel / temporal / static evaluation list has the class it has in the full list."""
    full_names = raw_names(published.PUBLISHED_LABELS[dataset][0].file)
    full = {path: full_names[label] for path, label in raw_lines(reference)}
    checked = 0
    for entry in published.PUBLISHED_LISTS[dataset]:
        if entry.view.endswith(("test/base", "test/novel")) or entry.view in ("temporal/test", "static/test"):
            names = raw_names(entry.labels)
            for path, label in raw_lines(entry.file):
                assert full[path] == names[label], (entry.file, path)
                checked += 1
    assert checked > 10_000


def test_k600_splits_are_160_new_classes_of_test_set_clips() -> None:
    k400 = set(raw_names("labels/kinetics_400_labels.csv"))
    clip_class: dict[str, str] = {}
    for entry in published.PUBLISHED_LISTS["k600"]:
        names = raw_names(entry.labels)
        assert len(names) == 160 and names == sorted(names) and not set(names) & k400
        items = raw_lines(entry.file)
        assert {label for _, label in items} == set(range(160))
        for path, label in items:
            folder, name = path.split("/")
            assert folder in ("train", "val", "test") and re.fullmatch(r".{11}_\d{6}_\d{6}\.mp4", name), path
            assert clip_class.setdefault(name, names[label]) == names[label]  # one class per clip in all splits
        assert len({path.split("/")[1] for path, _ in items}) == len(items)  # no clip twice


# ----------------------------------------------------------------------------- the comparison


@pytest.mark.parametrize("dataset", published.DATASETS)
def test_written_lists_equal_the_published_lists(written: dict[str, Path], dataset: str) -> None:
    ddir = written[dataset]
    compared = 0
    for entry in published.PUBLISHED_LISTS[dataset]:
        names = raw_names(entry.labels)
        lines = lists.read_list(ddir / entry.target)
        expected = raw_lines(entry.file)
        assert len(lines) == len(expected), entry.name
        for i, ((path, label), (want_path, want_label)) in enumerate(zip(lines, expected, strict=True)):
            assert label == want_label, (entry.name, i)
            back = unmap(dataset, path, names[label])
            if dataset == "k600":  # the published folder is the authors' copy's; every clip is a test-set clip
                want_path = PurePosixPath(want_path).name
            if want_path.startswith("replacement/replacement_for_corrupted_k400/"):  # CVDF's copy of a train clip
                want_path = "train/" + PurePosixPath(want_path).name
            assert back == want_path, (entry.name, i)
        compared += 1
    assert compared == len(published.PUBLISHED_LISTS[dataset])
    # the registry finds every written list where the loaders will look
    for entry in published.PUBLISHED_LISTS[dataset]:
        assert (ddir / entry.target).is_file()


@pytest.mark.parametrize("dataset", published.DATASETS)
def test_written_label_files_equal_the_published_label_files(written: dict[str, Path], dataset: str) -> None:
    for labels in published.PUBLISHED_LABELS[dataset]:
        assert lists.load_classnames(written[dataset] / labels.target) == raw_names(labels.file), labels.file


def test_get_split_serves_the_published_views(written: dict[str, Path]) -> None:
    for ddir in written.values():
        os.makedirs(ddir / "videos", exist_ok=True)
    env = {registry.DATASET_SPECS[d].env_var: str(p) for d, p in written.items()}
    cases = [("hmdb51", dict(protocol="zero_shot", split=2, subset="test"), "hmdb_splits/val2.txt",
              "labels/hmdb_51_labels.csv"),
             ("ucf101", dict(protocol="few_shot", shots=8), "ucf_splits/train1_few_shot_8.txt",
              "labels/ucf_101_labels.csv"),
             ("ucf101", dict(protocol="base2novel", subset="test", classes="novel", label_source="llm"),
              "ucf_splits/novel_val.txt", "labels_froster/ucf_101_novel_llm_labels.json"),
             ("k400", dict(protocol="base2novel", split=3), "k400_splits/fs_base_s3_train.txt",
              "labels/kinetics_400_base_labels.csv"),
             ("k400", dict(protocol="temporal", subset="test"), "val_temporal32.txt", "kinetics_400_temporal32_labels"),
             ("k600", dict(protocol="zero_shot", split=3, subset="test", label_source="llm"), "ZS_split3_K600_eval",
              "ZS_split3_K600_llm.json"),
             ("ssv2", dict(protocol="few_shot", shots=16, subset="test"), "ssv2_splits/validation.txt",
              "labels/ssv2_labels.csv"),
             ("ssv2", dict(protocol="static"), "train_static16.txt", "ssv2_static16_labels.csv")]
    for dataset, kwargs, list_file, label_file in cases:
        paths = registry.get_split(dataset, environ=env, **kwargs)
        entry = next(e for e in published.PUBLISHED_LISTS[dataset] if e.target ==
                     paths.list_file.relative_to(written[dataset]).as_posix())
        assert entry.file.endswith(list_file) or list_file in entry.file, (dataset, kwargs)
        label = next(x for x in published.PUBLISHED_LABELS[dataset] if x.target ==
                     paths.label_file.relative_to(written[dataset]).as_posix())
        assert label_file in label.file, (dataset, kwargs)


def test_published_counts() -> None:
    """The sizes the book quotes, straight from the files (and what a complete copy gets)."""
    rows = {(r["dataset"], r["view"]): r for r in published.count_rows()}
    assert rows[("hmdb51", "standard/test split 1")]["clips"] == 1530
    assert rows[("ucf101", "standard/test split 1")]["clips"] == 3783
    assert rows[("k400", "standard/test")]["clips"] == 19877
    assert rows[("ssv2", "standard/test")]["clips"] == 24777
    assert [rows[("k600", f"zero_shot/test split {s}")]["clips"] for s in (1, 2, 3)] == [14084, 13978, 14136]
    for dataset in ("hmdb51", "ucf101", "ssv2"):
        n = rows[(dataset, "standard/test" + (" split 1" if dataset != "ssv2" else ""))]["classes"]
        for k in registry.FEW_SHOT_SHOTS:
            assert rows[(dataset, f"few_shot/train K={k}")]["clips"] == k * n
    for row in rows.values():
        assert row["classes"] == row["label-file classes"], row


def test_book_pages_carry_the_generated_count_table() -> None:
    table = published.count_table()
    assert table in (REPO / "book" / "datasets.md").read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- redraws and imports


def test_redraw_is_explicit_seeded_and_keeps_the_published_evaluation(tmp_path: Path) -> None:
    train = [(f"{folder}/{folder}_clip_{i}.avi", c) for c, folder in enumerate(HMDB_FOLDERS) for i in range(40)]
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for ddir, seed in ((a, 3), (b, 3), (c, 4)):
        sizes, notes = C.write_protocol_lists("hmdb51", ddir, train, redraw_seed=seed, index=CompleteCopy())
        assert any("redrawn with seed" in n for n in notes)
    few = "splits/few_shot/train_4shot.txt"
    assert (a / few).read_text() == (b / few).read_text() != (c / few).read_text()
    drawn = lists.read_list(a / few)
    assert set(drawn) <= set(train) and Counter(label for _, label in drawn) == {i: 4 for i in range(51)}
    base = lists.read_list(a / "splits/base2novel/train_base_s1.txt")
    base_names = [HMDB_FOLDERS[i] for i in C.base_class_ids("hmdb51")]
    assert Counter(label for _, label in base) == {i: 16 for i in range(26)}
    assert all(path.split("/")[0] == base_names[label] for path, label in base)
    assert lists.read_list(a / "splits/test_split1.txt") == lists.read_list(c / "splits/test_split1.txt")
    assert len(lists.read_list(a / "splits/base2novel/val_novel.txt")) == 750


def test_the_data_scripts_do_not_import_torch() -> None:
    code = ("import sys; sys.path.insert(0, 'data_scripts')\n"
            "import prepare_hmdb51, prepare_ucf101, prepare_k400, prepare_k600, prepare_ssv2, reencode\n"
            "from tcclip.data import published, lists, registry\n"
            "published.mapped_items(published.PUBLISHED_LISTS['k600'][0])\n"
            "heavy = sorted(m for m in ('torch', 'numpy', 'torchvision', 'open_clip') if m in sys.modules)\n"
            "assert not heavy, heavy\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
