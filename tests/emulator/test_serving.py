"""The emulator's socket reader (ADR 41) reads what cheroot's own `StreamReader` reads:
the same lines and byte counts, however the peer's bytes arrive."""

from __future__ import annotations

import random
import socket
import threading
from collections.abc import Callable
from typing import Any

import pytest
from cheroot.makefile import StreamReader

from smus_mesh_emulator.serving import _SocketReader

REQUESTS = (
    b'POST /v2/domains HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 11\r\n\r\n{"a": "b"}\n'
    b"GET / HTTP/1.1\r\n" + b"X-Long: " + b"x" * 20_000 + b"\r\n\r\n" + b"tail without newline"
)

#: (method, size) pairs a server would ask for, ending with a read to the end
CALLS: list[tuple[str, int | None]] = [
    ("readline", None),
    ("readline", 65_537),
    ("readline", 10),
    ("readline", -1),
    ("readline", 2),
    ("read", 0),
    ("read", 5),
    ("read", 6),
    ("readline", 65_537),
    ("readline", 100),
    ("readline", 0),
    ("readline", 30_000),
    ("read", 2),
    ("read", 3),
    ("read", 30_000),
    ("read", -1),
    ("readline", -1),
    ("read", 5),
]


def _answers(make: Callable[[socket.socket], Any], pieces: list[bytes]) -> list[Any]:
    ours, peer = socket.socketpair()
    ours.settimeout(5)

    def send() -> None:
        for piece in pieces:
            peer.sendall(piece)
        peer.shutdown(socket.SHUT_WR)

    sender = threading.Thread(target=send)
    sender.start()
    reader = make(ours)
    answers: list[Any] = []
    for method, size in CALLS:
        answers.append(getattr(reader, method)(size))
        answers.append(reader.has_data())
    answers.append(reader.bytes_read)
    reader.close()
    sender.join()
    ours.close()
    peer.close()
    return answers


@pytest.mark.parametrize("seed", range(6))
def test_the_reader_reads_what_cheroots_reads(seed: int) -> None:
    rng = random.Random(seed)
    pieces, rest = [], REQUESTS
    while rest:
        size = rng.choice([1, 3, 17, 500, 8_192, 40_000])
        pieces.append(rest[:size])
        rest = rest[size:]
    theirs = _answers(lambda sock: StreamReader(sock, "rb", 8192), pieces)
    ours = _answers(lambda sock: _SocketReader(sock, 8192), pieces)
    # has_data depends on how much each reader happened to receive; the bytes may not.
    assert ours[0::2][:-1] == theirs[0::2][:-1]
    assert b"".join(ours[0:-1:2]) == REQUESTS
    assert ours[-1] == theirs[-1]


def test_a_timed_out_reader_is_not_read_again() -> None:
    ours, peer = socket.socketpair()
    ours.settimeout(0.01)
    reader = _SocketReader(ours, 8192)
    with pytest.raises(TimeoutError):
        reader.readline()
    peer.sendall(b"late\n")
    with pytest.raises(OSError, match="timed out"):
        reader.readline()
    reader.close()
    with pytest.raises(ValueError):
        reader.read(1)
    ours.close()
    peer.close()
