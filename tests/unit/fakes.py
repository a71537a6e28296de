"""Small fake *resources* for the engine's unit tests (the engine itself is never faked).

A `Fake` reports whatever `Observed` the test gives it and records the calls the
engine makes on it, so the decision table and the graph can be tested without AWS.
They are not registered: the registry holds only the tool's real kinds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from smus_mesh.resources.base import Observed, Resource, Status

if TYPE_CHECKING:
    from smus_mesh.resources.context import Context


class Fake(Resource):
    """A resource whose observation is set by the test."""

    kind: ClassVar[str] = "fake:thing"
    iam_actions: ClassVar[tuple[str, ...]] = ("fake:Do",)

    def __init__(
        self,
        name: str,
        depends_on: tuple[str, ...] = (),
        observed: Observed | None = None,
        account: str = "producer",
    ) -> None:
        super().__init__(name, account, depends_on)
        self.observed = observed or Observed.absent()
        self.calls: list[str] = []

    def observe(self, ctx: Context) -> Observed:
        self.calls.append("observe")
        return self.observed

    def create(self, ctx: Context) -> dict[str, Any]:
        self.calls.append("create")
        self.observed = Observed(Status.COMPLETE, {"id": f"id-{self.name}"}, owned=True)
        return {"id": f"id-{self.name}"}

    def delete(self, ctx: Context, observed: Observed) -> None:
        self.calls.append("delete")
        self.observed = Observed.absent()


class Recreatable(Fake):
    """A kind whose FAILED state is replaced (delete, then create)."""

    kind: ClassVar[str] = "fake:recreatable"

    def recreate_on_failure(self) -> bool:
        return True


class Updatable(Fake):
    """A kind whose drift can be converged in place."""

    kind: ClassVar[str] = "fake:updatable"
    updatable: ClassVar[bool] = True


class RemovedWithParent(Fake):
    """A kind `down` never deletes itself (its parent's deletion removes it)."""

    kind: ClassVar[str] = "fake:child"
    deletable: ClassVar[bool] = False
