"""The tests' one way to wait for what another thread, process or browser does: poll, fail naming what was awaited."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Watched(Protocol):
    """A process the wait watches: its output goes into the failure message, and its exit ends the wait."""

    popen: Any  # subprocess.Popen

    def output(self) -> str: ...


def wait_until(cond: Callable[[], T], what: str | Callable[[], str], timeout: float = 20.0,
               procs: Mapping[str, Watched] | Iterable[Watched] | None = None, must_run: bool = True,
               interval: float = 0.1, retry_on: tuple[type[BaseException], ...] = (),
               poke: Callable[[], None] | None = None) -> T:
    """Poll cond() until truthy and return its value; else fail after `timeout` s naming `what` (a function: called
    then, to say what it last saw) with every one of `procs`' output, or at once when one exits (unless `must_run`
    is False). `retry_on`: exceptions meaning "not yet"; `poke`: run between polls (a probe published again)."""
    named = dict(procs) if isinstance(procs, Mapping) else {str(i): p for i, p in enumerate(procs or ())}
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = cond()
        except retry_on:
            value = None  # type: ignore[assignment]
        if value:
            return value
        exited = [name for name, p in named.items() if must_run and p.popen.poll() is not None]
        if exited:
            raise AssertionError(f"{', '.join(exited)} exited while waiting for {_said(what)}{_outputs(named)}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {_said(what)}{_outputs(named)}")
        if poke is not None:
            poke()
        time.sleep(interval)


def _said(what: str | Callable[[], str]) -> str:
    """What was awaited, in words."""
    return what if isinstance(what, str) else what()


def _outputs(procs: Mapping[str, Watched]) -> str:
    """Each process's output under its name, for a failure message."""
    return "".join(f"\n--- {name}\n{p.output()}" for name, p in procs.items())
