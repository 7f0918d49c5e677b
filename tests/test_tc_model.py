"""TC-CLIP against literal implementations: the TC encoder frame by frame with explicit softmax,
and the fast text path against the per-video text encoder (values and gradients)."""
from __future__ import annotations

import math
import shutil

import pytest
import torch

import tcclip
from tcclip.models.literal import literal_forward
from tcclip.models.vision import source_patch_map
from tcclip.train.engine import compiled_attention_backward_works

from conftest import make_video, tiny_model
from test_merging import literal_merge


def build(path, classnames, **opts):
    return tiny_model("tc_clip", classnames, path, **opts).double()


def literal_tc_video(model, video):
    """One video [T, 3, H, W] through the TC encoder, one frame and one head at a time."""
    visual = model.visual
    x = visual.embed(video[None])[0]  # [T, N, D]
    frames, tokens, width = x.shape
    context = None
    for block in visual.transformer.resblocks:
        attn = block.attn
        heads = attn.num_heads
        d = width // heads
        wq, wk, wv = attn.in_proj_weight.split(width)
        bq, bk, bv = attn.in_proj_bias.split(width)
        outs, scores = [], []
        for t in range(frames):
            h = block.ln_1(x[t])
            kv_in = h if context is None else torch.cat([h, block.ln_1(context)])
            q, k, v = h @ wq.T + bq, kv_in @ wk.T + bk, kv_in @ wv.T + bv
            head_out, cls_probs = [], []
            for j in range(heads):
                sl = slice(j * d, (j + 1) * d)
                logits = q[:, sl] @ k[:, sl].T / math.sqrt(d)
                if context is not None and attn.local_global_bias_table is not None:
                    bias = torch.cat([attn.local_global_bias_table[j, 0, 0].expand(tokens),
                                      attn.local_global_bias_table[j, 0, 1].expand(len(context))])
                    logits = logits + bias
                p = logits.softmax(-1)
                head_out.append(p @ v[:, sl])
                cls_probs.append(p[0, 1:tokens])
            outs.append(attn.out_proj(torch.cat(head_out, -1)))
            scores.append(torch.stack(cls_probs).mean(0))
        x = x + torch.stack(outs)
        a = int((tokens - 1) * model.visual.cfg.seed_ratio)
        seeds = []
        for t in range(frames):
            order = sorted(range(tokens - 1), key=lambda n: -float(scores[t][n]))[:a]
            seeds += [x[t, 1 + n] for n in order]
        context, _, _, _ = literal_merge(torch.stack(seeds), model.visual.cfg.num_context, model.visual.cfg.merge_per_round)
        x = x + block.mlp(block.ln_2(x))
        context = context + block.mlp(block.ln_2(context))
    return visual.project(x[:, 0]), visual.project(context)


def test_tc_encoder_matches_literal_per_frame_implementation(tiny_clip_path, classnames):
    model = build(tiny_clip_path, classnames).eval()
    with torch.no_grad():  # give the bias tables values far from zero so that they matter
        for block in model.visual.transformer.resblocks[1:]:
            block.attn.local_global_bias_table.normal_(0, 1)
    video = make_video(batch=2, frames=4)
    with torch.no_grad():
        out = model.encode_video(video)
        for b in range(2):
            frame_feats, context = literal_tc_video(model, video[b])
            torch.testing.assert_close(out.frame_features[b], frame_feats, rtol=0, atol=1e-10)
            torch.testing.assert_close(out.context_tokens[b], context, rtol=0, atol=1e-10)


def test_videos_in_a_batch_do_not_interact(tiny_clip_path, classnames):
    model = build(tiny_clip_path, classnames).eval()
    video = make_video(batch=3)
    with torch.no_grad():
        together = model(video)
        alone = torch.cat([model(video[i : i + 1]) for i in range(3)])
    torch.testing.assert_close(together, alone, rtol=0, atol=1e-10)


@pytest.mark.parametrize("vp_source", ["context", "cls", "gap"])
def test_fast_text_path_equals_per_video_text_encoder(tiny_clip_path, classnames, vp_source):
    model = build(tiny_clip_path, classnames, vp_source=vp_source).train()
    video = make_video(batch=3)
    weights = torch.randn(3, len(classnames), dtype=torch.float64)
    fast = model(video)
    (fast * weights).sum().backward()
    grads_fast = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    slow = literal_forward(model, video)
    (slow * weights).sum().backward()
    grads_slow = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    torch.testing.assert_close(fast, slow, rtol=0, atol=1e-10)
    assert grads_fast.keys() == grads_slow.keys()
    assert any(n.startswith("prompt_generator.") for n in grads_fast)  # VP is trained
    assert "prompt_learner.ctx" in grads_fast
    for name in grads_fast:
        torch.testing.assert_close(grads_fast[name], grads_slow[name], rtol=1e-9, atol=1e-10, msg=name)


def test_vp_is_stop_gradient_to_vision(tiny_clip_path, classnames):
    model = build(tiny_clip_path, classnames)
    video = make_video(batch=1)
    out = model(video, return_details=True)
    # gradient of the text features alone must not reach the vision encoder
    out.text_features.sum().backward()
    assert model.visual.conv1.weight.grad is None or torch.all(model.visual.conv1.weight.grad == 0)


@pytest.mark.parametrize("frames,size,batch", [(1, 64, 1), (3, 64, 2), (8, 96, 2), (16, 48, 1)])
def test_shapes_for_any_frames_resolution_batch(tiny_clip_path, classnames, frames, size, batch):
    model = build(tiny_clip_path, classnames).float().eval()
    with torch.no_grad():
        out = model(make_video(batch, frames, size, dtype=torch.float32), return_details=True)
    assert out.logits.shape == (batch, len(classnames))
    assert out.text_features.shape == (batch, len(classnames), 128)
    seeds = int((size // 8) ** 2 * 0.3)
    assert out.vision.context_tokens.shape == (batch, min(16, frames * seeds), 128)
    assert torch.isfinite(out.logits).all()


@pytest.mark.parametrize(
    "opts",
    [
        dict(merge="kmeans"), dict(merge="random"), dict(merge="tube"), dict(merge="none"),
        dict(seed_metric="key_norm"), dict(seed_metric="none"), dict(seed_ratio=0.6), dict(num_context=4),
        dict(local_global_bias=False), dict(positional_embedding="joint"), dict(num_prompts=2), dict(num_prompts=8),
        dict(video_prompting=False), dict(temporal_context=False), dict(temporal_context=False, vp_source="cls"),
    ],
)
def test_every_ablation_switch_runs_and_trains(tiny_clip_path, classnames, opts):
    model = build(tiny_clip_path, classnames, **opts).float().train()
    logits = model(make_video(2, 6, 64, dtype=torch.float32))
    tcclip.video_text_loss(logits, torch.tensor([0, 3])).backward()
    assert torch.isfinite(logits).all()
    assert model.visual.conv1.weight.grad.abs().sum() > 0


def test_joint_positional_embedding_is_per_frame_and_resamples(tiny_clip_path, classnames):
    model = build(tiny_clip_path, classnames, positional_embedding="joint").eval()
    assert model.visual.positional_embedding.shape[0] == 8
    with torch.no_grad():
        model(make_video(1, 5))  # another clip length interpolates the table


def test_bfloat16_autocast_and_float64_paths(tiny_clip_path, classnames):
    model = build(tiny_clip_path, classnames).float()
    video = make_video(2, 4, dtype=torch.float32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(video)
        tcclip.video_text_loss(logits, torch.tensor([1, 2])).backward()
    assert torch.isfinite(logits.float()).all()
    assert model.visual.conv1.weight.grad is not None
    # without discrete choices (top-k, merges) float32 agrees with float64 to rounding;
    # with them, float32 rounding can legitimately flip a choice, hence float64 tests elsewhere
    off = dict(temporal_context=False, video_prompting=False)
    model32, model64 = build(tiny_clip_path, classnames, **off).float().eval(), build(tiny_clip_path, classnames, **off).eval()
    with torch.no_grad():
        torch.testing.assert_close(model32(video).double(), model64(make_video(2, 4)), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("opts", [{}, {"merge": "random"}])
def test_gradient_checkpointing_gives_the_same_gradients(tiny_clip_path, classnames, opts):
    """preset=gpu24gb recomputes the vision blocks in backward: same loss and gradients, random merges included."""
    results = []
    for enabled in (False, True):
        torch.manual_seed(0)  # the TC bias tables are initialised from torch's RNG: both models alike
        model = build(tiny_clip_path, classnames, **opts).train()
        model.set_grad_checkpointing(enabled)
        torch.manual_seed(3)  # the random merge draws from torch's RNG; recomputation must replay it
        loss = tcclip.video_text_loss(model(make_video(2, 4, size=32)), torch.tensor([1, 4]))
        loss.backward()
        results.append((loss.detach(), {n: p.grad for n, p in model.named_parameters() if p.grad is not None}))
    (loss_plain, grads_plain), (loss_ckpt, grads_ckpt) = results
    torch.testing.assert_close(loss_ckpt, loss_plain, atol=0, rtol=0)
    assert grads_ckpt.keys() == grads_plain.keys() and any(n.startswith("visual.") for n in grads_plain)
    for name, grad in grads_plain.items():
        torch.testing.assert_close(grads_ckpt[name], grad, atol=1e-12, rtol=1e-10, msg=name)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None,
                    reason="torch.compile's inductor backend needs a C compiler on CPU")
@pytest.mark.skipif(not compiled_attention_backward_works(torch.float64, torch.device("cpu")),
                    reason=f"torch {torch.__version__} cannot compile a float64 attention backward on CPU "
                           "(pytorch/pytorch#185539; the engine refuses that set-up, see test_train_engine)")
def test_torch_compile_matches_eager(tiny_clip_path, classnames):
    """train.compile=true: the compiled model gives the eager logits and gradients (float64: top-k and merges)."""
    model = build(tiny_clip_path, classnames)
    video, labels = make_video(2, 4, size=32), torch.tensor([0, 3])
    logits = model(video)
    tcclip.video_text_loss(logits, labels).backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    compiled = torch.compile(model)  # the default (inductor) backend, as the engine uses it
    compiled_logits = compiled(video)
    tcclip.video_text_loss(compiled_logits, labels).backward()
    torch.testing.assert_close(compiled_logits, logits, atol=1e-12, rtol=1e-10)
    compiled_grads = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
    assert compiled_grads.keys() == grads.keys()
    for name, grad in grads.items():
        torch.testing.assert_close(compiled_grads[name], grad, atol=1e-12, rtol=1e-10, msg=name)


def test_context_sources_map_back_to_frames_and_patches(tiny_clip_path, classnames):
    model = build(tiny_clip_path, classnames).eval()
    with torch.no_grad():
        out = model(make_video(1, 4), return_details=True)
    last = out.vision.layers[-1]
    maps = source_patch_map(last, frames=4, num_patches=64)
    assert maps.shape == (1, 16, 4, 64)
    assert maps.sum() == 4 * int(64 * 0.3)  # every seed belongs to exactly one context token
    seeds = torch.zeros(4, 64, dtype=torch.float64)
    seeds.scatter_(1, last.seed_indices[0], 1.0)
    torch.testing.assert_close(maps[0].sum(0), seeds)


def test_eval_text_cache_follows_weight_changes(tiny_clip_path, classnames):
    model = build(tiny_clip_path, classnames, video_prompting=False).eval()
    video = make_video(1, 2)
    with torch.no_grad():
        before = model(video)
        model.text.ln_final.weight.mul_(1.5)
        model.text.text_projection.add_(0.5)
        after = model(video)
    assert not torch.allclose(before, after)


def test_bad_inputs_are_clear_errors(tiny_clip_path, classnames):
    model = build(tiny_clip_path, classnames)
    with pytest.raises(ValueError, match="B, T, 3, H, W"):
        model(torch.randn(3, 64, 64))
    with pytest.raises(ValueError, match="patch size"):
        model(torch.randn(1, 2, 3, 60, 60))
    with pytest.raises(ValueError, match="unknown option"):
        tcclip.build_model("tc_clip", classnames, clip="TC-Tiny", pretrained=None, num_kontext=3)
    with pytest.raises(ValueError, match="unknown model"):
        tcclip.build_model("xclip", classnames, clip="TC-Tiny", pretrained=None)
    with pytest.raises(ValueError, match="merge must be"):
        tcclip.build_model("tc_clip", classnames, clip="TC-Tiny", pretrained=None, merge="magic")
