"""Multi-view evaluation: average the softmax probabilities over a video's views."""
from __future__ import annotations

import logging
import math
from typing import Optional

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

from .data import collate_videos
from .distributed import DistInfo, all_gather_objects, all_reduce_sum
from .precision import autocast

__all__ = ["evaluate", "harmonic_mean", "mean_std"]

log = logging.getLogger("tcclip.train")


@torch.no_grad()
def evaluate(model: nn.Module, dataset: Dataset, *, batch_size: int = 8, device: Optional[torch.device] = None,
             amp: str = "none", workers: int = 0, info: Optional[DistInfo] = None, dtype: Optional[torch.dtype] = None,
             return_predictions: bool = False, progress: bool = False, desc: str = "eval") -> dict:
    """Top-1 / top-5 accuracy (%) of ``model`` on ``dataset`` (a VideoDataset in test mode).

    ``amp`` is the autocast of ``tcclip.train.precision.resolve_precision``. Each item's video is
    ``[V, T, 3, H, W]`` (V = clips x crops, set when building the dataset)
    or ``[T, 3, H, W]``; the softmax probabilities of the V views are averaged. Under DDP each
    rank evaluates its share and the counts are summed. Returns {top1, top5, num_videos,
    num_views, skipped, unreadable, [predictions: list of {index, label, pred, top5, prob}]}.

    A video that cannot be decoded is never replaced by another (that would score the other
    video under its name): it is left out of top1 / top5 / num_videos / predictions, counted in
    ``skipped``, listed in ``unreadable`` ({index, label, path, error}, by index) and named in a
    warning. The dataset's ``max_skip_rate`` still stops an evaluation whose list is mostly broken.
    """
    info = info or DistInfo(device=device or next(model.parameters()).device)
    device = device or info.device
    dtype = dtype or next(model.parameters()).dtype
    mine = Subset(dataset, list(range(info.rank, len(dataset), info.world_size)))
    loader = DataLoader(mine, batch_size=batch_size, shuffle=False, num_workers=workers, collate_fn=collate_videos)
    was_training = model.training
    model.eval()
    correct1 = correct5 = count = skipped = 0
    views = 1
    rows: list[dict] = []
    unreadable: list[dict] = []
    iterator = loader
    if progress and info.is_main:
        from tqdm.auto import tqdm

        iterator = tqdm(loader, desc=desc, leave=False)
    for batch in iterator:
        skipped += int(batch["skipped"].sum())
        unreadable += batch.get("unreadable", [])
        video = batch["video"]
        if video is None:  # every video of this batch was unreadable
            continue
        if video.ndim == 5:
            video = video.unsqueeze(1)
        b, views = video.shape[:2]
        video = video.flatten(0, 1).to(device=device, dtype=dtype, non_blocking=True)
        with autocast(device, amp):
            logits = model(video)
        probs = logits.float().softmax(-1).view(b, views, -1).mean(1).cpu()
        labels = batch["label"]
        k = min(5, probs.shape[1])
        top = probs.topk(k, dim=1).indices
        correct1 += int((top[:, 0] == labels).sum())
        correct5 += int((top == labels[:, None]).any(1).sum())
        count += b
        if return_predictions:
            for i in range(b):
                rows.append({"index": int(batch["index"][i]), "label": int(labels[i]), "pred": int(top[i, 0]),
                             "top5": [int(t) for t in top[i]], "prob": float(probs[i, top[i, 0]])})
    model.train(was_training)
    totals = all_reduce_sum(torch.tensor([correct1, correct5, count, skipped], dtype=torch.float64), info)
    c1, c5, n, sk = (float(x) for x in totals)
    out = {"top1": 100.0 * c1 / n if n else math.nan, "top5": 100.0 * c5 / n if n else math.nan,
           "num_videos": int(n), "num_views": int(views), "skipped": int(sk)}
    out["unreadable"] = sorted((r for part in all_gather_objects(unreadable, info) for r in part),
                               key=lambda r: r["index"])
    if out["unreadable"] and info.is_main:
        shown = ", ".join(f"{r['path']} ({r['error']})" for r in out["unreadable"][:10])
        more = f" and {len(out['unreadable']) - 10} more" if len(out["unreadable"]) > 10 else ""
        log.warning("%s: %d of %d videos could not be decoded and are left out of the metrics (top-1 / top-5 over "
                    "the %d that decoded): %s%s. Run `python -m tcclip check` on the list to see every broken file.",
                    desc, len(out["unreadable"]), int(n) + len(out["unreadable"]), int(n), shown, more)
    if return_predictions:
        gathered = [r for part in all_gather_objects(rows, info) for r in part]
        out["predictions"] = sorted(gathered, key=lambda r: r["index"])
    return out


def harmonic_mean(a: float, b: float) -> float:
    return 2 * a * b / (a + b) if (a + b) else 0.0


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and (population, as in the papers' +- over 3 splits) standard deviation."""
    t = torch.tensor(values, dtype=torch.float64)
    return float(t.mean()), float(t.std(unbiased=False)) if len(values) > 1 else 0.0
