"""A `make bench` run's figures kept as JSON (bench/results/<date>.json): each section's printed lines, and the
headline figures by name with their unit and target, so a week's run can be set beside another's
(docs/performance.md keeps the table)."""

from __future__ import annotations

import os
import platform
import sqlite3
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

DIR = Path(__file__).resolve().parent / "results"

FIGURES: list[dict[str, Any]] = []


def figure(section: str, name: str, value: float, unit: str, target: str | None = None, **detail: Any) -> None:
    """Keep one headline figure of this run (printed lines are kept as they are)."""
    FIGURES.append({"section": section, "name": name, "value": round(float(value), 3), "unit": unit,
                    "target": target, **detail})


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            mem_kb = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
    except (OSError, StopIteration, ValueError):
        mem_kb = 0
    return {"cores": os.cpu_count(), "memory_gib": round(mem_kb / 2**20, 1), "machine": platform.machine(),
            "python": sys.version.split()[0], "sqlite": sqlite3.sqlite_version, "system": platform.platform()}


def write(lines: dict[str, list[str]], args: dict[str, Any], when: datetime, directory: Path = DIR) -> Path:
    """Write the run to <directory>/<date>.json (a second run that day: <date>-2.json, …); its path."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = when.strftime("%Y-%m-%d")
    path, n = directory / f"{stem}.json", 1
    while path.exists():
        n += 1
        path = directory / f"{stem}-{n}.json"
    body = {"started_at": when.isoformat(timespec="seconds"), "machine": machine(), "args": args,
            "figures": FIGURES, "lines": lines}
    path.write_bytes(orjson.dumps(body, option=orjson.OPT_INDENT_2))
    return path


def spread(paths: list[Path]) -> list[str]:
    """Each headline figure of several runs: median and range (`python -m bench.results FILE…`)."""
    runs = [orjson.loads(p.read_bytes()) for p in paths]
    by: dict[tuple[str, str, str], list[float]] = {}
    units: dict[tuple[str, str, str], tuple[str, str | None]] = {}
    for run in runs:
        for f in run["figures"]:
            key = (f["section"], f.get("store") or "", f["name"])
            by.setdefault(key, []).append(f["value"])
            units[key] = (f["unit"], f.get("target"))
    out = [f"{len(runs)} runs: {', '.join(p.name for p in paths)}"]
    for key, values in by.items():
        values.sort()
        mid = values[len(values) // 2] if len(values) % 2 else (values[len(values) // 2 - 1] + values[len(values) // 2]) / 2
        unit, target = units[key]
        section, store, name = key
        out.append(f"{section:7s} {store:11s} {name:44s} {mid:12,.1f} {unit:5s} [{values[0]:,.1f} – {values[-1]:,.1f}]"
                   + (f"   target {target}" if target else ""))
    return out


if __name__ == "__main__":
    for line in spread([Path(a) for a in sys.argv[1:]]):
        print(line)
