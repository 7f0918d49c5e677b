"""Per-step rows of a run to the console, ``train_log.csv``, TensorBoard and (optionally) W&B.

Rank 0 only. A run that starts at step ``s`` (a resume, or 0 for a fresh start) first drops the
rows past ``s`` that an earlier process logged before it was stopped, so the CSV holds each step
once, and TensorBoard purges its events past ``s`` the same way.
"""
from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from ..io import atomic_write_text
from .distributed import DistInfo

__all__ = ["RunLogger", "truncate_csv_log"]

log = logging.getLogger("tcclip.train")


def truncate_csv_log(path: Path, last_step: int) -> int:
    """Keep the rows of ``path`` with ``step <= last_step`` (atomically); returns how many were dropped."""
    if not path.is_file():
        return 0
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        return 0
    kept = [r for r in rows if r.get("step", "").isdigit() and int(r["step"]) <= last_step]
    if len(kept) == len(rows):
        return 0
    if not kept:
        path.unlink()
        return len(rows)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(kept)
    atomic_write_text(path, out.getvalue())
    return len(rows) - len(kept)


class RunLogger:
    """Rows to console, CSV and TensorBoard (and W&B if installed and enabled); rank 0 only."""

    def __init__(self, cfg: DictConfig, output: Path, info: DistInfo, start_step: int = 0) -> None:
        self.active = info.is_main
        self.every = max(1, int(cfg.log.every))
        self.csv_path = output / "train_log.csv" if cfg.log.csv else None
        self.tb = None
        self.wandb = None
        if not self.active:
            return
        if self.csv_path is not None:
            dropped = truncate_csv_log(self.csv_path, start_step)
            if dropped:
                log.info("%s: dropped %d rows past step %d (logged before the last stop)", self.csv_path, dropped,
                         start_step)
        if cfg.log.tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(output / "tensorboard"), purge_step=start_step + 1)
            except ImportError:
                log.warning("tensorboard is not installed: pip install tensorboard (or log.tensorboard=false)")
        if cfg.log.wandb:
            try:
                import wandb
            except ImportError:
                log.warning("log.wandb=true but wandb is not installed (pip install wandb); W&B logging is off")
            else:
                self.wandb = wandb.init(project=str(cfg.log.wandb_project), dir=str(output),
                                        config=OmegaConf.to_container(cfg, resolve=True))

    def row(self, row: dict, console: bool) -> None:
        if not self.active:
            return
        if self.csv_path is not None:
            new = not self.csv_path.is_file()
            with self.csv_path.open("a", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=list(row))
                if new:
                    writer.writeheader()
                writer.writerow(row)
        if self.tb is not None:
            for key, value in row.items():
                if key not in ("step", "epoch") and isinstance(value, (int, float)):
                    self.tb.add_scalar(f"train/{key}", value, row["step"])
        if self.wandb is not None:
            self.wandb.log(row, step=row["step"])
        if console:
            mem = f" mem {row['gpu_mem_gb']:.1f}GB" if row.get("gpu_mem_gb") else ""
            log.info("epoch %d step %d loss %.4f lr %.3g %.1f clips/s%s", row["epoch"], row["step"], row["loss"],
                     row["lr"], row["clips_per_s"], mem)

    def scalar(self, name: str, value: float, step: int) -> None:
        if self.active and self.tb is not None:
            self.tb.add_scalar(name, value, step)
        if self.active and self.wandb is not None:
            self.wandb.log({name: value}, step=step)

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()
        if self.wandb is not None:
            self.wandb.finish()
