"""Targets: the systems a scenario runs against, behind one interface.

A target is two base URLs with credentials plus the control contract: reset,
set the simulated time, run a connector job now, run the CRM's catalog import
now, place a site checkout, configure either side. The embedded fakes offer it
in-process; the same HTTP routes serve a standalone ``stocksim serve`` or a
docker stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import requests

from fakes.base import ADMIN_PREFIX, direct_session
from fakes.clock import Clock


class TargetError(RuntimeError):
    """A control call was refused: the target is misconfigured or broken."""


@dataclass
class Credentials:
    crm_url: str
    shop_url: str
    connector_key: str
    manager_key: str
    consumer_key: str
    consumer_secret: str
    site: str = "woo-shop"


@dataclass
class HttpTarget:
    """Drives a CRM and a shop through their control routes over HTTP."""

    creds: Credentials
    session: requests.Session = field(default_factory=direct_session)

    def _control(self, base: str, method: str, path: str, body: Any = None) -> Any:
        response = self.session.request(method, f"{base}{ADMIN_PREFIX}{path}", json=body, timeout=30)
        if response.status_code >= 400:
            raise TargetError(f"{method} {base}{ADMIN_PREFIX}{path} -> {response.status_code}: {response.text[:500]}")
        return response.json()

    def crm_control(self, method: str, path: str, body: Any = None) -> Any:
        return self._control(self.creds.crm_url, method, path, body)

    def shop_control(self, method: str, path: str, body: Any = None) -> Any:
        return self._control(self.creds.shop_url, method, path, body)

    # -- the control contract ---------------------------------------------
    def reset(self) -> None:
        self.crm_control("POST", "/reset")
        self.shop_control("POST", "/reset")
        self.wire()

    def wire(self) -> None:
        """Point the connector at the CRM and the CRM's catalog import at the shop."""
        self.shop_control("PUT", "/connector/settings", {"api_url": self.creds.crm_url})
        self.configure_crm({"sites": {self.creds.site: {"yml_url": f"{self.creds.shop_url}/simla.xml"}}})

    def follow_clock(self, now: Callable[[], float]) -> None:
        self._now = now

    def sync_time(self) -> None:
        body = {"now": self._now()}
        self.crm_control("PUT", "/clock", body)
        self.shop_control("PUT", "/clock", body)

    def run_job(self, job: str) -> dict[str, Any]:
        self.sync_time()
        return self.shop_control("POST", f"/connector/jobs/{job}")

    def catalog_import(self) -> dict[str, Any]:
        self.sync_time()
        return self.crm_control("POST", "/catalog-import", {"site": self.creds.site})

    def checkout(self, order: dict[str, Any]) -> dict[str, Any]:
        self.sync_time()
        return self.shop_control("POST", "/checkout", order)

    def configure_crm(self, settings: dict[str, Any]) -> None:
        self.crm_control("PUT", "/settings", settings)

    def configure_connector(self, settings: dict[str, Any]) -> None:
        self.shop_control("PUT", "/connector/settings", settings)


class EmbeddedFakes(HttpTarget):
    """Both fakes on loopback threads of this process, sharing one ``Clock``.

    Time reaches the fakes by reference, so no clock call crosses HTTP.
    """

    def __init__(self) -> None:
        from fakes.crm import SITE_CODE
        from sim.serve import start_fakes

        self.clock = Clock()
        self.fakes = start_fakes(clock=self.clock)
        creds = self.fakes.credentials()
        super().__init__(
            Credentials(
                crm_url=creds["crm"]["url"],
                shop_url=creds["shop"]["url"],
                connector_key=creds["crm"]["api_key"],
                manager_key=creds["crm"]["manager_api_key"],
                consumer_key=creds["shop"]["consumer_key"],
                consumer_secret=creds["shop"]["consumer_secret"],
                site=SITE_CODE,
            )
        )

    def follow_clock(self, now: Callable[[], float]) -> None:
        self.clock.follow(now)

    def sync_time(self) -> None:
        pass

    def close(self) -> None:
        self.fakes.stop()
