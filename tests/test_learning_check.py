"""tools/learning_check.py: the learning-curve check of issue 14."""
from __future__ import annotations

import pytest

from conftest import load_tool


def test_learning_check_refuses_an_interval_longer_than_a_pass():
    """--every 200 on 1,040 clips of batch 8 (130 steps a pass) trained 650 steps of a '1,000-step' run."""
    check = load_tool("learning_check").check_every
    check(1040, 130, 1040, 8)
    with pytest.raises(SystemExit, match="choose curve_every <= 130"):
        check(2000, 200, 1040, 8)
    with pytest.raises(SystemExit, match="not a multiple"):
        check(1000, 130, 1040, 8)
