"""The dependency graph of a set-up: resources as nodes, `depends_on` as edges.

Batches (Kahn's algorithm) give the order; destroy walks it reversed. A cycle
or a dependency on an unknown key is a `PlanError` that names the keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from smus_mesh.errors import PlanError
from smus_mesh.resources.base import Resource


class Graph:
    """An immutable DAG of resources, in insertion order where the order is free."""

    def __init__(self, resources: Iterable[Resource]) -> None:
        self._nodes: dict[str, Resource] = {}
        for resource in resources:
            if resource.key in self._nodes:
                raise PlanError(f"two resources share the key {resource.key}")
            self._nodes[resource.key] = resource
        for resource in self._nodes.values():
            unknown = [d for d in resource.depends_on if d not in self._nodes]
            if unknown:
                raise PlanError(f"{resource.key} depends on unknown step(s): {', '.join(unknown)}")
        self._batches = self._layers()

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.ordered())

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, key: str) -> bool:
        return key in self._nodes

    def get(self, key: str) -> Resource:
        try:
            return self._nodes[key]
        except KeyError:
            raise PlanError(
                f"no step {key!r}; steps are: {', '.join(sorted(self._nodes))}"
            ) from None

    def dependents(self, key: str) -> list[str]:
        return [r.key for r in self._nodes.values() if key in r.depends_on]

    def _layers(self) -> list[list[Resource]]:
        remaining = {k: set(r.depends_on) for k, r in self._nodes.items()}
        layers: list[list[Resource]] = []
        while remaining:
            ready = [k for k, deps in remaining.items() if not deps]
            if not ready:
                raise PlanError(f"dependency cycle: {' -> '.join(_cycle(remaining))}")
            layers.append([self._nodes[k] for k in ready])
            for key in ready:
                del remaining[key]
            for deps in remaining.values():
                deps.difference_update(ready)
        return layers

    def batches(self) -> list[list[Resource]]:
        """Groups that can run at once, each after all the previous groups."""
        return [list(layer) for layer in self._batches]

    def ordered(self) -> list[Resource]:
        return [r for layer in self._batches for r in layer]

    def reversed(self) -> list[Resource]:
        return list(reversed(self.ordered()))

    def ancestors(self, key: str) -> set[str]:
        seen: set[str] = set()
        stack = list(self.get(key).depends_on)
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(self._nodes[current].depends_on)
        return seen


def _cycle(waiting: dict[str, set[str]]) -> list[str]:
    """One cycle among the steps that could not be ordered, as a closed path.

    Every one of them still waits for another of them, so following any waiting
    edge must come back to a step already seen; naming only that loop (not the
    steps merely stuck behind it) tells the user which edges to break.
    """
    path: list[str] = []
    position: dict[str, int] = {}
    current = min(waiting)
    while current not in position:
        position[current] = len(path)
        path.append(current)
        current = min(waiting[current])
    return [*path[position[current] :], current]
