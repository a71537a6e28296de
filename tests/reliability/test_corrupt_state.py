"""Every corrupt, foreign or future state file (and journal) gives exit 2 with what is wrong
and what to do, never a traceback and never a change; `down --ignore-state` and `audit`
still work from the tags alone (issue 16, items 3 and 6).

`make test` runs every variant through `plan`; `make test-full` through every command that
reads the state.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from smus_mesh.engine.state import SCHEMA_VERSION, State
from smus_mesh.errors import StateError
from tests.e2e.conftest import example_document
from tests.e2e.helpers import assert_inventory_unchanged, last_seq, mutating_calls
from tests.reliability.conftest import run_cli
from tests.support import Cloud

RECORD = {"kind": "iam:role", "account": "producer", "account_id": "111111111111"}
IGNORE_HINT = "`smus-mesh down --ignore-state` and `smus-mesh audit` find what the set-up made"


def _document(**changes: Any) -> bytes:
    return json.dumps({"schema_version": SCHEMA_VERSION, "setup": "demo", **changes}).encode()


#: name -> (state file bytes, journal bytes or None, what the message must say)
VARIANTS: dict[str, tuple[bytes, bytes | None, str]] = {
    "garbage bytes": (b"\x00\xff\xfe\x80 not a state \x9c", None, "is not UTF-8"),
    "empty file": (b"", None, "is not JSON"),
    "not JSON": (b"{schema_version: 1", None, "is not JSON"),
    "deeply nested JSON": (b"[" * 100_000, None, "is not JSON"),
    "a JSON list": (b"[1, 2]", None, "is not a smus-mesh state file"),
    "a JSON number": (b"5", None, "is not a smus-mesh state file"),
    "resources a list": (_document(resources=[]), None, "is not a smus-mesh state file"),
    "schema_version text": (
        _document(schema_version="abc"),
        None,
        "schema_version is 'abc', not a version number",
    ),
    "schema_version null": (
        _document(schema_version=None),
        None,
        "schema_version is 'None', not a version number",
    ),
    "schema_version true": (
        _document(schema_version=True),
        None,
        "schema_version is 'True', not a version number",
    ),
    "schema_version negative": (
        _document(schema_version=-1),
        None,
        "schema_version is '-1', not a version number",
    ),
    "schema_version from the future": (
        _document(schema_version=SCHEMA_VERSION + 1),
        None,
        f"newer than this smus-mesh understands ({SCHEMA_VERSION}); upgrade smus-mesh",
    ),
    "a record without kind": (
        _document(resources={"iam:role/x": {"account": "producer", "account_id": "1"}}),
        None,
        "the record 'iam:role/x' has no 'kind' text",
    ),
    "a record that is text": (
        _document(resources={"iam:role/x": "oops"}),
        None,
        "the record 'iam:role/x' is a str, not an object",
    ),
    "owned is not a boolean": (
        _document(resources={"iam:role/x": {**RECORD, "owned": "yes"}}),
        None,
        "'owned' is not true, false or null",
    ),
    "progress of the wrong type": (
        _document(resources={"iam:role/x": {**RECORD, "progress": {"retries": "many"}}}),
        None,
        "'progress.retries' has the wrong type",
    ),
    "progress with an unknown field": (
        _document(resources={"iam:role/x": {**RECORD, "progress": {"colour": "red"}}}),
        None,
        "'progress' has an unknown field 'colour'",
    ),
    "another set-up's state": (
        _document(setup="other", resources={}),
        None,
        "belongs to set-up 'other', not 'demo'; use --state",
    ),
    "journal line 5": (_document(resources={}), b"5\n", "line 1, is not an object with a 'key'"),
    "journal line [1]": (
        _document(resources={}),
        b'{"key": "a"}\n[1]\n',
        "line 2, is not an object with a 'key'",
    ),
    "journal line null": (_document(resources={}), b"null\n", "line 1, is not an object"),
    "journal key not text": (_document(resources={}), b'{"key": 5}\n', "is not an object"),
    "journal record without kind": (
        _document(resources={}),
        b'{"key": "k", "record": {"account": "a"}}\n',
        "line 1, has no 'kind' text",
    ),
}


def _corrupt(state: Path, content: bytes, journal: bytes | None) -> None:
    state.write_bytes(content)
    if journal is not None:
        state.with_name(state.name + ".journal").write_bytes(journal)


def _assert_refused(cloud: Cloud, args: list[str], since: int, said: str, state: Path) -> None:
    result = run_cli(*args)
    assert result.exit_code == 2, (args, result.output)
    assert result.stderr.startswith("error: "), result.stderr
    assert said in result.stderr, result.stderr
    assert str(state) in result.stderr or "state" in result.stderr
    assert "Traceback" not in result.output and "hit a bug" not in result.output
    assert mutating_calls(cloud, since) == [], args


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_a_corrupt_state_is_refused_with_what_to_do(tmp_path: Path, variant: str) -> None:
    """Every variant, at the library's edge: exit code 2 and the message (fast; the
    commands' handling of the error is the same for all, see the CLI tests below)."""
    content, journal, said = VARIANTS[variant]
    state = tmp_path / "demo.state.json"
    _corrupt(state, content, journal)
    with pytest.raises(StateError) as caught:
        State.load(state, "demo")
    assert caught.value.exit_code == 2
    assert said in str(caught.value)
    if "future" not in variant and "another set-up" not in variant:
        assert IGNORE_HINT in str(caught.value)
    assert state.read_bytes() == content  # left as it was


@pytest.mark.parametrize("variant", ["garbage bytes", "journal line [1]", "schema_version null"])
def test_a_command_on_a_corrupt_state_exits_2_with_no_change(
    cloud: Cloud,
    fast_polling: None,
    write_config: Callable[[dict[str, Any]], Path],
    tmp_path: Path,
    variant: str,
) -> None:
    content, journal, said = VARIANTS[variant]
    config = write_config(example_document())
    state = tmp_path / "demo.state.json"
    _corrupt(state, content, journal)
    since = last_seq(cloud)
    _assert_refused(cloud, ["-c", config, "--state", state, "up"], since, said, state)
    assert state.read_bytes() == content


@pytest.mark.full
@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize(
    "command", [("up",), ("down", "--yes"), ("status",), ("query",), ("plan", "down")]
)
def test_every_command_refuses_a_corrupt_state(
    cloud: Cloud,
    fast_polling: None,
    write_config: Callable[[dict[str, Any]], Path],
    tmp_path: Path,
    variant: str,
    command: tuple[str, ...],
) -> None:
    content, journal, said = VARIANTS[variant]
    config = write_config(example_document())
    state = tmp_path / "demo.state.json"
    _corrupt(state, content, journal)
    since = last_seq(cloud)
    _assert_refused(cloud, ["-c", config, "--state", state, *command], since, said, state)
    assert state.read_bytes() == content


def test_a_torn_journal_line_is_not_corruption(
    cloud: Cloud,
    fast_polling: None,
    write_config: Callable[[dict[str, Any]], Path],
    tmp_path: Path,
) -> None:
    """A killed run can leave half a line (even of invalid UTF-8) that the next run appends
    after: that is a crash, not damage, and the state loads."""
    config = write_config(example_document())
    state = tmp_path / "demo.state.json"
    _corrupt(state, _document(resources={}), b'{"key": "a", "rec\xe2\x82{"key": "b"}\n{"ke')
    result = run_cli("-c", config, "--state", state, "plan")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_a_state_path_that_is_not_a_file_is_refused_at_once(
    cloud: Cloud,
    fast_polling: None,
    write_config: Callable[[dict[str, Any]], Path],
    tmp_path: Path,
    kind: str,
) -> None:
    config = write_config(example_document())
    state = tmp_path / "demo.state.json"
    if kind == "directory":
        state.mkdir()
    else:
        os.mkfifo(state)  # reading it would wait forever for a writer
    since = last_seq(cloud)
    _assert_refused(
        cloud, ["-c", config, "--state", state, "plan"], since, "is not a regular file", state
    )


@pytest.mark.slow
def test_down_ignore_state_and_audit_work_from_tags_when_the_state_is_garbage(
    cloud: Cloud,
    fast_polling: None,
    write_config: Callable[[dict[str, Any]], Path],
    tmp_path: Path,
) -> None:
    config = write_config(example_document())
    state = tmp_path / "demo.state.json"
    before = cloud.inventory()
    assert run_cli("-c", config, "--state", state, "up").exit_code == 0
    garbage = b"\x00\xff garbage from a full disk"
    state.write_bytes(garbage)

    since = last_seq(cloud)
    _assert_refused(
        cloud, ["-c", config, "--state", state, "down", "--yes"], since, "is not UTF-8", state
    )

    audit = run_cli("-c", config, "--state", state, "audit")
    assert audit.exit_code == 1, audit.output  # everything is still there, and it says so
    assert "auditing from the tags alone" in audit.stderr
    assert "datazone_domains" in audit.stdout or "domain" in audit.stdout

    down = run_cli("-c", config, "--state", state, "down", "--yes", "--ignore-state")
    assert down.exit_code == 0, down.output
    assert f"note: the state file {state} was neither read nor changed" in down.stderr
    assert state.read_bytes() == garbage
    assert_inventory_unchanged(before, cloud.inventory(), "down --ignore-state")
    audit = run_cli("-c", config, "--state", state, "audit")
    assert audit.exit_code == 0, audit.output
