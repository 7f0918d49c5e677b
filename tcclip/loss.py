"""The training objective (paper Eq. 18): cross-entropy over video-text logits."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def video_text_loss(logits: torch.Tensor, targets: torch.Tensor, label_smoothing: float = 0.1) -> torch.Tensor:
    """Cross-entropy with hard labels [B] (label smoothing applied here) or soft targets [B, C].

    Soft targets come from mixup/cutmix, which already fold label smoothing into them, so
    they are used as they are.
    """
    if logits.dtype in (torch.float16, torch.bfloat16):  # the softmax in at least float32
        logits = logits.float()
    if targets.dim() == 2:
        if targets.shape != logits.shape:
            raise ValueError(f"soft targets {tuple(targets.shape)} do not match logits {tuple(logits.shape)}")
        return torch.sum(-targets * F.log_softmax(logits, dim=-1), dim=-1).mean()
    return F.cross_entropy(logits, targets, label_smoothing=label_smoothing)
