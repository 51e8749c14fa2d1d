"""docs/panels.md is a theme owner's guide: every panel example in it is a valid panel of a packaged theme, every
registered type is documented, and the settings tables name each type's real settings."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from dashboard.panels import PanelRegistry, register_builtin_panels
from topics.loader import BUILTIN_DIR, parse_theme

DOC = (Path(__file__).resolve().parents[2] / "docs" / "panels.md").read_text(encoding="utf-8")
REGISTRY = PanelRegistry()
register_builtin_panels(REGISTRY)


def examples() -> list[str]:
    """The YAML blocks of the guide that are panels (a list of items with a type)."""
    blocks = re.findall(r"```yaml\n(.*?)```", DOC, flags=re.S)
    return [b for b in blocks if b.lstrip().startswith(("- type:", "panels:"))]


def theme_for(block: str) -> str:
    """The packaged theme whose KPIs the example names (economy for econ.*, else ecology)."""
    return "economy" if "econ." in block else "ecology"


def test_every_panel_example_in_the_guide_is_a_valid_panel() -> None:
    found = examples()
    assert len(found) >= 10
    for block in found:
        panels = block if block.lstrip().startswith("panels:") else "panels:\n" + block
        key = theme_for(block)
        text = (BUILTIN_DIR / f"{key}.yaml").read_text(encoding="utf-8")
        head, rest = text.split("panels:\n", 1)
        edited = head + panels.rstrip("\n") + "\n" + "kpis:\n" + rest.split("kpis:\n", 1)[1]
        theme, errors = parse_theme(edited, f"{key}.yaml", REGISTRY.schemas())
        assert errors == [], (block, [str(e) for e in errors])
        assert theme is not None and len(theme.panels) == len(yaml.safe_load(panels)["panels"])


def test_every_configurable_type_has_a_section_naming_its_settings() -> None:
    for panel in REGISTRY:
        assert f"`{panel.name}`" in DOC or f"### {panel.name} " in DOC, panel.name
        settings = panel.settings.model_fields
        if not settings:
            continue
        section = DOC.split(f"### {panel.name} ", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
        assert f"- type: {panel.name}" in section, f"{panel.name} has no worked example"
        for name in settings:
            assert f"`{name}`" in section, f"{panel.name}.{name} is not in its settings table"
