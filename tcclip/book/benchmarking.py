"""Measuring cost: wall time with device synchronisation and FLOPs with torch's counter.

Used by ``benchmarks/`` and by the book's performance appendix, so both measure the same way.
"""
from __future__ import annotations

import statistics
import time
from typing import Callable

import torch


def time_call(fn: Callable[[], object], repeats: int = 3, warmup: int = 1, device: str = "cpu") -> float:
    """Median wall time of ``fn()`` in seconds, after ``warmup`` untimed calls."""

    def sync() -> None:
        if str(device).startswith("cuda"):
            torch.cuda.synchronize()

    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def count_flops(fn: Callable[[], object]) -> int:
    """Floating-point operations of ``fn()`` as torch's FlopCounterMode counts them (2 per MAC).

    ``scaled_dot_product_attention`` runs on its math backend while counting, so attention is
    counted as its two matrix products whatever kernel this torch build would pick: FlopCounterMode
    has no formula for some fused kernels (torch 2.14's CPU flash attention counts as 0 FLOPs), and
    which kernel runs depends on the torch version, the device, the dtype and the mask.
    Works on "meta" tensors too, so a ViT-B/16 video batch can be costed without computing it.
    """
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


#: Dense bf16 tensor-core peaks (vendor data sheets, TFLOP/s, no sparsity) for model FLOPs utilisation.
PEAK_BF16_TFLOPS = {"H200": 989.4, "H100 80GB HBM3": 989.4, "H100 PCIe": 756.0, "H100 NVL": 835.0,
                    "A100": 312.0, "L40S": 362.1, "RTX 4090": 165.2, "RTX 3090": 71.0, "A6000": 154.8}


def peak_tflops(device_name: str) -> float | None:
    """The dense bf16 peak of a GPU from its ``torch.cuda.get_device_name()``, or None if unknown."""
    # the longest matching key wins ("H100 PCIe" over a bare "H100" style match)
    hits = [key for key in PEAK_BF16_TFLOPS if key.lower() in device_name.lower()]
    return PEAK_BF16_TFLOPS[max(hits, key=len)] if hits else None


def model_flops_utilisation(flops: float, seconds: float, peak: float) -> float:
    """MFU: the model's FLOPs per second as a fraction of the hardware ``peak`` in TFLOP/s (recomputation not counted)."""
    if seconds <= 0 or peak <= 0:
        raise ValueError(f"need positive seconds and peak, got {seconds} s and {peak} TFLOP/s")
    return flops / seconds / (peak * 1e12)
