"""How the emulator serves HTTP: cheroot, with keep-alive and a fixed pool of threads (ADR 20).

Werkzeug's development server made a thread and took a connection per request (it closed
every connection, since keeping one alive lost the next request to its body drain), so a
tool with 256 threads paid a TCP handshake and a thread start for each of its calls.
cheroot keeps HTTP/1.1 connections open, parks idle ones in a selector, and hands each
request to one of `THREADS` long-lived workers.

`Server` is the small surface `EmulatorServer` uses (`serve_forever`, `shutdown`,
`server_close`, `server_address`), so the WSGI app knows nothing of the server under it.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable
from typing import Any

from cheroot import server as cheroot_server
from cheroot import wsgi
from moto.core.request import (
    PRESERVED_HEADER_NAMES_ENVIRON_KEY,
    environ_key_for_header,
    should_preserve_original_header_name,
)

#: Worker threads: requests served at once. Moto's work is CPU-bound Python under the GIL,
#: so more threads than this only queue inside the process instead of in the selector.
THREADS = 32

#: Seconds a kept-alive connection may stay idle before the server closes it (botocore
#: reopens a closed pooled connection on its own).
IDLE_TIMEOUT = 60


_DATE: tuple[int, bytes] = (0, b"")


def _http_date() -> bytes:
    """The Date header cheroot adds to a response without one, formatted once per second
    (`email.utils.formatdate` per response was 2 % of the server's CPU, ADR 35)."""
    global _DATE
    now = int(time.time())
    if _DATE[0] != now:
        _DATE = (now, email.utils.formatdate(now, usegmt=True).encode("ISO-8859-1"))
    return _DATE[1]


class _SocketWriter:
    """A connection's output straight to its socket. cheroot's own writer is built on the
    pure-Python `_pyio` and flushes each write: a quarter of the server's CPU went there
    (py-spy, issue 17.1). While `held` is a list, writes are kept there instead."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self.held: list[bytes] | None = None

    def write(self, data: bytes) -> int:
        if self.held is not None:
            self.held.append(bytes(data))
        else:
            self._sock.sendall(data)
        return len(data)


class _SocketReader:
    """A connection's input from its socket (ADR 41), read as cheroot's `StreamReader`
    reads it (a line up to a size, a number of bytes, or to the end), without the pure-Python
    `_pyio.BufferedReader` under it: its locks, checks and buffer copies were 2-3 % of a test
    process's CPU, on every request line, header and body. Received bytes wait in `_buf`
    from `_pos` on. A timed-out socket is not read again (a `SocketIO`'s rule)."""

    def __init__(self, sock: Any, bufsize: int) -> None:
        self._sock = sock
        self._size = max(bufsize, 8192)
        self._buf = b""
        self._pos = 0
        self._timed_out = False
        self.closed = False
        self.bytes_read = 0  # cheroot's statistics

    def has_data(self) -> bool:
        """Whether bytes already received wait to be read."""
        return self._pos < len(self._buf)

    def _recv(self, size: int) -> bytes:
        if self.closed:
            raise ValueError("read of closed file")
        if self._timed_out:
            raise OSError("cannot read from timed out object")
        try:
            data: bytes = self._sock.recv(size)
        except TimeoutError:
            self._timed_out = True
            raise
        return data

    def _take(self, count: int) -> bytes:
        start = self._pos
        self._pos = start + count
        self.bytes_read += count
        return self._buf[start : start + count]

    def readline(self, size: int | None = -1) -> bytes:
        limit = -1 if size is None else size
        scanned = 0
        while True:
            waiting = len(self._buf) - self._pos
            end = self._buf.find(b"\n", self._pos + scanned)
            count = end + 1 - self._pos if end >= 0 else waiting
            if 0 <= limit <= count:
                return self._take(limit)
            if end >= 0:
                return self._take(count)
            data = self._recv(self._size)
            if not data:
                return self._take(waiting)
            self._buf = self._buf[self._pos :] + data
            self._pos = 0
            scanned = waiting

    def read(self, size: int | None = -1) -> bytes:
        waiting = len(self._buf) - self._pos
        if size is not None and 0 <= size <= waiting:
            data = self._take(size)
        else:
            chunks = [self._take(waiting)]
            wanted = -1 if size is None or size < 0 else size - waiting
            while wanted != 0:
                chunk = self._recv(max(wanted, self._size))
                if not chunk:
                    break
                if 0 < wanted < len(chunk):
                    self._buf, self._pos = chunk, wanted
                    chunk = chunk[:wanted]
                else:
                    self._buf, self._pos = b"", 0
                self.bytes_read += len(chunk)
                chunks.append(chunk)
                if wanted > 0:
                    wanted -= len(chunk)
            data = b"".join(chunks)
        return data

    def close(self) -> None:
        self.closed = True
        self._buf, self._pos = b"", 0


def _socket_file(sock: Any, mode: str, bufsize: int) -> _SocketReader | _SocketWriter:
    """A connection's reader or writer, in place of cheroot's `MakeFile`."""
    return _SocketReader(sock, bufsize) if "r" in mode else _SocketWriter(sock)


class _Connection(cheroot_server.HTTPConnection):
    def __init__(self, server: Any, sock: Any, *makefile: Any) -> None:
        super().__init__(server, sock, _socket_file)


class _Gateway(wsgi.Gateway_10):
    """Headers as moto's own server passes them: a header with an underscore in its name is
    dropped (WSGI cannot tell `X_Foo` from `X-Foo`, so one could spoof the other), except
    S3 object metadata, kept under its original spelling (see moto's MotoRequestHandler).
    The status line and headers leave in one send with the first chunk of the body."""

    def write(self, chunk: bytes) -> None:
        wfile = self.req.conn.wfile
        if self.req.sent_headers or not isinstance(wfile, _SocketWriter):
            super().write(chunk)
            return
        wfile.held = []
        try:
            super().write(chunk)
        finally:
            held, wfile.held = wfile.held, None
            if held:
                wfile.write(b"".join(held))

    def start_response(self, status: str, headers: Any, exc_info: Any = None) -> Any:
        write = super().start_response(status, headers, exc_info)
        if not any(name.lower() == b"date" for name, _ in self.req.outheaders):
            self.req.outheaders.append((b"Date", _http_date()))
        return write

    def get_environ(self) -> dict[str, Any]:  # type: ignore[override]
        environ: dict[str, Any] = super().get_environ()  # type: ignore[no-untyped-call]
        headers = [
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in self.req.inheaders.items()
        ]
        dashed = {environ_key_for_header(n): v for n, v in headers if "_" not in n}
        names: dict[str, str] = {}
        for name, value in headers:
            if "_" not in name:
                continue
            key = environ_key_for_header(name)
            if key in dashed:
                environ[key] = dashed[key]  # never let the underscored one stand in
            elif should_preserve_original_header_name(name):
                environ[key] = value
                names.setdefault(key, name)
            else:
                environ.pop(key, None)
        environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = names
        return environ


def _in_a_daemon_thread(function: Callable[[], object]) -> None:
    """Call `function` in a daemon thread and wait for it. A thread is a daemon when the
    thread that creates it is one: cheroot's workers, started by `prepare`, then do not
    keep a process alive whose server nobody stopped (werkzeug's threads did not either)."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            function()
        except BaseException as exc:  # re-raised in the caller
            failure.append(exc)

    thread = threading.Thread(target=run, name="emulator-prepare", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


class Server:
    """A cheroot WSGI server bound (by `__init__`) to `host:port`; port 0 picks one."""

    def __init__(self, host: str, port: int, app: Any) -> None:
        self._server = wsgi.Server(
            (host, port),
            app,
            numthreads=THREADS,
            request_queue_size=128,
            timeout=IDLE_TIMEOUT,
            shutdown_timeout=2,
        )
        self._server.gateway = _Gateway
        self._server.ConnectionClass = _Connection
        # cheroot's default of 10 kept-alive connections would close the connections of a
        # tool's pool as fast as it opens them.
        self._server.keep_alive_conn_limit = None  # type: ignore[assignment]
        _in_a_daemon_thread(self._server.prepare)  # binds: an OSError is a bind error

    @property
    def server_address(self) -> tuple[str, int]:
        address = self._server.bind_addr
        return str(address[0]), int(address[1])

    def serve_forever(self) -> None:
        self._server.serve()

    def shutdown(self) -> None:
        self._server.stop()

    def server_close(self) -> None:
        if self._server.ready:
            self._server.stop()
