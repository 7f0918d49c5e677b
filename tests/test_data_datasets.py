"""VideoDataset: list / label parsing, sampled frames, views, and the bad-input policy."""
from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from tcclip.data.datasets import (
    TooManyCorruptVideosError,
    VideoDataset,
    load_classnames,
    parse_annotation_list,
)
from tcclip.data.decoding import write_video
from tcclip.data.sampling import test_view_indices
from tcclip.data.transforms import CLIP_MEAN, CLIP_STD

HEIGHT, WIDTH, SIZE = 24, 32, 16
LEVEL_STEP, LEVEL_OFFSET = 8, 4  # frame i is a flat grey of LEVEL_OFFSET + LEVEL_STEP * i


def grey_ramp(num_frames: int) -> np.ndarray:
    levels = LEVEL_OFFSET + LEVEL_STEP * np.arange(num_frames)
    return np.broadcast_to(levels[:, None, None, None], (num_frames, HEIGHT, WIDTH, 3)).astype(np.uint8)


def frame_numbers(video: torch.Tensor) -> list[int]:
    """Recovers which source frame each output frame is, from its grey level."""
    red = video[..., 0, :, :].mean(dim=(-2, -1)) * CLIP_STD[0] + CLIP_MEAN[0]
    return ((red * 255 - LEVEL_OFFSET) / LEVEL_STEP).round().long().flatten().tolist()


def write_labels(path, names):
    path.write_text("id,name\n" + "".join(f"{i},{n}\n" for i, n in enumerate(names)))
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("dataset")
    videos = root / "videos"
    # "#2_Gum..." is a real HMDB-51 name: a leading "#" is part of the path, not a comment
    entries = [("class a/clip 0.mp4", 0, 20), ("class a/#clip1.mp4", 0, 20), ("b/c2.mp4", 1, 17),
               ("b/short.mp4", 1, 5), ("c/c4.mp4", 2, 30), ("c/c5.mp4", 2, 20)]
    for rel, _, frames in entries:
        write_video(videos / rel, grey_ramp(frames))
    (videos / "bad").mkdir()
    (videos / "bad" / "empty.mp4").write_bytes(b"")
    (videos / "bad" / "junk.mp4").write_bytes(b"garbage" * 64)
    lines = ["", "  "] + [f"{rel} {label}" for rel, label, _ in entries]
    good = root / "good.txt"
    good.write_text("\n".join(lines) + "\n")
    labels = write_labels(root / "labels.csv", ["archery", "bowling, ten-pin", "cooking"])
    return {"root": root, "videos": videos, "good": good, "labels": labels, "entries": entries}


def test_reference_lists_load_including_paths_with_spaces(world):
    records = parse_annotation_list(world["good"])
    assert [(r.path, r.label) for r in records] == [(rel, label) for rel, label, _ in world["entries"]]
    assert records[0].line_number == 3  # blank lines skipped but counted


def test_classnames_from_csv_keep_commas(world):
    assert load_classnames(world["labels"]) == ["archery", "bowling, ten-pin", "cooking"]


@pytest.mark.parametrize("content", [
    {"0": "Archery: shooting arrows", "2": "Cook", "1": "Bowl"},
    ["Archery: shooting arrows", "Bowl", "Cook"],
    [{"id": 1, "name": "Bowl"}, {"id": 0, "name": "Archery: shooting arrows"}, {"id": 2, "name": "Cook"}],
    {"0": ["Archery: shooting arrows", "an alternative"], "1": ["Bowl"], "2": "Cook"},
    {"archery": "Archery: shooting arrows", "bowling": ["Bowl"], "cooking": "Cook"},
])
def test_classnames_from_llm_json_variants(tmp_path, content):
    path = tmp_path / "llm.json"
    path.write_text(json.dumps(content))
    assert load_classnames(path) == ["Archery: shooting arrows", "Bowl", "Cook"]


@pytest.mark.parametrize("text,message", [
    ("id,name\n0,a\n0,b\n", "appears twice"),
    ("id,name\n0,a\n2,b\n", "not contiguous"),
    ("name,id\na,0\n", "header"),
    ("id,name\nx,a\n", "not an integer"),
    ("id,name\n", "no classes"),
])
def test_bad_label_csv_is_a_clear_error(tmp_path, text, message):
    path = tmp_path / "labels.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as info:
        load_classnames(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("line,message", [
    ("onlyapath.mp4", "expected 'path label_id'"),
    ("a.mp4 seven", "not an integer"),
    ("a.mp4 -1", "negative label"),
])
def test_unparsable_list_lines_name_file_and_line(world, tmp_path, line, message):
    path = tmp_path / "list.txt"
    path.write_text(f"class a/clip1.mp4 0\n{line}\n")
    with pytest.raises(ValueError, match=message) as info:
        VideoDataset(path, world["videos"], world["labels"], num_frames=4, size=SIZE)
    assert f"{path}:2" in str(info.value)


def test_label_out_of_range_names_file_and_line(world, tmp_path):
    path = tmp_path / "list.txt"
    path.write_text("class a/clip1.mp4 0\nb/c2.mp4 3\n")
    with pytest.raises(ValueError, match="out of range") as info:
        VideoDataset(path, world["videos"], world["labels"], num_frames=4, size=SIZE)
    assert f"{path}:2" in str(info.value) and str(world["labels"]) in str(info.value)


def test_class_file_with_too_few_classes_is_rejected(world, tmp_path):
    labels = write_labels(tmp_path / "two.csv", ["archery", "bowling"])
    with pytest.raises(ValueError, match="3 classes|2 classes"):
        VideoDataset(world["good"], world["videos"], labels, num_frames=4, size=SIZE)


def test_missing_files_fail_at_construction(world, tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        VideoDataset(tmp_path / "nope.txt", world["videos"], world["labels"])
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        VideoDataset(world["good"], world["videos"], tmp_path / "nope.csv")
    with pytest.raises(FileNotFoundError, match="not a directory"):
        VideoDataset(world["good"], tmp_path / "novideos", world["labels"])


def test_train_sample_shape_and_frames_in_order(world):
    dataset = VideoDataset(world["good"], world["videos"], world["labels"], num_frames=8, size=SIZE, mode="train")
    assert len(dataset) == 6 and dataset.num_classes == 3
    torch.manual_seed(0)
    sample = dataset[4]
    assert sample["video"].shape == (8, 3, SIZE, SIZE) and sample["video"].dtype == torch.float32
    assert sample["label"] == 2 and sample["index"] == 4 and sample["skipped"] == 0


def test_test_sample_holds_every_view_with_the_planned_frames(world):
    dataset = VideoDataset(world["good"], world["videos"], world["labels"], num_frames=8, size=SIZE,
                           mode="test", num_clips=2, num_crops=3)
    sample = dataset[4]  # c/c4.mp4, 30 frames
    video = sample["video"]
    assert video.shape == (6, 8, 3, SIZE, SIZE)
    planned = test_view_indices(30, 8, 2)
    for clip in range(2):
        for crop in range(3):
            assert frame_numbers(video[clip * 3 + crop]) == planned[clip].tolist()
    assert torch.equal(video, dataset[4]["video"])  # test views are deterministic


def test_short_video_repeats_frames(world):
    dataset = VideoDataset(world["good"], world["videos"], world["labels"], num_frames=8, size=SIZE, mode="test")
    video = dataset[3]["video"]  # b/short.mp4, 5 frames
    assert video.shape == (1, 8, 3, SIZE, SIZE)
    numbers = frame_numbers(video[0])
    assert sorted(set(numbers)) == [0, 1, 2, 3, 4] and numbers == sorted(numbers)


def test_class_names_can_be_given_directly(world):
    dataset = VideoDataset(world["good"], world["videos"], ["a", "b", "c"], num_frames=4, size=SIZE)
    assert dataset.classnames == ["a", "b", "c"]


def make_list(tmp_path, world, bad_entries: int, good_repeats: int = 1):
    lines = [f"{rel} {label}" for rel, label, _ in world["entries"]] * good_repeats
    bad = ["bad/empty.mp4 0", "bad/junk.mp4 1", "bad/missing.mp4 2"]
    lines += [bad[i % 3] for i in range(bad_entries)]
    path = tmp_path / f"list_{bad_entries}.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_corrupt_video_is_skipped_deterministically_logged_and_counted(world, tmp_path, caplog):
    path = make_list(tmp_path, world, bad_entries=1)
    bad_index = 6
    first = VideoDataset(path, world["videos"], world["labels"], num_frames=4, size=SIZE, mode="test",
                         max_skip_rate=1.0, seed=3)
    with caplog.at_level(logging.WARNING, logger="tcclip.data"):
        sample = first[bad_index]
    assert sample["skipped"] == 1 and sample["index"] == bad_index
    assert "bad/empty.mp4" in caplog.text
    assert first.skip_stats()["skipped"] == 1 and first.skip_stats()["tried"] == 2
    assert first.skip_stats()["paths"][0].endswith("bad/empty.mp4")
    # the replacement is a real, different video, the same in a fresh copy with the same seed
    second = VideoDataset(path, world["videos"], world["labels"], num_frames=4, size=SIZE, mode="test",
                          max_skip_rate=1.0, seed=3)
    again = second[bad_index]
    assert torch.equal(sample["video"], again["video"]) and sample["label"] == again["label"]
    replacements = set()
    for seed in range(8):
        other = VideoDataset(path, world["videos"], world["labels"], num_frames=4, size=SIZE, mode="test",
                             max_skip_rate=1.0, seed=seed)
        replacements.add(other._replacement_index(bad_index, 0))
    assert bad_index not in replacements and len(replacements) > 1


def test_too_many_skips_raise_a_clear_error(world, tmp_path):
    path = make_list(tmp_path, world, bad_entries=6, good_repeats=4)  # 24 good, 6 bad
    dataset = VideoDataset(path, world["videos"], world["labels"], num_frames=4, size=SIZE, mode="test",
                           max_skip_rate=0.05, min_samples_for_skip_check=20)
    with pytest.raises(TooManyCorruptVideosError, match="max_skip_rate"):
        for index in range(len(dataset)):
            dataset[index]
    assert dataset.videos_tried >= 20  # it waited for enough evidence


def test_few_skips_are_tolerated(world, tmp_path):
    path = make_list(tmp_path, world, bad_entries=1, good_repeats=4)  # 24 good, 1 bad
    dataset = VideoDataset(path, world["videos"], world["labels"], num_frames=4, size=SIZE, mode="test",
                           max_skip_rate=0.05, min_samples_for_skip_check=20)
    total = sum(dataset[i]["skipped"] for i in range(len(dataset)))
    assert total == 1 and dataset.skip_stats()["skipped"] == 1


def test_skip_counts_survive_dataloader_workers(world, tmp_path):
    path = make_list(tmp_path, world, bad_entries=3)  # 6 good + empty, junk, missing
    dataset = VideoDataset(path, world["videos"], world["labels"], num_frames=4, size=SIZE, mode="train",
                           max_skip_rate=1.0)
    loader = DataLoader(dataset, batch_size=3, num_workers=2)
    skipped, seen_labels = 0, []
    for batch in loader:
        assert batch["video"].shape == (3, 4, 3, SIZE, SIZE)
        skipped += int(batch["skipped"].sum())
        seen_labels += batch["label"].tolist()
    # replacements are drawn from the seed, so a single-process pass skips exactly as often
    # (a replacement can itself be one of the bad files, hence >= 3)
    in_process = VideoDataset(path, world["videos"], world["labels"], num_frames=4, size=SIZE, mode="train",
                              max_skip_rate=1.0)
    expected = sum(in_process[i]["skipped"] for i in range(len(in_process)))
    assert skipped == expected == in_process.videos_skipped and skipped >= 3 and len(seen_labels) == 9
    assert dataset.videos_skipped == 0  # the parent's copy never decoded: workers must report
