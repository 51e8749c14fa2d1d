"""UI text: Chinese first, English available (`?lang=en`)."""

from __future__ import annotations

TEXT: dict[str, tuple[str, str]] = {
    "app_title": ("肇庆市一网统管", "Zhaoqing City Operations"),
    "app_subtitle": ("城市运行管理中心", "City operations centre"),
    "map_title": ("全市在办网格事件", "Open grid cases by county"),
    "county_map_title": ("设备与在办事件", "Devices and open cases"),
    "data_time": ("数据时间", "Data time"),
    "stale": ("数据延迟 {n} 分钟", "Data delayed {n} min"),
    "no_data": ("暂无数据", "No data yet"),
    "panel_failed": ("面板出错", "Panel failed"),
    "map_alarms": ("告警 {n} 条", "{n} open alarms"),
    "takeover_head": ("红色告警 · 请立即处置", "RED ALARM · act now"),
    "takeover_how": ("{n} 条未确认 · 请在值班台 /alarms 确认", "{n} unacknowledged · acknowledge at the console /alarms"),
    "takeover_also": ("另有：{titles}", "Also: {titles}"),
    "takeover_more": ("，还有 {n} 条", "; and {n} more"),
    "feeds_ok": ("数据源正常 {ok}/{total}", "Feeds live {ok}/{total}"),
    "feeds_stale": ("数据延迟 {n}/{total}", "Feeds delayed {n}/{total}"),
    "weather": ("气温 {t:.1f}°C · 湿度 {h:.0f}%", "{t:.1f} °C · {h:.0f} % RH"),
    "warnings": ("预警 {n}", "Warnings {n}"),
    "aqi_map_title": ("各区县空气质量指数 (AQI)", "Air quality index by county"),
    "county_wall": ("{name}", "{name}"),
    "dead_letters": ("异常报文 {n}", "Rejected messages {n}"),
    "back_city": ("← 返回全市", "← Back to city"),
    "open_cases": ("在办事件", "Open cases"),
    "devices": ("设备", "Devices"),
    "online_rate": ("视频在线率", "Video online"),
    "fog_stations": ("大雾站点", "Stations in fog"),
    "visibility": ("能见度", "Visibility"),
    "temperature": ("气温", "Air temp."),
    "speed_limit": ("高速限速 ≤{v} km/h", "Expressway limit ≤{v} km/h"),
    "gap": ("车距 ≥{v} m", "Gap ≥{v} m"),
    "leave": ("从最近出口驶离", "Leave at the nearest exit"),
    "ai_alarms": ("近1小时AI识别", "AI detections, last hour"),
    "none_recent": ("近1小时无识别告警", "No detections in the last hour"),
    "latest_cases": ("最新事件", "Latest cases"),
    "target": ("目标", "Target"),
    "method": ("方法", "Method"),
    "lang_switch": ("EN", "中文"),
    "legend_cases": ("件", "cases"),
    "county_of": ("{name} · 区县视图", "{name} · County view"),
    "not_found": ("未找到该页面", "Page not found"),
    "city": ("肇庆市", "Zhaoqing"),
    "city_map": ("全市地图", "City map"),
    "layers": ("图层", "Layers"),
    "replay": ("回放", "Replay"),
    "live": ("实时", "Live"),
    "replay_at": ("回放 {t}", "Replay {t}"),
    "measure": ("设色指标", "Colour by"),
    "county_kpis": ("本县指标 · 全市平均", "County KPIs · city average"),
    "kpi": ("指标", "KPI"),
    "this_county": ("本县", "County"),
    "city_avg": ("全市平均", "City avg."),
    "county_cases": ("案件办理", "Cases"),
    "open_n": ("在办 {n}", "Open {n}"),
    "overdue_n": ("超期 {n}", "Overdue {n}"),
    "deadline_unconfirmed": ("期限待确认", "deadline unconfirmed"),
    "deadline_unconfirmed_why": ("工作日历缺少 {years} 年的节假日安排，期限只按周末计算",
                                 "the working calendar has no public holidays for {years}: counted with weekends only"),
    "overdue_by": ("超期 {h} 小时", "{h} h overdue"),
    "no_overdue": ("无超期案件", "No overdue cases"),
    "county_devices": ("设备在线", "Devices online"),
    "reporting": ("在报 {n}/{total}", "Reporting {n}/{total}"),
    "events_24h": ("近24小时事件", "Events, last 24 h"),
    "reported": ("上报", "Reported"),
    "closed": ("结案", "Closed"),
    "grid_generated": ("生成网格 (H3)", "Generated grid (H3)"),
    "hex_note": ("六边形: 在办事件数", "Hexagons: open cases"),
    "grid_imported": ("网格", "Grid"),
    "grid_cell": ("网格 {name}", "Grid cell {name}"),
    "cell_cases": ("网格内在办案件", "Open cases in the cell"),
    "cell_devices": ("网格内设备", "Devices in the cell"),
    "device": ("设备 {id}", "Device {id}"),
    "case": ("案件 {id}", "Case {id}"),
    "latest_values": ("最新数据", "Latest values"),
    "history": ("近24小时数据", "Last 24 hours"),
    "case_steps": ("办理流程", "Workflow"),
    "consistency": ("空间一致性", "Spatial consistency"),
    "consistency_intro": ("设备编码(GB/T 28181)所属区县与坐标所在区县不一致、或坐标在市外的设备",
                          "Devices whose GB/T 28181 division code disagrees with the county of their coordinates, "
                          "or whose coordinates lie outside the city"),
    "county_by_id": ("编码区县", "County by id"),
    "county_by_xy": ("坐标区县", "County by coordinates"),
    "reason": ("问题", "Finding"),
    "outside_city": ("坐标在市外", "Outside the city"),
    "id_county": ("编码与坐标区县不符", "Id and coordinates disagree"),
    "declared_county": ("上报区县与坐标区县不符", "Topic county and coordinates disagree"),
    "none_found": ("未发现问题", "Nothing found"),
    "county_wall_link": ("本县大屏", "County wall"),
    "kind_video_point": ("视频点位", "Video point"),
    "kind_road_weather": ("交通气象站", "Road-weather station"),
    "kind_fire_risk": ("森林火险站", "Fire-risk station"),
    "status_online": ("在线", "Online"),
    "status_offline": ("离线", "Offline"),
    "status_stale": ("未上报", "Silent"),
    "status_alarm": ("告警", "Alarm"),
}


class Texts:
    """A table of UI words (key → (Chinese, English)), read in a language and formatted with keyword values.

    The app's shared words are `t`; a panel or page module keeps its own words in its own table (`tx`).
    """

    def __init__(self, table: dict[str, tuple[str, str]]) -> None:
        self.table = table

    def __call__(self, key: str, lang: str = "zh", **kw: object) -> str:
        zh, en = self.table[key]
        return (en if lang == "en" else zh).format(**kw)


t = Texts(TEXT)


def pick(zh: str, en: str, lang: str) -> str:
    """Choose between a Chinese and an English string."""
    return en if lang == "en" else zh
