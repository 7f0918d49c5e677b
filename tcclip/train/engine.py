"""The training loop: accumulation, AMP, DDP, exact resume, checkpoints and logging.

Exactness of resume: the batch order is DistributedSampler's (seed + epoch); each sample is
drawn under its own seed (see ``data.py``); before every micro-batch torch's and numpy's
global RNGs are re-seeded from (seed, step, micro-batch), which fixes mixup / cutmix (timm
draws from numpy) and anything random in the model. A resumed run skips the batches already
seen and restores optimizer, scheduler, scaler and RNG states, so it computes the same losses
as an uninterrupted run.
"""
from __future__ import annotations

import contextlib
import csv
import logging
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from ..checkpoint import read_checkpoint, save_checkpoint
from ..loss import video_text_loss
from .config import effective_batch
from .data import SeededDataset, sample_seed, train_loader
from .distributed import DistInfo, all_reduce_sum, barrier
from .evaluate import autocast_context, evaluate
from .optim import build_optimizer, build_scheduler

log = logging.getLogger("tcclip.train")

__all__ = ["NonFiniteLossError", "TrainState", "train", "rng_state", "set_rng_state", "resolve_resume"]


#: Parameters that the models never train (see where they are frozen in ``train``).


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or inf; the last good checkpoint was left as it was."""


@dataclass
class TrainState:
    step: int = 0  # optimizer steps done
    epochs_done: int = 0  # epochs finished (trained and validated)
    best_metric: float = -math.inf
    best_epoch: int = -1
    skipped_videos: int = 0


@dataclass
class Schedule:
    accumulation: int
    steps_per_epoch: int
    total_steps: int
    warmup_steps: int
    batch_per_gpu: int
    world_size: int

    @property
    def effective_batch(self) -> int:
        return self.batch_per_gpu * self.world_size * self.accumulation


def rng_state() -> dict:
    """Global RNG states as tensors/ints (loadable with torch.load(weights_only=True))."""
    np_state = np.random.get_state()
    state = {"torch": torch.get_rng_state(), "numpy_keys": torch.from_numpy(np_state[1].astype(np.int64)),
             "numpy_pos": int(np_state[2]), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(("MT19937", state["numpy_keys"].numpy().astype(np.uint32), state["numpy_pos"], 0, 0.0))
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def resolve_resume(cfg: DictConfig, output: Path) -> Optional[Path]:
    """--resume PATH, or output/last.pt when resume=auto and it exists, or None."""
    value = str(cfg.resume) if cfg.resume is not None else "none"
    if value in ("none", "false", "False", ""):
        return None
    if value == "auto":
        last = output / "last.pt"
        return last if last.is_file() else None
    path = Path(value)
    if not path.is_file():
        raise FileNotFoundError(f"resume checkpoint {path} does not exist (resume=auto picks {output / 'last.pt'})")
    return path


def _unwrap(model: nn.Module) -> nn.Module:
    model = getattr(model, "module", model)
    return getattr(model, "_orig_mod", model)


class _Logger:
    """Per-step rows to console, CSV and TensorBoard (and W&B if installed and enabled); rank 0 only."""

    def __init__(self, cfg: DictConfig, output: Path, info: DistInfo) -> None:
        self.active = info.is_main
        self.every = max(1, int(cfg.log.every))
        self.csv_path = output / "train_log.csv" if cfg.log.csv else None
        self.tb = None
        self.wandb = None
        if not self.active:
            return
        if cfg.log.tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(output / "tensorboard"))
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


def plan_schedule(cfg: DictConfig, train_len: int, info: DistInfo) -> Schedule:
    batch = int(cfg.train.batch_per_gpu)
    accum = effective_batch(int(cfg.protocol.total_batch), batch, info.world_size)
    micro_per_epoch = (train_len * int(cfg.protocol.train_clips)) // (batch * info.world_size)
    steps = micro_per_epoch // accum
    if cfg.protocol.steps_per_epoch:
        steps = min(steps, int(cfg.protocol.steps_per_epoch))
    if steps <= 0:
        raise ValueError(
            f"the training list ({train_len} videos x {cfg.protocol.train_clips} views) is smaller than one "
            f"effective batch ({cfg.protocol.total_batch}); lower protocol.total_batch")
    epochs = int(cfg.protocol.epochs)
    return Schedule(accumulation=accum, steps_per_epoch=steps, total_steps=steps * epochs,
                    warmup_steps=steps * int(cfg.protocol.warmup_epochs), batch_per_gpu=batch,
                    world_size=info.world_size)


def _restore(path: Path, sched: Schedule, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler,
             scaler: torch.amp.GradScaler, info: DistInfo) -> tuple[TrainState, list[dict], list[dict]]:
    """Load a checkpoint to continue exactly: weights, optimizer, schedule, scaler, RNG; returns state and logs."""
    payload = read_checkpoint(path)
    saved = payload.get("schedule", {})
    for key in ("accumulation", "steps_per_epoch", "world_size", "batch_per_gpu"):
        if saved and saved.get(key) != getattr(sched, key):
            raise ValueError(f"cannot resume {path} exactly: it was trained with {key}={saved.get(key)}, "
                             f"this run has {getattr(sched, key)}; use the same world size and batch settings "
                             "(or resume=none to start over)")
    model.load_state_dict(payload["model"])
    optimizer.load_state_dict(payload["optimizer"])
    scheduler.load_state_dict(payload["scheduler"])
    if payload.get("scaler"):
        scaler.load_state_dict(payload["scaler"])
    state = TrainState(**payload["train_state"])
    if not info.is_main:
        state.skipped_videos = 0  # the saved count is the total over ranks; rank 0 carries it
    rng = payload["rng"]
    set_rng_state(rng[min(info.rank, len(rng) - 1)] if isinstance(rng, list) else rng)
    if info.is_main:
        log.info("resumed from %s at step %d (epoch %d)", path, state.step, state.epochs_done)
    return state, list(payload.get("history", [])), list(payload.get("validations", []))


def train(cfg: DictConfig, model: nn.Module, train_set, val_set, info: DistInfo, output: Path,
          on_step: Optional[Callable[[dict], None]] = None) -> dict:
    """Train ``model`` on ``train_set`` under ``cfg``; validate on ``val_set`` after each epoch.

    Writes ``output/last.pt`` (every epoch, every ``train.checkpoint_every`` steps and when
    stopped by ``train.max_steps``) and ``output/best.pt`` (best validation top-1). Returns a
    summary: schedule, per-step history (loss, lr), per-epoch validation, best, paths, whether
    the run finished or was stopped.
    """
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    device = info.device
    dtype = torch.float64 if cfg.train.dtype == "float64" else torch.float32
    amp = str(cfg.train.amp) if device.type == "cuda" or cfg.train.amp == "bf16" else "none"
    if cfg.train.amp != amp:
        log.info("train.amp=%s is not available on %s; training in full precision", cfg.train.amp, device)
    if dtype == torch.float64:
        amp = "none"
    if cfg.train.deterministic:
        torch.use_deterministic_algorithms(True)
    model = model.to(device=device, dtype=dtype)
    base = model
    if cfg.train.grad_checkpointing:
        base.set_grad_checkpointing(True)
    sched = plan_schedule(cfg, len(train_set), info)
    if info.is_main:
        log.info("effective batch %d = %d per GPU x %d processes x %d accumulation steps (recipe total_batch %d); "
                 "%d steps/epoch, %d steps, %d warm-up", sched.effective_batch, sched.batch_per_gpu, info.world_size,
                 sched.accumulation, cfg.protocol.total_batch, sched.steps_per_epoch, sched.total_steps,
                 sched.warmup_steps)
    lr = float(cfg.protocol.lr)
    optimizer = build_optimizer(base, lr, float(cfg.train.weight_decay), tuple(cfg.train.betas), float(cfg.train.eps),
                                float(cfg.train.prompt_lr_mult))
    scheduler = build_scheduler(optimizer, sched.total_steps, sched.warmup_steps, lr, float(cfg.protocol.min_lr))
    scaler = torch.amp.GradScaler(device.type, enabled=amp == "fp16")
    state = TrainState()
    history: list[dict] = []
    validations: list[dict] = []

    resume_path = resolve_resume(cfg, output)
    if resume_path is not None:
        state, history, validations = _restore(resume_path, sched, base, optimizer, scheduler, scaler, info)

    if cfg.train.compile:
        model = torch.compile(model)
    if info.enabled:
        model = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=bool(cfg.train.find_unused_parameters))
    mixup = None
    if float(cfg.train.mixup) > 0 or float(cfg.train.cutmix) > 0:
        if sched.batch_per_gpu % 2:
            raise ValueError(f"mixup/cutmix pair samples within a batch, so train.batch_per_gpu must be even "
                             f"(got {sched.batch_per_gpu}); or set train.mixup=0 train.cutmix=0")
        from ..data import build_mixup

        mixup = build_mixup(base.num_classes, float(cfg.train.mixup), float(cfg.train.cutmix),
                            float(cfg.train.switch_prob), float(cfg.train.label_smoothing))
    logger = _Logger(cfg, output, info)
    seeded = SeededDataset(train_set, repeats=int(cfg.protocol.train_clips))
    seed = int(cfg.seed)
    max_steps = cfg.train.max_steps
    steps_this_run = 0
    stopped = False

    def checkpoint(path: Path, extra: Optional[dict] = None) -> None:
        rngs = _gather_rng(info)
        # skipped videos are counted per rank: save the total (rank 0 carries it after a resume)
        saved_state = asdict(state)
        saved_state["skipped_videos"] = int(all_reduce_sum(torch.tensor([float(state.skipped_videos)]), info)[0])
        if info.is_main:
            save_checkpoint(path, base, optimizer=optimizer.state_dict(), scheduler=scheduler.state_dict(),
                            scaler=scaler.state_dict(), train_state=saved_state, rng=rngs,
                            schedule=asdict(sched), history=history, validations=validations,
                            epoch=state.epochs_done, step=state.step, max_accuracy=state.best_metric,
                            config=OmegaConf.to_container(cfg, resolve=True), **(extra or {}))
        barrier(info)

    model.train()
    for epoch in range(state.epochs_done, int(cfg.protocol.epochs)):
        done_in_epoch = state.step - epoch * sched.steps_per_epoch
        remaining = sched.steps_per_epoch - done_in_epoch
        loader = train_loader(seeded, info, sched.batch_per_gpu, seed, epoch, done_in_epoch * sched.accumulation,
                              int(cfg.data.workers))
        iterator = iter(loader)
        progress = None
        if cfg.log.progress and info.is_main and remaining > 0:
            from tqdm.auto import tqdm

            progress = tqdm(total=remaining, desc=f"epoch {epoch + 1}/{cfg.protocol.epochs}", leave=False)
        for _ in range(remaining):
            if max_steps is not None and steps_this_run >= int(max_steps):
                stopped = True
                break
            t0 = time.perf_counter()
            loss_sum = torch.zeros((), dtype=torch.float64)
            clips = 0
            for micro in range(sched.accumulation):
                batch = next(iterator)
                step_seed = sample_seed(seed, 7, state.step, micro, info.rank)
                torch.manual_seed(step_seed)
                np.random.seed(step_seed % 2**32)
                video = batch["video"].to(device=device, dtype=dtype, non_blocking=True)
                target = batch["label"].to(device)
                state.skipped_videos += int(batch["skipped"].sum())
                if mixup is not None:
                    video, target = mixup(video, target)
                    target = target.to(dtype)
                sync = micro == sched.accumulation - 1 or not info.enabled
                ctx = model.no_sync() if not sync else contextlib.nullcontext()
                with ctx:
                    with autocast_context(device, amp):
                        logits = model(video)
                    loss = video_text_loss(logits, target, float(cfg.train.label_smoothing))
                    scaler.scale(loss / sched.accumulation).backward()
                loss_sum += loss.detach().to("cpu", torch.float64)
                clips += video.shape[0]
            mean_loss = float(all_reduce_sum(loss_sum / sched.accumulation, info)) / info.world_size
            if not math.isfinite(mean_loss):
                logger.close()
                raise NonFiniteLossError(
                    f"the loss became {mean_loss} at step {state.step} (epoch {epoch}); training stopped and the last "
                    f"good checkpoint ({output / 'last.pt'}) was not overwritten. Try a lower protocol.lr, "
                    "train.amp=bf16 instead of fp16, or train.clip_grad=1.0, then resume from it.")
            if cfg.train.clip_grad:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(base.parameters(), float(cfg.train.clip_grad))
            lr_now = _base_lr(optimizer)
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad(set_to_none=True)
            scheduler.step()
            state.step += 1
            steps_this_run += 1
            dt = time.perf_counter() - t0
            row = {"epoch": epoch, "step": state.step, "loss": mean_loss, "lr": lr_now,
                   "clips_per_s": clips * info.world_size / dt if dt > 0 else 0.0,
                   "gpu_mem_gb": torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else 0.0}
            history.append({"step": state.step, "loss": mean_loss, "lr": row["lr"]})
            logger.row(row, console=state.step % logger.every == 0)
            if on_step is not None:
                on_step(row)
            if progress is not None:
                progress.update(1)
                progress.set_postfix(loss=f"{mean_loss:.4f}")
            if cfg.train.checkpoint_every and state.step % int(cfg.train.checkpoint_every) == 0:
                checkpoint(output / "last.pt")
        if progress is not None:
            progress.close()
        del iterator, loader
        if stopped:
            break
        # validation and best-checkpoint tracking
        skipped = int(all_reduce_sum(torch.tensor([float(state.skipped_videos)]), info)[0])
        val = {}
        every = int(cfg.eval.every_epochs)
        if val_set is not None and every > 0 and ((epoch + 1) % every == 0 or epoch + 1 == cfg.protocol.epochs):
            val = evaluate(model if not info.enabled else model.module, val_set, batch_size=int(cfg.eval.batch_size),
                           device=device, amp=amp, workers=int(cfg.data.workers), info=info, dtype=dtype,
                           progress=bool(cfg.log.progress), desc=f"val {epoch + 1}")
            val = {"epoch": epoch, **val}
            validations.append(val)
            logger.scalar("val/top1", val["top1"], state.step)
            if info.is_main:
                log.info("epoch %d validation: top-1 %.2f top-5 %.2f (%d videos); %d training videos skipped so far",
                         epoch, val["top1"], val["top5"], val["num_videos"], skipped)
        state.epochs_done = epoch + 1
        if val and val["top1"] > state.best_metric:
            state.best_metric, state.best_epoch = float(val["top1"]), epoch
            checkpoint(output / "best.pt")
        checkpoint(output / "last.pt")
    if stopped:
        checkpoint(output / "last.pt")
        if info.is_main:
            log.info("stopped after %d steps this run (train.max_steps); resume with the same command", steps_this_run)
    logger.close()
    total_skipped = int(all_reduce_sum(torch.tensor([float(state.skipped_videos)]), info)[0])
    if total_skipped and info.is_main:
        log.warning("%d unreadable training videos were skipped (replaced by others); run `python -m tcclip check`",
                    total_skipped)
    best = output / "best.pt"
    return {"schedule": asdict(sched), "history": history, "validations": validations, "finished": not stopped,
            "steps": state.step, "best_top1": state.best_metric if state.best_epoch >= 0 else None,
            "best_epoch": state.best_epoch, "skipped_videos": total_skipped, "last_checkpoint": str(output / "last.pt"),
            "best_checkpoint": str(best) if best.is_file() else None}


def _base_lr(optimizer: torch.optim.Optimizer) -> float:
    """The lr of the non-prompt groups (the recipe's lr), for logging."""
    for group in optimizer.param_groups:
        if group.get("lr_scale", 1.0) == 1.0:
            return float(group["lr"])
    return float(optimizer.param_groups[0]["lr"]) / float(optimizer.param_groups[0].get("lr_scale", 1.0))


def _gather_rng(info: DistInfo) -> Any:
    """Every rank's RNG states (rank 0 saves them); a list under DDP."""
    state = rng_state()
    if not info.enabled:
        return state
    from .distributed import all_gather_objects

    return all_gather_objects(state, info)
