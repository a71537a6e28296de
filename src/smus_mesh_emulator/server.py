"""One moto server on loopback, with DataZone, the moto fixes and the admin API on one port.

`EmulatorServer` is both the foreground server of `smus-mesh emulator serve`
and the context manager that tests and `smus-mesh demo` start in a thread on a
free port::

    with EmulatorServer() as emulator:
        os.environ["AWS_ENDPOINT_URL"] = emulator.url
        ...

Every AWS request passes through `EmulatorApp`, which names it (service,
operation, account), injects configured faults and latency, advances pending
asynchronous transitions that are due, dispatches it to moto under the locks of the
backends it touches (`locking`, ADR 28), and records it in the calls log. The
runtime's clock thread, started and stopped with the server, advances due transitions
between requests too (ADR 3).
"""

from __future__ import annotations

import io
import ipaddress
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from smus_mesh_emulator.accounts import DEFAULT_MEMBER_COUNT, check_member_count
from smus_mesh_emulator.progress import FIRST_READ_GRACE
from smus_mesh_emulator.runtime import RUNTIME, check_grace, check_time_scale

StartResponse = Callable[..., Any]

LOG = logging.getLogger(__name__)

_ACCESS_KEY = re.compile(r"Credential=([A-Z0-9]{16,128})/")
_ERROR_CODE_JSON = re.compile(rb'"__type"\s*:\s*"(?:[^"#]*#)?([A-Za-z.]+)')
_ERROR_CODE_XML = re.compile(rb"<Code>([A-Za-z.]+)</Code>")


class EmulatorError(Exception):
    """The emulator cannot start (wrong environment, port taken, ...)."""


def _error_code(headers: list[tuple[str, str]], body: bytes) -> str | None:
    for name, value in headers:
        if name.lower() == "x-amzn-errortype":
            return value.split(":")[0]
    match = _ERROR_CODE_JSON.search(body[:4096]) or _ERROR_CODE_XML.search(body[:4096])
    return match.group(1).decode() if match else None


def _is_html(body: list[bytes]) -> bool:
    """Flask's error page (a response of ours may carry Flask's default text/html type
    with a JSON body, so the body decides)."""
    start = b"".join(body)[:64].lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html"))


def _read_body(environ: dict[str, Any]) -> bytes:
    """The whole request body: CONTENT_LENGTH bytes, or every chunk of a chunked body
    (the server de-chunks it; moto then sees an ordinary body of known length)."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        return bytes(environ["wsgi.input"].read(length))
    if "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return b""
    body = bytes(environ["wsgi.input"].read())
    environ.pop("HTTP_TRANSFER_ENCODING")
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


class EmulatorApp:
    """WSGI app: admin endpoints, calls log, faults and latency around moto's dispatcher."""

    def __init__(self, request_log: Callable[[str], None] | None = None) -> None:
        from smus_mesh_emulator.registration import make_dispatcher

        self.dispatcher = make_dispatcher()
        #: called with one line per AWS request (`request_line`), if given
        self.request_log = request_log

    def prewarm(self) -> None:
        """Build the Flask app and the request router of every workflow service now, so
        no client pays for them on its first call (they survive resets)."""
        from smus_mesh_emulator.registration import _router, create_app
        from smus_mesh_emulator.services import WORKFLOW_SERVICES

        for service in WORKFLOW_SERVICES:
            self.dispatcher.app_instances.setdefault(service, create_app(service))
            _router(service)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        from smus_mesh_emulator import admin, services
        from smus_mesh_emulator.registration import (
            is_mutating,
            operation_from_environ,
            service_from_environ,
        )

        # Read every body in full first: routing needs it, and so do the admin endpoints.
        started = time.perf_counter()
        environ["wsgi.input"] = io.BytesIO(_read_body(environ))
        if environ.get("PATH_INFO", "").startswith("/_emulator/"):
            return admin.handle(environ, start_response, reset_cloud, services.known_accounts)
        if environ.get("PATH_INFO", "").startswith("/moto-api"):
            # moto's own API dumps every backend, secrets and session tokens included
            # (`/moto-api/data.json`): the emulator's admin API is `/_emulator/`.
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"moto's /moto-api is not served; use /_emulator/\n"]

        service, region = service_from_environ(environ)
        operation = operation_from_environ(service, environ)

        delay = RUNTIME.profile.call_latency()
        if delay:
            time.sleep(delay)
        fault = RUNTIME.draw_fault(operation)
        from smus_mesh_emulator.faults import (
            body_error,
            fault_response,
            internal_error,
            region_error,
        )

        # The response is buffered and started once: an HTML page (an exception inside
        # moto, rendered by Flask) is replaced by the service's own error shape.
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"] = int(status.split()[0])
            captured["line"] = status
            captured["headers"] = headers
            return lambda data: None

        mutating = is_mutating(operation)
        asked = time.perf_counter()
        RUNTIME.arrived(time.monotonic())  # quotas count a request when it comes, as AWS's do
        if RUNTIME.scheduler.due():
            with RUNTIME.lock:
                RUNTIME.scheduler.tick()
        with RUNTIME.locks.request(
            service, mutating, environ.get("PATH_INFO", ""), RUNTIME.iam == "enforce"
        ):
            locked_at = time.perf_counter()
            account = self._account(environ)
            made = (
                region_error(service, region)
                or body_error(service, environ["wsgi.input"].getvalue())
                if service != "unknown"
                else None
            )
            verdict = None
            if made is None and RUNTIME.iam == "enforce":
                from smus_mesh_emulator.authoriser import authorise

                verdict, made = authorise(environ, service, operation)
            if made is not None:
                fault = None  # AWS refuses the signature before anything else
            elif fault:
                made = fault_response(service, fault, operation)
            if made is None:
                try:
                    body = list(self.dispatcher(environ, capture))
                except Exception:
                    LOG.exception("%s %s failed inside the emulator", service, operation)
                    captured.clear()
            busy = time.perf_counter() - locked_at
        RUNTIME.arrived(None)
        if made is None and (
            "line" not in captured or (captured["status"] >= 500 and _is_html(body))
        ):
            made = internal_error(service, operation)
        if made is not None:
            status, headers, payload = made
            capture(f"{status} {HTTPStatus(status).phrase}", list(headers.items()))
            body = [payload]
        start_response(captured["line"], captured["headers"])
        status_code = captured.get("status", 500)
        joined = b"".join(body) if status_code >= 400 else b""
        duration_ms = round((time.perf_counter() - started) * 1000, 3)
        error_code = _error_code(captured.get("headers", []), joined) if joined else None
        RUNTIME.record(
            service=service,
            operation=operation,
            account=account,
            region=region,
            mutating=mutating,
            status=status_code,
            duration_ms=duration_ms,
            busy_ms=round(busy * 1000, 3),
            wait_ms=round((locked_at - asked) * 1000, 3),
            error_code=error_code,
            injected=fault,
            iam=verdict,
        )
        if self.request_log is not None:
            self.request_log(
                request_line(account, service, operation, status_code, duration_ms, error_code)
            )
        return body

    @staticmethod
    def _account(environ: dict[str, Any]) -> str:
        from moto.iam.models import get_account_id_from

        match = _ACCESS_KEY.search(environ.get("HTTP_AUTHORIZATION", ""))
        return str(get_account_id_from(match.group(1) if match else "AKIAEXAMPLE"))


def request_line(
    account: str,
    service: str,
    operation: str,
    status: int,
    duration_ms: float,
    error_code: str | None = None,
) -> str:
    """One request as `emulator serve --log-requests` prints it: the time, the account, the
    service, the operation, the HTTP status (and AWS error code) and the milliseconds.
    Built from the request's name only: never a header, a key or a body."""
    error = f" {error_code}" if error_code else ""
    return (
        f"{time.strftime('%H:%M:%S')} {account} {service} {operation} "
        f"{status}{error} {duration_ms:.0f}ms"
    )


def reset_cloud(member_count: int | None = None) -> None:
    """Wipe every moto backend and the runtime, then seed the organization again: with
    `member_count` member accounts, or the server's number (`--accounts`)."""
    from smus_mesh_emulator import services
    from smus_mesh_emulator.snapshot import reset_backends

    reset_backends()
    RUNTIME.reset()
    services.seed(
        RUNTIME.member_count if member_count is None else member_count,
        prewarm_backends=RUNTIME.prewarm,
    )


def _check_environment(host: str, allow_remote: bool) -> None:
    if "MOTO_ACCOUNT_ID" in os.environ:
        raise EmulatorError(
            "MOTO_ACCOUNT_ID is set: moto would put every request in that one account and "
            "merge the producer and consumer accounts. Unset it and start again."
        )
    if not is_loopback(host) and not allow_remote:
        raise EmulatorError(
            f"refusing to bind {host}: the emulator's only credentials are public test keys "
            "(and with iam off it checks none), so anyone who reaches it can use it; it binds "
            "loopback addresses only unless --allow-remote is given"
        )


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or `localhost`."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class EmulatorServer:
    """The emulated organization (a management account and `accounts` member accounts) on
    one loopback port.

    `port=0` picks a free port. `start()` serves in a daemon thread; `serve_forever()`
    in the calling thread (stopped by Ctrl-C or `stop()` from another thread).
    """

    _active: EmulatorServer | None = None
    _active_lock = threading.Lock()

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: str = "none",
        time_scale: float = 1.0,
        allow_remote: bool = False,
        strict: bool | None = None,
        prewarm: bool = False,
        first_read_grace: float = FIRST_READ_GRACE,
        accounts: int = DEFAULT_MEMBER_COUNT,
        request_log: Callable[[str], None] | None = None,
        iam: str = "off",
    ) -> None:
        _check_environment(host, allow_remote)
        if iam not in ("off", "enforce"):
            raise EmulatorError(f"iam must be 'off' or 'enforce', not {iam!r}")
        #: "enforce": check signatures and policies of every request (ADR 21)
        self.iam = iam
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise EmulatorError(f"port must be 0-65535 (0 picks a free one), not {port!r}")
        try:
            check_time_scale(time_scale)
            check_grace(first_read_grace)
            check_member_count(accounts)
        except ValueError as exc:
            raise EmulatorError(str(exc)) from None
        self.strict = (
            os.environ.get("SMUS_MESH_EMULATOR_STRICT", "") == "1" if strict is None else strict
        )
        self.host = host
        self.requested_port = port
        self.latency = latency
        self.time_scale = time_scale
        #: how long an object nobody reads shows its first in-progress stage at least (ADR 3)
        self.first_read_grace = first_read_grace
        #: also build every account's backends after each reset (serve, demo, bench);
        #: tests keep resets cheap instead.
        self.prewarm = prewarm
        #: member accounts at start and at each reset that names no number
        self.accounts = accounts
        #: called with one line per AWS request (`request_line`), if given
        self.request_log = request_log
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise EmulatorError("the emulator is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def account_ids(self) -> list[str]:
        """The management account, then the member accounts (including any created since)."""
        from smus_mesh_emulator import services

        with RUNTIME.lock:
            return services.known_accounts()

    def _bind(self) -> None:
        from smus_mesh_emulator import services, serving

        with EmulatorServer._active_lock:
            if EmulatorServer._active is not None:
                raise EmulatorError(
                    "an emulator is already running in this process (moto's backends are "
                    "process-global); stop it first"
                )
            services.register_all()
            # No public AMI catalogue: the workflow never reads an image, and moto parses
            # its catalogue again on every reset (ADR 31). An explicit setting wins.
            os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
            RUNTIME.prewarm = self.prewarm
            RUNTIME.member_count = self.accounts
            reset_cloud()
            RUNTIME.set_latency(self.latency, self.time_scale, self.first_read_grace)
            RUNTIME.strict = self.strict
            RUNTIME.iam = self.iam
            app = EmulatorApp(self.request_log)
            app.prewarm()
            try:
                self._server = serving.Server(self.host, self.requested_port, app)
            except OSError as exc:
                raise EmulatorError(
                    f"cannot listen on {self.host}:{self.requested_port}: {exc.strerror or exc}"
                ) from None
            EmulatorServer._active = self
            RUNTIME.clock.start()

    def start(self) -> EmulatorServer:
        self._bind()
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="smus-mesh-emulator", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self, ready: Callable[[EmulatorServer], None] | None = None) -> None:
        """Bind, call `ready(self)` (e.g. to print the URL), then serve until stopped."""
        self._bind()
        try:
            if ready is not None:
                ready(self)
            self._server.serve_forever()
        finally:
            self._release()

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._release()

    def _release(self) -> None:
        if self._server is not None:
            self._server.server_close()
        self._server = None
        with EmulatorServer._active_lock:
            if EmulatorServer._active is self:
                RUNTIME.clock.stop()
                EmulatorServer._active = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
