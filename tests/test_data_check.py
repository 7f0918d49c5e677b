"""check_dataset: finds missing, empty, corrupt files and label problems; writes reports."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tcclip.cli.check import main
from tcclip.data.check import check_dataset
from tcclip.data.decoding import write_video


def clip(num_frames: int, height: int = 24, width: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (num_frames, height, width, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("check")
    videos = root / "videos"
    write_video(videos / "a/one.mp4", clip(12))
    write_video(videos / "b/two words.mp4", clip(20, height=32, width=24, seed=1))
    write_video(videos / "b/short.mp4", clip(4, seed=2))
    write_video(videos / "unlisted.mp4", clip(3, seed=3))
    (videos / "a/empty.mp4").write_bytes(b"")
    (videos / "a/broken.mp4").write_bytes(b"\x00\x01garbage" * 40)
    labels = root / "labels.csv"
    labels.write_text("id,name\n0,alpha\n1,beta\n2,gamma\n")
    good = root / "good.txt"
    good.write_text("a/one.mp4 0\nb/two words.mp4 1\nb/short.mp4 1\n")
    bad = root / "bad.txt"
    bad.write_text("a/one.mp4 0\na/empty.mp4 0\na/broken.mp4 1\na/gone.mp4 1\nb/short.mp4 5\na/one.mp4 0\n")
    return {"root": root, "videos": videos, "labels": labels, "good": good, "bad": bad}


def test_clean_dataset_passes_with_statistics(dataset, tmp_path):
    report = check_dataset(dataset["good"], dataset["videos"], dataset["labels"], num_workers=2, num_frames=8,
                           report_path=tmp_path / "report")
    assert report["ok"] is True
    assert report["num_entries"] == 3 and report["decodable"] == 3
    assert report["frame_counts"] == {"min": 4, "median": 12, "max": 20, "mean": 12.0}
    assert report["heights"]["max"] == 32 and report["widths"]["min"] == 24
    assert report["shorter_than_num_frames"]["count"] == 1
    assert report["classes_without_videos"] == ["gamma"]
    assert report["unlisted_video_files"] == 3  # unlisted.mp4, and empty / broken (in bad.txt only)
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["ok"] is True and saved["num_entries"] == 3
    assert "verdict:     OK" in (tmp_path / "report.txt").read_text()


def test_every_problem_is_reported(dataset):
    report = check_dataset(dataset["bad"], dataset["videos"], dataset["labels"], num_workers=2)
    assert report["ok"] is False
    assert [item["path"].split("/")[-1] for item in report["missing"]] == ["gone.mp4"]
    assert [item["path"].split("/")[-1] for item in report["empty"]] == ["empty.mp4"]
    assert [item["line"] for item in report["corrupt"]] == [3]
    assert len(report["label_errors"]) == 1 and ":5:" in report["label_errors"][0]
    assert report["duplicates"] == ["a/one.mp4"]
    # 3 of 6 entries do not decode: over a 5 % limit, a run on this list would stop
    assert report["unreadable"] == {"count": 3, "of": 6, "fraction": 0.5, "max_skip_rate": 0.05, "allowed": 0,
                                    "over_limit": True}
    from tcclip.data.check import format_report

    assert "unreadable:  3 of 6 (50.0%)" in format_report(report) and "STOP" in format_report(report)


def test_repeated_class_names_fail_the_check(dataset, tmp_path):
    """A duplicate class name used to pass `check` with the verdict OK (issue 12)."""
    labels = tmp_path / "labels.csv"
    labels.write_text("id,name\n0,alpha\n1,beta\n2,Alpha\n")
    report = check_dataset(dataset["good"], dataset["videos"], labels, num_workers=1)
    assert report["ok"] is False and "'alpha' is class 0 (line 2) and class 2 (line 4)" in report["label_errors"][0]


def test_check_says_whether_a_run_would_stop(dataset):
    report = check_dataset(dataset["bad"], dataset["videos"], dataset["labels"], num_workers=1, max_skip_rate=0.5)
    assert report["unreadable"]["allowed"] == 3 and report["unreadable"]["over_limit"] is False


def test_unreadable_text_files_are_reported_not_raised(dataset, tmp_path):
    broken_list = tmp_path / "list.txt"
    broken_list.write_text("a/one.mp4 zero\n")
    report = check_dataset(broken_list, dataset["videos"], tmp_path / "absent.csv")
    assert report["ok"] is False and report["list_errors"] and report["label_errors"]


def test_cli_exit_status_and_outputs(dataset, tmp_path, capsys):
    out = tmp_path / "cli"
    status = main([str(dataset["good"]), str(dataset["videos"]), str(dataset["labels"]), "--out", str(out),
                   "--workers", "1"])
    assert status == 0 and (tmp_path / "cli.json").exists() and (tmp_path / "cli.txt").exists()
    assert "verdict" in capsys.readouterr().out
    assert main([str(dataset["bad"]), str(dataset["videos"]), str(dataset["labels"]), "--out", str(out)]) == 1


def test_cli_resolves_registered_datasets(dataset, tmp_path):
    root = tmp_path / "data"
    (root / "synthetic").mkdir(parents=True)
    (root / "synthetic/videos").symlink_to(dataset["videos"])
    (root / "synthetic/labels.csv").write_text(dataset["labels"].read_text())
    (root / "synthetic/val.txt").write_text(dataset["good"].read_text())
    status = main(["--dataset", "synthetic", "--subset", "val", "--root", str(root), "--out", str(tmp_path / "r")])
    assert status == 0
    assert json.loads((tmp_path / "r.json").read_text())["list_file"].endswith("synthetic/val.txt")


def test_published_lists_are_counted_against_the_disk(tmp_path, capsys):
    """`check --published`: per published list, how many entries are on disk, and a few that are not."""
    from tcclip.data import published
    from tcclip.data.check import check_published

    videos = tmp_path / "hmdb51" / "videos"
    val1 = published.mapped_items(published.find_list("hmdb51", "standard/test", split=1))
    present = val1[:3]
    for i, (path, _) in enumerate(present):
        target = videos / path
        if i == 1:  # re-encoded copy: another extension
            target = target.with_suffix(".mp4")
        if i == 2:  # another letter case
            target = target.with_name(target.name.upper())
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"")
    rows = {row["list"]: row for row in check_published("hmdb51", root=tmp_path, examples=2)}
    assert len(rows) == len(published.PUBLISHED_LISTS["hmdb51"])
    split1 = rows["hmdb51 standard/test split 1"]
    assert (split1["entries"], split1["resolved"]) == (1530, 3)
    names = published.read_items("datasets_splits/hmdb_splits/val1.txt")
    assert split1["missing"] == [(names[i][0], val1[i][0]) for i in (3, 4)]  # examples=2
    assert split1["file"] == "datasets_splits/hmdb_splits/val1.txt" and split1["target"] == "splits/test_split1.txt"
    assert rows["hmdb51 few_shot/train K=2"]["resolved"] == 0
    status = main(["--dataset", "hmdb51", "--published", "--root", str(tmp_path), "--out", str(tmp_path / "pub")])
    assert status == 1
    out = capsys.readouterr().out
    assert "hmdb51 standard/test split 1" in out and "3 / 1530" in out and "not found:" in out
    assert json.loads((tmp_path / "pub.json").read_text())[0]["entries"] == 1530
    with pytest.raises(ValueError, match="no published protocol lists"):
        check_published("synthetic", root=tmp_path)


def test_check_counts_pixel_formats_and_flags_backend_dependent_ones(dataset, tmp_path):
    """10-bit 4:2:0 video decodes to slightly different colours with decord and PyAV: check says which videos."""
    import av

    from tcclip.data.check import format_report

    videos = tmp_path / "videos"
    write_video(videos / "eight.mp4", clip(6, height=32, width=32))
    try:
        write_video(videos / "ten.mp4", clip(6, height=32, width=32), pix_fmt="yuv420p10le")
    except av.error.FFmpegError:
        pytest.skip("PyAV's libx264 cannot write 10-bit video here")
    listed = tmp_path / "list.txt"
    listed.write_text("eight.mp4 0\nten.mp4 1\n")
    report = check_dataset(listed, videos, dataset["labels"], num_workers=1)
    assert report["ok"] is True
    assert report["pixel_formats"] == {"yuv444p": 1, "yuv420p10le": 1}  # write_video: 4:4:4 by default
    assert report["backend_dependent_pixels"] == {"count": 1, "examples": ["ten.mp4"]}
    assert "1 videos have more than 8 bits and subsampled chroma" in format_report(report)


def test_check_names_videos_cut_short(dataset, tmp_path):
    """A download cut in its frame data loads (the last decoded frame repeats) but check names it."""
    from tcclip.data.check import format_report

    videos = tmp_path / "videos"
    whole = write_video(videos / "whole.mp4", clip(30, height=48, width=64), pix_fmt="yuv420p",
                        container_options={"movflags": "faststart"})
    data = whole.read_bytes()
    (videos / "cut.mp4").write_bytes(data[: int(len(data) * 0.6)])
    listed = tmp_path / "list.txt"
    listed.write_text("whole.mp4 0\ncut.mp4 1\n")
    report = check_dataset(listed, videos, dataset["labels"], num_workers=1)
    assert report["ok"] is True and report["decodable"] == 2
    (short,) = report["decode_short"]
    assert short["path"].endswith("cut.mp4") and short["line"] == 2 and short["frames_in_header"] == 30
    assert 0 < short["frames_decoded"] < 30
    assert "1 videos decode fewer frames than their header says" in format_report(report)
