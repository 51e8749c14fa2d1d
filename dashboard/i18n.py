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
}


def t(key: str, lang: str = "zh", **kw: object) -> str:
    """The text of a key in a language, formatted with keyword values."""
    zh, en = TEXT[key]
    return (en if lang == "en" else zh).format(**kw)


def pick(zh: str, en: str, lang: str) -> str:
    """Choose between a Chinese and an English string."""
    return en if lang == "en" else zh
