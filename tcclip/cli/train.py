"""``python -m tcclip train|eval [options] [group=choice ...] [key=value ...]``."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Optional, Sequence

from omegaconf import OmegaConf

TRAIN_EPILOG = """\
overrides: group choices protocol={zero_shot,few_shot,base2novel,fully_supervised}
data={k400,k600,hmdb51,ucf101,ssv2,synthetic} model={clip,vifi_clip,tc_clip} profile=tiny
preset={gpu24gb,gpu80gb} and any dotted key, e.g.
  python -m tcclip train protocol=few_shot data=hmdb51 model=tc_clip data.shots=2 output=runs/x
  python -m tcclip train profile=tiny protocol=base2novel output=runs/tiny_b2n
A run resumes from <output>/last.pt automatically (resume=none to start over; resume=fallback
continues from last.prev.pt or best.pt when last.pt is damaged). Ctrl-C stops after the current
step and saves last.pt (a second Ctrl-C aborts without saving).
Multi-GPU: torchrun --nproc_per_node=N -m tcclip train ...
Exit status: 0 done (or stopped by train.max_steps), 2 refused (config, data or checkpoint; the
message says what to fix), 3 the loss became NaN/inf, 130 Ctrl-C (143 SIGTERM) after saving.
"""


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a line is logged (tests and notebooks replace it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def _setup_logging(output: Optional[Path], is_main: bool) -> None:
    """Console lines on stderr; with ``output``, also ``<output>/train.log`` (replacing an earlier run's)."""
    logger = logging.getLogger("tcclip")
    logger.setLevel(logging.INFO if is_main else logging.WARNING)
    logger.propagate = False  # a library may have configured the root logger; print each line once
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S")
    if not any(isinstance(h, _CurrentStderr) for h in logger.handlers):
        console = _CurrentStderr()
        console.setFormatter(fmt)
        logger.addHandler(console)
    for handler in [h for h in logger.handlers if getattr(h, "_tcclip_run_log", False)]:
        logger.removeHandler(handler)
        handler.close()
    if output is not None and is_main:
        output.mkdir(parents=True, exist_ok=True)
        run_log = logging.FileHandler(output / "train.log")
        run_log.setFormatter(fmt)
        run_log._tcclip_run_log = True  # type: ignore[attr-defined]
        logger.addHandler(run_log)


def _is_main() -> bool:
    import os

    return os.environ.get("RANK", "0") == "0"


def _compose(overrides: Sequence[str]):
    """The run config: the profile from ``profile=`` or ``TCCLIP_PROFILE`` (default tiny)."""
    from tcclip.train.config import compose_config
    from tcclip.world.profile import profile_name

    return compose_config(overrides, profile=profile_name())


def _prepare(cfg, clip_weights_needed: bool = True) -> None:
    """Resolve "auto" values (CLIP weights, the tiny world) before any work starts."""
    from tcclip.world.assets import prepare_run_config

    logging.getLogger("tcclip").info("profile %s (profile=full or TCCLIP_PROFILE=full: the paper's setting)",
                                     cfg.profile)
    prepare_run_config(cfg, clip_weights_needed)


def _records_its_model(checkpoint: Optional[str]) -> bool:
    """True for this project's checkpoints: they record their model (a tcclip.ModelSpec)."""
    from tcclip.checkpoint import read_model_spec

    if checkpoint is None or not Path(checkpoint).is_file():
        return False
    return read_model_spec(checkpoint) is not None


def _refuse(error: BaseException) -> int:
    """The one way a command refuses: ``error: <what is wrong and the fix>`` on stderr, exit status 2."""
    print(f"error: {error}", file=sys.stderr)
    return 2


def _user_errors() -> tuple[type[BaseException], ...]:
    """Errors in what the user gave (config, data, checkpoints): a message, not a traceback."""
    from tcclip.data import TooManyCorruptVideosError

    return ValueError, FileNotFoundError, TooManyCorruptVideosError  # CheckpointError is a ValueError


def train_main(argv: Sequence[str]) -> int:
    from tcclip.train.engine import NonFiniteLossError, TrainingInterrupted
    from tcclip.train.protocols import run

    parser = argparse.ArgumentParser(prog="python -m tcclip train", epilog=TRAIN_EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("overrides", nargs="*", help="group=choice and key=value overrides")
    parser.add_argument("--resume", default=None, help="checkpoint to resume from (default: <output>/last.pt if any)")
    parser.add_argument("--show-config", action="store_true", help="print the composed config and exit")
    args = parser.parse_intermixed_args(list(argv))  # overrides may come before or after the options
    overrides = list(args.overrides) + ([f"resume={args.resume}"] if args.resume else [])
    try:
        cfg = _compose(overrides)
    except ValueError as err:
        return _refuse(err)
    if args.show_config:
        print(OmegaConf.to_yaml(cfg))
        return 0
    _setup_logging(Path(str(cfg.output)), _is_main())
    try:
        _prepare(cfg)
        results = run(cfg, command=["python -m tcclip train", *argv])
    except TrainingInterrupted as stop:  # last.pt is saved and the engine said how to resume
        return stop.exit_code
    except KeyboardInterrupt:
        print("interrupted (before training started, or a second Ctrl-C): nothing was saved", file=sys.stderr)
        return 130
    except NonFiniteLossError as err:
        logging.getLogger("tcclip").error("%s", err)
        return 3
    except _user_errors() as err:
        return _refuse(err)
    if _is_main() and results.get("finished"):
        from tcclip.train.protocols import results_table

        print(results_table(results))
    return 0


def eval_main(argv: Sequence[str]) -> int:
    from tcclip.train.eval_checkpoint import evaluate_checkpoint

    parser = argparse.ArgumentParser(
        prog="python -m tcclip eval",
        description="Evaluate a checkpoint (this project's, or a reference-release .pth with the matching model=... "
                    "overrides; none: the plain CLIP of model=) on the protocol's test sets or on an explicit list.",
        epilog="e.g. python -m tcclip eval --checkpoint runs/x/best.pt protocol=zero_shot --views 2x1 --wise-ft 0.7\n"
               "A checkpoint of this project is evaluated as the model it records (a model= that differs is "
               "warned about); the results record what was evaluated.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("overrides", nargs="*", help="group=choice and key=value overrides (as for train)")
    parser.add_argument("--checkpoint", default=None, help="checkpoint file (.pt of this project or reference .pth)")
    parser.add_argument("--views", default=None, help="clips x crops, e.g. 2x1 or 4x3 (default: the protocol's)")
    parser.add_argument("--wise-ft", type=float, default=None, help="evaluate the WiSE-FT blend with this weight")
    parser.add_argument("--list", dest="list_file", default=None, help="explicit annotation list (path label per line)")
    parser.add_argument("--root", default=None, help="video root of --list")
    parser.add_argument("--labels", default=None, help="label file of --list")
    parser.add_argument("--predictions", action="store_true", help="also write per-video predictions CSV")
    parser.add_argument("--name", default="eval", help="results file stem in output (default eval)")
    args = parser.parse_intermixed_args(list(argv))
    try:
        cfg = _compose(args.overrides)
        views = None
        if args.views:
            from tcclip.data.sampling import parse_views

            spec = parse_views(args.views)
            views = (spec.clips, spec.crops)
        if args.wise_ft is not None and not 0.0 <= args.wise_ft <= 1.0:
            raise ValueError(f"--wise-ft must lie in [0, 1], got {args.wise_ft}")
    except ValueError as err:
        return _refuse(err)
    _setup_logging(None, _is_main())
    try:
        _prepare(cfg, clip_weights_needed=not _records_its_model(args.checkpoint))
        results = evaluate_checkpoint(cfg, args.checkpoint, views=views, wise_ft=args.wise_ft,
                                      list_file=args.list_file, video_root=args.root, labels=args.labels,
                                      predictions=args.predictions, name=args.name,
                                      command=["python -m tcclip eval", *argv])
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except _user_errors() as err:
        return _refuse(err)
    if _is_main():
        from tcclip.train.protocols import results_table

        print(results_table(results))
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("train", "eval"):
        print("usage: python -m tcclip {train,eval} ...", file=sys.stderr)
        return 2
    return train_main(argv[1:]) if argv[0] == "train" else eval_main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
