"""The model benchmark script: its settings, FLOP counting and table (timings are not asserted)."""
from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

import tcclip
from tcclip.book.benchmarking import count_flops, model_flops_utilisation, peak_tflops

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_model", ROOT / "benchmarks" / "bench_model.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is created
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


@pytest.mark.parametrize("preset", ["gpu24gb", "gpu80gb"])
def test_preset_settings_are_read_from_the_preset_configs(bench, preset):
    from omegaconf import OmegaConf

    raw = OmegaConf.load(ROOT / "tcclip" / "configs" / "preset" / f"{preset}.yaml")
    setting = bench.resolve(preset)
    assert (setting.batch, setting.amp, setting.grad_checkpointing) == (
        raw.train.batch_per_gpu, raw.train.amp, raw.train.grad_checkpointing)
    assert (setting.clip, setting.frames, setting.size, setting.classes) == ("ViT-B-16", 16, 224, 400)


def test_meta_flop_count_equals_the_count_on_real_tensors(bench):
    setting = dataclasses.replace(bench.resolve("tiny-cpu"), batch=2)
    for variant in bench.VARIANTS:
        model = bench._build(setting)
        forward = bench._forward(model, variant)
        video = torch.randn(2, setting.frames, 3, setting.size, setting.size)
        labels = torch.tensor([0, 1])
        # meta tensors take the math attention path: so must the real run for the counts to match
        # (torch counts fused flash-attention kernels with its own formulas, within 1 % here)
        with sdpa_kernel(SDPBackend.MATH):
            real = count_flops(lambda: tcclip.video_text_loss(forward(video), labels).backward())
        assert bench.step_flops(setting, variant) == real > 0


def test_tiny_benchmark_table_and_json(bench, tmp_path, capsys):
    out = tmp_path / "rows.json"
    rows = bench.main(["--settings", "tiny-cpu", "--repeats", "1", "--json", str(out)])
    assert [r["variant"] for r in rows] == ["fast", "literal"]
    fast, literal = rows
    assert fast["status"] == literal["status"] == "ok"
    # the shortcut skips text layers 0..L-2 per video: fewer FLOPs at 100 classes and batch 8
    assert fast["step_gflops"] < literal["step_gflops"]
    assert fast["mfu"] is None  # no MFU on CPU (no known peak)
    table = capsys.readouterr().out
    assert table.count("| tiny-cpu | TC-Tiny | 8 | 64 | 8 | 100 | none | no |") == 2
    saved = json.loads(out.read_text())
    assert saved["rows"] == rows and saved["settings"] == ["tiny-cpu"]


def test_gpu_settings_refuse_to_run_without_cuda(bench):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(SystemExit):
        bench.main(["--settings", "gpu24gb"])


def test_peak_lookup_and_mfu():
    assert peak_tflops("NVIDIA H100 80GB HBM3") == 989.4
    assert peak_tflops("NVIDIA H100 PCIe") == 756.0
    assert peak_tflops("NVIDIA A100-SXM4-80GB") == 312.0
    assert peak_tflops("Tesla T4") is None
    assert model_flops_utilisation(500e12, 2.0, 1000.0) == pytest.approx(0.25)
    with pytest.raises(ValueError):
        model_flops_utilisation(1e12, 0.0, 1000.0)
