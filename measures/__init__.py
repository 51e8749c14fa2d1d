"""Measures: every figure the wall shows, defined once — derived from the stored raw data (stations, events,
devices) or reported by a business system through the KPI feed — and read by every panel, map, page and rule
through one registry (docs/measures.md). Above the store, below the dashboard."""

from measures.base import Measure, MeasureRegistry, Point
from measures.builtin import register_builtin_measures

__all__ = ["Measure", "MeasureRegistry", "Point", "register_builtin_measures"]
