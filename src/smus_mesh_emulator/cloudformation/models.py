"""The resource types moto lacks: `AWS::Glue::Database`, `AWS::Athena::WorkGroup`,
`AWS::CodeCommit::Repository`, `AWS::RedshiftServerless::Namespace` and `::Workgroup`, as
`CloudFormationModel` subclasses. moto finds models
through `CloudFormationModel.__subclasses__()` behind `lru_cache`d lookups, so the caches
are cleared once the classes exist (emulation.md §3.4).
"""

from __future__ import annotations

from typing import Any, Self

from moto.athena.models import athena_backends
from moto.cloudformation import parsing
from moto.codecommit.models import codecommit_backends
from moto.core.common_models import CloudFormationModel
from moto.glue.models import glue_backends

from smus_mesh_emulator.cloudformation.exceptions import ResourceFailure
from smus_mesh_emulator.redshiftserverless.models import redshiftserverless_backends


class _ByName:
    """What these types share: a resource known by its name (its physical id), made again
    on update (delete, then create) and deleted by name. A mixin, not a subclass of
    `CloudFormationModel`: moto finds models among that class's direct subclasses only."""

    def __init__(self, account_id: str, region_name: str, name: str) -> None:
        self.account_id = account_id
        self.region_name = region_name
        self.name = name

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Self:
        raise NotImplementedError

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Self,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Self:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        cls(account_id, region_name, resource_name).delete(account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        raise NotImplementedError

    def is_created(self) -> bool:
        return True


class GlueDatabase(_ByName, CloudFormationModel):
    """`AWS::Glue::Database`: Ref is the database name; no attributes."""

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""  # the name is DatabaseInput.Name, not a top-level property

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Glue::Database"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> GlueDatabase:
        properties = cloudformation_json["Properties"]
        catalog_id = str(properties.get("CatalogId") or account_id)
        if catalog_id != account_id:
            raise ResourceFailure(
                f"Cannot create database in catalog {catalog_id} from account {account_id}"
            )
        database_input = dict(properties.get("DatabaseInput") or {})
        name = str(
            database_input.get("Name") or properties.get("DatabaseName") or resource_name.lower()
        )
        database_input["Name"] = name
        glue_backends[account_id][region_name].create_database(name, database_input)
        return cls(account_id, region_name, name)

    def delete(self, account_id: str, region_name: str) -> None:
        # Gone already (deleted out of band) counts as deleted, as in CloudFormation.
        glue_backends[account_id][region_name].databases.pop(self.name, None)


class AthenaWorkGroup(_ByName, CloudFormationModel):
    """`AWS::Athena::WorkGroup`: Ref is the name; GetAtt CreationTime and the engine."""

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Athena::WorkGroup"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in (
            "CreationTime",
            "WorkGroupConfiguration.EngineVersion.EffectiveEngineVersion",
        )

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        group = athena_backends[self.account_id][self.region_name].work_groups[self.name]
        if attribute_name == "CreationTime":
            return str(getattr(group, "creation_time", ""))
        return group.configuration["EngineVersion"]["EffectiveEngineVersion"]

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> AthenaWorkGroup:
        properties = cloudformation_json["Properties"]
        created = athena_backends[account_id][region_name].create_work_group(
            name=resource_name,
            configuration=dict(properties.get("WorkGroupConfiguration") or {}),
            description=properties.get("Description") or "",
            tags=list(properties.get("Tags") or []),
        )
        if created is None:
            raise ResourceFailure(f"WorkGroup {resource_name} is already created")
        return cls(account_id, region_name, resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        athena_backends[account_id][region_name].delete_work_group(self.name)


class CodeCommitRepository(_ByName, CloudFormationModel):
    """`AWS::CodeCommit::Repository`: Ref is the repository id; GetAtt Arn, Name,
    CloneUrlHttp, CloneUrlSsh."""

    _ATTRIBUTES = {
        "Arn": "Arn",
        "Name": "repositoryName",
        "CloneUrlHttp": "cloneUrlHttp",
        "CloneUrlSsh": "cloneUrlSsh",
    }

    def __init__(self, account_id: str, region_name: str, name: str, metadata: dict[str, str]):
        super().__init__(account_id, region_name, name)
        self.metadata = metadata

    @staticmethod
    def cloudformation_name_type() -> str:
        return "RepositoryName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CodeCommit::Repository"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls._ATTRIBUTES

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        return self.metadata[self._ATTRIBUTES[attribute_name]]

    @property
    def physical_resource_id(self) -> str:  # the id, not the name
        return self.metadata["repositoryId"]

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> CodeCommitRepository:
        from smus_mesh_emulator.codecommit.models import set_tags

        properties = cloudformation_json["Properties"]
        backend = codecommit_backends[account_id][region_name]
        metadata = backend.create_repository(
            resource_name, properties.get("RepositoryDescription") or ""
        )
        set_tags(
            backend.repositories[resource_name],
            {t["Key"]: t["Value"] for t in properties.get("Tags") or []},
        )
        return cls(account_id, region_name, resource_name, metadata)

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        codecommit_backends[account_id][region_name].delete_repository(resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        codecommit_backends[account_id][region_name].delete_repository(self.name)


def _tag_map(properties: dict[str, Any]) -> dict[str, str]:
    return {str(t["Key"]): str(t["Value"]) for t in properties.get("Tags") or []}


class RedshiftServerlessNamespace(_ByName, CloudFormationModel):
    """`AWS::RedshiftServerless::Namespace`: Ref is the name; GetAtt Namespace.* (the
    attributes the CloudFormation reference lists)."""

    @staticmethod
    def cloudformation_name_type() -> str:
        return "NamespaceName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::RedshiftServerless::Namespace"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in (
            "Namespace.NamespaceArn",
            "Namespace.NamespaceId",
            "Namespace.NamespaceName",
            "Namespace.DbName",
            "Namespace.Status",
        )

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        namespace = redshiftserverless_backends[self.account_id][self.region_name].namespaces[
            self.name
        ]
        return {
            "Namespace.NamespaceArn": namespace.arn,
            "Namespace.NamespaceId": namespace.id,
            "Namespace.NamespaceName": namespace.name,
            "Namespace.DbName": namespace.db_name,
            "Namespace.Status": namespace.status,
        }[attribute_name]

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> RedshiftServerlessNamespace:
        properties = cloudformation_json["Properties"]
        redshiftserverless_backends[account_id][region_name].create_namespace(
            resource_name,
            str(properties.get("DbName") or "dev"),
            [str(r) for r in properties.get("IamRoles") or []],
            _tag_map(properties),
        )
        return cls(account_id, region_name, resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        redshiftserverless_backends[account_id][region_name].remove_namespace(self.name)


class RedshiftServerlessWorkgroup(_ByName, CloudFormationModel):
    """`AWS::RedshiftServerless::Workgroup`: Ref is the name; GetAtt Workgroup.*."""

    @staticmethod
    def cloudformation_name_type() -> str:
        return "WorkgroupName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::RedshiftServerless::Workgroup"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in (
            "Workgroup.WorkgroupArn",
            "Workgroup.WorkgroupId",
            "Workgroup.WorkgroupName",
            "Workgroup.NamespaceName",
            "Workgroup.Endpoint.Address",
            "Workgroup.Endpoint.Port",
        )

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        workgroup = redshiftserverless_backends[self.account_id][self.region_name].workgroups[
            self.name
        ]
        return {
            "Workgroup.WorkgroupArn": workgroup.arn,
            "Workgroup.WorkgroupId": workgroup.id,
            "Workgroup.WorkgroupName": workgroup.name,
            "Workgroup.NamespaceName": workgroup.namespace_name,
            "Workgroup.Endpoint.Address": workgroup.address,
            "Workgroup.Endpoint.Port": workgroup.to_dict()["port"],
        }[attribute_name]

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> RedshiftServerlessWorkgroup:
        properties = cloudformation_json["Properties"]
        backend = redshiftserverless_backends[account_id][region_name]
        namespace = str(properties.get("NamespaceName") or "")
        if namespace not in backend.namespaces:
            raise ResourceFailure(f"Namespace {namespace} not found.")
        backend.create_workgroup(
            resource_name,
            namespace,
            int(properties.get("BaseCapacity") or 128),
            bool(properties.get("PubliclyAccessible") or False),
            [str(s) for s in properties.get("SubnetIds") or []],
            [str(g) for g in properties.get("SecurityGroupIds") or []],
            _tag_map(properties),
        )
        return cls(account_id, region_name, resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        redshiftserverless_backends[account_id][region_name].remove_workgroup(self.name)


# moto memoises its model registry; it must see the subclasses defined above.
parsing.get_model_list.cache_clear()


parsing.get_model_map.cache_clear()


parsing.get_name_type_map.cache_clear()
