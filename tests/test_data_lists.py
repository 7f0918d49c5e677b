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


def test_label_file_line_ends(tmp_path):
    names = ["a ring", "say, \"cheese\""]
    unix = lists.write_labels(tmp_path / "n.csv", names).read_bytes()
    crlf = lists.write_labels(tmp_path / "rn.csv", names, lineterminator="\r\n").read_bytes()
    assert unix == b'id,name\n0,a ring\n1,"say, ""cheese"""\n'
    assert crlf == unix.replace(b"\n", b"\r\n")  # the synthetic world's label files
    assert lists.load_classnames(tmp_path / "rn.csv") == lists.load_classnames(tmp_path / "n.csv") == names


def test_few_shot_drawn_asks_the_sampler_only_for_classes_with_more_than_k():
    items = [(f"c{c}/v{i}.mp4", c) for c in (2, 0, 1) for i in range(5 if c else 3)]
    asked = []

    def last_k(indices, k):  # a deterministic "draw": the class's last k items
        asked.append((items[indices[0]][1], len(indices), k))
        return indices[-k:]

    picked = lists.few_shot_drawn(items, 3, last_k, num_classes=3)
    assert asked == [(1, 5, 3), (2, 5, 3)]  # in label order; class 0 has 3 items, kept whole
    assert picked == [items[i] for i in (2, 3, 4, 5, 6, 7, 10, 11, 12)]  # list order kept
    assert lists.few_shot(items, 3, seed=4) == lists.few_shot(items, 3, seed=4)
    with pytest.raises(ValueError, match="4-shot needs 4 items of class 0"):
        lists.few_shot_drawn(items, 4, last_k, short_classes="error")


def test_remap_keeps_order_and_renumbers():
    items = [("a", 3), ("b", 1), ("c", 3), ("d", 0)]
    assert lists.remap(items, [3, 0]) == [("a", 0), ("c", 0), ("d", 1)]


# ----------------------------------------------------------------------------- malformed files (issue 12)


@pytest.mark.parametrize("name,text,where", [
    ("labels.csv", "id,name\n0,run\n1,jump\n2,run\n", ["'run' is class 0 (line 2) and class 2 (line 4)"]),
    ("labels.csv", "id,name\n0,Run\n1,jump\n2,run  \n", ["class 0 (line 2) and class 2 (line 4)"]),  # as CLIP reads them
    ("labels.txt", "run\njump\nrun\nswim\njump\n", ["'run' is class 0 (line 1) and class 2 (line 3)",
                                                   "'jump' is class 1 (line 2) and class 4 (line 5)"]),
    ("labels.json", '{"0": "run", "1": "run"}', ["class 0 (key '0') and class 1 (key '1')"]),
    ("labels.json", '["run", "jump", "run"]', ["class 0 (entry 0) and class 2 (entry 2)"]),
    ("labels.json", '{"running": "a person runs", "jogging": "a person runs"}',
     ["class 0 (key 'running') and class 1 (key 'jogging')"]),
])
def test_repeated_class_names_are_an_error_naming_them(tmp_path, name, text, where):
    """Two classes with one name passed eval and check (issue 12); the text encoder cannot tell them apart."""
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ValueError, match="class names repeat") as info:
        lists.load_classnames(path)
    assert str(path) in str(info.value) and all(w in str(info.value) for w in where)


def test_a_blank_line_in_a_plain_text_label_file_is_an_error_naming_it(tmp_path):
    """Line i is class i - 1: a skipped blank line renumbered every later class (issue 12)."""
    path = tmp_path / "labels.txt"
    path.write_text("archery\nbowling\n\ncooking\n   \ndancing\n")
    with pytest.raises(ValueError, match=r"labels.txt:3: blank line .*\[3, 5\]"):
        lists.load_classnames(path)
    path.write_text("\narchery\n")
    with pytest.raises(ValueError, match="labels.txt:1: blank line"):
        lists.load_classnames(path)
    path.write_text("archery\r\nbowling\r\ncooking\r\n\r\n\n")  # trailing blank lines and CRLF are fine
    assert lists.load_classnames(path) == ["archery", "bowling", "cooking"]


def test_json_label_file_with_a_repeated_key_is_an_error(tmp_path):
    """json.loads keeps the last of two equal keys: class 0 "run" silently became "swim"."""
    path = tmp_path / "labels.json"
    path.write_text('{"0": "run", "1": "jump", "0": "swim"}')
    with pytest.raises(ValueError, match=r"repeats the keys \['0'\]"):
        lists.load_classnames(path)


def test_byte_order_mark_is_not_part_of_the_first_path_or_header(tmp_path):
    """A list saved by a Windows editor starts with U+FEFF: the first video was 'missing', the CSV header wrong."""
    listed = tmp_path / "list.txt"
    listed.write_bytes("\ufeffa/clip.mp4 0\r\nb/clip.mp4 1\r\n".encode())
    assert lists.read_list(listed) == [("a/clip.mp4", 0), ("b/clip.mp4", 1)]
    labels = tmp_path / "labels.csv"
    labels.write_bytes("\ufeffid,name\n0,run\n1,jump\n".encode())
    assert lists.load_classnames(labels) == ["run", "jump"]
    plain = tmp_path / "labels.txt"
    plain.write_bytes("\ufeffrun\njump\n".encode())
    assert lists.load_classnames(plain) == ["run", "jump"]


@pytest.mark.parametrize("name", ["list.txt", "labels.csv"])
def test_a_file_that_is_not_utf8_is_an_error_naming_file_and_line(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"id,name\n0,run\n1,caf\xe9\n" if name.endswith(".csv") else b"a.mp4 0\nb\xe9.mp4 1\n")
    read = lists.load_classnames if name.endswith(".csv") else lists.read_list
    with pytest.raises(ValueError, match=rf"{name}:[23]: .*not UTF-8 .*0xe9"):
        read(path)


def test_old_mac_line_endings_and_nul_bytes_in_lists(tmp_path):
    """A lone CR ended no line: "a.mp4 0\\rb.mp4 1" was one entry, path "a.mp4 0\\rb.mp4", label 1."""
    path = tmp_path / "list.txt"
    path.write_bytes(b"a.mp4 0\rb.mp4 1\r")
    assert lists.read_list(path) == [("a.mp4", 0), ("b.mp4", 1)]
    path.write_bytes(b"a.mp4 0\nb\x00\x00.mp4 1\n")
    with pytest.raises(ValueError, match="list.txt:2: NUL byte"):
        lists.read_list(path)


def test_a_folder_where_a_file_should_be_is_named_as_such(tmp_path):
    with pytest.raises(FileNotFoundError, match="is a directory"):
        lists.load_classnames(tmp_path)
    with pytest.raises(FileNotFoundError, match="is a directory"):
        lists.read_list(tmp_path)
