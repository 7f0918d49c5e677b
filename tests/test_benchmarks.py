"""The model benchmark script: its settings, FLOP counting and table (timings are not asserted)."""
from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from conftest import load_tool

import tcclip
from tcclip.book.benchmarking import count_flops, model_flops_utilisation, peak_tflops

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    try:
        yield load_tool("bench_model", folder="benchmarks")
    finally:
        sys.modules.pop("bench_model", None)


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
    for variant in ("tc_clip", "vifi_clip", "literal"):
        torch.manual_seed(0)
        model = tcclip.build_model(bench.KIND[variant], bench.class_names(setting), clip=setting.clip, pretrained=None,
                                   num_frames=setting.frames, num_context=bench.num_context(setting.clip))
        forward = bench.variant_forward(model, variant)
        video = torch.randn(2, setting.frames, 3, setting.size, setting.size)
        labels = torch.tensor([0, 1])
        real = count_flops(lambda: tcclip.video_text_loss(forward(video), labels).backward())
        assert bench.step_flops(setting, variant) == real > 0
    assert bench.step_flops(setting, "reference") is None  # the reference's code is timed, not counted


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("masked", [False, True])
def test_count_flops_counts_attention_whatever_kernel_torch_picks(dtype, masked):
    # unmasked float32 attention is what a fused CPU kernel takes (torch 2.14 counts it as 0 FLOPs)
    batch, heads, length, dim = 2, 3, 20, 8
    q, k, v = (torch.randn(batch, heads, length, dim, dtype=dtype) for _ in range(3))
    mask = torch.ones(length, length, dtype=torch.bool).tril() if masked else None
    counted = count_flops(lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=mask))
    assert counted == 2 * 2 * batch * heads * length * length * dim  # q k^T and softmax(.) v, 2 FLOPs per MAC


def test_tiny_benchmark_table_and_json(bench, tmp_path, capsys):
    out = tmp_path / "rows.json"
    rows = bench.main(["--settings", "tiny-cpu-small", "--variants", "tc_clip,literal", "--repeats", "1", "--json",
                       str(out)])["rows"]
    assert [r["variant"] for r in rows] == ["tc_clip", "literal"]
    fast, literal = rows
    assert fast["status"] == literal["status"] == "ok"
    # same weights, same input: the literal path must give the shortcut's logits before anything is timed
    assert fast["logits_max_abs_diff"] is None and literal["logits_max_abs_diff"] <= bench.LOGIT_ATOL["none"]
    # the shortcut skips text layers 0..L-2 per video: fewer FLOPs (10 classes, batch 2)
    assert fast["step_gflops"] < literal["step_gflops"]
    assert fast["mfu"] is None  # no MFU on CPU (no known peak)
    # evaluation forward FLOPs, counted on the variants' own code: the literal path runs the text per video
    assert 0 < fast["forward_gflops"] < literal["forward_gflops"]
    printed = capsys.readouterr().out
    assert printed.count("| tiny-cpu-small | TC-Tiny | 4 | 64 | 2 | 10 | none | ") == 2
    assert "tiny-cpu-small, speed-up over literal" in printed
    saved = json.loads(out.read_text())
    assert saved["rows"] == rows and saved["settings"] == ["tiny-cpu-small"]
    assert saved["machine"]["torch"] == torch.__version__ and len(saved["load_at_start"]) == 3


def test_reference_variants_are_skipped_with_a_message_without_a_checkout(bench, capsys, monkeypatch):
    measured = []
    monkeypatch.setattr(bench, "run_isolated", lambda name, variant, *rest: measured.append(variant) or dict(
        setting=name, variant=variant, status="ok", device="cpu", step_s=None, step_gflops=None, forward_s=None,
        peak_mib=1.0,
        **{k: v for k, v in dataclasses.asdict(bench.resolve(name)).items() if k != "device"}))
    # the weight files and the commit: not needed here
    monkeypatch.setattr(bench.subprocess, "run", lambda cmd, **k: bench.subprocess.CompletedProcess(cmd, 0, "abc\n", ""))
    monkeypatch.setattr(bench, "print_table", lambda rows: None)
    rows = bench.main(["--settings", "tiny-cpu"])["rows"]
    assert measured == ["tc_clip", "vifi_clip", "literal"]
    skipped = [r for r in rows if r["variant"] in bench.REFERENCE_VARIANTS]
    assert [r["status"] for r in skipped] == [bench.NO_REFERENCE] * 2
    assert "tiny-cpu/reference: skipped: no --reference-dir" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # asked for by name, it is an error, not a skip
        bench.main(["--settings", "tiny-cpu", "--variants", "reference"])


def test_reference_runs_at_its_own_size_only(bench, tmp_path):
    assert bench.reference_unsupported(bench.resolve("vitb16-2x100")) is None
    assert "224" in bench.reference_unsupported(bench.resolve("tiny-cpu"))
    with pytest.raises(SystemExit, match="not a checkout"):
        bench.check_reference_dir(str(tmp_path))


def test_logit_check_rechecks_only_far_videos_in_float64_and_fails_on_a_float64_difference(bench):
    ours = torch.zeros(3, 5)
    theirs = ours.clone()
    theirs[0, 1] = 2e-4  # fp32 rounding: within LOGIT_ATOL
    theirs[2, 4] = 0.02  # a near-tie decided the other way, or a real difference: only fp64 can tell
    asked = []

    def agree_in_fp64(videos):
        asked.append(videos)
        return 1e-14

    out = bench.check_logits(theirs, ours, 1e-3, agree_in_fp64)
    assert asked == [[2]] and out["float64_rechecked_videos"] == [2]
    assert out["logits_max_abs_diff"] == pytest.approx(0.02) and out["logits_max_abs_diff_float64"] == 1e-14
    with pytest.raises(RuntimeError, match="in fp64"):  # still apart in fp64: a different computation
        bench.check_logits(theirs, ours, 1e-3, lambda videos: 1e-3)
    with pytest.raises(RuntimeError, match="videos \\[2\\]"):  # no fp64 check offered (this package's variants)
        bench.check_logits(theirs, ours, 1e-3)
    close = bench.check_logits(ours + 1e-4, ours, 1e-3, lambda videos: pytest.fail("nothing to recheck"))
    assert close["float64_rechecked_videos"] == [] and close["logits_max_abs_diff_float64"] is None


def test_reference_to_float64_switches_dtype_attributes_and_fp32_layernorm_guards(bench):
    class GuardedLayerNorm(torch.nn.LayerNorm):  # the shape of the reference's fp16 guard
        def forward(self, x):
            return super().forward(x.type(torch.float32)).type(x.dtype)

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.dtype = torch.float32
            self.norm = GuardedLayerNorm(4)

        def forward(self, x):
            return self.norm(x.type(self.dtype))

    model = Model()
    bench.reference_to_float64(model)
    x = torch.randn(2, 4, dtype=torch.float64)
    assert model.dtype == torch.float64 and model(x).dtype == torch.float64
    assert torch.allclose(model(x), F.layer_norm(x, (4,), model.norm.weight, model.norm.bias), atol=1e-15, rtol=0)


def test_marginal_cost_is_the_slope_between_two_batches(bench):
    rows = [dict(frames=2, variant=v, batch=b, step_s=s) for v, b, s in
            [("tc_clip", 2, 3.0), ("tc_clip", 6, 7.0), ("vifi_clip", 2, 2.0), ("vifi_clip", 6, 4.0)]]
    for r, gflops in zip(rows, (30.0, 78.0, 20.0, 60.0)):
        r["step_gflops"] = gflops
    costs = {c["variant"]: c for c in bench.marginal_costs(rows, (2, 6))}
    assert costs["tc_clip"]["seconds_per_video"] == pytest.approx(1.0)
    assert costs["vifi_clip"]["seconds_per_video"] == pytest.approx(0.5)
    assert costs["tc_clip"]["ratio_to_vifi"] == pytest.approx(2.0) and costs["vifi_clip"]["ratio_to_vifi"] is None
    assert costs["tc_clip"]["gflops_per_video"] == pytest.approx(12.0)
    assert costs["tc_clip"]["flops_ratio_to_vifi"] == pytest.approx(1.2)


def test_marginal_cost_over_passes_is_the_median_of_each_pass(bench):
    """With --passes, each pass's slope and ratio are kept and the median reported: one noisy pass
    (here pass 2, where ViFi-CLIP's large batch ran slow) does not set the ratio."""
    steps = {0: (3.0, 7.0, 2.0, 4.0), 1: (3.0, 6.0, 2.0, 4.0), 2: (3.0, 7.0, 2.0, 8.0)}
    rows = [dict(frames=8, variant=v, batch=b, step_s=t, **{"pass": p})
            for p, times in steps.items()
            for (v, b), t in zip((("tc_clip", 2), ("tc_clip", 6), ("vifi_clip", 2), ("vifi_clip", 6)), times)]
    costs = {c["variant"]: c for c in bench.marginal_costs(rows, (2, 6))}
    assert costs["tc_clip"]["seconds_per_pass"] == pytest.approx([1.0, 0.75, 1.0])
    assert costs["tc_clip"]["ratio_per_pass"] == pytest.approx([2.0, 1.5, 1.0 / 1.5])
    assert costs["tc_clip"]["ratio_to_vifi"] == pytest.approx(1.5)
    assert costs["vifi_clip"]["seconds_per_video"] == pytest.approx(0.5)


def test_interleaved_summary_gives_each_round_its_own_ratio(bench):
    steps = {"tc_clip-B2": [2.0, 2.0, 2.0], "tc_clip-B4": [4.4, 8.0, 4.2],
             "vifi_clip-B2": [1.0, 1.0, 1.0], "vifi_clip-B4": [3.0, 3.0, 3.0]}
    per_round = {"tc_clip": [1.2, 3.0, 1.1], "vifi_clip": [1.0, 1.0, 1.0]}
    result = dict(frames=8, batches=[2, 4], step_s=steps, seconds_per_video_per_round=per_round)
    costs = {c["variant"]: c for c in bench.interleaved_summary(result)}
    assert costs["tc_clip"]["ratio_per_round"] == pytest.approx([1.2, 3.0, 1.1])
    assert costs["tc_clip"]["median_ratio_of_rounds"] == pytest.approx(1.2)  # one slow round does not decide it
    assert costs["tc_clip"]["seconds_per_video"] == pytest.approx((4.4 - 2.0) / 2)  # from the cells' medians
    assert costs["tc_clip"]["ratio_to_vifi"] == pytest.approx(1.2)
    assert costs["vifi_clip"]["ratio_to_vifi"] is None and costs["vifi_clip"]["median_ratio_of_rounds"] is None


@pytest.mark.parametrize("argv", [["--interleave", "3"], ["--marginal", "2", "--interleave", "0"],
                                  ["--quick", "--passes", "0"]])
def test_interleave_and_passes_refuse_what_they_cannot_run(bench, argv):
    with pytest.raises(SystemExit):
        bench.main(argv)


def test_passes_alternate_the_order_of_the_variants(bench):
    order = bench.run_order(["a", "b"], ["tc_clip", "vifi_clip"], 2)
    assert order == [(0, "a", "tc_clip"), (0, "a", "vifi_clip"), (0, "b", "tc_clip"), (0, "b", "vifi_clip"),
                     (1, "a", "vifi_clip"), (1, "a", "tc_clip"), (1, "b", "vifi_clip"), (1, "b", "tc_clip")]
    # the reference's rows are checked against this package's, which must come first
    assert [v for _, _, v in bench.run_order(["a"], ["tc_clip", "reference"], 2)] == ["tc_clip", "reference"] * 2


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
