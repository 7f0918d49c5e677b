"""The tested environment: refresh the pins in ``constraints.txt`` and check an install against them.

    python tools/pins.py check                # print the installed versions; fail if one differs from its pin
    python tools/pins.py refresh              # re-resolve every pin (torch/torchvision stay as pinned)
    python tools/pins.py refresh --torch 2.15.0 --torchvision 0.29.2   # move torch too

``constraints.txt`` holds one exact version (``name==version``) of every package ``make setup``
installs, transitive ones included, so that a fresh machine installs the set the tests passed
with; ``pyproject.toml`` keeps compatible ranges for people who install the package into their
own environment. ``refresh`` installs ``torch``, ``torchvision`` and ``-e ".[dev,book]"`` into a
throwaway virtual environment, the way ``make setup`` does but without the pins, and writes what
pip resolved (``pip freeze --all``). Run the tests afterwards (``make test``) before committing.
pip's own configuration applies as in ``make setup``: where a machine-wide constraint caps torch
(``/etc/xdg/pip`` on machines that carry torch wheels on disk), ``--torch`` cannot go past it.

Standard library only: ``check`` runs inside the project's venv, ``refresh`` with any Python.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PINS = ROOT / "constraints.txt"
#: The packages ``check`` prints first (the ones whose version changes results or the build).
KEY_PACKAGES = ("torch", "torchvision", "open-clip-torch", "timm", "numpy", "decord", "av", "pandas",
                "matplotlib", "jupyter-book", "myst-nb", "sphinx", "nbval", "pytest", "pip")
HEADER = """\
# The tested environment: one exact version of every package that `make setup` installs, transitive
# ones included, so that a fresh machine installs the set the tests passed with. Used by
# `make setup` (pip install -c constraints.txt), hence `.ci/run`, and by environment.yml.
# pyproject.toml keeps compatible ranges; tests/test_packaging.py checks that the three agree.
# Written by `make pins` (tools/pins.py refresh); do not edit by hand.
"""


def canonical(name: str) -> str:
    """PEP 503 name: 'Open_Clip.Torch' -> 'open-clip-torch'."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(path: Path = PINS) -> tuple[dict[str, str], str]:
    """(``{canonical name: version}``, the Python ``major.minor`` they were resolved for)."""
    pins: dict[str, str] = {}
    python = ""
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if match := re.match(r"#\s*python\s*:\s*(\d+\.\d+)\s*$", line):
            python = match.group(1)
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)", line)
        if not match:
            raise ValueError(f"{path.name}:{number}: {raw!r} is not an exact pin 'name==version'")
        name = canonical(match.group(1))
        if name in pins:
            raise ValueError(f"{path.name}:{number}: {name} is pinned twice")
        pins[name] = match.group(2)
    if not python:
        raise ValueError(f"{path.name} does not say which Python it was resolved for ('# python: 3.11')")
    return pins, python


def same_version(installed: str, pinned: str) -> bool:
    """``==`` of PEP 440 for the cases pip produces: a local label (torch's '+cu130') is ignored."""
    return installed.split("+")[0] == pinned.split("+")[0]


def installed_versions() -> dict[str, str]:
    """``{canonical name: version}`` of every distribution this interpreter sees."""
    return {canonical(d.metadata["Name"]): d.version for d in importlib.metadata.distributions() if d.metadata["Name"]}


def compare(pins: dict[str, str], installed: dict[str, str]) -> tuple[list[str], list[str]]:
    """(errors: pinned packages installed at another version, notes: pinned packages not installed
    and installed packages without a pin, this project aside)."""
    errors = [f"{name} {installed[name]} is installed, the pin is {version}"
              for name, version in sorted(pins.items()) if name in installed and not same_version(installed[name], version)]
    notes = [f"{name}=={version} is pinned but not installed" for name, version in sorted(pins.items()) if name not in installed]
    notes += [f"{name} {version} is installed without a pin" for name, version in sorted(installed.items())
              if name not in pins and name != "tcclip"]
    return errors, notes


def check() -> int:
    """Print the installed versions of the key packages; exit 1 if any pinned package differs."""
    pins, python = read_pins()
    installed = installed_versions()
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    width = max(map(len, KEY_PACKAGES))
    print(f"Installed (pins: {PINS.name}, {len(pins)} packages, resolved for Python {python}):")
    print(f"  {'python':<{width}}  {sys.version.split()[0]}")
    for name in KEY_PACKAGES:
        print(f"  {name:<{width}}  {installed.get(name, '-')}")
    errors, notes = compare(pins, installed)
    if here != python:
        notes.insert(0, f"this is Python {here}; the pins were resolved for Python {python}")
    for note in notes:
        print(f"  note: {note}")
    if errors:
        print(f"{len(errors)} installed version(s) differ from {PINS.name}:\n  " + "\n  ".join(errors), file=sys.stderr)
        print("Reinstall with `rm -rf .venv && make setup`, or refresh the pins with `make pins`.", file=sys.stderr)
        return 1
    return 0


def refresh(python: str, torch: str | None, torchvision: str | None) -> int:
    """Resolve the project's requirements in a throwaway venv and write ``constraints.txt``."""
    if PINS.is_file():
        pins, _ = read_pins()
        torch, torchvision = torch or pins.get("torch"), torchvision or pins.get("torchvision")
    wanted = [f"torch=={torch}" if torch else "torch", f"torchvision=={torchvision}" if torchvision else "torchvision"]
    with tempfile.TemporaryDirectory(prefix="tcclip-pins-") as tmp:
        venv = Path(tmp) / "venv"
        bin_python = str(venv / "bin" / "python")

        def run(*args: str, capture: bool = False, check: bool = True) -> str:
            print("+", " ".join(args), flush=True)
            done = subprocess.run(args, check=check, text=True, stdout=subprocess.PIPE if capture else None)
            return done.stdout or ""

        run(python, "-m", "venv", str(venv))
        run(bin_python, "-m", "pip", "install", "-q", "--upgrade", "pip")
        run(bin_python, "-m", "pip", "install", "-q", *wanted, "-e", f"{ROOT}[dev,book]")
        # decord 0.6.0's wheel metadata names a cp36 tag (its file name says py3-none), which
        # `pip check` reports as "not supported on this platform": not a dependency conflict
        conflicts = [line for line in run(bin_python, "-m", "pip", "check", capture=True, check=False).splitlines()
                     if line.strip() and not line.endswith("is not supported on this platform")]
        if conflicts:
            raise SystemExit("pip check found conflicts:\n  " + "\n  ".join(conflicts))
        frozen = run(bin_python, "-m", "pip", "freeze", "--all", "--exclude-editable", capture=True)
        version = run(bin_python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])", capture=True).strip()
    lines = sorted((line.strip() for line in frozen.splitlines() if "==" in line and not line.startswith("#")),
                   key=lambda line: canonical(line.split("==")[0]))
    PINS.write_text(HEADER + f"# python: {version}\n" + "\n".join(lines) + "\n")
    read_pins()  # what we wrote must parse
    print(f"wrote {len(lines)} pins for Python {version} to {PINS}; now run `make test`")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="print installed versions; fail if one differs from its pin")
    fresh = sub.add_parser("refresh", help="re-resolve constraints.txt in a throwaway venv")
    fresh.add_argument("--python", default=sys.executable, help="interpreter to resolve for (default: this one)")
    fresh.add_argument("--torch", help="torch version (default: the current pin)")
    fresh.add_argument("--torchvision", help="torchvision version (default: the current pin)")
    args = parser.parse_args(argv)
    if args.command == "check":
        return check()
    return refresh(args.python, args.torch, args.torchvision)


if __name__ == "__main__":
    sys.exit(main())
