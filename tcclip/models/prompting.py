"""Prompts for the text encoder: learnable prompt vectors and Video-conditional Prompting (Sec. 3.3).

* `clean_classname` turns dataset labels into words ("ApplyEyeMakeup" -> "Apply Eye Makeup").
* `PromptLearner` holds the n prompt vectors that replace "a photo of a" (learnable in TC-CLIP,
  fixed in ViFi-CLIP, absent in vanilla CLIP) and builds the token ids of every class prompt.
* `VideoConditionalPrompting` is the prompt generation layer: prompt vectors cross-attend to a
  video's context tokens, then pass through an FFN (Eq. 14-16).
"""
from __future__ import annotations

import re
from typing import Callable, Sequence

import torch
from torch import nn

from .options import PromptMode, parse_option


def clean_classname(name: str) -> str:
    """Space before every capital letter, then underscores to spaces (the reference's rule).

    Runs of spaces collapse to one (CLIP's tokenizer does the same), so cleaning is idempotent.
    """
    return " ".join(re.sub(r"([A-Z])", r" \1", name).replace("_", " ").split())


class PromptLearner(nn.Module):
    """Builds "SOS [p_1 ... p_n] {class name}. EOT" for every class.

    ``mode``: "learnable" (TC-CLIP: n vectors initialised from the embedding of ``init_text``),
    "fixed" (ViFi-CLIP: the same vectors, frozen, so the prompt is exactly "a photo of a
    {name}."), or "none" (vanilla CLIP: the class name is the whole prompt).
    """

    def __init__(
        self,
        token_embedding: nn.Embedding,
        tokenizer: Callable,
        context_length: int = 30,
        mode: PromptMode | str = PromptMode.LEARNABLE,
        num_prompts: int = 4,
        init_text: str = "a photo of a",
    ) -> None:
        super().__init__()
        mode = parse_option(PromptMode, mode, "prompt_mode")
        self.mode = mode
        self.tokenizer = tokenizer
        self.context_length = context_length
        self.num_prompts = 0 if mode is PromptMode.NONE else num_prompts
        width = token_embedding.weight.shape[1]
        ctx = torch.empty(self.num_prompts, width)
        if self.num_prompts:
            init_ids = tokenizer([init_text])[0]
            words = init_ids[1 : int(init_ids.argmax())]  # between SOS and EOT
            if len(words) == self.num_prompts:
                with torch.no_grad():
                    ctx.copy_(token_embedding.weight[words])
            else:  # no template of that length: random init, as CoOp does
                nn.init.normal_(ctx, std=0.02)
        if mode is PromptMode.LEARNABLE:
            self.ctx = nn.Parameter(ctx)
        else:
            self.register_buffer("ctx", ctx)

    def tokenize(self, classnames: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids [C, L] (placeholders at the prompt positions) and EOT positions [C]."""
        if self.num_prompts:
            texts = [" ".join(["X"] * self.num_prompts) + f" {name}." for name in classnames]
        else:
            texts = list(classnames)
        ids = self.tokenizer(texts, context_length=self.context_length)
        eot = ids.argmax(dim=-1)  # the EOT token has the largest id in CLIP's vocabulary
        if (eot == self.context_length - 1).any() and (ids[:, -1] != ids.max()).any():
            raise ValueError(f"a class name is longer than the text context ({self.context_length} tokens)")
        return ids, eot

    def prompt_slice(self) -> slice:
        return slice(1, 1 + self.num_prompts)


class VideoConditionalPrompting(nn.Module):
    """p <- p + MHA(LN_q(p), LN_kv(c)); p <- p + MLP(LN_2(p))  (the prompt generation layer).

    Initialised from a text block (the last one), with LN_kv a copy of its ln_1, so that at the
    start of training it behaves like the block it precedes.
    """

    def __init__(self, text_block: nn.Module, width: int, num_heads: int) -> None:
        super().__init__()
        import copy

        self.ln_1 = copy.deepcopy(text_block.ln_1)
        self.ln_1_kv = copy.deepcopy(text_block.ln_1)
        self.attn = copy.deepcopy(text_block.attn)
        self.ln_2 = copy.deepcopy(text_block.ln_2)
        self.mlp = copy.deepcopy(text_block.mlp)

    def forward(self, prompts: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """prompts: [B, n, W]; context: [B, m, W] (detached by the caller)."""
        prompts = prompts + self.attn(self.ln_1(prompts), self.ln_1_kv(context))
        return prompts + self.mlp(self.ln_2(prompts))
