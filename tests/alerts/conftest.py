"""Fixtures of the alert tests."""

from tests.alerts.receiver import receiver

__all__ = ["receiver"]
