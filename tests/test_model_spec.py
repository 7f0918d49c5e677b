"""ModelSpec: one small, validated, hashable description of a model, saved in every checkpoint."""
import pytest

import tcclip
from tcclip import ModelSpec


def test_a_spec_is_a_value():
    a = ModelSpec("tc_clip", "TC-Tiny", "weights.pt", 8, {"num_context": 16, "merge": "kmeans"})
    b = ModelSpec("tc_clip", "TC-Tiny", "weights.pt", 8, {"merge": "kmeans", "num_context": 16})
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1  # option order does not matter
    assert dict(a.options) == {"merge": "kmeans", "num_context": 16}
    assert ModelSpec.from_dict(a.to_dict()) == a
    assert a.to_dict() == {"name": "tc_clip", "clip": "TC-Tiny", "pretrained": "weights.pt", "num_frames": 8,
                           "options": {"merge": "kmeans", "num_context": 16}}
    with pytest.raises(AttributeError):
        a.name = "clip"  # frozen


def test_options_become_plain_values():
    from tcclip.models import Merge

    spec = ModelSpec(options={"merge": Merge.KMEANS, "seed_ratio": 1})
    assert dict(spec.options) == {"merge": "kmeans", "seed_ratio": 1.0}
    assert type(dict(spec.options)["merge"]) is str  # a checkpoint stores no enum (weights_only loads it)


@pytest.mark.parametrize("kwargs, match", [
    (dict(name="xclip"), "unknown model"),
    (dict(num_frames=0), "num_frames"),
    (dict(num_frames=True), "num_frames"),
    (dict(options={"merge": "magic"}), "merge must be one of"),
    (dict(options={"num_context": "96"}), "num_context must be of type int"),
    (dict(options={"video_prompting": 1}), "video_prompting must be of type bool"),
    (dict(options={"seed_ratio": 1.5}), "seed_ratio"),
    (dict(options={"num_prompts": 0}), "num_prompts must be >= 1"),
    (dict(options={"num_kontext": 3}), "unknown option"),
])
def test_a_bad_spec_fails_when_made(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ModelSpec(**kwargs)


def test_differences_ignore_where_the_weights_are():
    a = ModelSpec("tc_clip", pretrained="openai")
    assert a.differences(a.replace(pretrained="elsewhere.pt")) == {}
    assert a.differences(ModelSpec("tc_clip", options={"merge": "bipartite"})) == {}  # the default, spelt out
    assert a.differences(ModelSpec("vifi_clip"))["name"] == ("tc_clip", "vifi_clip")
    assert a.differences(a.replace(options={"merge": "kmeans"})) == {"merge": ("bipartite", "kmeans")}


def test_build_model_takes_a_spec_and_keeps_it(tiny_clip_path, classnames):
    spec = ModelSpec("vifi_clip", "TC-Tiny", tiny_clip_path, 4)
    model = tcclip.build_model(spec, classnames)
    assert model.spec is spec and model.num_frames == 4 and model.prompt_generator is None
    by_keywords = tcclip.build_model("vifi_clip", classnames, clip="TC-Tiny", pretrained=tiny_clip_path, num_frames=4)
    assert by_keywords.spec == spec
    with pytest.raises(TypeError, match="spec.replace"):
        tcclip.build_model(spec, classnames, num_frames=8)
