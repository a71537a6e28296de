"""The checks of ADR 5's points: what each assumes, what to observe, how to judge it.

Every check reads AWS through `observe.Reader` (the documented API, the botocore
model's names) and returns a `Check`: `pass` when AWS did what ADR 5 assumes,
`differs` with the evidence when it did not, `could-not-check` with the reason
when this run could not see it (points 11-16, through Athena: athena.py). Nothing
here knows whether the endpoint is AWS or the emulator: the same observations decide
in both.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from smus_mesh.collaboration import CheckResult, Collaboration, ConsumerAccess
from smus_mesh.resources.datazone import LAKEHOUSE_CONFIGURATION, LAKEHOUSE_CONNECTION
from smus_mesh.resources.datazone import TOOLING_CONFIGURATION as TOOLING
from smus_mesh.resources.naming import SETUP_TAG
from smus_mesh.verify.observe import Facts, Reader, error_of
from smus_mesh.verify.probe_setup import CONSUMERS, PRODUCER, TABLE
from smus_mesh.verify.report import Check

STACK_TAGS = ("AmazonDataZoneDomain", "AmazonDataZoneProject", "AmazonDataZoneEnvironment")


def _table_resource(catalog: str, database: str, name: str) -> dict[str, Any]:
    return {"Table": {"CatalogId": catalog, "DatabaseName": database, "Name": name}}


class Checks:
    """The checks of one verification set-up (built after `up`)."""

    def __init__(self, reader: Reader, facts: Facts) -> None:
        self.reader = reader
        self.facts = facts
        config = reader.config
        self.producer_alias = config.domain.account
        self.consumer_alias = config.project(CONSUMERS[0]).account
        self.producer_id = config.account_id(self.producer_alias)
        self.consumer_id = config.account_id(self.consumer_alias)
        self.table = config.table(TABLE)

    def consumer(self, name: str) -> Any:
        return self.facts.projects[name]

    # 1 -------------------------------------------------------------------------------------
    def landing(self) -> Check:
        """Point 1: which consumer environment holds the Glue subscription target, and
        what the grant's assets name as their target."""
        evidence: dict[str, Any] = {"projects": {}}
        problems = []
        for name in CONSUMERS:
            project = self.consumer(name)
            targets = {
                f"{env.configuration} ({env.id})": self.reader.subscription_targets(
                    self.facts.domain_id, env
                )
                for env in project.environments
            }
            with_database = [
                env
                for env in project.environments
                if any(t["databaseName"] for t in targets[f"{env.configuration} ({env.id})"])
            ]
            subscriptions = self.reader.subscriptions(self.facts.domain_id, project.id)
            grants = [
                g for s in subscriptions for g in self.reader.grants(self.facts.domain_id, s["id"])
            ]
            evidence["projects"][name] = {
                "targets_by_environment": targets,
                "grants": grants,
            }
            names = [env.configuration for env in with_database]
            if names != [LAKEHOUSE_CONFIGURATION]:
                problems.append(
                    f"{name}: Glue targets on {names or 'no environment'}, "
                    f"not only on {LAKEHOUSE_CONFIGURATION!r}"
                )
            if not any(a["targetName"] for g in grants for a in g["assets"]):
                problems.append(f"{name}: no grant asset names a targetName")
        if problems:
            return Check(1, "differs", "; ".join(problems), evidence)
        return Check(
            1,
            "pass",
            f"each consumer's Glue subscription target is on its {LAKEHOUSE_CONFIGURATION!r} "
            "environment and the grant's assets name their target table",
            evidence,
        )

    def target_of(self, name: str) -> tuple[str, str] | None:
        """(database, table) where consumer `name` reads the probe table."""
        project = self.consumer(name)
        for env in project.environments:
            for target in self.reader.subscription_targets(self.facts.domain_id, env):
                if not target["databaseName"]:
                    continue
                for sub in self.reader.subscriptions(self.facts.domain_id, project.id):
                    for grant in self.reader.grants(self.facts.domain_id, sub["id"]):
                        for asset in grant["assets"]:
                            if asset["targetName"]:
                                return str(target["databaseName"]), str(asset["targetName"])
        return None

    # 2 and 7 ----------------------------------------------------------------------------------
    def fulfilment(self) -> Check:
        """Point 2: grantable SELECT/DESCRIBE to the consumer account, a resource link in
        the target database, a grant to the project role in the consumer account."""
        table = self.table
        shared = self.reader.lf_permissions(
            self.producer_alias,
            Resource=_table_resource(self.producer_id, table.database, table.table),
        )
        to_account = [e for e in shared if e["principal"] == self.consumer_id]
        evidence: dict[str, Any] = {"producer_table_permissions": shared}
        problems = []
        wanted = {"SELECT", "DESCRIBE"}
        if not to_account or not wanted <= set(to_account[0]["permissions"]):
            problems.append(
                f"the table is not granted SELECT+DESCRIBE to account {self.consumer_id}"
            )
        elif not wanted <= set(to_account[0]["grantable"]):
            problems.append("the grant to the consumer account is not grantable")
        for name in CONSUMERS:
            target = self.target_of(name)
            role = self.consumer(name).environment(TOOLING)
            role_arn = role.resources.get("userRoleArn", "") if role else ""
            seen: dict[str, Any] = {"target": target, "project_role": role_arn}
            if target is None:
                problems.append(f"{name}: no target database/table found")
                evidence[name] = seen
                continue
            link = self.reader.glue_table(self.consumer_alias, *target)
            seen["link"] = (
                {"Name": link.get("Name"), "TargetTable": link.get("TargetTable")} if link else None
            )
            if not link or not link.get("TargetTable"):
                problems.append(f"{name}: {target[0]}.{target[1]} is not a resource link")
            if role_arn:
                # ListPermissions needs a Resource when it filters by Principal: the
                # resource link and the table it points to, each read in full.
                to_role = [
                    e
                    for resource in (
                        _table_resource(self.consumer_id, *target),
                        _table_resource(self.producer_id, table.database, table.table),
                    )
                    for e in self.reader.lf_permissions(self.consumer_alias, Resource=resource)
                    if e["principal"] == role_arn
                ]
                seen["project_role_permissions"] = to_role
                if not any("SELECT" in e["permissions"] for e in to_role):
                    problems.append(
                        f"{name}: the project role holds no SELECT in the consumer account"
                    )
            else:
                problems.append(f"{name}: no project role (userRoleArn) on the Tooling environment")
            evidence[name] = seen
        if problems:
            return Check(2, "differs", "; ".join(problems), evidence)
        return Check(
            2,
            "pass",
            "SELECT+DESCRIBE (grantable) to the consumer account, a resource link in each "
            "target database, SELECT to each project role in the consumer account",
            evidence,
        )

    def lake_formation_admins(self, queries: list[CheckResult] | None) -> Check:
        """Point 7: fulfilment worked without the consumer's manage-access role being a
        data lake administrator there."""
        settings = self.reader.data_lake_settings(self.consumer_alias)
        name = self.reader.workspace.names.manage_access_role(self.facts.domain_id)
        role = self.reader.role_arn(self.consumer_alias, name)
        evidence: dict[str, Any] = {
            "consumer_admins": settings["admins"],
            "manage_access_role": role,
        }
        if role is None:
            return Check(
                7,
                "could-not-check",
                f"no manage-access role {name} in the consumer account",
                evidence,
            )
        if role in settings["admins"]:
            return Check(
                7,
                "could-not-check",
                "the consumer's manage-access role is already a data lake administrator "
                "there (made so outside smus-mesh): whether it needs to be cannot be seen",
                evidence,
            )
        if not queries:
            return Check(7, "could-not-check", "the consumers' queries did not run", evidence)
        evidence["queries"] = [
            {"check": q.name, "ok": q.ok, "rows": len(q.rows), "message": q.message}
            for q in queries
        ]
        if all(q.ok for q in queries):
            return Check(
                7,
                "pass",
                "grants COMPLETED and both consumers read the rows with the manage-access "
                "role not a data lake administrator of the consumer account",
                evidence,
            )
        return Check(
            7,
            "differs",
            "a consumer could not read its rows while the manage-access role is no data "
            "lake administrator: " + "; ".join(q.message for q in queries if not q.ok),
            evidence,
        )

    # 3 ----------------------------------------------------------------------------------------
    def data_source_binding(self) -> Check:
        """Point 3: the lakehouse connection of the Tooling environment, the data source
        bound to it by connectionIdentifier, and its runs."""
        datazone = self.reader.datazone
        domain_id = self.facts.domain_id
        project = self.facts.projects[PRODUCER]
        tooling = project.environment(TOOLING)
        connections = [
            {
                "id": c.get("connectionId"),
                "name": c.get("name"),
                "type": c.get("type"),
                "environmentId": c.get("environmentId"),
            }
            for page in datazone.get_paginator("list_connections").paginate(
                domainIdentifier=domain_id, projectIdentifier=project.id
            )
            for c in page.get("items", [])
        ]
        lakehouse = [c for c in connections if c["name"] == LAKEHOUSE_CONNECTION]
        sources = []
        for page in datazone.get_paginator("list_data_sources").paginate(
            domainIdentifier=domain_id, projectIdentifier=project.id
        ):
            for item in page.get("items", []):
                detail = datazone.get_data_source(
                    domainIdentifier=domain_id, identifier=item["dataSourceId"]
                )
                runs = [
                    {
                        "status": r.get("status"),
                        "error": (r.get("errorMessage") or {}).get("message"),
                    }
                    for p in datazone.get_paginator("list_data_source_runs").paginate(
                        domainIdentifier=domain_id, dataSourceIdentifier=item["dataSourceId"]
                    )
                    for r in p.get("items", [])
                ]
                sources.append(
                    {
                        "id": detail.get("id"),
                        "type": detail.get("type"),
                        "connectionId": detail.get("connectionId"),
                        "environmentId": detail.get("environmentId"),
                        "status": detail.get("status"),
                        "lastRunStatus": detail.get("lastRunStatus"),
                        "runs": runs,
                    }
                )
        evidence = {
            "tooling_environment": tooling.id if tooling else None,
            "connections": connections,
            "data_sources": sources,
            "not_probed": "whether environmentIdentifier is rejected for a V2 data source",
        }
        if not lakehouse:
            names = sorted({str(c["name"]) for c in connections})
            return Check(
                3,
                "differs",
                f"no connection named {LAKEHOUSE_CONNECTION!r}; connections: {names}",
                evidence,
            )
        bound = [s for s in sources if s["connectionId"] == lakehouse[0]["id"]]
        ran = [
            s
            for s in bound
            if any(r["status"] in ("SUCCESS", "PARTIALLY_SUCCEEDED") for r in s["runs"])
        ]
        if not bound:
            return Check(
                3, "differs", "the data source is not bound to the lakehouse connection", evidence
            )
        if not ran:
            return Check(
                3,
                "differs",
                "the data source bound to the lakehouse connection has no successful run",
                evidence,
            )
        where = (
            "on the Tooling environment"
            if tooling and lakehouse[0]["environmentId"] == tooling.id
            else (f"on environment {lakehouse[0]['environmentId']}")
        )
        return Check(
            3,
            "pass",
            f"connection {LAKEHOUSE_CONNECTION!r} ({where}); the Glue data source created with "
            "its connectionIdentifier ran successfully",
            evidence,
        )

    # 4 ----------------------------------------------------------------------------------------
    def stack_names(self) -> Check:
        """Point 4: each environment's stack is `DataZone-Env-<environmentId>`, tagged with
        the domain, project and environment."""
        evidence: dict[str, Any] = {}
        problems = []
        for project in self.facts.projects.values():
            for env in project.environments:
                alias = self.reader.alias_of(env.account_id) if env.account_id else None
                if alias is None:
                    problems.append(f"environment {env.id}: no account")
                    continue
                stack = self.reader.stack(alias, f"DataZone-Env-{env.id}")
                how = "by name"
                if stack is None:
                    tagged = self.reader.stacks_tagged(alias, "AmazonDataZoneEnvironment", env.id)
                    stack = tagged[0] if tagged else None
                    how = "by tag"
                evidence[env.id] = {
                    "project": project.name,
                    "account": alias,
                    "found": how,
                    "stack": stack,
                }
                if stack is None:
                    problems.append(f"environment {env.id}: no stack by name or tag")
                    continue
                if how == "by tag":
                    problems.append(f"environment {env.id}: stack named {stack['name']}")
                missing = [t for t in STACK_TAGS if t not in stack["tags"]]
                if missing:
                    problems.append(f"stack {stack['name']}: tags {missing} missing")
        if problems:
            return Check(4, "differs", "; ".join(problems), evidence)
        return Check(
            4,
            "pass",
            f"{len(evidence)} environment stacks named DataZone-Env-<environmentId>, tagged "
            + "/".join(STACK_TAGS),
            evidence,
        )

    # 6 ----------------------------------------------------------------------------------------
    def admin_project(self) -> Check:
        """Point 6 (IAM Identity Center domains): `admin-<accountId>` after Tooling."""
        if self.reader.config.domain.auth != "iam_identity_center":
            return Check(
                6,
                "could-not-check",
                "the config's domain is IAM-based; the admin project is made for IAM "
                "Identity Center domains (run verify-aws with a config of auth: "
                "iam_identity_center)",
            )
        names = self.reader.project_names(self.facts.domain_id)
        wanted = f"admin-{self.producer_id}"
        evidence = {"projects": names, "expected": wanted}
        if wanted in names:
            return Check(
                6, "pass", f"{wanted} exists after the Tooling blueprint was enabled", evidence
            )
        return Check(6, "differs", f"no project {wanted}; projects: {names}", evidence)

    # 10 ---------------------------------------------------------------------------------------
    def create_database(self) -> Check:
        """Point 10: IAMAllowedPrincipals' CREATE_DATABASE on the catalog, listed, and the
        account's CreateDatabaseDefaultPermissions, per account."""
        evidence: dict[str, Any] = {}
        listed_any = False
        problems = []
        for alias in (self.producer_alias, self.consumer_alias):
            settings = self.reader.data_lake_settings(alias)
            catalog = self.reader.lf_permissions(alias, Resource={"Catalog": {}})
            iap = [e for e in catalog if e["principal"] == "IAM_ALLOWED_PRINCIPALS"]
            listed = any({"CREATE_DATABASE", "ALL"} & set(e["permissions"]) for e in iap)
            defaults = any(
                d["principal"] == "IAM_ALLOWED_PRINCIPALS"
                for d in settings["create_database_defaults"]
            )
            evidence[alias] = {
                "catalog_permissions_of_IAMAllowedPrincipals": iap,
                "create_database_defaults": settings["create_database_defaults"],
            }
            listed_any = listed_any or listed
            if listed and not defaults:
                problems.append(
                    f"{alias}: IAMAllowedPrincipals holds CREATE_DATABASE on the catalog while "
                    "CreateDatabaseDefaultPermissions no longer name it"
                )
        if problems:
            return Check(10, "differs", "; ".join(problems), evidence)
        if not listed_any:
            return Check(
                10,
                "could-not-check",
                "ListPermissions on the catalog lists no CREATE_DATABASE of IAMAllowedPrincipals "
                "in either account, so the two settings cannot be compared; who may create a "
                "database is not probed with a principal that holds no grant",
                evidence,
            )
        return Check(
            10,
            "pass",
            "IAMAllowedPrincipals holds CREATE_DATABASE on the catalog exactly where "
            "CreateDatabaseDefaultPermissions still name it",
            evidence,
        )

    # 8 and 9 ----------------------------------------------------------------------------------
    def quota(self, request_id: str) -> Check:
        """Point 9: a burst of AcceptSubscriptionRequest (of a request already accepted: no
        change) with retries off; how many were throttled, and when."""
        calls = 10
        burst = self.reader.burst(
            self.producer_alias,
            "datazone",
            "accept_subscription_request",
            calls,
            domainIdentifier=self.facts.domain_id,
            identifier=request_id,
        )
        answers = [c["answer"] for c in burst["calls"]]
        throttled = answers.count("ThrottlingException")
        served = calls - throttled
        # A bucket of 3 tokens refilled at 3 per second lets at most 3 + 3 * elapsed through.
        allowed = 3 + int(3 * burst["seconds"]) + 1
        evidence = {
            **burst,
            "request_id": request_id,
            "token_bucket": {"capacity": 3, "per_second": 3},
        }
        if any(a in ("AccessDeniedException", "UnauthorizedException") for a in answers):
            return Check(
                9, "could-not-check", f"the calls were refused: {sorted(set(answers))}", evidence
            )
        if throttled == 0:
            return Check(
                9,
                "differs",
                f"{calls} concurrent AcceptSubscriptionRequest calls in {burst['seconds']:.2f}s, "
                f"none throttled (answers {sorted(set(answers))})",
                evidence,
            )
        if served > allowed:
            return Check(
                9,
                "differs",
                f"{served} of {calls} calls served in {burst['seconds']:.2f}s: more than a "
                f"3 TPS bucket of 3 allows ({allowed})",
                evidence,
            )
        return Check(
            9,
            "pass",
            f"{throttled} of {calls} concurrent calls throttled in {burst['seconds']:.2f}s "
            f"({served} served, within a 3-token bucket at 3/s)",
            evidence,
        )

    def shared_grants(
        self,
        collaboration: Collaboration,
        accesses: dict[str, ConsumerAccess],
        checks: dict[str, Any],
    ) -> Check:
        """Point 8: cancel consumer A's subscription; B (same account, same table) must
        still read, and the account's Lake Formation grant must stay."""
        first, second = CONSUMERS
        table = self.table
        resource = _table_resource(self.producer_id, table.database, table.table)

        def account_grant() -> list[dict[str, Any]]:
            return [
                e
                for e in self.reader.lf_permissions(self.producer_alias, Resource=resource)
                if e["principal"] == self.consumer_id
            ]

        evidence: dict[str, Any] = {"account_grant_before": account_grant()}
        project = self.consumer(first)
        subscription = next(
            (
                s
                for s in self.reader.subscriptions(self.facts.domain_id, project.id)
                if s["status"] == "APPROVED"
            ),
            None,
        )
        if subscription is None:
            return Check(8, "could-not-check", f"{first} has no APPROVED subscription", evidence)
        cancelled = collaboration.unsubscribe(first, TABLE)
        evidence["cancelled"] = cancelled

        def assets_done(grants: list[dict[str, Any]]) -> bool:
            assets = [a for g in grants for a in g["assets"]]
            return all(a["status"] in ("REVOKED", "REVOKE_FAILED") for a in assets)

        sequence, done = self.reader.watch(
            lambda: self.reader.grants(self.facts.domain_id, subscription["id"]),
            assets_done,
            lambda grants: (
                ",".join(
                    f"{g['status']}/" + "+".join(str(a["status"]) for a in g["assets"])
                    for g in grants
                )
                or "no grant"
            ),
        )
        evidence["revocation_sequence"] = sequence
        evidence["account_grant_after"] = account_grant()
        still = collaboration.run_check(checks[second], accesses[second])
        gone = collaboration.run_check(checks[first], accesses[first])
        evidence["queries_after"] = {
            second: {"ok": still.ok, "rows": len(still.rows), "message": still.message},
            first: {"ok": gone.ok, "rows": len(gone.rows), "message": gone.message},
        }
        if not done:
            return Check(8, "could-not-check", f"{first}'s grant was not revoked in time", evidence)
        if not still.ok:
            return Check(
                8,
                "differs",
                f"after {first}'s subscription was cancelled, {second} (same account, same "
                f"table) can no longer read: {still.message}",
                evidence,
            )
        note = "" if not gone.ok else f"; note: {first} still reads after its revocation"
        return Check(
            8,
            "pass" if not gone.ok else "differs",
            f"{first}'s grant REVOKED; {second} still reads the rows; the account's grant "
            f"{'stayed' if evidence['account_grant_after'] else 'is gone'}{note}",
            evidence,
        )

    # 5 ----------------------------------------------------------------------------------------
    def cascade(self) -> Check:
        """Point 5: DeleteDomain with cascadeDelete while the projects, environments and
        subscriptions exist: the status sequence, deleteProgress, failureReasons, and what
        is left in each account afterwards (down then removes and audits the rest)."""
        reader = self.reader
        datazone = reader.datazone
        domain_id = self.facts.domain_id
        environments = [
            (env, reader.alias_of(env.account_id))
            for project in self.facts.projects.values()
            for env in project.environments
            if env.account_id
        ]
        evidence: dict[str, Any] = {
            "stacks_before": {
                env.id: reader.stack(alias, f"DataZone-Env-{env.id}") for env, alias in environments
            },
            "shares_before": reader.shares_of(self.facts.domain_arn),
        }
        # The one call that deletes by cascade: only a domain tagged as this very set-up's.
        tags = datazone.get_domain(identifier=domain_id).get("tags") or {}
        if tags.get(SETUP_TAG) != reader.config.name:
            return Check(
                5,
                "could-not-check",
                f"refused to delete {domain_id}: it is not tagged {SETUP_TAG}={reader.config.name}",
                evidence,
            )
        answer = datazone.delete_domain(identifier=domain_id, cascadeDelete=True)
        evidence["delete_domain_answer"] = {"status": answer.get("status")}

        def read() -> dict[str, Any]:
            try:
                found: dict[str, Any] = datazone.get_domain(identifier=domain_id)
            except ClientError as exc:
                return {"status": "GONE", "error": error_of(exc)}
            return found

        last: dict[str, Any] = {}

        def label(domain: dict[str, Any]) -> str:
            last.clear()
            last.update(domain)
            progress = (domain.get("deleteProgress") or {}).get("status")
            return f"{domain.get('status')}" + (f" ({progress})" if progress else "")

        sequence, finished = reader.watch(
            read, lambda d: d.get("status") in ("GONE", "DELETED", "DELETE_FAILED"), label
        )
        evidence["status_sequence"] = sequence
        evidence["failure_reasons"] = last.get("failureReasons", [])
        evidence["final"] = {"status": last.get("status"), "error": last.get("error")}
        stacks_after = {
            env.id: reader.stack(alias, f"DataZone-Env-{env.id}") for env, alias in environments
        }
        evidence["stacks_after"] = stacks_after
        evidence["shares_after"] = reader.shares_of(self.facts.domain_arn)
        table = self.table
        evidence["account_grant_after"] = [
            e
            for e in reader.lf_permissions(
                self.producer_alias,
                Resource=_table_resource(self.producer_id, table.database, table.table),
            )
            if e["principal"] == self.consumer_id
        ]
        if not finished:
            return Check(
                5, "could-not-check", "the domain's deletion did not end in time", evidence
            )
        left = [
            f"{stack['name']} {stack['status']}"
            for stack in stacks_after.values()
            if stack is not None and stack["status"] != "DELETE_COMPLETE"
        ]
        extra = (
            f"; left for down: {len(evidence['shares_after'])} RAM share(s), "
            f"{len(evidence['account_grant_after'])} Lake Formation grant(s) to the consumer "
            "account"
        )
        if last.get("status") == "DELETE_FAILED" or left:
            return Check(
                5,
                "differs",
                f"cascade ended {last.get('status')}; stacks left: {left or 'none'}" + extra,
                evidence,
            )
        return Check(
            5,
            "pass",
            "DeleteDomain(cascadeDelete) removed the domain and every environment's stack in "
            f"both accounts ({' -> '.join(s['seen'] for s in sequence)})" + extra,
            evidence,
        )
