"""vifi_clip / clip equal open_clip's encoders used by hand; tc_clip with TC and VP off equals vifi_clip."""
from __future__ import annotations

import open_clip
import torch
import torch.nn.functional as F

import tcclip
from tcclip.models import clean_classname

from conftest import make_video, tiny_model


def reference_clip(path):
    model = open_clip.create_model("TC-Tiny", pretrained=path, force_quick_gelu=True)
    return model.double().eval()


def by_hand_logits(clip_model, video, prompts):
    """Frame-averaged image features against text features, with open_clip's own encoders."""
    b, t = video.shape[:2]
    frames = clip_model.encode_image(video.flatten(0, 1)).reshape(b, t, -1)
    v = F.normalize(frames.mean(1), dim=-1)  # average the frame features, then normalise
    tokenizer = open_clip.get_tokenizer("TC-Tiny")
    txt = F.normalize(clip_model.encode_text(tokenizer(prompts)), dim=-1)
    return clip_model.logit_scale.exp() * v @ txt.t()


def test_vifi_clip_equals_open_clip_by_hand(tiny_clip_path, classnames):
    model = tiny_model("vifi_clip", classnames, tiny_clip_path).double().eval()
    video = make_video()
    prompts = [f"a photo of a {clean_classname(c)}." for c in classnames]
    expected = by_hand_logits(reference_clip(tiny_clip_path), video, prompts)
    with torch.no_grad():
        torch.testing.assert_close(model(video), expected, rtol=0, atol=1e-10)


def test_vanilla_clip_uses_class_name_as_prompt(tiny_clip_path, classnames):
    model = tiny_model("clip", classnames, tiny_clip_path).double().eval()
    video = make_video(frames=4)
    expected = by_hand_logits(reference_clip(tiny_clip_path), video, [clean_classname(c) for c in classnames])
    with torch.no_grad():
        torch.testing.assert_close(model(video), expected, rtol=0, atol=1e-10)
        # and it is not the templated prompt
        wrong = by_hand_logits(reference_clip(tiny_clip_path), video, [f"a photo of a {clean_classname(c)}." for c in classnames])
        assert not torch.allclose(model(video), wrong)


def test_tc_clip_with_tc_and_vp_off_equals_vifi_clip(tiny_clip_path, classnames):
    vifi = tiny_model("vifi_clip", classnames, tiny_clip_path).double().eval()
    tc_off = tcclip.build_model(
        "tc_clip", classnames, clip="TC-Tiny", pretrained=tiny_clip_path, num_frames=8,
        temporal_context=False, video_prompting=False,
    ).double().eval()
    tc_on = tiny_model("tc_clip", classnames, tiny_clip_path).double().eval()
    video = make_video()
    with torch.no_grad():
        torch.testing.assert_close(tc_off(video), vifi(video), rtol=0, atol=1e-12)
        assert not torch.allclose(tc_on(video), vifi(video), atol=1e-6)  # the switches do something


def test_classname_cleaning():
    assert clean_classname("ApplyEyeMakeup") == "Apply Eye Makeup"
    assert clean_classname("walking_the_dog") == "walking the dog"
    assert clean_classname("YoYo") == "Yo Yo"
    assert clean_classname(clean_classname("ApplyEyeMakeup")) == "Apply Eye Makeup"  # idempotent


def test_set_classnames_swaps_classes_without_rebuild(tiny_clip_path, classnames):
    model = tiny_model("tc_clip", classnames, tiny_clip_path).double().eval()
    video = make_video()
    with torch.no_grad():
        full = model(video)
        model.set_classnames(classnames[:2])
        part = model(video)
    assert part.shape == (2, 2)
    torch.testing.assert_close(part, full[:, :2], rtol=0, atol=1e-12)
