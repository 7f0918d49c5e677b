"""Ctrl-C and SIGTERM during training: a request to stop between steps, not an exception.

Python turns Ctrl-C into a ``KeyboardInterrupt`` raised wherever the main thread happens to be:
inside a decoder's ``__del__`` it is printed and swallowed (training runs on), elsewhere it
unwinds through the loop and nothing is saved. While a :class:`StopRequest` is active, the first
SIGINT or SIGTERM only sets a flag; the loop checks it after each optimizer step, saves
``last.pt`` and stops. A second signal means "now": the default handlers come back and
``KeyboardInterrupt`` is raised at once.
"""
from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any, Optional

import torch

from .distributed import DistInfo, all_reduce_sum

__all__ = ["StopRequest", "ignore_interrupts"]

log = logging.getLogger("tcclip.train")

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """A context manager: SIGINT / SIGTERM set :attr:`signal` instead of raising.

    Outside the main thread (where Python cannot install handlers) it does nothing, and
    :meth:`requested` is then only true under DDP when another rank was signalled.
    """

    def __init__(self) -> None:
        self.signal: Optional[int] = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "StopRequest":
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        self._restore()

    def _restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}

    def _handle(self, signum: int, frame: Optional[FrameType]) -> None:
        if self.signal is not None:  # the second one: stop now, without saving
            self._restore()
            raise KeyboardInterrupt
        self.signal = signum
        log.warning("%s received: stopping after the current step and saving last.pt (press Ctrl-C again to "
                    "abort at once, without saving)", signal.Signals(signum).name)

    def requested(self, info: DistInfo) -> bool:
        """Whether to stop now; under DDP every rank agrees (any rank signalled)."""
        flag = self.signal is not None
        if info.enabled:
            flag = bool(all_reduce_sum(torch.tensor([float(flag)]), info)[0] > 0)
        return flag

    @property
    def exit_code(self) -> int:
        """The shell's convention: 128 + the signal number (130 for Ctrl-C)."""
        return 128 + int(self.signal or signal.SIGINT)


def ignore_interrupts(_worker_id: int = 0) -> None:
    """DataLoader ``worker_init_fn``: Ctrl-C reaches the whole process group; the main process decides."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
