"""What DataZone does inside an environment's AWS account, and what it checks first.

A DataZone environment is a CloudFormation stack that DataZone deploys into the
account and region its project profile names, assuming that account's
provisioning role (research/workflow.md phases E-G, §2.1). The emulator does
the same in-process, on moto's backends of that account:

* `validation_failure` — the checks DataZone makes before deploying (account
  associated, blueprint enabled for the region, a CREATE_ENVIRONMENT_FROM_BLUEPRINT
  grant covering the project). Failing one makes the environment VALIDATION_FAILED.
* `provision` — the checks made while deploying (the provisioning role exists and
  trusts DataZone for this domain, the Tooling S3 location exists) and the stack
  `DataZone-Env-<environmentId>` itself:
  - Tooling: the project role `datazone_usr_role_<projectId>_<environmentId>`,
    an Athena workgroup with its result location under the S3 location, a
    CodeCommit repository, and the project's prefix in the S3 location;
  - DataLake ("Lakehouse Database"): the project's Glue database, and Lake
    Formation permissions on it for the project role;
  - RedshiftServerless: a Redshift Serverless namespace (its database, the project
    role as its IAM role) and a workgroup serving it.
  Failing one makes the environment CREATE_FAILED.
* `deprovision` — delete the stack; a stack that cannot be deleted leaves the
  environment DELETE_FAILED with the stack's reason.
* `project_credentials` — temporary credentials of a project role, assumed by
  DataZone (not the caller) through moto's STS, so that the keys act in the
  environment's account as that role.

The stacks go through `cloudformation.stacks`, so they are ordinary stacks of that account:
visible to DescribeStacks, and deletable by a user cleaning up leftovers.
"""

from __future__ import annotations

import fnmatch
import json
from datetime import UTC, datetime
from typing import Any

from smus_mesh_emulator.datazone.domains import Domain
from smus_mesh_emulator.datazone.governance import (
    DATA_LAKE,
    REDSHIFT_SERVERLESS,
    TOOLING,
    blueprint_configuration,
    may_create_environment_from,
)
from smus_mesh_emulator.datazone.records.projects import Environment, EnvironmentFailure

DATAZONE_PRINCIPAL = "datazone.amazonaws.com"
#: DataZone's session name when it assumes a project role for a user.
CREDENTIALS_SESSION = "DataZone-{environment_id}"
CREDENTIALS_SECONDS = 3600


def stack_name(environment_id: str) -> str:
    """The CloudFormation stack of an environment (the `DataZone-Env-*` of IAM policies)."""
    return f"DataZone-Env-{environment_id}"


def project_role_name(project_id: str, environment_id: str) -> str:
    """The project role a Tooling environment creates (research/workflow.md §5)."""
    return f"datazone_usr_role_{project_id}_{environment_id}"


# --- before deploying --------------------------------------------------------------


def validation_failure(domain: Domain, environment: Environment) -> EnvironmentFailure | None:
    """The first pre-deployment check the environment fails, or None."""
    from smus_mesh_emulator.ram.models import associated_accounts

    account, region = environment.account_id, environment.region
    if account != domain.account_id and account not in associated_accounts(
        domain.account_id, domain.region, domain.arn
    ):
        return EnvironmentFailure(
            "ACCOUNT_NOT_ASSOCIATED",
            f"Account {account} is not associated with domain {domain.id}: share the domain "
            "with it through AWS RAM and accept the invitation in that account",
        )
    configuration = blueprint_configuration(domain, account, environment.blueprint_id)
    if configuration is None:
        return EnvironmentFailure(
            "BLUEPRINT_NOT_ENABLED",
            f"Blueprint {environment.blueprint_name} ({environment.blueprint_id}) is not enabled "
            f"in account {account}: it has no environment blueprint configuration",
        )
    if region not in configuration.enabled_regions:
        return EnvironmentFailure(
            "REGION_NOT_ENABLED",
            f"The {environment.blueprint_name} blueprint configuration of account {account} does "
            f"not enable region {region} (enabledRegions: {configuration.enabled_regions})",
        )
    if not may_create_environment_from(
        domain, account, environment.blueprint_id, environment.project_id
    ):
        return EnvironmentFailure(
            "MISSING_POLICY_GRANT",
            f"No CREATE_ENVIRONMENT_FROM_BLUEPRINT policy grant on blueprint configuration "
            f"{account}:{environment.blueprint_id} covers project {environment.project_id}",
        )
    return None


# --- trust of the provisioning role --------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _condition_allows(conditions: dict[str, Any], key: str, actual: str) -> bool:
    """Do the Equals/Like conditions on `key` (if any) accept `actual`?"""
    for operator, tests in conditions.items():
        base = operator.split(":")[-1].removesuffix("IfExists")
        wanted = next((v for k, v in (tests or {}).items() if k.lower() == key.lower()), None)
        if wanted is None:
            continue
        if base in ("StringEquals", "ArnEquals") and actual not in _as_list(wanted):
            return False
        if base in ("StringLike", "ArnLike") and not any(
            fnmatch.fnmatchcase(actual, pattern) for pattern in _as_list(wanted)
        ):
            return False
    return True


def trust_problem(role: Any, domain: Domain) -> str | None:
    """Why DataZone (acting for `domain`) cannot assume `role`, or None if it can.

    The trust policy must allow datazone.amazonaws.com `sts:AssumeRole`; where it
    narrows that with aws:SourceAccount / aws:SourceArn, they must be the domain's
    account and ARN — in an associated account too (research/workflow.md A3, A4).
    """
    try:
        policy = json.loads(role.assume_role_policy_document)
    except (TypeError, ValueError):
        return "its trust policy is not valid JSON"
    for statement in _as_list(policy.get("Statement")):
        principal = statement.get("Principal")
        services = _as_list(principal.get("Service")) if isinstance(principal, dict) else []
        actions = _as_list(statement.get("Action"))
        if (
            statement.get("Effect") == "Allow"
            and DATAZONE_PRINCIPAL in services
            and any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions)
        ):
            conditions = statement.get("Condition") or {}
            if _condition_allows(
                conditions, "aws:SourceAccount", domain.account_id
            ) and _condition_allows(conditions, "aws:SourceArn", domain.arn):
                return None
    return (
        f"its trust policy does not let {DATAZONE_PRINCIPAL} sts:AssumeRole for domain "
        f"{domain.id} (aws:SourceAccount must be {domain.account_id}, aws:SourceArn "
        f"{domain.arn})"
    )


def _role(account_id: str, role_arn: str) -> Any:
    from smus_mesh_emulator.datazone.common import role_in_account

    return role_in_account(account_id, role_arn)


def _check_provisioning_role(domain: Domain, environment: Environment) -> None:
    configuration = blueprint_configuration(
        domain, environment.account_id, environment.blueprint_id
    )
    arn = configuration.provisioning_role_arn if configuration else None
    if not arn:
        raise EnvironmentFailure(
            "PROVISIONING_ROLE_MISSING",
            f"The {environment.blueprint_name} blueprint configuration of account "
            f"{environment.account_id} has no provisioningRoleArn",
        )
    role = _role(environment.account_id, arn)
    if role is None:
        raise EnvironmentFailure(
            "PROVISIONING_ROLE_INVALID",
            f"DataZone cannot assume provisioning role {arn}: it does not exist in account "
            f"{environment.account_id}",
        )
    problem = trust_problem(role, domain)
    if problem:
        raise EnvironmentFailure(
            "PROVISIONING_ROLE_INVALID",
            f"DataZone cannot assume provisioning role {arn}: {problem}",
        )


# --- deploying -----------------------------------------------------------------------


def _tags(domain: Domain, environment: Environment) -> dict[str, str]:
    return {
        "AmazonDataZoneDomain": domain.id,
        "AmazonDataZoneProject": environment.project_id,
        "AmazonDataZoneBlueprint": environment.blueprint_name,
        "AmazonDataZoneEnvironment": environment.id,
    }


def _resource_tags(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _split_s3(location: str) -> tuple[str, str]:
    """("bucket", "prefix") of an s3:// URL; the prefix has no surrounding slashes."""
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    return bucket, prefix.strip("/")


def _s3_location(domain: Domain, environment: Environment) -> tuple[str, str]:
    """The Tooling blueprint configuration's S3Location for the environment's region,
    checked to be a bucket of the environment's account."""
    from moto.s3.models import s3_backends

    configuration = blueprint_configuration(
        domain, environment.account_id, environment.blueprint_id
    )
    location = (
        configuration.regional_parameter(environment.region, "S3Location")
        if configuration
        else None
    )
    if not location or not location.startswith("s3://"):
        raise EnvironmentFailure(
            "S3_LOCATION_INVALID",
            f"The Tooling blueprint configuration of account {environment.account_id} has no "
            f"regionalParameters.{environment.region}.S3Location",
        )
    bucket, prefix = _split_s3(location)
    if bucket not in s3_backends[environment.account_id]["aws"].buckets:
        raise EnvironmentFailure(
            "S3_LOCATION_INVALID",
            f"S3Location {location}: bucket {bucket} does not exist in account "
            f"{environment.account_id}",
        )
    return bucket, prefix


def _project_path(domain: Domain, environment: Environment, bucket: str, prefix: str) -> str:
    key = "/".join(part for part in (prefix, domain.id, environment.project_id) if part)
    return f"s3://{bucket}/{key}"


def _tooling_template(
    domain: Domain, environment: Environment, project_path: str, tags: dict[str, str]
) -> dict[str, Any]:
    role_name = project_role_name(environment.project_id, environment.id)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": DATAZONE_PRINCIPAL},
                "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetContext"],
                "Condition": {"StringEquals": {"aws:SourceAccount": domain.account_id}},
            }
        ],
    }
    # What the project's users do with the role: query with Athena, read the catalog,
    # and get data through Lake Formation; the objects are governed by Lake Formation.
    usage = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["athena:*", "glue:Get*", "glue:Search*", "lakeformation:GetDataAccess"],
                "Resource": "*",
            },
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
                "Resource": "*",
            },
        ],
    }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"DataZone Tooling environment {environment.id}",
        "Resources": {
            "UserRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": role_name,
                    "AssumeRolePolicyDocument": trust,
                    "Policies": [{"PolicyName": "ProjectUsage", "PolicyDocument": usage}],
                    "Tags": _resource_tags(tags),
                },
            },
            "Workgroup": {
                "Type": "AWS::Athena::WorkGroup",
                "Properties": {
                    "Name": workgroup_name(environment),
                    "WorkGroupConfiguration": {
                        "ResultConfiguration": {"OutputLocation": f"{project_path}/sys/athena/"}
                    },
                    "Tags": _resource_tags(tags),
                },
            },
            "CodeRepository": {
                "Type": "AWS::CodeCommit::Repository",
                "Properties": {
                    "RepositoryName": repository_name(environment),
                    "RepositoryDescription": f"Code of DataZone project {environment.project_id}",
                    "Tags": _resource_tags(tags),
                },
            },
        },
        "Outputs": {
            "UserRole": {"Value": {"Fn::GetAtt": ["UserRole", "Arn"]}},
            "UserRoleName": {"Value": {"Ref": "UserRole"}},
            "Workgroup": {"Value": {"Ref": "Workgroup"}},
        },
    }


def workgroup_name(environment: Environment) -> str:
    """The Athena workgroup of a Tooling environment (its `project.athena` connection)."""
    return f"workgroup-{environment.project_id}-{environment.id}"


def repository_name(environment: Environment) -> str:
    """The project's CodeCommit repository, made by its Tooling environment."""
    return f"datazone-{environment.project_id}-{environment.id}"


def _data_lake_template(environment: Environment, database: str) -> dict[str, Any]:
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"DataZone Lakehouse Database environment {environment.id}",
        "Resources": {
            "GlueDatabase": {
                "Type": "AWS::Glue::Database",
                "Properties": {
                    "CatalogId": environment.account_id,
                    "DatabaseInput": {
                        "Name": database,
                        "Description": f"DataZone project {environment.project_id}",
                    },
                },
            }
        },
        "Outputs": {"GlueDatabase": {"Value": {"Ref": "GlueDatabase"}}},
    }


def _deploy(domain: Domain, environment: Environment, template: dict[str, Any]) -> None:
    from smus_mesh_emulator.cloudformation import stacks
    from smus_mesh_emulator.cloudformation.exceptions import StackDeploymentError

    name = stack_name(environment.id)
    environment.stack_name = name
    try:
        stacks.deploy_stack(
            environment.account_id, environment.region, name, template, _tags(domain, environment)
        )
    except StackDeploymentError as exc:
        raise EnvironmentFailure("STACK_FAILED", f"CloudFormation {exc}") from exc


def _provision_tooling(domain: Domain, environment: Environment) -> dict[str, str]:
    from moto.s3.models import s3_backends

    bucket, prefix = _s3_location(domain, environment)
    project_path = _project_path(domain, environment, bucket, prefix)
    tags = _tags(domain, environment)
    _deploy(domain, environment, _tooling_template(domain, environment, project_path, tags))
    # The project's shared prefix. Deleting the environment leaves it: AWS does not
    # remove project data from the customer's bucket.
    shared_key = project_path.removeprefix(f"s3://{bucket}/") + "/shared/"
    s3_backends[environment.account_id]["aws"].put_object(bucket, shared_key, b"")
    role_name = project_role_name(environment.project_id, environment.id)
    return {
        "userRoleArn": f"arn:aws:iam::{environment.account_id}:role/{role_name}",
        "userRoleName": role_name,
        "workgroupName": workgroup_name(environment),
        "codeRepositoryName": repository_name(environment),
        "s3BucketPath": project_path,
    }


def _provision_data_lake(
    domain: Domain, environment: Environment, project_role_arn: str | None
) -> dict[str, str]:
    from smus_mesh_emulator.lakeformation import permissions as lf_permissions

    if project_role_arn is None:
        raise EnvironmentFailure(
            "PROJECT_ROLE_MISSING",
            f"Project {environment.project_id} has no active Tooling environment, so there is no "
            "project role to give the Lakehouse Database to",
        )
    database = environment.parameters.get("glueDbName") or f"glue_db_{environment.id[:8]}"
    _deploy(domain, environment, _data_lake_template(environment, database))
    # The project owns its database: its role gets every permission, grantable, on the
    # database and on every table that will be created in it.
    account = environment.account_id
    for resource in (
        {"Database": {"CatalogId": account, "Name": database}},
        {"Table": {"CatalogId": account, "DatabaseName": database, "TableWildcard": {}}},
    ):
        lf_permissions.grant(
            account, environment.region, project_role_arn, resource, ["ALL"], ["ALL"]
        )
    return {"glueDBName": database, "userRoleArn": project_role_arn}


def redshift_names(environment: Environment) -> tuple[str, str]:
    """(namespace, workgroup) of a RedshiftServerless environment: named after the
    environment, as AWS does not document the names it uses (ADR 5)."""
    return f"redshift-serverless-namespace-{environment.id}", (
        f"redshift-serverless-workgroup-{environment.id}"
    )


def _redshift_template(
    environment: Environment, role_arn: str, database: str, capacity: int, tags: dict[str, str]
) -> dict[str, Any]:
    namespace, workgroup = redshift_names(environment)
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"DataZone RedshiftServerless environment {environment.id}",
        "Resources": {
            "Namespace": {
                "Type": "AWS::RedshiftServerless::Namespace",
                "Properties": {
                    "NamespaceName": namespace,
                    "DbName": database,
                    "IamRoles": [role_arn],
                    "Tags": _resource_tags(tags),
                },
            },
            "Workgroup": {
                "Type": "AWS::RedshiftServerless::Workgroup",
                "Properties": {
                    "WorkgroupName": workgroup,
                    "NamespaceName": {"Ref": "Namespace"},
                    "BaseCapacity": capacity,
                    "PubliclyAccessible": False,
                    "Tags": _resource_tags(tags),
                },
            },
        },
        "Outputs": {
            "NamespaceName": {"Value": {"Ref": "Namespace"}},
            "WorkgroupName": {"Value": {"Ref": "Workgroup"}},
            "Endpoint": {"Value": {"Fn::GetAtt": ["Workgroup", "Workgroup.Endpoint.Address"]}},
        },
    }


def _provision_redshift(
    domain: Domain, environment: Environment, project_role_arn: str | None
) -> dict[str, str]:
    if project_role_arn is None:
        raise EnvironmentFailure(
            "PROJECT_ROLE_MISSING",
            f"Project {environment.project_id} has no active Tooling environment, so there is no "
            "project role for the Redshift Serverless namespace",
        )
    database = environment.parameters.get("redshiftDbName") or "dev"
    try:
        capacity = int(environment.parameters.get("redshiftBaseCapacity") or 128)
    except ValueError as exc:
        raise EnvironmentFailure(
            "INVALID_PARAMETER", f"redshiftBaseCapacity must be an integer: {exc}"
        ) from exc
    tags = _tags(domain, environment)
    _deploy(
        domain,
        environment,
        _redshift_template(environment, project_role_arn, database, capacity, tags),
    )
    namespace, workgroup = redshift_names(environment)
    return {
        "userRoleArn": project_role_arn,
        "redshiftNamespaceName": namespace,
        "redshiftWorkgroupName": workgroup,
        "redshiftDbName": database,
    }


def provision(
    domain: Domain, environment: Environment, project_role_arn: str | None
) -> dict[str, str]:
    """Deploy the environment into its account; return its provisioned resources
    (contract keys of `Environment.provisioned`). Raises EnvironmentFailure."""
    _check_provisioning_role(domain, environment)
    if environment.blueprint_name == TOOLING:
        return _provision_tooling(domain, environment)
    if environment.blueprint_name == DATA_LAKE:
        return _provision_data_lake(domain, environment, project_role_arn)
    if environment.blueprint_name == REDSHIFT_SERVERLESS:
        return _provision_redshift(domain, environment, project_role_arn)
    raise EnvironmentFailure(
        "BLUEPRINT_NOT_EMULATED",
        f"The emulator does not provision {environment.blueprint_name} environments "
        f"(it provisions {TOOLING}, {DATA_LAKE} and {REDSHIFT_SERVERLESS})",
    )


def deprovision(environment: Environment) -> str | None:
    """Delete the environment's stack; the reason it could not be deleted, or None."""
    from smus_mesh_emulator.cloudformation import stacks
    from smus_mesh_emulator.lakeformation.catalog_sync import prune

    if environment.stack_name is None:
        return None
    if stacks.stack_status(environment.account_id, environment.region, environment.stack_name) in (
        None,
        "DELETE_COMPLETE",
    ):
        return None
    status, reason = stacks.delete_stack(
        environment.account_id, environment.region, environment.stack_name
    )
    # Lake Formation permissions on the deleted database go with it.
    prune(environment.account_id, environment.region)
    if status == "DELETE_FAILED":
        return (
            f"CloudFormation stack {environment.stack_name} could not be deleted: "
            + (reason or "no reason given").strip()
        )
    return None


# --- credentials -------------------------------------------------------------------


def project_credentials(environment: Environment, role_arn: str) -> dict[str, Any]:
    """Temporary credentials of `role_arn`, in the environment's account."""
    from moto.sts.models import sts_backends

    if _role(environment.account_id, role_arn) is None:
        raise EnvironmentFailure(
            "PROJECT_ROLE_MISSING", f"Project role {role_arn} no longer exists"
        )
    assumed = sts_backends[environment.account_id]["aws"].assume_role(
        region_name=environment.region,
        role_session_name=CREDENTIALS_SESSION.format(environment_id=environment.id),
        role_arn=role_arn,
        policy="",
        duration=CREDENTIALS_SECONDS,
        external_id="",
    )
    expiration: datetime = assumed.expiration
    return {
        "accessKeyId": assumed.access_key_id,
        "secretAccessKey": assumed.secret_access_key,
        "sessionToken": assumed.session_token,
        "expiration": expiration.replace(tzinfo=UTC) if expiration.tzinfo is None else expiration,
    }
