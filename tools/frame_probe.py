"""Can TC-Tiny's vision tower learn what one frame of the world shows, and how fast?

    python tools/frame_probe.py --task shape --steps 1600 --every 200 --out results/miniature/learning/probe_shape.json
    python tools/frame_probe.py --task pattern --steps 1600 --every 200 --out results/miniature/learning/probe_pattern.json

Issue 14 asks whether the tiny CLIP's blindness to shape (its zero-shot predictions name the right
colour of a static object 89 % of the time and the right shape at chance) is a matter of budget or
of the model. This takes the contrastive pretraining and the text encoder out of the question:
TC-Tiny's vision tower, randomly initialised as the pretraining starts it (or loaded from
``--weights``), plus a linear head, trained with plain cross-entropy on single frames.

* ``--task shape``: frames of the world's appearance classes, drawn by the world's own renderer
  (in world v2, colour x {circle, square, triangle}; since v3, colour x {circle, striped circle,
  checkered circle}), with the videos' nuisance: background, noise, size, position, rotation,
  distractors.
* ``--task pattern``: the same nuisance and colours, a disc whose *fill* is the class (solid,
  hollow, striped, checkered): an attribute that every 8-pixel patch of the object shows. The
  results of issue 14 (``results/miniature/learning/probe_pattern.json``) drew these by hand
  before world v3 had them; now the world's renderer draws them (``render_object_frame``; the
  hollow disc is the world's ring, whose hole is 0.5 of its radius where the hand-drawn one's
  was 0.55, and the noise now lies over the object too, as in the videos).

Accuracy is measured on held-out frames every ``--every`` steps, with the share of predictions
naming the right colour and the right second attribute (shape / pattern). Writes a JSON curve.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from open_clip.constants import OPENAI_DATASET_MEAN as MEAN, OPENAI_DATASET_STD as STD

#: The probe's fill patterns, as the world's shapes (the hollow disc is the world's ring).
PATTERN_SHAPES = {"solid": "circle", "hollow": "ring", "striped": "striped circle",
                  "checkered": "checkered circle"}
PATTERNS = tuple(PATTERN_SHAPES)


def pattern_frame(rng: np.random.Generator, colour: str, pattern: str, size: int = 64) -> np.ndarray:
    """One uint8 (H, W, 3) frame: a disc of ``colour`` filled with ``pattern``, with the world's nuisance."""
    from tcclip.world import synthetic as syn

    return syn.render_object_frame(colour, PATTERN_SHAPES[pattern], rng, size, size)


def make_frames(task: str, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(frames uint8 [n, H, W, 3], labels [n], colour id per class, attribute id per class)."""
    from tcclip.world import synthetic as syn

    colours = list(syn.COLOURS)
    labels = np.random.default_rng(seed).integers(0, 1 << 30, size=n)
    if task == "shape":
        specs = [s for s in syn.build_classes() if s.family == "appearance"]
        shapes = sorted({s.shape for s in specs})
        labels = labels % len(specs)
        frames = [syn.render_video(specs[k], np.random.default_rng([seed, 1, i]), frames=(1, 1))[0]
                  for i, k in enumerate(labels)]
        colour_of = [colours.index(s.colour) for s in specs]
        attr_of = [shapes.index(s.shape) for s in specs]
    elif task == "pattern":
        combos = [(c, p) for c in colours for p in PATTERNS]
        labels = labels % len(combos)
        frames = [pattern_frame(np.random.default_rng([seed, 1, i]), *combos[k]) for i, k in enumerate(labels)]
        colour_of = [colours.index(c) for c, _ in combos]
        attr_of = [PATTERNS.index(p) for _, p in combos]
    else:
        raise ValueError(f"--task {task!r}: expected 'shape' or 'pattern'")
    return np.stack(frames), labels, np.array(colour_of), np.array(attr_of)


def probe(task: str, steps: int, every: int, n: int = 4000, holdout: int = 800, batch: int = 64, lr: float = 1e-3,
          weights: str | None = None, seed: int = 0) -> dict:
    """Train TC-Tiny's vision tower + a linear head on frames of ``task``; the held-out curve."""
    import open_clip

    from tcclip.models.backbone import register_tiny_configs

    torch.manual_seed(seed)
    frames, labels, colour_of, attr_of = make_frames(task, n, seed)
    x = torch.tensor(frames).permute(0, 3, 1, 2).float() / 255.0
    x = (x - torch.tensor(MEAN)[:, None, None]) / torch.tensor(STD)[:, None, None]
    y = torch.tensor(labels)
    n_train = n - holdout
    register_tiny_configs()
    clip = open_clip.create_model("TC-Tiny", pretrained=None, force_quick_gelu=True, load_weights=False)
    if weights:
        clip.load_state_dict(torch.load(weights, weights_only=True))
    vision = clip.visual
    head = torch.nn.Linear(int(vision.output_dim), len(colour_of))
    opt = torch.optim.AdamW([*vision.parameters(), *head.parameters()], lr=lr, weight_decay=0.05)
    warmup = max(1, min(50, steps // 10))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * s / steps)))

    def evaluate() -> dict:
        vision.eval()
        with torch.no_grad():
            pred = torch.cat([head(vision(chunk)) for chunk in x[n_train:].split(256)]).argmax(1).numpy()
        vision.train()
        true = labels[n_train:]
        return {"top1": round(float((pred == true).mean()) * 100, 2),
                "colour_right": round(float((colour_of[pred] == colour_of[true]).mean()) * 100, 2),
                "attribute_right": round(float((attr_of[pred] == attr_of[true]).mean()) * 100, 2)}

    curve = [{"step": 0, **evaluate()}]
    started, g = time.perf_counter(), torch.Generator().manual_seed(seed)
    losses = []
    for step in range(1, steps + 1):
        idx = torch.randint(n_train, (batch,), generator=g)
        loss = F.cross_entropy(head(vision(x[idx])), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if step % every == 0 or step == steps:
            curve.append({"step": step, "loss": round(float(np.mean(losses[-every:])), 4), **evaluate()})
            print(task, curve[-1], f"{time.perf_counter() - started:.0f}s", flush=True)
    return {"task": task, "classes": len(colour_of), "chance_top1": round(100 / len(colour_of), 2),
            "train_frames": n_train, "heldout_frames": holdout, "batch": batch, "lr": lr, "weights": weights,
            "seed": seed, "threads": torch.get_num_threads(), "seconds": round(time.perf_counter() - started, 1),
            "load_average": [round(v, 2) for v in os.getloadavg()], "torch": torch.__version__, "curve": curve}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--task", choices=("shape", "pattern"), default="shape")
    p.add_argument("--steps", type=int, default=1600)
    p.add_argument("--every", type=int, default=200)
    p.add_argument("--frames", type=int, default=4000, help="frames drawn (the last --holdout are held out)")
    p.add_argument("--holdout", type=int, default=800)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weights", default=None, help="start from these TC-Tiny weights (default: random, as pretraining)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=None, help="write the curve here (JSON)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    result = probe(args.task, args.steps, args.every, args.frames, args.holdout, args.batch, args.lr, args.weights)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
