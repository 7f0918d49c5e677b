"""Fast path vs. the literal per-video implementation, side by side in one run.

For each setting it measures a forward pass (eval, no grad), a training step (forward,
backward, AdamW step) and peak memory, for `VideoCLIP.forward` (text layers 0..L-2 once per
class set, VP once per video, the last block's EOT query per (video, class)) and for
`tcclip.models.literal.literal_forward` (the whole text encoder per video, as the reference
release computes it). Both produce the same logits (tests/test_tc_model.py).

    python benchmarks/bench_model.py            # CPU settings (and GPU ones when CUDA is there)
    python benchmarks/bench_model.py --quick    # the tiny setting only

On CPU each measurement runs in its own process so that peak RSS belongs to one variant.
"""
from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time

import torch

SETTINGS = {
    # name: (clip, frames, size, batch, classes, dtype, device)
    "tiny-cpu": ("TC-Tiny", 8, 64, 8, 100, "fp32", "cpu"),
    "vitb16-cpu": ("ViT-B-16", 8, 224, 2, 100, "fp32", "cpu"),
    "vitb16-gpu": ("ViT-B-16", 16, 224, 8, 400, "bf16", "cuda"),
}


def measure(setting: str, variant: str, repeats: int) -> dict:
    import tcclip
    from tcclip.benchmarking import time_call
    from tcclip.models.literal import literal_forward

    clip, frames, size, batch, classes, dtype, device = SETTINGS[setting]
    torch.manual_seed(0)
    names = [f"action number {i}" for i in range(classes)]
    num_context = 16 if clip == "TC-Tiny" else 96
    model = tcclip.build_model("tc_clip", names, clip=clip, pretrained=None, num_frames=frames, num_context=num_context).to(device)
    video = torch.randn(batch, frames, 3, size, size, device=device)
    labels = torch.randint(0, classes, (batch,), device=device)
    forward = model.__call__ if variant == "fast" else (lambda v: literal_forward(model, v))
    autocast = torch.autocast(device, dtype=torch.bfloat16, enabled=dtype == "bf16")
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-6)

    def timed(fn) -> float:
        return time_call(fn, repeats=repeats, device=device)

    def infer():
        model.eval()
        with torch.no_grad(), autocast:
            forward(video)

    def step():
        model.train()
        with autocast:
            loss = tcclip.video_text_loss(forward(video), labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    t_fwd = timed(infer)
    t_step = timed(step)
    if device == "cuda":
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
    return dict(setting=setting, variant=variant, forward_s=t_fwd, step_s=t_step, clips_per_s=batch / t_step, peak_mib=peak)


def run_isolated(setting: str, variant: str, repeats: int) -> dict:
    """One measurement in a fresh interpreter, so that its peak RSS is its own."""
    cmd = [sys.executable, __file__, "--one", setting, variant, "--repeats", str(repeats)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{setting}/{variant} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the tiny CPU setting")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--one", nargs=2, metavar=("SETTING", "VARIANT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:  # child mode of run_isolated
        print(json.dumps(measure(*args.one, args.repeats)))
        return
    settings = ["tiny-cpu"] if args.quick else ["tiny-cpu", "vitb16-cpu"]
    if torch.cuda.is_available() and not args.quick:
        settings.append("vitb16-gpu")
    rows = []
    for setting in settings:
        for variant in ("fast", "literal"):
            if SETTINGS[setting][-1] == "cpu":
                rows.append(run_isolated(setting, variant, args.repeats))
            else:
                rows.append(measure(setting, variant, args.repeats))
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else platform.processor() or platform.machine()
    print(f"\nTC-CLIP fast path vs literal per-video text encoder  (torch {torch.__version__}, {device}, "
          f"{torch.get_num_threads()} CPU threads)\n")
    print("| setting | clip | T | size | B | classes | dtype | variant | forward (s) | train step (s) | clips/s (train) | peak mem (MiB) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        clip, frames, size, batch, classes, dtype, device_name = SETTINGS[r["setting"]]
        print(f"| {r['setting']} | {clip} | {frames} | {size} | {batch} | {classes} | {dtype} | {r['variant']} | "
              f"{r['forward_s']:.3f} | {r['step_s']:.3f} | {r['clips_per_s']:.1f} | {r['peak_mib']:.0f} |")
    for setting in settings:
        fast, literal = (next(r for r in rows if r["setting"] == setting and r["variant"] == v) for v in ("fast", "literal"))
        print(f"{setting}: train step {literal['step_s'] / fast['step_s']:.1f}x faster, forward "
              f"{literal['forward_s'] / fast['forward_s']:.1f}x faster, peak memory {fast['peak_mib']:.0f} vs {literal['peak_mib']:.0f} MiB")
    if args.json:
        machine = dict(
            device=device, torch=torch.__version__, python=platform.python_version(),
            cpu_threads=torch.get_num_threads(), platform=platform.platform(),
            date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        )
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "settings": {k: SETTINGS[k] for k in settings}, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main(sys.argv[1:])
