"""A literal, per-video implementation of the text side, as the reference release computes it.

Kept for tests and benchmarks only: for every video it builds every class prompt, runs the whole
text encoder, and applies the VP layer to each class's prompt positions. `VideoCLIP` computes
the same numbers with the shortcut in `tcclip.models.text`; tests assert that values and
gradients agree, and ``benchmarks/bench_model.py`` measures what the shortcut saves.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .attention import causal_mask
from .video_clip import VideoCLIP


def literal_text_features(model: VideoCLIP, source_tokens: torch.Tensor) -> torch.Tensor:
    """[B, C, E] text features, one full text-encoder pass per video (B x C x L layers)."""
    text, learner = model.text, model.prompt_learner
    ids, eot = model.class_token_ids, model.class_eot
    prompt_slice = learner.prompt_slice()
    classes = torch.arange(ids.shape[0], device=ids.device)
    blocks = text.transformer.resblocks
    features = []
    for b in range(source_tokens.shape[0]):
        x = text.embed_prompts(ids, learner.ctx, prompt_slice)
        mask = causal_mask(x.shape[1], x.device, x.dtype)
        for block in blocks[:-1]:
            x = block(x, mask)
        context = source_tokens[b : b + 1].detach().expand(x.shape[0], -1, -1).to(x.dtype)
        prompts = model.prompt_generator(x[:, prompt_slice], context)
        x = torch.cat([x[:, : prompt_slice.start], prompts, x[:, prompt_slice.stop :]], dim=1)
        x = blocks[-1](x, mask)
        features.append(text.project(x[classes, eot]))
    return F.normalize(torch.stack(features), dim=-1)


def literal_forward(model: VideoCLIP, video: torch.Tensor) -> torch.Tensor:
    """Logits [B, C] with the per-video text encoder (the reference release's computation)."""
    vision = model.encode_video(video)
    video_features = F.normalize(vision.frame_features.mean(dim=1), dim=-1)
    if model.prompt_generator is None:
        text_features = model.encode_text(vision)
        return model.logit_scale.exp() * video_features @ text_features.t()
    text_features = literal_text_features(model, model.vp_source_tokens(vision))
    return model.logit_scale.exp() * torch.einsum("be,bce->bc", video_features, text_features)
