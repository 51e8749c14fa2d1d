"""The daily briefing (运行日报): a store with known records at a fixed clock, the PDF printed by real Chromium, its
text read back with pdftotext and its pages rendered with pdftoppm; the schedule, the scope, the webhooks."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from clock import FakeClock
from dashboard import briefing
from store import briefing_queries as bq
from store.models import Alarm, Briefing, Case, Delivery
from tests.alerts.receiver import receiver  # noqa: F401 — the fixture
from tests.dashboard.apps import app_with_themes
from tests.feeds.samples import INSIDE, ingest, iso
from tests.waiting import wait_until

CST = timezone(timedelta(hours=8))
DAY = datetime(2026, 7, 14, tzinfo=CST)  # the day the briefing covers
MORNING = datetime(2026, 7, 15, 8, 0, tzinfo=CST)  # the clock: after 07:30 the next morning


def pdf_text(pdf: bytes, tmp: Path) -> str:
    path = tmp / "b.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True,
                          timeout=60).stdout.decode("utf-8")


def png_pixels(path: Path) -> tuple[int, int, bytes]:
    """Width, height and raw RGB rows of an 8-bit RGB PNG (what pdftoppm writes)."""
    data = path.read_bytes()
    pos, idat, w, h = 8, b"", 0, 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h = struct.unpack(">II", chunk[:8])
            assert chunk[8:10] == b"\x08\x02", "8-bit RGB expected"
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + n
    raw, stride, prev, rows = zlib.decompress(idat), w * 3, bytearray(w * 3), []
    for y in range(h):  # undo the PNG filters
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - 3] if i >= 3 else 0
            b, c = prev[i], (prev[i - 3] if i >= 3 else 0)
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, b"".join(rows)


def render_pages(pdf: bytes, tmp: Path) -> list[Path]:
    (tmp / "b.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(tmp / "b.pdf"), str(tmp / "page")], check=True, timeout=60)
    return sorted(tmp.glob("page*.png"))


@pytest.fixture
def ctx(tmp_path: Path) -> Any:
    """The app on a fresh store at 08:00 the morning after DAY, with the day's records: two air stations in
    端州区, alarms and cases in 端州区 and 鼎湖区."""
    app = app_with_themes(tmp_path, clock=FakeClock(MORNING))
    ctx = app.server.config["ZQ_CONTEXT"]
    ctx.flask = app.server
    duanzhou, dinghu = "441202", "441203"
    lon, lat = INSIDE[duanzhou]
    at = DAY + timedelta(hours=20)
    # HJ 663: the county's PM2.5 is the mean of 120 and 40, 80 µg/m³: AQI 107.
    ingest(ctx.engine, [(f"zq/{duanzhou}/air_quality/{code}", {"device_id": code, "ts": iso(at), "lon": lon,
                                                                "lat": lat, "pm2_5_1h": pm})
                        for code, pm in (("AQ44120201", 120.0), ("AQ44120202", 40.0))])
    h = lambda n: DAY + timedelta(hours=n)  # noqa: E731
    with Session(ctx.engine) as s, s.begin():
        def alarm(n: int, county: str, acked: datetime | None, cleared: datetime | None, opened: datetime) -> Alarm:
            return Alarm(rule="ecology/aqi", kind="threshold", theme="ecology", source=f"src{n}", county_adcode=county,
                         severity=2, state="cleared" if cleared else "acknowledged" if acked else "active",
                         title_zh=f"告警{n}", title_en=f"alarm {n}", opened_at=opened, last_at=opened,
                         acked_at=acked, cleared_at=cleared)
        s.add_all([alarm(1, duanzhou, None, None, h(9)), alarm(2, duanzhou, h(10), None, h(9)),
                   alarm(3, duanzhou, h(10), h(12), h(9)), alarm(4, dinghu, None, None, h(11)),
                   alarm(5, dinghu, None, None, h(-30))])  # raised the day before, still open
        def case(n: int, county: str, dept: str, opened: datetime, deadline: datetime,
                 closed: datetime | None = None) -> Case:
            return Case(id=f"C{n}", origin="alarm", origin_id=str(n), title=f"案件{n}", county_adcode=county,
                        department=dept, level="县", step=7 if closed else 3, opened_at=opened, deadline_at=deadline,
                        closed_at=closed)
        s.add_all([case(1, duanzhou, "端州区城管局", h(8), h(30)), case(2, duanzhou, "端州区城管局", h(8), h(30), h(15)),
                   case(3, duanzhou, "端州区城管局", h(9), h(12)),  # overdue by the day's end
                   case(4, duanzhou, "端州区住建局", h(10), h(40)), case(5, dinghu, "鼎湖区城管局", h(7), h(30))])
    yield ctx
    rt = app.server.config["ZQ_RUNTIME"]
    rt.stop()


def test_the_city_briefing_holds_the_stores_figures_and_its_pages_render(ctx: Any, tmp_path: Path) -> None:
    [bid] = [briefing.make_briefing(ctx, ctx.city.adcode, DAY.date(), "schedule")]
    with Session(ctx.engine) as s:
        b = bq.briefing(s, bid, with_pdf=True)
        assert b is not None and b.state == "ready", b and b.error
        pdf, pages = b.pdf, b.pages
    assert pdf.startswith(b"%PDF") and pages == briefing.page_count(pdf) >= 2
    text = pdf_text(pdf, tmp_path)
    flat = re.sub(r"\s+", " ", text)
    assert "肇庆市 运行日报" in flat and "2026-07-14" in flat
    for name in ctx.city.counties.values():  # every county named, in Chinese
        assert name in flat
    # Alarms by county: raised, acknowledged, cleared in the day, open at its end.
    assert re.search(r"端州区 3 2 1 2\b", flat), flat
    assert re.search(r"鼎湖区 1 0 0 2\b", flat)
    assert re.search(r"合计 4 2 1 4\b", flat)
    # Cases by county and department: reported, closed, open at the end, overdue then.
    assert re.search(r"端州区 4 1 3 1\b", flat)
    assert re.search(r"端州区城管局 3 1 2 1\b", flat)
    assert re.search(r"鼎湖区城管局 1 0 1 0\b", flat)
    assert re.search(r"空气质量指数 107 107", flat)  # the city's AQI at the day's end and its peak
    assert "未报进度 29" in flat  # the plan's progress (the 2021 plan, its year ended; no progress reported)
    assert re.search(r"图 6/6|charts drawn 6/6", flat)  # both maps and four trends drawn by plotly.js
    pngs = render_pages(pdf, tmp_path)
    assert len(pngs) == pages
    for png in pngs:
        w, h, px = png_pixels(png)
        assert abs(w - 413) <= 1 and abs(h - 585) <= 1  # A4 (210 × 297 mm) at 50 dpi
        ink = sum(1 for i in range(0, len(px), 3) if px[i] < 200 or px[i + 1] < 200)
        assert ink > w * h * 0.01, png  # a page with text on it, not blank
    last = png_pixels(pngs[-1])[2]
    dark = sum(1 for i in range(0, len(last), 3) if max(last[i:i + 3]) < 60)
    assert dark > 413 * 585 * 0.03  # the map and trend panels (dark, as on the wall) are there
    shutil.copy(tmp_path / "b.pdf", tmp_path / "city.pdf")


def test_a_county_briefing_holds_its_countys_figures(ctx: Any, tmp_path: Path) -> None:
    bid = briefing.make_briefing(ctx, "441202", DAY.date(), "demand")
    with Session(ctx.engine) as s:
        b = bq.briefing(s, bid, with_pdf=True)
        assert b.state == "ready", b.error
    flat = re.sub(r"\s+", " ", pdf_text(b.pdf, tmp_path))
    assert "端州区 运行日报" in flat
    # The county's AQI against the plan's target for it (端州区's KPI in the ecology theme: at most 100).
    assert re.search(r"端州区AQI 107 107 ≤100 未达标 市生态环境局", flat), flat
    assert re.search(r"端州区 3 2 1 2\b", flat) and not re.search(r"鼎湖区 1 0 0 2\b", flat)
    assert re.search(r"端州区城管局 3 1 2 1\b", flat) and "鼎湖区城管局" not in flat
    # Its maps name no neighbour and give no neighbour's figure (a county's briefing goes to the county's people).
    assert not any(name in flat for name in ("鼎湖区", "怀集县", "四会市")), flat[-700:]


def test_the_schedule_makes_each_briefing_once(ctx: Any) -> None:
    ctx.settings.chromium = "/nonexistent/chromium"  # fast: each fails at once, recorded with its reason
    first = briefing.run_schedule(ctx)
    assert len(first) == 1 + len(ctx.city.counties)
    assert briefing.run_schedule(ctx) == []  # run again (or by a second process): nothing more
    with Session(ctx.engine) as s:
        rows = bq.briefings(s)
    assert len(rows) == len(first) and {r.state for r in rows} == {"failed"}
    assert "Chromium not found" in rows[0].error
    assert {r.day for r in rows} == {DAY.date()}


def test_a_failed_or_abandoned_scheduled_briefing_is_tried_again_three_times_in_all(ctx: Any) -> None:
    ctx.settings.chromium = "/nonexistent/chromium"
    regions = 1 + len(ctx.city.counties)
    assert len(briefing.run_schedule(ctx)) == regions
    ctx.clock.advance(5 * 60)
    assert briefing.run_schedule(ctx) == []  # too soon after the failure
    ctx.clock.advance(6 * 60)
    assert len(briefing.run_schedule(ctx)) == regions  # the second try
    ctx.clock.advance(11 * 60)
    assert len(briefing.run_schedule(ctx)) == regions  # the third
    ctx.clock.advance(11 * 60)
    assert briefing.run_schedule(ctx) == []  # no fourth: the failures are on the page with their reasons
    with Session(ctx.engine) as s:
        rows = bq.briefings(s, [ctx.city.adcode])
    assert [r.state for r in rows] == ["failed"] * 3
    # One left `making` by a process that stopped is marked abandoned and tried again.
    day = DAY.date() + timedelta(days=1)
    ctx.clock.advance(24 * 3600)
    with Session(ctx.engine) as s, s.begin():
        bq.claim(s, bq.schedule_key(day, ctx.city.adcode), day, ctx.city.adcode, "schedule", "zh", ctx.now(),
                 ctx.now())
    made = briefing.run_schedule(ctx)
    assert len(made) == regions - 1  # the city's is being made, as far as anyone knows
    ctx.clock.advance(2 * ctx.settings.briefing_timeout_s + 61)
    assert len(briefing.run_schedule(ctx)) == 1
    with Session(ctx.engine) as s:
        states = [(r.state, r.error) for r in bq.briefings(s, [ctx.city.adcode]) if r.day == day]
    assert ("failed", "abandoned: the process making it stopped before it finished") in states


def test_before_the_hour_nothing_is_due() -> None:
    assert briefing.due_day(datetime(2026, 7, 15, 7, 29, tzinfo=CST), "07:30") is None
    assert briefing.due_day(datetime(2026, 7, 15, 7, 30, tzinfo=CST), "07:30") == DAY.date()
    assert briefing.due_day(datetime(2026, 7, 14, 23, 40, tzinfo=timezone.utc), "07:30") == DAY.date()


def test_a_briefing_reaches_the_webhook(ctx: Any, receiver: Any) -> None:  # noqa: F811
    rec = receiver([200])
    ctx.settings.briefing_webhooks = {"市政数局": rec.url}
    ctx.settings.chromium = "/nonexistent/chromium"
    bid = briefing.make_briefing(ctx, ctx.city.adcode, DAY.date(), "schedule")
    role = briefing.BriefingRole(ctx)
    assert role.notifier.deliver_due() == 1
    [req] = rec.requests
    body = orjson.loads(req["body"])
    assert body["event"] == "briefing" and body["briefing"]["id"] == bid
    assert body["briefing"]["region_name"] == "肇庆市" and body["pdf_url"] == f"/briefings/{bid}.pdf"
    with Session(ctx.engine) as s:
        [d] = s.scalars(select(Delivery).where(Delivery.event == "briefing")).all()
        assert d.status == "sent" and d.target == "市政数局"
        assert s.get(Briefing, bid).state == "failed"


def test_a_county_user_lists_their_county_and_is_refused_the_others(ctx: Any) -> None:
    ctx.settings.chromium = "/nonexistent/chromium"
    briefing.run_schedule(ctx)
    with Session(ctx.engine) as s:
        ids = {b.region: b.id for b in bq.briefings(s)}
        # A ready one, to be served (the PDF itself is the other tests' business).
        b = s.get(Briefing, ids["441203"])
        b.state, b.pdf, b.size, b.pages = "ready", b"%PDF-1.4 test", 13, 1
        s.commit()
    client = ctx.flask.test_client()
    assert client.get(f"/briefings/{ids['441203']}.pdf").data == b"%PDF-1.4 test"  # sign-in off: city level
    from store import admin_queries as aq
    with Session(ctx.engine) as s, s.begin():  # a leader of 鼎湖区, signed in (a session kept in the store)
        aq.add_user(s, "dinghu", "x", "leader", [], MORNING, counties=["441203"])
        sid = aq.open_session(s, "dinghu", MORNING)
    with client.session_transaction() as sess:
        sess["sid"], sess["user"] = sid, {"username": "dinghu", "role": "leader", "themes": [], "counties": ["441203"]}
    page = client.get("/briefings").get_data(as_text=True)
    assert "鼎湖区" in page and "端州区" not in page and "肇庆市</span>" not in page
    assert "Chromium not found" in page  # a failure is listed with its reason
    got = client.get(f"/briefings/{ids['441203']}.pdf")
    assert got.status_code == 200 and got.mimetype == "application/pdf"
    for region in ("441202", ctx.city.adcode):
        refused = client.get(f"/briefings/{ids[region]}.pdf")
        assert refused.status_code == 403 and "无权访问" in refused.get_data(as_text=True)
        refused = client.get(f"/briefings/now.pdf?region={region}")
        assert refused.status_code == 403 and "无权访问" in refused.get_data(as_text=True)


def test_on_demand_makes_the_day_so_far(ctx: Any, tmp_path: Path) -> None:
    client = ctx.flask.test_client()
    got = client.get("/briefings/now.pdf?region=441202")
    assert got.status_code == 200 and got.data.startswith(b"%PDF")
    flat = re.sub(r"\s+", " ", pdf_text(got.data, tmp_path))
    assert "端州区 运行日报" in flat and "2026-07-15 00:00 – 08:00" in flat  # today up to the clock's 08:00
    with Session(ctx.engine) as s:
        [b] = bq.briefings(s)
        assert b.trigger == "demand" and b.state == "ready" and b.pages >= 1


def test_a_process_without_pages_runs_the_briefing_role(tmp_path: Path) -> None:
    """`python app.py --roles briefing` on a machine of its own: it leads the `briefing` lease and makes the day's
    briefings (here they fail fast, without Chromium, and say why)."""

    from dashboard.factory import create_runtime
    from settings import Settings

    settings = Settings(db=f"sqlite:///{tmp_path / 'zq.sqlite3'}", roles="briefing", chromium="/nonexistent/chromium",
                        clock_start=MORNING)
    runtime = create_runtime(settings)
    try:
        def failed() -> list[Any]:
            with Session(runtime.engine) as s:
                rows = bq.briefings(s)
            return rows if sum(r.state == "failed" for r in rows) >= 9 else []

        rows = wait_until(failed, "nine failed briefings", 60, interval=0.2)
        assert runtime.status()["leases"]["briefing"] == "leader" and "briefing" in runtime.roles
        assert len(rows) == 9 and {r.state for r in rows} == {"failed"} and {r.day for r in rows} == {DAY.date()}
    finally:
        runtime.stop()
    assert runtime.attached == {}
