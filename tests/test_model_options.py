"""Categorical model options are typed and checked once, where they enter (tcclip.models.options)."""
import pytest

from tcclip.models import Merge, PositionalEmbedding, PromptMode, SeedMetric, TCConfig, VPSource
from tcclip.models.vision import CONTEXT_FROM_SEEDS


def test_strings_become_members_and_still_compare_as_strings():
    cfg = TCConfig(merge="kmeans", seed_metric="key_norm", positional_embedding="joint")
    assert cfg.merge is Merge.KMEANS and cfg.seed_metric is SeedMetric.KEY_NORM
    assert cfg.positional_embedding is PositionalEmbedding.JOINT
    assert cfg.merge == "kmeans" and str(cfg.merge) == "kmeans"  # configs and checkpoints keep plain strings


@pytest.mark.parametrize("option,value", [("merge", "kmean"), ("seed_metric", "cls"), ("positional_embedding", "3d")])
def test_a_typo_is_an_error_naming_the_option_and_its_choices(option, value):
    with pytest.raises(ValueError, match=rf"{option} must be one of .*; got '{value}'"):
        TCConfig(**{option: value})


@pytest.mark.parametrize("option,value", [("vp_source", "context_tokens"), ("prompt_mode", "learned")])
def test_model_level_options_are_checked_before_building(option, value, tiny_clip_path):
    from tcclip import build_model

    with pytest.raises(ValueError, match=rf"{option} must be one of"):
        build_model("tc_clip", ["a", "b"], clip="TC-Tiny", pretrained=tiny_clip_path, num_frames=2, **{option: value})


def test_no_selection_needs_no_scores():
    assert TCConfig().scores_seeds is SeedMetric.CLS_ATTENTION
    assert TCConfig(seed_metric="none").scores_seeds is None  # every patch is a seed
    assert TCConfig(merge="tube").scores_seeds is None  # tubes take every patch, no selection


def test_every_merge_method_has_one_aggregator():
    assert set(CONTEXT_FROM_SEEDS) | {Merge.TUBE} == set(Merge)  # tube works on all patches, apart
    assert {m.value for m in VPSource} == {"context", "cls", "gap"}
    assert {m.value for m in PromptMode} == {"learnable", "fixed", "none"}
