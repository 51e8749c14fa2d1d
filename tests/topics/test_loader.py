"""Theme files: the packaged five load, older versions migrate, mistakes are named by file, line and field,
and the store picks up a changed file while a broken one keeps its last good version."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from topics import THEMES
from topics.loader import BUILTIN_DIR, MIGRATIONS, ThemeStore, load_themes, migrate, parse_theme
from topics.themes import SCHEMA_VERSION

ECONOMY = (BUILTIN_DIR / "economy.yaml").read_text(encoding="utf-8")


def test_the_five_packaged_themes_load_in_tab_order() -> None:
    themes, errors = load_themes(BUILTIN_DIR)
    assert errors == []
    assert [t.key for t in themes] == ["economy", "market", "social", "service", "ecology"] == [t.key for t in THEMES]
    assert all(t.schema_version == SCHEMA_VERSION for t in themes)
    eco = themes[-1]
    assert eco.left == ("air_quality", "water_levels", "trend") and eco.right == ("video_point", "fire_risk", "alarm_list")
    assert eco.map_measure == "aqi" and eco.owner == "市生态环境局"


def test_a_version_1_file_migrates_to_the_same_theme() -> None:
    v2 = yaml.safe_load(ECONOMY)
    v1 = {k: v for k, v in v2.items() if k != "panels"}
    v1["schema_version"] = 1
    v1["left"] = [p["type"] for p in v2["panels"] if p["column"] == "left"]
    v1["right"] = [p["type"] for p in v2["panels"] if p["column"] == "right"]
    assert set(MIGRATIONS) == set(range(1, SCHEMA_VERSION))  # every older version has its step up
    assert migrate(dict(v1)) == {**v2, "schema_version": 2}
    old, errors = parse_theme(yaml.safe_dump(v1, allow_unicode=True), "economy-v1.yaml")
    new, _ = parse_theme(ECONOMY, "economy.yaml")
    assert errors == [] and old == new


def errors_of(text: str) -> list[str]:
    theme, errors = parse_theme(text, "economy.yaml")
    assert theme is None
    return [str(e) for e in errors]


def test_mistakes_are_named_by_file_line_and_field_in_plain_words() -> None:
    lines = ECONOMY.splitlines()
    target = next(i for i, line in enumerate(lines) if line.strip().startswith("target: 3000"))
    lines[target] = lines[target].replace("3000", "三千亿")
    assert errors_of("\n".join(lines)) == [f"economy.yaml, line {target + 1}: kpis[0].target: must be a number"]

    column = next(i for i, line in enumerate(lines) if "column: left" in line)
    bad = ECONOMY.splitlines()
    bad[column] = bad[column].replace("left", "middle")
    assert errors_of("\n".join(bad)) == [
        f"economy.yaml, line {column + 1}: panels[0].column: must be one of 'left' or 'right'"]

    # A missing field points at the start of the theme; a misspelt one at its own line.
    assert errors_of(ECONOMY.replace("owner: 市发改局", "ower: 市发改局")) == [
        "economy.yaml, line 4: owner: is required but missing",
        "economy.yaml, line 9: ower: is not a field a theme has (check the spelling; docs/panels.md lists them)"]
    assert errors_of(ECONOMY.replace("- econ.wage_warnings", "- econ.no_such_kpi", 1))[0].endswith(
        "by_county names econ.no_such_kpi, which is not among this theme's kpis")
    assert errors_of("key: [unclosed\n")[0].startswith("economy.yaml, line 2: not valid YAML")
    assert errors_of(ECONOMY.replace("schema_version: 2", "schema_version: 9")) == [
        "economy.yaml, line 4: schema_version: schema_version 9 is not one this app reads (1 to 2)"]


def test_a_panel_title_is_data_never_markup() -> None:
    # Names go to the page as text (Dash escapes them); the loader keeps them exactly as written.
    theme, errors = parse_theme(ECONOMY.replace("name_zh: 经济调节", "name_zh: <script>alert(1)</script>"), "e.yaml")
    assert errors == [] and theme is not None and theme.name_zh == "<script>alert(1)</script>"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for path in BUILTIN_DIR.glob("*.yaml"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    return tmp_path


def touch(path: Path, text: str) -> None:
    """Write a file and move its time on, so a change within the same second is seen."""
    path.write_text(text, encoding="utf-8")
    st = path.stat()
    os.utime(path, (st.st_atime, st.st_mtime + 1))


def test_the_store_shows_a_changed_file_and_keeps_the_last_good_one_when_a_file_breaks(folder: Path) -> None:
    store = ThemeStore(folder, recheck_s=0)
    assert store.version == 1 and [t.key for t in store.themes()][0] == "economy" and store.errors() == []
    path = folder / "economy.yaml"

    touch(path, ECONOMY.replace("- type: gdp_progress\n  column: left\n",
                                "- type: gdp_progress\n  column: left\n- type: road_weather\n  column: left\n"))
    economy = store.themes()[0]
    assert economy.left == ("project_lifecycle", "gdp_progress", "road_weather") and store.version == 2

    touch(path, ECONOMY.replace("column: left", "column: middle", 1))
    assert store.themes()[0] == economy  # the wall keeps the last good version
    assert store.version == 2
    assert [e.field for e in store.errors()] == ["panels[0].column"] and store.errors()[0].line is not None

    touch(path, ECONOMY)
    assert store.themes()[0].left == ("project_lifecycle", "gdp_progress") and store.errors() == []
    (folder / "market.yaml").unlink()
    assert "market" not in [t.key for t in store.themes()]


def test_the_store_looks_at_the_files_at_most_every_recheck(folder: Path) -> None:
    store = ThemeStore(folder, recheck_s=3600)
    touch(folder / "economy.yaml", ECONOMY.replace("order: 1", "order: 9"))
    assert store.themes()[0].key == "economy"  # not looked at yet
    assert store.refresh() and store.themes()[-1].key == "economy"
