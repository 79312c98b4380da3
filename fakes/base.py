"""What both fakes share: a WSGI app with admin routes, a request journal and a
threaded loopback server.

Each fake subclasses ``FakeApp``: it lists its real-API routes and says how its
real API spells an error. The admin plane lives under ``ADMIN_PREFIX``, a path
no real RetailCRM or WordPress route can take. It also holds the fault rules
(``Faults``) that make a fake misbehave on purpose, and a per-key rate limiter
a fake may use (``RateLimiter``).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Callable, Iterable

import orjson
import requests
import urllib3
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response
from waitress import wasyncore
from waitress.channel import ClientDisconnected
from waitress.server import BaseWSGIServer, create_server

from fakes.clock import Clock

ADMIN_PREFIX = "/__stocksim"

log = logging.getLogger("stocksim.fakes")


def direct_session() -> requests.Session:
    """A keep-alive session that ignores proxy settings from the environment.

    The fakes and the simulator only talk to addresses they were given; a
    proxy variable on a CI machine must not divert that traffic, and reading
    the environment on every request costs more than a loopback round trip.
    """
    session = requests.Session()
    session.trust_env = False
    return session


class OutgoingHttp:
    """Keep-alive HTTP for what a fake itself calls (the connector inside the shop calls the CRM),
    as PHP's curl handle is reused: urllib3's connection pools, without the per-call work of
    ``requests`` (a quarter of a loopback call here), no proxy from the environment, no retry.

    ``on_response`` hooks see each answer (method, URL, status) before the caller reads it.
    ``request`` raises ``OutgoingHttpError`` when no answer came (refused, dropped, timed out)."""

    def __init__(self, timeout: float = 30.0) -> None:
        self._pools = urllib3.PoolManager(retries=urllib3.Retry(0, read=False), timeout=timeout)
        self.on_response: list[Callable[[str, str, int], None]] = []

    def request(self, method: str, url: str, body: str | bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        try:
            reply = self._pools.urlopen(method, url, body=body, headers=headers, redirect=False)
        except urllib3.exceptions.HTTPError as exc:
            raise OutgoingHttpError(f"{method} {url.split('?')[0]}: {exc}") from None
        for hook in self.on_response:
            hook(method, url, reply.status)
        return reply.status, reply.data

    def close(self) -> None:
        """Close the kept-alive connections (a later request opens a new one)."""
        self._pools.clear()


class OutgoingHttpError(OSError):
    """An outgoing call got no answer."""


def dump_json(body: Any) -> bytes:
    """Compact UTF-8 JSON, as PHP's ``json_encode`` spells it (no spaces after ``,`` and ``:``).

    orjson serialises a 250-offer inventories page about twenty times faster than ``json``.
    What orjson refuses (integers beyond 64 bits) goes through ``json`` with the same
    compact separators. One difference from ``json``: a NaN or an infinity becomes
    ``null`` (valid JSON) where ``json`` wrote the invalid token ``NaN``."""
    try:
        return orjson.dumps(body)
    except TypeError:  # orjson.JSONEncodeError is one
        pass
    try:
        # Keys that are not strings (ints) become strings, as json.dumps makes them; this option
        # costs orjson twice the time, so only the rare answer that needs it pays for it.
        return orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def load_json(data: bytes | str) -> Any:
    """``json.loads``, through orjson when it can read the document (a ``ValueError`` otherwise)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)  # NaN, Infinity and big numbers orjson refuses; raises ValueError if not JSON


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return encoded_json_response(dump_json(body), status, headers)


def encoded_json_response(encoded: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """An answer whose JSON is already encoded (e.g. pieces kept encoded, joined)."""
    return Response(encoded, status=status, headers=headers, content_type="application/json; charset=utf-8")


class Journal:
    """The last requests a fake answered, stamped with simulated time."""

    def __init__(self, size: int = 10_000) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)
        self._lock = threading.Lock()
        self._seq = 0

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._seq += 1
            self._entries.append({"seq": self._seq, **entry})

    def entries(self, since: int = 0) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self._entries if e["seq"] > since]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


# -- faults --------------------------------------------------------------------

#: What a fault may do to a request it matches:
#: ``status``: answer ``status`` (with ``body``) instead of the handler;
#: ``latency``: wait ``seconds`` of wall-clock time, then let the fake answer normally;
#: ``reset``: close the connection without writing a byte of an answer;
#: ``malformed``: answer ``status`` (default 200) with a truncated JSON body.
#: Each kind's effect lives in ``FakeApp.fault_effects``.
FAULT_KINDS = ("status", "latency", "reset", "malformed")
_FAULT_FIELDS = frozenset({"kind", "method", "path", "status", "body", "seconds", "times", "skip", "from", "until",
                           "api_key"})
#: The fields only some kinds take; a rule naming one for another kind is refused, not ignored.
_KIND_FIELDS = {"status": {"status", "body"}, "latency": {"seconds"}, "reset": set(), "malformed": {"status"}}
#: A latency rule holds one of the server's threads for this long at most.
MAX_LATENCY_SECONDS = 10.0
#: What a ``malformed`` fault answers: JSON cut off mid-document, as a dropped proxy buffer would leave it.
MALFORMED_BODY = b'{"success": true, "stocksim": "this answer was cut'


class AdminInputError(ValueError):
    """A control-plane request the fake refuses with 400 ``{"error": ...}``."""


class FaultError(AdminInputError):
    """A fault rule the admin plane refuses."""


@dataclass
class Fault:
    """One rule: the requests it matches get the fault instead of the fake's answer."""

    id: int
    path: str  # a glob (fnmatch) on the request path; "*" also crosses "/"
    status: int | None
    kind: str = "status"
    method: str | None = None  # None: every method
    body: Any = None
    has_body: bool = False  # no "body": the fake's own api_error; "body": null answers JSON null
    seconds: float | None = None  # latency only: wall-clock seconds
    times: int | None = None  # None: for ever
    skip: int = 0  # let this many matching requests through first
    start: float | None = None  # "from": simulated seconds on the fake's clock
    until: float | None = None
    api_key: str | None = None  # only requests made with this key (the CRM's apiKey, the shop's consumer key)
    hits: int = 0
    skipped: int = 0

    @property
    def remaining(self) -> int | None:
        return None if self.times is None else self.times - self.hits

    def matches(self, method: str, path: str, now: float, key: Callable[[], str | None]) -> bool:
        return (self.remaining != 0
                and (self.method is None or self.method == method)
                and (self.start is None or now >= self.start)
                and (self.until is None or now < self.until)
                and fnmatchcase(path, self.path)
                and (self.api_key is None or key() == self.api_key))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id, "kind": self.kind, "method": self.method, "path": self.path, "status": self.status,
            "times": self.times, "from": self.start, "until": self.until, "hits": self.hits,
            "remaining": self.remaining,
        }
        # Fields added after the first kind appear only when used, so older readers see the same rules.
        if self.seconds is not None:
            data["seconds"] = self.seconds
        if self.skip:
            data.update(skip=self.skip, skipped=self.skipped)
        if self.api_key is not None:
            data["api_key"] = self.api_key
        if self.has_body:
            data["body"] = self.body
        return data


def parse_fault(fault_id: int, spec: Any) -> Fault:
    """A rule from its admin JSON; ``FaultError`` says what is wrong with it.
    Unknown fields are refused so that a typo ("unitl") cannot widen a rule."""
    if not isinstance(spec, dict):
        raise FaultError("a fault rule must be a JSON object")
    unknown = sorted(set(spec) - _FAULT_FIELDS)
    if unknown:
        raise FaultError(f"unknown field(s): {', '.join(unknown)}")
    kind = spec.get("kind", "status")
    if kind not in FAULT_KINDS:
        raise FaultError(f"kind must be one of: {', '.join(FAULT_KINDS)}")
    foreign = sorted((set(spec) & set().union(*_KIND_FIELDS.values())) - _KIND_FIELDS[kind])
    if foreign:
        raise FaultError(f"a {kind} fault takes no {', '.join(foreign)}")
    path, method, times, api_key = spec.get("path"), spec.get("method"), spec.get("times"), spec.get("api_key")
    if not isinstance(path, str) or not path.startswith("/"):
        raise FaultError('path must be a glob on the request path, starting with "/"')
    if method is not None and not (isinstance(method, str) and method.isalpha()):
        raise FaultError("method must be an HTTP method name")
    if times is not None and (not _is_int(times) or times < 1):
        raise FaultError("times must be a whole number of at least 1")
    skip = spec.get("skip", 0)
    if not _is_int(skip) or skip < 0:
        raise FaultError("skip must be a whole number of at least 0")
    if api_key is not None and not (isinstance(api_key, str) and api_key):
        raise FaultError("api_key must be a non-empty string")
    start, until = _seconds(spec, "from"), _seconds(spec, "until")
    if start is not None and until is not None and until <= start:
        raise FaultError("until must be later than from")
    return Fault(id=fault_id, kind=kind, path=path, status=_fault_status(kind, spec), seconds=_latency(kind, spec),
                 method=method.upper() if method else None, body=spec.get("body"), has_body="body" in spec,
                 times=times, skip=skip, start=start, until=until, api_key=api_key)


def _fault_status(kind: str, spec: dict[str, Any]) -> int | None:
    if kind not in ("status", "malformed"):
        return None
    status = spec.get("status", 200 if kind == "malformed" else None)
    if not _is_int(status) or not 200 <= status <= 599:
        raise FaultError("status must be an HTTP status code from 200 to 599")
    return status


def _latency(kind: str, spec: dict[str, Any]) -> float | None:
    if kind != "latency":
        return None
    seconds = spec.get("seconds")
    if (isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds)
            or not 0 < seconds <= MAX_LATENCY_SECONDS):
        raise FaultError(f"seconds must be a number of wall-clock seconds above 0 and at most {MAX_LATENCY_SECONDS:g}")
    return float(seconds)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _seconds(spec: dict[str, Any], name: str) -> float | None:
    value = spec.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise FaultError(f"{name} must be a number of simulated seconds")
    return float(value)


class ConnectionDropped(Exception):
    """Raised by the ``reset`` fault: the server must close the connection unanswered."""


class Faults:
    """The fault rules of one fake; the first rule added is the first tried."""

    def __init__(self) -> None:
        self._rules: list[Fault] = []
        self._lock = threading.Lock()
        self._last_id = 0  # ids are never reused, so a stale DELETE cannot hit a newer rule

    def add(self, spec: Any) -> Fault:
        with self._lock:
            fault = parse_fault(self._last_id + 1, spec)
            self._last_id = fault.id
            self._rules.append(fault)
            return fault

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.to_json() for fault in self._rules]

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            kept = [fault for fault in self._rules if fault.id != fault_id]
            removed = len(kept) != len(self._rules)
            self._rules = kept
            return removed

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def take(self, method: str, path: str, now: float, key: Callable[[], str | None]) -> Fault | None:
        """The first rule matching the request, charged one hit (under the lock,
        so concurrent requests cannot overspend ``times``). A rule still skipping
        counts the request and lets the later rules decide, as if it were absent."""
        with self._lock:
            for fault in self._rules:
                if not fault.matches(method, path, now, key):
                    continue
                if fault.skipped < fault.skip:
                    fault.skipped += 1
                    continue
                fault.hits += 1
                return fault
            return None


# -- rate limit ----------------------------------------------------------------

class RateLimiter:
    """At most ``limit`` requests per key in any sliding ``window`` seconds; 0 is off.

    Rate limits are about real request rates, so time comes from an injected
    monotonic wall-clock function, never from the simulated ``Clock``. Only
    admitted requests count: a client that backs off gets in again after one
    window, however hard it was refused before.
    """

    def __init__(self, limit: int = 0, monotonic: Callable[[], float] = time.monotonic,
                 window: float = 1.0) -> None:
        self._monotonic = monotonic
        self._window = window
        self._admitted: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self.limit = limit

    @property
    def limit(self) -> int:
        return self._limit

    @limit.setter
    def limit(self, value: int) -> None:
        self._limit = self.valid_limit(value)

    @staticmethod
    def valid_limit(value: Any) -> int:
        if not _is_int(value) or value < 0:
            raise ValueError("rate_limit must be a whole number of requests per second, 0 for no limit")
        return int(value)

    def admit(self, key: str) -> bool:
        if self._limit == 0:
            return True
        now = self._monotonic()
        with self._lock:
            admitted = self._admitted.setdefault(key, deque())
            while admitted and admitted[0] <= now - self._window:
                admitted.popleft()
            if len(admitted) >= self._limit:
                return False
            admitted.append(now)
            return True

    def forget(self) -> None:
        """Drop every key's window, e.g. on reset."""
        with self._lock:
            self._admitted.clear()


class FakeApp:
    """A WSGI app: real-API routes from ``api_rules`` plus the admin plane."""

    name = "fake"

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self.journal = Journal()
        self.faults = Faults()
        #: What each fault kind does to a request it matched.
        self.fault_effects: dict[str, Callable[[Request, Fault], Response]] = {
            "status": self._status_fault, "latency": self._latency_fault, "reset": self._reset_fault,
            "malformed": self._malformed_fault,
        }
        self.url_map = Map(list(self.api_rules()) + list(self._admin_rules()), strict_slashes=False)
        # (method, script name, path) -> (endpoint, arguments) of every request that matched a rule.
        # No rule looks at the host, so the path and method decide; werkzeug's binding and matching
        # cost a fifth of a small request.
        self._routes: dict[tuple[str, str, str], tuple[str, dict[str, Any]]] = {}

    # -- to be provided by each fake -------------------------------------
    def api_rules(self) -> Iterable[Rule]:
        raise NotImplementedError

    def admin_rules(self) -> Iterable[Rule]:
        return ()

    def api_error(self, request: Request, status: int, message: str) -> Response:
        """An error in the fake's real-API format (404, 405, 500)."""
        raise NotImplementedError

    def reset(self) -> None:
        raise NotImplementedError

    def state_snapshot(self) -> dict[str, Any]:
        raise NotImplementedError

    # -- shared admin plane ----------------------------------------------
    def _admin_rules(self) -> Iterable[Rule]:
        p = ADMIN_PREFIX
        yield Rule(f"{p}/clock", endpoint="admin_clock", methods=["GET", "PUT", "POST"])
        yield Rule(f"{p}/reset", endpoint="admin_reset", methods=["POST"])
        yield Rule(f"{p}/state", endpoint="admin_state", methods=["GET"])
        yield Rule(f"{p}/journal", endpoint="admin_journal", methods=["GET", "DELETE"])
        yield Rule(f"{p}/faults", endpoint="admin_faults", methods=["GET", "POST", "DELETE"])
        yield Rule(f"{p}/faults/<int:fault_id>", endpoint="admin_fault", methods=["DELETE"])
        yield from self.admin_rules()

    def admin_clock(self, request: Request) -> Response:
        if request.method != "GET":
            body = request.get_json(silent=True)
            if not isinstance(body, dict) or not isinstance(body.get("now"), (int, float)):
                return json_response({"error": 'expected JSON {"now": <simulated seconds>}'}, 400)
            self.clock.set(body["now"])
        return json_response({"now": self.clock.now(), "at": self.clock.crm_format()})

    def admin_reset(self, request: Request) -> Response:
        self.reset()
        self.journal.clear()
        self.faults.clear()
        return json_response({"reset": True})

    def admin_state(self, request: Request) -> Response:
        return json_response(self.state_snapshot())

    def admin_journal(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.journal.clear()
            return json_response({"cleared": True})
        since = request.args.get("since", "0")
        return json_response({"requests": self.journal.entries(int(since) if since.isdigit() else 0)})

    def admin_faults(self, request: Request) -> Response:
        if request.method == "GET":
            return json_response({"faults": self.faults.rules()})
        if request.method == "DELETE":
            self.faults.clear()
            return json_response({"cleared": True})
        try:
            fault = self.faults.add(admin_json(request))
        except AdminInputError as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response(fault.to_json(), 201)

    def admin_fault(self, request: Request, fault_id: int) -> Response:
        if not self.faults.remove(fault_id):
            return json_response({"error": f"no fault with id {fault_id}"}, 404)
        return json_response({"deleted": fault_id})

    # -- faults ------------------------------------------------------------
    def _fault_for(self, request: Request) -> Fault | None:
        # The admin plane is never faulted: a test must always be able to clear its rules.
        if request.path.startswith(ADMIN_PREFIX):
            return None
        return self.faults.take(request.method, request.path, self.clock.now(), lambda: self.caller_key(request))

    def caller_key(self, request: Request) -> str | None:
        """The API key a real-API request was made with, for rules limited to one client:
        the CRM's ``X-API-KEY`` header or ``apiKey`` parameter, the shop's REST consumer key."""
        key = (request.headers.get("X-API-KEY") or request.args.get("apiKey")
               or request.args.get("consumer_key") or request.args.get("oauth_consumer_key"))
        if key is None and request.mimetype == "application/x-www-form-urlencoded":
            key = request.form.get("apiKey")  # werkzeug caches the parsed form for the handler
        return key

    def _status_fault(self, request: Request, fault: Fault) -> Response:
        status = fault.status or 500  # parse_fault requires a status for this kind
        if fault.has_body:
            return json_response(fault.body, status)
        response = self.api_error(request, status, HTTP_STATUS_CODES.get(status, "fault"))
        response.status_code = status  # api_error may fold statuses (the shop answers any 5xx as 500)
        return response

    def _latency_fault(self, request: Request, fault: Fault) -> Response:
        # Wall-clock time: the simulated clock stands still meanwhile, so a slow answer
        # tests the client's timeouts, never the simulation's schedule.
        time.sleep(fault.seconds or 0.0)
        return self.dispatch(request)

    def _reset_fault(self, request: Request, fault: Fault) -> Response:
        raise ConnectionDropped(fault)

    def _malformed_fault(self, request: Request, fault: Fault) -> Response:
        return Response(MALFORMED_BODY, status=fault.status or 200, content_type="application/json; charset=utf-8")

    # -- WSGI --------------------------------------------------------------
    def dispatch(self, request: Request) -> Response:
        environ = request.environ
        key = (environ["REQUEST_METHOD"], environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", ""))
        route = self._routes.get(key)
        if route is None:
            try:
                route = self._match(request)
            except HTTPException as exc:
                return self._unrouted(request, exc)
            if len(self._routes) >= 10_000:  # paths with ids (orders/123) keep coming: start over
                self._routes.clear()
            self._routes[key] = route
        endpoint, args = route
        handler: Callable[..., Response] = getattr(self, endpoint)
        try:
            return handler(request, **args)
        except Exception:  # a fake must never answer with a traceback
            log.exception("%s: unhandled error on %s %s", self.name, request.method, request.path)
            return self.api_error(request, 500, "internal error")

    def _match(self, request: Request) -> tuple[str, dict[str, Any]]:
        endpoint, args = self.url_map.bind_to_environ(request.environ).match()
        return str(endpoint), args

    def _unrouted(self, request: Request, exc: HTTPException) -> Response:
        if isinstance(exc, NotFound):
            return self.api_error(request, 404, "not found")
        if isinstance(exc, MethodNotAllowed):
            return self.api_error(request, 405, "method not allowed")
        return exc.get_response(request.environ)  # type: ignore[return-value]  # e.g. a redirect

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        # A fault answers before the handler runs, so it changes no state (latency runs the handler after its wait).
        fault = self._fault_for(request)
        try:
            response = self.dispatch(request) if fault is None else self.fault_effects[fault.kind](request, fault)
        except ConnectionDropped:
            self._journal(request, fault, None)
            # waitress closes a channel whose app raised ClientDisconnected without writing
            # anything: the client sees the connection end with no answer at all.
            raise ClientDisconnected(f"stocksim fault {fault.id if fault else '?'}: connection reset") from None
        self._journal(request, fault, response.status_code)
        return response(environ, start_response)

    def _journal(self, request: Request, fault: Fault | None, status: int | None) -> None:
        if not self.journalled(request):
            return
        entry: dict[str, Any] = {"t": self.clock.now(), "method": request.method, "path": request.path,
                                 "query": request.query_string.decode("latin-1"), "status": status}
        if fault is not None:
            entry["fault"] = {"id": fault.id, "kind": fault.kind}
        self.journal.record({**entry, **self.journal_extra(request)})

    def journalled(self, request: Request) -> bool:
        """Whether the journal keeps this request: the real API's, not the admin plane's."""
        return not request.path.startswith(ADMIN_PREFIX)

    def journal_extra(self, request: Request) -> dict[str, Any]:
        """Fields a fake adds to a request's journal entry (e.g. the stock it moved)."""
        return {}


def admin_json(request: Request) -> Any:
    """A control-plane request's JSON body, whatever its Content-Type says."""
    try:
        return json.loads(request.get_data(as_text=True))
    except ValueError:
        raise AdminInputError("body is not valid JSON") from None


class FakeServer:
    """Serves a ``FakeApp`` on a real socket, on a background thread.

    waitress keeps connections alive and sets TCP_NODELAY; werkzeug's
    development server closes every connection, which costs more than the
    fake's own work on each request.
    """

    def __init__(self, app: FakeApp, host: str = "127.0.0.1", port: int = 0, threads: int = 8) -> None:
        self.app = app
        # create_server binds at once and raises OSError when the port is taken.
        try:
            self._server: BaseWSGIServer = create_server(
                app, host=host, port=port, threads=threads, ident="stocksim",
                # waitress reads this as an int: 0.05 became 0, and each idle server's loop spun at a
                # full core, holding the GIL against every request in the process. stop() does not
                # wait for the timeout: it wakes the loop through the trigger.
                asyncore_loop_timeout=1, channel_timeout=300,
            )  # type: ignore[assignment]
        except OSError as exc:
            raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self._server.effective_host}:{self._server.effective_port}"

    def start(self) -> "FakeServer":
        self._thread = threading.Thread(target=self._server.run, name=f"{self.app.name}-server", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.run()

    def stop(self) -> None:
        server = self._server
        # Close the sockets from inside the event loop's own thread; the loop ends once its map is empty.
        try:
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        except OSError:
            # The trigger's pipe is already gone (seen once under pytest-xdist, cause not found):
            # close what is left from here; close_all ignores descriptors already closed.
            wasyncore.close_all(server._map)
        if self._thread is not None:
            self._thread.join(timeout=5)
        server.task_dispatcher.shutdown()

    def __enter__(self) -> "FakeServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
