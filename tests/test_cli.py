"""The ``python -m tcclip`` dispatcher: every command resolves to a module with ``main``."""
from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from tcclip.__main__ import COMMANDS, main


def test_help_lists_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert command in out


def test_unknown_command_is_an_error(capsys):
    assert main(["trian"]) == 2
    assert "unknown command 'trian'" in capsys.readouterr().err


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_a_main(command):
    module = importlib.import_module(COMMANDS[command][0])
    assert callable(getattr(module, "main", None)), f"{module.__name__} has no main(argv)"


def test_module_entry_point_runs():
    done = subprocess.run([sys.executable, "-m", "tcclip", "check", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "usage" in done.stdout.lower()
