"""Panel types: the registry, the shell with freshness, and the built-in renderers (one module per family)."""

from dashboard.panels.base import PanelInput, PanelOutput, PanelRegistry, PanelType, freshness, shell
from dashboard.panels.builtin import BUILTIN_PANELS, kpi_cards, register_feed_panels
from dashboard.panels.cases import register_case_panels
from dashboard.panels.environment import register_environment_panels
from dashboard.panels.evaluation import register_evaluation_panels
from dashboard.panels.kpis import register_kpi_panels
from dashboard.panels.measures import register_measure_panels
from dashboard.panels.lists import register_list_panels
from dashboard.panels.plan import register_plan_panels


def register_builtin_panels(registry: PanelRegistry) -> None:
    """Register every built-in panel type through the same call an addition uses."""
    register_feed_panels(registry)
    register_kpi_panels(registry)
    register_plan_panels(registry)
    register_environment_panels(registry)
    register_case_panels(registry)
    register_measure_panels(registry)
    register_list_panels(registry)
    register_evaluation_panels(registry)


__all__ = ["BUILTIN_PANELS", "PanelInput", "PanelOutput", "PanelRegistry", "PanelType", "freshness", "kpi_cards",
           "register_builtin_panels", "shell"]
