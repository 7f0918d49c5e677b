"""``python -m tcclip <command>`` (also the ``tcclip`` console script).

Each command lives in its own module and exposes ``main(argv) -> int``; this file only
dispatches, importing the module a command needs and nothing else (so ``tcclip check`` does not
pay for loading the training stack).
"""
from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "train": ("tcclip.cli.train", "train a model under one protocol (zero-shot, few-shot, base-to-novel, fully supervised)"),
    "eval": ("tcclip.cli.train", "evaluate a checkpoint (this project's or the reference release's) on a test set"),
    "predict": ("tcclip.cli.predict", "top-5 classes for video files; --explain saves seed/context-token figures"),
    "pretrain-mini": ("tcclip.world.pretrain", "pretrain the tiny CLIP on the synthetic image-caption data (CPU)"),
    "check": ("tcclip.cli.check", "scan a dataset (list vs files, decodability, frame counts) and write a report"),
    "generate-world": ("tcclip.world.synthetic", "generate the synthetic video world"),
    "experiments": ("tcclip.book.experiments", "run the experiments in miniature and write results JSON + figures"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: python -m tcclip <command> [options]", "", "commands:"]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "python -m tcclip <command> --help shows a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"unknown command {command!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[command][0])
    if module.__name__ == "tcclip.cli.train":  # one module serves train and eval
        return int(module.main([command, *rest]) or 0)
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
