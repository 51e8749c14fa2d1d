"""The city flows from the settings: no city or county adcode is written in the code.

`--city` (settings.py) names the city; `geo.City.load(settings.city)` reads its names, counties and centre from the
packaged boundaries and is handed down. An adcode belongs in data — the packaged boundaries (geo/data), the theme
files (topics/themes/*.yaml), the simulators' data (feeds/simdata/*.yaml), the polling sources, the gauges
(standards/hydro_stations.json) — and in tests, never in a .py file of the app: there it would pin the app to one
city behind the settings' back.
"""

from __future__ import annotations

import re
from pathlib import Path

from geo import City
from geo.boundaries import packaged_cities

ROOT = Path(__file__).resolve().parent.parent
SKIP = {".venv", ".git", "tests", "var", "test-output", "node_modules", "__pycache__"}
# Files allowed to name a packaged adcode, and why.
ALLOWED = {
    "settings.py": "the default of --city: the one place the city is chosen",
    "geo/build.py": "the build command (build time, not the app): its English-name table for cnmaps' counties and "
                    "its usage text",
}


def adcodes() -> set[str]:
    """Every packaged city's adcode and its counties', read from the packaged data (no list written here)."""
    return {code for city in packaged_cities() for code in City.load(city).regions}


def sources() -> list[Path]:
    """The app's Python files: everything but tests, the virtualenv and the packaged data."""
    return sorted(p for p in ROOT.rglob("*.py")
                  if not SKIP & set(p.relative_to(ROOT).parts[:-1])
                  and not p.relative_to(ROOT).as_posix().startswith("geo/data/"))


def hits() -> dict[str, list[str]]:
    """file → ["file:line: text"] of every adcode found in it."""
    pattern = re.compile(r"(?<![0-9])(" + "|".join(sorted(adcodes())) + r")")
    out: dict[str, list[str]] = {}
    for path in sources():
        rel = path.relative_to(ROOT).as_posix()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if pattern.search(line):
                out.setdefault(rel, []).append(f"{rel}:{n}: {line.strip()}")
    return out


def test_the_guard_knows_the_packaged_city_and_scans_the_app() -> None:
    codes = adcodes()
    assert "441200" in codes and len(codes) >= 9  # Zhaoqing and its eight counties, at least
    scanned = {p.relative_to(ROOT).as_posix() for p in sources()}
    assert {"settings.py", "feeds/simulator.py", "dashboard/panels/kpis.py", "alerts/rules.py"} <= scanned
    assert not any(p.startswith(("tests/", ".venv/", "geo/data/")) for p in scanned)


def test_no_city_or_county_adcode_in_the_code() -> None:
    found = hits()
    bad = [line for rel, lines in found.items() if rel not in ALLOWED for line in lines]
    assert bad == [], ("adcodes written in the code (hand the city down: geo.City, settings --city; or move the "
                       "facts to a data file):\n" + "\n".join(bad))


def test_settings_names_the_city_once() -> None:
    lines = hits().get("settings.py", [])
    assert len(lines) == 1 and "city: str = Field(" in lines[0], lines
