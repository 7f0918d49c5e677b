"""TC-CLIP, ViFi-CLIP, the literal per-video path and the reference release, side by side in one run.

Variants (each measured in its own process, so that its peak memory is its own):

* ``tc_clip``: this package's TC-CLIP (`VideoCLIP.forward`: text layers 0..L-2 once per class set,
  VP once per video, the last block's EOT query per (video, class));
* ``literal``: the same model through `tcclip.models.literal.literal_forward`, which runs the
  whole text encoder once per video over all classes, as the reference computes it, but with
  this package's layers;
* ``vifi_clip``: this package's ViFi-CLIP (frame-wise CLIP, the text features of a fixed prompt);
* ``reference`` / ``reference_vifi``: the reference release's own TC-CLIP / ViFi-CLIP, imported
  at run time from a checkout the user made (``--reference-dir``; nothing of it is copied here).
  It is built by its own ``trainers.build_trainer.returnCLIP`` from its own configs
  (``configs/trainer/*.yaml``, ``opt_level=O0``: fp32), which loads OpenAI-layout weights through
  fp16 as the release does; only the download is pointed at this run's weight file.

Every variant loads the same random CLIP weights (OpenAI layout, values representable in fp16 so
that the reference's fp16 load is lossless), and the TC variants the same extra parameters (bias
tables, prompt vectors, VP layer). Before timing, each variant's evaluation logits on the
setting's input are compared with this package's model of the same kind (``tc_clip`` or
``vifi_clip``); a disagreement stops the run, so the times compare one computation. The reference's
TC-CLIP takes discrete decisions (seed order, merging) on fp32 scores that it rounds differently, so
a near-tie can go the other way (measured; see ``LOGIT_ATOL``): a video whose fp32 logits differ is
recomputed by both programs in fp64, where they must agree to ``FLOAT64_LOGIT_ATOL``.

Per setting and variant: forward time (eval, no grad; this package reuses the class-only text
part between calls, the reference recomputes everything, as its evaluation loop does), training
step time (forward, backward, AdamW), clips/s of both, peak memory (peak RSS on CPU,
``torch.cuda.max_memory_allocated`` on a GPU), model FLOPs of a training step (this package's
variants, counted on "meta" tensors) and, on a GPU whose peak is known, MFU.

    python benchmarks/bench_model.py --quick                          # the tiny CPU setting
    python benchmarks/bench_model.py --reference-dir ../tc-clip       # CPU settings, the reference beside
    python benchmarks/bench_model.py --marginal 2,4,8                 # cost of one more video (B 2 -> 6)
    python benchmarks/bench_model.py --settings gpu24gb,gpu80gb       # the single-GPU presets

FLOPs are counted by torch's FlopCounterMode on "meta" tensors (attention on its math backend, so the
count does not depend on the kernel a torch build picks; `tcclip.book.benchmarking.count_flops`) without
gradient checkpointing (MFU counts the model's work, not the recomputation).

``--marginal`` times training steps at two batch sizes for each clip length and reports the
marginal cost of one video, (step(B2) - step(B1)) / (B2 - B1), per variant. The machine's load
average is recorded with every row: timings taken while other processes run are inflated.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import math
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import torch


@dataclass(frozen=True)
class Setting:
    clip: str
    frames: int
    size: int
    batch: int
    classes: int
    amp: str  # none | bf16 | fp16, as train.amp
    device: str
    grad_checkpointing: bool = False
    preset: Optional[str] = None  # batch, amp and checkpointing come from tcclip/configs/preset/<preset>.yaml
    train: bool = True  # time a training step (and not only the forward pass)
    forward: bool = True  # time the forward pass (eval, no grad)


SETTINGS = {
    "tiny-cpu": Setting("TC-Tiny", 8, 64, 8, 100, "none", "cpu"),
    "tiny-cpu-small": Setting("TC-Tiny", 4, 64, 2, 10, "none", "cpu"),  # the test suite's run of the whole script
    # the issue-13 table: ViT-B/16, 8 frames of 224 px, fp32
    "vitb16-2x10": Setting("ViT-B-16", 8, 224, 2, 10, "none", "cpu"),
    "vitb16-2x100": Setting("ViT-B-16", 8, 224, 2, 100, "none", "cpu"),
    "vitb16-4x100": Setting("ViT-B-16", 8, 224, 4, 100, "none", "cpu"),
    # the same at 2 frames: the reference's own size (ViT-B/16, 224 px) at a cost a loaded 2-core machine can afford
    "vitb16-t2-2x10": Setting("ViT-B-16", 2, 224, 2, 10, "none", "cpu"),
    "vitb16-t2-2x100": Setting("ViT-B-16", 2, 224, 2, 100, "none", "cpu"),
    # evaluation as the reference's loop runs it: its test batch (8 clips) over the 400 Kinetics classes
    "vitb16-eval-8x400": Setting("ViT-B-16", 8, 224, 8, 400, "none", "cpu", train=False),
    # the same kind of evaluation at a cost a loaded 2-core machine can afford (2 frames, 4 clips, 100 classes)
    "vitb16-eval-t2-4x100": Setting("ViT-B-16", 2, 224, 4, 100, "none", "cpu", train=False),
    "vitb16-gpu": Setting("ViT-B-16", 16, 224, 8, 400, "bf16", "cuda"),
    "vitb16-gpu-b32": Setting("ViT-B-16", 16, 224, 32, 400, "bf16", "cuda"),
}
PRESETS = ("gpu24gb", "gpu80gb")  # ViT-B/16 on one GPU, as tcclip/configs/preset/<name>.yaml trains it
NAMES = (*SETTINGS, *PRESETS)
CPU_SETTINGS = ("tiny-cpu", "vitb16-2x10", "vitb16-2x100", "vitb16-4x100", "vitb16-eval-8x400")
GPU_SETTINGS = ("vitb16-gpu", "vitb16-gpu-b32", *PRESETS)
# run order: this package's models first, so that the others can be checked against their logits
VARIANTS = ("tc_clip", "vifi_clip", "literal", "reference", "reference_vifi")
REFERENCE_VARIANTS = ("reference", "reference_vifi")
KIND = {"tc_clip": "tc_clip", "literal": "tc_clip", "reference": "tc_clip", "vifi_clip": "vifi_clip",
        "reference_vifi": "vifi_clip"}  # which of this package's models a variant must agree with
# the reference hardcodes ViT-B/16 at 224 px (196 patches per frame, a 768-wide q/k/v split, a
# 512-wide prompt generation layer), so it runs at that size only
REFERENCE_CLIP, REFERENCE_SIZE = "ViT-B-16", 224
# evaluation logits must agree this closely (fp32; logits are up to logit_scale = 100)
LOGIT_ATOL = {"none": 1e-3, "bf16": 0.5, "fp16": 0.5}
# The reference's TC-CLIP makes discrete choices (top-k seed order, bipartite A/B split, merge partners) from fp32
# scores that its code rounds differently from this package's, and differently again with another batch size
# (presumably other kernels for other shapes; not traced). A near-tie can then go the other way: measured at vitb16-t2-2x100, video 1,
# vision layer 7, frame 1, patches 63 and 182 have [CLS]-attention scores 0.0040307576 and 0.0040307573 (fp64;
# relative gap 7.8e-8, below fp32's 1.2e-7); they are seeds 45 and 46 of 58, and the reference's fp32 run at B=2
# swaps them, which moves both between the bipartite sets A and B, changes the merge and moves that video's logits
# by up to 0.018 (0.0084 over the first 10 classes). Alone (B=1) the reference keeps the fp64 order (3e-6 apart);
# this package's fp32 seed order equals fp64's at B=2 (and its logits are within 5e-6 at B=1). In fp64 both programs agree to 1.4e-14 at B=1 and B=2.
# So a video whose fp32 logits differ by more than LOGIT_ATOL is recomputed in fp64 by both programs (a child
# process, `float64_logit_difference`) and must agree there to FLOAT64_LOGIT_ATOL; only then is the fp32
# difference a rounding-decided choice and not a different computation. Both differences are recorded in the row.
FLOAT64_LOGIT_ATOL = 1e-8


def resolve(name: str) -> Setting:
    """The setting ``name``; a preset's clip length, size, batch, AMP and checkpointing come from its config."""
    if name in SETTINGS:
        return SETTINGS[name]
    from tcclip.train import compose_config

    cfg = compose_config([f"preset={name}"], profile="full")
    return Setting(str(cfg.model.clip), int(cfg.data.num_frames), int(cfg.data.size), int(cfg.train.batch_per_gpu),
                   400, str(cfg.train.amp), "cuda", bool(cfg.train.grad_checkpointing), preset=name)


def marginal_settings(frames: list[int], batches: tuple[int, int], classes: int, clip: str, size: int,
                      device: str) -> dict[str, Setting]:
    """Training-step-only settings for the marginal cost of a video: every clip length at both batch sizes."""
    amp = "bf16" if device == "cuda" else "none"
    return {f"marginal-T{t}-B{b}": Setting(clip, t, size, b, classes, amp, device, forward=False)
            for t in frames for b in batches}


NO_REFERENCE = ("skipped: no --reference-dir (a checkout of github.com/naver-ai/tc-clip, run as published) "
                "was given")


def reference_unsupported(s: Setting) -> Optional[str]:
    if (s.clip, s.size) != (REFERENCE_CLIP, REFERENCE_SIZE):
        return (f"n/a: the reference runs {REFERENCE_CLIP} at {REFERENCE_SIZE} px only "
                "(196 patches per frame and layer widths are hardcoded)")
    return None


def class_names(s: Setting) -> list[str]:
    return [f"action number {i}" for i in range(s.classes)]


def inputs(s: Setting) -> tuple[torch.Tensor, torch.Tensor]:
    """The same video batch and labels for every variant of a setting."""
    g = torch.Generator().manual_seed(1234)
    video = torch.randn(s.batch, s.frames, 3, s.size, s.size, generator=g)
    labels = torch.randint(0, s.classes, (s.batch,), generator=g)
    return video.to(s.device), labels.to(s.device)


def num_context(clip: str) -> int:
    return 16 if clip == "TC-Tiny" else 96


# ----- shared weights ------------------------------------------------------------------------
def make_weights(clip: str, workdir: Path) -> None:
    """Random CLIP weights in OpenAI's layout, and this package's TC-only parameters built on them.

    Every tensor is perturbed (open_clip's random init leaves biases at 0 and norms at 1, which
    would hide a wrongly wired parameter) and rounded to fp16, the precision in which OpenAI
    ships CLIP and in which the reference loads it, so that all variants hold the same values.
    """
    import open_clip

    import tcclip
    from tcclip.checkpoint import NOT_BLENDED
    from tcclip.models.backbone import register_tiny_configs

    register_tiny_configs()
    torch.manual_seed(0)
    model = open_clip.create_model(clip, pretrained=None, force_quick_gelu=True, load_weights=False)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "logit_scale":
                p.fill_(math.log(100.0))  # the trained CLIPs' scale, so logits have their real range
            else:
                p.add_(torch.randn_like(p) * 0.02)
            p.copy_(p.half().float())
    clip_path = workdir / f"{clip}.pt"
    torch.save(model.state_dict(), clip_path)
    del model
    torch.manual_seed(0)
    tc = tcclip.build_model("tc_clip", ["a"], clip=clip, pretrained=str(clip_path), num_frames=8,
                            num_context=num_context(clip))
    extras = {k: v for k, v in tc.state_dict().items() if NOT_BLENDED.search(k)}
    torch.save(extras, workdir / f"{clip}-tc-extras.pt")


# ----- the models ----------------------------------------------------------------------------
def build_tcclip(s: Setting, variant: str, workdir: Path):
    import tcclip

    model = tcclip.build_model(KIND[variant], class_names(s), clip=s.clip, pretrained=str(workdir / f"{s.clip}.pt"),
                               num_frames=s.frames, num_context=num_context(s.clip))
    if KIND[variant] == "tc_clip":
        extras = torch.load(workdir / f"{s.clip}-tc-extras.pt", weights_only=True)
        missing, unexpected = model.load_state_dict(extras, strict=False)
        if unexpected:
            raise RuntimeError(f"TC extras do not fit the model: {unexpected}")
    model = model.to(s.device)
    if s.grad_checkpointing:
        model.set_grad_checkpointing(True)
    return model, variant_forward(model, variant)


def variant_forward(model, variant: str):
    """How a variant of this package calls its model: the literal path or `VideoCLIP.forward`."""
    from tcclip.models.literal import literal_forward

    return (lambda v: literal_forward(model, v)) if variant == "literal" else model.__call__


def build_reference(s: Setting, variant: str, workdir: Path, reference_dir: Path):
    """The reference release's model, built by its own builder from its own configs, with this run's weights."""
    from omegaconf import OmegaConf

    from tcclip.checkpoint import to_reference_state_dict

    sys.path.insert(0, str(reference_dir))
    try:
        from clip import clip as reference_clip  # the reference's package, not OpenAI's pip "clip"
        from trainers import build_trainer
    except ImportError as err:
        raise SystemExit(f"cannot import the reference from {reference_dir} ({err}); it needs einops, ftfy, "
                         "regex, timm and omegaconf: pip install einops ftfy regex timm omegaconf") from None
    # the builder downloads OpenAI's weights; give it this run's file instead (same layout)
    reference_clip._download = lambda url, *args, **kwargs: str(workdir / f"{s.clip}.pt")
    trainer = "tc_clip" if variant == "reference" else "vifi_clip"
    configs = reference_dir / "configs"
    cfg = OmegaConf.merge(OmegaConf.load(configs / "common" / "default.yaml"),
                          OmegaConf.load(configs / "trainer" / f"{trainer}.yaml"),
                          OmegaConf.create({"opt_level": "O0", "num_frames": s.frames}))
    model = build_trainer.returnCLIP(cfg, logger=logging.getLogger("reference"), class_names=class_names(s))
    if variant == "reference":
        extras = torch.load(workdir / f"{s.clip}-tc-extras.pt", weights_only=True)
        state = {k.removeprefix("module."): v for k, v in to_reference_state_dict(extras).items()}
        missing, unexpected = model.load_state_dict(state, strict=False)
        if unexpected:
            raise RuntimeError(f"the TC parameters do not fit the reference model: {unexpected}")
    model = model.to(s.device)
    return model, (lambda v: model(v)["logits"])


def reference_to_float64(model) -> None:
    """The reference's model computing in fp64, for the agreement check only (never timed).

    Its modules cast their inputs to a ``dtype`` attribute (fp32 at opt_level O0) and its ``LayerNorm`` subclasses
    cast to fp32 and back (an fp16 guard that is the identity in its fp32 runs); here the attribute says fp64 and
    those LayerNorms run as `torch.nn.LayerNorm` (per instance, in this child process only). Nothing else changes.
    """
    model.double()
    for module in model.modules():
        if isinstance(vars(module).get("dtype"), torch.dtype):
            module.dtype = torch.float64
        if isinstance(module, torch.nn.LayerNorm) and type(module) is not torch.nn.LayerNorm:
            module.forward = torch.nn.LayerNorm.forward.__get__(module)


def float64_logit_difference(name: str, variant: str, videos: list[int], workdir: Path, reference_dir: Path,
                             settings: dict[str, Setting]) -> float:
    """Max |logit difference| between ``variant`` and this package's model, both in fp64, on some of the videos."""
    s = settings[name] if name in settings else resolve(name)
    video = inputs(s)[0][videos].double()
    torch.manual_seed(0)
    model, forward = build_tcclip(s, KIND[variant], workdir)
    model.double().eval()
    with torch.no_grad():
        ours = forward(video).cpu()
    model = forward = None
    torch.manual_seed(0)
    model, forward = build_reference(s, variant, workdir, reference_dir)
    reference_to_float64(model)
    model.eval()
    with torch.no_grad():
        theirs = forward(video).cpu()
    return (ours - theirs).abs().max().item()


def float64_recheck(name: str, variant: str, videos: list[int], workdir: Path, reference_dir: Path,
                    extra_args: list[str]) -> float:
    """`float64_logit_difference` in a fresh interpreter, so that the measured process's peak memory stays its own."""
    cmd = [sys.executable, __file__, "--float64-check", name, variant, ",".join(map(str, videos)), "--threads",
           str(torch.get_num_threads()), "--workdir", str(workdir), "--reference-dir", str(reference_dir), *extra_args]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the fp64 check of {name}/{variant} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])["max_abs_diff"]


def check_logits(logits: torch.Tensor, ours: torch.Tensor, atol: float, recheck_float64=None) -> dict:
    """Compare a variant's evaluation logits [B, C] with this package's; raise when they are not one computation.

    Videos whose fp32 logits differ by more than ``atol`` are passed to ``recheck_float64`` (videos -> max |logit
    difference| in fp64), which must return at most FLOAT64_LOGIT_ATOL; without it they fail at once.
    """
    per_video = (logits - ours).abs().amax(dim=1)
    far = [i for i, d in enumerate(per_video.tolist()) if not d <= atol]
    out = dict(logits_max_abs_diff=per_video.max().item(), float64_rechecked_videos=far,
               logits_max_abs_diff_float64=None)
    if not far:
        return out
    if recheck_float64 is None:
        raise RuntimeError(f"max |logit difference| {out['logits_max_abs_diff']:.3g} > {atol} (videos {far}); the "
                           "timings would not compare one computation")
    out["logits_max_abs_diff_float64"] = diff64 = recheck_float64(far)
    if not diff64 <= FLOAT64_LOGIT_ATOL:
        raise RuntimeError(f"max |logit difference| {out['logits_max_abs_diff']:.3g} > {atol} in fp32 (videos {far}) "
                           f"and {diff64:.3g} > {FLOAT64_LOGIT_ATOL} in fp64: the two programs compute different "
                           "things, and the timings would not compare one computation")
    return out


def check_reference_dir(path: Optional[str]) -> Optional[Path]:
    if path is None:
        return None
    root = Path(path).expanduser().resolve()
    needed = ["trainers/build_trainer.py", "trainers/tc_clip.py", "clip/clip.py", "configs/trainer/tc_clip.yaml"]
    absent = [p for p in needed if not (root / p).is_file()]
    if absent:
        raise SystemExit(f"--reference-dir {root} is not a checkout of the reference release (no {absent}); "
                         "clone https://github.com/naver-ai/tc-clip and pass its directory")
    return root


# ----- one measurement -----------------------------------------------------------------------
def step_flops(s: Setting, variant: str) -> Optional[int]:
    """Model FLOPs of one training step (forward + backward) at the setting's batch, on meta tensors."""
    if variant in REFERENCE_VARIANTS:
        return None  # counted for this package's models only (the literal path is the reference's algorithm)
    import tcclip
    from tcclip.book.benchmarking import count_flops

    torch.manual_seed(0)
    model = tcclip.build_model(KIND[variant], class_names(s), clip=s.clip, pretrained=None, num_frames=s.frames,
                               num_context=num_context(s.clip)).to("meta")
    forward = variant_forward(model, variant)
    video = torch.empty(s.batch, s.frames, 3, s.size, s.size, device="meta")
    labels = torch.zeros(s.batch, dtype=torch.long, device="meta")
    return count_flops(lambda: tcclip.video_text_loss(forward(video), labels).backward())


def measure(name: str, variant: str, repeats: int, workdir: Path, reference_dir: Optional[Path],
            settings: dict[str, Setting], extra_args: Sequence[str] = ()) -> dict:
    import tcclip
    from tcclip.book.benchmarking import count_flops, time_call

    s = settings[name] if name in settings else resolve(name)
    row = dict(setting=name, variant=variant, **asdict(s), load_at_start=os.getloadavg()[0])
    torch.manual_seed(0)
    if variant in REFERENCE_VARIANTS:
        model, forward = build_reference(s, variant, workdir, reference_dir)
    else:
        model, forward = build_tcclip(s, variant, workdir)
    row["trainable_params"] = sum(p.numel() for p in model.parameters() if p.requires_grad)
    video, labels = inputs(s)
    amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(s.amp)
    autocast = torch.autocast(s.device, dtype=amp_dtype or torch.bfloat16, enabled=amp_dtype is not None)
    scaler = torch.amp.GradScaler(s.device, enabled=s.amp == "fp16")
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-6)

    def infer():
        model.eval()
        with torch.no_grad(), autocast:
            return forward(video)

    def step():
        model.train()
        with autocast:
            loss = tcclip.video_text_loss(forward(video), labels, 0.1)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)

    if s.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    try:
        # what the variant's own code computes in a first evaluation forward pass (this package's text cache is
        # still empty), the reference's too: counted on real tensors, its code is run, not re-derived
        row["forward_gflops"] = count_flops(infer) / 1e9
        # the logits: the agreement check, and the warm-up of the forward timing
        logits = infer().float().cpu()
        own = workdir / f"logits-{name}-{variant}.pt"
        torch.save(logits, own)
        ours = workdir / f"logits-{name}-{KIND[variant]}.pt"
        row.update(logits_max_abs_diff=None, float64_rechecked_videos=[], logits_max_abs_diff_float64=None)
        if variant != KIND[variant] and ours.is_file():
            recheck = None
            if variant in REFERENCE_VARIANTS:  # its discrete choices may round the other way: see LOGIT_ATOL
                recheck = lambda videos: float64_recheck(name, variant, videos, workdir, reference_dir, list(extra_args))
            try:
                row.update(check_logits(logits, torch.load(ours, weights_only=True), LOGIT_ATOL[s.amp], recheck))
            except RuntimeError as err:
                raise RuntimeError(f"{variant} disagrees with this package's {KIND[variant]} at {name}: {err}") from None
        timed = repeats > 0  # --repeats 0: check and count only
        row["forward_s"] = time_call(infer, repeats=repeats, warmup=0, device=s.device) if s.forward and timed else None
        row["step_s"] = time_call(step, repeats=repeats, device=s.device) if s.train and timed else None
    except torch.cuda.OutOfMemoryError:
        row.update(status="out of memory", forward_s=None, step_s=None, eval_clips_per_s=None, clips_per_s=None,
                   peak_mib=torch.cuda.max_memory_allocated() / 2**20, step_gflops=None, load_at_end=os.getloadavg()[0])
        return row
    row["status"] = "ok"
    row["eval_clips_per_s"] = s.batch / row["forward_s"] if row["forward_s"] else None
    row["clips_per_s"] = s.batch / row["step_s"] if row["step_s"] else None
    if s.device == "cuda":
        row["peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
        row["reserved_mib"] = torch.cuda.max_memory_reserved() / 2**20
    else:
        row["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
    row["load_at_end"] = os.getloadavg()[0]
    model = optimizer = None  # free them before the FLOP count builds another model
    row["step_gflops"] = (step_flops(s, variant) or 0) / 1e9 or None  # after the peak memory was read
    return row


def interleaved_marginal(frames: int, batches: tuple[int, int], classes: int, clip: str, size: int,
                         variants: Sequence[str], rounds: int, workdir: Path, device: str = "cpu") -> dict:
    """Training-step times of every (variant, batch) cell at one clip length, interleaved in one process.

    Timings of separate processes on a small shared machine drift by seconds between processes, more
    than TC-CLIP and ViFi-CLIP differ by. Here both models live in one process and each round times one
    step of every cell in a fresh random order (after one untimed step of each), so that drift hits
    every cell alike; each round gives its own marginal cost per video and ratio to ViFi-CLIP.
    Returns the per-cell times and the per-round marginal costs.
    """
    import random

    import tcclip
    from tcclip.book.benchmarking import time_call

    small, large = batches
    steps, times = {}, {}
    for variant in variants:
        torch.manual_seed(0)
        model, forward = build_tcclip(Setting(clip, frames, size, small, classes, "none", device), variant, workdir)
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-6)
        for b in batches:
            video, labels = inputs(Setting(clip, frames, size, b, classes, "none", device))

            def step(model=model, forward=forward, optimizer=optimizer, video=video, labels=labels):
                model.train()
                tcclip.video_text_loss(forward(video), labels, 0.1).backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)

            steps[(variant, b)] = step
            times[(variant, b)] = []
    cells = list(steps)
    for cell in cells:  # warm-up
        steps[cell]()
    order = random.Random(0)
    for _ in range(rounds):
        order.shuffle(cells)
        for cell in cells:
            times[cell].append(time_call(steps[cell], repeats=1, warmup=0, device=device))
    per_round = {v: [(t_large - t_small) / (large - small) for t_small, t_large in zip(times[(v, small)], times[(v, large)])]
                 for v in variants}
    return dict(frames=frames, batches=list(batches), classes=classes, clip=clip, size=size, rounds=rounds,
                step_s={f"{v}-B{b}": t for (v, b), t in times.items()}, seconds_per_video_per_round=per_round,
                load=os.getloadavg()[0])


def interleaved_summary(result: dict) -> list[dict]:
    """Per variant: the marginal cost from the median step time of each cell (``seconds_per_video``) and its
    ratio to ViFi-CLIP's; and each round's own cost and ratio with the median of those ratios. The two
    estimates differ by the rounds' noise: a ratio is only resolved where they agree."""
    per_round = result["seconds_per_video_per_round"]
    small, large = result["batches"]
    slope = {v: (statistics.median(result["step_s"][f"{v}-B{large}"]) - statistics.median(result["step_s"][f"{v}-B{small}"]))
             / (large - small) for v in per_round}
    out = []
    for v, costs in per_round.items():
        base = per_round.get("vifi_clip") if v != "vifi_clip" else None
        ratios = [c / b for c, b in zip(costs, base)] if base else None
        out.append(dict(frames=result["frames"], variant=v, seconds_per_video=slope[v],
                        ratio_to_vifi=slope[v] / slope["vifi_clip"] if base else None,
                        seconds_per_round=costs, ratio_per_round=ratios,
                        median_ratio_of_rounds=statistics.median(ratios) if ratios else None))
    return out


def print_interleaved(summaries: list[dict], batches: tuple[int, int], rounds: int) -> None:
    print(f"\nMarginal cost of one video in a training step, (step(B={batches[1]}) - step(B={batches[0]})) / "
          f"{batches[1] - batches[0]}, both models in one process, {rounds} interleaved rounds. \"s per video\" "
          "is the slope between the cells' median step times; each round also gives its own slope and ratio:\n")
    print("| T | variant | s per video | ratio to ViFi-CLIP | median of the rounds' ratios | s per video, per round "
          "| ratio, per round |")
    print("|---|---|---|---|---|---|---|")
    for c in summaries:
        ratios = ", ".join(f"{x:.2f}" for x in c["ratio_per_round"]) if c["ratio_per_round"] else "-"
        print(f"| {c['frames']} | {c['variant']} | {c['seconds_per_video']:.3f} | {_fmt(c['ratio_to_vifi'], '.2f')} | "
              f"{_fmt(c['median_ratio_of_rounds'], '.2f')} | {', '.join(f'{x:.3f}' for x in c['seconds_per_round'])} "
              f"| {ratios} |")


def run_isolated(name: str, variant: str, args, workdir: Path, extra: list[str]) -> dict:
    """One measurement in a fresh interpreter, so that its peak memory is its own."""
    cmd = [sys.executable, __file__, "--one", name, variant, "--repeats", str(args.repeats), "--threads",
           str(args.threads), "--workdir", str(workdir), *extra]
    if args.reference_dir:
        cmd += ["--reference-dir", str(args.reference_dir)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{name}/{variant} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_order(settings: list[str], variants: list[str], passes: int) -> list[tuple[int, str, str]]:
    """(pass, setting, variant) in the order they are measured: every other pass runs the variants in the
    opposite order, so that the machine's drift during a pass does not always favour the same variant
    (except with the reference variants, whose logit check needs this package's rows first)."""
    keep = any(v in REFERENCE_VARIANTS for v in variants)
    return [(p, name, v) for p in range(passes) for name in settings
            for v in (variants if p % 2 == 0 or keep else variants[::-1])]


def wait_until_quiet(max_load: Optional[float], timeout_s: float) -> None:
    """Sleep until the 1-minute load average is at most ``max_load`` (or the timeout passes)."""
    if max_load is None:
        return
    start = time.monotonic()
    while os.getloadavg()[0] > max_load and time.monotonic() - start < timeout_s:
        time.sleep(30)


# ----- the tables ----------------------------------------------------------------------------
def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _logit_diff(row: dict) -> str:
    """The fp32 difference, and the fp64 one where the fp32 difference was rechecked (see LOGIT_ATOL)."""
    text = _fmt(row["logits_max_abs_diff"], ".1e")
    if row.get("logits_max_abs_diff_float64") is not None:
        text += f" (fp64 {row['logits_max_abs_diff_float64']:.1e}, videos {row['float64_rechecked_videos']})"
    return text


def print_table(rows: list[dict]) -> None:
    print("| setting | clip | T | size | B | classes | amp | variant | forward (s) | eval clips/s | train step (s) "
          "| train clips/s | peak mem (GiB) | GFLOPs/step | fwd GFLOPs | MFU | max logit diff | load |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if r["status"] != "ok":
            print(f"| {r['setting']} | {r['clip']} | {r['frames']} | {r['size']} | {r['batch']} | {r['classes']} | "
                  f"{r['amp']} | {r['variant']} | {r['status']} |  |  |  |  |  |  |  |  |  |")
            continue
        mfu = f"{100 * r['mfu']:.1f} %" if r.get("mfu") else "-"
        load = f"{r['load_at_start']:.1f}-{r['load_at_end']:.1f}"
        print(f"| {r['setting']} | {r['clip']} | {r['frames']} | {r['size']} | {r['batch']} | {r['classes']} | "
              f"{r['amp']} | {r['variant']} | {_fmt(r['forward_s'], '.2f')} | {_fmt(r['eval_clips_per_s'], '.2f')} | "
              f"{_fmt(r['step_s'], '.2f')} | {_fmt(r['clips_per_s'], '.2f')} | {r['peak_mib'] / 1024:.2f} | "
              f"{_fmt(r['step_gflops'], '.0f')} | {_fmt(r.get('forward_gflops'), '.0f')} | {mfu} | {_logit_diff(r)} | {load} |")


def comparisons(rows: list[dict]) -> list[str]:
    """Per setting, every variant against each baseline measured: the reference release's own code
    (what the reference costs) and this package's literal per-video path (what the shortcut saves
    over the same layers); the two are not the same program and need not cost the same."""
    lines = []
    for name in dict.fromkeys(r["setting"] for r in rows):
        here = {r["variant"]: r for r in rows if r["setting"] == name and r["status"] == "ok"}
        for base in ("reference", "literal"):
            if base in here:
                lines.append(_comparison(name, base, here))
    return lines


def _comparison(name: str, base: str, here: dict[str, dict]) -> str:
    parts = []
    for v, r in here.items():
        if v == base:
            continue
        ratios = []
        if r["step_s"] and here[base]["step_s"]:
            ratios.append(f"step x{here[base]['step_s'] / r['step_s']:.2f}")
        if r["forward_s"] and here[base]["forward_s"]:
            ratios.append(f"eval x{here[base]['forward_s'] / r['forward_s']:.2f}")
        if r.get("forward_gflops") and here[base].get("forward_gflops"):
            ratios.append(f"forward FLOPs x{here[base]['forward_gflops'] / r['forward_gflops']:.2f}")
        if r.get("peak_mib") and here[base].get("peak_mib"):
            ratios.append(f"memory x{r['peak_mib'] / here[base]['peak_mib']:.2f}")
        parts.append(f"{v} " + ", ".join(ratios))
    return f"{name}, speed-up over {base} (>1: faster; memory: fraction of {base}'s): " + "; ".join(parts)


def marginal_costs(rows: list[dict], batches: tuple[int, int]) -> list[dict]:
    """Per clip length and variant: seconds one more video adds to a training step, and TC's ratio to ViFi's.

    With several passes (``--passes``) each pass gives its own costs and ratio; the result holds their
    medians and the per-pass values (``seconds_per_pass``, ``ratio_per_pass``), so that the spread
    between passes, not one pass, says how far a ratio can be trusted.
    """
    passes = sorted({r.get("pass", 0) for r in rows})
    per_pass = [_marginal_costs_of_pass([r for r in rows if r.get("pass", 0) == p], batches) for p in passes]
    if len(per_pass) == 1:
        return per_pass[0]
    out = []
    for first in per_pass[0]:
        same = [c for costs in per_pass for c in costs if (c["frames"], c["variant"]) == (first["frames"], first["variant"])]
        seconds = [c["seconds_per_video"] for c in same]
        ratios = [c["ratio_to_vifi"] for c in same if c["ratio_to_vifi"] is not None]
        out.append(dict(first, seconds_per_video=statistics.median(seconds), seconds_per_pass=seconds,
                        ratio_to_vifi=statistics.median(ratios) if ratios else None, ratio_per_pass=ratios or None))
    return out


def _marginal_costs_of_pass(rows: list[dict], batches: tuple[int, int]) -> list[dict]:
    small, large = batches
    out = []
    for t in sorted({r["frames"] for r in rows}):
        per_variant, flops = {}, {}
        for v in dict.fromkeys(r["variant"] for r in rows):
            here = [r for r in rows if r["frames"] == t and r["variant"] == v]
            at = {r["batch"]: r["step_s"] for r in here if r["step_s"]}
            if small in at and large in at:
                per_variant[v] = (at[large] - at[small]) / (large - small)
            work = {r["batch"]: r.get("step_gflops") for r in here if r.get("step_gflops")}
            if small in work and large in work:
                flops[v] = (work[large] - work[small]) / (large - small)
        for v, cost in per_variant.items():
            base = "reference_vifi" if v == "reference" else "vifi_clip"
            vifi, tc = per_variant.get(base), v in ("tc_clip", "literal", "reference")
            out.append(dict(frames=t, variant=v, seconds_per_video=cost, gflops_per_video=flops.get(v),
                            ratio_to_vifi=cost / vifi if vifi and tc else None,
                            flops_ratio_to_vifi=flops[v] / flops[base] if tc and v in flops and base in flops else None))
    return out


def print_marginal(costs: list[dict], batches: tuple[int, int]) -> None:
    print(f"\nMarginal cost of one video in a training step, (step(B={batches[1]}) - step(B={batches[0]})) / "
          f"{batches[1] - batches[0]}:\n")
    passes = any("seconds_per_pass" in c for c in costs)
    if passes:
        print("Several passes: the median over passes, and each pass's value in pass order.\n")
    print("| T | variant | s per video | ratio to ViFi-CLIP | GFLOPs per video | FLOP ratio to ViFi-CLIP |"
          + (" s per video, per pass | ratio, per pass |" if passes else ""))
    print("|---|---|---|---|---|---|" + ("---|---|" if passes else ""))
    for c in costs:
        extra = ""
        if passes:
            extra = (" " + ", ".join(f"{x:.3f}" for x in c["seconds_per_pass"]) + " | "
                     + (", ".join(f"{x:.2f}" for x in c["ratio_per_pass"]) if c.get("ratio_per_pass") else "-") + " |")
        print(f"| {c['frames']} | {c['variant']} | {c['seconds_per_video']:.3f} | {_fmt(c['ratio_to_vifi'], '.2f')} | "
              f"{_fmt(c.get('gflops_per_video'), '.0f')} | {_fmt(c.get('flops_ratio_to_vifi'), '.2f')} |{extra}")


def machine_info(threads: int) -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    info = dict(cpu=cpu, logical_cpus=os.cpu_count(), torch_threads=threads, torch=torch.__version__,
                python=platform.python_version(), platform=platform.platform(),
                memory_gib=round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1))
    if torch.cuda.is_available():
        info.update(device=torch.cuda.get_device_name(), cuda=torch.version.cuda)
    else:
        info["device"] = "cpu"
    return info


def interleaved_main(args, argv, device: str) -> dict:
    """``--marginal T,... --interleave ROUNDS``: `interleaved_marginal` per clip length, printed and recorded."""
    from tcclip.io import atomic_write_json

    variants = [v.strip() for v in args.variants.split(",")] if args.variants else ["tc_clip", "vifi_clip"]
    if unknown := [v for v in variants if v not in ("tc_clip", "vifi_clip", "literal")]:
        raise SystemExit(f"--interleave times this package's variants only, not {unknown}")
    batches = tuple(args.marginal_batches)
    machine = machine_info(args.threads)
    record = new_record(machine, argv, results=[])
    with tempfile.TemporaryDirectory(prefix="bench_model-") as tmp:
        subprocess.run([sys.executable, __file__, "--make-weights", args.marginal_clip, "--workdir", tmp], check=True,
                       capture_output=True)
        for frames in args.marginal:
            wait_until_quiet(args.max_load, args.max_wait_s)
            result = interleaved_marginal(frames, batches, args.marginal_classes, args.marginal_clip,
                                          args.marginal_size, variants, args.interleave, Path(tmp), device)
            result["summary"] = interleaved_summary(result)
            record["results"].append(result)
            if args.json:
                atomic_write_json(args.json, record)
            print(f"T={frames}: " + "; ".join(f"{c['variant']} {c['seconds_per_video']:.2f} s/video"
                                               for c in result["summary"]), file=sys.stderr, flush=True)
    record["load_at_end"] = os.getloadavg()
    report = io.StringIO()
    with contextlib.redirect_stdout(report):
        print(f"\ntorch {machine['torch']}, {machine.get('device')}, CPU {machine['cpu']} ({machine['logical_cpus']} "
              f"logical CPUs, {args.threads} torch threads), {args.marginal_clip}, {args.marginal_size} px, "
              f"{args.marginal_classes} classes, load average {record['load_at_start'][0]:.1f} at start, "
              f"{record['load_at_end'][0]:.1f} at end")
        print_interleaved([c for r in record["results"] for c in r["summary"]], batches, args.interleave)
    publish(args, record, report.getvalue())
    return record


def new_record(machine: dict, argv, **fields) -> dict:
    """What every recorded run starts with: machine, command, commit, date and load."""
    command = "python benchmarks/bench_model.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    return dict(machine=machine, command=command, commit=git_commit(),
                date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), load_at_start=os.getloadavg(), **fields)


def publish(args, record: dict, report: str) -> None:
    """Print the report; write the record to ``--json`` and the report, with its provenance, to ``--markdown``."""
    from tcclip.io import atomic_write_json, atomic_write_text

    print(report, end="")
    if args.json:
        atomic_write_json(args.json, record)
    if args.markdown:
        machine = record["machine"]
        atomic_write_text(args.markdown, f"# {Path(args.markdown).stem}\n\nCommand: `{record['command']}`\n\n"
                          f"Commit {record['commit']}, {record['date']}, {machine['platform']}, "
                          f"{machine['memory_gib']} GiB memory, Python {machine['python']}.\n" + report)


def git_commit() -> Optional[str]:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True,
                              cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


# ----- the command line ----------------------------------------------------------------------
def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main(argv=None) -> dict:
    from tcclip.book.benchmarking import model_flops_utilisation, peak_tflops
    from tcclip.io import atomic_write_json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the tiny CPU setting")
    parser.add_argument("--settings", help=f"comma-separated settings to run, from {', '.join(NAMES)}")
    parser.add_argument("--variants", help=f"comma-separated, from {', '.join(VARIANTS)} (default: all that can run)")
    parser.add_argument("--reference-dir", help="a checkout of the reference release (github.com/naver-ai/tc-clip) "
                        "to measure beside this package; it needs einops, ftfy, regex, timm, omegaconf")
    parser.add_argument("--marginal", type=_ints, metavar="T,T,...",
                        help="instead of the settings: the marginal cost of a video at these clip lengths")
    parser.add_argument("--marginal-batches", type=_ints, default=[2, 6], metavar="B1,B2")
    parser.add_argument("--marginal-classes", type=int, default=101)
    parser.add_argument("--marginal-clip", default="ViT-B-16")
    parser.add_argument("--marginal-size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed calls per measurement; 0: only check the logits and count the FLOPs")
    parser.add_argument("--passes", type=int, default=1,
                        help="run every setting and variant this many times over, alternating the variants' order "
                             "(the marginal cost then reports each pass and the median)")
    parser.add_argument("--interleave", type=int, metavar="ROUNDS",
                        help="with --marginal: both models in one process, ROUNDS rounds of one step per (variant, "
                             "batch) in a random order; reports each round's marginal cost (no memory or FLOP columns)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads of each measurement")
    parser.add_argument("--max-load", type=float,
                        help="before each measurement wait until the 1-minute load average is at most this")
    parser.add_argument("--max-wait-s", type=float, default=4 * 3600, help="give up waiting for --max-load after this")
    parser.add_argument("--peak-tflops", type=float,
                        help="the device's dense bf16 peak for MFU (default: looked up from the GPU's name)")
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--markdown", help="also write the printed tables, with the command, commit and machine, here")
    parser.add_argument("--one", nargs=2, metavar=("SETTING", "VARIANT"), help=argparse.SUPPRESS)
    parser.add_argument("--float64-check", nargs=3, metavar=("SETTING", "VARIANT", "VIDEOS"), help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--make-weights", metavar="CLIP", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    reference_dir = check_reference_dir(args.reference_dir)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    extra_settings = {}
    if args.marginal:
        if len(args.marginal_batches) != 2 or args.marginal_batches[0] >= args.marginal_batches[1]:
            parser.error("--marginal-batches takes two increasing batch sizes, e.g. 2,6")
        extra_settings = marginal_settings(args.marginal, tuple(args.marginal_batches), args.marginal_classes,
                                           args.marginal_clip, args.marginal_size, device)
    extra = ["--marginal", ",".join(map(str, args.marginal)), "--marginal-batches",
             ",".join(map(str, args.marginal_batches)), "--marginal-classes", str(args.marginal_classes),
             "--marginal-clip", args.marginal_clip, "--marginal-size", str(args.marginal_size)] if args.marginal else []
    if args.make_weights:  # child mode: the shared weight files
        make_weights(args.make_weights, Path(args.workdir))
        print(json.dumps({"ok": True}))
        return {}
    if args.one:  # child mode of run_isolated
        print(json.dumps(measure(*args.one, args.repeats, Path(args.workdir), reference_dir, extra_settings, extra)))
        return {}
    if args.float64_check:  # child mode of float64_recheck
        name, variant, videos = args.float64_check
        print(json.dumps({"max_abs_diff": float64_logit_difference(name, variant, _ints(videos), Path(args.workdir),
                                                                   reference_dir, extra_settings)}))
        return {}

    if args.passes < 1:
        parser.error("--passes takes a number >= 1")
    if args.interleave is not None:
        if not args.marginal:
            parser.error("--interleave needs --marginal T,T,...")
        if args.interleave < 1:
            parser.error("--interleave takes a number of rounds >= 1")
        return interleaved_main(args, argv, device)
    if args.marginal:
        settings = list(extra_settings)
        default_variants = ["tc_clip", "vifi_clip", *REFERENCE_VARIANTS]
    elif args.settings:
        settings = [n.strip() for n in args.settings.split(",") if n.strip()]
        unknown = [n for n in settings if n not in NAMES]
        if unknown:
            parser.error(f"unknown setting(s) {unknown}; choose from {list(NAMES)}")
        default_variants = list(VARIANTS)
    else:
        settings = ["tiny-cpu"] if args.quick else list(CPU_SETTINGS)
        if torch.cuda.is_available() and not args.quick:
            settings += GPU_SETTINGS
        default_variants = list(VARIANTS)
    variants = [v.strip() for v in args.variants.split(",")] if args.variants else default_variants
    if unknown := [v for v in variants if v not in VARIANTS]:
        parser.error(f"unknown variant(s) {unknown}; choose from {list(VARIANTS)}")
    variants = [v for v in VARIANTS if v in variants]  # this package's models first (the logit checks need them)
    if args.variants and any(v in REFERENCE_VARIANTS for v in variants) and reference_dir is None:
        parser.error("the reference variants need --reference-dir PATH, a checkout of github.com/naver-ai/tc-clip")
    resolved = {n: extra_settings.get(n) or resolve(n) for n in settings}
    if any(s.device == "cuda" for s in resolved.values()) and not torch.cuda.is_available():
        parser.error("the GPU settings need CUDA, which this machine does not have")
    peak = args.peak_tflops or (peak_tflops(torch.cuda.get_device_name()) if torch.cuda.is_available() else None)
    machine = machine_info(args.threads)
    record = new_record(machine, argv, settings=settings, variants=variants, rows=[])
    rows = record["rows"]
    with tempfile.TemporaryDirectory(prefix="bench_model-") as tmp:
        workdir = Path(tmp)
        for clip in dict.fromkeys(s.clip for s in resolved.values()):
            subprocess.run([sys.executable, __file__, "--make-weights", clip, "--workdir", tmp], check=True,
                           capture_output=True)
        for pass_index, name, variant in run_order(settings, variants, args.passes):
            s = resolved[name]
            why = None
            if variant in REFERENCE_VARIANTS:
                why = NO_REFERENCE if reference_dir is None else reference_unsupported(s)
            if why:
                print(f"{name}/{variant}: {why}", file=sys.stderr, flush=True)
                rows.append(dict(setting=name, variant=variant, **asdict(s), status=why, **{"pass": pass_index}))
                continue
            wait_until_quiet(args.max_load, args.max_wait_s)
            row = run_isolated(name, variant, args, workdir, extra)
            row["pass"] = pass_index
            row["mfu"] = (model_flops_utilisation(row["step_gflops"] * 1e9, row["step_s"], peak)
                          if row["device"] == "cuda" and peak and row["step_s"] and row["step_gflops"] else None)
            rows.append(row)
            if args.json:  # after every row, so that a later failure keeps what was measured
                atomic_write_json(args.json, record)
            print(f"{name}/{variant}: {row['status']}, step {_fmt(row.get('step_s'), '.2f')} s, "
                  f"forward {_fmt(row.get('forward_s'), '.2f')} s", file=sys.stderr, flush=True)
    record["load_at_end"] = os.getloadavg()
    header = (f"torch {machine['torch']}, {machine.get('device')}, CPU {machine['cpu']} ({machine['logical_cpus']} "
              f"logical CPUs, {args.threads} torch threads), load average {record['load_at_start'][0]:.1f} at start, "
              f"{record['load_at_end'][0]:.1f} at end" + (f", MFU against {peak:g} TFLOP/s bf16" if peak else ""))
    report = io.StringIO()
    with contextlib.redirect_stdout(report):
        print(f"\n{header}\n")
        print_table(rows)
        if args.marginal:
            record["marginal_batches"] = list(args.marginal_batches)
            record["marginal"] = marginal_costs([r for r in rows if r["status"] == "ok"], tuple(args.marginal_batches))
            print_marginal(record["marginal"], tuple(args.marginal_batches))
        else:
            print()
            for line in comparisons(rows):
                print(line)
    publish(args, record, report.getvalue())
    return record


if __name__ == "__main__":
    main(sys.argv[1:])
