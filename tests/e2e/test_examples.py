"""Every file in examples/ is a test: `up`, `query`, `down` through the CLI against the
emulator, nothing left behind. A template's placeholders (`<111122223333>`, `<profile>`)
are replaced by the emulated organization's accounts; a `profile:` becomes a profile of
a temporary AWS config file that assumes the account's OrganizationAccountAccessRole.

examples/three-accounts.yaml (an organization of three member accounts) and
examples/two-accounts.yaml (the demo) have tests of their own; `test_every_example_is_run`
makes sure no example is left out as files are added.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from smus_mesh.cli import app
from tests.e2e.conftest import EXAMPLE as THE_EXAMPLE
from tests.support import CONSUMER_ACCOUNT, DOMAIN_ACCOUNT, Cloud

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
ENV = {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}

#: Examples whose up, query and down run in a test of their own, and where (run again here,
#: they would add half a minute each to the suite and prove nothing new).
ELSEWHERE = {
    "three-accounts.yaml": "tests/e2e/test_three_accounts.py",
    "two-accounts.yaml": "tests/e2e/test_flow.py",
}

#: What each template placeholder becomes on the emulator.
PLACEHOLDERS = {
    "<111122223333>": DOMAIN_ACCOUNT,
    "<444455556666>": CONSUMER_ACCOUNT,
    "<sales-mesh-data-111122223333>": f"sales-mesh-data-{DOMAIN_ACCOUNT}",
    "<DataPlatformAdmin>": "OrganizationAccountAccessRole",
    "<optional-external-id>": "smus-mesh-example",
    "<producer-admin>": "producer-admin",
}
#: A placeholder left in a line that is not a comment.
_PLACEHOLDER = re.compile(r"^[^#]*<[^>\n]+>", re.MULTILINE)


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env=ENV)


def on_the_emulator(example: Path, directory: Path) -> Path:
    """A copy of `example` whose placeholders name the emulated accounts, and (when it
    uses profiles) an AWS config file that defines them, as AWS_CONFIG_FILE expects."""
    text = example.read_text(encoding="utf-8")
    for placeholder, value in PLACEHOLDERS.items():
        text = text.replace(placeholder, value)
    left = _PLACEHOLDER.findall(text)
    assert not left, f"{example.name}: placeholders without an emulator value: {left}"
    profiles = sorted(set(re.findall(r"^\s+profile:\s*([\w-]+)", text, re.MULTILINE)))
    lines = []
    for profile in profiles:
        # The profile of the account it serves (the account_id a few lines above it).
        account = re.search(
            rf'account_id:\s*"(\d{{12}})"\s*\n\s*profile:\s*{re.escape(profile)}\b', text
        )
        assert account, f"{example.name}: profile {profile} is not right below an account_id"
        lines += [
            f"[profile {profile}]",
            f"role_arn = arn:aws:iam::{account.group(1)}:role/OrganizationAccountAccessRole",
            "credential_source = Environment",
        ]
    (directory / "aws-config").write_text("\n".join(lines) + "\n", encoding="utf-8")
    path = directory / example.name
    path.write_text(text, encoding="utf-8")
    return path


RUN_HERE = sorted(p.name for p in EXAMPLES.glob("*.yaml") if p.name not in ELSEWHERE)


def test_every_example_is_run() -> None:
    every = {p.name for p in EXAMPLES.glob("*.yaml")}
    assert every == set(RUN_HERE) | set(ELSEWHERE)
    assert "real-aws.yaml" in RUN_HERE
    for name, test in ELSEWHERE.items():
        assert (ROOT / test).is_file(), (name, test)
    # test_flow's workspace is built from the example (tests/e2e/conftest.py)
    assert THE_EXAMPLE == EXAMPLES / "two-accounts.yaml"
    assert "three-accounts.yaml" in (ROOT / ELSEWHERE["three-accounts.yaml"]).read_text()
    # the packaged copy `smus-mesh demo` runs is the example itself
    packaged = ROOT / "src" / "smus_mesh" / "examples" / "two-accounts.yaml"
    assert packaged.read_bytes() == (EXAMPLES / "two-accounts.yaml").read_bytes()


@pytest.mark.parametrize("name", RUN_HERE)
def test_example_up_query_down_leaves_nothing(
    name: str,
    cloud: Cloud,
    fast_polling: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = on_the_emulator(EXAMPLES / name, tmp_path)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    before = cloud.inventory()
    common = ("-c", config, "--output", "json")

    up = run(*common, "up", "--auto-approve")
    assert up.exit_code == 0, up.output
    report = json.loads(up.stdout)
    assert report["ok"] is True
    # every request was decided by the producer's policy (auto or rules): none waits
    assert report["awaiting_approval"] == []
    assert "wait for the producer" not in up.stderr
    # every step of the config exists now: a second plan has nothing to do
    again = run(*common, "plan", "--expect-no-changes")
    assert again.exit_code == 0, again.output

    query = run(*common, "query")
    assert query.exit_code == 0, query.output
    checks = json.loads(query.stdout)["checks"]
    assert checks and all(c["ok"] for c in checks), checks
    assert all(c["rows"] for c in checks), checks

    down = run(*common, "down", "--yes")
    assert down.exit_code == 0, down.output
    assert json.loads(down.stdout)["audit"]["leftovers"] == 0
    assert cloud.inventory() == before
    # the state lives next to the config and is gone with the set-up
    assert not list((tmp_path / ".smus-mesh").glob("*.state.json"))
