"""Hooks the stocksim pytest plugin offers to other plugins (the demo uses them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from sim.simulation import Simulation


def pytest_stocksim_simulation(simulation: "Simulation", item: pytest.Item) -> None:
    """Called with each scenario's fresh simulation, before its first step: listen to its timeline,
    add processes to its clock."""
