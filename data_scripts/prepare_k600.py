"""Kinetics-600: ``python data_scripts/prepare_k600.py --root DATA`` (see prepare_kinetics.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import prepare_kinetics  # noqa: E402
from prepare_kinetics import prepare_k600 as prepare  # noqa: E402,F401


def main(argv: list[str] | None = None) -> int:
    return prepare_kinetics.main(argv, version="600")


if __name__ == "__main__":
    raise SystemExit(main())
