"""Namespaces and workgroups of one account and region (`redshiftserverless_backends`).

Created AVAILABLE by CloudFormation (a stack's resource is done when its stack says so);
deleted by the API through DELETING (a scheduler transition, kind
"redshift_serverless.delete": the first read after the delete shows DELETING), or at once
by a stack's deletion. A namespace with a workgroup cannot be deleted (ConflictException),
as in AWS.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.common_models import BaseModel

from smus_mesh_emulator.progress import Stage, Transition
from smus_mesh_emulator.redshiftserverless.exceptions import (
    ConflictException,
    ResourceNotFoundException,
)
from smus_mesh_emulator.runtime import RUNTIME

#: Redshift's port, and the admin user AWS creates when none is given.
DEFAULT_PORT = 5439


DEFAULT_ADMIN = "admin"


def _timestamp() -> str:
    return datetime.now(UTC).isoformat()


class Namespace(BaseModel):
    """A namespace: the database, its users and its IAM roles."""

    def __init__(
        self,
        account_id: str,
        region: str,
        name: str,
        db_name: str,
        iam_roles: list[str],
        tags: dict[str, str],
    ) -> None:
        self.id = str(uuid.uuid4())
        self.name = name
        self.arn = f"arn:aws:redshift-serverless:{region}:{account_id}:namespace/{self.id}"
        self.db_name = db_name
        self.iam_roles = iam_roles
        self.tags = tags
        self.created = _timestamp()
        self.status = "AVAILABLE"
        self.transition: Transition | None = None

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "namespaceArn": self.arn,
            "namespaceId": self.id,
            "namespaceName": self.name,
            "adminUsername": DEFAULT_ADMIN,
            "dbName": self.db_name,
            "iamRoles": list(self.iam_roles),
            "logExports": [],
            "status": self.status,
            "creationDate": self.created,
        }
        if self.iam_roles:
            result["defaultIamRoleArn"] = self.iam_roles[0]
        return result


class Workgroup(BaseModel):
    """A workgroup: the compute that serves a namespace, with its endpoint."""

    def __init__(
        self,
        account_id: str,
        region: str,
        name: str,
        namespace_name: str,
        base_capacity: int,
        publicly_accessible: bool,
        subnet_ids: list[str],
        security_group_ids: list[str],
        tags: dict[str, str],
    ) -> None:
        self.id = str(uuid.uuid4())
        self.name = name
        self.arn = f"arn:aws:redshift-serverless:{region}:{account_id}:workgroup/{self.id}"
        self.namespace_name = namespace_name
        self.base_capacity = base_capacity
        self.publicly_accessible = publicly_accessible
        self.subnet_ids = subnet_ids
        self.security_group_ids = security_group_ids
        self.tags = tags
        self.address = f"{name}.{account_id}.{region}.redshift-serverless.amazonaws.com"
        self.created = _timestamp()
        self.status = "AVAILABLE"
        self.transition: Transition | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "workgroupArn": self.arn,
            "workgroupId": self.id,
            "workgroupName": self.name,
            "namespaceName": self.namespace_name,
            "baseCapacity": self.base_capacity,
            "enhancedVpcRouting": False,
            "configParameters": [],
            "securityGroupIds": list(self.security_group_ids),
            "subnetIds": list(self.subnet_ids),
            "publiclyAccessible": self.publicly_accessible,
            "port": DEFAULT_PORT,
            "endpoint": {"address": self.address, "port": DEFAULT_PORT, "vpcEndpoints": []},
            "status": self.status,
            "creationDate": self.created,
        }


class RedshiftServerlessBackend(BaseBackend):
    """Namespaces and workgroups by name, in one account and region."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.namespaces: dict[str, Namespace] = {}
        self.workgroups: dict[str, Workgroup] = {}

    # CloudFormation's side ----------------------------------------------------------------
    def create_namespace(
        self, name: str, db_name: str, iam_roles: list[str], tags: dict[str, str]
    ) -> Namespace:
        if name in self.namespaces:
            raise ConflictException(f"Namespace {name} already exists.")
        namespace = Namespace(self.account_id, self.region_name, name, db_name, iam_roles, tags)
        self.namespaces[name] = namespace
        return namespace

    def create_workgroup(
        self,
        name: str,
        namespace_name: str,
        base_capacity: int,
        publicly_accessible: bool = False,
        subnet_ids: list[str] | None = None,
        security_group_ids: list[str] | None = None,
        tags: dict[str, str] | None = None,
    ) -> Workgroup:
        if name in self.workgroups:
            raise ConflictException(f"Workgroup {name} already exists.")
        self.get_namespace(namespace_name)
        workgroup = Workgroup(
            self.account_id,
            self.region_name,
            name,
            namespace_name,
            base_capacity,
            publicly_accessible,
            subnet_ids or [],
            security_group_ids or [],
            tags or {},
        )
        self.workgroups[name] = workgroup
        return workgroup

    def remove_workgroup(self, name: str) -> None:
        """Gone at once (its stack was deleted); already gone counts as deleted."""
        workgroup = self.workgroups.pop(name, None)
        if workgroup is not None:
            RUNTIME.scheduler.cancel(workgroup.transition)

    def remove_namespace(self, name: str) -> None:
        """Gone at once (its stack was deleted); refused while a workgroup serves it."""
        self._refuse_if_served(name)
        namespace = self.namespaces.pop(name, None)
        if namespace is not None:
            RUNTIME.scheduler.cancel(namespace.transition)

    # the API -------------------------------------------------------------------------------
    def get_namespace(self, name: str) -> Namespace:
        namespace = self.namespaces.get(name)
        if namespace is None:
            raise ResourceNotFoundException(f"Namespace {name} not found.")
        RUNTIME.scheduler.mark_read(namespace.transition)
        return namespace

    def list_namespaces(self) -> list[Namespace]:
        return sorted(self.namespaces.values(), key=lambda n: n.name)

    def delete_namespace(self, name: str) -> Namespace:
        namespace = self.get_namespace(name)
        if namespace.status != "DELETING":
            self._refuse_if_served(name)
            namespace.transition = self._deleting(namespace, self.namespaces)
        return namespace

    def get_workgroup(self, name: str) -> Workgroup:
        workgroup = self.workgroups.get(name)
        if workgroup is None:
            raise ResourceNotFoundException(f"Workgroup {name} not found.")
        RUNTIME.scheduler.mark_read(workgroup.transition)
        return workgroup

    def list_workgroups(self) -> list[Workgroup]:
        return sorted(self.workgroups.values(), key=lambda w: w.name)

    def delete_workgroup(self, name: str) -> Workgroup:
        workgroup = self.get_workgroup(name)
        if workgroup.status != "DELETING":
            workgroup.transition = self._deleting(workgroup, self.workgroups)
        return workgroup

    # internals ---------------------------------------------------------------------------
    def _refuse_if_served(self, namespace_name: str) -> None:
        serving = sorted(
            w.name for w in self.workgroups.values() if w.namespace_name == namespace_name
        )
        if serving:
            raise ConflictException(
                f"Namespace {namespace_name} is associated with workgroup {serving[0]}: "
                "delete the workgroup first."
            )

    @staticmethod
    def _deleting(resource: Namespace | Workgroup, store: dict[str, Any]) -> Transition:
        def apply(status: str) -> None:
            resource.status = status

        def gone() -> None:
            if store.get(resource.name) is resource:
                del store[resource.name]

        return RUNTIME.scheduler.start(
            [Stage("DELETING", "redshift_serverless.delete")],
            "DELETED",
            apply,
            gone,
            label=f"redshift-serverless:{resource.arn}",
        )


redshiftserverless_backends = BackendDict(RedshiftServerlessBackend, "redshift-serverless")
