"""Where a training step of the miniature spends its time (tiny profile, CPU): issue 14's budget.

    python benchmarks/bench_train_step.py --steps 10 --threads 2

For ViFi-CLIP and TC-CLIP on the tiny profile's world (TC-Tiny, 8 frames, 64 px, the fully
supervised class list) this times, side by side in one process and on the same batches:

* ``data``: one batch of ``--batch`` training clips from the engine's loader (decode, sample,
  augment, collate; ``data.workers=0`` as the plan runs);
* ``vision fwd`` / ``text fwd``: the two towers' forward passes alone, without gradients;
* ``step``: ``tcclip.train.engine.train_step`` on a batch already in memory (forward with
  gradients, loss, backward, AdamW, schedule);
* ``eval / clip``: the evaluation forward pass per clip (no gradients, class features computed
  once per batch of 32).

Medians over ``--steps`` repeats after one warm-up. It prints a table and writes JSON with
``--out``. The world and the tiny CLIP are the profile's (made on first use, minutes).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch


def _median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up: allocator, lazy caches
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(model_name: str, args: argparse.Namespace, weights: str, data_root: str) -> dict:
    from tcclip.train import compose_config, train_views
    from tcclip.train.data import SeededDataset, build_video_dataset, train_loader
    from tcclip.train.distributed import DistInfo
    from tcclip.train.engine import TrainParts, train_step
    from tcclip.train.optim import build_optimizer
    from tcclip.train.protocols import build_run_model

    cfg = compose_config(["protocol=fully_supervised", f"model={model_name}", f"data.root={data_root}",
                          f"model.pretrained={weights}", "data.workers=0"], profile="tiny")
    t_args, _ = train_views(cfg)
    train_set = build_video_dataset(cfg, mode="train", **t_args)
    loader = iter(train_loader(SeededDataset(train_set, repeats=1), DistInfo(), args.batch, seed=0, epoch=0, skip_batches=0, workers=0))
    data_s = _median_seconds(lambda: next(loader), args.steps)
    batch = next(loader)
    model = build_run_model(cfg, train_set.classnames)
    parts = TrainParts(model, build_optimizer(model, lr=3e-4), label_smoothing=0.1)
    model.train()
    step_s = _median_seconds(lambda: train_step(parts, [batch]), args.steps)
    with torch.no_grad():
        vision = model.encode_video(batch["video"])
        vision_s = _median_seconds(lambda: model.encode_video(batch["video"]), args.steps)
        text_s = _median_seconds(lambda: model.encode_text(vision), args.steps)
        model.eval()
        clips = torch.cat([batch["video"]] * 4)  # the evaluation batch of the plan (32)
        eval_s = _median_seconds(lambda: model(clips), max(1, args.steps // 2)) / len(clips)
    return {"model": model_name, "classes": len(train_set.classnames), "batch": args.batch,
            "frames": int(cfg.data.num_frames), "data_s": data_s, "vision_fwd_s": vision_s, "text_fwd_s": text_s,
            "step_s": step_s, "eval_per_clip_s": eval_s}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=10, help="timed repeats of each part (median)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models", default="vifi_clip,tc_clip")
    parser.add_argument("--out", default=None, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    from tcclip.train.protocols import machine_info
    from tcclip.world.assets import clip_weights, synthetic_world
    from tcclip.world.profile import get_profile

    profile = get_profile("tiny")
    synthetic_world(profile)
    weights = clip_weights(profile)
    rows = [measure(name, args, weights, str(profile.data_root)) for name in args.models.split(",")]
    header = ("model", "classes", "data (s)", "vision fwd (s)", "text fwd (s)", "step (s)", "data + step (s)",
              "eval / clip (ms)")
    print(f"| {' | '.join(header)} |\n|{'---|' * len(header)}")
    for r in rows:
        print(f"| {r['model']} | {r['classes']} | {r['data_s']:.3f} | {r['vision_fwd_s']:.3f} | {r['text_fwd_s']:.3f} "
              f"| {r['step_s']:.3f} | {r['data_s'] + r['step_s']:.3f} | {1000 * r['eval_per_clip_s']:.1f} |")
    if args.out:
        from tcclip.io import atomic_write_text

        atomic_write_text(Path(args.out), json.dumps({"command": " ".join(["python", *sys.argv]), "threads": args.threads,
                                                      "machine": machine_info(), "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
