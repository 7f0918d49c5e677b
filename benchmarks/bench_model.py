"""Fast path vs. the literal per-video implementation, side by side in one run.

For each setting it measures a forward pass (eval, no grad), a training step (forward,
backward, AdamW step), peak memory, the model FLOPs of a training step and, on a GPU whose
peak is known, the model FLOPs utilisation (MFU), for `VideoCLIP.forward` (text layers 0..L-2
once per class set, VP once per video, the last block's EOT query per (video, class)) and for
`tcclip.models.literal.literal_forward` (the whole text encoder per video, as the reference
release computes it). Both produce the same logits (tests/test_tc_model.py).

    python benchmarks/bench_model.py              # CPU settings, and the GPU ones when CUDA is there
    python benchmarks/bench_model.py --quick      # the tiny CPU setting only
    python benchmarks/bench_model.py --settings gpu24gb,gpu80gb   # the single-GPU presets

The GPU settings are ViT-B/16, 16 frames of 224 px, 400 classes (Kinetics-400): `vitb16-gpu`
at batch 8 and the two presets (`tcclip/configs/preset/`), whose batch, AMP and gradient
checkpointing are read from their YAML files, so the table measures what `preset=...` trains.
FLOPs are counted by torch's FlopCounterMode on "meta" tensors (attention on its math backend, so the
count does not depend on the kernel a torch build picks; `tcclip.book.benchmarking.count_flops`) without
gradient checkpointing
(MFU counts the model's work, not the recomputation). Each measurement runs in its own
process so that its peak memory is its own: peak RSS on CPU, `torch.cuda.max_memory_allocated`
on a GPU, where a variant that runs out of memory is reported as such.
"""
from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from typing import Optional

import torch


@dataclass(frozen=True)
class Setting:
    clip: str
    frames: int
    size: int
    batch: int
    classes: int
    amp: str  # none | bf16 | fp16, as train.amp
    device: str
    grad_checkpointing: bool = False
    preset: Optional[str] = None  # batch, amp and checkpointing come from tcclip/configs/preset/<preset>.yaml


SETTINGS = {
    "tiny-cpu": Setting("TC-Tiny", 8, 64, 8, 100, "none", "cpu"),
    "vitb16-cpu": Setting("ViT-B-16", 8, 224, 2, 100, "none", "cpu"),
    "vitb16-gpu": Setting("ViT-B-16", 16, 224, 8, 400, "bf16", "cuda"),
}
PRESETS = ("gpu24gb", "gpu80gb")  # ViT-B/16 on one GPU, as tcclip/configs/preset/<name>.yaml trains it
NAMES = (*SETTINGS, *PRESETS)
CPU_SETTINGS = ("tiny-cpu", "vitb16-cpu")
GPU_SETTINGS = ("vitb16-gpu", *PRESETS)
VARIANTS = ("fast", "literal")


def resolve(name: str) -> Setting:
    """The setting ``name``; a preset's clip length, size, batch, AMP and checkpointing come from its config."""
    if name in SETTINGS:
        return SETTINGS[name]
    from tcclip.train import compose_config

    cfg = compose_config([f"preset={name}"], profile="full")
    return Setting(str(cfg.model.clip), int(cfg.data.num_frames), int(cfg.data.size), int(cfg.train.batch_per_gpu),
                   400, str(cfg.train.amp), "cuda", bool(cfg.train.grad_checkpointing), preset=name)


def _build(s: Setting):
    import tcclip

    torch.manual_seed(0)
    names = [f"action number {i}" for i in range(s.classes)]
    num_context = 16 if s.clip == "TC-Tiny" else 96
    return tcclip.build_model("tc_clip", names, clip=s.clip, pretrained=None, num_frames=s.frames,
                              num_context=num_context)


def _forward(model, variant: str):
    from tcclip.models.literal import literal_forward

    return model.__call__ if variant == "fast" else (lambda v: literal_forward(model, v))


def step_flops(s: Setting, variant: str) -> int:
    """Model FLOPs of one training step (forward + backward) at the setting's batch, counted on meta tensors."""
    import tcclip
    from tcclip.book.benchmarking import count_flops

    model = _build(s).to("meta")
    video = torch.empty(s.batch, s.frames, 3, s.size, s.size, device="meta")
    labels = torch.zeros(s.batch, dtype=torch.long, device="meta")
    forward = _forward(model, variant)
    return count_flops(lambda: tcclip.video_text_loss(forward(video), labels).backward())


def measure(name: str, variant: str, repeats: int) -> dict:
    import tcclip
    from tcclip.book.benchmarking import time_call

    s = resolve(name)
    row = dict(setting=name, variant=variant, **asdict(s), step_gflops=step_flops(s, variant) / 1e9)
    model = _build(s).to(s.device)
    if s.grad_checkpointing:
        model.set_grad_checkpointing(True)
    video = torch.randn(s.batch, s.frames, 3, s.size, s.size, device=s.device)
    labels = torch.randint(0, s.classes, (s.batch,), device=s.device)
    forward = _forward(model, variant)
    amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(s.amp)
    autocast = torch.autocast(s.device, dtype=amp_dtype or torch.bfloat16, enabled=amp_dtype is not None)
    scaler = torch.amp.GradScaler(s.device, enabled=s.amp == "fp16")
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-6)

    def infer():
        model.eval()
        with torch.no_grad(), autocast:
            forward(video)

    def step():
        model.train()
        with autocast:
            loss = tcclip.video_text_loss(forward(video), labels, 0.1)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)

    if s.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    try:
        row["forward_s"] = time_call(infer, repeats=repeats, device=s.device)
        row["step_s"] = time_call(step, repeats=repeats, device=s.device)
    except torch.cuda.OutOfMemoryError:
        row.update(status="out of memory", forward_s=None, step_s=None, clips_per_s=None,
                   peak_mib=torch.cuda.max_memory_allocated() / 2**20)
        return row
    row["status"] = "ok"
    row["clips_per_s"] = s.batch / row["step_s"]
    if s.device == "cuda":
        row["peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
        row["reserved_mib"] = torch.cuda.max_memory_reserved() / 2**20
    else:
        row["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
    return row


def run_isolated(name: str, variant: str, repeats: int) -> dict:
    """One measurement in a fresh interpreter, so that its peak memory is its own."""
    cmd = [sys.executable, __file__, "--one", name, variant, "--repeats", str(repeats)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{name}/{variant} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def main(argv=None) -> list[dict]:
    from tcclip.book.benchmarking import model_flops_utilisation, peak_tflops

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the tiny CPU setting")
    parser.add_argument("--settings", help=f"comma-separated settings to run, from {', '.join(NAMES)}")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peak-tflops", type=float,
                        help="the device's dense bf16 peak for MFU (default: looked up from the GPU's name)")
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--one", nargs=2, metavar=("SETTING", "VARIANT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:  # child mode of run_isolated
        print(json.dumps(measure(*args.one, args.repeats)))
        return []
    if args.settings:
        settings = [n.strip() for n in args.settings.split(",") if n.strip()]
        unknown = [n for n in settings if n not in NAMES]
        if unknown:
            parser.error(f"unknown setting(s) {unknown}; choose from {list(NAMES)}")
    else:
        settings = ["tiny-cpu"] if args.quick else list(CPU_SETTINGS)
        if torch.cuda.is_available() and not args.quick:
            settings += GPU_SETTINGS
    if any(resolve(n).device == "cuda" for n in settings) and not torch.cuda.is_available():
        parser.error("the GPU settings need CUDA, which this machine does not have")
    cuda = torch.cuda.is_available()
    device = torch.cuda.get_device_name() if cuda else platform.processor() or platform.machine()
    peak = args.peak_tflops or (peak_tflops(device) if cuda else None)
    rows = []
    for name in settings:
        for variant in VARIANTS:
            row = run_isolated(name, variant, args.repeats)
            row["mfu"] = (model_flops_utilisation(row["step_gflops"] * 1e9, row["step_s"], peak)
                          if row["device"] == "cuda" and peak and row["step_s"] else None)
            rows.append(row)
    print(f"\nTC-CLIP fast path vs literal per-video text encoder  (torch {torch.__version__}, {device}, "
          f"{torch.get_num_threads()} CPU threads" + (f", MFU against {peak:g} TFLOP/s bf16" if peak else "") + ")\n")
    print("| setting | clip | T | size | B | classes | amp | grad ckpt | variant | forward (s) | train step (s) "
          "| clips/s (train) | peak mem (MiB) | GFLOPs/step | MFU |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        step = _fmt(r["step_s"], ".3f") if r["status"] == "ok" else r["status"]
        mfu = f"{100 * r['mfu']:.1f} %" if r["mfu"] else "-"
        print(f"| {r['setting']} | {r['clip']} | {r['frames']} | {r['size']} | {r['batch']} | {r['classes']} | "
              f"{r['amp']} | {'yes' if r['grad_checkpointing'] else 'no'} | {r['variant']} | "
              f"{_fmt(r['forward_s'], '.3f')} | {step} | {_fmt(r['clips_per_s'], '.1f')} | {r['peak_mib']:.0f} | "
              f"{r['step_gflops']:.0f} | {mfu} |")
    for name in settings:
        fast, literal = (next(r for r in rows if r["setting"] == name and r["variant"] == v) for v in VARIANTS)
        if fast["step_s"] and literal["step_s"]:
            print(f"{name}: train step {literal['step_s'] / fast['step_s']:.1f}x faster, forward "
                  f"{literal['forward_s'] / fast['forward_s']:.1f}x faster, peak memory {fast['peak_mib']:.0f} vs "
                  f"{literal['peak_mib']:.0f} MiB, {literal['step_gflops'] / fast['step_gflops']:.1f}x fewer FLOPs")
        else:
            print(f"{name}: fast {fast['status']}, literal {literal['status']}")
    if args.json:
        machine = dict(
            device=device, torch=torch.__version__, python=platform.python_version(),
            cpu_threads=torch.get_num_threads(), platform=platform.platform(), peak_tflops=peak,
            date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        )
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "settings": settings, "rows": rows}, f, indent=2)
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
