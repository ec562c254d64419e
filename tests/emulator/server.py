"""HTTP glue: auth, JSON decoding the way Go decodes it, fault injection, and a server on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.emulator.behaviour import ApiBehaviour
from tests.emulator.faults import Fault, FaultPlan
from tests.emulator.handlers import Request, error_body, resolve
from tests.emulator.limits import RateLimit
from tests.emulator.state import ApiError, EmulatorState
from tests.sdk_oracle import parse_json


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes; without this, delayed ACKs add 40 ms per answer.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        if self.server.emulator.verbose:
            super().log_message(format, *args)

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        raw = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if raw:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _send_page(self, status: int, page: str) -> None:
        raw = page.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _handle(self) -> None:
        emulator = self.server.emulator
        state = emulator.state
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        with state.lock:
            state.requests.append((self.command, split.path))
        if emulator.latency:
            time.sleep(emulator.latency)
        request_id = uuid.uuid4().hex
        fault = emulator.faults.take(self.command, split.path)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.before is not None:
                fault.before(state)
            if fault.status is not None and fault.page is not None:
                self._send_page(fault.status, fault.page)
                return
            if fault.status is not None:
                fault_body = fault.body or error_body(
                    ApiError(fault.status, _type_for(fault.status), f"injected HTTP {fault.status}"), request_id
                )
                self._send(fault.status, fault_body, fault.headers)
                return
        try:
            api_key = self.headers.get("Authorization", "").removeprefix("Bearer ")
            if api_key not in state.identities:
                raise ApiError(401, "authentication_error", "missing or invalid API key", code="unauthenticated")
            retry_after = emulator.rate_limit.admit(api_key) if emulator.rate_limit else None
            if retry_after is not None:
                error = ApiError(429, "rate_limit_reached", "rate limit reached", code="rate_limit_reached")
                self._send(429, error_body(error, request_id), {"Retry-After": retry_after})
                return
            handler, params = resolve(self.command, split.path)
            try:
                body = parse_json(raw) if raw else None
            except ValueError as exc:
                raise ApiError(400, "invalid_request_error", f"request body is not valid JSON: {exc}") from None
            request = Request(self.command, split.path, dict(parse_qsl(split.query)), body, params, api_key)
            status, answer = handler(state, request)
            if self.command != "GET" and emulator.after_change is not None:
                emulator.after_change()
        except ApiError as error:
            self._send(error.status, error_body(error, request_id))
            return
        if fault is not None and fault.answer_delay:
            time.sleep(fault.answer_delay)
        if fault is not None and fault.drop_after_acting:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self._send(status, answer)

    do_GET = do_POST = do_PUT = do_DELETE = _handle  # noqa: N815 - BaseHTTPRequestHandler's naming


def _type_for(status: int) -> str:
    return {429: "rate_limit_reached", 401: "authentication_error", 404: "not_found"}.get(
        status, "api_error" if status >= 500 else "invalid_request_error"
    )


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (its read timeout, an interrupted run) is the client's story: the emulator
        # says nothing rather than print a traceback into the tests' output.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def __init__(self, emulator: Emulator, port: int) -> None:
        self.emulator = emulator
        super().__init__(("127.0.0.1", port), _Handler)


class Emulator:
    def __init__(
        self,
        *,
        api_key: str,
        port: int = 0,
        verbose: bool = False,
        behaviour: ApiBehaviour | None = None,
        latency: float = 0.0,
        rate_limit: RateLimit | None = None,
        org_migrated: bool = True,
    ) -> None:
        self.state = EmulatorState(behaviour=behaviour or ApiBehaviour(), org_migrated=org_migrated)
        self.state.add_api_key(api_key)
        self.faults = FaultPlan()
        self.verbose = verbose
        # Seconds before each answer: the real API answers in tens of milliseconds, loopback in one.
        self.latency = latency
        self.rate_limit = rate_limit
        # Called after each request that changed the org (the sandbox saves the org to disk with it).
        self.after_change: Callable[[], None] | None = None
        self._server = _Server(self, port)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def inject(self, fault: Fault) -> Fault:
        return self.faults.add(fault)

    def start(self) -> Emulator:
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="incident-io-emulator", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextlib.contextmanager
def running_emulator(
    *,
    api_key: str,
    behaviour: ApiBehaviour | None = None,
    latency: float = 0.0,
    rate_limit: RateLimit | None = None,
    org_migrated: bool = True,
) -> Iterator[Emulator]:
    emulator = Emulator(
        api_key=api_key, behaviour=behaviour, latency=latency, rate_limit=rate_limit, org_migrated=org_migrated
    ).start()
    try:
        yield emulator
    finally:
        emulator.stop()
