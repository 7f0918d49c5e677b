"""open_clip's "Model initialized randomly." notice: shown when random weights are asked for, not
where weights are loaded (a weights file, a checkpoint, or pretraining that starts from random)."""
from __future__ import annotations

import logging

import pytest
import torch

import tcclip
from tcclip.models.backbone import silence_random_init_notice
from tcclip.world.pretrain import create_tiny_clip

from conftest import tiny_model

NOTICE = "initialized randomly"


def notices(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if NOTICE in r.getMessage()]


def tiny(pretrained, classnames):
    return tiny_model("tc_clip", classnames, pretrained)


def test_random_weights_asked_for_are_announced(caplog, classnames):
    with caplog.at_level(logging.WARNING):
        tiny(None, classnames)
    assert notices(caplog) == ["No pretrained weights loaded for model 'TC-Tiny'. Model initialized randomly."]


def test_no_notice_when_a_weights_file_is_loaded(caplog, tiny_clip_path, classnames):
    with caplog.at_level(logging.INFO):
        model = tiny(tiny_clip_path, classnames)
    assert notices(caplog) == []
    expected = torch.load(tiny_clip_path, weights_only=True)["visual.conv1.weight"]
    torch.testing.assert_close(model.visual.conv1.weight, expected)  # the weights are really there


def test_no_notice_when_a_checkpoint_sets_every_weight(caplog, tiny_clip_path, classnames, tmp_path):
    path = tcclip.save_checkpoint(tmp_path / "best.pt", tiny(tiny_clip_path, classnames))
    with caplog.at_level(logging.WARNING):
        model = tcclip.load_model(path)  # built without reading CLIP weights, then every weight loaded
    assert notices(caplog) == []
    saved = tcclip.checkpoint.read_checkpoint(path)["model"]["visual.conv1.weight"]
    torch.testing.assert_close(model.visual.conv1.weight, saved)


def test_no_notice_at_the_start_of_pretraining(caplog):
    with caplog.at_level(logging.WARNING):
        create_tiny_clip(seed=0)
    assert notices(caplog) == []


def test_the_silencing_ends_with_its_block(caplog):
    root_filters = list(logging.getLogger().filters)
    with pytest.raises(RuntimeError), silence_random_init_notice():
        raise RuntimeError("a failed build")
    assert logging.getLogger().filters == root_filters
    with caplog.at_level(logging.WARNING), silence_random_init_notice():
        logging.warning("something else open_clip says")
    assert [r.getMessage() for r in caplog.records] == ["something else open_clip says"]
