"""Does training learn on the synthetic world? Learning curves of ViFi-CLIP and TC-CLIP (tiny profile).

    python tools/learning_check.py --steps 600 --every 100 --out results/miniature/learning

For each model this trains the fully supervised protocol of the tiny profile (TC-Tiny, the
synthetic world) with the miniature's schedule (``tcclip.book.experiments.Settings``: batch 8,
lr 3e-4, hard labels) and evaluates, before the first step (the untrained model: CLIP weights,
fresh prompts) and every ``--every`` steps, the top-1 on ``--probe`` training clips (test views:
does the model fit what it trains on?) and on the validation list (does it carry to new
clips?). Plain CLIP (no training) is evaluated once on both as the reference. Writes
``<out>/learning.json`` (curves, loss history, wall time, load average, machine) and
``<out>/learning.png``. The engine is ``tcclip.train``'s, unchanged: the training-probe curve is
its ``eval.train_probe``. A killed run resumes (``resume=auto``) where its last epoch ended.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def check_every(steps: int, every: int, n_train: int, batch: int) -> None:
    """The engine's epoch is at most one pass over the training list (``protocol.steps_per_epoch``
    caps it), so an evaluation interval longer than a pass would silently train fewer steps: the
    plan's rule (``tcclip.book.experiments.steps_per_epoch``), as a command-line error."""
    from tcclip.book.experiments import steps_per_epoch

    try:
        steps_per_epoch(steps, n_train // batch, curve_every=every)
    except ValueError as err:
        raise SystemExit(f"--steps {steps} / --every {every} on {n_train} training clips: {err}") from None


def learning_run(model_name: str, args: argparse.Namespace, weights: str, data_root: str) -> dict:
    from tcclip.train import compose_config, evaluate, train_views
    from tcclip.train.data import build_video_dataset
    from tcclip.train.distributed import init_distributed
    from tcclip.train.engine import train
    from tcclip.train.protocols import build_run_model, train_probe

    output = Path(args.out) / "work" / model_name
    overrides = [
        "protocol=fully_supervised", f"model={model_name}", f"seed={args.seed}", f"output={output}", "resume=auto",
        f"device={args.device}", f"data.root={data_root}", f"model.pretrained={weights}",
        f"protocol.total_batch={args.batch}", f"train.batch_per_gpu={args.batch}", f"protocol.lr={args.lr}",
        f"protocol.min_lr={args.lr / 100}", "protocol.warmup_epochs=0", f"protocol.steps_per_epoch={args.every}",
        f"protocol.epochs={args.steps // args.every}", "eval.every_epochs=1", f"eval.train_probe={args.probe}",
        "eval.batch_size=32", "log.csv=false", "log.progress=false", "train.mixup=0", "train.cutmix=0",
        f"data.workers={args.workers}", *args.override,
    ]
    cfg = compose_config(overrides, profile="tiny")
    info = init_distributed(str(cfg.device))
    t_args, v_args = train_views(cfg)
    train_set = build_video_dataset(cfg, mode="train", **t_args)
    check_every(args.steps, args.every, len(train_set), args.batch)
    val_set = build_video_dataset(cfg, mode="test", num_clips=1, num_crops=1, **v_args)
    probe = train_probe(cfg, t_args)
    model = build_run_model(cfg, train_set.classnames)
    started, load_before = time.time(), _load()
    # with a training probe the engine also evaluates the model before its first step (step 0)
    summary = train(cfg, model, train_set, val_set, info, output, train_probe=probe)
    curve = [{"step": v["step"], "top1": v["top1"], "train_top1": v["train_top1"]}
             for v in summary["validations"] if "train_top1" in v]
    # top-1 per family of the world with the last weights, on the probe and the validation list
    from tcclip.world.synthetic import build_classes

    family = {c.name: c.family for c in build_classes()}
    per_family = {}
    for split, dataset in (("train", probe), ("val", val_set)):
        rows = evaluate(model, dataset, batch_size=32, info=info, return_predictions=True)["predictions"]
        names, hits = train_set.classnames, {}
        for r in rows:
            hits.setdefault(family[names[r["label"]]], []).append(r["pred"] == r["label"])
        per_family[split] = {f: round(100 * sum(h) / len(h), 1) for f, h in sorted(hits.items())}
    return {"model": model_name, "curve": curve, "per_family_last": per_family, "losses": [h["loss"] for h in summary["history"]],
            "wall_s": round(time.time() - started, 1), "load_before": load_before, "load_after": _load(),
            "num_train": len(train_set), "num_val": len(val_set), "num_probe": len(probe),
            "num_classes": len(train_set.classnames), "finished": summary["finished"]}


def plain_clip(args: argparse.Namespace, weights: str, data_root: str) -> dict:
    """Plain CLIP (no training) on the same probe and validation clips: the reference."""
    from tcclip.train import compose_config, evaluate, train_views
    from tcclip.train.data import build_video_dataset
    from tcclip.train.protocols import build_run_model, train_probe

    cfg = compose_config(["protocol=fully_supervised", "model=clip", f"device={args.device}",
                          f"data.root={data_root}", f"model.pretrained={weights}",
                          f"eval.train_probe={args.probe}", f"data.workers={args.workers}"], profile="tiny")
    t_args, v_args = train_views(cfg)
    val_set = build_video_dataset(cfg, mode="test", num_clips=1, num_crops=1, **v_args)
    device = torch.device("cuda" if args.device.startswith("cuda") else "cpu")
    model = build_run_model(cfg, val_set.classnames).to(device)
    return {"top1": evaluate(model, val_set, batch_size=32)["top1"],
            "train_top1": evaluate(model, train_probe(cfg, t_args), batch_size=32)["top1"]}


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tcclip.book.plotting import set_book_style

    set_book_style()
    fig, (ax, ax_loss) = plt.subplots(1, 2, figsize=(11, 4))
    colours = {"vifi_clip": "C0", "tc_clip": "C1"}
    for run in results["runs"]:
        steps = [p["step"] for p in run["curve"]]
        c = colours.get(run["model"], None)
        ax.plot(steps, [p["train_top1"] for p in run["curve"]], "--o", color=c, label=f"{run['model']} training clips")
        ax.plot(steps, [p["top1"] for p in run["curve"]], "-o", color=c, label=f"{run['model']} validation")
        ax_loss.plot(range(1, len(run["losses"]) + 1), run["losses"], color=c, alpha=0.7, label=run["model"])
    clip = results["plain_clip"]
    ax.axhline(clip["top1"], color="grey", ls="-", lw=1, label="plain CLIP (untrained), validation")
    ax.axhline(results["chance"], color="black", ls=":", lw=1, label="chance")
    ax.set(xlabel="optimizer steps (batch %d)" % results["args"]["batch"], ylabel="top-1 (%)", ylim=(0, 100),
           title="step 0 = the untrained model")
    ax.legend(fontsize=7)
    ax_loss.set(xlabel="optimizer step", ylabel="training loss", title="loss per step")
    ax_loss.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--every", type=int, default=100, help="evaluate every N steps")
    parser.add_argument("--probe", type=int, default=130, help="training clips evaluated at each point")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--models", default="vifi_clip,tc_clip")
    parser.add_argument("--out", default="results/miniature/learning")
    parser.add_argument("--weights", default=None, help="CLIP weights file (default: the tiny profile's, made on first use)")
    parser.add_argument("--override", action="append", default=[],
                        help="extra run-config override (repeatable), e.g. --override train.label_smoothing=0")
    args = parser.parse_args(argv)

    from tcclip.train.protocols import git_commit, machine_info
    from tcclip.world.assets import clip_weights, synthetic_world
    from tcclip.world.profile import get_profile

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    profile = get_profile("tiny")
    world = synthetic_world(profile)
    weights = args.weights or clip_weights(profile)
    assets_s = round(time.time() - started, 1)
    data_root = str(profile.data_root)
    results = {"command": " ".join(["python", "tools/learning_check.py", *(argv or sys.argv[1:])]),
               "git_commit": git_commit(), "machine": machine_info(), "args": vars(args), "assets_s": assets_s,
               "world_hash": world.param_hash, "chance": 100.0 / len(world.classes),
               "plain_clip": plain_clip(args, weights, data_root), "runs": []}
    for name in args.models.split(","):
        results["runs"].append(learning_run(name, args, weights, data_root))
        print(json.dumps({k: v for k, v in results["runs"][-1].items() if k != "losses"}), flush=True)
    results["wall_s"] = round(time.time() - started, 1)
    from tcclip.io import atomic_write_text

    atomic_write_text(out / "learning.json", json.dumps(results, indent=1))
    plot(results, out / "learning.png")
    print(f"plain CLIP: {results['plain_clip']}; chance {results['chance']:.1f}; wall {results['wall_s']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
