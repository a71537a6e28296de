"""Fixtures for driving the tool against the emulator: a config file, a workspace, a CLI."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest
import yaml

from smus_mesh.config import Config, parse_config
from smus_mesh.engine.workspace import Workspace
from smus_mesh.settings import Settings
from smus_mesh_emulator import snapshot
from smus_mesh_emulator.runtime import RUNTIME
from tests.support import Cloud

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "two-accounts.yaml"

#: Poll the emulator fast: with latency "none" an object is done once it has been read.
FAST = {"poll_initial": 0.005, "poll_max": 0.05, "timeout": 120}


@functools.cache
def _example() -> dict[str, Any]:
    """examples/two-accounts.yaml, parsed once per process (PyYAML's pure-Python loader took
    ~5 ms a parse, and tests ask for it hundreds of times; ADR 41)."""
    document: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    return document


def example_document() -> dict[str, Any]:
    """The example's config document: the test's own copy, to change as it likes."""
    return copy.deepcopy(_example())


@pytest.fixture
def fast_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Subprocess runs (the CLI, killed runs) read the same knobs from the environment."""
    monkeypatch.setenv("SMUS_MESH_POLL_INITIAL", str(FAST["poll_initial"]))
    monkeypatch.setenv("SMUS_MESH_POLL_MAX", str(FAST["poll_max"]))
    monkeypatch.setenv("SMUS_MESH_TIMEOUT", str(FAST["timeout"]))


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[dict[str, Any]], Path]:
    def write(document: dict[str, Any]) -> Path:
        path = tmp_path / "smus-mesh.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        return path

    return write


@pytest.fixture
def make_workspace(cloud: Cloud, tmp_path: Path, fast_polling: None) -> Callable[..., Workspace]:
    """Build a Workspace on the emulated cloud from a config document (default: the example)."""

    def make(document: dict[str, Any] | None = None, state: Path | None = None) -> Workspace:
        config: Config = parse_config(document or example_document(), "test config")
        return Workspace(
            config,
            state or tmp_path / "state.json",
            settings=Settings.load({**FAST, **config.settings}),
        )

    return make


@dataclass(frozen=True)
class Deployed:
    """The example after `up`: its state file, and the inventory of the cloud before."""

    state: Path
    before: dict[str, Any]


#: Per process and IAM mode: the cloud and the state file as the example's `up` left them.
_DEPLOYED: dict[str, tuple[snapshot.Snapshot, bytes]] = {}


@pytest.fixture
def deploy_example(
    cloud: Cloud, make_workspace: Callable[..., Workspace]
) -> Callable[[Path], Deployed]:
    """Set up the example with its state at a path, for tests about what comes after `up`.
    The process's first such `up` runs; the next restore the cloud and the state file
    that it left (smus_mesh_emulator.snapshot, ADR 32): the same world, the copy costing
    0.5-1.3 s of CPU where the `up` costs 2-5.5 s."""

    def deploy(state: Path) -> Deployed:
        before = cloud.inventory()
        saved = _DEPLOYED.get(RUNTIME.iam)
        if saved is None:
            report = make_workspace(state=state).up()
            assert report.ok, [f.message for f in report.failures]
            _DEPLOYED[RUNTIME.iam] = (snapshot.take(), state.read_bytes())
        else:
            snapshot.restore(saved[0])
            state.parent.mkdir(parents=True, exist_ok=True)
            state.write_bytes(saved[1])
        return Deployed(state, before)

    return deploy


@pytest.fixture
def deployed_example(deploy_example: Callable[[Path], Deployed], tmp_path: Path) -> Deployed:
    """The example set up (`deploy_example`), its state file in the test's directory."""
    return deploy_example(tmp_path / "state.json")


T = TypeVar("T")


@dataclass(frozen=True)
class _SetUp:
    cloud: snapshot.Snapshot
    files: tuple[bytes, ...]
    result: Any


#: Per process and IAM mode, by name and config documents: a set-up shared by several
#: tests, as its first run left the cloud, its files and what it returned.
_SET_UPS: dict[tuple[str, str], _SetUp] = {}


class SetUpOnce(Protocol):
    def __call__(
        self,
        name: str,
        documents: Sequence[dict[str, Any]],
        build: Callable[[], T],
        files: Sequence[Path] = (),
    ) -> T: ...


@pytest.fixture
def set_up_once(cloud: Cloud) -> SetUpOnce:
    """A set-up several tests share (neighbours made before the set-up a test is about),
    run once per process: `build()` runs in the first test that asks for it under `name`
    and `documents` (the configs it sets up); the cloud, the state `files` and what
    `build` returned (values the tests only read) are kept, and the next tests restore
    them (ADR 32, ADR 38). `build` may start from another shared set-up. Either way the
    calls log starts empty after it (a restored cloud has none), so a test can only look
    at calls it made itself."""

    def once(
        name: str,
        documents: Sequence[dict[str, Any]],
        build: Callable[[], T],
        files: Sequence[Path] = (),
    ) -> T:
        key = (RUNTIME.iam, f"{name} {json.dumps(list(documents), sort_keys=True)}")
        saved = _SET_UPS.get(key)
        if saved is None:
            result = build()
            files_after = tuple(path.read_bytes() for path in files)
            _SET_UPS[key] = _SetUp(snapshot.take(), files_after, result)
            cloud.admin("POST", "calls/reset")
            return result
        snapshot.restore(saved.cloud)
        # Temporary credentials issued before the restore are unknown to the restored STS:
        # the handle's sessions and clients are made anew.
        cloud.close()
        for path, content in zip(files, saved.files, strict=True):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        return saved.result  # type: ignore[no-any-return]

    return once
