"""Panel types: the registry, the shell with freshness, and the built-in renderers."""

from dashboard.panels.base import PanelInput, PanelOutput, PanelRegistry, PanelType, freshness, shell
from dashboard.panels.builtin import BUILTIN_PANELS, kpi_cards, register_builtin_panels

__all__ = ["BUILTIN_PANELS", "PanelInput", "PanelOutput", "PanelRegistry", "PanelType", "freshness", "kpi_cards",
           "register_builtin_panels", "shell"]
