"""The fake CRM's rate limit: 10 requests/s per API key on a sliding 1 s window,
measured on an injected monotonic clock (a fake one here: no test sleeps)."""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.test import Client, TestResponse

from fakes.base import RateLimiter
from fakes.crm import CONNECTOR_KEY, MANAGER_KEY, CrmApp

STORES = "/api/v5/reference/stores"
REFUSED = {"success": False, "errorMsg": "Rate limit exceeded"}


class FakeMonotonic:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def tick() -> FakeMonotonic:
    return FakeMonotonic()


def limited_app(tick: FakeMonotonic, limit: int = 10) -> Client:
    return Client(CrmApp(rate_limit=limit, monotonic=tick))


def get(client: Client, key: str = CONNECTOR_KEY, path: str = STORES) -> TestResponse:
    return client.get(path, headers={"X-API-KEY": key})


def statuses(client: Client, count: int, key: str = CONNECTOR_KEY) -> list[int]:
    return [get(client, key).status_code for _ in range(count)]


def test_off_by_default(tick: FakeMonotonic) -> None:
    client = Client(CrmApp(monotonic=tick))
    assert statuses(client, 50) == [200] * 50


def test_the_eleventh_request_within_a_second_gets_503(tick: FakeMonotonic) -> None:
    client = limited_app(tick)
    assert statuses(client, 10) == [200] * 10
    refused = get(client)
    assert (refused.status_code, refused.get_json()) == (503, REFUSED)
    assert refused.headers["Content-Type"] == "application/json; charset=utf-8"
    assert "Retry-After" not in refused.headers


def test_the_window_slides(tick: FakeMonotonic) -> None:
    client = limited_app(tick, limit=3)
    for offset in (0.0, 0.4, 0.8):
        tick.now = 5000 + offset
        assert get(client).status_code == 200
    tick.now = 5000.99
    assert get(client).status_code == 503  # refused requests do not count ...
    tick.now = 5001.0
    assert get(client).status_code == 200  # ... so the first slot frees one second after its request
    assert get(client).status_code == 503
    tick.now = 5001.8
    assert statuses(client, 3) == [200, 200, 503]


def test_each_key_has_its_own_window_and_any_path_counts(tick: FakeMonotonic) -> None:
    client = limited_app(tick, limit=2)
    assert get(client, path="/api/v5/nope").status_code == 404
    assert get(client, key="unknown").status_code == 403
    assert statuses(client, 2) == [200, 503]
    assert statuses(client, 3, MANAGER_KEY) == [200, 200, 503]
    form_key = client.post("/api/v5/orders/create", data={"apiKey": "unknown", "order": "{}"})
    assert form_key.status_code == 403  # the unknown key's second request: still within its limit
    assert client.get(f"{STORES}?apiKey=unknown").get_json() == REFUSED


def test_the_admin_plane_is_not_limited(tick: FakeMonotonic) -> None:
    client = limited_app(tick, limit=1)
    assert [client.get("/__stocksim/state").status_code for _ in range(5)] == [200] * 5


def test_admin_reads_and_sets_the_limit_and_reset_restores_it(tick: FakeMonotonic) -> None:
    client = limited_app(tick, limit=10)
    assert client.get("/__stocksim/settings").get_json()["rate_limit"] == 10
    updated = client.put("/__stocksim/settings", json={"rate_limit": 1, "auto_cancel_items": False})
    assert (updated.get_json()["rate_limit"], updated.get_json()["auto_cancel_items"]) == (1, False)
    assert statuses(client, 2) == [200, 503]
    assert client.put("/__stocksim/settings", json={"rate_limit": 0}).get_json()["rate_limit"] == 0
    assert statuses(client, 20) == [200] * 20
    client.put("/__stocksim/settings", json={"rate_limit": 1})
    assert client.post("/__stocksim/reset").status_code == 200
    assert client.get("/__stocksim/settings").get_json()["rate_limit"] == 10
    assert statuses(client, 11) == [200] * 10 + [503]


@pytest.mark.parametrize("patch", [{"rate_limit": -1}, {"rate_limit": 2.5}, {"rate_limit": True},
                                   {"rate_limit": 5, "auto_cancel_items": "yes"}])
def test_a_bad_patch_changes_nothing(tick: FakeMonotonic, patch: dict[str, Any]) -> None:
    client = limited_app(tick, limit=10)
    refused = client.put("/__stocksim/settings", json=patch)
    assert refused.status_code == 400 and "error" in refused.get_json()
    settings = client.get("/__stocksim/settings").get_json()
    assert (settings["rate_limit"], settings["auto_cancel_items"]) == (10, True)


def test_the_limiter_refuses_a_nonsense_limit() -> None:
    with pytest.raises(ValueError, match="rate_limit"):
        RateLimiter(-3)
