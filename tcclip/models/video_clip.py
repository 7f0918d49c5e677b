"""The video-text model: TC vision encoder + prompted text encoder + logits (paper Fig. 3)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .options import PromptMode, VPSource, parse_option
from .prompting import PromptLearner, VideoConditionalPrompting, clean_classname
from .text import TextEncoder
from .vision import TCConfig, TCVisionEncoder, VisionOutput


@dataclass
class ModelOutput:
    """Everything a forward pass computed, for training extras and visualisation."""

    logits: torch.Tensor  # [B, C]
    video_features: torch.Tensor  # [B, E], L2-normalised
    text_features: torch.Tensor  # [C, E], or [B, C, E] with video-conditional prompts
    vision: VisionOutput


class VideoCLIP(nn.Module):
    """CLIP, ViFi-CLIP and TC-CLIP in one module; `tcclip.build_model` picks the switches."""

    #: The `tcclip.ModelSpec` the model was built from (set by `build_model`; None when built by hand).
    spec = None

    def __init__(
        self,
        clip_model: nn.Module,
        tokenizer,
        classnames: Sequence[str],
        tc: TCConfig = TCConfig(),
        num_frames: int = 16,
        prompt_mode: PromptMode | str = PromptMode.LEARNABLE,
        num_prompts: int = 4,
        video_prompting: bool = True,
        vp_source: VPSource | str = VPSource.CONTEXT,
        context_length: int = 30,
        clean_classnames: bool = True,
    ) -> None:
        super().__init__()
        prompt_mode = parse_option(PromptMode, prompt_mode, "prompt_mode")
        vp_source = parse_option(VPSource, vp_source, "vp_source")
        self.num_frames = num_frames
        self.vp_source = vp_source
        self.clean_classnames = clean_classnames
        self.visual = TCVisionEncoder(clip_model.visual, tc, num_frames, make_context=video_prompting and vp_source is VPSource.CONTEXT)
        self.text = TextEncoder(clip_model, context_length)
        # Class-name embeddings are fixed (buffers in the reference), so the table never gets a
        # gradient; frozen here, DDP does not wait for one and AdamW keeps no state for it.
        self.text.token_embedding.weight.requires_grad_(False)
        self.prompt_learner = PromptLearner(self.text.token_embedding, tokenizer, context_length, prompt_mode, num_prompts)
        self.prompt_generator: Optional[VideoConditionalPrompting] = None
        if video_prompting:
            if prompt_mode is PromptMode.NONE:
                raise ValueError("video-conditional prompting needs prompt vectors (prompt_mode 'learnable' or 'fixed')")
            embed_dim = self.visual.proj.shape[1]
            if embed_dim != self.text.width:
                raise ValueError(f"VP needs the joint embedding width ({embed_dim}) to equal the text width ({self.text.width})")
            self.prompt_generator = VideoConditionalPrompting(self.text.transformer.resblocks[-1], self.text.width, self.text.num_heads)
        self.logit_scale = clip_model.logit_scale
        self._text_cache: Optional[tuple] = None
        self.set_classnames(classnames)

    # ----- classes -------------------------------------------------------------------------
    def set_classnames(self, classnames: Sequence[str]) -> None:
        """Swap the class list (e.g. zero-shot evaluation on another dataset); no rebuild."""
        if len(classnames) == 0:
            raise ValueError("classnames is empty")
        self.classnames = [clean_classname(c) if self.clean_classnames else c for c in classnames]
        ids, eot = self.prompt_learner.tokenize(self.classnames)
        device = self.logit_scale.device
        self.register_buffer("class_token_ids", ids.to(device), persistent=False)
        self.register_buffer("class_eot", eot.to(device), persistent=False)
        self._text_cache = None

    @property
    def num_classes(self) -> int:
        return len(self.classnames)

    # ----- encoders ------------------------------------------------------------------------
    def encode_video(self, video: torch.Tensor, return_details: bool = False) -> VisionOutput:
        return self.visual(video, return_details)

    def _cached(self, key: str, compute):
        """Text parts that do not depend on the video are reused in no-grad evaluation.

        The key holds every text parameter's storage and version counter, so an optimiser step,
        a checkpoint load or a dtype change invalidates it.
        """
        if self.training or torch.is_grad_enabled():
            return compute()
        params = [*self.text.parameters(), self.prompt_learner.ctx]
        stamp = (key, id(self.class_token_ids), torch.is_autocast_enabled(), tuple((p.data_ptr(), p._version) for p in params))
        if self._text_cache is None or self._text_cache[0] != stamp:
            self._text_cache = (stamp, compute())
        return self._text_cache[1]

    def encode_text(self, vision: Optional[VisionOutput] = None) -> torch.Tensor:
        """Normalised class features: [C, E], or [B, C, E] with video-conditional prompts."""
        ids, eot, ctx = self.class_token_ids, self.class_eot, self.prompt_learner.ctx
        prompt_slice = self.prompt_learner.prompt_slice()
        if self.prompt_generator is None:
            feats = self._cached("static", lambda: self.text.encode_static(ids, eot, ctx, prompt_slice))
            return F.normalize(feats, dim=-1)
        if vision is None:
            raise ValueError("this model conditions its prompts on the video: pass the vision output")
        hidden = self._cached("below_last", lambda: self.text.encode_below_last(ids, ctx, prompt_slice))
        prompts = hidden[:1, prompt_slice]  # identical for every class (causal mask)
        source = self.vp_source_tokens(vision).detach()  # stop-gradient, Eq. 14
        prompts = self.prompt_generator(prompts.expand(source.shape[0], -1, -1), source.to(prompts.dtype))
        return F.normalize(self.text.encode_last_eot(hidden, eot, prompts, prompt_slice), dim=-1)

    def vp_source_tokens(self, vision: VisionOutput) -> torch.Tensor:
        return {VPSource.CONTEXT: vision.context_tokens, VPSource.CLS: vision.frame_features,
                VPSource.GAP: vision.patch_features}[self.vp_source]

    # ----- forward -------------------------------------------------------------------------
    def forward(self, video: torch.Tensor, return_details: bool = False):
        """video [B, T, 3, H, W] (CLIP-normalised) -> logits [B, C] (or a `ModelOutput`)."""
        vision = self.encode_video(video, return_details)
        video_features = F.normalize(vision.frame_features.mean(dim=1), dim=-1)
        text_features = self.encode_text(vision)
        scale = self.logit_scale.exp()
        if text_features.dim() == 3:
            logits = scale * torch.einsum("be,bce->bc", video_features, text_features.to(video_features.dtype))
        else:
            logits = scale * video_features @ text_features.to(video_features.dtype).t()
        if return_details:
            return ModelOutput(logits, video_features, text_features, vision)
        return logits

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        self.visual.grad_checkpointing = enable

    def train(self, mode: bool = True):
        self._text_cache = None
        return super().train(mode)
