"""County overrides of a theme (counties/<adcode>/<theme>.yaml): what they may set, mistakes named by line, a county
the city does not have refused, and the store that applies them, keeps the last good one and changes its
fingerprint when one changes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from geo import PACKAGED_CITY, City
from topics.loader import BUILTIN_DIR, ThemeStore, key_of_file, parse_override, split_key
from topics.themes import CountyOverride

HUAIJI, GAOYAO = "441224", "441204"  # 怀集县 (has an override here), 高要区 (has none)
CITY = City.load(PACKAGED_CITY)
OVERRIDE = """schema_version: 1
owner: 怀集县委政法委
panels:
- type: grid_event
  column: left
- type: markdown
  column: right
  text_zh: 怀集县网格中心值班电话 0758-0000000
"""


def touch(path: Path, text: str) -> None:
    """Write a file and move its time on, so a change within the same second is seen."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    st = path.stat()
    os.utime(path, (st.st_atime, st.st_mtime + 1))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for path in BUILTIN_DIR.glob("*.yaml"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    return tmp_path


def social(store: ThemeStore) -> object:
    return next(t for t in store.themes() if t.key == "social")


def test_an_override_sets_the_county_walls_panels_and_owner_and_nothing_else(folder: Path) -> None:
    store = ThemeStore(folder, recheck_s=0, context={"city": CITY})
    city = social(store)
    override, shown, errors = parse_override(OVERRIDE, "counties/441224/social.yaml", city, HUAIJI,
                                             context={"city": CITY})
    assert errors == [] and isinstance(override, CountyOverride) and shown is not None
    assert shown.owner == "怀集县委政法委" and shown.left == ("grid_event",) and shown.right == ("markdown",)
    assert shown.kpis == city.kpis and shown.rules == city.rules and shown.key == "social"  # the city's
    only_owner, errors = store.check(f"social@{HUAIJI}", "owner: 怀集县委政法委\n")
    assert errors == [] and only_owner is not None and only_owner.panels == city.panels


def test_mistakes_in_an_override_are_named_by_line_in_plain_words(folder: Path) -> None:
    store = ThemeStore(folder, recheck_s=0, context={"city": CITY})
    file = f"counties/{HUAIJI}/social.yaml"

    def errors(text: str, county: str = HUAIJI) -> list[str]:
        theme, errs = store.check(f"social@{county}", text)
        assert theme is None
        return [str(e) for e in errs]

    assert errors(OVERRIDE.replace("column: right", "column: middle")) == [
        f"{file}, line 7: panels[1].column: must be one of 'left' or 'right'"]
    assert errors(OVERRIDE + "rules: []\n") == [
        f"{file}, line 9: rules: is not a field a county override has: it sets panels and owner only; KPIs, targets, "
        "rules and measures stay the city theme's (docs/admin.md)"]
    assert errors("schema_version: 1\n")[0].endswith("an override sets panels, owner or both (otherwise the city "
                                                    "theme is shown as it is)")
    assert errors("panels: [unclosed\n")[0].startswith(f"{file}, line 2: not valid YAML")
    assert errors(OVERRIDE, "441299") == [
        "counties/441299/social.yaml: 441299 is not a county of 肇庆市 (the directory counties/<adcode>/ names the "
        "county)"]
    with pytest.raises(ValueError):
        split_key("social@../x")
    assert key_of_file(file) == f"social@{HUAIJI}" and key_of_file("social.yaml") == "social"


def test_the_store_applies_an_override_keeps_the_last_good_one_and_refuses_an_unknown_county(folder: Path) -> None:
    store = ThemeStore(folder, recheck_s=0, context={"city": CITY})
    before = store.fingerprint()
    path = folder / "counties" / HUAIJI / "social.yaml"
    touch(path, OVERRIDE)
    good = store.override("social", HUAIJI)
    assert good is not None and good.owner == "怀集县委政法委" and store.errors() == []
    assert store.override("social", GAOYAO) is None and store.override("ecology", HUAIJI) is None
    assert store.override_keys() == (f"social@{HUAIJI}",)
    with_override = store.fingerprint()
    assert with_override != before  # the walls rebuild

    touch(path, OVERRIDE.replace("column: right", "column: middle"))
    assert store.override("social", HUAIJI) == good  # the county's wall keeps the last good version
    assert [(e.file, e.line, e.field) for e in store.errors()] == [(f"counties/{HUAIJI}/social.yaml", 7,
                                                                   "panels[1].column")]
    assert store.fingerprint() == with_override

    touch(folder / "counties" / "441299" / "social.yaml", OVERRIDE)
    assert store.override("social", "441299") is None
    assert any("441299 is not a county of 肇庆市" in str(e) for e in store.errors())

    touch(path, OVERRIDE.replace("怀集县委政法委", "怀集县政数局"))
    assert store.override("social", HUAIJI).owner == "怀集县政数局"  # type: ignore[union-attr]
    assert store.fingerprint() not in (before, with_override)
    path.unlink()
    assert store.override("social", HUAIJI) is None and store.override_keys() == ()
