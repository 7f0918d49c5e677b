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
A run resumes from <output>/last.pt automatically (resume=none to start over).
Multi-GPU: torchrun --nproc_per_node=N -m tcclip train ...
"""


def _setup_logging(output: Optional[Path], is_main: bool) -> None:
    logger = logging.getLogger("tcclip")
    if getattr(logger, "_tcclip_cli", False):
        return
    logger.setLevel(logging.INFO if is_main else logging.WARNING)
    logger.propagate = False  # a library may have configured the root logger; print each line once
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(fmt)
    logger.addHandler(handler)
    if output is not None and is_main:
        output.mkdir(parents=True, exist_ok=True)
        fh = logging.FileHandler(output / "train.log")
        fh.setFormatter(fmt)
        logger.addHandler(fh)
    logger._tcclip_cli = True  # type: ignore[attr-defined]


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
    """True for this project's checkpoints: they name the model and CLIP weights they were built from."""
    from tcclip.checkpoint import read_checkpoint

    if checkpoint is None or not Path(checkpoint).is_file():
        return False
    payload = read_checkpoint(checkpoint)
    return isinstance(payload, dict) and bool(payload.get("build_args"))


def train_main(argv: Sequence[str]) -> int:
    from tcclip.train.engine import NonFiniteLossError
    from tcclip.train.protocols import run

    parser = argparse.ArgumentParser(prog="python -m tcclip train", epilog=TRAIN_EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("overrides", nargs="*", help="group=choice and key=value overrides")
    parser.add_argument("--resume", default=None, help="checkpoint to resume from (default: <output>/last.pt if any)")
    parser.add_argument("--show-config", action="store_true", help="print the composed config and exit")
    args = parser.parse_args(list(argv))
    overrides = list(args.overrides) + ([f"resume={args.resume}"] if args.resume else [])
    try:
        cfg = _compose(overrides)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.show_config:
        print(OmegaConf.to_yaml(cfg))
        return 0
    _setup_logging(Path(str(cfg.output)), _is_main())
    try:
        _prepare(cfg)
        results = run(cfg, command=["python -m tcclip train", *argv])
    except NonFiniteLossError as err:
        logging.getLogger("tcclip").error("%s", err)
        return 3
    except FileNotFoundError as err:  # includes DatasetNotPreparedError, whose message names the fix
        logging.getLogger("tcclip").error("%s", err)
        return 2
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
        epilog="e.g. python -m tcclip eval --checkpoint runs/x/best.pt protocol=zero_shot --views 2x1 --wise-ft 0.7",
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
    args = parser.parse_args(list(argv))
    try:
        cfg = _compose(args.overrides)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    _setup_logging(None, _is_main())
    views = None
    if args.views:
        from tcclip.data.sampling import parse_views

        try:
            spec = parse_views(args.views)
        except ValueError as err:
            print(f"error: --views: {err}", file=sys.stderr)
            return 2
        views = (spec.clips, spec.crops)
    try:
        _prepare(cfg, clip_weights_needed=not _records_its_model(args.checkpoint))
        results = evaluate_checkpoint(cfg, args.checkpoint, views=views, wise_ft=args.wise_ft,
                                      list_file=args.list_file, video_root=args.root, labels=args.labels,
                                      predictions=args.predictions, name=args.name,
                                      command=["python -m tcclip eval", *argv])
    except (FileNotFoundError, ValueError) as err:
        logging.getLogger("tcclip").error("%s", err)
        return 2
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
