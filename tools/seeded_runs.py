"""Runs of the CPU plan over more seeds (and, if asked, more steps) than the plan can afford, paired by seed.

    python tools/seeded_runs.py --variants "pos. emb.=joint" "pos. emb.=joint, lr x10" --seeds 0 1 2 \
        --out results/miniature/ablation_seeds

The CPU plan runs each ablation with one seed (an hour of two cores holds no more). This runs
the named variants of ``tcclip.book.experiments.ALL_ABLATIONS`` (or, named ``vifi_clip`` /
``tc_clip``, the main table's fine-tuned models) with the plan's own units
(same world, tiny CLIP, schedule, test set and analyses: ``run_or_reuse``), for every seed
given, resumable (a finished run is reused while its hash is current). It writes
``<out>/runs/<unit>.json`` and ``<out>/seeded_runs.json`` (the records, machine, wall time)
in the shape of the plan's results.json (the book reads it with ``tcclip.book.experiments``), and
prints, per variant and for plain CLIP, mean +- population std over seeds of the test metrics,
and the paired differences (same seed) of each from CLIP and from the first variant.

``--steps N`` gives every run N fully supervised steps instead of the plan's (learning curves
every ``--curve-every`` steps), e.g. the long runs of chapter 10:

    python tools/seeded_runs.py --variants vifi_clip tc_clip "pos. emb.=joint, lr x10" --steps 2000 \
        --curve-every 125 --out results/miniature/long_runs

``--world across_frames`` runs them on the across-frames family alone with 25 times its clips
(``tcclip.world.classes.SIZES``), made on first use in the profile's cache.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

#: The test metrics of the table (and their column titles); "train_" ones are on the whole training list.
METRICS = ("top1", "appearance_top1", "across_frames_top1", "pairs_top1", "pairs_look_top1", "pairs_top1_reversed",
           "train_top1", "train_pairs_top1")
TITLES = {"top1": "top-1", "appearance_top1": "appearance", "across_frames_top1": "across frames",
          "pairs_top1": "pairs", "pairs_look_top1": "pairs: right pair", "pairs_top1_reversed": "pairs, frames reversed",
          "train_top1": "training list top-1", "train_pairs_top1": "training list pairs"}


#: Variant names that stand for the main table's fine-tuned models (no ablation options).
MODELS = ("vifi_clip", "tc_clip")


def _variant(unit: Any) -> str:
    return unit.model if unit.experiment == "main" else unit.variant


def plan_runs(variants: list[str], seeds: list[int], steps: int | None = None,
              curve_every: int | None = None, world: str = "default") -> tuple[Any, list[Any]]:
    """The plan's settings for these runs and their units: plain CLIP (the reference every
    table pairs with), then the runs in the order asked (variant, then seed). ``world``: a size
    preset of the synthetic world (``tcclip.world.classes.SIZES``)."""
    from tcclip.book import experiments as ex

    known = dict(ex.ALL_ABLATIONS)
    unknown = [v for v in variants if v not in known and v not in MODELS]
    if unknown:
        raise SystemExit(f"unknown ablation(s) {unknown}; known: {list(known)} or a model {list(MODELS)}")
    settings = replace(ex.settings_for(False), ablations=tuple((v, known[v]) for v in variants if v in known),
                       ablation_seeds=tuple(seeds), seeds=tuple(seeds), world=world)
    if steps is not None:
        settings = replace(settings, steps=tuple((p, steps if p == "fully_supervised" else n)
                                                 for p, n in settings.steps))
    if curve_every is not None:
        settings = replace(settings, curve_every=curve_every)
    fully = [u for u in ex.plan(settings) if u.protocol == "fully_supervised"]
    runs = [u for u in fully if u.experiment == "ablation" or u.model in variants]
    clip = [u for u in fully if u.model == "clip"]
    return settings, clip + sorted(runs, key=lambda u: (variants.index(_variant(u)), u.seed))


def as_results(records: list[dict], settings: Any, classes: list[str]) -> dict:
    """The records in the shape of the plan's results.json, so that the book's tables
    (``tcclip.book.experiments``: metric_table, paired_differences, plot_curves) read them."""
    return {"settings": asdict(settings), "seeds": list(settings.seeds), "ablation_seeds": list(settings.ablation_seeds),
            "classes": list(classes), "records": records}


def table(results: dict, arms: list[str], pairs: list[tuple[str, str]]) -> str:
    """Markdown: each arm's test metrics, mean ± std over its seeds, then for each (a, b) of
    ``pairs`` the differences a − b paired by seed (plain CLIP, evaluated once, pairs with every seed)."""
    from tcclip.book import experiments as ex

    frame = ex.metric_table(results, METRICS, arms, TITLES)
    titles = [TITLES[m] for m in METRICS]
    lines = ["| arm | seeds | " + " | ".join(titles) + " |", "|---" * (len(METRICS) + 2) + "|"]
    lines += [f"| {arm} | {row['seeds']} | " + " | ".join(row[t] for t in titles) + " |" for arm, row in frame.iterrows()]
    for a, b in pairs:
        diffs = [ex.paired_differences(results, m, a, b) for m in METRICS]  # None: a metric one arm lacks
        if any(diffs):
            lines.append(f"| {a} − {b} (paired) | {max(d['seeds'] for d in diffs if d)} | "
                         + " | ".join(f"{d['mean']:+.1f} ± {d['std']:.1f}" if d else "–" for d in diffs) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from tcclip.book import experiments as ex
    from tcclip.train.protocols import machine_info

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", nargs="+", required=True, help="names from ALL_ABLATIONS, or vifi_clip / tc_clip")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--out", required=True, help="folder of the runs and of seeded_runs.json")
    parser.add_argument("--steps", type=int, default=None, help="fully supervised steps (default: the plan's)")
    parser.add_argument("--curve-every", type=int, default=None, help="learning-curve interval (default: the plan's)")
    parser.add_argument("--world", default="default",
                        help="size preset of the synthetic world (tcclip.world.classes.SIZES), e.g. across_frames")
    args = parser.parse_args(argv)
    from tcclip.world.classes import SIZES

    if args.world not in SIZES:
        parser.error(f"--world {args.world!r}: choose one of {sorted(SIZES)}")
    settings, wanted = plan_runs(args.variants, args.seeds, args.steps, args.curve_every, args.world)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / ".gitignore").write_text("# training checkpoints of unfinished runs\nwork/\n")
    started = time.time()
    ctx = ex.prepare_context(out, settings)
    records, failed, reused = [], {}, 0
    for unit in wanted:
        print(f"{time.strftime('%H:%M:%S')} {unit.name}", flush=True)
        record, status = ex.run_or_reuse(unit, ctx)
        if record is None:
            failed[unit.name] = status
        else:
            records.append(record)
            reused += status == "reused"
            families = ", ".join(f"{f.replace('_', ' ')} {record['metrics'][f'{f}_top1']:.1f}"
                                 for f in ex.FAMILIES if f"{f}_top1" in record["metrics"])
            print(f"  {status}: top-1 {record['metrics']['top1']:.1f} ({families}; {record['wall_time_s']:.0f} s)",
                  flush=True)
    results = as_results(records, settings, ctx.classnames)
    arms = list(dict.fromkeys(ex.arm_label(asdict(u)) for u in wanted))  # CLIP first, then as asked
    summary = table(results, arms, [(a, "CLIP") for a in arms[1:]] + [(a, arms[1]) for a in arms[2:]])
    command = shlex.join(["python", "tools/seeded_runs.py", *(argv if argv is not None else sys.argv[1:])])
    payload = {**results, "command": command, "variants": list(args.variants), "seeds": list(args.seeds), "failed": failed,
               # this call's time (reused runs cost nothing) and the runs' own, whenever they ran
               "wall_time_s": time.time() - started, "runs_reused": reused,
               "runs_wall_time_s": sum(r["wall_time_s"] for r in records), "load_average": list(os.getloadavg()),
               "machine": machine_info(), "world_hash": ctx.world_hash,
               "weights_digest": ctx.weights_digest, "table": summary}
    (out / "seeded_runs.json").write_text(json.dumps(payload, indent=1, default=str))
    print(summary)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
