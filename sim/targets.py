"""Targets: the systems a scenario runs against, behind one interface.

A target is two base URLs with credentials plus the control contract: reset,
set the simulated time, run a connector job now, run the CRM's catalog import
now, place a site checkout, configure either side. The embedded fakes offer it
in-process; the same HTTP routes serve a standalone ``stocksim serve`` or a
docker stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from fakes.base import ADMIN_PREFIX, OutgoingHttp, OutgoingHttpError, dump_json, load_json
from fakes.clock import Clock


#: The header the docker stack's must-use plugin checks on every control call;
#: the fakes ignore it (they listen on loopback only).
CONTROL_TOKEN_HEADER = "X-Stocksim-Token"


class TargetError(RuntimeError):
    """A control call was refused: the target is misconfigured or broken."""


#: --stocksim-target=docker: option name -> (environment variable giving its default, default).
DOCKER_OPTIONS: dict[str, tuple[str, str | None]] = {
    "crm_url": ("STOCKSIM_CRM_URL", "http://localhost:8000"),
    "shop_url": ("STOCKSIM_SHOP_URL", "http://localhost:8080"),
    "consumer_key": ("WC_CK", "ck_stocksim_docker_0000000000000000000000000000"),
    "consumer_secret": ("WC_CS", "cs_stocksim_docker_0000000000000000000000000000"),
    "control_token": ("STOCKSIM_CONTROL_TOKEN", None),
    "crm_internal_url": ("STOCKSIM_CRM_INTERNAL_URL", None),
    "shop_internal_url": ("STOCKSIM_SHOP_INTERNAL_URL", None),
    "compose_project": ("COMPOSE_PROJECT_NAME", None),
}
DOCKER_HELP = {
    "crm_url": "the fake CRM's URL from here",
    "shop_url": "the WordPress URL from here (WP_HOME: the REST signatures are checked against it)",
    "consumer_key": "the WooCommerce REST consumer key",
    "consumer_secret": "the WooCommerce REST consumer secret",
    "control_token": "the X-Stocksim-Token the mu-plugin's /__stocksim/ routes require",
    "crm_internal_url": "the CRM's URL as the plugin reaches it (default: --crm-url)",
    "shop_internal_url": "the shop's URL as the CRM reaches it for simla.xml (default: --shop-url)",
    "compose_project": "check this compose project's containers are healthy and attach their logs to "
                       "failures (needs the 'docker' extra and an engine; default: none, no engine used)",
}


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
    """Drives a CRM and a shop through their control routes over HTTP.

    The control calls are the simulator's own (no official client has them): they go on
    urllib3's keep-alive pools (``OutgoingHttp``); a scenario makes one per job run and checkout."""

    creds: Credentials
    control_token: str | None = None
    http: OutgoingHttp = field(default_factory=OutgoingHttp)

    def __post_init__(self) -> None:
        self.control_headers = {"Content-Type": "application/json"}
        if self.control_token:
            self.control_headers[CONTROL_TOKEN_HEADER] = self.control_token

    def _control(self, base: str, method: str, path: str, body: Any = None) -> Any:
        url = f"{base}{ADMIN_PREFIX}{path}"
        try:
            status, content = self.http.request(method, url, None if body is None else dump_json(body),
                                                self.control_headers)
        except OutgoingHttpError as exc:
            raise TargetError(f"{method} {url}: no answer: {exc}") from None
        text = content[:500].decode("utf-8", "replace")
        if status >= 400:
            raise TargetError(f"{method} {url} -> {status}: {text}")
        try:
            return load_json(content)
        except ValueError:
            raise TargetError(f"{method} {url} -> {status}: not JSON: {text}") from None

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

    def add_fault(self, system: str, rule: dict[str, Any]) -> dict[str, Any]:
        """Add a fault rule (docs/admin-api.md, Faults) to the CRM or the shop; answers the rule as stored.

        Only the CRM is always our fake: a real WordPress serves no fault routes."""
        control = {"crm": self.crm_control, "shop": self.shop_control}[system]
        return control("POST", "/faults", rule)

    def faults(self, system: str) -> list[dict[str, Any]]:
        """The rules of one side with their hits so far."""
        control = {"crm": self.crm_control, "shop": self.shop_control}[system]
        return control("GET", "/faults")["faults"]

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
        self.http.close()
        self.fakes.stop()


@dataclass
class DockerStack(HttpTarget):
    """A real WordPress + WooCommerce + woo-retailcrm (docker-compose.yml) and the fake CRM.

    The simulator reaches both from the docker host (``creds`` URLs), but the
    plugin and the CRM reach each other inside the compose network, so the
    wiring uses the in-network URLs. The shop's ``PUT /__stocksim/clock`` is
    accepted and ignored by the stack: WordPress runs on the wall clock.
    """

    crm_internal_url: str | None = None
    shop_internal_url: str | None = None
    #: The compose project whose containers must be healthy (needs the ``docker``
    #: extra and an engine); None when nothing should talk to the engine.
    compose_project: str | None = None

    def wire(self) -> None:
        crm_url = self.crm_internal_url or self.creds.crm_url
        shop_url = self.shop_internal_url or self.creds.shop_url
        self.shop_control("PUT", "/connector/settings", {"api_url": crm_url})
        self.configure_crm({"sites": {self.creds.site: {"yml_url": f"{shop_url}/simla.xml"}}})

    def check_health(self) -> None:
        if self.compose_project:
            unhealthy = stack_problems(self.compose_project)
            if unhealthy:
                raise TargetError(f"compose project {self.compose_project!r} is not ready: " + "; ".join(unhealthy))

    def logs(self, tail: int = 80) -> str:
        """The last lines of every container of the stack, for a failing scenario's report."""
        return stack_logs(self.compose_project, tail) if self.compose_project else ""

    def close(self) -> None:
        self.http.close()


def docker_client() -> Any:
    """A docker SDK client that answered a ping; raises ``TargetError`` saying why not."""
    try:
        import docker  # the optional extra "docker": only the real stack needs the engine
    except ImportError:
        docker = None
    # Without the SDK, run from the repository, `import docker` finds the repository's docker/ folder (files of
    # the compose stack, a namespace package): that is "not installed" too, not an engine error.
    if docker is None or not hasattr(docker, "from_env"):
        raise TargetError("the docker SDK is not installed: pip install 'stocksim[docker]'") from None
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:  # the SDK raises DockerException, requests' errors or OSError
        raise TargetError(f"no docker engine answers: {exc}") from None
    return client


def _project_containers(client: Any, project: str) -> list[Any]:
    return client.containers.list(all=True, filters={"label": f"com.docker.compose.project={project}"})


def _container_problem(container: Any) -> str | None:
    state = container.attrs.get("State", {})
    service = container.labels.get("com.docker.compose.service", container.name)
    health = (state.get("Health") or {}).get("Status")
    if service == "wpcli":  # the one-shot bootstrap: it must have finished cleanly
        finished = state.get("Status") == "exited" and state.get("ExitCode") == 0
        return None if finished else f"{service}: {state.get('Status')}, exit code {state.get('ExitCode')}"
    if state.get("Status") != "running":
        return f"{service}: {state.get('Status')}"
    if health not in (None, "healthy"):
        return f"{service}: {health}"
    return None


def stack_problems(project: str, required: Iterable[str] = ("db", "wordpress", "crm")) -> list[str]:
    """What keeps the stack from serving scenarios; empty when every service is up and healthy."""
    containers = _project_containers(docker_client(), project)
    services = {c.labels.get("com.docker.compose.service") for c in containers}
    problems = [f"{name}: no container" for name in required if name not in services]
    return problems + [p for p in map(_container_problem, containers) if p]


def stack_logs(project: str, tail: int = 80) -> str:
    try:
        containers = _project_containers(docker_client(), project)
    except TargetError as exc:
        return f"(no logs: {exc})"
    parts = []
    for container in containers:
        text = container.logs(tail=tail).decode("utf-8", "replace")
        parts.append(f"--- {container.labels.get('com.docker.compose.service', container.name)} (last {tail} lines)\n{text}")
    return "\n".join(parts)
