"""Numeric precision of a run, decided once: parameter dtype and autocast (AMP).

Training and evaluation call :func:`resolve_precision` with the config's ``train.amp`` and
``train.dtype`` and the device, and use what it returns; nothing else decides AMP.
"""
from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

import torch

__all__ = ["AMP_MODES", "DTYPES", "Precision", "resolve_precision", "autocast"]

log = logging.getLogger("tcclip.train")

AMP_MODES = ("bf16", "fp16", "none")
DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass(frozen=True)
class Precision:
    """Parameters in ``dtype``; forward passes under autocast to ``amp`` ("bf16", "fp16", "none")."""

    dtype: torch.dtype = torch.float32
    amp: str = "none"

    @property
    def needs_grad_scaler(self) -> bool:
        """fp16 gradients underflow without loss scaling; bf16 has float32's range."""
        return self.amp == "fp16"


def resolve_precision(amp: str, dtype: str | torch.dtype, device: torch.device | str) -> Precision:
    """The one AMP rule.

    float64 (the exactness tests) runs without autocast. fp16 needs a GPU (its loss scaling is
    CUDA's; CPUs have no fast fp16), so elsewhere the run falls back to full precision, with a
    log line. bf16 autocast runs on GPUs and CPUs alike.
    """
    if amp not in AMP_MODES:
        raise ValueError(f"train.amp must be one of {', '.join(AMP_MODES)}; got {amp!r}")
    torch_dtype = DTYPES[dtype] if isinstance(dtype, str) else dtype
    device = torch.device(device)
    if torch_dtype == torch.float64:
        return Precision(torch_dtype, "none")
    if amp == "fp16" and device.type != "cuda":
        log.info("train.amp=fp16 needs a GPU; running in full precision on %s", device)
        return Precision(torch_dtype, "none")
    return Precision(torch_dtype, amp)


def autocast(device: torch.device, amp: str):
    """torch.autocast for "bf16" / "fp16", a no-op for "none"."""
    if amp == "none":
        return contextlib.nullcontext()
    if amp not in AMP_MODES:
        raise ValueError(f"train.amp must be one of {', '.join(AMP_MODES)}; got {amp!r}")
    return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16 if amp == "bf16" else torch.float16)
