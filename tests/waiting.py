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


def wait_until(cond: Callable[[], T], what: str, timeout: float = 20.0,
               procs: Mapping[str, Watched] | Iterable[Watched] | None = None, must_run: bool = True,
               interval: float = 0.1, retry_on: tuple[type[BaseException], ...] = (),
               poke: Callable[[], None] | None = None) -> T:
    """Poll cond() until it is truthy and return its value; fail after `timeout` s with `what` and the output of
    every one of `procs`, or as soon as one of them exits unless `must_run` is False (a test that kills some).

    `retry_on` are exceptions that mean "not yet" (a page re-rendered mid-read); `poke` runs between polls (a
    probe message published again until the subscriber sees it)."""
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
            raise AssertionError(f"{', '.join(exited)} exited while waiting for {what}{_outputs(named)}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{_outputs(named)}")
        if poke is not None:
            poke()
        time.sleep(interval)


def _outputs(procs: Mapping[str, Watched]) -> str:
    """Each process's output under its name, for a failure message."""
    return "".join(f"\n--- {name}\n{p.output()}" for name, p in procs.items())
