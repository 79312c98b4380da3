"""The warehouse, prerequisite and binding specs can fail: real scenarios against systems that ignore a setting.

Those scenarios set the connector's and the CRM's settings in their own Given
steps, so a command-line override would be overwritten. Instead each test
loads a small plugin (``-p``) that makes the target drop one setting on its
way to the fakes: a connector that ignores its warehouse selection, a CRM
that ignores "stock editing", and so on. The scenario must then fail, saying
what it saw.
"""

from __future__ import annotations

import pytest

from sim.cases import FEATURES_DIR

pytest_plugins = ["pytester"]

IGNORING_PLUGIN = '''
"""A target whose connector ignores {connector!r} and whose CRM ignores the site settings {site!r}."""
from sim.targets import HttpTarget

_configure_connector = HttpTarget.configure_connector
_configure_crm = HttpTarget.configure_crm


def configure_connector(self, settings):
    _configure_connector(self, {{k: v for k, v in settings.items() if k not in {connector!r}}})


def configure_crm(self, settings):
    sites = {{code: {{k: v for k, v in site.items() if k not in {site!r}}}
             for code, site in settings.get("sites", {{}}).items()}}
    _configure_crm(self, {{**settings, **({{"sites": sites}} if sites else {{}})}})


HttpTarget.configure_connector = configure_connector
HttpTarget.configure_crm = configure_crm
'''


def run_ignoring(pytester: pytest.Pytester, scenario: str, connector: tuple[str, ...] = (),
                 site: tuple[str, ...] = ()) -> pytest.RunResult:
    """Run the scenarios matching ``-k scenario`` against a target that drops the named settings."""
    pytester.makepyfile(ignoring_target=IGNORING_PLUGIN.format(connector=set(connector), site=set(site)))
    return pytester.runpytest_subprocess(str(FEATURES_DIR), "-p", "no:cacheprovider", "-p", "no:randomly",
                                         "-p", "ignoring_target", "-k", scenario)


def test_the_plugin_that_ignores_nothing_leaves_the_scenarios_green(pytester: pytest.Pytester) -> None:
    result = run_ignoring(pytester, "one_warehouse_selected or synchronization_is_off or binding_by_sku")
    result.assert_outcomes(passed=3)


def test_a_connector_that_ignores_its_settings_fails_the_warehouse_prerequisite_and_binding_specs(
        pytester: pytest.Pytester) -> None:
    """One run, three settings dropped, three scenarios failing each for its own reason."""
    result = run_ignoring(pytester, "one_warehouse_selected or synchronization_is_off or binding_by_sku",
                          connector=("stores_for_uploading", "sync", "bind_by_sku"))
    result.assert_outcomes(failed=3)
    # The warehouse selection ignored: the shop takes the offer's total, not the "spb" warehouse's 4.
    result.stdout.fnmatch_lines(["*the shop stock is 10, expected 4*"])
    # Sync off ignored: the CRM's write-off reaches the shop at the next stock sync.
    result.stdout.fnmatch_lines(["*the shop stock changed to 8 at 0:15:00*expected it to stay 10 for 30 minutes*"])
    # Binding by SKU ignored: the product is found by id, before the CRM knows its new SKU.
    result.stdout.fnmatch_lines(["*the shop stock changed to 8 at 0:15:00*before the CRM's next catalog import*"])


def test_a_crm_that_ignores_stock_editing_off_fails_the_prerequisite_specs(pytester: pytest.Pytester) -> None:
    """Still keeping the stock, the CRM writes a manager's order off and ignores the catalog's quantities."""
    result = run_ignoring(pytester, "stock_editing_is_off", site=("stock_editing",))
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*the CRM stock is 8, expected 10*"])
    result.stdout.fnmatch_lines(["*the next catalog import*left the CRM stock at 0, expected 4*"])
