"""The clock's own rules, without any server."""

from __future__ import annotations

import pytest

from sim.simulation import Schedule, scenario_seed
from sim.timeline import Event, Timeline, clock_text


def test_schedule_defaults_are_the_plugin_and_crm_cadences() -> None:
    s = Schedule()
    assert (s.inventories_interval, s.history_interval, s.icml_interval, s.catalog_import_interval) == (
        900, 300, 10_800, 14_400)
    assert s.cron_lateness == 0


def test_schedule_from_pairs_overrides_and_rejects_nonsense() -> None:
    assert Schedule.from_pairs({"inventories_interval": "1200"}).inventories_interval == 1200
    with pytest.raises(ValueError, match="unknown schedule parameter"):
        Schedule.from_pairs({"inventory_interval": "60"})
    with pytest.raises(ValueError, match="number of simulated seconds"):
        Schedule.from_pairs({"history_interval": "five"})
    with pytest.raises(ValueError, match="greater than 0"):
        Schedule.from_pairs({"history_interval": "0"})


def test_scenario_seed_is_stable_and_differs_by_name() -> None:
    assert scenario_seed("C1") == scenario_seed("C1")
    assert scenario_seed("C1") != scenario_seed("C2")


def test_timeline_renders_both_systems_per_event() -> None:
    timeline = Timeline()
    timeline.record(Event(0, "sim", "sim.start", "start", {"crm": {"SKU-1": 10}, "woo": {"SKU-1": 10}}))
    timeline.record(Event(900, "connector", "sync.inventories", "ok", {"crm": {"SKU-1": 8}, "woo": {"SKU-1": 8}}))
    text = timeline.render()
    assert "0:15:00" in text and "sync.inventories" in text
    assert text.splitlines()[-1].split()[3:5] == ["8", "8"]
    assert clock_text(14_400) == "4:00:00"


def test_a_reseeded_faker_repeats_its_data() -> None:
    from sim.simulation import seeded_faker

    def draw(seed: int) -> tuple[str, str]:
        faker = seeded_faker(seed)
        return faker.name(), faker.bothify("SKU-####")

    assert draw(7) == draw(7)
    assert draw(8) != draw(7)
