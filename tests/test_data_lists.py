"""tcclip.data.lists: the one reader and writer of annotation lists and label files."""
from __future__ import annotations

import json

import pytest

from tcclip.data import lists


def test_lists_round_trip_with_awkward_names(tmp_path):
    items = [("class a/clip 0.mp4", 0), ("b/#2_Gum_chew_h_nm_np1_fr_med_0.avi", 1), ("c.webm", 12)]
    path = lists.write_list(tmp_path / "deep" / "l.txt", items)
    assert path.read_text() == "class a/clip 0.mp4 0\nb/#2_Gum_chew_h_nm_np1_fr_med_0.avi 1\nc.webm 12\n"
    assert lists.read_list(path) == items
    assert [p.name for p in path.parent.iterdir()] == ["l.txt"]  # no temporary left behind
    lists.write_list(tmp_path / "empty.txt", [])
    assert lists.read_list(tmp_path / "empty.txt", allow_empty=True) == []
    with pytest.raises(ValueError, match="no entries"):
        lists.read_list(tmp_path / "empty.txt")
    (tmp_path / "bad.txt").write_text("a.mp4 0\nb.mp4 x\n")
    with pytest.raises(ValueError, match="bad.txt:2"):
        lists.read_list(tmp_path / "bad.txt")


def test_label_files_round_trip(tmp_path):
    names = ["Laying something on the table on its side, not upright", 'say "cheese"', "abseiling"]
    csv_path = lists.write_labels(tmp_path / "labels.csv", names)
    assert csv_path.read_text().splitlines()[0] == "id,name"
    assert lists.load_classnames(csv_path) == names
    json_path = lists.write_label_json(tmp_path / "labels_llm.json", ["Kick: a person kicks", "Kick ball: ..."])
    assert json.loads(json_path.read_text()) == {"0": "Kick: a person kicks", "1": "Kick ball: ..."}
    assert lists.load_classnames(json_path) == ["Kick: a person kicks", "Kick ball: ..."]


def test_base_novel_split_is_a_seeded_partition():
    base, novel = lists.base_novel_split(51, seed=3)
    assert len(base) == 25 and len(novel) == 26 and sorted(base + novel) == list(range(51))
    assert base == sorted(base) and (base, novel) == lists.base_novel_split(51, seed=3)
    assert base != lists.base_novel_split(51, seed=4)[0]


def test_remap_keeps_order_and_renumbers():
    items = [("a", 3), ("b", 1), ("c", 3), ("d", 0)]
    assert lists.remap(items, [3, 0]) == [("a", 0), ("c", 0), ("d", 1)]
