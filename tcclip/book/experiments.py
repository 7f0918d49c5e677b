"""The experiments in miniature: every protocol, the main ablations and a frame-order test on CPU.

``python -m tcclip experiments [--quick] [--out results/miniature]`` runs, under the tiny
profile (TC-Tiny on the synthetic world), a plan of *units*: one unit is one training run of
``tcclip.train.run`` (or one evaluation of plain CLIP) for one protocol, model, variant and
seed. Each finished unit is written to ``<out>/runs/<name>.json`` together with a hash of
everything that determines it (its settings, the world, the CLIP weights), so a killed run
continues where it stopped and a changed setting reruns only what it touches. After every unit
``<out>/results.json`` is rewritten (atomically) with all records, the per-seed metrics and
their mean +- std; at the end the figures ``<out>/*.png`` are drawn.

Training, evaluation and the protocols are ``tcclip.train``'s; this module only plans the
runs, adds the frame-order test (the trained model evaluated on shuffled and time-reversed
clips) and aggregates. The book's chapter 10 reads the results with :func:`load_results` and
draws them with the same plotting functions.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import torch
from torch import nn

log = logging.getLogger("tcclip.book.experiments")

__all__ = ["Settings", "Unit", "settings_for", "plan", "unit_hash", "FrameOrder", "run_unit", "run_experiments",
           "load_results", "results_frame", "summary_frame", "plot_main", "plot_ablations", "plot_frame_order",
           "main"]

RESULTS_NAME = "results.json"
SCHEMA_VERSION = 1
MODELS = ("clip", "vifi_clip", "tc_clip")
FRAME_ORDERS = ("normal", "shuffled", "reversed")


# ----------------------------------------------------------------------------------------
# the plan
# ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    """Everything that sizes the experiments (recorded in the results; part of every unit hash).

    Step counts are optimizer steps of ``batch`` clips. They were planned from the measured
    ~0.3 s per TC-Tiny step (B=8, T=8, 64 px) on a quiet 2-core machine so that the whole plan,
    first-use pretraining and world generation included, stays under 30 minutes.
    """

    world: str = "default"  # synthetic world size: "default" (40 classes) or "tiny" (8)
    seeds: tuple[int, ...] = (0, 1, 2)  # main table
    ablation_seeds: tuple[int, ...] = (0, 1)
    shots: tuple[int, ...] = (2, 4, 8)
    steps: tuple[tuple[str, int], ...] = (("fully_supervised", 50), ("few_shot", 25), ("zero_shot", 30),
                                         ("base2novel", 30))
    # protocols on which all three models run; the others run TC-CLIP only (--quick)
    compared: tuple[str, ...] = ("fully_supervised", "few_shot", "zero_shot", "base2novel")
    batch: int = 8
    test_clips: int = 1  # one view per test video: the budget goes to training, not to views
    ablation_protocol: str = "fully_supervised"
    ablations: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = (
        ("no TC", (("temporal_context", False),)),
        ("no VP", (("video_prompting", False),)),
        ("merge=kmeans", (("merge", "kmeans"),)),
        ("merge=random", (("merge", "random"),)),
        ("merge=tube", (("merge", "tube"),)),
        ("merge=none", (("merge", "none"),)),
        ("k=4", (("num_context", 4),)),
        ("k=32", (("num_context", 32),)),
        ("seed ratio=0.1", (("seed_ratio", 0.1),)),
        ("seed ratio=0.6", (("seed_ratio", 0.6),)),
        ("pos. emb.=joint", (("positional_embedding", "joint"),)),
    )
    # the recipe's mixup / cutmix average two videos' labels; with a few dozen steps they only
    # slow learning down, so the miniature trains on hard labels (label smoothing stays)
    extra_overrides: tuple[str, ...] = ("train.mixup=0", "train.cutmix=0")

    def steps_for(self, protocol: str) -> int:
        return dict(self.steps)[protocol]


#: The name of the default TC-CLIP variant in the ablation table (its runs are the main table's).
DEFAULT_VARIANT = "TC-CLIP (bipartite, k=16, ratio 0.3, spatial)"


def settings_for(quick: bool) -> Settings:
    """The full plan's settings, or the reduced ``--quick`` ones (tiny world, 1 seed, 2 steps)."""
    if not quick:
        return Settings()
    return Settings(world="tiny", seeds=(0,), ablation_seeds=(0,), shots=(2,), compared=("fully_supervised",),
                    steps=(("fully_supervised", 2), ("few_shot", 2), ("zero_shot", 2), ("base2novel", 2)),
                    ablations=(("no TC", (("temporal_context", False),)),))


@dataclass(frozen=True)
class Unit:
    """One run: ``experiment`` is "main" or "ablation"; ``variant`` names the ablation."""

    experiment: str
    protocol: str
    model: str
    seed: int
    steps: int
    variant: str = "default"
    shots: Optional[int] = None
    options: tuple[tuple[str, Any], ...] = ()
    frame_order: bool = False  # also evaluate on shuffled / reversed frames
    pair_metrics: bool = False  # top-1 on the time-reversed class pairs (needs predictions)

    @property
    def name(self) -> str:
        parts = [self.experiment, self.protocol + (f"_K{self.shots}" if self.shots else ""), self.model]
        if self.variant != "default":
            parts.append(self.variant.replace(" ", "_").replace("=", "-").replace(".", ""))
        return "__".join(parts) + f"__seed{self.seed}"


def plan(settings: Settings) -> list[Unit]:
    """The units in the order they run: the main table first (fully supervised with the
    frame-order test, then few-shot, zero-shot, base-to-novel), the ablations last, so that a
    run cut short still holds the most important numbers."""
    units: list[Unit] = []
    for protocol in ("fully_supervised", "few_shot", "zero_shot", "base2novel"):
        steps = settings.steps_for(protocol)
        shots_list: Sequence[Optional[int]] = settings.shots if protocol == "few_shot" else (None,)
        full = protocol == "fully_supervised"
        compared = protocol in settings.compared
        for shots in shots_list:
            # plain CLIP is not trained and its test views are fixed: one evaluation suffices
            if compared:
                units.append(Unit("main", protocol, "clip", settings.seeds[0], 0, shots=shots, pair_metrics=full))
            for seed in settings.seeds:
                for model in ("vifi_clip", "tc_clip") if compared else ("tc_clip",):
                    units.append(Unit("main", protocol, model, seed, steps, shots=shots, frame_order=full,
                                      pair_metrics=full))
    steps = settings.steps_for(settings.ablation_protocol)
    for variant, options in settings.ablations:
        for seed in settings.ablation_seeds:
            units.append(Unit("ablation", settings.ablation_protocol, "tc_clip", seed, steps, variant=variant,
                              options=options, pair_metrics=settings.ablation_protocol == "fully_supervised"))
    return units


def _file_digest(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def unit_hash(unit: Unit, settings: Settings, world_hash: str, weights_digest: str) -> str:
    """What decides a unit's numbers: a record with another hash is stale and is rerun."""
    payload = {"unit": asdict(unit), "batch": settings.batch, "test_clips": settings.test_clips,
               "extra": list(settings.extra_overrides), "world": world_hash, "weights": weights_digest,
               "schema": SCHEMA_VERSION}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


# ----------------------------------------------------------------------------------------
# frame order
# ----------------------------------------------------------------------------------------

class FrameOrder(nn.Module):
    """Wraps a video model so that it sees each clip's frames shuffled or reversed.

    ``order`` is "normal", "reversed" (the T axis flipped) or "shuffled" (an independent random
    permutation of the T axis for every clip, drawn from a generator seeded with ``seed``).
    """

    def __init__(self, model: nn.Module, order: str, seed: int = 0) -> None:
        super().__init__()
        if order not in FRAME_ORDERS:
            raise ValueError(f"frame order must be one of {FRAME_ORDERS}, got {order!r}")
        self.model, self.order = model, order
        self.generator = torch.Generator().manual_seed(seed)

    def forward(self, video: torch.Tensor) -> torch.Tensor:  # video [N, T, 3, H, W]
        if self.order == "reversed":
            video = video.flip(1)
        elif self.order == "shuffled":
            n, t = video.shape[:2]
            perm = torch.stack([torch.randperm(t, generator=self.generator) for _ in range(n)]).to(video.device)
            video = video[torch.arange(n, device=video.device)[:, None], perm]
        return self.model(video)


def reversed_pairs(classnames: Sequence[str]) -> dict[str, str]:
    """{class: its time-reversed partner} for the world's pairs that differ only by time's direction."""
    from tcclip.world.synthetic import build_classes

    present = set(classnames)
    out: dict[str, str] = {}
    for spec in build_classes(list(classnames)):
        if spec.reverse_of and spec.reverse_of in present:
            out[spec.name], out[spec.reverse_of] = spec.reverse_of, spec.name
    return out


def pair_metrics(true_names: Sequence[str], pred_names: Sequence[str], classes: Sequence[str]) -> dict[str, float]:
    """Top-1 (%) on the test videos of the time-reversed pairs among ``classes`` (the world's
    class names), and how often (%) such a video is called its partner (the same clip played
    backwards)."""
    partner = reversed_pairs(classes)
    rows = [(t, p) for t, p in zip(true_names, pred_names) if t in partner]
    if not rows:
        return {}
    correct = sum(t == p for t, p in rows)
    swapped = sum(p == partner[t] for t, p in rows)
    return {"pairs_top1": 100.0 * correct / len(rows), "pairs_partner_rate": 100.0 * swapped / len(rows)}


# ----------------------------------------------------------------------------------------
# running one unit
# ----------------------------------------------------------------------------------------

@dataclass
class Context:
    """Where and on what the units run."""

    out: Path
    settings: Settings
    data_root: str  # the folder holding the world (<data_root>/synthetic)
    world_hash: str
    weights_digest: str
    weights: str
    classnames: list[str] = field(default_factory=list)


def _list_length(cfg, spec: dict) -> int:
    from tcclip.data import get_split
    from tcclip.train.data import resolve_data_root

    args = {k: v for k, v in spec.items() if k != "name"}
    paths = get_split(spec["name"], root=resolve_data_root(cfg, spec["name"]), **args)
    return sum(1 for line in Path(paths.list_file).read_text().splitlines() if line.strip())


def unit_config(unit: Unit, ctx: Context, output: Path):
    """The run config of a unit: the tiny profile plus the miniature schedule."""
    from tcclip.train import compose_config, train_views

    s = ctx.settings
    overrides = [f"protocol={unit.protocol}", f"model={unit.model}", f"seed={unit.seed}", f"output={output}",
                 "resume=auto", f"protocol.total_batch={s.batch}", f"train.batch_per_gpu={s.batch}",
                 "protocol.warmup_epochs=0", "eval.every_epochs=0", f"protocol.test_clips={s.test_clips}",
                 "protocol.test_crops=1", "eval.batch_size=32", "log.csv=false", "log.progress=false",
                 f"eval.save_predictions={str(unit.pair_metrics).lower()}", *s.extra_overrides]
    overrides += [f"data.root={ctx.data_root}", f"model.pretrained={ctx.weights}"]  # what _prepare made
    if unit.shots:
        overrides.append(f"data.shots={unit.shots}")
    overrides += [f"model.options.{k}={json.dumps(v)}" for k, v in unit.options]
    cfg = compose_config(overrides, profile="tiny")
    if unit.model != "clip":
        # unit.steps optimizer steps: whole passes over short lists (few-shot), a capped one otherwise
        n = _list_length(cfg, train_views(cfg)[0])
        per_epoch = max(1, min(unit.steps, n // s.batch))
        cfg.protocol.steps_per_epoch = per_epoch
        cfg.protocol.epochs = math.ceil(unit.steps / per_epoch)
    return cfg


def _frame_order_tests(cfg, checkpoint: str, seed: int, classes: Sequence[str]) -> dict[str, dict[str, float]]:
    """Shuffled and reversed frames: {order: {top1, top5, pairs_top1, pairs_partner_rate}}."""
    from tcclip.train import evaluate, load_eval_model, test_sets
    from tcclip.train.data import build_video_dataset

    (spec,) = test_sets(cfg)
    dataset = build_video_dataset(cfg, mode="test", num_clips=int(cfg.protocol.test_clips), num_crops=1,
                                  **{k: v for k, v in spec.items() if k not in ("key", "group")})
    model = load_eval_model(checkpoint, cfg, dataset.classnames)
    out: dict[str, dict[str, float]] = {}
    # frames in order are the run's own test (its metrics and predictions.csv): not repeated here
    for order in FRAME_ORDERS[1:]:
        res = evaluate(FrameOrder(model, order, seed=seed), dataset, batch_size=int(cfg.eval.batch_size),
                       return_predictions=True)
        preds = res["predictions"]
        names = dataset.classnames
        out[order] = {"top1": res["top1"], "top5": res["top5"],
                      **pair_metrics([names[r["label"]] for r in preds], [names[r["pred"]] for r in preds], classes)}
    return out


def _predictions_pairs(output: Path, classes: Sequence[str]) -> dict[str, float]:
    import csv

    with (output / "predictions.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    return pair_metrics([r["label_name"] for r in rows], [r["pred_name"] for r in rows], classes)


def metrics_of(protocol: str, results: dict) -> dict[str, float]:
    """The flat metrics (all in %) of a ``tcclip.train.run`` result under ``protocol``."""
    summary = results["summary"]
    if protocol == "zero_shot":
        (key,) = [k for k in summary if k.endswith("/top1_mean")]
        out = {"top1": summary[key]}
        if "summary_wise_ft" in results:
            out["top1_wise_ft"] = results["summary_wise_ft"][key]
        return out
    if protocol == "base2novel":
        return {"base_top1": summary["base_top1"], "novel_top1": summary["novel_top1"], "hm": summary["harmonic_mean"]}
    return {"top1": summary["top1"], "top5": summary["top5"]}


def run_unit(unit: Unit, ctx: Context) -> dict:
    """Run one unit (training, tests, frame-order tests); returns its record."""
    from tcclip.train import run

    work = ctx.out / "work" / unit.name
    cfg = unit_config(unit, ctx, work)
    started = time.time()
    results = run(cfg, command=["python", "-m", "tcclip", "experiments", f"(unit {unit.name})"])
    metrics = metrics_of(unit.protocol, results)
    if unit.pair_metrics:
        metrics.update(_predictions_pairs(work, ctx.classnames))
    if unit.frame_order:
        orders = _frame_order_tests(cfg, results["tested_checkpoint"], unit.seed, ctx.classnames)
        for order, values in orders.items():
            metrics.update({f"{k}_{order}": v for k, v in values.items() if k != "top5"})
    record = {"unit": asdict(unit), "name": unit.name, "metrics": metrics, "tests": results.get("tests"),
              "tests_wise_ft": results.get("tests_wise_ft"), "wall_time_s": time.time() - started,
              "schedule": (results.get("train") or {}).get("schedule"),
              "final_loss": _final_loss(results), "git_commit": results.get("git_commit"),
              "machine": results.get("machine"), "settings": asdict(ctx.settings)}
    shutil.rmtree(work, ignore_errors=True)  # checkpoints are not part of the results
    return record


def _final_loss(results: dict) -> Optional[float]:
    history = (results.get("train") or {}).get("history") or []
    return float(history[-1]["loss"]) if history and "loss" in history[-1] else None


# ----------------------------------------------------------------------------------------
# the whole plan
# ----------------------------------------------------------------------------------------

def _atomic_json(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=1, default=str))
    os.replace(tmp, path)


def _prepare(out: Path, settings: Settings) -> Context:
    """The world and the CLIP weights (made on first use), and the hashes that pin them."""
    from tcclip.world.assets import clip_weights, synthetic_world
    from tcclip.world.synthetic import generate_video_world
    from tcclip.world.profile import get_profile

    profile = get_profile("tiny")
    data_root = str(profile.data_root)
    if settings.world == "default":
        world = synthetic_world(profile)
    else:
        # a world of another size cannot share the profile's folder: it lives in its own
        root = profile.cache_dir / f"world_{settings.world}"
        world = generate_video_world(root / "synthetic", seed=0, size=settings.world, workers=2, progress=False)
        data_root = str(root)
    weights = clip_weights(profile)
    return Context(out=out, settings=settings, data_root=data_root, world_hash=world.param_hash,
                   weights_digest=_file_digest(weights), weights=str(weights), classnames=list(world.classes))


def _meta(argv: Sequence[str], settings: Settings, ctx: Context, started: float, quick: bool) -> dict:
    from tcclip.train.protocols import git_commit, machine_info

    return {"command": " ".join(["python", "-m", "tcclip", "experiments", *argv]), "git_commit": git_commit(),
            "quick": quick, "seeds": list(settings.seeds), "ablation_seeds": list(settings.ablation_seeds),
            "machine": machine_info(), "settings": asdict(settings), "world_hash": ctx.world_hash,
            "weights_digest": ctx.weights_digest, "num_classes": len(ctx.classnames), "wall_time_s": time.time() - started,
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def run_experiments(out: Path, quick: bool = False, argv: Sequence[str] = (), figures: bool = True) -> dict:
    """Run (or resume) the plan under ``out``; returns the aggregated results."""
    from tqdm.auto import tqdm

    started = time.time()
    settings = settings_for(quick)
    out.mkdir(parents=True, exist_ok=True)
    (out / ".gitignore").write_text("# training checkpoints of unfinished units\nwork/\n")
    ctx = _prepare(out, settings)
    units = plan(settings)
    records: dict[str, dict] = {}
    failed: dict[str, str] = {}
    reused = 0
    bar = tqdm(units, desc="experiments", unit="run")
    for unit in bar:
        bar.set_postfix_str(unit.name)
        digest = unit_hash(unit, settings, ctx.world_hash, ctx.weights_digest)
        path = out / "runs" / f"{unit.name}.json"
        if path.is_file():
            old = json.loads(path.read_text())
            if old.get("hash") == digest:
                records[unit.name] = old
                reused += 1
                continue
        if _file_digest(ctx.weights) != ctx.weights_digest:
            # the runs load the weights file themselves: a file replaced mid-run would mix two CLIPs
            raise RuntimeError(f"{ctx.weights} changed during the experiments; rerun the command (finished runs "
                               "with the old weights will be redone)")
        try:
            record = run_unit(unit, ctx)
        except Exception as err:  # one broken run (e.g. a diverged loss) must not lose the others
            log.error("run %s failed (%s: %s); it is listed under 'failed' and rerun next time",
                      unit.name, type(err).__name__, err)
            failed[unit.name] = f"{type(err).__name__}: {err}"
            continue
        record["hash"] = digest
        _atomic_json(path, record)
        records[unit.name] = record
        _write_results(out, argv, settings, ctx, started, quick, units, records, reused, failed)
    results = _write_results(out, argv, settings, ctx, started, quick, units, records, reused, failed)
    if figures:
        save_figures(results, out)
    return results


def _write_results(out: Path, argv, settings, ctx, started, quick, units, records, reused, failed) -> dict:
    done = [u.name for u in units if u.name in records]
    results = {"schema": SCHEMA_VERSION, **_meta(argv, settings, ctx, started, quick),
               "complete": len(done) == len(units), "units_planned": len(units), "units_done": len(done),
               "units_reused": reused, "missing": [u.name for u in units if u.name not in records], "failed": dict(failed),
               "records": [records[n] for n in done]}
    results["summary"] = summary_rows(results)
    _atomic_json(out / RESULTS_NAME, results)
    return results


# ----------------------------------------------------------------------------------------
# reading and drawing results (also used by the book)
# ----------------------------------------------------------------------------------------

def load_results(path: str | os.PathLike) -> dict:
    """The results JSON; a missing file is an error that says how to make it."""
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: run `make experiments` (python -m tcclip experiments) "
                                "to produce it (about 30 minutes on 2 CPU cores; --quick for a 2-minute check)")
    return json.loads(path.read_text())


def _variant_label(unit: dict) -> str:
    if unit["experiment"] == "ablation":
        return unit["variant"]
    return DEFAULT_VARIANT if unit["model"] == "tc_clip" else unit["model"]


def results_frame(results: dict):
    """Long-form pandas DataFrame: one row per (unit, metric) with protocol, model, shots,
    variant, seed, metric and value. The default TC-CLIP runs of the ablation protocol appear
    a second time as experiment "ablation" (they are the ablation table's reference row)."""
    import pandas as pd

    ablation_protocol = results["settings"]["ablation_protocol"]
    ablation_seeds = set(results.get("ablation_seeds", []))
    rows = []
    for rec in results["records"]:
        u = rec["unit"]
        for metric, value in rec["metrics"].items():
            base = {"protocol": u["protocol"], "model": u["model"], "shots": u["shots"] or 0, "seed": u["seed"],
                    "metric": metric, "value": float(value)}
            rows.append({"experiment": u["experiment"], "variant": _variant_label(u), **base})
            if (u["experiment"] == "main" and u["model"] == "tc_clip" and u["protocol"] == ablation_protocol
                    and u["seed"] in ablation_seeds):
                rows.append({"experiment": "ablation", "variant": DEFAULT_VARIANT, **base})
    return pd.DataFrame(rows, columns=["experiment", "variant", "protocol", "model", "shots", "seed", "metric", "value"])


def summary_frame(results: dict):
    """Mean and (population) std over seeds of every metric, with the number of seeds."""
    from tcclip.train import mean_std

    df = results_frame(results)
    keys = ["experiment", "variant", "protocol", "model", "shots", "metric"]
    rows = []
    for key, group in df.groupby(keys, sort=False):
        mean, std = mean_std(group["value"].tolist())
        rows.append({**dict(zip(keys, key)), "mean": mean, "std": std, "seeds": len(group)})
    import pandas as pd

    return pd.DataFrame(rows, columns=[*keys, "mean", "std", "seeds"])


def summary_rows(results: dict) -> list[dict]:
    if not results["records"]:
        return []
    return summary_frame(results).to_dict(orient="records")


_MODEL_ORDER = ["clip", "vifi_clip", "tc_clip"]
_MODEL_LABEL = {"clip": "CLIP", "vifi_clip": "ViFi-CLIP", "tc_clip": "TC-CLIP"}


def plot_main(results: dict):
    """The main table as bars (mean, error bars: std over seeds), one panel per protocol."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    df = results_frame(results)
    df = df[df.experiment == "main"].assign(Model=lambda d: d.model.map(_MODEL_LABEL))
    panels = [("zero_shot", "top1", "zero-shot (unseen classes)"), ("few_shot", "top1", "few-shot"),
              ("base2novel", "hm", "base-to-novel (HM)"), ("fully_supervised", "top1", "fully supervised")]
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.6))
    order = [_MODEL_LABEL[m] for m in _MODEL_ORDER]
    for ax, (protocol, metric, title) in zip(axes, panels):
        d = df[(df.protocol == protocol) & (df.metric == metric)]
        if d.empty:
            ax.set_title(f"{title}\n(not run yet)")
            ax.axis("off")
            continue
        if protocol == "few_shot":
            sns.pointplot(data=d, x="shots", y="value", hue="Model", hue_order=order, errorbar="sd", ax=ax,
                          dodge=0.3, capsize=0.1)
            ax.set_xlabel("K (videos per class)")
        else:
            sns.barplot(data=d, x="Model", y="value", order=order, errorbar="sd", ax=ax, capsize=0.15)
            ax.set_xlabel("")
        ax.set_title(title)
        ax.set_ylabel(f"{metric} (%)")
        ax.set_ylim(0, 100)
    fig.tight_layout()
    return fig


def plot_ablations(results: dict):
    """Top-1 of every ablation variant (and on the time-reversed pairs), std over seeds."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    df = results_frame(results)
    df = df[(df.experiment == "ablation") & df.metric.isin(["top1", "pairs_top1"])]
    fig, ax = plt.subplots(figsize=(8, 0.35 * max(4, df.variant.nunique() * 2) + 1))
    if df.empty:
        ax.set_title("ablations: not run yet")
        ax.axis("off")
        return fig
    names = list(dict.fromkeys([DEFAULT_VARIANT, *df.variant]))
    d = df.assign(Metric=df.metric.map({"top1": "all test videos", "pairs_top1": "time-reversed pairs"}))
    sns.barplot(data=d, y="variant", x="value", hue="Metric", order=[n for n in names if n in set(d.variant)],
                errorbar="sd", ax=ax, capsize=0.1, orient="h")
    ax.set_xlabel("top-1 (%)")
    ax.set_ylabel("")
    ax.legend(title=None, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.set_title(f"ablations of TC-CLIP ({results['settings']['ablation_protocol'].replace('_', ' ')})")
    fig.tight_layout()
    return fig


def plot_frame_order(results: dict):
    """Top-1 on normal / shuffled / reversed frames, overall and on the time-reversed pairs."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    df = results_frame(results)
    df = df[(df.experiment == "main") & (df.protocol == "fully_supervised") & (df.model != "clip")]
    rows = []
    for _, r in df.iterrows():
        for order in FRAME_ORDERS:
            for scope, prefix in (("all test videos", "top1"), ("time-reversed pairs", "pairs_top1")):
                if r.metric == (prefix if order == "normal" else f"{prefix}_{order}"):
                    rows.append({"Model": _MODEL_LABEL[r.model], "frames": order, "scope": scope, "value": r.value})
    d = pd.DataFrame(rows, columns=["Model", "frames", "scope", "value"])
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for ax, scope in zip(axes, ("all test videos", "time-reversed pairs")):
        part = d[d.scope == scope]
        if part.empty:
            ax.set_title(f"{scope}: not run yet")
            continue
        sns.barplot(data=part, x="frames", y="value", hue="Model", order=list(FRAME_ORDERS),
                    hue_order=["ViFi-CLIP", "TC-CLIP"], errorbar="sd", ax=ax, capsize=0.1)
        ax.set_title(f"frame order at test time: {scope}")
        ax.set_ylabel("top-1 (%)")
        ax.set_ylim(0, 100)
    fig.tight_layout()
    return fig


def save_figures(results: dict, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for name, draw in (("main", plot_main), ("ablations", plot_ablations), ("frame_order", plot_frame_order)):
        fig = draw(results)
        path = out / f"{name}.png"
        tmp = out / f".{name}.tmp.png"
        fig.savefig(tmp, dpi=110)
        plt.close(fig)
        os.replace(tmp, path)
        paths.append(path)
    return paths


# ----------------------------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------------------------

def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="python -m tcclip experiments",
        description="Run the experiments in miniature (tiny profile, CPU): all four protocols for CLIP, "
                    "ViFi-CLIP and TC-CLIP, the TC-CLIP ablations and a frame-order test. Resumable: "
                    "finished runs whose settings did not change are reused.")
    parser.add_argument("--quick", action="store_true",
                        help="a reduced plan (tiny world, 1 seed, 2 steps, one ablation) in about 2 minutes")
    parser.add_argument("--out", default=None,
                        help="output folder (default results/miniature, or results/miniature_quick with --quick)")
    parser.add_argument("--figures-only", action="store_true",
                        help="only redraw the figures from the existing results JSON (e.g. of an unfinished run)")
    args = parser.parse_args(argv)
    out = Path(args.out or ("results/miniature_quick" if args.quick else "results/miniature"))
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.figures_only:
        for path in save_figures(load_results(out), out):
            print(path)
        return 0
    results = run_experiments(out, quick=args.quick, argv=argv)
    print(f"{results['units_done']}/{results['units_planned']} runs ({results['units_reused']} reused, "
          f"{len(results['failed'])} failed) in {results['wall_time_s']:.0f} s -> {out / RESULTS_NAME}")
    return 0 if results["complete"] else 1
