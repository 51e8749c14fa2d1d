"""Case time limits: the configuration loads and covers every subcategory the simulator reports."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from feeds.simulator import SUBCATEGORIES
from topics.cases import CaseLimits, case_limits


def test_every_simulated_subcategory_has_a_limit_and_domain_examples_hold() -> None:
    limits = case_limits()
    missing = {s for subs in SUBCATEGORIES.values() for s in subs} - set(limits.limits)
    assert not missing
    assert limits.hours("暴露垃圾") == 4 and limits.hours("道路不洁") == 5  # DOMAIN.md §4 examples
    assert limits.hours("没有这一类") == limits.default_hours


def test_a_zero_limit_is_refused() -> None:
    with pytest.raises(ValidationError, match="greater than 0"):
        CaseLimits(limits={"暴露垃圾": 0})
