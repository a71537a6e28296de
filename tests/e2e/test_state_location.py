"""The state lives with the config (issue 12.4): `<config dir>/.smus-mesh/<name>.state.json`,
found from any working directory; a state file left by an older version in the working
directory is moved there (and the user told); a state file of another set-up of the same
name (another set-up id) is refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from smus_mesh.cli import app
from smus_mesh.engine.state import SETUP_KEY
from tests.e2e.conftest import example_document
from tests.e2e.helpers import assert_inventory_unchanged
from tests.support import Cloud

ENV = {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}


def cli(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env=ENV)


@pytest.fixture
def config_in_a_directory(
    tmp_path: Path, write_config: Callable[[dict[str, Any]], Path]
) -> tuple[Path, Path, Path]:
    """(config path, one working directory, another), none inside the other."""
    config = write_config(example_document())
    first = tmp_path / "first"
    second = tmp_path / "second"
    first.mkdir()
    second.mkdir()
    return config, first, second


def test_any_working_directory_finds_the_same_state(
    cloud: Cloud,
    fast_polling: None,
    config_in_a_directory: tuple[Path, Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config, first, second = config_in_a_directory
    expected = config.parent / ".smus-mesh" / "demo.state.json"
    before = cloud.inventory()

    monkeypatch.chdir(first)
    up = cli("-c", str(config), "up")
    assert up.exit_code == 0, up.output
    assert expected.is_file()
    assert not (first / ".smus-mesh").exists()
    document = json.loads(expected.read_text())
    assert document["setup"] == "demo"
    assert len(document["resources"][SETUP_KEY]["identity"]["setup_id"]) == 16

    # From elsewhere: the same state, nothing to do; `down` undoes everything (it needs
    # what only the state knows, such as the set-up id).
    monkeypatch.chdir(second)
    plan = cli("-c", str(config), "plan", "--expect-no-changes")
    assert plan.exit_code == 0, plan.output
    down = cli("-c", str(config), "down", "--yes")
    assert down.exit_code == 0, down.output
    assert not (second / ".smus-mesh").exists()
    assert not expected.exists()
    assert_inventory_unchanged(before, cloud.inventory(), "down from another directory")


def test_a_state_file_in_the_old_place_is_moved_next_to_the_config(
    cloud: Cloud,
    fast_polling: None,
    config_in_a_directory: tuple[Path, Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config, first, _ = config_in_a_directory
    legacy = first / ".smus-mesh" / "demo.state.json"
    legacy.parent.mkdir()
    content = json.dumps({"schema_version": 1, "setup": "demo", "resources": {}})
    legacy.write_text(content)
    monkeypatch.chdir(first)

    plan = cli("-c", str(config), "plan")
    assert plan.exit_code == 0, plan.output
    expected = config.parent / ".smus-mesh" / "demo.state.json"
    assert plan.stderr.startswith(
        f"note: moved the state file from {legacy.resolve()} (where older versions kept it) "
        f"to {expected}, next to the config\n"
    ), plan.stderr
    assert not legacy.exists()
    assert expected.read_text() == content

    # Both places holding a state: refused, nothing moved.
    legacy.write_text(content)
    both = cli("-c", str(config), "plan")
    assert both.exit_code == 2
    assert both.stderr == (
        f"error: two state files for set-up 'demo': {expected} (next to the config) and "
        f"{legacy.resolve()} (the working directory, where older versions kept it); keep the "
        "right one and remove the other, or choose with --state\n"
    )
    assert legacy.exists() and expected.exists()


def test_the_state_file_of_another_set_up_of_the_same_name_is_refused(
    cloud: Cloud,
    fast_polling: None,
    config_in_a_directory: tuple[Path, Path, Path],
    tmp_path: Path,
) -> None:
    config, _, _ = config_in_a_directory
    state = tmp_path / "state.json"
    up = cli("-c", str(config), "--state", str(state), "up")
    assert up.exit_code == 0, up.output
    mine = json.loads(state.read_text())["resources"][SETUP_KEY]["identity"]["setup_id"]

    # Another config named `demo`, elsewhere, with a state of its own: its id differs.
    theirs = tmp_path / "theirs.json"
    record = {"kind": "smus-mesh:setup", "account": "", "account_id": ""}
    record["identity"] = {"setup_id": "0123456789abcdef"}  # type: ignore[assignment]
    theirs.write_text(
        json.dumps({"schema_version": 1, "setup": "demo", "resources": {SETUP_KEY: record}})
    )
    before = theirs.read_text()
    refused = cli("-c", str(config), "--state", str(theirs), "plan")
    assert refused.exit_code == 2
    assert refused.stderr.startswith(
        f"error: {theirs} belongs to set-up 'demo' with id 0123456789abcdef, but the domain "
        f"smus-mesh-demo ("
    ), refused.stderr
    assert refused.stderr.endswith(
        f") belongs to the set-up of that name with id {mine}: this state file is another "
        "set-up's; use --state to point at the right file\n"
    ), refused.stderr
    assert theirs.read_text() == before
    down = cli("-c", str(config), "--state", str(state), "down", "--yes")
    assert down.exit_code == 0, down.output
