"""The experiments in miniature: every protocol, learning curves, the families of the world, ablations.

``python -m tcclip experiments [--quick] [--device cuda] [--out results/miniature]`` runs, under
the tiny profile (TC-Tiny on the synthetic world), a plan of *units*: one unit is one training
run of ``tcclip.train.run`` (or one evaluation of plain CLIP) for one protocol, model, variant
and seed. Each finished unit is written to ``<out>/runs/<name>.json`` together with a hash of
everything that determines it (its settings, the world, the CLIP weights), so a killed run
continues where it stopped and a changed setting reruns only what it touches. After every unit
``<out>/results.json`` is rewritten (atomically) with all records, the per-seed metrics and
their mean +- std; at the end the figures ``<out>/*.png`` are drawn.

The plan is designed as experiments, not as a smoke test (the world's families are described
in ``tcclip.world.synthetic.CLASS_FAMILIES`` and ``book/synthetic_world.md``):

* fully supervised CLIP / ViFi-CLIP / TC-CLIP over seeds, with learning curves (validation and
  training top-1 against optimizer steps) and top-1 per family: *appearance* (one frame
  decides), *across_frames* (several frames decide, not their order: where TC's cross-frame
  context can show against frame averaging) and *time_direction* (exact time-reversed pairs);
  plus the accuracy on the training clips (can the engine fit?) and a frame-order test
  (shuffled and reversed frames at test time);
* the TC-CLIP ablations on the same protocol (the first seed on the CPU), among them the joint
  space-time positional embedding, the only variant that can tell the time-reversed pairs apart;
* zero-shot (with WiSE-FT), few-shot and base-to-novel under the protocols of the paper.

The CPU plan is sized by :func:`estimated_seconds` from measured costs to fit 60 minutes on 2
cores; only the fully supervised main table runs three seeds there.

Training, evaluation and the protocols are ``tcclip.train``'s; this module only plans the
runs, adds the per-family, training-set and frame-order evaluations and aggregates. The book's
chapter 10 reads the results with :func:`load_results` and the table and figure helpers below.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Optional, Sequence

import torch
from torch import nn

log = logging.getLogger("tcclip.book.experiments")

__all__ = ["Settings", "Unit", "settings_for", "plan", "unit_hash", "FrameOrder", "prepare_context", "run_unit",
           "run_or_reuse", "run_experiments", "load_results", "results_frame", "summary_frame", "plot_main",
           "plot_ablations", "plot_frame_order", "plot_families", "plot_curves", "curves_frame", "family_metrics",
           "order_blind_ceiling", "family_accuracy_needed", "FRAME_READOUTS", "probe_readouts",
           "paired_differences", "main_table", "family_table", "fit_table", "class_table",
           "metric_table", "findings", "main"]

RESULTS_NAME = "results.json"
SCHEMA_VERSION = 2
MODELS = ("clip", "vifi_clip", "tc_clip")
FRAME_ORDERS = ("normal", "shuffled", "reversed")
FAMILIES = ("appearance", "across_frames", "time_direction")


# ----------------------------------------------------------------------------------------
# the plan
# ----------------------------------------------------------------------------------------

#: Every ablation the package knows (the GPU plan runs them all; the CPU plan the first, third and fourth).
#: An option is a model option (``model.options.<name>``) or, with a dot, a whole config key.
ALL_ABLATIONS: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = (
    ("no TC", (("temporal_context", False),)),
    ("no VP", (("video_prompting", False),)),
    ("pos. emb.=joint", (("positional_embedding", "joint"),)),
    # the joint embedding's eight per-frame copies start identical and, at the base rate, stay
    # within 2 % of one another (chapter 10); here they train at the prompts' 10x rate
    ("pos. emb.=joint, lr x10", (("positional_embedding", "joint"), ("train.positional_lr_mult", 10.0))),
    ("merge=random", (("merge", "random"),)),
    ("k=4", (("num_context", 4),)),
)


@dataclass(frozen=True)
class Settings:
    """Everything that sizes the experiments (recorded in the results; part of every unit hash).

    Step counts are optimizer steps of ``batch`` clips. The CPU plan is sized with
    :func:`estimated_seconds` from measured costs (``CPU_COSTS``) so that the whole plan, world
    generation and the tiny CLIP's pretraining included, stays under 60 minutes on 2 cores
    (tested); ``--device cuda`` runs ``settings_for(device="cuda")``, the same experiments on a
    larger world, longer, with every ablation and five seeds everywhere.
    """

    world: str = "default"  # synthetic world size: "default" (26 classes), "large" (same classes, 4x clips), "tiny"
    device: str = "cpu"
    seeds: tuple[int, ...] = (0, 1, 2)  # the fully supervised main table (paired differences need >= 3)
    protocol_seeds: tuple[int, ...] = (0,)  # few-shot, zero-shot and base-to-novel runs
    ablation_seeds: tuple[int, ...] = (0,)
    shots: tuple[int, ...] = (2,)
    steps: tuple[tuple[str, int], ...] = (("fully_supervised", 200), ("few_shot", 60), ("zero_shot", 100),
                                         ("base2novel", 60))
    # protocols on which all three models run; the others run TC-CLIP only (--quick)
    compared: tuple[str, ...] = ("fully_supervised", "few_shot", "zero_shot", "base2novel")
    batch: int = 8
    lr: float = 3e-4  # base learning rate of every run (prompt parts x10, as in the recipe)
    test_clips: int = 1  # one view per test video: the budget goes to training, not to views
    curve_every: int = 100  # fully supervised: validation + training probe at step 0 and every N steps (learning curves)
    train_probe: int = 130  # training videos evaluated at each curve point (the training curve)
    ablation_protocol: str = "fully_supervised"
    # the CPU plan keeps the ablations the book's questions need (does TC's cross-frame context
    # matter; can a space-time embedding tell time direction, at the recipe's lr and at 10x); the
    # GPU plan runs all six
    ablations: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = (ALL_ABLATIONS[0], ALL_ABLATIONS[2],
                                                                        ALL_ABLATIONS[3])
    # the recipe's mixup / cutmix average two videos' labels; with a few hundred steps they only
    # slow learning down, so the miniature trains on hard labels (label smoothing stays)
    extra_overrides: tuple[str, ...] = ("train.mixup=0", "train.cutmix=0")

    def steps_for(self, protocol: str) -> int:
        return dict(self.steps)[protocol]


@dataclass(frozen=True)
class Costs:
    """Seconds a plan's parts take on one machine, measured (the budget's model)."""

    step_s: tuple[tuple[str, float], ...]  # per model: one batch from the loader + one optimizer step
    eval_clip_s: float  # evaluation forward pass per clip (one view)
    assets_s: float  # world generation + the tiny CLIP's pretraining from an empty cache
    trained_unit_s: float = 0.0  # per training run besides steps and evaluations: set-up, checkpoints, reloads
    eval_unit_s: float = 0.0  # per evaluation-only run (plain CLIP): set-up


#: The 2-core CPU box, world v3, batch 8, 8 frames, 26 classes, 2 threads, rounded up over two
#: runs of ``benchmarks/bench_train_step.py`` (data + step: ViFi-CLIP 0.61-0.63 s, TC-CLIP
#: 0.76-0.86 s; evaluation 25-28 / 31 ms per clip; ``benchmarks/results/bench_train_step_cpu.md``);
#: assets: world 52 s + pretraining 271 s (results/miniature/learning/README.md), rounded up.
#: Per-run overheads from the first three runs of the plan itself (2026-11-30: plain CLIP 59 s,
#: ViFi-CLIP 294 s, TC-CLIP 330 s against 46 / 258 / 308 s of steps and evaluations).
#: Checked against the whole CPU plan from an empty cache (2026-11-30, quiet box; the committed
#: results/miniature/results.json): 2,363 s measured against 3,404 s estimated (assets 293 s, fully
#: supervised ViFi-CLIP / TC-CLIP runs 197-205 / 209-236 s against 261 / 301 s): an upper bound.
#: Again after the tiny CLIP's text margin (2026-11-30, 19:35-20:14 UTC): 2,316 s (assets ~245 s,
#: fully supervised runs 192-216 / 201-234 s).
#: Recalibrated on that run's per-unit wall times (its results.json) when the CPU plan gained a
#: third ablation: TC-CLIP's steps 0.85 -> 0.75 s and evaluation 32 -> 25 ms per clip still bound
#: every unit from above (fully supervised TC-CLIP 256 s estimated vs 201-234 s measured;
#: ViFi-CLIP 236 vs 192-216 s; zero-shot TC-CLIP 120 vs 66 s); the benchmark on the same box gave
#: 0.55 / 0.47 s per step and 15-17 ms per clip (``benchmarks/bench_train_step.py``, 19:29 UTC).
CPU_COSTS = Costs(step_s=(("vifi_clip", 0.65), ("tc_clip", 0.75)), eval_clip_s=0.025, assets_s=360.0,
                  trained_unit_s=35.0, eval_unit_s=15.0)


def estimated_seconds(settings: Settings, costs: Costs = CPU_COSTS) -> float:
    """What the plan of ``settings`` should take with ``costs``: training steps, learning-curve
    points (validation + training probe), each unit's test, and the fully supervised analyses
    (shuffled and reversed test, the whole training list). Every test is counted at the size of
    the full test list, an upper bound for the zero-shot and base-to-novel views."""
    from tcclip.world.synthetic import SIZES

    size = SIZES[settings.world]
    classes = len(size.classes)
    n_train, n_val, n_test = classes * size.n_train, classes * size.n_val, classes * size.n_test
    step = dict(costs.step_s)
    total = costs.assets_s
    for unit in plan(settings):
        clips = n_test * settings.test_clips
        if unit.steps:
            total += unit.steps * step[unit.model] + costs.trained_unit_s
        else:
            total += costs.eval_unit_s
        if unit.analysis:
            if unit.steps:
                points = unit.steps // settings.curve_every + 1
                clips += points * (n_val + min(settings.train_probe, n_train))
                clips += (len(FRAME_ORDERS) - 1) * n_test
            clips += n_train
        total += clips * costs.eval_clip_s
    return total


#: The CPU plan's wall-time budget (issue 14: ``make experiments`` <= 60 min on 2 cores from an
#: empty cache) and the share of it the estimate may use: the rest absorbs a busier machine.
CPU_BUDGET_S = 3600.0
CPU_ESTIMATE_SHARE = 0.95

#: The name of the default TC-CLIP variant in the ablation table (its runs are the main table's).
DEFAULT_VARIANT = "TC-CLIP (bipartite, k=16, ratio 0.3, spatial)"


def settings_for(quick: bool = False, device: str = "cpu") -> Settings:
    """The plan's settings: the CPU plan, the reduced ``--quick`` one (tiny world, 1 seed, 2
    steps) or, for a CUDA device, the same experiments on the large world (4x the clips) with
    12.5-20x the steps (3,000 fully supervised), every ablation and five seeds."""
    if quick:
        return Settings(world="tiny", device=device, seeds=(0,), ablation_seeds=(0,), shots=(2,),
                        compared=("fully_supervised",), curve_every=1, train_probe=8,
                        steps=(("fully_supervised", 2), ("few_shot", 2), ("zero_shot", 2), ("base2novel", 2)),
                        ablations=ALL_ABLATIONS[:1])
    if device.startswith("cuda"):
        base = Settings()
        seeds = (0, 1, 2, 3, 4)
        return replace(base, world="large", device=device, seeds=seeds, protocol_seeds=seeds, ablation_seeds=seeds,
                       shots=(2, 4, 8, 16), batch=32, curve_every=125, train_probe=520, ablations=ALL_ABLATIONS,
                       steps=(("fully_supervised", 3000), ("few_shot", 750), ("zero_shot", 2000), ("base2novel", 750)))
    return Settings(device=device)


@dataclass(frozen=True)
class Unit:
    """One run: ``experiment`` is "main" or "ablation"; ``variant`` names the ablation.

    ``analysis`` (fully supervised trained runs): per-family test metrics, the frame-order
    test, the accuracy on the whole training list and learning curves.
    """

    experiment: str
    protocol: str
    model: str
    seed: int
    steps: int
    variant: str = "default"
    shots: Optional[int] = None
    options: tuple[tuple[str, Any], ...] = ()
    analysis: bool = False

    @property
    def name(self) -> str:
        parts = [self.experiment, self.protocol + (f"_K{self.shots}" if self.shots else ""), self.model]
        if self.variant != "default":
            parts.append(self.variant.replace(" ", "_").replace("=", "-").replace(".", "").replace(",", ""))
        return "__".join(parts) + f"__seed{self.seed}"


def plan(settings: Settings) -> list[Unit]:
    """The units in the order they run: the fully supervised main table first (with its
    analyses), then few-shot, zero-shot, base-to-novel, the ablations last, so that a run cut
    short still holds the most important numbers."""
    units: list[Unit] = []
    for protocol in ("fully_supervised", "few_shot", "zero_shot", "base2novel"):
        steps = settings.steps_for(protocol)
        shots_list: Sequence[Optional[int]] = settings.shots if protocol == "few_shot" else (None,)
        full = protocol == "fully_supervised"
        compared = protocol in settings.compared
        for shots in shots_list:
            # plain CLIP is not trained and its test views are fixed: one evaluation suffices
            seeds = settings.seeds if full else settings.protocol_seeds
            if compared:
                units.append(Unit("main", protocol, "clip", seeds[0], 0, shots=shots, analysis=full))
            for seed in seeds:
                for model in ("vifi_clip", "tc_clip") if compared else ("tc_clip",):
                    units.append(Unit("main", protocol, model, seed, steps, shots=shots, analysis=full))
    steps = settings.steps_for(settings.ablation_protocol)
    for variant, options in settings.ablations:
        for seed in settings.ablation_seeds:
            units.append(Unit("ablation", settings.ablation_protocol, "tc_clip", seed, steps, variant=variant,
                              options=options, analysis=settings.ablation_protocol == "fully_supervised"))
    return units


def _file_digest(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def unit_hash(unit: Unit, settings: Settings, world_hash: str, weights_digest: str) -> str:
    """What decides a unit's numbers: a record with another hash is stale and is rerun."""
    payload = {"unit": asdict(unit), "batch": settings.batch, "lr": settings.lr, "test_clips": settings.test_clips,
               "curve_every": settings.curve_every, "train_probe": settings.train_probe, "device": settings.device,
               "extra": list(settings.extra_overrides), "world": world_hash, "weights": weights_digest,
               "schema": SCHEMA_VERSION}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


# ----------------------------------------------------------------------------------------
# frame order and the world's families
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
    class names), how often (%) the right pair is named (either member: what one frame can
    tell), and how often such a video is called its partner (the same clip played backwards)."""
    partner = reversed_pairs(classes)
    rows = [(t, p) for t, p in zip(true_names, pred_names) if t in partner]
    if not rows:
        return {}
    correct = sum(t == p for t, p in rows)
    swapped = sum(p == partner[t] for t, p in rows)
    return {"pairs_top1": 100.0 * correct / len(rows), "pairs_look_top1": 100.0 * (correct + swapped) / len(rows),
            "pairs_partner_rate": 100.0 * swapped / len(rows)}


def family_metrics(true_names: Sequence[str], pred_names: Sequence[str], classes: Sequence[str]) -> dict[str, float]:
    """Top-1 (%) per family of the world (``<family>_top1``), ``look_top1`` (the predicted
    class looks like the true one in a single frame: what frame averaging can reach) and the
    pair metrics. Classes outside the synthetic world's table are ignored."""
    from tcclip.world.synthetic import build_classes

    known = {s.name: s for s in build_classes()}
    specs = {n: known[n] for n in classes if n in known}
    out: dict[str, float] = {}
    rows = [(t, p) for t, p in zip(true_names, pred_names) if t in specs]
    if not rows:
        return out
    out["look_top1"] = 100.0 * sum(p in specs and specs[p].look == specs[t].look for t, p in rows) / len(rows)
    for family in FAMILIES:
        part = [(t, p) for t, p in rows if specs[t].family == family]
        if part:
            out[f"{family}_top1"] = 100.0 * sum(t == p for t, p in part) / len(part)
    out.update(pair_metrics(true_names, pred_names, classes))
    return out


def _class_looks() -> dict[str, str]:
    """{class name: its single-frame look} for every class of the synthetic world."""
    from tcclip.world.synthetic import build_classes

    return {s.name: s.look for s in build_classes()}


def per_class_accuracy(true_names: Sequence[str], pred_names: Sequence[str]) -> dict[str, dict[str, float]]:
    """{class: {"top1": %, "look_top1": %, "videos": n}} (look: right single-frame look)."""
    looks = _class_looks()
    out: dict[str, dict[str, float]] = {}
    for name in dict.fromkeys(true_names):
        preds = [p for t, p in zip(true_names, pred_names) if t == name]
        out[name] = {"top1": 100.0 * sum(p == name for p in preds) / len(preds),
                     "look_top1": 100.0 * sum(looks.get(p) == looks.get(name) for p in preds) / len(preds),
                     "videos": len(preds)}
    return out


def order_blind_ceiling(true_names: Sequence[str]) -> float:
    """The highest expected top-1 (%) any model that ignores the order of frames (plain CLIP and
    ViFi-CLIP exactly; TC-CLIP with a spatial positional embedding nearly) can reach on test
    videos of these true classes: the two classes of a time-reversed pair draw the same sets of
    frames, so such a model names one class for both and can at best pick the more frequent one
    (on the world's balanced test set: (26 - 3) / 26 = 88.5 %).

    The rings of the across-frames family are not counted here: a frame-averaging model cannot
    call *every* ring right (chapter 10, exercise 2), but per-frame scores that depend on a ring's
    colour or position can do better than one class of the four, so no single number bounds it."""
    from collections import Counter

    from tcclip.world.synthetic import build_classes

    frame_sets = {s.name: s.reverse_of or s.name for s in build_classes()}
    unknown = sorted({n for n in true_names if n not in frame_sets})
    if unknown:
        raise ValueError(f"not classes of the synthetic world: {unknown[:3]}")
    per_set: dict[str, Counter] = {}
    for name in true_names:
        per_set.setdefault(frame_sets[name], Counter())[name] += 1
    best = sum(max(counts.values()) for counts in per_set.values())
    return 100.0 * best / len(true_names)


def family_accuracy_needed(target: float, videos: dict[str, int], accuracies: dict[str, float], family: str) -> float:
    """The top-1 (%) that ``family`` must reach on its test videos for the overall top-1 to reach
    ``target`` (%), when every other family scores ``accuracies[f]`` on its ``videos[f]`` videos.

    Above 100 means ``target`` is out of reach whatever ``family`` does. Chapter 10 asks it of the
    rings: ViFi-CLIP gains 25 points over CLIP only if it gets this much of them right."""
    others = [f for f in videos if f != family]
    missing = [f"videos[{family!r}]"] * (family not in videos) + [f"accuracies[{f!r}]" for f in others if f not in accuracies]
    if missing:
        raise ValueError(f"need the video count of {family!r} and the accuracy of every other family; missing {missing}")
    total = sum(videos.values())
    return (target * total - sum(videos[f] * accuracies[f] for f in others)) / videos[family]


def _mean_over_frames(features: torch.Tensor) -> torch.Tensor:
    return features.mean(dim=1)


def _spread_over_frames(features: torch.Tensor) -> torch.Tensor:
    return features.std(dim=1)


def _frames_in_order(features: torch.Tensor) -> torch.Tensor:
    return features.flatten(1)


#: Ways to read a clip's per-frame features [N, T, E] as one vector: what frame averaging keeps
#: (plain CLIP and ViFi-CLIP name a clip's class by a linear function of it), what comparing frames keeps
#: without their order, and what a model that knows each frame's place in time can keep.
FRAME_READOUTS = {"mean over frames": _mean_over_frames, "spread over frames": _spread_over_frames,
                  "frames in order": _frames_in_order}


def probe_readouts(train: tuple[torch.Tensor, torch.Tensor], test: tuple[torch.Tensor, torch.Tensor],
                   readouts: Optional[dict] = None, steps: int = 2000, lr: float = 1e-2,
                   weight_decay: float = 1e-3) -> dict[str, dict[str, float]]:
    """Top-1 (%) on ``train`` and on ``test`` ((features [N, T, E], labels [N]) each) of a linear
    classifier with a bias on each readout of the frozen features ({readout: {"train_top1", "test_top1"}}).

    The classifier is logistic regression on features standardised with the training statistics,
    fitted full-batch with AdamW from zero weights, so it is deterministic (written here, in a few
    lines of torch, rather than adding scikit-learn to the dependencies for one probe). A linear
    classifier on "mean over frames" can do at least what a frame-averaging model can on these
    features (its prediction is the argmax of a bias-free linear function of the same mean)."""
    readouts = FRAME_READOUTS if readouts is None else readouts
    (x_train, y_train), (x_test, y_test) = train, test
    classes = int(max(y_train.max(), y_test.max())) + 1
    out: dict[str, dict[str, float]] = {}
    for name, readout in readouts.items():
        a, b = readout(x_train.double()), readout(x_test.double())
        mu, sd = a.mean(0), a.std(0).clamp_min(1e-8)
        a, b = (a - mu) / sd, (b - mu) / sd
        head = nn.Linear(a.shape[1], classes, dtype=torch.float64)
        nn.init.zeros_(head.weight)
        nn.init.zeros_(head.bias)
        opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=weight_decay)
        for _ in range(steps):
            opt.zero_grad()
            nn.functional.cross_entropy(head(a), y_train).backward()
            opt.step()
        with torch.no_grad():
            out[name] = {"train_top1": 100.0 * float((head(a).argmax(1) == y_train).double().mean()),
                         "test_top1": 100.0 * float((head(b).argmax(1) == y_test).double().mean())}
    return out


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
    """The run config of a unit: the tiny profile plus the miniature schedule.

    Fully supervised units with ``analysis`` validate every ``curve_every`` steps (an "epoch"
    of the engine is that many steps here) on the validation list and on ``train_probe``
    training videos, which gives the learning curves; the best validation checkpoint is
    tested, as in the recipe. The other units train their steps and test the last weights.
    """
    from tcclip.train import compose_config, train_views

    s = ctx.settings
    overrides = [f"protocol={unit.protocol}", f"model={unit.model}", f"seed={unit.seed}", f"output={output}",
                 "resume=auto", f"device={s.device}", f"protocol.total_batch={s.batch}", f"train.batch_per_gpu={s.batch}",
                 f"protocol.lr={s.lr}", f"protocol.min_lr={s.lr / 100}", "protocol.warmup_epochs=0",
                 f"protocol.test_clips={s.test_clips}", "protocol.test_crops=1", "eval.batch_size=32", "log.csv=false",
                 "log.progress=false", f"eval.save_predictions={str(unit.analysis).lower()}", *s.extra_overrides]
    curves = unit.analysis and unit.model != "clip"
    overrides += ["eval.every_epochs=1", f"eval.train_probe={s.train_probe}"] if curves else ["eval.every_epochs=0"]
    overrides += [f"data.root={ctx.data_root}", f"model.pretrained={ctx.weights}"]  # what prepare_context made
    if unit.shots:
        overrides.append(f"data.shots={unit.shots}")
    overrides += [f"{k if '.' in k else 'model.options.' + k}={json.dumps(v)}" for k, v in unit.options]
    cfg = compose_config(overrides, profile="tiny")
    if unit.model != "clip":
        from tcclip.train.distributed import DistInfo
        from tcclip.train.engine import plan_schedule

        # the engine caps an epoch at one pass over the training list (and at the profile's cap, replaced here)
        cfg.protocol.steps_per_epoch = None
        per_pass = plan_schedule(cfg, _list_length(cfg, train_views(cfg)[0]), DistInfo()).steps_per_epoch
        per_epoch = steps_per_epoch(unit.steps, per_pass, s.curve_every if curves else None)
        cfg.protocol.steps_per_epoch = per_epoch
        cfg.protocol.epochs = unit.steps // per_epoch
    return cfg


def steps_per_epoch(steps: int, per_pass: int, curve_every: Optional[int] = None) -> int:
    """The engine's epoch length for a run of exactly ``steps`` optimizer steps when one pass over
    the training list holds ``per_pass`` of them: ``curve_every`` (an epoch per learning-curve
    point), or else the longest epoch of at most one pass that divides ``steps``. A curve point
    that is longer than one pass cannot be an epoch: the engine would cut it to the pass and run
    fewer steps than asked, so it is refused."""
    if curve_every is not None:
        if steps % curve_every:
            raise ValueError(f"{steps} steps is not a multiple of curve_every={curve_every}")
        if curve_every > per_pass:
            raise ValueError(f"curve_every={curve_every} steps is longer than one pass over the training list "
                             f"({per_pass} steps): the run would stop early; choose curve_every <= {per_pass}")
        return curve_every
    return max(d for d in range(1, min(steps, per_pass) + 1) if steps % d == 0)


def _names(dataset, model: nn.Module, cfg, order: str = "normal", seed: int = 0) -> tuple[list[str], list[str]]:
    """(true, predicted) class names of every video of ``dataset`` (test mode), frames in ``order``."""
    from tcclip.train import evaluate

    res = evaluate(FrameOrder(model, order, seed=seed), dataset, batch_size=int(cfg.eval.batch_size),
                   device=torch.device(str(cfg.device)) if str(cfg.device) != "auto" else None, return_predictions=True)
    names = dataset.classnames
    return [names[r["label"]] for r in res["predictions"]], [names[r["pred"]] for r in res["predictions"]]


def _analyse(unit: Unit, cfg, checkpoint: Optional[str], work: Path, classes: Sequence[str]) -> tuple[dict, dict]:
    """Per-family metrics on the test set (frames in order, shuffled, reversed) and on the whole
    training list; returns (flat metrics, per-class training accuracy)."""
    import csv

    from tcclip.train import load_eval_model, test_sets, train_views
    from tcclip.train.data import build_video_dataset

    with (work / "predictions.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    metrics = family_metrics([r["label_name"] for r in rows], [r["pred_name"] for r in rows], classes)
    (spec,) = test_sets(cfg)
    test_set = build_video_dataset(cfg, mode="test", num_clips=int(cfg.protocol.test_clips), num_crops=1,
                                   **{k: v for k, v in spec.items() if k not in ("key", "group")})
    model = load_eval_model(checkpoint, cfg, test_set.classnames).to(str(cfg.device))
    # frames in order are the run's own test (its metrics and predictions.csv): not repeated here;
    # plain CLIP averages frame features, so it is order-blind by construction: not tested
    for order in FRAME_ORDERS[1:] if unit.model != "clip" else ():
        true, pred = _names(test_set, model, cfg, order, unit.seed)
        acc = 100.0 * sum(t == p for t, p in zip(true, pred)) / len(true)
        metrics.update({f"{k}_{order}": v for k, v in {"top1": acc, **family_metrics(true, pred, classes)}.items()})
    train_args = {k: v for k, v in train_views(cfg)[0].items()}
    train_set = build_video_dataset(cfg, mode="test", num_clips=1, num_crops=1, **train_args)
    true, pred = _names(train_set, model, cfg)
    acc = 100.0 * sum(t == p for t, p in zip(true, pred)) / len(true)
    metrics.update({f"train_{k}": v for k, v in {"top1": acc, **family_metrics(true, pred, classes)}.items()})
    return metrics, per_class_accuracy(true, pred)


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


def _curve(results: dict) -> list[dict]:
    """[{step, val_top1, train_top1}] from the run's validations (empty without curves)."""
    rows = (results.get("train") or {}).get("validations") or []
    return [{"step": int(v["step"]), "val_top1": float(v["top1"]), "train_top1": float(v["train_top1"])}
            for v in rows if "train_top1" in v and "step" in v]


def _loss_curve(results: dict, every: int = 10) -> list[dict]:
    """[{step, loss}]: the training loss averaged over each block of ``every`` steps."""
    history = (results.get("train") or {}).get("history") or []
    out = []
    for lo in range(0, len(history), every):
        block = history[lo:lo + every]
        out.append({"step": int(block[-1]["step"]), "loss": sum(float(h["loss"]) for h in block) / len(block)})
    return out


def run_unit(unit: Unit, ctx: Context) -> dict:
    """Run one unit (training, tests, analyses); returns its record."""
    from tcclip.train import run

    work = ctx.out / "work" / unit.name
    cfg = unit_config(unit, ctx, work)
    started = time.time()
    results = run(cfg, command=["python", "-m", "tcclip", "experiments", f"(unit {unit.name})"])
    metrics = metrics_of(unit.protocol, results)
    train_per_class: dict = {}
    if unit.analysis:
        extra, train_per_class = _analyse(unit, cfg, results.get("tested_checkpoint"), work, ctx.classnames)
        metrics.update(extra)
    record = {"unit": asdict(unit), "name": unit.name, "metrics": metrics, "tests": results.get("tests"),
              "tests_wise_ft": results.get("tests_wise_ft"), "wall_time_s": time.time() - started,
              "schedule": (results.get("train") or {}).get("schedule"), "curve": _curve(results),
              "loss_curve": _loss_curve(results),
              "train_per_class": train_per_class, "final_loss": _final_loss(results),
              "git_commit": results.get("git_commit"), "machine": results.get("machine"),
              "settings": asdict(ctx.settings)}
    shutil.rmtree(work, ignore_errors=True)  # checkpoints are not part of the results
    if _steps_run(record) not in (None, unit.steps):
        raise RuntimeError(f"{unit.name} ran {_steps_run(record)} optimizer steps, not {unit.steps}")
    return record


def _steps_run(record: dict) -> Optional[int]:
    """The optimizer steps a record's run was scheduled for (None: not trained)."""
    return (record.get("schedule") or {}).get("total_steps")


def _final_loss(results: dict) -> Optional[float]:
    history = (results.get("train") or {}).get("history") or []
    return float(history[-1]["loss"]) if history and "loss" in history[-1] else None


# ----------------------------------------------------------------------------------------
# the whole plan
# ----------------------------------------------------------------------------------------

def _atomic_json(path: Path, payload: dict) -> None:
    from tcclip.io import atomic_write_text

    atomic_write_text(path, json.dumps(payload, indent=1, default=str))


def prepare_context(out: Path, settings: Settings) -> Context:
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

    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"command": " ".join(["python", "-m", "tcclip", "experiments", *argv]), "git_commit": git_commit(),
            "quick": quick, "seeds": list(settings.seeds), "protocol_seeds": list(settings.protocol_seeds),
            "ablation_seeds": list(settings.ablation_seeds),
            "machine": machine_info(), "settings": asdict(settings), "world_hash": ctx.world_hash,
            "weights_digest": ctx.weights_digest, "num_classes": len(ctx.classnames), "classes": list(ctx.classnames),
            "wall_time_s": time.time() - started, "load_average": list(load) if load else None,
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def run_or_reuse(unit: Unit, ctx: Context) -> tuple[Optional[dict], str]:
    """The record of ``unit`` under ``ctx.out/runs``: reused when its hash is current, else run and
    saved. Returns (record, "reused"), (record, "ran"), or (None, the error) when the run failed
    (logged; a broken run, e.g. a diverged loss, must not lose the others)."""
    digest = unit_hash(unit, ctx.settings, ctx.world_hash, ctx.weights_digest)
    path = ctx.out / "runs" / f"{unit.name}.json"
    if path.is_file():
        old = json.loads(path.read_text())
        # a record whose run took another number of steps than its unit names (the engine once cut
        # an epoch to one pass over the list) is stale whatever its hash
        if old.get("hash") == digest and _steps_run(old) in (None, unit.steps):
            return old, "reused"
    if _file_digest(ctx.weights) != ctx.weights_digest:
        # the runs load the weights file themselves: a file replaced mid-run would mix two CLIPs
        raise RuntimeError(f"{ctx.weights} changed during the experiments; rerun the command (finished runs "
                           "with the old weights will be redone)")
    try:
        record = run_unit(unit, ctx)
    except Exception as err:
        log.error("run %s failed (%s: %s); it is listed under 'failed' and rerun next time",
                  unit.name, type(err).__name__, err)
        return None, f"{type(err).__name__}: {err}"
    record["hash"] = digest
    _atomic_json(path, record)
    return record, "ran"


def run_experiments(out: Path, quick: bool = False, argv: Sequence[str] = (), figures: bool = True,
                    device: str = "cpu") -> dict:
    """Run (or resume) the plan under ``out``; returns the aggregated results."""
    from tqdm.auto import tqdm

    started = time.time()
    settings = settings_for(quick, device)
    out.mkdir(parents=True, exist_ok=True)
    (out / ".gitignore").write_text("# training checkpoints of unfinished units\nwork/\n")
    ctx = prepare_context(out, settings)
    units = plan(settings)
    records: dict[str, dict] = {}
    failed: dict[str, str] = {}
    reused = 0
    bar = tqdm(units, desc="experiments", unit="run")
    for unit in bar:
        bar.set_postfix_str(unit.name)
        record, status = run_or_reuse(unit, ctx)
        if record is None:
            failed[unit.name] = status
            continue
        records[unit.name] = record
        if status == "reused":
            reused += 1
            continue
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
               # the runs' own time, whenever they ran (a resumed call reuses finished runs for free)
               "runs_wall_time_s": sum(records[n].get("wall_time_s") or 0.0 for n in done),
               "records": [records[n] for n in done]}
    results["summary"] = summary_rows(results)
    _atomic_json(out / RESULTS_NAME, results)
    return results


# ----------------------------------------------------------------------------------------
# reading results (also used by the book)
# ----------------------------------------------------------------------------------------

def load_results(path: str | os.PathLike) -> dict:
    """The results JSON; a missing file is an error that says how to make it."""
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: run `make experiments` (python -m tcclip experiments) "
                                "to produce it (under an hour on 2 CPU cores; --quick for a few-minute check)")
    return json.loads(path.read_text())


_MODEL_LABEL = {"clip": "CLIP", "vifi_clip": "ViFi-CLIP", "tc_clip": "TC-CLIP"}
_MODEL_ORDER = ["clip", "vifi_clip", "tc_clip"]


def arm_label(unit: dict) -> str:
    """What a run is, for tables: "CLIP", "ViFi-CLIP", "TC-CLIP", or "TC-CLIP, <ablation>"."""
    if unit["experiment"] == "ablation":
        return f"TC-CLIP, {unit['variant']}"
    return _MODEL_LABEL[unit["model"]]


def _variant_label(unit: dict) -> str:
    if unit["experiment"] == "ablation":
        return unit["variant"]
    return DEFAULT_VARIANT if unit["model"] == "tc_clip" else unit["model"]


def results_frame(results: dict):
    """Long-form pandas DataFrame: one row per (unit, metric) with experiment, variant, arm,
    protocol, model, shots, seed, metric and value. The default TC-CLIP runs of the ablation
    protocol appear a second time as experiment "ablation" (they are the ablation table's
    reference row)."""
    import pandas as pd

    ablation_protocol = results["settings"]["ablation_protocol"]
    ablation_seeds = set(results.get("ablation_seeds", []))
    rows = []
    for rec in results["records"]:
        u = rec["unit"]
        for metric, value in rec["metrics"].items():
            base = {"protocol": u["protocol"], "model": u["model"], "shots": u["shots"] or 0, "seed": u["seed"],
                    "metric": metric, "value": float(value)}
            rows.append({"experiment": u["experiment"], "variant": _variant_label(u), "arm": arm_label(u), **base})
            if (u["experiment"] == "main" and u["model"] == "tc_clip" and u["protocol"] == ablation_protocol
                    and u["seed"] in ablation_seeds):
                rows.append({"experiment": "ablation", "variant": DEFAULT_VARIANT, "arm": "TC-CLIP", **base})
    return pd.DataFrame(rows, columns=["experiment", "variant", "arm", "protocol", "model", "shots", "seed", "metric",
                                       "value"])


def summary_frame(results: dict):
    """Mean and (population) std over seeds of every metric, with the number of seeds."""
    from tcclip.train import mean_std

    df = results_frame(results)
    keys = ["experiment", "variant", "arm", "protocol", "model", "shots", "metric"]
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


def _cell(mean: float, std: float, n: int) -> str:
    return f"{mean:.1f} ± {std:.1f}" if n > 1 else f"{mean:.1f}"


def _fs_arms(results: dict) -> list[str]:
    """The fully supervised arms in table order: the three models, then the ablations."""
    variants = [v for v, _ in results["settings"]["ablations"]]
    return ["CLIP", "ViFi-CLIP", "TC-CLIP", *[f"TC-CLIP, {v}" for v in variants]]


def _fs_frame(results: dict):
    df = results_frame(results)
    return df[(df.protocol == "fully_supervised") & ~((df.experiment == "ablation") & (df.arm == "TC-CLIP"))]


def metric_table(results: dict, metrics: Sequence[str], arms: Optional[Sequence[str]] = None,
                 labels: Optional[dict[str, str]] = None):
    """Fully supervised: one row per arm, one column per metric, "mean ± std" over seeds."""
    import pandas as pd

    df = _fs_frame(results)
    arms = [a for a in (arms or _fs_arms(results)) if a in set(df.arm)]
    rows = []
    for arm in arms:
        part = df[df.arm == arm]
        row = {"model": arm, "seeds": int(part.seed.nunique())}
        for m in metrics:
            v = part[part.metric == m].value
            row[(labels or {}).get(m, m)] = _cell(float(v.mean()), float(v.std(ddof=0)), len(v)) if len(v) else "–"
        rows.append(row)
    return pd.DataFrame(rows).set_index("model") if rows else pd.DataFrame()


FAMILY_LABELS = {"top1": "all", "appearance_top1": "appearance", "across_frames_top1": "across frames",
                 "time_direction_top1": "time direction", "look_top1": "right look",
                 "pairs_look_top1": "right pair", "pairs_partner_rate": "called its partner"}


def family_table(results: dict, arms: Optional[Sequence[str]] = None):
    """Fully supervised test top-1 (%) overall and per family of the world, per arm."""
    return metric_table(results, list(FAMILY_LABELS), arms, FAMILY_LABELS)


def fit_table(results: dict, arms: Optional[Sequence[str]] = None):
    """Accuracy (%) on the whole training list at the end of training: overall, per family,
    the right single-frame look, and the worst class among those each model can separate
    (all classes for TC-CLIP variants; for frame averaging, classes up to their look)."""
    import pandas as pd

    table = metric_table(results, [f"train_{m}" for m in FAMILY_LABELS], arms,
                         {f"train_{k}": v for k, v in FAMILY_LABELS.items()})
    worst: dict[str, list[float]] = {}
    for rec in results["records"]:
        u = rec["unit"]
        if u["protocol"] != "fully_supervised" or not rec.get("train_per_class"):
            continue
        per_look = u["model"] in ("clip", "vifi_clip") or dict(u.get("options") or ()).get("temporal_context") is False
        key = "look_top1" if per_look else "top1"
        worst.setdefault(arm_label(u), []).append(min(c[key] for c in rec["train_per_class"].values()))
    if not table.empty:
        table["worst separable class"] = [
            _cell(float(pd.Series(worst[a]).mean()), float(pd.Series(worst[a]).std(ddof=0)), len(worst[a]))
            if a in worst else "–" for a in table.index]
    return table


def class_table(results: dict, classes: Sequence[str], arms: Optional[Sequence[str]] = None):
    """Fully supervised accuracy (%) on the whole training list for each of ``classes`` (rows)
    and arm (columns), "mean ± std" over seeds: where a family's average hides one class."""
    import pandas as pd

    cells: dict[tuple[str, str], list[float]] = {}
    for rec in results["records"]:
        u = rec["unit"]
        if u["protocol"] == "fully_supervised" and rec.get("train_per_class"):
            for name in classes:
                if name in rec["train_per_class"]:
                    cells.setdefault((name, arm_label(u)), []).append(rec["train_per_class"][name]["top1"])
    arms = [a for a in (arms or _fs_arms(results)) if any((n, a) in cells for n in classes)]
    frame = pd.DataFrame(
        {a: [_cell(float(pd.Series(cells[n, a]).mean()), float(pd.Series(cells[n, a]).std(ddof=0)), len(cells[n, a]))
             if (n, a) in cells else "–" for n in classes] for a in arms}, index=list(classes))
    frame.index.name = "class (training list)"
    return frame


def paired_differences(results: dict, metric: str, arm_a: str, arm_b: str, protocol: str = "fully_supervised",
                       shots: int = 0) -> Optional[dict]:
    """Per-seed differences ``arm_a - arm_b`` of ``metric`` over the seeds both have (the same
    seed gives both the same batches and clip offsets): {per_seed, mean, std, seeds}.

    An untrained arm (plain CLIP: no steps, fixed test views) is run once, since every seed
    would give the same numbers; its one value is paired with every seed of the other arm."""
    df = results_frame(results)
    df = df[(df.protocol == protocol) & (df.metric == metric) & (df.shots == shots)
            & ~((df.experiment == "ablation") & (df.arm == "TC-CLIP"))]
    wide = df.pivot_table(index="seed", columns="arm", values="value", aggfunc="first")
    if arm_a not in wide or arm_b not in wide:
        return None
    untrained = {arm_label(r["unit"]) for r in results["records"]
                 if r["unit"]["protocol"] == protocol and (r["unit"]["shots"] or 0) == shots and r["unit"]["steps"] == 0}
    for arm in (arm_a, arm_b):
        if arm in untrained and wide[arm].notna().sum() == 1:
            wide[arm] = float(wide[arm].dropna().iloc[0])
    d = (wide[arm_a] - wide[arm_b]).dropna()
    if not len(d):
        return None
    return {"per_seed": {int(k): float(v) for k, v in d.items()}, "mean": float(d.mean()), "std": float(d.std(ddof=0)),
            "seeds": len(d)}


def main_table(results: dict):
    """The four protocols' headline metrics (rows) for CLIP / ViFi-CLIP / TC-CLIP (columns)."""
    import pandas as pd

    summary = summary_frame(results)
    main = summary[summary.experiment == "main"]
    headline = {"fully_supervised": ["top1", "top5"], "few_shot": ["top1"], "zero_shot": ["top1", "top1_wise_ft"],
                "base2novel": ["base_top1", "novel_top1", "hm"]}
    rows: dict[tuple, dict] = {}
    for _, r in main.iterrows():
        if r.metric not in headline.get(r.protocol, []):
            continue
        key = (r.protocol.replace("_", " ") + (f" K={r.shots}" if r.shots else ""), r.metric)
        rows.setdefault(key, {})[_MODEL_LABEL[r.model]] = _cell(r["mean"], r["std"], r["seeds"])
    frame = pd.DataFrame.from_dict(rows, orient="index")
    if frame.empty:
        return frame
    frame.index = pd.MultiIndex.from_tuples(frame.index, names=["protocol", "metric"])
    return frame[[c for c in _MODEL_LABEL.values() if c in frame.columns]].fillna("–")


def curves_frame(results: dict):
    """Learning curves, long form: arm, seed, step, split ("validation" / "training"), top1."""
    import pandas as pd

    rows = []
    for rec in results["records"]:
        for point in rec.get("curve") or []:
            for split, key in (("validation", "val_top1"), ("training", "train_top1")):
                rows.append({"arm": arm_label(rec["unit"]), "seed": rec["unit"]["seed"], "step": point["step"],
                             "split": split, "top1": point[key]})
    return pd.DataFrame(rows, columns=["arm", "seed", "step", "split", "top1"])


def _verdict(d: Optional[dict], a: str, b: str) -> str:
    if not d:
        return "not run yet"
    if d["seeds"] < 2:
        return f"{d['mean']:+.1f} points (one seed: no error bar)"
    side = a if d["mean"] > 0 else b
    noise = abs(d["mean"]) <= 2 * d["std"]
    return (f"{d['mean']:+.1f} ± {d['std']:.1f} points over {d['seeds']} seeds: "
            + ("within noise" if noise else f"{side} ahead"))


def findings(results: dict) -> str:
    """What the results say, as a markdown list computed from the file (so that the book's
    reading cannot drift from its numbers)."""
    out = []
    fs = summary_frame(results)
    fs = fs[(fs.protocol == "fully_supervised") & ~((fs.experiment == "ablation") & (fs.arm == "TC-CLIP"))]

    def mean(arm: str, metric: str) -> Optional[float]:
        s = fs[(fs.arm == arm) & (fs.metric == metric)]
        return None if s.empty else float(s["mean"].iloc[0])

    chance = 100 / results["num_classes"]
    clip = mean("CLIP", "top1")
    for arm in ("ViFi-CLIP", "TC-CLIP"):
        m, g = mean(arm, "top1"), paired_differences(results, "top1", arm, "CLIP")
        if m is not None and clip is not None and g:
            out.append(f"**{arm}**, fully supervised: {m:.1f} % top-1 (CLIP without training {clip:.1f} %, chance "
                       f"{chance:.1f} %): {g['mean']:+.1f} ± {g['std']:.1f} points from fine-tuning"
                       + (", at least the 25 points this miniature was designed to show." if g["mean"] >= 25 else
                          ", less than the 25 points this miniature was designed to show."))
    vifi = mean("ViFi-CLIP", "top1")
    if vifi is not None and clip is not None:
        # the test set is balanced (the same number of videos per class), so each class once stands for it
        ceiling = order_blind_ceiling(results["classes"])
        out.append(f"**What an order-blind model can reach**: {ceiling:.1f} % on this test set (one member of each "
                   f"time-reversed pair), so fine-tuning can add at most {ceiling - clip:.1f} points to CLIP's "
                   f"{clip:.1f} % without a notion of time; ViFi-CLIP added {vifi - clip:+.1f}, "
                   f"{100 * (vifi - clip) / (ceiling - clip):.0f} % of that headroom.")
    d = paired_differences(results, "across_frames_top1", "TC-CLIP", "ViFi-CLIP")
    vifi_af, tc_af = mean("ViFi-CLIP", "across_frames_top1"), mean("TC-CLIP", "across_frames_top1")
    if d and vifi_af is not None and tc_af is not None:
        out.append(f"**Across frames** (order-free, 4 classes, chance 25 % within the family): ViFi-CLIP "
                   f"{vifi_af:.1f} %, TC-CLIP {tc_af:.1f} %; TC-CLIP − ViFi-CLIP {_verdict(d, 'TC-CLIP', 'ViFi-CLIP')}.")
    d = paired_differences(results, "appearance_top1", "TC-CLIP", "ViFi-CLIP")
    if d:
        out.append(f"**Appearance** (one frame decides): TC-CLIP − ViFi-CLIP {_verdict(d, 'TC-CLIP', 'ViFi-CLIP')}.")
    joint_arms = ("TC-CLIP, pos. emb.=joint", "TC-CLIP, pos. emb.=joint, lr x10")
    for arm in ("ViFi-CLIP", "TC-CLIP", *joint_arms):
        p, pr = mean(arm, "pairs_top1"), mean(arm, "pairs_partner_rate")
        rev = mean(arm, "time_direction_top1_reversed")
        if p is not None and pr is not None:
            bound = {"ViFi-CLIP": " (order-blind: at most 50 %)",
                     "TC-CLIP": " (spatial positions: nearly order-blind; only the merging's alternate split "
                                "of the seed tokens sees the order)"}.get(arm, "")
            out.append(f"**Time-reversed pairs, {arm}**: {p:.1f} % top-1{bound}, called its "
                       f"partner {pr:.1f} %" + (f", {rev:.1f} % with the frames reversed" if rev is not None else "")
                       + ("." if arm not in joint_arms else
                          (": the joint embedding separates the pairs (target 80 %)." if p >= 80 else
                           ": below the 80 % target; see the learning curves and the training accuracy above.")))
    vifi = [mean("ViFi-CLIP", f"top1{s}") for s in ("", "_shuffled", "_reversed")]
    if all(v is not None for v in vifi):
        same = max(vifi) - min(vifi) < 1e-6
        out.append(f"ViFi-CLIP on normal / shuffled / reversed frames: {' / '.join(f'{v:.1f}' for v in vifi)} % "
                   f"({'identical: order-blind, as proved' if same else 'not identical: a bug, frame averaging is order-blind'}).")
    zs = {m: mean_ for m in ("clip", "vifi_clip", "tc_clip") for mean_ in [_main_mean(results, "zero_shot", m, "top1")]}
    if all(v is not None for v in zs.values()):
        wise = _main_mean(results, "zero_shot", "tc_clip", "top1_wise_ft")
        out.append(f"**Zero-shot** (6 unseen compositions): CLIP {zs['clip']:.1f} %, ViFi-CLIP {zs['vifi_clip']:.1f} %, "
                   f"TC-CLIP {zs['tc_clip']:.1f} %" + (f" ({wise:.1f} % with WiSE-FT)." if wise is not None else "."))
    hm = {m: _main_mean(results, "base2novel", m, "hm") for m in ("clip", "vifi_clip", "tc_clip")}
    if all(v is not None for v in hm.values()):
        out.append(f"**Base-to-novel** harmonic mean: CLIP {hm['clip']:.1f}, ViFi-CLIP {hm['vifi_clip']:.1f}, "
                   f"TC-CLIP {hm['tc_clip']:.1f}.")
    return "\n".join(f"- {line}" for line in out) if out else "No results yet: run `make experiments`."


def _main_mean(results: dict, protocol: str, model: str, metric: str, shots: int = 0) -> Optional[float]:
    s = summary_frame(results)
    s = s[(s.experiment == "main") & (s.protocol == protocol) & (s.model == model) & (s.metric == metric)
          & (s.shots == shots)]
    return None if s.empty else float(s["mean"].iloc[0])


# ----------------------------------------------------------------------------------------
# figures
# ----------------------------------------------------------------------------------------

def plot_main(results: dict):
    """The main table as bars (mean, error bars: std over seeds), one panel per protocol."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    df = results_frame(results)
    df = df[df.experiment == "main"].assign(Model=lambda d: d.model.map(_MODEL_LABEL))
    panels = [("fully_supervised", "top1", "fully supervised"), ("few_shot", "top1", "few-shot"),
              ("zero_shot", "top1", "zero-shot (unseen classes)"), ("base2novel", "hm", "base-to-novel (HM)")]
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


def plot_families(results: dict, arms: Optional[Sequence[str]] = None):
    """Fully supervised test top-1 per family of the world, per arm (error bars: std over seeds)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    df = _fs_frame(results)
    metrics = {"appearance_top1": "appearance\n(one frame)", "across_frames_top1": "across frames\n(order-free)",
               "time_direction_top1": "time direction\n(reversed pairs)"}
    d = df[df.metric.isin(metrics)].assign(family=lambda x: x.metric.map(metrics))
    arms = [a for a in (arms or ["CLIP", "ViFi-CLIP", "TC-CLIP", "TC-CLIP, pos. emb.=joint"]) if a in set(d.arm)]
    fig, ax = plt.subplots(figsize=(9, 3.6))
    if d.empty:
        ax.set_title("families: not run yet")
        ax.axis("off")
        return fig
    sns.barplot(data=d[d.arm.isin(arms)], x="family", y="value", hue="arm", hue_order=arms,
                order=list(metrics.values()), errorbar="sd", capsize=0.1, ax=ax)
    ax.set(xlabel="", ylabel="test top-1 (%)", ylim=(0, 100), title="fully supervised, per family of the world")
    ax.legend(title=None, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def plot_curves(results: dict, arms: Optional[Sequence[str]] = None, seed: Optional[int] = None,
                ceiling: Optional[float] = None):
    """Learning curves: validation and training top-1 against optimizer steps (one panel per
    arm; thin lines: seeds, or one seed if given); ``ceiling``: a dashed line at the best top-1
    an order-blind model can reach (``order_blind_ceiling``)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    d = curves_frame(results)
    if seed is not None:
        d = d[d.seed == seed]
    arms = [a for a in (arms or ["ViFi-CLIP", "TC-CLIP", "TC-CLIP, pos. emb.=joint"]) if a in set(d.arm)]
    fig, axes = plt.subplots(1, max(1, len(arms)), figsize=(4.2 * max(1, len(arms)), 3.4), sharey=True, squeeze=False)
    if not arms:
        axes[0, 0].set_title("learning curves: not run yet")
        axes[0, 0].axis("off")
        return fig
    clip = [r["metrics"] for r in results["records"] if r["unit"]["model"] == "clip"
            and r["unit"]["protocol"] == "fully_supervised"]
    for ax, arm in zip(axes[0], arms):
        part = d[d.arm == arm]
        sns.lineplot(data=part, x="step", y="top1", hue="split", units="seed", estimator=None, lw=1, ax=ax,
                     hue_order=["training", "validation"], marker="o", markersize=3)
        if clip:
            ax.axhline(clip[0]["top1"], color="grey", ls=":", lw=1, label="CLIP, no training (test)")
        if ceiling is not None:
            ax.axhline(ceiling, color="black", ls="--", lw=0.8, label="order-blind ceiling")
        ax.set(title=arm, xlabel="optimizer step", ylabel="top-1 (%)", ylim=(0, 100))
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def plot_ablations(results: dict):
    """Top-1 of every ablation variant, overall and per family, std over seeds."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    df = results_frame(results)
    labels = {"top1": "all", "across_frames_top1": "across frames", "time_direction_top1": "time direction"}
    df = df[(df.experiment == "ablation") & df.metric.isin(labels)]
    fig, ax = plt.subplots(figsize=(8, 0.45 * max(4, df.variant.nunique() * 2) + 1))
    if df.empty:
        ax.set_title("ablations: not run yet")
        ax.axis("off")
        return fig
    names = list(dict.fromkeys([DEFAULT_VARIANT, *df.variant]))
    d = df.assign(Metric=df.metric.map(labels))
    sns.barplot(data=d, y="variant", x="value", hue="Metric", order=[n for n in names if n in set(d.variant)],
                hue_order=list(labels.values()), errorbar="sd", ax=ax, capsize=0.1, orient="h")
    ax.set_xlabel("test top-1 (%)")
    ax.set_ylabel("")
    ax.legend(title=None, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.set_title(f"ablations of TC-CLIP ({results['settings']['ablation_protocol'].replace('_', ' ')})")
    fig.tight_layout()
    return fig


def plot_frame_order(results: dict):
    """Top-1 on normal / shuffled / reversed frames, on the across-frames classes and on the
    time-reversed pairs."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    df = _fs_frame(results)
    df = df[df.model != "clip"]
    rows = []
    for _, r in df.iterrows():
        for order in FRAME_ORDERS:
            for scope, prefix in (("across frames (order-free)", "across_frames_top1"),
                                  ("time-reversed pairs", "time_direction_top1")):
                if r.metric == (prefix if order == "normal" else f"{prefix}_{order}"):
                    rows.append({"arm": r.arm, "frames": order, "scope": scope, "value": r.value})
    d = pd.DataFrame(rows, columns=["arm", "frames", "scope", "value"])
    arms = [a for a in ("ViFi-CLIP", "TC-CLIP", "TC-CLIP, pos. emb.=joint") if a in set(d.arm)]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True)
    for ax, scope in zip(axes, ("across frames (order-free)", "time-reversed pairs")):
        part = d[(d.scope == scope) & d.arm.isin(arms)]
        if part.empty:
            ax.set_title(f"{scope}: not run yet")
            continue
        sns.barplot(data=part, x="frames", y="value", hue="arm", order=list(FRAME_ORDERS), hue_order=arms,
                    errorbar="sd", ax=ax, capsize=0.1)
        ax.set_title(f"frame order at test time: {scope}")
        ax.set_ylabel("top-1 (%)")
        ax.set_ylim(0, 100)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def save_figures(results: dict, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tcclip.io import atomic_path

    paths = []
    for name, draw in (("main", plot_main), ("families", plot_families), ("curves", plot_curves),
                       ("ablations", plot_ablations), ("frame_order", plot_frame_order)):
        fig = draw(results)
        path = out / f"{name}.png"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=110, format="png")
        plt.close(fig)
        paths.append(path)
    return paths


# ----------------------------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------------------------

def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="python -m tcclip experiments",
        description="Run the experiments in miniature (tiny profile): all four protocols for CLIP, ViFi-CLIP and "
                    "TC-CLIP with learning curves and per-family results, the TC-CLIP ablations and a frame-order "
                    "test. Resumable: finished runs whose settings did not change are reused.")
    parser.add_argument("--quick", action="store_true",
                        help="a reduced plan (tiny world, 1 seed, 2 steps, one ablation) in a few minutes")
    parser.add_argument("--device", default="cpu",
                        help="cpu (default: the plan whose numbers the book shows) or cuda[:N] (the same "
                             "experiments on a 4x larger world, 3,000 fully supervised steps, five seeds)")
    parser.add_argument("--out", default=None,
                        help="output folder (default results/miniature, results/miniature_quick with --quick, "
                             "results/miniature_cuda on a GPU)")
    parser.add_argument("--figures-only", action="store_true",
                        help="only redraw the figures from the existing results JSON (e.g. of an unfinished run)")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: no CUDA device is visible to torch; use --device cpu")
    default = "results/miniature_quick" if args.quick else (
        "results/miniature_cuda" if args.device.startswith("cuda") else "results/miniature")
    out = Path(args.out or default)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.figures_only:
        for path in save_figures(load_results(out), out):
            print(path)
        return 0
    results = run_experiments(out, quick=args.quick, argv=argv, device=args.device)
    print(f"{results['units_done']}/{results['units_planned']} runs ({results['units_reused']} reused, "
          f"{len(results['failed'])} failed) in {results['wall_time_s']:.0f} s -> {out / RESULTS_NAME}")
    return 0 if results["complete"] else 1
