"""What DataZone's managed access did in Lake Formation, so it can be undone: the tables,
the grants, each fulfilment, and a domain's ledger of the grants they rely on."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TableRef:
    """A Glue table in one account's Data Catalog."""

    account_id: str
    region: str
    database: str
    name: str

    @property
    def arn(self) -> str:
        return f"arn:aws:glue:{self.region}:{self.account_id}:table/{self.database}/{self.name}"

    @property
    def qualified_name(self) -> str:
        return f"{self.database}.{self.name}"

    def resource(self) -> dict[str, Any]:
        """The table as a Lake Formation resource (boto3 shape)."""
        return {
            "Table": {
                "CatalogId": self.account_id,
                "DatabaseName": self.database,
                "Name": self.name,
            }
        }

    def database_resource(self) -> dict[str, Any]:
        return {"Database": {"CatalogId": self.account_id, "Name": self.database}}


@dataclass(frozen=True)
class LfGrant:
    """One Lake Formation permission added by a fulfilment, in `account_id`'s Lake Formation."""

    account_id: str
    region: str
    principal: str
    resource_key: tuple[str, str, str, str]  # (kind, catalog id, database, table or "")
    permission: str
    grantable: bool

    @staticmethod
    def key_of(resource: dict[str, Any]) -> tuple[str, str, str, str]:
        if "Table" in resource:
            table = resource["Table"]
            return ("Table", table["CatalogId"], table["DatabaseName"], table["Name"])
        database = resource["Database"]
        return ("Database", database["CatalogId"], database["Name"], "")

    def resource(self) -> dict[str, Any]:
        kind, catalog_id, database, name = self.resource_key
        if kind == "Table":
            return {"Table": {"CatalogId": catalog_id, "DatabaseName": database, "Name": name}}
        return {"Database": {"CatalogId": catalog_id, "Name": database}}


@dataclass
class Fulfilment:
    """What granting one asset to one subscription target did, so revocation can undo it:
    the permissions it added (`grants`) and every permission it relies on (`relies`,
    including those that were already held)."""

    source: TableRef
    consumer_account: str
    link: TableRef | None = None
    grants: list[LfGrant] = field(default_factory=list)
    relies: list[LfGrant] = field(default_factory=list)

    @property
    def target_name(self) -> str:
        return self.link.name if self.link else self.source.name


@dataclass
class GrantLedger:
    """A domain's account of the Lake Formation permissions its live fulfilments rely on,
    and of those DataZone added.

    Why: two projects of one consumer account subscribed to one table rely on the same
    grant of the table to that account; revoking one subscription must not take the
    other's access. A permission is revoked when the last fulfilment relying on it is
    revoked, and only if DataZone added it (what existed before is left alone). The
    documentation does not say how DataZone shares these grants; this is the behaviour
    that keeps every remaining subscription working. Each revocation costs what it
    touches, not the number of live grants.
    """

    users: Counter[LfGrant] = field(default_factory=Counter)
    added: set[LfGrant] = field(default_factory=set)

    def hold(self, done: Fulfilment) -> None:
        self.users.update(done.relies)
        self.added.update(done.grants)

    def release(self, done: Fulfilment) -> list[LfGrant]:
        """Forget `done`; the permissions DataZone added that nothing relies on any more."""
        free = []
        for grant in done.relies:
            self.users[grant] -= 1
            if self.users[grant] <= 0:
                del self.users[grant]
                if grant in self.added:
                    self.added.discard(grant)
                    free.append(grant)
        return free
