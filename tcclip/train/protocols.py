"""The four protocols end to end: build data and model, train, test with the best checkpoint.

``run(cfg)`` is the one entry point (the CLI, the experiments runner and the book call it);
it returns the results dict that it also writes to ``<output>/results.json`` (+ ``results.md``).
"""
from __future__ import annotations

import logging
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional, Sequence

import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from ..checkpoint import load_model, read_checkpoint, read_model_spec
from ..io import atomic_path, atomic_write_json, atomic_write_text
from ..models import ModelSpec
from ..models.backbone import looks_like_path
from .data import build_video_dataset
from .distributed import DistInfo, cleanup_distributed, init_distributed
from .evaluate import evaluate, harmonic_mean, mean_std
from .precision import resolve_precision

log = logging.getLogger("tcclip.train")

__all__ = ["run", "build_run_model", "run_model_spec", "train_views", "test_views", "test_sets", "run_tests",
           "load_eval_model", "machine_info", "write_results", "results_table"]


# ----------------------------------------------------------------------------------------
# data views of each protocol
# ----------------------------------------------------------------------------------------

def _registry_protocol(name: str) -> str:
    return "standard" if name == "fully_supervised" else name


def train_views(cfg: DictConfig) -> tuple[dict, dict]:
    """(train, validation) registry arguments of the run's protocol."""
    p, d = cfg.protocol.name, cfg.data
    proto = _registry_protocol(p)
    train = dict(name=d.name, protocol=proto, subset="train")
    val = dict(name=d.name, protocol=proto, subset=str(d.val_subset))
    if p == "few_shot":
        train.update(split=int(d.split), shots=int(d.shots))
    elif p == "base2novel":
        train.update(split=int(d.split), classes="base")
        val.update(subset="test", classes="base")  # base-to-novel registers only the base / novel test lists
    elif p == "fully_supervised" and d.name in ("hmdb51", "ucf101"):
        train.update(split=int(d.split))
        val.update(split=int(d.split))
    return train, val


def test_sets(cfg: DictConfig) -> list[dict]:
    """The final test sets: registry arguments plus a ``key`` (results name) and ``group``."""
    p, d = cfg.protocol.name, cfg.data
    if p == "zero_shot":
        out = []
        for target in cfg.protocol.targets:
            # subset "test" is the published list; K-600 also has "val" (Open-VCLIP / FROSTER's variant)
            subset = str(target.get("subset") or "test")
            group = str(target.name) + ("" if subset == "test" else f"/{subset}")
            for split in target.splits:
                key = group + (f"/split{split}" if split is not None else "")
                out.append(dict(key=key, group=group, name=str(target.name), protocol="zero_shot", subset=subset,
                                split=split))
        return out
    if p == "base2novel":
        return [dict(key=f"{d.name}/{c}", group=c, name=d.name, protocol="base2novel", subset="test", classes=c)
                for c in ("base", "novel")]
    proto = _registry_protocol(p)
    split = int(d.split) if d.name in ("hmdb51", "ucf101") else None
    if p == "few_shot" and split is not None:
        split = 1  # few-shot tests on split 1 whichever draw of K shots was trained on
    return [dict(key=str(d.name), group=str(d.name), name=d.name, protocol=proto, subset="test", split=split)]


def test_views(cfg: DictConfig) -> tuple[int, int]:
    return int(cfg.protocol.test_clips), int(cfg.protocol.test_crops)


# ----------------------------------------------------------------------------------------
# models
# ----------------------------------------------------------------------------------------

def _spec(cfg: DictConfig, pretrained: Optional[str]) -> ModelSpec:
    options = OmegaConf.to_container(cfg.model.options, resolve=True) or {}
    return ModelSpec(str(cfg.model.name), str(cfg.model.clip), pretrained, int(cfg.data.num_frames), options)


def run_model_spec(cfg: DictConfig) -> ModelSpec:
    """The run's `ModelSpec`: model, CLIP, CLIP weights, clip length (``data.num_frames``), options."""
    value = cfg.model.pretrained
    if value == "auto":
        raise ValueError("model.pretrained=auto names the profile's CLIP weights, which the command line resolves "
                         "(tcclip.world.assets.prepare_run_config(cfg)); pass a weights path or an open_clip tag")
    return _spec(cfg, None if value in (None, "none") else str(value))


def build_run_model(cfg: DictConfig, classnames: Sequence[str]) -> nn.Module:
    """``tcclip.build_model`` of the run's spec (:func:`run_model_spec`)."""
    from ..models import build_model

    spec = run_model_spec(cfg)
    # Parameters not in CLIP (prompt vectors, VP layer, TC bias tables) are initialised from
    # torch's RNG: seed it from the run's seed so every process (and a rerun) starts the same.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(cfg.seed))
        return build_model(spec, list(classnames))


def load_eval_model(checkpoint: Optional[str | Path], cfg: DictConfig, classnames: Sequence[str],
                    wise_ft: Optional[float] = None) -> nn.Module:
    """The model to evaluate: this project's checkpoint, a reference .pth, or (None) the run's model from CLIP.

    A checkpoint of this project records its model (``tcclip.load_model``): that model is
    evaluated, and a config whose model differs (``model=``, ``model.clip``,
    ``model.options.*``, ``data.num_frames``) gets a warning naming the differences; results
    record ``model.spec``, i.e. what was evaluated. The CLIP weights it records are used for
    WiSE-FT; when they are gone, ``model.pretrained=PATH`` points at a copy. A reference file
    records nothing: the config's model is built.
    """
    if checkpoint is None:
        return build_run_model(cfg, classnames)
    recorded = read_model_spec(checkpoint)
    if recorded is None:
        return load_model(checkpoint, classnames, spec=run_model_spec(cfg), wise_ft=wise_ft)
    differences = recorded.differences(_spec(cfg, None))  # pretrained aside: where weights are, not what the model is
    if differences:
        shown = ", ".join(f"{k}={a!r} (config: {b!r})" for k, (a, b) in differences.items())
        log.warning("%s holds a %s model that differs from the config's: %s. Evaluating the checkpoint's model; "
                    "the results record it.", checkpoint, recorded.name, shown)
    spec, weights = recorded, str(cfg.model.pretrained)
    gone = recorded.pretrained and looks_like_path(recorded.pretrained) and not os.path.isfile(recorded.pretrained)
    if gone and os.path.isfile(weights):
        spec = recorded.replace(pretrained=weights)  # model.pretrained=PATH: a copy of the recorded weights
    return load_model(checkpoint, classnames, spec=spec, wise_ft=wise_ft)


# ----------------------------------------------------------------------------------------
# results metadata
# ----------------------------------------------------------------------------------------

def git_commit() -> Optional[str]:
    try:
        root = Path(__file__).resolve().parents[2]
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        if out.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return out.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def cpu_model() -> Optional[str]:
    """The processor's model name (Linux: /proc/cpuinfo), or None. Recorded with results because
    CPU kernels round differently from one processor to another, and long runs drift apart."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def machine_info() -> dict:
    info: dict[str, Any] = {"platform": platform.platform(), "python": platform.python_version(),
                            "torch": torch.__version__, "cpu": platform.processor() or platform.machine(),
                            "cpu_model": cpu_model(), "cpu_count": os.cpu_count(), "threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        info["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        info["cuda"] = torch.version.cuda
    return info


def results_table(results: dict) -> str:
    """A markdown table of the test results."""
    lines = [f"# {results.get('protocol')} / {results.get('model')} ({results.get('data')})", "",
             "| test set | top-1 | top-5 | videos | views |", "|---|---|---|---|---|"]
    for variant, tests in (("", results.get("tests", {})), (" (WiSE-FT)", results.get("tests_wise_ft", {}))):
        for key, r in tests.items():
            lines.append(f"| {key}{variant} | {r['top1']:.2f} | {r['top5']:.2f} | {r['num_videos']} | {r['num_views']} |")
    for key, r in results.get("tests", {}).items():
        if r.get("unreadable"):
            lines += ["", f"{key}: {len(r['unreadable'])} unreadable videos were left out of the metrics (named under "
                          "'unreadable' in the JSON results)"]
    summary = results.get("summary", {})
    if summary:
        lines += ["", "| summary | value |", "|---|---|"]
        for key, value in summary.items():
            lines.append(f"| {key} | {value:.2f} |" if isinstance(value, float) else f"| {key} | {value} |")
    return "\n".join(lines) + "\n"


def write_results(results: dict, output: Path, name: str = "results") -> Path:
    """Atomic JSON + markdown writes."""
    path = atomic_write_json(output / f"{name}.json", results)
    atomic_write_text(output / f"{name}.md", results_table(results))
    return path


# ----------------------------------------------------------------------------------------
# tests and the whole run
# ----------------------------------------------------------------------------------------

def _summary(protocol: str, tests: dict, metric_sets: list[dict]) -> dict:
    out: dict[str, Any] = {}
    if protocol == "zero_shot":
        groups: dict[str, list[str]] = {}
        for t in metric_sets:
            groups.setdefault(t["group"], []).append(t["key"])
        for group, keys in groups.items():
            m1, s1 = mean_std([tests[k]["top1"] for k in keys])
            m5, s5 = mean_std([tests[k]["top5"] for k in keys])
            out.update({f"{group}/top1_mean": m1, f"{group}/top1_std": s1, f"{group}/top5_mean": m5,
                        f"{group}/top5_std": s5})
    elif protocol == "base2novel":
        keys = {t["group"]: t["key"] for t in metric_sets}
        base, novel = tests[keys["base"]]["top1"], tests[keys["novel"]]["top1"]
        out.update({"base_top1": base, "novel_top1": novel, "harmonic_mean": harmonic_mean(base, novel)})
    else:
        (key,) = tests
        out.update({"top1": tests[key]["top1"], "top5": tests[key]["top5"]})
    return out


def train_probe(cfg: DictConfig, t_args: dict):
    """``eval.train_probe`` training videos, evenly spaced over the list, in test mode (None if 0)."""
    n = int(cfg.eval.get("train_probe", 0) or 0)
    if n <= 0:
        return None
    from torch.utils.data import Subset

    full = build_video_dataset(cfg, mode="test", num_clips=int(cfg.eval.val_clips), num_crops=int(cfg.eval.val_crops),
                               **t_args)
    step = max(1, len(full) // n)
    return Subset(full, list(range(0, len(full), step))[:n])


def run_tests(cfg: DictConfig, model: nn.Module, info: DistInfo, views: Optional[tuple[int, int]] = None,
              predictions: bool = False) -> tuple[dict, dict]:
    """Evaluate ``model`` on every test set of the protocol; returns (per-set results, summary)."""
    clips, crops = views or test_views(cfg)
    tests: dict[str, dict] = {}
    sets = test_sets(cfg)
    precision = resolve_precision(str(cfg.train.amp), next(model.parameters()).dtype, info.device)
    for spec in sets:
        args = {k: v for k, v in spec.items() if k not in ("key", "group")}
        dataset = build_video_dataset(cfg, mode="test", num_clips=clips, num_crops=crops, **args)
        model.set_classnames(dataset.classnames)
        res = evaluate(model, dataset, batch_size=int(cfg.eval.batch_size), device=info.device, amp=precision.amp,
                       workers=int(cfg.data.workers), info=info, dtype=precision.dtype, return_predictions=predictions,
                       progress=bool(cfg.log.progress), desc=spec["key"])
        if predictions and "predictions" in res:
            for row in res["predictions"]:
                row["path"] = str(dataset.records[row["index"]].path)
                row["label_name"] = dataset.classnames[row["label"]]
                row["pred_name"] = dataset.classnames[row["pred"]]
        tests[spec["key"]] = res
        if info.is_main:
            log.info("test %s: top-1 %.2f top-5 %.2f (%d videos x %d views)", spec["key"], res["top1"], res["top5"],
                     res["num_videos"], res["num_views"])
    return tests, _summary(str(cfg.protocol.name), tests, sets)


def _metadata(cfg: DictConfig, command: Optional[Sequence[str]], started: float,
              spec: Optional[ModelSpec] = None) -> dict:
    """Provenance; ``spec``: the model that was trained or evaluated (the config's model otherwise)."""
    return {"command": " ".join(command) if command else " ".join([Path(sys.executable).name, *sys.argv]),
            "git_commit": git_commit(), "seed": int(cfg.seed), "machine": machine_info(),
            "wall_time_s": time.time() - started, "protocol": str(cfg.protocol.name), "data": str(cfg.data.name),
            "model": spec.name if spec else str(cfg.model.name), "model_spec": spec.to_dict() if spec else None,
            "profile": str(cfg.profile),
            "config": OmegaConf.to_container(cfg, resolve=True)}


def _seed_everything(seed: int) -> None:
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def run(cfg: DictConfig, command: Optional[Sequence[str]] = None) -> dict:
    """Train (unless model=clip) and test under ``cfg``; returns and writes the results.

    Results keys: command, git_commit, seed, machine, wall_time_s, protocol, data, model,
    profile, config, train (schedule, history, validations, best_top1, skipped_videos,
    checkpoints, finished), tests ({set: {top1, top5, num_videos, num_views, skipped}}),
    summary (per protocol: zero-shot "<target>/top1_mean|top1_std|top5_mean|top5_std";
    base2novel base_top1, novel_top1, harmonic_mean; otherwise top1, top5), and for zero-shot
    with eval.wise_ft set, tests_wise_ft / summary_wise_ft (eval.test=false skips all tests). A run stopped by train.max_steps
    returns {"finished": False, ...} without tests.
    """
    from .engine import train

    started = time.time()
    info = init_distributed(str(cfg.device))
    output = Path(str(cfg.output))
    try:
        _seed_everything(int(cfg.seed))
        t_args, v_args = train_views(cfg)
        results: dict[str, Any] = {}
        if cfg.model.name == "clip":
            probe = build_video_dataset(cfg, mode="test", **{k: v for k, v in test_sets(cfg)[0].items()
                                                              if k not in ("key", "group")})
            model = build_run_model(cfg, probe.classnames).to(info.device)
            log.info("model=clip is evaluated as it is (no training)")
        else:
            train_set = build_video_dataset(cfg, mode="train", **t_args)
            val_set = build_video_dataset(cfg, mode="test", num_clips=int(cfg.eval.val_clips),
                                          num_crops=int(cfg.eval.val_crops), **v_args)
            if val_set.classnames != train_set.classnames:
                raise ValueError(f"the validation list's classes ({val_set.label_file}) differ from the training "
                                 f"classes ({train_set.label_file}); point data.val_subset at a list of the same classes")
            model = build_run_model(cfg, train_set.classnames)
            summary = train(cfg, model, train_set, val_set, info, output, train_probe=train_probe(cfg, t_args))
            results["train"] = {k: v for k, v in summary.items()}
            if not summary["finished"]:
                results.update(_metadata(cfg, command, started, model.spec))
                results["finished"] = False
                return results
            best = summary["best_checkpoint"] or summary["last_checkpoint"]
            payload = read_checkpoint(best)
            model.load_state_dict(payload["model"])
            results["tested_checkpoint"] = best
        results["finished"] = True
        if not cfg.eval.test:
            results.update(_metadata(cfg, command, started, model.spec))
            if info.is_main:
                write_results(results, output)
            return results
        tests, summ = run_tests(cfg, model, info, predictions=bool(cfg.eval.save_predictions))
        results["tests"], results["summary"] = tests, summ
        if cfg.protocol.name == "zero_shot" and cfg.eval.wise_ft is not None and cfg.model.name != "clip":
            blended = load_eval_model(results["tested_checkpoint"], cfg, model.classnames,
                                      wise_ft=float(cfg.eval.wise_ft)).to(info.device, next(model.parameters()).dtype)
            tests_w, summ_w = run_tests(cfg, blended, info)
            results["tests_wise_ft"], results["summary_wise_ft"] = tests_w, summ_w
            results["wise_ft"] = float(cfg.eval.wise_ft)
        results.update(_metadata(cfg, command, started, model.spec))
        if info.is_main:
            if cfg.eval.save_predictions:
                _write_predictions(results["tests"], output)
                for res in results["tests"].values():
                    res.pop("predictions", None)
            write_results(results, output)
            log.info("results: %s", output / "results.json")
        return results
    finally:
        cleanup_distributed(info)


def _write_predictions(tests: dict, output: Path, name: str = "predictions.csv") -> Path:
    import csv

    output.mkdir(parents=True, exist_ok=True)
    path = output / name
    with atomic_path(path) as tmp, tmp.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["test_set", "index", "path", "label", "label_name", "pred", "pred_name", "prob", "top5"])
        for key, res in tests.items():
            for r in res.get("predictions", []):
                writer.writerow([key, r["index"], r.get("path", ""), r["label"], r.get("label_name", ""), r["pred"],
                                 r.get("pred_name", ""), f"{r['prob']:.6f}", " ".join(map(str, r["top5"]))])
    return path
