"""Reading what AWS did, for `verify-aws`: plain boto3 calls by the documented API.

Each function reads AWS directly (DataZone, Lake Formation, Glue, CloudFormation,
RAM, S3) with the verification set-up's clients, and returns plain data for the
report's evidence. Nothing here decides an outcome (checks.py does) or changes
anything, except `run_athena` and `burst`, which the probes call.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from smus_mesh.engine.workspace import Workspace
from smus_mesh.errors import aws_code
from smus_mesh.resources.datazone import paginate
from smus_mesh.resources.lakeformation import permission_entries
from smus_mesh.waiting import Backoff, DeadlinePassed, poll


def error_of(exc: BaseException) -> dict[str, str]:
    """An AWS error as evidence: its code and message (never the request's headers)."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return {"code": str(error.get("Code", "")), "message": str(error.get("Message", ""))}
    return {"code": type(exc).__name__, "message": str(exc)[:500]}


@dataclass
class Environment:
    id: str
    name: str
    configuration: str
    account_id: str
    status: str
    resources: dict[str, str]


@dataclass
class Project:
    name: str
    id: str
    environments: list[Environment] = field(default_factory=list)

    def environment(self, configuration: str) -> Environment | None:
        return next((e for e in self.environments if e.configuration == configuration), None)


@dataclass
class Facts:
    """What the verification set-up is, as DataZone shows it after `up`."""

    domain_id: str
    domain_arn: str
    projects: dict[str, Project]


class Reader:
    """Read-only views of the verification set-up's accounts."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.config = workspace.config
        self.clients = workspace.clients
        self.domain_alias = self.config.domain.account

    def client(self, alias: str, service: str) -> Any:
        return self.clients.get(alias, service)

    def alias_of(self, account_id: str) -> str:
        return next(a for a in self.config.accounts if self.config.account_id(a) == account_id)

    @property
    def datazone(self) -> Any:
        return self.client(self.domain_alias, "datazone")

    # DataZone ---------------------------------------------------------------------------
    def domain(self) -> dict[str, Any] | None:
        """The verification domain (by name, not being deleted), from GetDomain."""
        for summary in paginate(self.datazone, "list_domains", "items"):
            if summary.get("name") == self.config.domain.name and summary.get("status") not in (
                "DELETING",
                "DELETED",
            ):
                found: dict[str, Any] = self.datazone.get_domain(identifier=summary["id"])
                return found
        return None

    def facts(self) -> Facts:
        domain = self.domain()
        if domain is None:
            raise LookupError(f"no domain {self.config.domain.name} (did up run?)")
        projects: dict[str, Project] = {}
        wanted = {p.name for p in self.config.projects}
        for item in paginate(
            self.datazone, "list_projects", "items", domainIdentifier=domain["id"]
        ):
            if item["name"] in wanted:
                projects[item["name"]] = Project(item["name"], item["id"])
        for project in projects.values():
            for env in paginate(
                self.datazone,
                "list_environments",
                "items",
                domainIdentifier=domain["id"],
                projectIdentifier=project.id,
            ):
                detail = self.datazone.get_environment(
                    domainIdentifier=domain["id"], identifier=env["id"]
                )
                project.environments.append(
                    Environment(
                        env["id"],
                        str(env.get("name", "")),
                        str(detail.get("environmentConfigurationName") or env.get("name", "")),
                        str(detail.get("awsAccountId", "")),
                        str(detail.get("status", "")),
                        {
                            r["name"]: str(r["value"])
                            for r in detail.get("provisionedResources", [])
                        },
                    )
                )
        return Facts(domain["id"], domain["arn"], projects)

    def project_names(self, domain_id: str) -> list[str]:
        return sorted(
            str(p["name"])
            for p in paginate(self.datazone, "list_projects", "items", domainIdentifier=domain_id)
        )

    def subscription_targets(self, domain_id: str, env: Environment) -> list[dict[str, Any]]:
        targets = []
        for target in paginate(
            self.datazone,
            "list_subscription_targets",
            "items",
            domainIdentifier=domain_id,
            environmentIdentifier=env.id,
        ):
            content: dict[str, Any] = {}
            for form in target.get("subscriptionTargetConfig", []):
                try:
                    content.update(json.loads(form.get("content") or "{}"))
                except json.JSONDecodeError:
                    continue
            targets.append(
                {
                    "id": target.get("id"),
                    "name": target.get("name"),
                    "type": target.get("type"),
                    "applicableAssetTypes": target.get("applicableAssetTypes", []),
                    "databaseName": content.get("databaseName"),
                }
            )
        return targets

    def subscriptions(self, domain_id: str, project_id: str) -> list[dict[str, Any]]:
        """The project's APPROVED subscriptions (named: without a status ListSubscriptions
        answers only those, and the checks read nothing else)."""
        return [
            {"id": s["id"], "status": s.get("status"), "request": s.get("subscriptionRequestId")}
            for s in paginate(
                self.datazone,
                "list_subscriptions",
                "items",
                domainIdentifier=domain_id,
                owningProjectId=project_id,
                status="APPROVED",
            )
        ]

    def grants(self, domain_id: str, subscription_id: str) -> list[dict[str, Any]]:
        return [
            {
                "id": g["id"],
                "status": g.get("status"),
                "environmentId": g.get("environmentId"),
                "assets": [
                    {
                        "status": a.get("status"),
                        "targetName": a.get("targetName"),
                        "failureCause": (a.get("failureCause") or {}).get("message"),
                    }
                    for a in g.get("assets", [])
                ],
            }
            for g in paginate(
                self.datazone,
                "list_subscription_grants",
                "items",
                domainIdentifier=domain_id,
                subscriptionId=subscription_id,
            )
        ]

    # Lake Formation, Glue, CloudFormation, RAM -------------------------------------------------
    def lf_permissions(self, alias: str, **kwargs: Any) -> list[dict[str, Any]]:
        lakeformation = self.client(alias, "lakeformation")
        return [
            {
                "principal": entry.get("Principal", {}).get("DataLakePrincipalIdentifier"),
                "resource": entry.get("Resource", {}),
                "permissions": sorted(entry.get("Permissions", [])),
                "grantable": sorted(entry.get("PermissionsWithGrantOption", [])),
            }
            for entry in permission_entries(lakeformation, **kwargs)
        ]

    def data_lake_settings(self, alias: str) -> dict[str, Any]:
        settings = self.client(alias, "lakeformation").get_data_lake_settings()["DataLakeSettings"]
        return {
            "admins": sorted(
                a.get("DataLakePrincipalIdentifier", "") for a in settings.get("DataLakeAdmins", [])
            ),
            "create_database_defaults": [
                {
                    "principal": d.get("Principal", {}).get("DataLakePrincipalIdentifier"),
                    "permissions": sorted(d.get("Permissions", [])),
                }
                for d in settings.get("CreateDatabaseDefaultPermissions", [])
            ],
        }

    def glue_table(self, alias: str, database: str, name: str) -> dict[str, Any] | None:
        try:
            table: dict[str, Any] = self.client(alias, "glue").get_table(
                DatabaseName=database, Name=name
            )["Table"]
        except ClientError as exc:
            if aws_code(exc) == "EntityNotFoundException":
                return None
            raise
        return table

    def glue_database_exists(self, alias: str, name: str) -> bool:
        try:
            self.client(alias, "glue").get_database(Name=name)
        except ClientError as exc:
            if aws_code(exc) == "EntityNotFoundException":
                return False
            raise
        return True

    def stack(self, alias: str, name: str) -> dict[str, Any] | None:
        """A CloudFormation stack by name: name, status and tags (None when absent)."""
        try:
            stacks = self.client(alias, "cloudformation").describe_stacks(StackName=name)["Stacks"]
        except ClientError as exc:
            if aws_code(exc) == "ValidationError":  # "Stack with id X does not exist"
                return None
            raise
        return _stack(stacks[0]) if stacks else None

    def stacks_tagged(self, alias: str, key: str, value: str) -> list[dict[str, Any]]:
        found = []
        paginator = self.client(alias, "cloudformation").get_paginator("describe_stacks")
        for page in paginator.paginate():
            for stack in page.get("Stacks", []):
                if any(t["Key"] == key and t["Value"] == value for t in stack.get("Tags", [])):
                    found.append(_stack(stack))
        return found

    def shares_of(self, domain_arn: str) -> list[dict[str, Any]]:
        ram = self.client(self.domain_alias, "ram")
        return [
            {"arn": r.get("resourceShareArn"), "status": r.get("status")}
            for r in ram.list_resources(resourceOwner="SELF", resourceArns=[domain_arn]).get(
                "resources", []
            )
        ]

    def role_arn(self, alias: str, name: str) -> str | None:
        try:
            return str(self.client(alias, "iam").get_role(RoleName=name)["Role"]["Arn"])
        except ClientError as exc:
            if aws_code(exc) == "NoSuchEntity":
                return None
            raise

    # waiting and probing -------------------------------------------------------------------------
    def watch(
        self, read: Any, done: Any, label: Any, timeout: float | None = None
    ) -> tuple[list[dict[str, Any]], bool]:
        """Poll `read` until `done(value)`: the sequence of distinct `label(value)`s with
        the seconds at which each was first seen, and whether it got there in time."""
        settings = self.workspace.settings
        started = time.monotonic()
        sequence: list[dict[str, Any]] = []

        def step() -> Any:
            value = read()
            seen = label(value)
            if not sequence or sequence[-1]["seen"] != seen:
                sequence.append({"at_s": round(time.monotonic() - started, 2), "seen": seen})
            return value

        try:
            poll(
                step,
                done,
                backoff=Backoff.of(settings),
                timeout=timeout or settings.timeout,
                stop=self.workspace.stop,
            )
        except DeadlinePassed:
            return sequence, False
        return sequence, True

    def run_athena(
        self, athena: Any, sql: str, output: str | None = None, **context: Any
    ) -> dict[str, Any]:
        """Run one statement and wait: its state, reason, error category/type and time."""
        started = time.monotonic()
        kwargs: dict[str, Any] = {"QueryString": sql, **context}
        if output:
            kwargs["ResultConfiguration"] = {"OutputLocation": output}
        try:
            execution_id = athena.start_query_execution(**kwargs)["QueryExecutionId"]
        except ClientError as exc:
            return {
                "sql": sql,
                "state": "REFUSED",
                "error": error_of(exc),
                "seconds": round(time.monotonic() - started, 2),
            }

        def read() -> dict[str, Any]:
            found: dict[str, Any] = athena.get_query_execution(QueryExecutionId=execution_id)[
                "QueryExecution"
            ]
            return found

        sequence, finished = self.watch(
            read,
            lambda q: q["Status"]["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"),
            lambda q: q["Status"]["State"],
        )
        execution = read()
        status = execution["Status"]
        error = status.get("AthenaError") or {}
        return {
            "sql": sql,
            "state": status["State"] if finished else f"still {status['State']}",
            "states": [s["seen"] for s in sequence],
            "reason": status.get("StateChangeReason", ""),
            "error_category": error.get("ErrorCategory"),
            "error_type": error.get("ErrorType"),
            "error_message": error.get("ErrorMessage"),
            "query_execution_id": execution_id,
            "manifest": (execution.get("Statistics") or {}).get("DataManifestLocation"),
            "seconds": round(time.monotonic() - started, 2),
        }

    def burst(
        self, alias: str, service: str, operation: str, calls: int, **kwargs: Any
    ) -> dict[str, Any]:
        """`calls` concurrent calls of `operation` with botocore's retries off: when each
        started and ended, and what AWS answered (an error code or OK)."""
        session = self.workspace.sessions.session(alias)
        client = session.client(
            service,
            region_name=self.clients.region,
            # botocore's `max_attempts` counts retries (1 was one retry of each throttled
            # call after a jittered backoff of up to 1 s); the total is the one to cap
            config=BotoConfig(retries={"total_max_attempts": 1, "mode": "standard"}),
        )
        method = getattr(client, operation)
        began = time.monotonic()

        def one(_: int) -> dict[str, Any]:
            start = time.monotonic() - began
            try:
                method(**kwargs)
                code = "OK"
            except (ClientError, BotoCoreError) as exc:
                code = error_of(exc)["code"]
            return {
                "start_s": round(start, 3),
                "end_s": round(time.monotonic() - began, 3),
                "answer": code,
            }

        try:
            with ThreadPoolExecutor(max_workers=calls) as pool:
                answers = list(pool.map(one, range(calls)))
        finally:
            client.close()  # its connections (`Clients.close`): it serves this burst only
        return {"calls": answers, "seconds": round(time.monotonic() - began, 3)}


def _stack(stack: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": stack.get("StackName"),
        "status": stack.get("StackStatus"),
        "tags": {t["Key"]: t["Value"] for t in stack.get("Tags", [])},
    }
