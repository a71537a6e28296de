"""`smus-mesh demo`: the whole collaboration, on the embedded emulator, in one command.

Starts the emulator in this process on a free loopback port, points the AWS
environment at it (only for the duration, and only through the standard
variables the tool already honours), and runs `up`, the consumer's checks,
`down` and `audit` on the bundled two-account example. The state file and an
empty AWS config live in a temporary directory that is removed at the end:
nothing is written anywhere else, and no real credentials are read.

The result is honest about what happened: the emulator's own inventory of both
accounts is compared before `up` and after `down`, besides the tool's audit.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smus_mesh.config import Config, parse_config
from smus_mesh.console import Console
from smus_mesh.settings import Settings

if TYPE_CHECKING:
    from smus_mesh.engine.workspace import Workspace

#: The AWS environment the demo sets while it runs (and restores after).
_AWS_VARIABLES = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_DEFAULT_REGION",
    "AWS_EC2_METADATA_DISABLED",
)


def bundled_example() -> Config:
    text = resources.files("smus_mesh").joinpath("examples/two-accounts.yaml").read_text()
    import yaml

    return parse_config(yaml.safe_load(text), "two-accounts.yaml (bundled)")


@contextlib.contextmanager
def emulated_environment(endpoint: str, workdir: Path, region: str) -> Iterator[None]:
    """Point boto3 at the emulator with dummy credentials; restore everything after."""
    saved = {name: os.environ.get(name) for name in _AWS_VARIABLES}
    empty = workdir / "aws-config"
    empty.write_text("")
    values = {
        "AWS_ENDPOINT_URL": endpoint,
        # The emulator's root test keys of the management account (the only ones it
        # accepts besides the sessions they assume); not credentials of any AWS account.
        "AWS_ACCESS_KEY_ID": "AKIAEMULATORDEMO0000",
        "AWS_SECRET_ACCESS_KEY": "emulator-demo",
        "AWS_CONFIG_FILE": str(empty),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        "AWS_DEFAULT_REGION": region,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    try:
        for name in _AWS_VARIABLES:
            os.environ.pop(name, None)
        os.environ.update(values)
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@dataclass
class DemoReport:
    ok: bool
    accounts: dict[str, str]
    phases: dict[str, float] = field(default_factory=dict)
    created: int = 0
    checks: list[dict[str, Any]] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    leftovers_audit: int = 0
    leftovers_emulator: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    #: The SVG of the mesh drawn after up and the queries (None: not drawn).
    diagram: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "accounts": self.accounts,
            "seconds": {k: round(v, 2) for k, v in self.phases.items()},
            "resources_created": self.created,
            "checks": self.checks,
            "aws_calls": self.calls,
            "leftovers": {
                "audit": self.leftovers_audit,
                "emulator_inventory_diff": self.leftovers_emulator,
            },
            "failures": self.failures,
            "diagram": self.diagram,
        }


def _admin(url: str, path: str) -> Any:
    with urllib.request.urlopen(f"{url}/_emulator/{path}", timeout=60) as response:
        return json.loads(response.read())


def _inventory_diff(
    before: dict[str, Any], after: dict[str, Any]
) -> dict[str, dict[str, list[Any]]]:
    diff: dict[str, dict[str, list[Any]]] = {}
    for account, classes in after.items():
        for cls, items in classes.items():
            old = before.get(account, {}).get(cls, [])
            extra = [item for item in items if item not in old]
            if extra:
                diff.setdefault(account, {})[cls] = extra
    return diff


def _draw(workspace: Workspace, path: Path, report: DemoReport) -> str | None:
    """The mesh as observed, as SVG at `path`; its absolute path (None if not written)."""
    from smus_mesh.diagram import observe_mesh, to_svg

    try:
        path.write_text(to_svg(observe_mesh(workspace)), encoding="utf-8")
    except OSError as exc:
        report.failures.append(f"diagram: cannot write {path}: {exc.strerror or exc}")
        return None
    return str(path.resolve())


def demo_settings(config: Config, latency: str, time_scale: float) -> Settings:
    """Poll the emulator at its own pace: AWS-like intervals scaled like its durations
    (with no latency, an object is done as soon as it has been read once)."""
    scale = 0.01 if latency == "none" else time_scale
    overrides = {
        "poll_initial": 2.0 * scale,
        "poll_max": max(30.0 * scale, 0.05),
        **config.settings,
    }
    return Settings.load(overrides)


#: The collector's thresholds of a process that holds the emulator (ADR 37): the youngest
#: generation is collected every 50,000 net allocations instead of 700.
GC_THRESHOLDS = (50_000, 20, 100)


def freeze_heap() -> None:
    """What the process holds now moves out of the collector's sight (`gc.freeze`): a
    collection walks only what was made since. Collected first, so that no garbage is
    frozen with it."""
    import gc

    gc.collect()
    gc.freeze()


def collect_less() -> None:
    """Tune this process's garbage collector for a demo (ADR 37): the process holds the
    emulator and botocore's models, millions of objects that live as long as it does, and
    every full collection walked them all (10 a demo, 2 s of its 8.5 s of CPU). They are
    imported and frozen (`freeze_heap`), and the thresholds are `GC_THRESHOLDS`: 0.35 s
    of collection, 2 s less CPU, about 70 MB more at the peak. For the CLI's process, which
    ends with the demo; a library caller keeps its own collector's settings."""
    import gc

    import smus_mesh_emulator.server  # noqa: F401  (its modules, frozen with the rest)

    gc.set_threshold(*GC_THRESHOLDS)
    freeze_heap()


def run_demo(
    console: Console,
    latency: str = "none",
    time_scale: float = 1.0,
    diagram: Path | None = None,
    iam: str = "enforce",
) -> DemoReport:
    """up, query, down and audit on the emulator; `ok` only if rows came back and nothing
    is left in either account. With `diagram`, the mesh as observed after the queries is
    written there as SVG."""
    from smus_mesh.collaboration import Collaboration
    from smus_mesh.engine.workspace import Workspace
    from smus_mesh_emulator.server import EmulatorServer

    config = bundled_example()
    accounts = {alias: config.account_id(alias) for alias in config.used_accounts()}
    report = DemoReport(False, accounts)
    with (
        tempfile.TemporaryDirectory(prefix="smus-mesh-demo-") as tmp,
        EmulatorServer(latency=latency, time_scale=time_scale, prewarm=True, iam=iam) as emulator,
        emulated_environment(emulator.url, Path(tmp), config.region),
    ):
        console.info(f"emulator on {emulator.url} (latency {latency}); accounts {accounts}")
        before = _admin(emulator.url, "inventory")["accounts"]
        with Workspace(
            config,
            Path(tmp) / "demo.state.json",
            console,
            settings=demo_settings(config, latency, time_scale),
        ) as workspace:
            started = time.monotonic()
            up = workspace.up()
            report.phases["up"] = time.monotonic() - started
            report.created = sum(1 for step in up.results if step.action == "create" and step.ok)
            report.failures += [f"up: {f.key}: {f.message}" for f in up.failures]

            if up.ok:
                started = time.monotonic()
                results = Collaboration(workspace).run_checks()
                report.phases["query"] = time.monotonic() - started
                report.checks = [r.to_dict() for r in results]
                report.failures += [f"check {r.name}: {r.message}" for r in results if not r.ok]
                if diagram is not None:
                    report.diagram = _draw(workspace, diagram, report)

            started = time.monotonic()
            down, leftovers = workspace.down()
            report.phases["down"] = time.monotonic() - started
            report.failures += [f"down: {f.key}: {f.message}" for f in down.failures]
            report.leftovers_audit = leftovers.count()

        after = _admin(emulator.url, "inventory")["accounts"]
        report.leftovers_emulator = _inventory_diff(before, after)
        calls = _admin(emulator.url, "calls")["calls"]
        report.calls = {
            "total": len(calls),
            "mutating": sum(1 for c in calls if c["mutating"]),
            "reads": sum(1 for c in calls if not c["mutating"]),
            "errors": sum(1 for c in calls if c["status"] >= 400),
        }
    rows_back = bool(report.checks) and all(c["ok"] and c["rows"] for c in report.checks)
    report.ok = (
        rows_back
        and not report.failures
        and report.leftovers_audit == 0
        and not report.leftovers_emulator
    )
    return report
