"""The state file: atomic, private, versioned, migrated in order, free of credentials, locked."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from smus_mesh.engine import state as state_module
from smus_mesh.engine.state import SCHEMA_VERSION, State, locked, migrate
from smus_mesh.errors import StateError, StateLockedError


def new_state(tmp_path: Path) -> State:
    state = State.load(tmp_path / "s" / "demo.state.json", "demo")
    state.record("datazone:domain/demo", "datazone:domain", "producer", "111111111111")
    state.update("datazone:domain/demo", identity={"id": "dzd_1"}, owned=True, status="COMPLETE")
    return state


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


class Unprintable:
    """A value that breaks serialisation half-way through a save."""

    def __str__(self) -> str:
        raise RuntimeError("cannot serialise")


def test_save_writes_a_versioned_private_file(tmp_path: Path) -> None:
    state = new_state(tmp_path)
    state.save()
    document = json.loads(state.path.read_text())
    assert document["schema_version"] == SCHEMA_VERSION
    assert document["setup"] == "demo"
    assert document["resources"]["datazone:domain/demo"]["identity"] == {"id": "dzd_1"}
    assert document["resources"]["datazone:domain/demo"]["owned"] is True
    assert mode(state.path) == 0o600
    # compacted: the journal is gone and no temporary file is left next to the state
    assert not state.journal_path.exists()
    assert sorted(p.name for p in state.path.parent.iterdir()) == ["demo.state.json"]


def test_a_record_is_written_whole_as_a_copy_one_line_each(tmp_path: Path) -> None:
    state = new_state(tmp_path)
    state.record("datazone:project/p", "datazone:project", "consumer", "222222222222")
    state.update(
        "datazone:project/p",
        identity={"id": "p1", "nested": {"list": [1, {"sessionToken": "x", "k": "v"}]}},
        outputs={"names": ["a", "b"]},
        status="COMPLETE",
    )
    record = state.records["datazone:project/p"]
    written = record.to_dict()
    # every field of the dataclass, in its order (a field added later must be written too)
    assert list(written) == [f.name for f in dataclasses.fields(record)]
    assert list(written["progress"]) == [f.name for f in dataclasses.fields(record.progress)]
    assert written["identity"] == {"id": "p1", "nested": {"list": [1, {"k": "v"}]}}
    # a copy: changing the record later does not change what was taken under the lock
    record.identity["nested"]["list"].append(2)
    record.outputs["names"].append("c")
    assert written["identity"]["nested"]["list"] == [1, {"k": "v"}]
    assert written["outputs"] == {"names": ["a", "b"]}
    state.save()
    text = state.path.read_text()
    lines = text.splitlines()
    assert [line for line in lines if line.startswith('  "datazone:')] == [
        line for line in lines if '"kind": ' in line
    ]
    assert len([line for line in lines if '"kind": ' in line]) == 2
    assert json.loads(text)["resources"]["datazone:project/p"]["identity"]["nested"] == {
        "list": [1, {"k": "v"}, 2]
    }


def test_save_replaces_the_file_atomically(tmp_path: Path) -> None:
    state = new_state(tmp_path)
    state.save()
    before = state.path.read_text()
    inode = state.path.stat().st_ino
    # A value that cannot be serialised makes the write fail midway: the previous file
    # must be untouched and no temporary file left behind.
    state.records["datazone:domain/demo"].outputs = {"bad": Unprintable()}
    with pytest.raises(RuntimeError, match="cannot serialise"):
        state.save()
    assert state.path.read_text() == before
    assert state.path.stat().st_ino == inode
    assert not [p for p in state.path.parent.iterdir() if p.name.startswith(".state-")]
    # a successful save is a rename of a new file over the old one
    state.update("datazone:domain/demo", outputs={"name": "ok"})
    state.save()
    assert state.path.stat().st_ino != inode
    assert json.loads(state.path.read_text())["resources"]["datazone:domain/demo"]["outputs"] == {
        "name": "ok"
    }


def test_every_change_is_journalled_before_the_save(tmp_path: Path) -> None:
    state = new_state(tmp_path)
    state.started("datazone:domain/demo")
    # no save: a killed process leaves only the journal, which the next load replays
    assert not state.path.exists()
    assert mode(state.journal_path) == 0o600
    again = State.load(state.path, "demo")
    record = again.records["datazone:domain/demo"]
    assert record.identity == {"id": "dzd_1"}
    assert record.progress.started is not None
    assert record.progress.success is False


def test_a_torn_journal_line_is_ignored(tmp_path: Path) -> None:
    state = new_state(tmp_path)
    state.finished("datazone:domain/demo", success=True)
    with state.journal_path.open("a") as journal:
        journal.write('{"key": "datazone:project/x", "rec')  # the crash cut this line
    again = State.load(state.path, "demo")
    assert list(again.records) == ["datazone:domain/demo"]
    assert again.records["datazone:domain/demo"].progress.success is True


def test_forget_is_journalled_and_survives_a_reload(tmp_path: Path) -> None:
    state = new_state(tmp_path)
    state.save()
    state.forget("datazone:domain/demo")
    assert State.load(state.path, "demo").records == {}


def test_progress_counts_retries(tmp_path: Path) -> None:
    state = new_state(tmp_path)
    key = "datazone:domain/demo"
    state.started(key)
    state.finished(key, success=False, message="ThrottlingException")
    state.started(key)
    progress = state.records[key].progress
    assert progress.retries == 1
    assert (progress.failure, progress.message, progress.stopped) == (False, "", None)
    state.finished(key, success=True)
    assert (progress.success, progress.failure) == (True, False)


def test_credentials_are_never_written(tmp_path: Path) -> None:
    state = new_state(tmp_path)
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    state.update(
        "datazone:domain/demo",
        outputs={
            "role_arn": "arn:aws:iam::111111111111:role/x",
            "secretAccessKey": secret,
            "nested": {"SessionToken": secret, "keep": "yes"},
            "list": [{"AccessKeyId": "ASIAEXAMPLE", "password": secret}],
            "Credentials": {"SecretAccessKey": secret},
            "connectionCredentials": {"accessKeyId": "ASIAEXAMPLE"},
        },
    )
    journal = state.journal_path.read_text()
    state.save()
    written = state.path.read_text()
    for text in (journal, written):
        assert secret not in text
        assert "ASIAEXAMPLE" not in text
        assert "arn:aws:iam::111111111111:role/x" in text
    outputs = json.loads(written)["resources"]["datazone:domain/demo"]["outputs"]
    assert outputs == {
        "role_arn": "arn:aws:iam::111111111111:role/x",
        "nested": {"keep": "yes"},
        "list": [{}],
    }


def test_a_newer_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "demo.state.json"
    path.write_text(json.dumps({"schema_version": SCHEMA_VERSION + 1, "resources": {}}))
    with pytest.raises(StateError) as caught:
        State.load(path, "demo")
    assert str(caught.value) == (
        f"the state file has schema_version {SCHEMA_VERSION + 1}, newer than this smus-mesh "
        f"understands ({SCHEMA_VERSION}); upgrade smus-mesh"
    )


def test_migrations_run_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []

    def step(version: int) -> Any:
        def upgrade(document: dict[str, Any]) -> dict[str, Any]:
            assert document["schema_version"] == version  # each sees the previous result
            seen.append(version)
            return {**document, f"v{version + 1}": True}

        return upgrade

    # Registered out of order on purpose: the order comes from the versions.
    monkeypatch.setattr(state_module, "SCHEMA_VERSION", 3)
    monkeypatch.setattr(state_module, "MIGRATIONS", {2: step(2), 0: step(0), 1: step(1)})
    document = migrate({"schema_version": 0, "resources": {}})
    assert seen == [0, 1, 2]
    assert document == {"schema_version": 3, "resources": {}, "v1": True, "v2": True, "v3": True}
    assert migrate({"schema_version": 3}) == {"schema_version": 3}  # current: untouched
    assert seen == [0, 1, 2]


def test_a_missing_migration_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(state_module, "SCHEMA_VERSION", 2)
    monkeypatch.setattr(state_module, "MIGRATIONS", {0: lambda d: d})
    with pytest.raises(StateError, match=r"^no migration from state schema_version 1$"):
        migrate({"schema_version": 0})


def test_an_unreadable_or_foreign_state_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "demo.state.json"
    path.write_text("{not json")
    with pytest.raises(StateError, match=r"^the state file .*demo\.state\.json is not JSON"):
        State.load(path, "demo")
    for text in ("[]", '{"schema_version": 1, "resources": []}'):
        path.write_text(text)
        with pytest.raises(StateError) as caught:
            State.load(path, "demo")
        assert str(caught.value) == (
            f"{path} is not a smus-mesh state file (a JSON object with schema_version and "
            "resources); use --state to point at the right file, or restore the file from a "
            "backup, or move it aside: `smus-mesh down --ignore-state` and `smus-mesh audit` "
            "find what the set-up made by its tags"
        )
        assert caught.value.exit_code == 2
    path.write_text(json.dumps({"schema_version": SCHEMA_VERSION, "setup": "other"}))
    with pytest.raises(StateError) as caught:
        State.load(path, "demo")
    assert "belongs to set-up 'other', not 'demo'; use --state" in str(caught.value)
    # a file of this set-up with no resources yet is an empty state
    path.write_text(json.dumps({"schema_version": SCHEMA_VERSION, "setup": "demo"}))
    assert State.load(path, "demo").records == {}


def test_the_lock_refuses_a_second_holder_and_is_released_after(tmp_path: Path) -> None:
    path = tmp_path / "demo.state.json"
    with locked(path):
        with pytest.raises(StateLockedError) as caught, locked(path):
            pass  # pragma: no cover - never reached
        assert f"the state {path} is in use by pid {os.getpid()} since" in str(caught.value)
        assert caught.value.exit_code == 2
    with locked(path):  # released on exit
        pass


def test_the_lock_file_is_removed_on_release(tmp_path: Path) -> None:
    path = tmp_path / "demo.state.json"
    lock = tmp_path / "demo.state.json.lock"
    with locked(path):
        assert lock.read_text().startswith(f"pid {os.getpid()} since ")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="boom"), locked(path):
        raise ValueError("boom")
    assert list(tmp_path.iterdir()) == []


def test_the_lock_is_released_when_the_block_fails(tmp_path: Path) -> None:
    path = tmp_path / "demo.state.json"
    with pytest.raises(ValueError, match="boom"), locked(path):
        raise ValueError("boom")
    with locked(path):
        pass


def test_a_lock_held_by_another_process_is_freed_when_it_dies(tmp_path: Path) -> None:
    path = tmp_path / "demo.state.json"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from smus_mesh.engine.state import locked\n"
            "with locked(Path(sys.argv[1])):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(60)\n",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with (
            pytest.raises(StateLockedError, match=rf"in use by pid {holder.pid} since"),
            locked(path),
        ):
            pass  # pragma: no cover - never reached
    finally:
        holder.kill()
        holder.wait()
    deadline = time.monotonic() + 5
    while True:
        try:
            with locked(path):
                break
        except StateLockedError:  # pragma: no cover - the OS frees it at exit
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def test_the_set_up_record_keeps_the_id_and_every_id_until_the_file_is_gone(
    tmp_path: Path,
) -> None:
    state = new_state(tmp_path)
    assert state.setup_id is None
    state.remember_setup("abc", domain_ids={"dzd_1"}, project_ids={"p1"})
    state.remember_setup(domain_ids={"dzd_2"}, unsubscribed={"consumer/inventory"})
    reloaded = State.load(state.path, "demo")  # from the journal
    assert reloaded.setup_id == "abc"
    assert reloaded.remembered("domain_ids") == {"dzd_1", "dzd_2"}
    assert reloaded.remembered("project_ids") == {"p1"}
    assert reloaded.remembered("unsubscribed") == {"consumer/inventory"}
    reloaded.remember_setup(resubscribed={"consumer/inventory"})
    reloaded.save()
    again = State.load(state.path, "demo")
    assert again.remembered("unsubscribed") == set()
    assert again.setup_id == "abc"
    # Nothing new: no journal line.
    again.remember_setup("abc", domain_ids={"dzd_1"})
    assert not again.journal_path.exists()
