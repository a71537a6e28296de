"""Snapshots of the emulated cloud in this process, for the test suite (ADR 32).

Many tests run `up` of the same example only to test something after it (down variants,
teardown after hand deletions, ...). `take()` deep-copies every moto backend (the
emulator's own DataZone, RAM, ... backends are moto backends too) once such an `up` is
done; `restore()` puts a fresh copy back, so the next test starts from the same cloud
for a fraction of the `up`'s CPU (measured: ~0.5 s of copying against ~5.5 s for the
example's `up`).

It is safe only when nothing is in flight, so `take()` refuses a cloud with a pending
transition (a completed transition holds closures over the old objects, but is inert:
nothing runs it again). The copy is one `deepcopy` of every backend at once, so
references between services (a DataZone environment's stack, a share's resources) stay
references within the copy. What is not a backend starts as after a reset: the calls
log, faults and the scheduler (`RUNTIME.reset()`), DataZone's decision quotas.
"""

from __future__ import annotations

import atexit
import copy
import time
from dataclasses import dataclass
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend, backend_lock
from moto.core.common_models import BaseModel

from smus_mesh_emulator.runtime import RUNTIME

#: BackendDict's own attributes; anything else on one is a subclass's shared state
#: (S3's bucket namespace, Organizations' member accounts) and is copied with it.
_BASE_ATTRIBUTES = frozenset(
    {"backend", "service_name", "_use_boto3_regions", "_additional_regions", "_id"}
)


class SnapshotError(Exception):
    """The cloud cannot be copied now (something is still in progress)."""


@dataclass(frozen=True)
class Snapshot:
    #: (backend dict, (its accounts, its extra attributes)) as deep-copied at `take()`
    backends: tuple[tuple[BackendDict[Any], tuple[dict[str, Any], dict[str, Any]]], ...]


def _extra(backends: BackendDict[Any]) -> dict[str, Any]:
    return {k: v for k, v in vars(backends).items() if k not in _BASE_ATTRIBUTES}


def drop(backends: BackendDict[Any]) -> None:
    """What moto's `BackendDict.reset` does to one service, without what it throws away:
    moto re-initialises every region's backend in place (EC2 builds each region's default
    VPC, subnets and prefix lists again) and then drops them all, so that is skipped for a
    backend without a clean-up of its own (`reset` not overridden); one with its own (S3
    closes the temporary files of its objects) runs it. Four fifths of a reset's CPU after
    a flow (ADR 35)."""
    for account in backends.values():
        for regional in account.values():
            if type(regional).reset is not BaseBackend.reset:
                regional.reset()
        # moto keeps each account's dict alive in an lru_cache (`_generate_regions`):
        # emptied, it keeps no backend alive.
        account.clear()
    backends.clear()


def reset_backends() -> None:
    """Every moto backend back to nothing, as moto's `BackendDict.reset()` leaves them."""
    from moto.core.model_instances import reset_model_data

    with backend_lock:
        for backends in BackendDict._instances:  # type: ignore[misc]
            drop(backends)
        BackendDict._instances.clear()  # type: ignore[misc]
        # moto lists every model object it ever made on its class (`instances_tracked`,
        # for its dashboard and S3's clean-up, which has just run); its mock forgets them
        # when it stops, its server never does. Forgotten here, the old cloud is freed.
        reset_model_data()


def _tracked_lists() -> list[list[Any]]:
    """Every model class's `instances_tracked` list (each class has its own)."""
    lists: list[list[Any]] = []
    classes: list[type] = [BaseModel]
    seen: set[type] = set()
    while classes:
        cls = classes.pop()
        sub: type
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.add(sub)
                classes.append(sub)
                tracked = vars(sub).get("instances_tracked")
                if isinstance(tracked, list):
                    lists.append(tracked)
    return lists


#: The snapshots' own model objects that hold a resource (S3 keys' buffers), disposed of
#: when the process exits (moto's `__del__` would warn, and import, at interpreter shutdown).
_HELD: list[Any] = []


@atexit.register
def _dispose_held() -> None:
    for model in _HELD:
        model.dispose()
    _HELD.clear()


def _untracked_copy(value: Any) -> Any:
    """`deepcopy(value)`, with the model objects it makes left out of moto's lists of every
    model object made (`instances_tracked`). S3's `reset` disposes of every FakeKey listed
    there, closing its buffer: a snapshot's copies listed there would lose their contents
    at the next test's reset (`__getstate__` reads a closed buffer as empty), and every
    later restore would bring back empty objects. Live objects (a restore's) stay listed.
    The copies that hold a buffer are disposed of when the process exits (`_HELD`)."""
    lists = _tracked_lists()
    sizes = [len(tracked) for tracked in lists]
    copied = copy.deepcopy(value)
    for tracked, size in zip(lists, sizes, strict=True):
        _HELD.extend(model for model in tracked[size:] if hasattr(model, "dispose"))
        del tracked[size:]
    return copied


def take(settle: float = 10.0) -> Snapshot:
    """A copy of every backend in use, once no transition is pending: waits up to
    `settle` seconds for the ones in flight (under the "none" profile an unread one ends
    within the first-read grace), then raises SnapshotError."""
    deadline = time.monotonic() + settle
    while True:
        with RUNTIME.lock:
            RUNTIME.scheduler.tick()
            pending = RUNTIME.scheduler.pending_count()
            if not pending:
                instances = list(BackendDict._instances)  # type: ignore[misc]
                copies = _untracked_copy([(dict(b), _extra(b)) for b in instances])
                return Snapshot(tuple(zip(instances, copies, strict=True)))
        if time.monotonic() > deadline:
            raise SnapshotError(f"{pending} transition(s) still in progress after {settle} s")
        time.sleep(0.05)


def restore(snapshot: Snapshot) -> None:
    """Make the cloud what it was at `take()` (a fresh copy: the snapshot stays reusable)."""
    from smus_mesh_emulator.datazone.subscriptions import _buckets as decision_quotas

    copies = copy.deepcopy([contents for _, contents in snapshot.backends])
    restored = {id(backends) for backends, _ in snapshot.backends}
    with RUNTIME.lock:
        # Backends the snapshot does not hold are reset as moto resets them; the others
        # are replaced whole (resetting them first would rebuild them for nothing: IAM's
        # managed policies alone cost more than the copy).
        for backends in BackendDict._instances:  # type: ignore[misc]
            if id(backends) not in restored:
                drop(backends)
        BackendDict._instances.clear()  # type: ignore[misc]
        RUNTIME.reset()
        # Keyed by domain id, and a restored domain keeps its id: start with full quotas.
        decision_quotas.clear()
        for (backends, _), (accounts, extra) in zip(snapshot.backends, copies, strict=True):
            backends.clear()
            backends.update(accounts)
            for name, value in extra.items():
                setattr(backends, name, value)
            BackendDict._instances.append(backends)  # type: ignore[misc]
