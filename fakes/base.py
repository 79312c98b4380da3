"""What both fakes share: a WSGI app with admin routes, a request journal and a
threaded loopback server.

Each fake subclasses ``FakeApp``: it lists its real-API routes and says how its
real API spells an error. The admin plane lives under ``ADMIN_PREFIX``, a path
no real RetailCRM or WordPress route can take.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from typing import Any, Callable, Iterable

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from fakes.clock import Clock

ADMIN_PREFIX = "/__stocksim"

log = logging.getLogger("stocksim.fakes")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False),
        status=status,
        headers=headers,
        content_type="application/json; charset=utf-8",
    )


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


class FakeApp:
    """A WSGI app: real-API routes from ``api_rules`` plus the admin plane."""

    name = "fake"

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self.journal = Journal()
        self.url_map = Map(list(self.api_rules()) + list(self._admin_rules()), strict_slashes=False)

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
        return json_response({"reset": True})

    def admin_state(self, request: Request) -> Response:
        return json_response(self.state_snapshot())

    def admin_journal(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.journal.clear()
            return json_response({"cleared": True})
        since = request.args.get("since", "0")
        return json_response({"requests": self.journal.entries(int(since) if since.isdigit() else 0)})

    # -- WSGI --------------------------------------------------------------
    def dispatch(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except NotFound:
            return self.api_error(request, 404, "not found")
        except MethodNotAllowed:
            return self.api_error(request, 405, "method not allowed")
        except HTTPException as exc:  # e.g. a redirect for a trailing slash
            return exc.get_response(request.environ)  # type: ignore[return-value]
        handler: Callable[..., Response] = getattr(self, endpoint)
        try:
            return handler(request, **args)
        except Exception:  # a fake must never answer with a traceback
            log.exception("%s: unhandled error on %s %s", self.name, request.method, request.path)
            return self.api_error(request, 500, "internal error")

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        response = self.dispatch(request)
        if not request.path.startswith(ADMIN_PREFIX):
            self.journal.record(
                {"t": self.clock.now(), "method": request.method, "path": request.path,
                 "query": request.query_string.decode("latin-1"), "status": response.status_code}
            )
        return response(environ, start_response)


class _NoDelayHandler(WSGIRequestHandler):
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle
    # plus delayed ACK stalls every keep-alive request by ~40 ms.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class FakeServer:
    """Serves a ``FakeApp`` on a real socket, on a background thread."""

    def __init__(self, app: FakeApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=_NoDelayHandler
        )
        self._server.daemon_threads = True  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        return f"http://{host}:{port}"

    def start(self) -> "FakeServer":
        # A short poll interval keeps stop() quick; it costs nothing while requests flow.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"{self.app.name}-server", daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "FakeServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
