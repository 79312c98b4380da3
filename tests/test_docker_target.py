"""The docker target without a docker engine, and with one when it answers.

1. Static checks of docker-compose.yml and docker/wp/ (YAML, project rules, ``php -l``, and a full
   ``docker-compose config -q`` with docker-compose 1.29.2 installed from PyPI into a throwaway venv).
2. The docker target's code paths over HTTP: ``stocksim serve`` stands in for the stack, and the real
   feature scenarios run against it with ``--stocksim-target=docker``.
3. The real stack's suite, skipped with the reason when no engine answers or the stack is not up.
"""

from __future__ import annotations

import fcntl
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import IO, Any, Iterator

import pytest
import requests

from fakes.crm import CONNECTOR_KEY, SITE_CODE
from fakes.shop import DEFAULT_CONNECTOR_SETTINGS
from sim.pytest_plugin import FAKES_ONLY, FAKES_ONLY_REASON
from sim.targets import CONTROL_TOKEN_HEADER, DOCKER_OPTIONS, Credentials, DockerStack, EmbeddedFakes, TargetError, docker_client

yaml = pytest.importorskip("yaml", reason="PyYAML is in the 'test' extra: pip install -e '.[test]'")

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
WP_DIR = ROOT / "docker" / "wp"
MU_PLUGIN = WP_DIR / "mu-plugins" / "stocksim-control.php"
ENV_EXAMPLE = ROOT / ".env.example"
FEATURES = ROOT / "features"
SETTINGS_OPTION = "woocommerce_integration-retailcrm_settings"
CRON_HOOKS = ("retailcrm_inventories", "retailcrm_history", "retailcrm_icml")
#: Keys docker-compose 1.29 (and so the common validators) rejects.
NEWER_COMPOSE_KEYS = ("include", "develop", "start_interval", "required")
DOCKER_COMPOSE = "docker-compose==1.29.2"
INSTALL_TIMEOUT = 170.0
SCENARIOS_TIMEOUT = 300.0
STARTUP_TIMEOUT = 20.0
PLACEHOLDER = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def env_example() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines() if line and not line.startswith("#"))
    return {name.strip(): value.strip() for name, value in pairs}


def default_of(text: str) -> str:
    """``image: mariadb:${MARIADB_TAG:-11.4.5}`` -> ``mariadb:11.4.5``: what compose renders without a .env."""
    return PLACEHOLDER.sub(lambda m: m.group(2) or "", text)


def all_keys(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from all_keys(value)
    elif isinstance(node, list):
        for value in node:
            yield from all_keys(value)


# -- 1. static validation -------------------------------------------------------------------------------
def test_every_image_is_pinned_to_a_version_tag() -> None:
    for name, service in compose()["services"].items():
        image = default_of(service["image"])
        repo, _, tag = image.rpartition(":")
        assert repo and tag and tag != "latest", f"{name}: image {service['image']!r} is not pinned by tag"
        if "build" not in service:  # images we pull must name a release, not a moving major tag
            assert re.search(r"\d+\.\d+", tag), f"{name}: tag {tag!r} names no release"
    assert default_of(compose()["services"]["wordpress"]["image"]).startswith("wordpress:6.8")


def test_compose_keeps_to_what_docker_compose_1_29_accepts() -> None:
    data = compose()
    newer = sorted(set(all_keys(data)) & set(NEWER_COMPOSE_KEYS))
    assert not newer, f"keys docker-compose 1.29 rejects: {newer}"
    code = [line for line in COMPOSE_FILE.read_text().splitlines() if not line.lstrip().startswith("#")]
    assert not [line for line in code if "!reset" in line or "!override" in line]


def test_wordpress_services_are_wired_for_the_simulator() -> None:
    services = compose()["services"]
    assert set(services) == {"db", "wordpress", "wpcli", "crm"}
    wpcli = services["wpcli"]
    assert wpcli["user"] == "33:33"
    assert wpcli["entrypoint"] == ["sh", "/stocksim/bootstrap.sh"]
    assert default_of(wpcli["environment"]["RETAILCRM_PLUGIN_VERSION"]) == "5.0.14"
    assert re.fullmatch(r"\d+\.\d+\.\d+", default_of(wpcli["environment"]["WC_VERSION"]))
    assert wpcli["environment"]["CRM_URL"] == "http://crm:8000"
    assert wpcli["environment"]["CRM_API_KEY"] == CONNECTOR_KEY
    extra = services["wordpress"]["environment"]["WORDPRESS_CONFIG_EXTRA"]
    assert "define('DISABLE_WP_CRON', true);" in extra
    mount = "./docker/wp/mu-plugins:/var/www/html/wp-content/mu-plugins:ro"
    assert mount in services["wordpress"]["volumes"] and mount in wpcli["volumes"]
    for name in ("db", "wordpress", "crm"):
        assert services[name]["healthcheck"]["test"], f"{name} has no healthcheck"
    assert services["wordpress"]["depends_on"]["db"]["condition"] == "service_healthy"


def test_the_fake_crm_service_is_stocksim_serve() -> None:
    crm = compose()["services"]["crm"]
    assert crm["build"] == "."
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["stocksim", "serve"]' in dockerfile
    cmd = ["--host", "0.0.0.0", "--crm-port", "8000", "--shop-port", "8001", "--json"]
    assert f"CMD {json.dumps(cmd)}" in dockerfile
    assert crm["command"][: len(cmd)] == cmd and crm["command"][-2] == "--rate-limit"


def test_env_example_names_every_variable() -> None:
    example = env_example()
    used = {m.group(1) for m in PLACEHOLDER.finditer(COMPOSE_FILE.read_text())}
    assert used - set(example) == set(), "compose variables missing from .env.example"
    assert {env for env, _ in DOCKER_OPTIONS.values()} - set(example) == set(), "simulator variables missing"
    # WP_HOME is the shop URL the REST client signs: it must be the published WordPress port.
    assert example["STOCKSIM_SHOP_URL"].endswith(":" + example["WP_PORT"])
    assert example["STOCKSIM_CRM_URL"].endswith(":" + example["CRM_PORT"])
    assert example["RETAILCRM_PLUGIN_VERSION"] == "5.0.14"
    for name, (env, default) in DOCKER_OPTIONS.items():
        if env in ("WC_CK", "WC_CS"):  # the simulator's defaults are the stack's defaults
            assert example[env] == default
            assert default_of(compose()["services"]["wpcli"]["environment"][env]) == default


def test_bootstrap_writes_the_plugin_option_and_the_baseline() -> None:
    bootstrap = (WP_DIR / "bootstrap.sh").read_text()
    assert f"wp option update {SETTINGS_OPTION}" in bootstrap
    for needle in ('install_pinned woocommerce "$WC_VERSION"', 'install_pinned woo-retailcrm "$RETAILCRM_PLUGIN_VERSION"',
                   "woocommerce_manage_stock yes", "woocommerce_currency RUB", "woocommerce_coming_soon no", "rewrite structure '/%postname%/'", "make-key.php",
                   "stocksim_save_baseline()"):
        assert needle in bootstrap
    assert subprocess.run(["sh", "-n", str(WP_DIR / "bootstrap.sh")], capture_output=True).returncode == 0
    make_key = (WP_DIR / "make-key.php").read_text()
    assert "getenv('WC_CK')" in make_key and "wc_api_hash($ck)" in make_key


def test_plugin_settings_json_matches_what_the_fake_connector_reads() -> None:
    raw = (WP_DIR / "retailcrm-settings.json").read_text()
    settings = json.loads(raw.replace("@CRM_URL@", "http://crm:8000").replace("@CRM_API_KEY@", CONNECTOR_KEY))
    assert settings["api_url"] == "http://crm:8000" and settings["api_key"] == CONNECTOR_KEY
    shared = set(settings) & set(DEFAULT_CONNECTOR_SETTINGS) - {"api_url"}
    assert {k: settings[k] for k in shared} == {k: DEFAULT_CONNECTOR_SETTINGS[k] for k in shared}


def test_mu_plugin_serves_the_control_contract_the_target_uses() -> None:
    php = MU_PLUGIN.read_text()
    assert f"'{SETTINGS_OPTION}'" in php
    for hook in CRON_HOOKS:
        assert f"'{hook}'" in php, f"the mu-plugin does not run {hook}"
    for route in ("connector/jobs/", "'connector/settings'", "'checkout'", "'reset'", "'clock'", "'health'"):
        assert route in php
    for hook in ("woocommerce_checkout_order_created", "woocommerce_checkout_order_processed"):
        assert f"do_action('{hook}'" in php
    assert "set_created_via('checkout')" in php
    assert "HTTP_" + CONTROL_TOKEN_HEADER.upper().replace("-", "_") in php
    assert "getenv('STOCKSIM_CONTROL_TOKEN')" in php


@pytest.mark.parametrize("script", [MU_PLUGIN, WP_DIR / "make-key.php"], ids=lambda p: p.name)
def test_php_files_parse(script: Path) -> None:
    php = shutil.which("php")
    if php is None:
        pytest.skip("php is not installed (apt-get install -y php-cli): PHP syntax not checked")
    result = subprocess.run([php, "-l", str(script)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def compose_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "stocksim" / "docker-compose-1.29.2"


@pytest.fixture(scope="session")
def docker_compose_v1() -> Path:
    """docker-compose 1.29.2 in a venv cached under ~/.cache/stocksim, installed once per machine.

    ``STOCKSIM_DOCKER_COMPOSE`` may name an existing docker-compose 1.x executable instead.
    PyYAML 5.4.1 (its pin) does not build under Cython 3, hence the constraint. A file lock
    keeps parallel workers (pytest-xdist) from installing it twice at once.
    """
    given = os.environ.get("STOCKSIM_DOCKER_COMPOSE")
    if given:
        return Path(given)
    home = compose_cache()
    executable = home / "venv" / "bin" / "docker-compose"
    home.parent.mkdir(parents=True, exist_ok=True)
    with open(home.parent / "docker-compose.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not executable.exists():
            install_docker_compose(home)
    return executable


def install_docker_compose(home: Path) -> None:
    shutil.rmtree(home, ignore_errors=True)  # a partial install from an interrupted run
    home.mkdir(parents=True)
    constraints = home / "constraints.txt"
    constraints.write_text("cython<3\n")
    subprocess.run([sys.executable, "-m", "venv", str(home / "venv")], check=True, timeout=120)
    env = {**os.environ, "PIP_CONSTRAINT": str(constraints), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    try:
        result = subprocess.run([str(home / "venv" / "bin" / "pip"), "install", "-q", DOCKER_COMPOSE],
                                capture_output=True, text=True, env=env, timeout=INSTALL_TIMEOUT)
    except subprocess.TimeoutExpired:
        shutil.rmtree(home, ignore_errors=True)
        pytest.fail(f"installing {DOCKER_COMPOSE} from PyPI took over {INSTALL_TIMEOUT:.0f} s: is PyPI reachable?")
    if result.returncode != 0:
        shutil.rmtree(home, ignore_errors=True)
        pytest.fail(f"installing {DOCKER_COMPOSE} from PyPI failed (no network? CI has PyPI):\n"
                    + "\n".join((result.stdout + result.stderr).splitlines()[-15:]))


def run_compose_config(executable: Path, env_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # Only PATH and HOME from outside, so a developer's exported variables cannot change the result.
    env = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}
    return subprocess.run([str(executable), "--env-file", str(env_file), "-f", str(COMPOSE_FILE), "config", *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)


def test_docker_compose_config_accepts_the_file(docker_compose_v1: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    plain = run_compose_config(docker_compose_v1, empty, "-q")
    assert plain.returncode == 0, plain.stderr
    rendered = run_compose_config(docker_compose_v1, ENV_EXAMPLE)
    assert rendered.returncode == 0, rendered.stderr
    services = yaml.safe_load(rendered.stdout)["services"]
    example = env_example()
    assert services["wordpress"]["image"] == f"wordpress:{example['WP_TAG']}"
    assert services["wpcli"]["environment"]["WC_VERSION"] == example["WC_VERSION"]
    assert services["wordpress"]["environment"]["STOCKSIM_CONTROL_TOKEN"] == example["STOCKSIM_CONTROL_TOKEN"]
    assert services["wordpress"]["environment"]["WP_URL"] == example["STOCKSIM_SHOP_URL"]


# -- 2. the docker target's code paths, against `stocksim serve` standing in for the stack ------------------
class ServedFakes:
    """``python -m sim.serve --json --rate-limit 0``: the stack's two URLs, out of process like docker's."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "sim.serve", "--json", "--rate-limit", "0"], cwd=ROOT,
                                     text=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        lines: queue.Queue[str] = queue.Queue()
        assert self.proc.stdout is not None
        threading.Thread(target=self._pump, args=(self.proc.stdout, lines), daemon=True).start()
        try:
            self.creds = json.loads(lines.get(timeout=STARTUP_TIMEOUT))
        except queue.Empty:
            self.stop()
            pytest.fail(f"stocksim serve printed nothing within {STARTUP_TIMEOUT} s")

    @staticmethod
    def _pump(stream: IO[str], lines: queue.Queue[str]) -> None:
        for line in stream:
            lines.put(line)

    def target_args(self) -> list[str]:
        crm, shop = self.creds["crm"], self.creds["shop"]
        # Every option explicit (none empty-valued but the project), so the environment cannot redirect the run.
        return ["--stocksim-target=docker", "--crm-url", crm["url"], "--shop-url", shop["url"],
                "--consumer-key", shop["consumer_key"], "--consumer-secret", shop["consumer_secret"],
                "--control-token", "token-the-fakes-ignore", "--crm-internal-url", crm["url"],
                "--shop-internal-url", shop["url"], "--compose-project", ""]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture(scope="module")
def served() -> Iterator[ServedFakes]:
    fakes = ServedFakes()
    yield fakes
    fakes.stop()


#: The documented cases (W1..C3 and the mode-C preamble): what the docker target must run.
DOCUMENTED_CASES = "W1 or W2 or W3 or C1 or C2 or C3 or C_preamble"


def test_feature_scenarios_pass_through_the_docker_target(served: ServedFakes, tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(FEATURES), "-q", "-rs", "-p", "no:cacheprovider", "-p", "no:xdist",
         "-p", "no:randomly", "-m", DOCUMENTED_CASES, f"--junitxml={junit}", *served.target_args()],
        cwd=ROOT, capture_output=True, text=True, timeout=SCENARIOS_TIMEOUT)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    cases = list(ET.parse(junit).getroot().iter("testcase"))
    skips = [c.find("skipped") for c in cases]
    # Every skip is a @fakes_only scenario, skipped with its reason; everything else passed.
    skip_messages = {s.get("message") for s in skips if s is not None and s.get("type") != "pytest.xfail"}
    assert len(cases) >= 10 and skip_messages == {FAKES_ONLY_REASON}


def test_stocksim_run_takes_the_docker_target(served: ServedFakes, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from sim.cli import main; sys.exit(main())", "run", "-k", "C1",
         "--report", str(tmp_path / "reports"), "--target", "docker",
         *[a for a in served.target_args() if a != "--stocksim-target=docker"]],
        cwd=ROOT, capture_output=True, text=True, timeout=SCENARIOS_TIMEOUT)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(r"^C1\s+-\s+passed\s+1\s", result.stdout, re.MULTILINE), result.stdout[-2000:]


def docker_stack(served: ServedFakes, **kwargs: Any) -> DockerStack:
    crm, shop = served.creds["crm"], served.creds["shop"]
    creds = Credentials(crm_url=crm["url"], shop_url=shop["url"], connector_key=crm["api_key"],
                        manager_key=crm["manager_api_key"], consumer_key=shop["consumer_key"],
                        consumer_secret=shop["consumer_secret"], site=SITE_CODE)
    return DockerStack(creds, **kwargs)


def test_docker_stack_wires_the_in_network_urls(served: ServedFakes) -> None:
    stack = docker_stack(served, control_token="secret", crm_internal_url="http://crm:8000",
                         shop_internal_url="http://wordpress")
    assert stack.control_headers[CONTROL_TOKEN_HEADER] == "secret"
    try:
        stack.reset()
        assert stack.shop_control("GET", "/connector/settings")["api_url"] == "http://crm:8000"
        assert stack.crm_control("GET", "/settings")["sites"][SITE_CODE]["yml_url"] == "http://wordpress/simla.xml"
    finally:
        # Put the served pair back as it was (their own URLs), for the other tests of this module.
        docker_stack(served).reset()
        stack.close()


def test_out_of_process_clocks_follow_the_simulation(served: ServedFakes) -> None:
    stack = docker_stack(served)
    stack.follow_clock(lambda: 4500.0)
    stack.run_job("history")
    for base in (stack.creds.crm_url, stack.creds.shop_url):
        assert requests.get(f"{base}/__stocksim/clock", timeout=10).json()["now"] == 4500.0
    stack.close()


def test_embedded_fakes_send_no_token() -> None:
    target = EmbeddedFakes()
    try:
        assert CONTROL_TOKEN_HEADER not in target.control_headers
    finally:
        target.close()


def test_a_target_that_does_not_answer_or_refuses_fails_clearly(served: ServedFakes) -> None:
    """A control call gets a TargetError naming the call: no answer at all, or the target's refusal."""
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        creds = Credentials(crm_url=f"http://127.0.0.1:{port}", shop_url=f"http://127.0.0.1:{port}",
                            connector_key="k", manager_key="m", consumer_key="ck", consumer_secret="cs")
        with pytest.raises(TargetError, match=r"POST http://127\.0\.0\.1:\d+/__stocksim/connector/jobs/history: no answer"):
            DockerStack(creds).shop_control("POST", "/connector/jobs/history")
    with pytest.raises(TargetError, match=r"/__stocksim/connector/jobs/nope -> 40\d: "):
        docker_stack(served).shop_control("POST", "/connector/jobs/nope")


def test_a_compose_project_without_an_engine_fails_clearly(served: ServedFakes) -> None:
    try:
        docker_client()
    except TargetError:
        pass
    else:
        pytest.skip("a docker engine answers here: the no-engine message cannot be observed")
    with pytest.raises(TargetError, match="docker SDK is not installed|no docker engine answers"):
        docker_stack(served, compose_project="stocksim").check_health()


# -- 3. the real stack -------------------------------------------------------------------------------------
def test_real_stack_suite() -> None:
    """Every scenario against docker-compose.yml's stack, when an engine answers and the stack is up."""
    from sim.targets import stack_problems

    try:
        docker_client()
    except TargetError as exc:
        pytest.skip(f"real WooCommerce stack not run: {exc}")
    project = os.environ.get("COMPOSE_PROJECT_NAME") or env_example()["COMPOSE_PROJECT_NAME"]
    problems = stack_problems(project)
    if problems:
        pytest.skip(f"compose project {project!r} is not up ({'; '.join(problems)}): "
                    "cp .env.example .env && docker compose up -d --build, then wait for wordpress to be healthy")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(FEATURES), "-q", "-rs", "-p", "no:cacheprovider", "-p", "no:xdist",
         "--stocksim-target=docker", "--compose-project", project],
        cwd=ROOT, capture_output=True, text=True, timeout=3600)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
