"""The training loop, split the way open_clip's and the reference's are.

    setup             -> a TrainingRun: TrainParts (model, optimizer, scheduler, scaler, mixup,
                         precision), the schedule, the state (restored on resume), the logger
    train_step        one optimizer step; the book calls it too
    train_epoch       the steps of one epoch (resumable mid-epoch), stopping on request
    finish_epoch      validation (``validate``; with a training probe: learning curves), best.pt, last.pt
    write_checkpoint  last.pt / best.pt, everything an exact resume needs
    train             all of the above in order, and what each kind of stop leaves behind

Exactness of resume: the batch order is DistributedSampler's (seed + epoch); each sample is
drawn under its own seed (see ``data.py``); before every micro-batch torch's and numpy's
global RNGs are re-seeded from (seed, step, micro-batch), which fixes mixup / cutmix (timm
draws from numpy) and anything random in the model. A resumed run skips the batches already
seen and restores optimizer, scheduler, scaler and RNG states, so it computes the same losses
as an uninterrupted run.

Stops: ``train.max_steps`` saves ``last.pt`` and returns ``finished=False``. Ctrl-C or SIGTERM
lets the current step finish, saves ``last.pt`` and raises :class:`TrainingInterrupted` (the
command line exits 130). A NaN or infinite loss raises :class:`NonFiniteLossError` before the
weights change and leaves ``last.pt`` as it was. Too many unreadable videos
(``TooManyCorruptVideosError``) saves ``last.pt`` first (under DDP: when rank 0 meets the limit).
"""
from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from ..checkpoint import save_checkpoint
from ..data.datasets import TooManyCorruptVideosError
from ..io import remove_stale_temporaries
from ..loss import video_text_loss
from .config import effective_batch
from .data import SeededDataset, sample_seed, train_loader
from .distributed import DistInfo, all_gather_objects, all_reduce_sum, barrier
from .evaluate import evaluate
from .interrupt import StopRequest
from .optim import build_optimizer, build_scheduler
from .precision import Precision, autocast, resolve_precision
from .resume import (TrainState, keep_previous, read_resume_checkpoint, resolve_resume, restore_training, rng_state,
                     set_rng_state)
from .run_log import RunLogger

log = logging.getLogger("tcclip.train")

__all__ = ["NonFiniteLossError", "TrainingInterrupted", "TrainState", "Schedule", "TrainParts", "StepResult",
           "TrainingRun", "plan_schedule", "setup", "train_step", "train_epoch", "finish_epoch", "write_checkpoint",
           "train", "rng_state", "set_rng_state", "resolve_resume"]


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or inf; the optimizer step was not taken, the last good checkpoint was left as it was."""


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped on Ctrl-C or SIGTERM after saving ``checkpoint``; rerunning the command resumes."""

    def __init__(self, message: str, checkpoint: Path, exit_code: int = 130) -> None:
        super().__init__(message)
        self.checkpoint, self.exit_code = checkpoint, exit_code


# ----------------------------------------------------------------------------------------
# one step
# ----------------------------------------------------------------------------------------

def _unwrap(model: nn.Module) -> nn.Module:
    model = getattr(model, "module", model)  # DistributedDataParallel
    return getattr(model, "_orig_mod", model)  # torch.compile


@dataclass
class TrainParts:
    """What one optimizer step needs. ``setup`` builds it from a config; the book builds one by hand:

        parts = TrainParts(model, build_optimizer(model, lr=1e-4))
        result = train_step(parts, [{"video": video, "label": labels}])
    """

    model: nn.Module  # what the forward pass runs (DDP / compiled wrapper, or the model itself)
    optimizer: torch.optim.Optimizer
    scheduler: Optional[Any] = None  # stepped after every optimizer step
    scaler: Optional[torch.amp.GradScaler] = None  # None: made from the precision (enabled for fp16)
    precision: Precision = Precision()
    mixup: Optional[Callable] = None  # (video, label) -> (video, soft targets)
    label_smoothing: float = 0.1
    clip_grad: Optional[float] = None
    info: DistInfo = DistInfo()

    def __post_init__(self) -> None:
        if self.scaler is None:
            self.scaler = torch.amp.GradScaler(self.info.device.type, enabled=self.precision.needs_grad_scaler)

    @property
    def base(self) -> nn.Module:
        """The model itself, without DDP / compile wrappers (checkpoints, clipping, evaluation)."""
        return _unwrap(self.model)


@dataclass
class StepResult:
    loss: float  # mean over micro-batches (and processes)
    lr: float  # the base learning rate the step used
    clips: int  # clips this process trained on
    skipped: int  # unreadable videos replaced in these batches
    seconds: float


def _seed_micro_batch(seed: int, step: int, micro: int, rank: int) -> None:
    """Mixup / cutmix (numpy) and anything random in the model (torch) repeat exactly on resume."""
    micro_seed = sample_seed(seed, 7, step, micro, rank)
    torch.manual_seed(micro_seed)
    np.random.seed(micro_seed % 2**32)


def train_step(parts: TrainParts, micro_batches: Iterable[dict], accumulation: Optional[int] = None, *,
               seed: int = 0, step: int = 0) -> StepResult:
    """One optimizer step over ``accumulation`` micro-batches (default: all of ``micro_batches``).

    Each micro-batch (a dict with "video" [B, T, 3, H, W] and "label" [B]): seeded from (seed,
    step, micro-batch, rank), mixed, run under autocast, its loss / accumulation back-propagated
    (DDP synchronises gradients on the last one only). Then a NaN / inf mean loss raises
    :class:`NonFiniteLossError` before the weights change; otherwise gradients are unscaled and
    clipped (``clip_grad``), the optimizer steps through the grad scaler, the scheduler steps.
    """
    if accumulation is None:
        micro_batches = list(micro_batches)
        accumulation = len(micro_batches)
    started, info, precision = time.perf_counter(), parts.info, parts.precision
    batches = iter(micro_batches)
    loss_sum = torch.zeros((), dtype=torch.float64)
    clips = skipped = 0
    for micro in range(accumulation):
        batch = next(batches)
        _seed_micro_batch(seed, step, micro, info.rank)
        video = batch["video"].to(device=info.device, dtype=precision.dtype, non_blocking=True)
        target = batch["label"].to(info.device)
        if parts.mixup is not None:
            video, target = parts.mixup(video, target)
            target = target.to(precision.dtype)
        last = micro == accumulation - 1
        with contextlib.nullcontext() if last or not info.enabled else parts.model.no_sync():
            with autocast(info.device, precision.amp):
                logits = parts.model(video)
            loss = video_text_loss(logits, target, parts.label_smoothing)
            parts.scaler.scale(loss / accumulation).backward()
        loss_sum += loss.detach().to("cpu", torch.float64)
        clips += video.shape[0]
        skipped += int(batch["skipped"].sum()) if "skipped" in batch else 0
    mean_loss = float(all_reduce_sum(loss_sum / accumulation, info)) / info.world_size
    if not math.isfinite(mean_loss):
        parts.optimizer.zero_grad(set_to_none=True)
        raise NonFiniteLossError(f"the loss became {mean_loss} at step {step}; the optimizer step was not taken")
    lr = _base_lr(parts.optimizer)
    if parts.clip_grad:
        parts.scaler.unscale_(parts.optimizer)
        nn.utils.clip_grad_norm_(parts.base.parameters(), float(parts.clip_grad))
    parts.scaler.step(parts.optimizer)
    parts.scaler.update()
    parts.optimizer.zero_grad(set_to_none=True)
    if parts.scheduler is not None:
        parts.scheduler.step()
    return StepResult(mean_loss, lr, clips, skipped, time.perf_counter() - started)


def _base_lr(optimizer: torch.optim.Optimizer) -> float:
    """The lr of the non-prompt groups (the recipe's lr), for logging."""
    for group in optimizer.param_groups:
        if group.get("lr_scale", 1.0) == 1.0:
            return float(group["lr"])
    return float(optimizer.param_groups[0]["lr"]) / float(optimizer.param_groups[0].get("lr_scale", 1.0))


# ----------------------------------------------------------------------------------------
# set-up
# ----------------------------------------------------------------------------------------

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


@dataclass
class TrainingRun:
    """Everything ``train`` sets up once and its parts share."""

    cfg: DictConfig
    parts: TrainParts
    schedule: Schedule
    state: TrainState
    logger: RunLogger
    data: SeededDataset
    output: Path
    history: list[dict] = field(default_factory=list)  # per step: step, loss, lr
    validations: list[dict] = field(default_factory=list)  # per validated epoch
    steps_this_run: int = 0
    last_saved_step: Optional[int] = None  # the step of this process's latest last.pt
    on_step: Optional[Callable[[dict], None]] = None

    @property
    def info(self) -> DistInfo:
        return self.parts.info


def _build_parts(cfg: DictConfig, model: nn.Module, schedule: Schedule, precision: Precision,
                 info: DistInfo) -> TrainParts:
    """Optimizer (the paper's groups), warm-up + cosine schedule, grad scaler, mixup / cutmix."""
    t = cfg.train
    lr = float(cfg.protocol.lr)
    optimizer = build_optimizer(model, lr, float(t.weight_decay), tuple(t.betas), float(t.eps), float(t.prompt_lr_mult),
                                float(t.positional_lr_mult))
    scheduler = build_scheduler(optimizer, schedule.total_steps, schedule.warmup_steps, lr, float(cfg.protocol.min_lr))
    mixup = None
    if float(t.mixup) > 0 or float(t.cutmix) > 0:
        if schedule.batch_per_gpu % 2:
            raise ValueError(f"mixup/cutmix pair samples within a batch, so train.batch_per_gpu must be even "
                             f"(got {schedule.batch_per_gpu}); or set train.mixup=0 train.cutmix=0")
        from ..data import build_mixup

        mixup = build_mixup(model.num_classes, float(t.mixup), float(t.cutmix), float(t.switch_prob),
                            float(t.label_smoothing))
    return TrainParts(model, optimizer, scheduler, None, precision, mixup, float(t.label_smoothing),
                      float(t.clip_grad) if t.clip_grad else None, info)


def compiled_attention_backward_works(dtype: torch.dtype, device: torch.device) -> bool:
    """Whether torch.compile can run the backward of ``scaled_dot_product_attention`` in ``dtype`` on ``device``.

    In torch 2.6.0 (and up to the fix, found in 2.13.0; the releases between are unchecked),
    Inductor's shape function for the CPU flash-attention kernel made its saved logsumexp
    float32 whatever the input, while the kernel
    writes float64 for float64 inputs, so the compiled backward of a float64 model stops with
    "expected scalar type Double but found Float" (pytorch/pytorch#185539, fixed by #185573).
    Asked of torch's shape function itself, not of its version number.
    """
    if torch.device(device).type != "cpu" or dtype != torch.float64:
        return True
    q = torch.empty(1, 1, 1, 8, dtype=dtype, device="meta")
    _, logsumexp = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(q, q, q)[:2]
    return logsumexp.dtype == dtype


def check_compile(cfg: DictConfig, precision: Precision, device: torch.device) -> None:
    """train.compile=true: refuse, before any work, a dtype/device pair this torch cannot compile."""
    if cfg.train.compile and not compiled_attention_backward_works(precision.dtype, device):
        raise ValueError(f"train.compile=true with train.dtype=float64 on {torch.device(device).type} fails in torch "
                         f"{torch.__version__}: its compiled attention backward expects a float32 logsumexp where the "
                         f"CPU kernel writes float64 (pytorch/pytorch#185539). Set train.compile=false, or "
                         f"train.dtype=float32, or upgrade torch (2.13 has the fix).")


def _wrap(cfg: DictConfig, model: nn.Module, info: DistInfo) -> nn.Module:
    if cfg.train.compile:
        model = torch.compile(model)
    if info.enabled:
        model = nn.parallel.DistributedDataParallel(
            model, device_ids=[info.device.index] if info.device.type == "cuda" else None,
            find_unused_parameters=bool(cfg.train.find_unused_parameters))
    return model


def setup(cfg: DictConfig, model: nn.Module, train_set, info: DistInfo, output: Path,
          on_step: Optional[Callable[[dict], None]] = None) -> TrainingRun:
    """Model on its device and dtype, schedule, parts, the resumed state if any, the logger."""
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    if info.is_main:
        for stale in remove_stale_temporaries(output):  # left by a process killed while writing
            log.info("removed %s (an unfinished write of a stopped run)", stale)
    barrier(info)
    precision = resolve_precision(str(cfg.train.amp), str(cfg.train.dtype), info.device)
    check_compile(cfg, precision, info.device)
    if cfg.train.deterministic:
        torch.use_deterministic_algorithms(True)
    model.to(device=info.device, dtype=precision.dtype)
    if cfg.train.grad_checkpointing:
        model.set_grad_checkpointing(True)
    schedule = plan_schedule(cfg, len(train_set), info)
    if info.is_main:
        log.info("effective batch %d = %d per GPU x %d processes x %d accumulation steps (recipe total_batch %d); "
                 "%d steps/epoch, %d steps, %d warm-up", schedule.effective_batch, schedule.batch_per_gpu,
                 info.world_size, schedule.accumulation, cfg.protocol.total_batch, schedule.steps_per_epoch,
                 schedule.total_steps, schedule.warmup_steps)
    parts = _build_parts(cfg, model, schedule, precision, info)
    state, history, validations = TrainState(), [], []
    resume = resolve_resume(cfg, output)
    if resume is not None:
        path, payload = read_resume_checkpoint(resume, cfg, output)
        state, history, validations = restore_training(payload, path, schedule, model, parts.optimizer,
                                                       parts.scheduler, parts.scaler, info)
    parts.model = _wrap(cfg, model, info)
    logger = RunLogger(cfg, output, info, start_step=state.step)
    data = SeededDataset(train_set, repeats=int(cfg.protocol.train_clips))
    return TrainingRun(cfg, parts, schedule, state, logger, data, output, history, validations, on_step=on_step)


# ----------------------------------------------------------------------------------------
# epochs, validation, checkpoints
# ----------------------------------------------------------------------------------------

def _record(run: TrainingRun, epoch: int, result: StepResult, progress) -> None:
    """Count the step and log it (CSV, TensorBoard, console, the on_step callback, the progress bar)."""
    run.state.step += 1
    run.steps_this_run += 1
    run.state.skipped_videos += result.skipped
    info = run.info
    row = {"epoch": epoch, "step": run.state.step, "loss": result.loss, "lr": result.lr,
           "clips_per_s": result.clips * info.world_size / result.seconds if result.seconds > 0 else 0.0,
           "gpu_mem_gb": torch.cuda.max_memory_allocated(info.device) / 2**30 if info.device.type == "cuda" else 0.0}
    run.history.append({"step": run.state.step, "loss": result.loss, "lr": result.lr})
    run.logger.row(row, console=run.state.step % run.logger.every == 0)
    if run.on_step is not None:
        run.on_step(row)
    if progress is not None:
        progress.update(1)
        progress.set_postfix(loss=f"{result.loss:.4f}")


def train_epoch(run: TrainingRun, epoch: int, stop: StopRequest) -> Optional[str]:
    """Train what is left of ``epoch``; returns why it stopped early ("max_steps", "signal") or None."""
    cfg, schedule, state = run.cfg, run.schedule, run.state
    done = state.step - epoch * schedule.steps_per_epoch
    remaining = schedule.steps_per_epoch - done
    loader = train_loader(run.data, run.info, schedule.batch_per_gpu, int(cfg.seed), epoch,
                          done * schedule.accumulation, int(cfg.data.workers))
    batches = iter(loader)
    progress = None
    if cfg.log.progress and run.info.is_main and remaining > 0:
        from tqdm.auto import tqdm

        progress = tqdm(total=remaining, desc=f"epoch {epoch + 1}/{cfg.protocol.epochs}", leave=False)
    try:
        for _ in range(remaining):
            if cfg.train.max_steps is not None and run.steps_this_run >= int(cfg.train.max_steps):
                return "max_steps"
            result = train_step(run.parts, batches, schedule.accumulation, seed=int(cfg.seed), step=state.step)
            _record(run, epoch, result, progress)
            if cfg.train.checkpoint_every and state.step % int(cfg.train.checkpoint_every) == 0:
                write_checkpoint(run, "last.pt")
            if stop.requested(run.info):
                return "signal"
    finally:
        if progress is not None:
            progress.close()
    return None


def finish_epoch(run: TrainingRun, val_set, epoch: int, train_probe=None) -> None:
    """Validate (every ``eval.every_epochs`` and after the last epoch), keep best.pt, write last.pt.

    ``train_probe`` (optional, a test-mode dataset of training videos) is evaluated with each
    validation, as ``train_top1`` / ``train_top5``: with the validation top-1 it draws the
    learning curves (does the model fit what it trains on? does that carry to new videos?).
    """
    cfg, state, info = run.cfg, run.state, run.info
    every, last_epoch = int(cfg.eval.every_epochs), epoch + 1 == int(cfg.protocol.epochs)
    val = {}
    if val_set is not None and every > 0 and ((epoch + 1) % every == 0 or last_epoch):
        val = validate(run, val_set, epoch, train_probe)
        skipped = int(all_reduce_sum(torch.tensor([float(state.skipped_videos)]), info)[0])
        if info.is_main:
            log.info("epoch %d validation: top-1 %.2f top-5 %.2f (%d videos); %d training videos skipped so far",
                     epoch, val["top1"], val["top5"], val["num_videos"], skipped)
    state.epochs_done = epoch + 1
    if val and val["top1"] > state.best_metric:
        state.best_metric, state.best_epoch = float(val["top1"]), epoch
        write_checkpoint(run, "best.pt")
    write_checkpoint(run, "last.pt")


def validate(run: TrainingRun, val_set, epoch: int, train_probe=None) -> dict:
    """Top-1/top-5 on ``val_set`` (and ``train_top1``/``train_top5`` on ``train_probe``) now;
    appended to ``run.validations`` and logged. ``epoch`` -1 is the model before its first step."""
    cfg, state, info = run.cfg, run.state, run.info
    model = run.parts.model.module if info.enabled else run.parts.model
    kwargs = dict(batch_size=int(cfg.eval.batch_size), device=info.device, amp=run.parts.precision.amp,
                  workers=int(cfg.data.workers), info=info, dtype=run.parts.precision.dtype)
    val = evaluate(model, val_set, progress=bool(cfg.log.progress), desc=f"val {epoch + 1}", **kwargs)
    val = {"epoch": epoch, "step": state.step, **val}
    if train_probe is not None:
        probe = evaluate(model, train_probe, **kwargs)
        val.update(train_top1=probe["top1"], train_top5=probe["top5"])
        run.logger.scalar("train_probe/top1", probe["top1"], state.step)
    run.validations.append(val)
    run.logger.scalar("val/top1", val["top1"], state.step)
    return val


def write_checkpoint(run: TrainingRun, name: str, collective: bool = True) -> Path:
    """``<output>/<name>``: weights, optimizer, scheduler, scaler, state, every rank's RNG, logs, config.

    Written atomically by rank 0. ``last.pt`` keeps its predecessor as ``last.prev.pt`` when it
    holds an older step (a rewrite at the same step, e.g. at an epoch's end, keeps the older one).
    ``collective=False`` (a stop on one rank, when the others cannot be waited for) saves this
    rank's RNG and skip count only, and only on rank 0.
    """
    info, path = run.info, run.output / name
    saved_state = asdict(run.state)
    if collective:  # skipped videos are counted per rank: save the total (rank 0 carries it after a resume)
        saved_state["skipped_videos"] = int(all_reduce_sum(torch.tensor([float(run.state.skipped_videos)]), info)[0])
        rngs = all_gather_objects(rng_state(), info) if info.enabled else rng_state()
    else:
        rngs = rng_state()
    if info.is_main:
        if name == "last.pt" and run.last_saved_step != run.state.step:
            keep_previous(path)
        p = run.parts
        save_checkpoint(path, p.base, optimizer=p.optimizer.state_dict(), scheduler=p.scheduler.state_dict(),
                        scaler=p.scaler.state_dict(), train_state=saved_state, rng=rngs, schedule=asdict(run.schedule),
                        history=run.history, validations=run.validations, epoch=run.state.epochs_done,
                        step=run.state.step, max_accuracy=run.state.best_metric,
                        config=OmegaConf.to_container(run.cfg, resolve=True))
    if name == "last.pt":
        run.last_saved_step = run.state.step
    if collective:
        barrier(info)
    return path


# ----------------------------------------------------------------------------------------
# the whole run
# ----------------------------------------------------------------------------------------

def train(cfg: DictConfig, model: nn.Module, train_set, val_set, info: DistInfo, output: Path,
          on_step: Optional[Callable[[dict], None]] = None, train_probe=None) -> dict:
    """Train ``model`` on ``train_set`` under ``cfg``; validate on ``val_set`` after each epoch
    (and evaluate ``train_probe``, training videos in test mode, with it, also before the first
    step: see ``finish_epoch``).

    Writes ``output/last.pt`` (every epoch, every ``train.checkpoint_every`` steps and at every
    stop) and ``output/best.pt`` (best validation top-1). Returns a summary: schedule, per-step
    history (loss, lr), per-epoch validation, best, paths, whether the run finished (False when
    stopped by ``train.max_steps``). See the module docstring for the other stops.
    """
    run = setup(cfg, model, train_set, info, output, on_step)
    last, stopped = run.output / "last.pt", None
    try:
        if train_probe is not None and val_set is not None and run.state.step == 0 and not run.validations:
            validate(run, val_set, -1, train_probe)  # the learning curves start at the untrained model
        with StopRequest() as stop:
            for epoch in range(run.state.epochs_done, int(cfg.protocol.epochs)):
                stopped = train_epoch(run, epoch, stop)
                if stopped:
                    break
                finish_epoch(run, val_set, epoch, train_probe)
                if stop.requested(info):
                    stopped = "signal"
                    break
    except NonFiniteLossError as err:
        raise NonFiniteLossError(
            f"{err}: training stopped and the last good checkpoint ({last}) was not overwritten. Try a lower "
            "protocol.lr, train.amp=bf16 instead of fp16, or train.clip_grad=1.0, then resume from it.") from None
    except TooManyCorruptVideosError:
        write_checkpoint(run, "last.pt", collective=False)
        log.error("stopped for unreadable videos; the %d steps so far are saved in %s", run.state.step, last)
        raise
    finally:
        run.logger.close()
    if stopped:
        write_checkpoint(run, "last.pt")
    if stopped == "signal":
        message = (f"interrupted at step {run.state.step}; saved {last}. Run the same command again to resume from it "
                   "(resume=auto), or pass resume=none to start over.")
        if info.is_main:
            log.warning("%s", message)
        raise TrainingInterrupted(message, last, stop.exit_code)
    if stopped == "max_steps" and info.is_main:
        log.info("stopped after %d steps this run (train.max_steps); resume with the same command", run.steps_this_run)
    return _summary(run, finished=stopped is None)


def _summary(run: TrainingRun, finished: bool) -> dict:
    state, info = run.state, run.info
    total_skipped = int(all_reduce_sum(torch.tensor([float(state.skipped_videos)]), info)[0])
    if total_skipped and info.is_main:
        log.warning("%d unreadable training videos were skipped (replaced by others); run `python -m tcclip check`",
                    total_skipped)
    best = run.output / "best.pt"
    return {"schedule": asdict(run.schedule), "history": run.history, "validations": run.validations,
            "finished": finished, "steps": state.step,
            "best_top1": state.best_metric if state.best_epoch >= 0 else None, "best_epoch": state.best_epoch,
            "skipped_videos": total_skipped, "last_checkpoint": str(run.output / "last.pt"),
            "best_checkpoint": str(best) if best.is_file() else None}
