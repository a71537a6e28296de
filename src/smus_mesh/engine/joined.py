"""`down --ignore-state` in a joined domain (ADR 26): what it cannot attribute.

In a domain smus-mesh did not create, DataZone's objects carry no mark of a set-up
(projects, profiles, blueprint configurations and memberships take no tags) and the
set-up id written on its roles and buckets is kept in the state file alone (the joined
domain is never tagged). Without the state, nothing tells this set-up's objects from the
owner's or a namesake's, and deleting the set-up's roles and Lake Formation settings
under its live projects would break them. So `down --ignore-state` refuses, before any
change, while anything of the set-up's names exists, and says what it found and how to
finish.
"""

from __future__ import annotations

from typing import Any

from smus_mesh.engine.graph import Graph
from smus_mesh.errors import UserError
from smus_mesh.resources.base import Status
from smus_mesh.resources.datazone import ExistingProjectProfile
from smus_mesh.resources.naming import Names

#: Kinds found by the set-up's names alone: each may be this set-up's or someone else's.
_NAMED = {
    "datazone:project-profile": "a project profile of the set-up's name",
    "datazone:project": "a project of the config's name",
    "iam:role": "a role of the set-up's name",
    "s3:bucket": "a bucket of the set-up's name",
}


def _found_id(seen: Any) -> str:
    identity = seen.identity or {}
    for name in ("found_id", "id", "arn", "name", "profile_id"):
        if identity.get(name):
            return str(identity[name])
    return ""


def _made_by_config(resource: Any) -> bool:
    """A Glue database or table of a config table with `create: true`."""
    if hasattr(resource, "existing"):
        return not resource.existing
    return bool(getattr(getattr(resource, "table", None), "create", False))


def unattributable(graph: Graph, observed: dict[str, Any], names: Names) -> list[str]:
    """What exists under this set-up's names that, without its state file, cannot be told
    to be its own: one line each (key, id, why)."""
    lines = []
    roles = (names.provisioning_role(), names.manage_access_role(""))
    for resource in graph.ordered():
        seen = observed.get(resource.key)
        if seen is None or seen.status == Status.ABSENT:
            continue
        why = None
        if isinstance(resource, ExistingProjectProfile) or (
            resource.kind == "datazone:project" and seen.joined
        ):
            continue  # named as the owner's in the config
        if resource.kind in _NAMED:
            why = _NAMED[resource.kind]
        elif resource.kind in ("glue:database", "glue:table") and _made_by_config(resource):
            why = "a Glue database or table the config has smus-mesh create"
        elif resource.kind == "datazone:project-membership" and seen.status == Status.COMPLETE:
            why = "a member the config names (added by this set-up, or by the owner)"
        elif resource.kind == "datazone:blueprint-configuration":
            used = {
                seen.outputs.get(k, "") for k in ("provisioning_role_arn", "manage_access_role_arn")
            }
            if any(str(arn).rsplit("/", 1)[-1] in roles for arn in used):
                why = "names the set-up's roles: made by it"
        if why is not None:
            found = _found_id(seen)
            lines.append(f"{resource.key}{f' ({found})' if found else ''}: {why}")
    return lines


def refuse_blind_down(
    graph: Graph, observed: dict[str, Any], names: Names, domain: str, state_path: str
) -> None:
    """Raise (exit 2, nothing changed) when `down --ignore-state` in a joined domain finds
    anything of the set-up's names (see the module docstring)."""
    found = unattributable(graph, observed, names)
    if not found:
        return
    listed = "\n  ".join(found)
    raise UserError(
        f"down --ignore-state cannot tell what this set-up made in the joined domain {domain}: "
        "DataZone objects carry no mark of a set-up, and the set-up id on its roles and "
        "buckets is kept in the state file alone (ADR 26). Nothing was changed. Found by the "
        f"set-up's names:\n  {listed}\nTo finish: restore the state file {state_path} (from a "
        "backup) and run `smus-mesh down`; or remove by hand those of these that are this "
        "set-up's (DataZone's DeleteProject, DeleteProjectProfile, "
        "DeleteEnvironmentBlueprintConfiguration, DeleteProjectMembership; then the roles, "
        "buckets and Glue databases), and run `smus-mesh down --ignore-state` again"
    )
