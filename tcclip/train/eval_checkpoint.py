"""``eval``: a checkpoint on the protocol's test sets or on an explicit list."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional, Sequence

from omegaconf import DictConfig

from ..checkpoint import read_checkpoint
from .data import build_video_dataset
from .distributed import cleanup_distributed, init_distributed
from .evaluate import evaluate
from .precision import resolve_precision
from .protocols import _metadata, _write_predictions, load_eval_model, run_tests, test_sets, test_views, write_results

__all__ = ["evaluate_checkpoint"]


def evaluate_checkpoint(cfg: DictConfig, checkpoint: Optional[str], views: Optional[tuple[int, int]] = None,
                        wise_ft: Optional[float] = None, list_file: Optional[str] = None,
                        video_root: Optional[str] = None, labels: Optional[str] = None, predictions: bool = False,
                        name: str = "eval", command: Optional[Sequence[str]] = None) -> dict:
    """Evaluate and write ``<output>/<name>.json`` + ``.md`` (+ ``<name>_predictions.csv``).

    The model is ``load_eval_model``'s: a checkpoint of this project is evaluated as the model it
    records, and the results' "model" / "model_spec" say what was evaluated.
    """
    started = time.time()
    if checkpoint is not None and not Path(checkpoint).is_file():
        raise FileNotFoundError(f"checkpoint {checkpoint} does not exist")
    info = init_distributed(str(cfg.device))
    output = Path(str(cfg.output))
    try:
        first = test_sets(cfg)[0]
        if list_file is not None:
            clips, crops = views or test_views(cfg)
            dataset = build_video_dataset(cfg, first["name"], "standard", "test", mode="test", num_clips=clips,
                                          num_crops=crops, list_file=list_file, video_root=video_root, labels=labels)
            classnames = dataset.classnames
        else:
            dataset = None
            probe = build_video_dataset(cfg, mode="test", **{k: v for k, v in first.items() if k not in ("key", "group")})
            classnames = probe.classnames
        model = load_eval_model(checkpoint, cfg, classnames, wise_ft=wise_ft).to(info.device)
        if dataset is not None:
            precision = resolve_precision(str(cfg.train.amp), next(model.parameters()).dtype, info.device)
            res = evaluate(model, dataset, batch_size=int(cfg.eval.batch_size), device=info.device, amp=precision.amp,
                           workers=int(cfg.data.workers), info=info, return_predictions=predictions,
                           progress=bool(cfg.log.progress))
            for row in res.get("predictions", []):
                row["path"] = str(dataset.records[row["index"]].path)
                row["label_name"], row["pred_name"] = classnames[row["label"]], classnames[row["pred"]]
            tests, summary = {Path(list_file).stem: res}, {"top1": res["top1"], "top5": res["top5"]}
        else:
            tests, summary = run_tests(cfg, model, info, views=views, predictions=predictions)
        results = {"checkpoint": checkpoint, "wise_ft": wise_ft, "tests": tests, "summary": summary}
        if checkpoint is not None:
            payload = read_checkpoint(checkpoint)
            results["checkpoint_epoch"] = payload.get("epoch") if isinstance(payload, dict) else None
        results.update(_metadata(cfg, command, started, model.spec))
        if info.is_main:
            if predictions:
                _write_predictions(tests, output, f"{name}_predictions.csv")
                for res in tests.values():
                    res.pop("predictions", None)
            write_results(results, output, name)
        return results
    finally:
        cleanup_distributed(info)
