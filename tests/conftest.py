"""Shared fixtures: one in-thread emulator per test process, no network.

* `emulator_server` (session): the emulator on a free loopback port, strict
  (a DataZone response that breaks the botocore model fails the request), with a
  first-read grace of TEST_FIRST_READ_GRACE, under strict IAM (TEST_IAM).
* `cloud`: resets the emulated cloud, points the AWS environment at it and hands
  out sessions/clients per account (assumed `OrganizationAccountAccessRole`).
* Sockets to anything but loopback raise, so no test can reach AWS.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import typer.testing

from smus_mesh.demo import GC_THRESHOLDS, freeze_heap
from smus_mesh.engine.workspace import Workspace
from smus_mesh_emulator.progress import FIRST_READ_GRACE
from smus_mesh_emulator.server import EmulatorServer
from tests.support import REGION, TEST_FIRST_READ_GRACE, TEST_IAM, Cloud

_real_connect = socket.socket.connect

# Typer's CliRunner builds the click command from the app's annotations again on every
# `invoke` (~30 ms of CPU); the suite invokes the CLI over a thousand times. The command
# holds no state of a run (click makes a new context per invocation), so each process
# builds it once, as the installed `smus-mesh` does.
typer.testing._get_command = functools.cache(typer.testing._get_command)

#: Test files that run whole flows (tens of seconds a test), roughly slowest first. They
#: are collected first, so that with `--maxschedchunk 2` (make test) xdist hands the long
#: tests out before the short ones and the workers finish together instead of one worker
#: running a long flow at the end while the others idle.
_LONG_FIRST = (
    "tests/e2e/test_converge.py",
    "tests/e2e/test_collaboration.py",
    "tests/reliability/test_interrupt.py",
    "tests/cli/test_json_contract.py",
    "tests/e2e/test_resume.py",
    "tests/e2e/test_neighbours.py",
    "tests/reliability/test_config_fuzz.py",
    "tests/e2e/test_no_secrets.py",
    "tests/cli/test_up_confirm.py",
    "tests/e2e/test_least_privilege.py",
    "tests/emulator/test_cli_scenario.py",
    "tests/e2e/test_audit.py",
    "tests/e2e/",
    "tests/reliability/",
    "tests/cli/",
    "tests/emulator/test_workflow.py",
)


# The collector of a test process (ADR 37): the process holds millions of objects that live
# as long as it does (botocore's models, moto's backends, the emulator), and every full
# collection walked them all: about a tenth of the suite's CPU. They are frozen out of its
# sight (`freeze_heap`), and the youngest generation is collected every 50,000 net
# allocations instead of 700 (`GC_THRESHOLDS`, as `smus-mesh demo`), so full collections
# are rare. That is safe because nothing leaves its connections to the collector to close
# (`Workspace.close`, `Cloud.close`).
def pytest_collection_finish(session: pytest.Session) -> None:
    gc.set_threshold(*GC_THRESHOLDS)
    freeze_heap()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """No last collection: pytest collects once more as it ends (to report exceptions of
    finalisers), and with full collections this rare it walked half a million objects of
    garbage, 0.5-1 s of each worker's CPU after its last test (ADR 37). The process exits
    next; freezing leaves that garbage to the operating system, as `smus-mesh` does (ADR 39)."""
    gc.freeze()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::")[0]
        return next(
            (i for i, prefix in enumerate(_LONG_FIRST) if path.startswith(prefix)),
            len(_LONG_FIRST),
        )

    items.sort(key=rank)  # stable: each file keeps its own order


def _loopback_only(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and self.family in (socket.AF_INET, socket.AF_INET6):
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise OSError(f"tests may not open network connections (tried {address!r})")
    return _real_connect(self, address)


@pytest.fixture(scope="session", autouse=True)
def _no_network() -> Iterator[None]:
    socket.socket.connect = _loopback_only  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


@pytest.fixture(scope="session", autouse=True)
def _aws_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No user AWS config, profile or endpoint may leak into a test."""
    patch = pytest.MonkeyPatch()
    empty = tmp_path_factory.mktemp("aws") / "empty"
    empty.write_text("")
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "MOTO_ACCOUNT_ID"):
        patch.delenv(name, raising=False)
    patch.setenv("AWS_CONFIG_FILE", str(empty))
    patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    patch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    patch.setenv("AWS_SECRET_ACCESS_KEY", "emulator-secret")
    patch.setenv("AWS_DEFAULT_REGION", REGION)
    patch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    yield
    patch.undo()


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[EmulatorServer]:
    # A first read that comes 0.2 s (the default grace) after a create on a loaded machine
    # would see the final status and fail a test asserting the in-progress one; tests of
    # the default bound set it back (`default_grace`).
    server = EmulatorServer(
        strict=True, first_read_grace=TEST_FIRST_READ_GRACE, iam=TEST_IAM
    ).start()
    freeze_heap()  # the emulator's modules and prewarmed state
    yield server
    server.stop()


@pytest.fixture
def cloud(emulator_server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    """A freshly reset emulated cloud, with AWS_ENDPOINT_URL pointing at it. At the end,
    the connections of its clients and of every `Workspace` the test made are closed
    (the CLI closes its own): not left to the garbage collector (see ADR 37)."""
    handle = Cloud(emulator_server.url)
    handle.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator_server.url)
    # Held to the end: a workspace a test dropped is freed at once, but its clients (a web
    # of reference cycles) live on, their connections open, until a full collection.
    workspaces: list[Workspace] = []
    build = Workspace.__init__

    def tracked(self: Workspace, *args: Any, **kwargs: Any) -> None:
        build(self, *args, **kwargs)
        workspaces.append(self)

    monkeypatch.setattr(Workspace, "__init__", tracked)
    yield handle
    for workspace in workspaces:
        workspace.close()
    handle.close()


@contextlib.contextmanager
def _grace(server: EmulatorServer, seconds: float) -> Iterator[None]:
    """The emulator's first-read grace set to `seconds`, then the suite's again."""
    admin = Cloud(server.url)
    admin.admin("POST", "latency", {"first_read_grace": seconds})
    try:
        yield
    finally:
        admin.admin("POST", "latency", {"first_read_grace": TEST_FIRST_READ_GRACE})


@pytest.fixture
def default_grace(emulator_server: EmulatorServer) -> Iterator[float]:
    """The emulator's default first-read grace for one test (`serve`'s), restored after."""
    with _grace(emulator_server, FIRST_READ_GRACE):
        yield FIRST_READ_GRACE


@pytest.fixture(autouse=True)
def _first_read_grace(request: pytest.FixtureRequest) -> Iterator[None]:
    """`@pytest.mark.first_read_grace(seconds)`: the emulator's first-read grace for one test,
    restored after. For a test that asserts an in-progress first read after other work: on
    a loaded machine that read can come later than TEST_FIRST_READ_GRACE. A long grace costs
    nothing for objects the test reads (a read ends the wait); only unread ones wait it out."""
    marker = request.node.get_closest_marker("first_read_grace")
    if marker is None:
        yield
        return
    with _grace(request.getfixturevalue("emulator_server"), float(marker.args[0])):
        yield


@pytest.fixture
def enforced_iam(cloud: Cloud) -> Iterator[Cloud]:
    """`cloud` with strict IAM (signatures and policies checked) for one test."""
    assert cloud.admin("POST", "iam", {"mode": "enforce"}) == {"mode": "enforce"}
    try:
        yield cloud
    finally:
        cloud.admin("POST", "iam", {"mode": TEST_IAM})


@pytest.fixture
def iam_off(cloud: Cloud) -> Iterator[Cloud]:
    """`cloud` with IAM not enforced (any signature, no policy) for one test."""
    assert cloud.admin("POST", "iam", {"mode": "off"}) == {"mode": "off"}
    try:
        yield cloud
    finally:
        cloud.admin("POST", "iam", {"mode": TEST_IAM})
