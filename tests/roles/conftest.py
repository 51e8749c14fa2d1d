"""Fixtures of the roles tests."""

from tests.alerts.receiver import receiver

__all__ = ["receiver"]
