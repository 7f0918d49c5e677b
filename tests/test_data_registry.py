"""Registry: the on-disk layout contract between data_scripts/ and the loaders."""
from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tcclip.data import registry
from tcclip.data.registry import (
    DATA_ROOT_ENV,
    DATASET_LAYOUT,
    DatasetNotPreparedError,
    dataset_dir,
    get_split,
    list_datasets,
)


def test_the_documented_examples(tmp_path):
    few = get_split("hmdb51", protocol="few_shot", split=1, shots=2, subset="train", root=tmp_path,
                    check_exists=False)
    assert few.list_file == tmp_path / "hmdb51/splits/few_shot/train_2shot.txt"  # one published list per K
    assert few.video_root == tmp_path / "hmdb51/videos"
    assert few.label_file == tmp_path / "hmdb51/labels.csv"
    test = get_split("hmdb51", protocol="few_shot", split=1, shots=2, subset="test", root=tmp_path,
                     check_exists=False)
    assert test.list_file == tmp_path / "hmdb51/splits/test_split1.txt"
    k600 = get_split("k600", protocol="zero_shot", split=3, subset="test", root=tmp_path, check_exists=False)
    assert k600.list_file.name == "test_split3.txt" and k600.label_file.name == "labels_split3.csv"
    # the Open-VCLIP / FROSTER variant: K-600 validation clips of the same classes, same label file
    k600_val = get_split("k600", protocol="zero_shot", split=3, subset="val", root=tmp_path, check_exists=False)
    assert k600_val.list_file.name == "val_split3.txt" and k600_val.label_file == k600.label_file


def test_every_dataset_in_the_paper_is_registered():
    assert {"k400", "k600", "hmdb51", "ucf101", "ssv2", "synthetic"} <= set(list_datasets())
    assert registry.canonical_dataset_name("Kinetics-400") == "k400"
    assert registry.canonical_dataset_name("HMDB-51") == "hmdb51"


def all_views():
    """Every (dataset, protocol, subset, split, shots, classes) the layout defines."""
    for name, layout in DATASET_LAYOUT.items():
        for key in layout:
            parts = key.split("/")
            if parts[0] == "labels" or len(parts) < 2:
                continue
            protocol, subset = parts[0], parts[1]
            classes = parts[2] if len(parts) > 2 else None
            splits = registry.SPLIT_IDS if "{split}" in layout[key] else [None]
            shots = registry.FEW_SHOT_SHOTS if "{shots}" in layout[key] else [None]
            for split, k in itertools.product(splits, shots):
                yield name, protocol, subset, split, k, classes


@pytest.mark.parametrize("label_source", ["names", "llm"])
def test_every_registered_view_resolves_to_distinct_files(tmp_path, label_source):
    seen = {}
    for name, protocol, subset, split, shots, classes in all_views():
        try:
            paths = get_split(name, protocol, split=split, shots=shots, subset=subset, classes=classes,
                              label_source=label_source, root=tmp_path, check_exists=False)
        except ValueError as error:
            assert label_source == "llm" and "label file" in str(error)  # no LLM names for that view
            continue
        assert paths.list_file.is_relative_to(tmp_path / name)
        assert paths.label_file.suffix == (".json" if label_source == "llm" else ".csv")
        seen.setdefault(paths.list_file, set()).add((name, protocol, subset, split, shots, classes))
    # a list file may serve several protocols (e.g. HMDB test split 1 for zero-shot and few-shot),
    # but different shots or splits must never share one
    for views in seen.values():
        assert len({(v[3], v[4]) for v in views if v[2] == "train"}) <= 1
    assert len(seen) > (40 if label_source == "llm" else 55)  # ssv2 and synthetic have no LLM names


def test_protocol_specific_label_files(tmp_path):
    base = get_split("k400", "base2novel", split=2, subset="train", root=tmp_path, check_exists=False)
    novel = get_split("k400", "base2novel", subset="test", classes="novel", root=tmp_path, check_exists=False)
    assert base.label_file != novel.label_file and base.list_file.name == "train_base_s2.txt"
    temporal = get_split("ssv2", "temporal", subset="val", root=tmp_path, check_exists=False)
    assert "temporal18" in temporal.list_file.name and "temporal18" in temporal.label_file.name
    static = get_split("k400", "static", subset="train", root=tmp_path, check_exists=False)
    assert "static32" in static.list_file.name
    zs_train = get_split("synthetic", "zero_shot", subset="train", root=tmp_path, check_exists=False)
    zs_test = get_split("synthetic", "zero_shot", subset="test", root=tmp_path, check_exists=False)
    assert zs_train.label_file != zs_test.label_file
    llm = get_split("ucf101", "base2novel", subset="test", classes="novel", label_source="llm",
                    root=tmp_path, check_exists=False)
    assert llm.label_file.name.endswith("_llm.json")


def test_root_precedence(tmp_path):
    env = {DATA_ROOT_ENV: str(tmp_path / "all"), "TCCLIP_UCF101_ROOT": str(tmp_path / "ucf_here")}
    assert dataset_dir("hmdb51", environ=env) == tmp_path / "all/hmdb51"
    assert dataset_dir("ucf101", environ=env) == tmp_path / "ucf_here"
    assert dataset_dir("ucf101", root=tmp_path / "arg", environ=env) == tmp_path / "arg/ucf101"
    with pytest.raises(DatasetNotPreparedError, match="TCCLIP_DATA_ROOT"):  # no default relative to the cwd
        dataset_dir("hmdb51", environ={})


def test_env_var_is_used_by_get_split(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ROOT_ENV, str(tmp_path))
    monkeypatch.delenv("TCCLIP_SSV2_ROOT", raising=False)
    paths = get_split("ssv2", "standard", subset="val", check_exists=False)
    assert paths.list_file == tmp_path / "ssv2/splits/val.txt"


def test_missing_files_say_which_command_creates_them(tmp_path):
    with pytest.raises(DatasetNotPreparedError) as info:
        get_split("ucf101", "standard", split=2, subset="test", root=tmp_path)
    message = str(info.value)
    assert "data_scripts/prepare_ucf101.py" in message and str(tmp_path) in message
    assert "test_split2.txt" in message
    assert isinstance(info.value, FileNotFoundError)


def test_prepared_files_are_found(tmp_path):
    folder = tmp_path / "hmdb51"
    (folder / "videos").mkdir(parents=True)
    (folder / "labels.csv").write_text("id,name\n0,a\n")
    (folder / "splits/few_shot").mkdir(parents=True)
    (folder / "splits/few_shot/train_8shot.txt").write_text("a.mp4 0\n")
    paths = get_split("hmdb51", "few_shot", shots=8, root=tmp_path)
    assert paths.missing() == [] and paths.shots == 8
    with pytest.raises(DatasetNotPreparedError, match="train_16shot"):
        get_split("hmdb51", "few_shot", shots=16, root=tmp_path)


@pytest.mark.parametrize("kwargs,message", [
    (dict(name="imagenet"), "unknown dataset"),
    (dict(name="k600", protocol="few_shot", shots=2), "no 'few_shot' protocol"),
    (dict(name="hmdb51", protocol="telepathy"), "unknown protocol"),
    (dict(name="hmdb51", protocol="standard", split=4), "split must be one of"),
    (dict(name="hmdb51", protocol="few_shot", shots=0), "shots must be"),
    (dict(name="hmdb51", protocol="few_shot"), "shots must be"),
    (dict(name="hmdb51", protocol="base2novel", classes="novel"), "base classes only"),
    (dict(name="hmdb51", protocol="standard", classes="base"), "only meaningful"),
    (dict(name="hmdb51", protocol="standard", subset="holdout"), "unknown subset"),
    (dict(name="k600", protocol="zero_shot", label_source="wiki"), "label_source"),
    (dict(name="ssv2", protocol="standard", label_source="llm"), "no 'llm' label file"),  # none published
])
def test_invalid_requests_are_clear_errors(tmp_path, kwargs, message):
    with pytest.raises((ValueError, KeyError), match=message):
        get_split(root=tmp_path, check_exists=False, **kwargs)


def test_layout_templates_only_use_known_fields():
    for layout in DATASET_LAYOUT.values():
        for template in layout.values():
            Path(template.format(split=1, shots=2))  # no other placeholders


def test_book_page_documents_every_layout_file():
    """book/datasets.md is the users' copy of the layout: it must not drift from the code."""
    import re

    page = (Path(__file__).resolve().parents[1] / "book" / "datasets.md").read_text(encoding="utf-8")
    for name, layout in DATASET_LAYOUT.items():
        assert f"{name}/" in page, name
        for template in layout.values():
            *folders, filename = template.split("/")
            for folder in folders:
                assert folder in page, (name, template)
            for literal in re.split(r"\{\w+\}", filename):
                assert literal in page, (name, template, literal)
    for spec in registry.DATASET_SPECS.values():
        assert spec.env_var in page


def test_package_exports_resolve():
    import tcclip.data as data

    for name in data.__all__:
        assert getattr(data, name) is not None, name
    with pytest.raises(AttributeError):
        data.not_a_thing  # noqa: B018
