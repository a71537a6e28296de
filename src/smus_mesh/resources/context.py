"""What a resource sees while it runs: clients, config, names, its dependencies' outputs,
and the one way to wait (`waiting.poll`: backoff to a deadline, progress reported, polls
counted, Ctrl-C obeyed).

The engine builds one `Context` per run and fills `outputs` as resources are
observed or created; resources read their dependencies' values from it, so a
reference implies a dependency (the graph builder declares both together).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from smus_mesh.clients import Clients
from smus_mesh.errors import FailedStatus, StepError, WaitTimeout, aws_code
from smus_mesh.resources.observed import Observed, Status
from smus_mesh.waiting import Backoff, DeadlinePassed, Stop, poll, retry

if TYPE_CHECKING:
    from smus_mesh.config import Config
    from smus_mesh.console import Console
    from smus_mesh.resources.naming import Names
    from smus_mesh.settings import Settings


class Keyed(Protocol):
    """What a wait needs of the thing it waits for: the key it reports progress under."""

    @property
    def key(self) -> str: ...


class MissingOutput(StepError):
    """A dependency's output is not known: it does not exist yet. Observing a resource
    that needs it means the resource cannot exist either."""


class _SharedList:
    """The latest answer of one List call, and when the call that produced it began."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.began = float("-inf")
        self.items: list[dict[str, Any]] = []
        #: `items` grouped by `Context.fresh_groups`' keys, and the answer they group
        self.groups: dict[str, list[dict[str, Any]]] = {}
        self.grouped: list[dict[str, Any]] | None = None


class Context:
    """Shared by every resource of one run (thread safe)."""

    def __init__(
        self,
        config: Config,
        clients: Clients,
        settings: Settings,
        names: Names,
        console: Console,
        remembered: dict[str, dict[str, Any]] | None = None,
        ownership: dict[str, bool | None] | None = None,
        unsubscribed: set[str] | None = None,
    ) -> None:
        self.config = config
        self.clients = clients
        self.settings = settings
        self.names = names
        self.console = console
        #: identity remembered by the state file, per resource key.
        self.remembered = remembered or {}
        #: whether this set-up created each resource, as the state file remembers it.
        self.ownership = ownership or {}
        #: "<project>/<table>" subscriptions `smus-mesh unsubscribe` ended (state file).
        self.unsubscribed = set(unsubscribed or ())
        self._outputs: dict[str, dict[str, Any]] = {}
        #: see `resolve_with`
        self._resolve: Callable[[str], None] | None = None
        self._memo: dict[str, Any] = {}
        self._shared: dict[tuple[str, ...], _SharedList] = {}
        #: set while `observe_all` runs: when its observation began (see `fresh_since`)
        self.observing_since: float | None = None
        self._lock = threading.Lock()

    @property
    def stop(self) -> Stop:
        """Ctrl-C of this run (shared with the clients' paced calls)."""
        return self.clients.stop

    def subscription_wanted(self, project: str, table: str) -> bool:
        """Whether the config wants `project` subscribed to `table` now: its explicit
        `state`, else subscribed unless `smus-mesh unsubscribe` ended it."""
        for subscription in self.config.subscriptions:
            if subscription.project == project and table in subscription.tables:
                if subscription.state is not None:
                    return subscription.state == "subscribed"
                return f"{project}/{table}" not in self.unsubscribed
        return False

    # clients -------------------------------------------------------------------
    def client(self, alias: str, service: str) -> Any:
        return self.clients.get(alias, service)

    def account_id(self, alias: str) -> str:
        return self.config.accounts[alias].account_id

    @property
    def region(self) -> str:
        return self.config.region

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        """Compute a run-wide constant once (e.g. the caller's principal per account)."""
        with self._lock:
            if key in self._memo:
                return self._memo[key]
        value = compute()
        with self._lock:
            return self._memo.setdefault(key, value)

    def memo_found(self, key: str, find: Callable[[], str | None]) -> str | None:
        """`find()` until it finds something, then that answer for the rest of the run:
        for a question whose answer, once there, stays (a listing found by the catalog
        search, which is eventually consistent: the steps asking after the first need
        not poll for it again)."""
        with self._lock:
            known = self._memo.get(key)
        if known is not None:
            return str(known)
        found = find()
        if found is not None:
            with self._lock:
                self._memo.setdefault(key, found)
        return found

    def fresh_list(
        self, scope: tuple[str, ...], fetch: Callable[[], list[dict[str, Any]]]
    ) -> list[dict[str, Any]]:
        """The items of a List call that began after this call did (or, during an
        observation, after the observation began), shared by every step asking about the
        same `scope` at about the same time.

        Why: a hundred subscription steps of one consumer project each asking "what are
        my subscriptions?" need one ListSubscriptions, not a hundred (DataZone's list
        calls are throttled like the rest). Callers that arrive while a call is running
        wait for it and then make or share the next one, so no answer predates a
        question: a step never acts on what was true before it asked.
        """
        return self.list_newer_than(scope, fetch, self.fresh_since())[0]

    def fresh_since(self) -> float:
        """What a read must be newer than to be fresh: now, or during `observe_all` the
        moment the observation began. An observation reads the world once, changing
        nothing, and its reads start as their dependencies are read, at different
        moments: any answer from after it began is as good as one from a step's own
        moment (the observation layer by layer shared one call for all of them)."""
        since = self.observing_since
        return time.monotonic() if since is None else since

    def list_newer_than(
        self, scope: tuple[str, ...], fetch: Callable[[], list[dict[str, Any]]], moment: float
    ) -> tuple[list[dict[str, Any]], float]:
        """(items, when their call began): the answer of a List call of `scope` that
        began after `moment` (`time.monotonic()`), shared, or a new call.

        A wait's polls pass when their previous answer's call began: any answer newer
        than what the poll already knows tells it something, whoever asked for it, so
        steps polling one scope at different moments share one call per round instead
        of each making its own (`fresh_list` shares only between callers that overlap).
        """
        shared = self._shared_list(scope)
        with shared.lock:
            self._refresh(shared, fetch, moment)
            return shared.items, shared.began

    def fresh_groups(
        self,
        scope: tuple[str, ...],
        fetch: Callable[[], list[dict[str, Any]]],
        keys_of: Callable[[dict[str, Any]], Iterable[str]],
    ) -> Mapping[str, list[dict[str, Any]]]:
        """`fresh_list`'s answer grouped by `keys_of(item)`, grouped once per answer: the
        hundred steps sharing a consumer project's subscriptions each want those of their
        listing, and narrowing the whole list for each of them cost 4 % of `down`'s CPU
        at 20 x 100 (ADR 45). Read only; a missing key has no items."""
        shared = self._shared_list(scope)
        with shared.lock:
            self._refresh(shared, fetch, self.fresh_since())
            if shared.grouped is not shared.items:
                groups: dict[str, list[dict[str, Any]]] = {}
                for item in shared.items:
                    for key in dict.fromkeys(keys_of(item)):
                        groups.setdefault(key, []).append(item)
                shared.groups, shared.grouped = groups, shared.items
            return shared.groups

    def _shared_list(self, scope: tuple[str, ...]) -> _SharedList:
        with self._lock:
            return self._shared.setdefault(scope, _SharedList())

    @staticmethod
    def _refresh(
        shared: _SharedList, fetch: Callable[[], list[dict[str, Any]]], moment: float
    ) -> None:
        """Call `fetch` unless the answer held began after `moment` (`shared.lock` held)."""
        if shared.began <= moment:
            began = time.monotonic()
            shared.items = fetch()
            shared.began = began

    # outputs ---------------------------------------------------------------------
    def resolve_with(self, resolve: Callable[[str], None]) -> None:
        """Observe on demand: `resolve(key)` runs before each read of `key`'s outputs, so a
        command that reads a few steps (`query`, `pending`, ...) observes just the
        dependencies their observations read, not every ancestor (`Collaboration`)."""
        self._resolve = resolve

    def _resolved(self, key: str) -> None:
        if self._resolve is not None:
            self._resolve(key)

    def set_outputs(self, key: str, outputs: dict[str, Any]) -> None:
        with self._lock:
            self._outputs[key] = dict(outputs)

    def output(self, key: str, name: str) -> Any:
        """A dependency's output; a missing one is a bug in the graph (the engine
        runs a resource only after its dependencies are COMPLETE)."""
        self._resolved(key)
        with self._lock:
            values = self._outputs.get(key)
        if values is None or name not in values:
            raise MissingOutput(key, f"output {name!r} is not known yet (dependency not complete)")
        return values[name]

    def has_output(self, key: str, name: str) -> bool:
        self._resolved(key)
        with self._lock:
            return name in self._outputs.get(key, {})

    def outputs(self, key: str) -> dict[str, Any]:
        self._resolved(key)
        with self._lock:
            return dict(self._outputs.get(key, {}))

    def mark_ours(self, key: str, ours: bool | None = True) -> None:
        """This run makes the object of `key` (the state file records it too): later
        observations in the run know it as this set-up's (a joined domain's objects have
        no other mark; ADR 26)."""
        with self._lock:
            self.ownership[key] = ours

    def remembered_identity(self, key: str) -> dict[str, Any]:
        return dict(self.remembered.get(key, {}))

    def known_id(self, key: str) -> str | None:
        """The id this run already knows for `key` (just created, or observed), else the one
        the state file remembers: a wait then polls Get by id instead of listing by name."""
        self._resolved(key)
        with self._lock:
            current = self._outputs.get(key, {}).get("id")
        return str(current) if current else self.remembered.get(key, {}).get("id")

    # waiting -----------------------------------------------------------------------
    def wait(
        self,
        resource: Keyed,
        observe: Callable[[], Observed],
        until: Status,
        timeout: float | None = None,
    ) -> Observed:
        """Poll `observe` until `until` (`waiting.poll`); FAILED raises with the service's
        reason; the deadline raises WaitTimeout. Reads count as polls."""
        seconds = timeout or self.settings.timeout

        def reached(observed: Observed) -> bool:
            if observed.status == Status.FAILED and until != Status.FAILED:
                raise FailedStatus(resource.key, observed.detail or "failed")
            return observed.status == until

        def progress(observed: Observed, elapsed: float) -> None:
            self.console.step(resource.key, "waiting", f"{observed.detail} ({elapsed:.0f}s)")

        try:
            return poll(
                observe,
                reached,
                backoff=Backoff.of(self.settings),
                timeout=seconds,
                stop=self.stop,
                progress=progress,
            )
        except DeadlinePassed as exc:
            last: Observed = exc.last
            raise WaitTimeout(
                resource.key, f"still {last.detail or last.status.value} after {seconds:.0f}s"
            ) from None

    def retry_while(
        self,
        key: str,
        call: Callable[[], Any],
        codes: tuple[str, ...],
        message_contains: str = "",
        timeout: float = 120.0,
    ) -> Any:
        """Retry `call` while AWS answers one of `codes` (eventual consistency right
        after IAM or RAM changes, research/workflow.md §4.7), with backoff."""

        def retryable(exc: Exception) -> bool:
            if not isinstance(exc, ClientError):
                return False
            error = exc.response.get("Error", {})
            message = error.get("Message", "")
            if "is not authorized to perform" in message:
                # IAM refused the caller itself (its policy lacks an action, e.g.
                # iam:PassRole): no amount of waiting fixes that, so it is not retried.
                return False
            return error.get("Code") in codes and message_contains in message

        def progress(exc: Exception) -> None:
            code = aws_code(exc)
            self.console.step(key, "waiting", f"{code}: retrying")

        return retry(
            call,
            retryable,
            backoff=Backoff.of(self.settings),
            timeout=timeout,
            stop=self.stop,
            progress=progress,
        )
