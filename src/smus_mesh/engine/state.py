"""The state file: identity, not truth.

What exists is always observed again from AWS; the state file only remembers
*which* objects are ours (ids and ARNs AWS generated, whether we created them or
found them) and a progress record per step (started, stopped, retries, success,
failure, message), so that a rerun resumes and `down` finds everything even
after a crash. It never holds credentials.

Every change is appended, as one JSON line, to a journal next to the file
(`<state>.journal`) the moment it happens, so a killed run loses nothing and a
change costs O(1) however large the set-up; `save()` compacts the journal into
the file atomically (temp file + fsync + rename), which `up`/`down` do at the
end. Loading replays the journal over the file (a torn last line is ignored).
A lock file next to it (`flock`, released by the OS if the process dies) stops
two runs from interleaving on one state. `schema_version` and ordered
migrations let the format change without breaking old files.

Reading is defensive: the file and the journal are inputs like the config (a
disk can fill, a user can edit, a script can write garbage). Whatever they hold,
loading either succeeds or raises `StateUnreadable` (exit 2) saying what is wrong
and what to do, never a traceback; `down --ignore-state` and `audit` work without
the file, from the tags on what the set-up made.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from smus_mesh.errors import StateError, StateLockedError, StateUnreadable
from smus_mesh.resources.naming import SETUP_RECORD

SCHEMA_VERSION = 1

#: The record of the set-up itself (not a step): its id and every domain and project id it
#: has had, kept until a `down` succeeds so that what DataZone made for them is found even
#: after the domain is gone.
SETUP_KEY = SETUP_RECORD
SETUP_KIND = "smus-mesh:setup"

#: from_version -> function upgrading a document to from_version + 1.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}

#: Keys that must never be written (defence in depth: no resource output carries them).
_SECRET_KEYS = frozenset(
    {
        "secretAccessKey",
        "SecretAccessKey",
        "sessionToken",
        "SessionToken",
        "accessKeyId",
        "AccessKeyId",
        "password",
        "credentials",
        "Credentials",
        "connectionCredentials",
    }
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Progress:
    """The last run of one step (kopf's progress-record fields)."""

    started: str | None = None
    stopped: str | None = None
    retries: int = 0
    success: bool = False
    failure: bool = False
    message: str = ""


@dataclass
class ResourceRecord:
    kind: str
    account: str
    account_id: str
    identity: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    owned: bool | None = None
    status: str = "ABSENT"
    progress: Progress = field(default_factory=Progress)

    def to_dict(self) -> dict[str, Any]:
        """The record as the state file holds it, secrets scrubbed: a copy, so it is a
        snapshot when taken under the state's lock. Not `dataclasses.asdict`, which deep
        copies every value and made saving a 20x100 state take seconds."""
        progress = self.progress
        return {
            "kind": self.kind,
            "account": self.account,
            "account_id": self.account_id,
            "identity": _scrub(self.identity),
            "outputs": _scrub(self.outputs),
            "owned": self.owned,
            "status": self.status,
            "progress": {
                "started": progress.started,
                "stopped": progress.stopped,
                "retries": progress.retries,
                "success": progress.success,
                "failure": progress.failure,
                "message": progress.message,
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResourceRecord:
        progress = Progress(**data.get("progress", {}))
        return cls(
            kind=data["kind"],
            account=data["account"],
            account_id=data["account_id"],
            identity=dict(data.get("identity", {})),
            outputs=dict(data.get("outputs", {})),
            owned=data.get("owned"),
            status=data.get("status", "ABSENT"),
            progress=progress,
        )


def _layout(document: dict[str, Any]) -> str:
    """The state file's text: one line per record, so that it reads and diffs record by
    record. Each line is encoded by json's C encoder (`indent` makes json use its pure
    Python one, 6 s for a 20x100 state)."""

    def encoded(value: Any) -> str:
        return json.dumps(value, default=str)

    head = {key: value for key, value in document.items() if key != "resources"}
    lines = [f" {encoded(key)}: {encoded(value)}" for key, value in head.items()]
    records = [
        f"  {encoded(key)}: {encoded(value)}" for key, value in document["resources"].items()
    ]
    body = ",\n".join(records)
    resources = f' "resources": {{\n{body}\n }}' if records else ' "resources": {}'
    return "{\n" + ",\n".join([*lines, resources]) + "\n}\n"


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items() if k not in _SECRET_KEYS}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


#: What to do about a state file that cannot be used (the end of every such message).
WHAT_TO_DO = (
    "restore the file from a backup, or move it aside: `smus-mesh down --ignore-state` "
    "and `smus-mesh audit` find what the set-up made by its tags"
)
#: Largest state file read (bytes): 20 projects x 100 tables is about 2 MB.
MAX_STATE_BYTES = 256 * 1024 * 1024

_PROGRESS_TYPES: dict[str, tuple[type, ...]] = {
    "started": (str, type(None)),
    "stopped": (str, type(None)),
    "retries": (int,),
    "success": (bool,),
    "failure": (bool,),
    "message": (str,),
}


def _record_problem(data: Any) -> str | None:
    """What is wrong with a stored record (None if it can be used)."""
    if not isinstance(data, dict):
        return f"is a {type(data).__name__}, not an object"
    for name in ("kind", "account", "account_id"):
        if not isinstance(data.get(name), str):
            return f"has no {name!r} text"
    for name in ("identity", "outputs"):
        if not isinstance(data.get(name, {}), dict):
            return f"{name!r} is not an object"
    if not isinstance(data.get("owned"), bool | None):
        return "'owned' is not true, false or null"
    if not isinstance(data.get("status", ""), str):
        return "'status' is not text"
    progress = data.get("progress", {})
    if not isinstance(progress, dict):
        return "'progress' is not an object"
    for name, value in progress.items():
        expected = _PROGRESS_TYPES.get(name)
        if expected is None:
            return f"'progress' has an unknown field {name!r}"
        negative = isinstance(value, int) and value < 0
        if not isinstance(value, expected) or (
            name == "retries" and (isinstance(value, bool) or negative)
        ):
            return f"'progress.{name}' has the wrong type"
    return None


def _schema_version(document: dict[str, Any], path: Path | None) -> int:
    version = document.get("schema_version", 0)
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise StateUnreadable(
            f"{path or 'the state file'}: schema_version is {str(version)[:40]!r}, not a "
            f"version number; it is not a smus-mesh state file: {WHAT_TO_DO}"
        )
    return version


def migrate(document: dict[str, Any], path: Path | None = None) -> dict[str, Any]:
    """Upgrade a state document to SCHEMA_VERSION."""
    version = _schema_version(document, path)
    if version > SCHEMA_VERSION:
        raise StateUnreadable(
            f"the state file has schema_version {version}, newer than this smus-mesh "
            f"understands ({SCHEMA_VERSION}); upgrade smus-mesh"
        )
    while version < SCHEMA_VERSION:
        if version not in MIGRATIONS:
            raise StateUnreadable(f"no migration from state schema_version {version}")
        document = MIGRATIONS[version](document)
        version += 1
        document["schema_version"] = version
    return document


def _read_bytes(path: Path, what: str) -> bytes | None:
    """The bytes of a regular file (None if it does not exist), within MAX_STATE_BYTES."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateError(f"cannot read the {what} {path}: {exc.strerror or exc}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise StateUnreadable(f"the {what} {path} is not a regular file: {WHAT_TO_DO}")
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(MAX_STATE_BYTES + 1)
    except OSError as exc:
        raise StateError(f"cannot read the {what} {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_STATE_BYTES:
        raise StateUnreadable(f"the {what} {path} is larger than {MAX_STATE_BYTES:,} bytes")
    return data


def _replay(journal: Path, resources: dict[str, Any]) -> None:
    """Apply journal lines over the file's records (in place).

    A line that is not JSON was torn by a crash (the last line of a killed run, which
    the next run appends after): skipped, what it said is observed again. A line that
    is JSON but not an entry this code wrote means the journal was damaged: refused.
    """
    data = _read_bytes(journal, "state journal")
    if data is None:
        return
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            entry = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            continue  # a line torn by a crash; what it said is observed again
        problem = None
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
            problem = "is not an object with a 'key'"
        elif "record" in entry:
            problem = _record_problem(entry["record"])
        if problem:
            raise StateUnreadable(
                f"the state journal {journal}, line {number}, {problem}: {WHAT_TO_DO}"
            )
        if "record" in entry:
            resources[entry["key"]] = entry["record"]
        else:
            resources.pop(entry["key"], None)


class _JournalLine:
    """One journal line and the event its writer sets once it is on disk (or failed)."""

    __slots__ = ("error", "line", "written")

    def __init__(self, line: str) -> None:
        self.line = line
        self.written = threading.Event()
        self.error: BaseException | None = None


class State:
    """The state of one set-up, persisted after every change."""

    def __init__(self, path: Path, setup: str, records: dict[str, ResourceRecord]) -> None:
        self.path = path
        self.setup = setup
        self.records = records
        self._lock = threading.Lock()
        self._journal_lock = threading.Lock()
        self._journal: Any = None
        #: Lines waiting for the thread that is writing (group commit, see `_append`).
        self._pending: list[_JournalLine] = []
        self._pending_lock = threading.Lock()
        self._writing = False

    @property
    def journal_path(self) -> Path:
        return self.path.with_name(self.path.name + ".journal")

    # loading / saving -----------------------------------------------------------------
    @classmethod
    def load(cls, path: Path, setup: str) -> State:
        document: Any = {"schema_version": SCHEMA_VERSION, "resources": {}}
        data = _read_bytes(path, "state file")
        if data is not None:
            try:
                document = json.loads(data.decode("utf-8"))
            except UnicodeDecodeError as exc:
                raise StateUnreadable(
                    f"the state file {path} is not UTF-8 (byte {exc.start}): {WHAT_TO_DO}"
                ) from None
            except (json.JSONDecodeError, RecursionError) as exc:
                raise StateUnreadable(
                    f"the state file {path} is not JSON ({str(exc)[:120]}): {WHAT_TO_DO}"
                ) from None
            if not isinstance(document, dict) or not isinstance(
                document.get("resources", {}), dict
            ):
                raise StateUnreadable(
                    f"{path} is not a smus-mesh state file (a JSON object with "
                    "schema_version and resources); use --state to point at the right file, "
                    f"or {WHAT_TO_DO}"
                )
        document = migrate(document, path)
        _replay(path.with_name(path.name + ".journal"), document.setdefault("resources", {}))
        if document.get("setup") not in (None, setup):
            raise StateUnreadable(
                f"{path} belongs to set-up {str(document.get('setup'))[:80]!r}, not {setup!r}; "
                "use --state to point at the right file"
            )
        for key, record in document["resources"].items():
            problem = _record_problem(record)
            if problem:
                raise StateUnreadable(
                    f"the state file {path}: the record {key[:120]!r} {problem}: {WHAT_TO_DO}"
                )
        records = {
            key: ResourceRecord.from_dict(record) for key, record in document["resources"].items()
        }
        return cls(path, setup, records)

    def to_document(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "setup": self.setup,
            "updated_at": _now(),
            "resources": {key: record.to_dict() for key, record in sorted(self.records.items())},
        }

    def save(self) -> None:
        """Write every record to the file atomically and empty the journal."""
        with self._lock:
            document = self.to_document()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".state-", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(_layout(document))
                    handle.flush()
                    os.fsync(handle.fileno())
                os.chmod(tmp, 0o600)
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            with self._journal_lock:
                if self._journal is not None:
                    self._journal.close()
                    self._journal = None
                with contextlib.suppress(FileNotFoundError):
                    self.journal_path.unlink()

    def _entry(self, key: str) -> str:
        """The journal line for `key` (called with the lock held: a snapshot)."""
        record = self.records.get(key)
        entry = {"key": key, "record": record.to_dict()} if record else {"key": key}
        return json.dumps(entry, default=str) + "\n"

    def _append(self, line: str) -> None:
        """Append a line to the journal and return once it is written.

        Flushed, not fsynced: a killed process loses nothing, and a power cut at worst
        forgets the last steps, which the next run observes again. Group commit: the
        first thread to arrive writes every line queued meanwhile in one write, and the
        others wait for theirs. Why: with a lock around each write, hundreds of steps
        queued on it, each holder waiting for the GIL again after its system call.
        """
        entry = _JournalLine(line)
        with self._pending_lock:
            self._pending.append(entry)
            leader = not self._writing
            self._writing = True
        if leader:
            self._write_pending()
        entry.written.wait()
        if entry.error is not None:
            raise entry.error

    def _write_pending(self) -> None:
        while True:
            with self._pending_lock:
                batch, self._pending = self._pending, []
                if not batch:
                    self._writing = False
                    return
            error: BaseException | None = None
            try:
                with self._journal_lock:
                    if self._journal is None:
                        self.path.parent.mkdir(parents=True, exist_ok=True)
                        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
                        fd = os.open(self.journal_path, flags, 0o600)
                        self._journal = os.fdopen(fd, "a", encoding="utf-8")
                    self._journal.write("".join(entry.line for entry in batch))
                    self._journal.flush()
            except BaseException as exc:  # handed to each waiting step, which raises it
                error = exc
            for entry in batch:
                entry.error = error
                entry.written.set()

    def close(self) -> None:
        """Compact the journal into the file (end of a run)."""
        self.save()

    # records -----------------------------------------------------------------------------
    def record(self, key: str, kind: str, account: str, account_id: str) -> ResourceRecord:
        with self._lock:
            if key not in self.records:
                self.records[key] = ResourceRecord(kind, account, account_id)
            return self.records[key]

    @property
    def setup_id(self) -> str | None:
        """The set-up id this state file belongs to (None for a file written before ids)."""
        with self._lock:
            record = self.records.get(SETUP_KEY)
            value = record.identity.get("setup_id") if record else None
        return value if isinstance(value, str) and value else None

    def remembered(self, name: str) -> set[str]:
        """Ids the set-up record keeps under `name` ("domain_ids", "project_ids",
        "unsubscribed")."""
        with self._lock:
            record = self.records.get(SETUP_KEY)
            values = record.identity.get(name, []) if record else []
        return {str(v) for v in values} if isinstance(values, list) else set()

    def remember_setup(
        self,
        setup_id: str | None = None,
        domain_ids: set[str] | frozenset[str] = frozenset(),
        project_ids: set[str] | frozenset[str] = frozenset(),
        unsubscribed: set[str] | frozenset[str] = frozenset(),
        resubscribed: set[str] | frozenset[str] = frozenset(),
    ) -> None:
        """Record the set-up id, add domain and project ids and subscriptions ended by
        `unsubscribe` ("<project>/<table>"), drop `resubscribed` ones (journaled if
        anything changed)."""
        with self._lock:
            record = self.records.get(SETUP_KEY) or ResourceRecord(SETUP_KIND, "", "")
            identity = dict(record.identity)
            if setup_id:
                identity["setup_id"] = setup_id
            for name, add, drop in (
                ("domain_ids", domain_ids, frozenset()),
                ("project_ids", project_ids, frozenset()),
                ("unsubscribed", unsubscribed, resubscribed),
            ):
                known = identity.get(name, [])
                known = [str(v) for v in known] if isinstance(known, list) else []
                identity[name] = sorted((set(known) | set(add)) - set(drop))
            if SETUP_KEY in self.records and identity == record.identity:
                return
            record.identity = identity
            record.owned = True
            record.status = "COMPLETE"
            self.records[SETUP_KEY] = record
            line = self._entry(SETUP_KEY)
        self._append(line)

    def applied_config(self) -> dict[str, Any] | None:
        """The config (parsed, as JSON) the last `up` converged to: what may exist of the
        set-up beyond the current config, and so what `up` removes (ADR 19)."""
        with self._lock:
            record = self.records.get(SETUP_KEY)
            document = record.outputs.get("applied_config") if record else None
        return dict(document) if isinstance(document, dict) else None

    def remember_config(self, document: dict[str, Any]) -> None:
        """Record the config `up` converges to now (journaled when it changed)."""
        with self._lock:
            record = self.records.get(SETUP_KEY) or ResourceRecord(SETUP_KIND, "", "")
            if record.outputs.get("applied_config") == document:
                return
            record.outputs = {**record.outputs, "applied_config": document}
            record.owned = True
            record.status = "COMPLETE"
            self.records[SETUP_KEY] = record
            line = self._entry(SETUP_KEY)
        self._append(line)

    def identities(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {k: {**r.identity, **r.outputs} for k, r in self.records.items()}

    def update(self, key: str, **changes: Any) -> None:
        with self._lock:
            record = self.records[key]
            for name, value in changes.items():
                if name == "progress":
                    for field_name, field_value in value.items():
                        setattr(record.progress, field_name, field_value)
                else:
                    setattr(record, name, value)
            line = self._entry(key)
        self._append(line)

    def started(self, key: str) -> None:
        with self._lock:
            record = self.records[key]
            if record.progress.started and not record.progress.success:
                record.progress.retries += 1
            record.progress.started = _now()
            record.progress.stopped = None
            record.progress.success = record.progress.failure = False
            record.progress.message = ""
            line = self._entry(key)
        self._append(line)

    def finished(self, key: str, success: bool, message: str = "") -> None:
        with self._lock:
            progress = self.records[key].progress
            progress.stopped = _now()
            progress.success = success
            progress.failure = not success
            progress.message = message
            line = self._entry(key)
        self._append(line)

    def forget(self, key: str) -> None:
        with self._lock:
            self.records.pop(key, None)
            line = self._entry(key)
        self._append(line)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold `<state>.lock` for the duration; refuse if another run holds it. The lock file
    is removed on release (no file is left once a run ends)."""
    lock_path = path.with_name(path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = _lock_file(path, lock_path)
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {_now()}")
        handle.flush()
        yield
    finally:
        # Removed while still held: a run that opened the old file meanwhile finds it
        # unlinked once it gets the lock (`_lock_file`) and takes the new one instead.
        with contextlib.suppress(OSError):
            lock_path.unlink()
        with contextlib.suppress(OSError):
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()


def _lock_file(path: Path, lock_path: Path) -> TextIO:
    """The lock file, open and exclusively locked: the one at `lock_path` now (not one
    that the run holding it removed between our open and our lock)."""
    while True:
        handle = open(lock_path, "a+", encoding="utf-8")  # noqa: SIM115 (held by the caller)
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise StateLockedError(
                f"the state {path} is in use by {holder}; wait for that run to finish "
                "(the lock is released automatically if it died)"
            ) from None
        try:
            same = os.stat(lock_path).st_ino == os.fstat(handle.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return handle
        handle.close()  # released and removed by its holder meanwhile: open it again
