"""tcclip.book.chapter: the set-up chapters 04-09 share."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from tcclip.book.chapter import Chapter, setup
from tcclip.world.profile import get_profile


@pytest.fixture(scope="module")
def chapter(tiny_world, tiny_clip_path) -> Chapter:
    profile = dataclasses.replace(get_profile("tiny"), pretrained=str(tiny_clip_path), data_root=tiny_world.root.parent)
    return Chapter(profile, tiny_world)


def test_clips_are_the_test_set_videos_of_the_named_classes(chapter):
    names = [chapter.world.classes[3], chapter.world.classes[0]]
    clips = chapter.clips(names)
    p = chapter.profile
    assert clips.shape == (2, p.num_frames, 3, p.image_size, p.image_size)
    dataset = chapter.dataset("test")
    for clip, name in zip(clips, names):
        first = next(i for i, r in enumerate(dataset.records) if dataset.classnames[r.label] == name)
        torch.testing.assert_close(clip, dataset[first]["video"][0], rtol=0, atol=0)


def test_unknown_class_or_view_names_what_exists(chapter):
    with pytest.raises(KeyError, match="no test video of class 'a purple moon'"):
        chapter.clips(["a purple moon"])
    with pytest.raises(KeyError, match="has no view 'tset'"):
        chapter.dataset("tset")


def test_model_uses_the_profile_and_the_world_classes(chapter):
    model = chapter.model("vifi_clip")
    assert model.num_classes == len(chapter.world.classes)
    assert model.spec.pretrained == chapter.profile.pretrained
    assert model.spec.num_frames == chapter.profile.num_frames
    assert chapter.model("clip", chapter.world.classes[:2]).num_classes == 2


def test_setup_seeds_torch(monkeypatch, chapter):
    monkeypatch.setattr("tcclip.book.chapter.synthetic_world", lambda profile: chapter.world)
    setup(seed=5, profile=chapter.profile)
    first = torch.rand(3)
    ch = setup(seed=5, profile=chapter.profile)
    torch.testing.assert_close(torch.rand(3), first)
    assert ch.world is chapter.world and ch.profile is chapter.profile
