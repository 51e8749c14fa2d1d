"""The five themes of 一网统管 and their KPIs, as data: the city's 2021 work plan names the targets."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


class KpiDef(BaseModel):
    """One KPI as a panel shows it: name, unit, the plan's target and who answers for it."""

    model_config = ConfigDict(frozen=True)

    key: str
    name_zh: str
    name_en: str
    unit: str | None = None
    target: float | None = Field(None, description="The plan's target, when it names one")
    target_kind: str = Field("min", description="min: reach at least the target; max: stay at most")
    department: str = Field(description="Responsible department named by the plan")
    plan_item: str | None = Field(None, description="Where in the 2021 work plan the target comes from")
    region: str = "441200"


class Theme(BaseModel):
    """One of the five functions of 一网统管."""

    model_config = ConfigDict(frozen=True)

    schema_version: int = SCHEMA_VERSION
    key: str
    name_zh: str
    name_en: str
    owner: str
    kpis: tuple[KpiDef, ...]
    left: tuple[str, ...] = Field(("road_weather", "fire_risk"), description="Panel types, left column, top down")
    right: tuple[str, ...] = Field(("video_point", "grid_event"), description="Panel types, right column")
    map_measure: str = Field("open_events", description="What colours the city map: open_events or aqi")
    by_county: tuple[str, ...] = Field((), description="KPI keys also reported per county (county view, "
                                                       "beside the city average)")


THEMES: tuple[Theme, ...] = (
    Theme(key="economy", name_zh="经济调节", name_en="Economic regulation", owner="市发改局",
          by_county=("econ.projects.construction", "econ.wage_warnings"),
          left=("project_lifecycle", "gdp_progress"), right=("wage_warnings", "plan_supervision"), kpis=(
        KpiDef(key="econ.gdp_ytd", name_zh="地区生产总值(累计)", name_en="GDP year to date", unit="亿元",
               target=3000, department="市发改局、市统计局", plan_item="总体要求: GDP超3000亿元"),
        KpiDef(key="econ.projects.negotiating", name_zh="洽谈项目", name_en="Projects in negotiation", unit="个",
               department="市商务局", plan_item="(十四)2 项目全生命周期"),
        KpiDef(key="econ.projects.signed", name_zh="签约项目", name_en="Projects signed", unit="个",
               department="市商务局", plan_item="(十四)2 项目全生命周期"),
        KpiDef(key="econ.projects.construction", name_zh="在建项目", name_en="Projects under construction",
               unit="个", department="市发改局", plan_item="(十四)2 项目全生命周期"),
        KpiDef(key="econ.projects.production", name_zh="投产项目", name_en="Projects in production", unit="个",
               department="市工信局", plan_item="(十四)2 项目全生命周期"),
        KpiDef(key="econ.wage_warnings", name_zh="工资支付预警企业", name_en="Wage-payment warnings", unit="家",
               target=0, target_kind="max", department="市人社局", plan_item="(十二) 企业工资支付监控综合预警"),
    )),
    Theme(key="market", name_zh="市场监管", name_en="Market supervision", owner="市市场监管局",
          by_county=("market.entities_new_today", "market.supervision_claim_rate"),
          left=("market_entities", "supervision_claims"), right=("ysht_users", "grid_categories"), kpis=(
        KpiDef(key="market.entities_new_today", name_zh="今日新登记市场主体", name_en="New market entities today",
               unit="户", department="市市场监管局"),
        KpiDef(key="market.supervision_claim_rate", name_zh="互联网+监管事项认领率",
               name_en="Internet+ supervision items claimed", unit="%", target=100, department="市政数局",
               plan_item="(十四)11 监管事项100%认领"),
        KpiDef(key="market.ysht_users", name_zh="粤商通注册市场主体", name_en="Yueshangtong registered entities",
               unit="户", target=230_000, department="市政数局", plan_item="(二) 注册市场主体用户超过23万"),
        KpiDef(key="market.ysht_dau", name_zh="粤商通日活", name_en="Yueshangtong daily active", unit="户",
               target=12_000, department="市政数局", plan_item="(二) 日均活跃用户超过1.2万"),
    )),
    Theme(key="social", name_zh="社会管理", name_en="Social management", owner="市委政法委",
          by_county=("social.open_grid_cases", "social.mediation.town", "social.mediation.village"),
          left=("grid_event", "hotline_12345", "mediation_levels"), right=("road_weather", "fire_risk", "grid_categories"),
          kpis=(
        KpiDef(key="social.open_grid_cases", name_zh="在办网格事件", name_en="Open grid cases", unit="件",
               department="市城管执法局", plan_item="(十六) 网格化管理平台"),
        KpiDef(key="social.hotline_12345.today", name_zh="今日12345工单", name_en="12345 tickets today", unit="件",
               department="市政数局"),
        KpiDef(key="social.mediation.village", name_zh="村级矛盾调处", name_en="Village-level mediation",
               unit="件", department="市委政法委", plan_item="(十六) 市县镇村四级矛盾调处"),
        KpiDef(key="social.mediation.town", name_zh="镇级矛盾调处", name_en="Town-level mediation", unit="件",
               department="市委政法委", plan_item="(十六) 市县镇村四级矛盾调处"),
    )),
    Theme(key="service", name_zh="公共服务", name_en="Public services", owner="市政数局",
          by_county=("service.haochaping_active_rate", "service.bad_review_fix_rate"),
          left=("yss_users", "haochaping"), right=("service_items", "plan_supervision"), kpis=(
        KpiDef(key="service.yss_registered", name_zh="粤省事实名注册用户", name_en="Yueshengshi registered users",
               unit="人", target=3_200_000, department="市政数局", plan_item="(二) 实名注册用户数突破320万"),
        KpiDef(key="service.yss_mau", name_zh="粤省事月活跃用户", name_en="Yueshengshi monthly active", unit="人",
               target=1_200_000, department="市政数局", plan_item="(二) 月均活跃用户数超过120万"),
        KpiDef(key="service.haochaping_active_rate", name_zh="好差评主动评价率",
               name_en="Active evaluation rate", unit="%", target=85, department="市政数局",
               plan_item="(九)1 主动评价率85%以上"),
        KpiDef(key="service.bad_review_fix_rate", name_zh="差评整改率", name_en="Bad reviews rectified",
               unit="%", target=100, department="市政数局", plan_item="(九)1 差评整改率100%"),
        KpiDef(key="service.one_thing", name_zh="高频一件事", name_en="High-frequency one-thing services",
               unit="个", target=500, department="市政数局", plan_item="(一) 累计500个高频一件事"),
        KpiDef(key="service.tongban", name_zh="跨域通办事项", name_en="Cross-region services", unit="项",
               target=800, department="市政数局", plan_item="(四) 跨省通办、省内通办"),
    )),
    Theme(key="ecology", name_zh="生态环境保护", name_en="Ecological protection", owner="市生态环境局",
          by_county=("eco.aqi", "eco.pm2_5"),
          left=("air_quality", "water_levels"), right=("video_point", "fire_risk"), map_measure="aqi", kpis=(
        KpiDef(key="eco.aqi", name_zh="端州区AQI", name_en="Duanzhou AQI", target=100, target_kind="max",
               department="市生态环境局", region="441202"),
        KpiDef(key="eco.pm2_5", name_zh="端州区PM2.5", name_en="Duanzhou PM2.5", unit="µg/m³", target=35,
               target_kind="max", department="市生态环境局", region="441202"),
        KpiDef(key="eco.aqi", name_zh="怀集县AQI", name_en="Huaiji AQI", target=100, target_kind="max",
               department="市生态环境局", region="441224"),
        KpiDef(key="eco.aqi", name_zh="四会市AQI", name_en="Sihui AQI", target=100, target_kind="max",
               department="市生态环境局", region="441284"),
    )),
)


def theme(key: str) -> Theme:
    """The theme with that key; the first theme when the key is unknown."""
    return next((t for t in THEMES if t.key == key), THEMES[0])
