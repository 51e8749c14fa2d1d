"""Measures a theme owner defines in a theme file (ratio, difference, sum): checked with their line, computed
from their operands through the registry, shown and judged like any other measure."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from dashboard.panels.base import PanelInput
from measures.composite import combine
from store.models import Alarm
from tests.components import nodes
from tests.dashboard.apps import app_with_themes
from tests.feeds.samples import event, ingest, iso, kpi, msg

SHARE = """measures:
- key: social.overdue_share
  name_zh: 超期案件占比
  name_en: Share of open cases overdue
  unit: '%'
  op: ratio
  of: [social.overdue_grid_cases, open_cases]
  scale: 100
  digits: 1
"""


def social_with(text: str) -> str:
    """The packaged social theme with `text` (a measures: section) before its panels."""
    packaged = (Path(__file__).parents[2] / "topics" / "themes" / "social.yaml").read_text(encoding="utf-8")
    return packaged.replace("panels:\n", text + "panels:\n", 1)


def errors_of(text: str, ctx: object) -> list[str]:
    _, errors = ctx.topics.parse(social_with(text), "social.yaml")  # type: ignore[attr-defined]
    return [f"{e.line} {e.field}: {e.message}" for e in errors]


def test_the_operations() -> None:
    assert combine("ratio", [3, 12], 100) == 25.0
    assert combine("ratio", [3, 0]) is None  # no denominator: no figure, not infinity
    assert combine("difference", [10, 4]) == 6
    assert combine("sum", [1, 2, 3.5]) == 6.5


def test_a_mistake_in_a_theme_measure_is_refused_with_its_line(tmp_path: Path) -> None:
    ctx = app_with_themes(tmp_path).server.config["ZQ_CONTEXT"]
    assert errors_of(SHARE, ctx) == []
    line = social_with(SHARE).splitlines().index("  of: [social.overdue_grid_cases, open_cases]") + 1
    unknown = errors_of(SHARE.replace("open_cases]", "closed_cases]"), ctx)
    assert len(unknown) == 1 and unknown[0].startswith(f"{line} measures[0].of:") and "closed_cases" in unknown[0]
    assert any("at least 2" in e for e in errors_of(SHARE.replace("[social.overdue_grid_cases, open_cases]",
                                                            "[social.overdue_grid_cases]"), ctx))
    assert any("ratio, difference or sum" in e or "'ratio'" in e
               for e in errors_of(SHARE.replace("op: ratio", "op: product"), ctx))
    taken = errors_of(SHARE.replace("key: social.overdue_share", "key: eco.aqi"), ctx)
    assert any("already" in e and "eco.aqi" in e for e in taken)
    # Listed under kpis as well, it gets the KPI's target, department and card; but a KPI it names is an operand
    # only when the theme does not compute it.
    assert errors_of(SHARE.replace("key: social.overdue_share", "key: social.mediation.town"), ctx) == []
    assert any("social.hotline" in e for e in errors_of(SHARE.replace("open_cases]", "social.hotline]"), ctx))


def test_a_theme_measure_is_computed_from_its_operands_shown_and_judged(tmp_path: Path) -> None:
    app = app_with_themes(tmp_path)
    ctx = app.server.config["ZQ_CONTEXT"]
    rule = ("rules:\n- id: overdue-share\n  kind: measure\n  measure: social.overdue_share\n  county: '441202'\n"
            "  above: 50\n")
    panel = "- type: kpi_target\n  column: left\n  kpi: social.overdue_share\n  region: '441202'\n"
    path = ctx.topics.path("social")
    text = social_with(SHARE).replace("rules:\n", rule, 1).replace("panels:\n", "panels:\n" + panel, 1)
    path.write_text(text, encoding="utf-8")
    ctx.topics.refresh()
    assert not ctx.topics.errors()
    now = ctx.now().replace(microsecond=0)
    items = []
    # 端州区: four open cases, three of them reported 200 hours ago (past every limit), one just now.
    for n, hours in enumerate((200, 200, 200, 0)):
        at = now - timedelta(hours=hours)
        body = event("441202", n + 1, step=2, ts=at, reported_at=iso(at))
        items.append((f"zq/441202/grid_event/{body['event_id']}", body))
    ingest(ctx.engine, items)
    measures = ctx.registries.measures
    with Session(ctx.engine) as s:
        got = measures.latest(s, ["social.overdue_share", "social.overdue_grid_cases", "open_cases"],
                              ["441202", "441203"], now)
    assert got["social.overdue_grid_cases"]["441202"].value == 3 and got["open_cases"]["441202"].value == 4
    assert got["social.overdue_share"]["441202"].value == 75.0
    assert "441203" not in got["social.overdue_share"]  # no open case there: 0 / 0 is no figure
    changes = ctx.alerts.tick()
    with Session(ctx.engine) as s:
        [alarm] = s.query(Alarm).filter(Alarm.rule == "social/overdue-share").all()
        out = ctx.registries.panels["kpi_target"].render(PanelInput(
            session=s, lang="zh", county=None, health={}, now=now, names=ctx.names, theme="social",
            theme_def=next(t for t in ctx.topics.themes() if t.key == "social"), measures=measures,
            settings=ctx.registries.panels["kpi_target"].settings.model_validate(
                {"kpi": "social.overdue_share", "region": "441202"},
                context={"theme": next(t for t in ctx.topics.themes() if t.key == "social")})))
    shown = [getattr(n, "data-value") for n in nodes(out.body)
             if getattr(n, "data-measure", None) == "social.overdue_share"]
    assert alarm.id in changes.raised and alarm.value == 75.0
    assert shown == ["75.0"]
    listed = {m.key: m.source for m in measures.all()}
    assert "ratio" in listed["social.overdue_share"] and "social" in listed["social.overdue_share"]


def test_a_kpi_message_for_a_theme_measure_is_refused_once_the_file_defines_it(tmp_path: Path) -> None:
    from dashboard import create_app
    from settings import Settings
    from store.models import DeadLetter

    topics = tmp_path / "topics"
    topics.mkdir()
    app = create_app(Settings(db=f"sqlite:///{tmp_path / 'zq.sqlite3'}", topics_dir=str(topics), simulate=False,
                              ingest=True), start_feeds=True)
    ctx, service = app.server.config["ZQ_CONTEXT"], app.server.config["ZQ_FEEDS"]
    try:
        service.ingestor.submit(*msg("kpi", kpi("social.overdue_share", "441202", value=10.0)))  # not defined yet
        assert service.ingestor.drain(10)
        ctx.topics.path("social").write_text(social_with(SHARE), encoding="utf-8")  # the owner defines it
        ctx.topics.refresh()
        service.ingestor.submit(*msg("kpi", kpi("social.overdue_share", "441202", value=99.0)))
        assert service.ingestor.drain(10)
    finally:
        service.stop()
    with Session(ctx.engine) as s:
        [letter] = s.query(DeadLetter).all()
        shown = ctx.registries.measures.value(s, "social.overdue_share", "441202")
    assert letter.topic == "zq/441202/kpi/social.overdue_share" and "defined in the theme social" in letter.reason
    assert shown is None  # computed from its operands (none here), never the stored KPI
