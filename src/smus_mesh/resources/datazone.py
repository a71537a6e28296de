# Over 800 lines: workflow phases C to G, whose resources share this module's finders,
# Deletion declarations and ownership checks.
"""The DataZone V2 domain and what a project needs before it can deploy
(workflow.md phases C to G): the domain, its RAM share to each consumer account and
the acceptance there, blueprint configurations and their policy grants in every
account, project profiles pinned to an account with their grant, and projects.

DataZone has no waiters (workflow.md §0.5): every asynchronous status is polled
through `Context.wait`. Objects are found by name when the state file does not
know their id, so a lost state file never leads to duplicates.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from smus_mesh.errors import StepError, UserError, aws_code
from smus_mesh.resources.base import Observed, Resource, Status, register
from smus_mesh.resources.context import Context
from smus_mesh.resources.naming import SETUP_ID_TAG, SETUP_TAG
from smus_mesh.resources.storage import delete_prefix

V2_DOMAIN_PERMISSION = (
    "arn:aws:ram::aws:permission/AWSRAMPermissionsAmazonDatazoneDomainExtendedServiceAccess"
)
TOOLING = "Tooling"
DATALAKE = "DataLake"
#: The project profile's environment configuration names (workflow.md Phase F).
TOOLING_CONFIGURATION = "Tooling"
LAKEHOUSE_CONFIGURATION = "Lakehouse Database"
LAKEHOUSE_CONNECTION = "project.default_lakehouse"
ATHENA_CONNECTION = "project.athena"

#: IAM actions of the DataZone calls; each resource lists its own.
_DZ = "datazone:"


def paginate(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item of a paginated DataZone list call."""
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


def is_not_found(exc: ClientError) -> bool:
    return aws_code(exc) == "ResourceNotFoundException"


def is_conflict(exc: ClientError) -> bool:
    return aws_code(exc) == "ConflictException"


def failure_text(reasons: Any) -> str:
    """DataZone failure reasons (lists of {code, message}, or maps of them) as one line."""
    if isinstance(reasons, dict):
        return "; ".join(f"{name}: {failure_text(items)}" for name, items in reasons.items())
    if isinstance(reasons, list):
        return "; ".join(
            f"{r.get('code', '')} {r.get('message', '')}".strip() if isinstance(r, dict) else str(r)
            for r in reasons
        )
    return str(reasons or "")


def wait_gone(
    ctx: Context,
    resource: Resource,
    read: Callable[[], dict[str, Any]],
    status_key: str,
    failed: str,
    gone: tuple[str, ...] = (),
) -> Observed:
    """Poll a DataZone Get until it answers ResourceNotFound (or a `gone` status); the
    `failed` status stops the wait with the service's failure reasons."""

    def status() -> Observed:
        try:
            item = read()
        except ClientError as exc:
            if is_not_found(exc):
                return Observed.absent("deleted")
            raise
        value = str(item.get(status_key, ""))
        if value in gone:
            return Observed.absent("deleted")
        if value == failed:
            return Observed(
                Status.FAILED, detail=f"{value}: " + failure_text(item.get("failureReasons"))
            )
        progress = item.get("deleteProgress")
        return Observed(Status.IN_PROGRESS, detail=f"{value} {progress}" if progress else value)

    return ctx.wait(resource, status, until=Status.ABSENT)


@dataclass(frozen=True)
class Deletion:
    """How DataZone deletes one kind of resource, and how the deletion is seen through.

    Args:
        operation: the client method that deletes, e.g. "delete_project".
        identifiers: request parameter -> identity key; the Get takes the same ones.
        arguments: constant parameters of the delete (cascadeDelete, skipDeletionCheck...).
        already_gone: error codes that mean there is nothing left to delete.
        get: the client method whose status shows the deletion's progress; None when
            the delete is synchronous (the wait then observes until ABSENT).
        status_key, failed, gone: the Get's status field, its failed value, and the
            values that mean deleted (besides ResourceNotFound).
    """

    operation: str
    identifiers: Mapping[str, str]
    arguments: Mapping[str, Any] = field(default_factory=dict)
    already_gone: tuple[str, ...] = ("ResourceNotFoundException",)
    get: str | None = None
    status_key: str = "status"
    failed: str = ""
    gone: tuple[str, ...] = ()


class DataZoneResource(Resource):
    """A DataZone resource whose delete and wait-for-deletion follow its `deletion`."""

    deletion: ClassVar[Deletion]

    def _identifiers(self, identity: Mapping[str, Any]) -> dict[str, Any]:
        return {param: identity[key] for param, key in self.deletion.identifiers.items()}

    def delete(self, ctx: Context, observed: Observed) -> None:
        deletion = self.deletion
        call = getattr(ctx.client(self.account, "datazone"), deletion.operation)
        try:
            call(**self._identifiers(observed.identity), **deletion.arguments)
        except ClientError as exc:
            if aws_code(exc) not in deletion.already_gone:
                raise

    def wait_deleted(self, ctx: Context) -> Observed:
        deletion = self.deletion
        if deletion.get is None:
            return super().wait_deleted(ctx)
        read = getattr(ctx.client(self.account, "datazone"), deletion.get)
        identifiers = self._identifiers(ctx.outputs(self.key))
        return wait_gone(
            ctx,
            self,
            lambda: dict(read(**identifiers)),
            deletion.status_key,
            failed=deletion.failed,
            gone=deletion.gone,
        )


#: The identifiers of most DataZone objects: their domain and their own id.
IN_DOMAIN = {"domainIdentifier": "domain_id", "identifier": "id"}


def made_here(ctx: Context, key: str) -> bool:
    """In a joined domain (ADR 26): whether the state file remembers that this set-up
    made the object of `key`. DataZone's objects carry no set-up tag, and a joined
    domain holds other people's: whatever the state does not remember is theirs."""
    return ctx.ownership.get(key) is True


def joined_unless_made(ctx: Context, key: str, observed: Observed) -> Observed:
    """In a joined domain, what is found there and the state does not remember as made by
    this set-up is someone else's (an `existing` project's owner's): used, never changed or
    deleted (ADR 26, 48)."""
    if observed.status != Status.COMPLETE or not ctx.config.domain.joined or made_here(ctx, key):
        return observed
    return dataclasses.replace(observed, owned=False, joined=True)


def made_here_as(ctx: Context, key: str, found_id: str) -> bool:
    """`made_here`, and the object found is the very one made (not a namesake found after
    the one made was deleted)."""
    remembered = ctx.remembered_identity(key).get("id")
    return made_here(ctx, key) and (remembered in (None, found_id) or ctx.known_id(key) == found_id)


def foreign_namesake(ctx: Context, what: str, found_id: str) -> Observed:
    """A namesake in a joined domain that this set-up did not make: never adopted,
    changed or deleted; `up` refuses before any change (ADR 19, 22)."""
    return Observed(
        Status.FAILED,
        {"found_id": found_id},
        detail=(
            f"{what} ({found_id}) exists in the joined domain {ctx.config.domain.label} and "
            "was not made by this set-up; smus-mesh never adopts it: rename it in the config, "
            "or name it as existing"
        ),
        owned=False,
        foreign=True,
    )


def remembered_as_ours(ctx: Context, key: str, found_id: str) -> bool | None:
    """For kinds without tags: True when the state file remembers this very object (by
    id) as this set-up's, else unknown (a namesake found by name; ADR 19)."""
    return True if ctx.remembered_identity(key).get("id") == found_id else None


# --- domain -------------------------------------------------------------------------------


@register
class Domain(DataZoneResource):
    """The SageMaker Unified Studio (DataZone V2) domain.

    Example::

        domain:
          name: sales-mesh
          account: producer
          auth: iam                 # or iam_identity_center + identity_center_instance_arn
    """

    kind = "datazone:domain"
    # Deleting the domain deletes everything in it (cascadeDelete), and DELETED is
    # what GetDomain answers for a while before it answers ResourceNotFound.
    deletion = Deletion(
        "delete_domain",
        {"identifier": "id"},
        {"cascadeDelete": True},
        get="get_domain",
        failed="DELETION_FAILED",
        gone=("DELETED",),
    )
    iam_actions = (
        _DZ + "CreateDomain",
        _DZ + "GetDomain",
        _DZ + "ListDomains",
        _DZ + "DeleteDomain",
        _DZ + "TagResource",
        "iam:PassRole",
        "iam:GetRole",
    )
    async_create = ("domain.create",)
    async_delete = ("domain.delete",)

    STATUS = {
        "CREATING": Status.IN_PROGRESS,
        "AVAILABLE": Status.COMPLETE,
        "CREATION_FAILED": Status.FAILED,
        "DELETING": Status.FAILED,
        "DELETION_FAILED": Status.FAILED,
        "DELETED": Status.ABSENT,
    }

    def __init__(
        self, account: str, execution_role_key: str | None, service_role_key: str | None
    ) -> None:
        # A joined domain (no roles to make) depends on nothing.
        roles = tuple(k for k in (execution_role_key, service_role_key) if k)
        super().__init__("domain", account, roles)
        self.execution_role_key = execution_role_key or ""
        self.service_role_key = service_role_key or ""

    def _joined(self, ctx: Context) -> Observed:
        """The existing domain the config joins (ADR 26): used as it is, never tagged,
        changed or deleted. One that does not exist, or that the caller cannot reach, is
        the config's mistake: refused before anything changes."""
        config = ctx.config.domain
        datazone = ctx.client(self.account, "datazone")
        where = f"account {ctx.account_id(self.account)} ({self.account}), {ctx.region}"
        try:
            if config.id:
                domain = dict(datazone.get_domain(identifier=config.id))
                if config.name and domain.get("name") != config.name:
                    raise UserError(
                        f"domain.id: the domain {config.id} is named {domain.get('name')!r}, "
                        f"not {config.name!r} as domain.name says"
                    )
            else:
                found = [
                    s
                    for s in paginate(datazone, "list_domains", "items")
                    if s["name"] == config.name and s["status"] not in ("DELETED", "DELETING")
                ]
                if not found:
                    raise UserError(
                        f"domain.name: no domain named {config.name!r} to join in {where} "
                        "(domain.existing: true joins a domain that exists)"
                    )
                domain = dict(datazone.get_domain(identifier=found[0]["id"]))
        except ClientError as exc:
            if aws_code(exc) in ("ResourceNotFoundException", "AccessDeniedException"):
                raise UserError(
                    f"domain.id: the domain {config.id} does not exist in {where}, or these "
                    f"credentials cannot reach it ({aws_code(exc)}: "
                    f"{exc.response['Error'].get('Message', '')})"
                ) from None
            raise
        if domain.get("status") != "AVAILABLE":
            raise UserError(
                f"domain: the domain {domain['id']} to join is {domain.get('status')}, not "
                "AVAILABLE"
            )
        identity = {
            "id": domain["id"],
            "arn": domain["arn"],
            "root_domain_unit_id": domain.get("rootDomainUnitId", ""),
            "portal_url": domain.get("portalUrl", ""),
        }
        return Observed(
            Status.COMPLETE,
            identity,
            {"name": domain.get("name", "")},
            detail=f"AVAILABLE; joined: {domain.get('name', '')} {domain['id']}",
            owned=False,
            joined=True,
        )

    def _find(self, ctx: Context) -> tuple[dict[str, Any] | None, bool]:
        """The domain, and whether it is the one the state file remembers (by id)."""
        datazone = ctx.client(self.account, "datazone")
        known = ctx.known_id(self.key)
        if known:
            try:
                return dict(datazone.get_domain(identifier=known)), True
            except ClientError as exc:
                if not is_not_found(exc):
                    raise
        name = ctx.config.domain.name
        for summary in paginate(datazone, "list_domains", "items"):
            if summary["name"] == name and summary["status"] != "DELETED":
                return dict(datazone.get_domain(identifier=summary["id"])), False
        return None, False

    def observe(self, ctx: Context) -> Observed:
        if ctx.config.domain.joined:
            return self._joined(ctx)
        domain, remembered = self._find(ctx)
        if domain is None:
            return Observed.absent(f"no domain named {ctx.config.domain.name}")
        if not remembered and not ctx.names.is_ours(domain.get("tags")):
            # Found by name only, and not tagged as this set-up's: another set-up's domain
            # (or one made without smus-mesh) that happens to have the name of the config's.
            # Adopting it would build, and later delete, inside someone else's domain: it is
            # never used (no id in the outputs, so nothing is looked for under it). ADR 19.
            tags = domain.get("tags") or {}
            owner = (
                f"set-up {tags[SETUP_TAG]!r} (id {tags.get(SETUP_ID_TAG, 'none')})"
                if SETUP_TAG in tags
                else "no smus-mesh set-up"
            )
            return Observed(
                Status.FAILED,
                {"found_id": domain["id"]},
                detail=(
                    f"the domain named {ctx.config.domain.name} ({domain['id']}) belongs to "
                    f"{owner}, not to set-up {ctx.names.setup!r} (id {ctx.names.setup_id}); "
                    "smus-mesh never adopts a domain it did not make for this set-up: give "
                    "this config another domain.name"
                ),
                owned=False,
                foreign=True,
            )
        status = self.STATUS.get(domain["status"], Status.IN_PROGRESS)
        detail = domain["status"]
        if domain.get("failureReasons"):
            detail += ": " + failure_text(domain["failureReasons"])
        if domain["status"] == "DELETING":
            detail = "DELETING (a domain of this name is being deleted; run again when it is gone)"
        identity = {
            "id": domain["id"],
            "arn": domain["arn"],
            "root_domain_unit_id": domain.get("rootDomainUnitId", ""),
            "portal_url": domain.get("portalUrl", ""),
        }
        owned = ctx.names.is_ours(domain.get("tags"))
        return Observed(status, identity, detail=detail, owned=owned)

    def create(self, ctx: Context) -> dict[str, Any]:
        domain = ctx.config.domain
        if domain.joined:  # observe refuses first; never create a domain the config joins
            raise UserError(f"domain: the domain {domain.label} to join does not exist")
        sso: dict[str, Any] = {"type": "DISABLED"}
        if domain.auth == "iam_identity_center":
            sso = {
                "type": "IAM_IDC",
                "userAssignment": domain.user_assignment,
                "idcInstanceArn": domain.identity_center_instance_arn,
            }
        kwargs: dict[str, Any] = {
            "name": domain.name,
            "domainVersion": "V2",
            "domainExecutionRole": ctx.output(self.execution_role_key, "arn"),
            "serviceRole": ctx.output(self.service_role_key, "arn"),
            "singleSignOn": sso,
            "tags": ctx.names.tags(),
        }
        if domain.description:
            kwargs["description"] = domain.description
        datazone = ctx.client(self.account, "datazone")
        # Right after the roles are created IAM may not let DataZone assume them yet
        # (workflow.md §4.7): retry that validation error for a while.
        created = ctx.retry_while(
            self.key,
            lambda: datazone.create_domain(**kwargs),
            codes=("ValidationException", "AccessDeniedException"),
            message_contains="role",
        )
        return {"id": created["id"], "arn": created["arn"]}


# --- account association (workflow.md Phase D) ---------------------------------------------


@register
class DomainShare(Resource):
    """The RAM share of the domain with one consumer account (V2 domain permission).

    Example (one share per account other than the domain's)::

        accounts:
          consumer: {account_id: "222222222222", role_arn: "arn:aws:iam::222222222222:role/Admin"}
    """

    kind = "ram:domain-share"
    iam_actions = (
        "ram:CreateResourceShare",
        "ram:GetResourceShares",
        "ram:DeleteResourceShare",
        "ram:TagResource",
        "ram:GetResourceShareAssociations",
        _DZ + "GetDomain",
    )

    def __init__(self, domain_account: str, consumer: str, domain_key: str) -> None:
        super().__init__(consumer, domain_account, (domain_key,))
        self.consumer = consumer
        self.domain_key = domain_key

    def share_name(self, ctx: Context) -> str:
        domain_id = ctx.output(self.domain_key, "id")
        return f"DataZone-{ctx.config.domain.label}-{domain_id}-{ctx.account_id(self.consumer)}"

    def observe(self, ctx: Context) -> Observed:
        name = self.share_name(ctx)
        ram = ctx.client(self.account, "ram")
        shares = [
            s
            for page in ram.get_paginator("get_resource_shares").paginate(
                resourceOwner="SELF", name=name
            )
            for s in page.get("resourceShares", [])
            if s.get("status") not in ("DELETED", "DELETING")
        ]
        if not shares:
            if ctx.config.domain.joined:
                return self._joined_share(ctx, name)
            return Observed.absent(f"no share {name}")
        share = shares[0]
        owned = ctx.names.is_ours(
            [{"Key": t.get("key", ""), "Value": t.get("value", "")} for t in share.get("tags", [])]
        )
        status = Status.COMPLETE if share["status"] == "ACTIVE" else Status.IN_PROGRESS
        if share["status"] == "FAILED":
            status = Status.FAILED
        return Observed(
            status,
            {"arn": share["resourceShareArn"], "name": name},
            detail=share["status"],
            owned=owned,
        )

    def _joined_share(self, ctx: Context, name: str) -> Observed:
        """A joined domain's owner may have associated the account already, through a
        share of its own: that one is used, never changed or deleted (ADR 26)."""
        ram = ctx.client(self.account, "ram")
        shares = [
            a["resourceShareArn"]
            for a in ram.get_resource_share_associations(
                associationType="RESOURCE", resourceArn=ctx.output(self.domain_key, "arn")
            )["resourceShareAssociations"]
            if a.get("status") == "ASSOCIATED"
        ]
        if shares:
            principal = ctx.account_id(self.consumer)
            for association in ram.get_resource_share_associations(
                associationType="PRINCIPAL", resourceShareArns=shares, principal=principal
            )["resourceShareAssociations"]:
                if association.get("status") == "ASSOCIATED":
                    return Observed(
                        Status.COMPLETE,
                        {
                            "arn": association["resourceShareArn"],
                            "name": association.get("resourceShareName", ""),
                        },
                        {"joined": True},
                        detail="ASSOCIATED; joined: shared by the domain's owner (not ours)",
                        owned=False,
                        joined=True,
                    )
        return Observed.absent(f"no share {name}")

    def create(self, ctx: Context) -> dict[str, Any]:
        name = self.share_name(ctx)
        share = ctx.client(self.account, "ram").create_resource_share(
            name=name,
            resourceArns=[ctx.output(self.domain_key, "arn")],
            principals=[ctx.account_id(self.consumer)],
            permissionArns=[V2_DOMAIN_PERMISSION],
            # The accounts need not be in one AWS Organization.
            allowExternalPrincipals=True,
            tags=[{"key": k, "value": v} for k, v in ctx.names.tags().items()],
        )["resourceShare"]
        return {"arn": share["resourceShareArn"], "name": name}

    def delete(self, ctx: Context, observed: Observed) -> None:
        try:
            ctx.client(self.account, "ram").delete_resource_share(
                resourceShareArn=observed.identity["arn"]
            )
        except ClientError as exc:
            if aws_code(exc) not in ("UnknownResourceException",):
                raise


@register
class ShareAcceptance(Resource):
    """The consumer account accepts the domain share; done when RAM says ASSOCIATED.

    Example (automatic for every consumer account)::

        projects:
          - {name: consumer, account: consumer}
    """

    kind = "ram:share-acceptance"
    iam_actions = (
        "ram:GetResourceShareInvitations",
        "ram:AcceptResourceShareInvitation",
    )
    # The association is read from the share's side, in the domain account.
    domain_iam_actions = ("ram:GetResourceShareAssociations",)
    async_create = ("ram.associate",)
    deletable = False  # deleting the share dissociates the account

    def __init__(self, consumer: str, domain_account: str, share_key: str) -> None:
        super().__init__(consumer, consumer, (share_key,))
        self.domain_account = domain_account
        self.share_key = share_key

    def _association(self, ctx: Context) -> str | None:
        share_arn = ctx.output(self.share_key, "arn")
        associations = ctx.client(self.domain_account, "ram").get_resource_share_associations(
            associationType="PRINCIPAL",
            resourceShareArns=[share_arn],
            principal=ctx.account_id(self.account),
        )["resourceShareAssociations"]
        return associations[0]["status"] if associations else None

    def _invitation(self, ctx: Context) -> dict[str, Any] | None:
        share_arn = ctx.output(self.share_key, "arn")
        invitations = ctx.client(self.account, "ram").get_resource_share_invitations(
            resourceShareArns=[share_arn]
        )["resourceShareInvitations"]
        return invitations[0] if invitations else None

    def observe(self, ctx: Context) -> Observed:
        association = self._association(ctx)
        if association == "ASSOCIATED" and ctx.outputs(self.share_key).get("joined"):
            return Observed(
                Status.COMPLETE,
                detail="ASSOCIATED; joined: accepted before (not ours)",
                owned=False,
                joined=True,
            )
        if association == "ASSOCIATED":
            return Observed(Status.COMPLETE, detail="ASSOCIATED", owned=True)
        if association == "FAILED":
            return Observed(Status.FAILED, detail="association FAILED")
        invitation = self._invitation(ctx)
        if invitation is None:
            # Inside an AWS Organization with RAM sharing enabled there is no invitation
            # and the association completes by itself (workflow.md D2).
            return Observed(Status.IN_PROGRESS, detail=f"association {association}")
        if invitation["status"] == "PENDING":
            return Observed(
                Status.ABSENT,
                {"invitation_arn": invitation["resourceShareInvitationArn"]},
                detail="invitation PENDING",
            )
        if invitation["status"] in ("REJECTED", "EXPIRED"):
            return Observed(Status.FAILED, detail=f"invitation {invitation['status']}")
        return Observed(Status.IN_PROGRESS, detail=f"invitation {invitation['status']}")

    def create(self, ctx: Context) -> dict[str, Any]:
        invitation = self._invitation(ctx)
        if invitation is not None and invitation["status"] == "PENDING":
            ctx.client(self.account, "ram").accept_resource_share_invitation(
                resourceShareInvitationArn=invitation["resourceShareInvitationArn"]
            )
        return {}

    def delete(self, ctx: Context, observed: Observed) -> None:
        return None


# --- network for the Tooling blueprint -------------------------------------------------------


@register
class Network(Resource):
    """The VPC and subnets the Tooling blueprint uses in an account: the configured ones, or
    the default VPC. Never created or deleted by smus-mesh.

    Example::

        accounts:
          consumer:
            account_id: "222222222222"
            vpc_id: vpc-0abc1234
            subnet_ids: [subnet-0aa11, subnet-0bb22]
    """

    kind = "ec2:network"
    iam_actions = ("ec2:DescribeVpcs", "ec2:DescribeSubnets")
    deletable = False

    def __init__(self, account: str) -> None:
        super().__init__(account, account)

    def observe(self, ctx: Context) -> Observed:
        settings = ctx.config.accounts[self.account]
        ec2 = ctx.client(self.account, "ec2")
        if settings.vpc_id:
            vpc_id = settings.vpc_id
            subnets = list(settings.subnet_ids)
            if not subnets:
                subnets = [
                    s["SubnetId"]
                    for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])[
                        "Subnets"
                    ]
                ]
        else:
            vpcs = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
            if not vpcs:
                return Observed.absent("no default VPC")
            vpc_id = vpcs[0]["VpcId"]
            subnets = [
                s["SubnetId"]
                for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])[
                    "Subnets"
                ]
            ]
        if not subnets:
            return Observed.absent(f"VPC {vpc_id} has no subnets")
        return Observed(
            Status.COMPLETE,
            {"vpc_id": vpc_id, "subnet_ids": sorted(subnets)},
            detail=vpc_id,
            owned=False,
        )

    def create(self, ctx: Context) -> dict[str, Any]:
        raise UserError(
            f"accounts.{self.account}: no usable VPC for the Tooling blueprint; set vpc_id "
            "and subnet_ids (the account has no default VPC with subnets)"
        )

    def delete(self, ctx: Context, observed: Observed) -> None:
        return None


# --- blueprints (workflow.md Phase E) ---------------------------------------------------------


def blueprint_id(ctx: Context, account: str, domain_id: str, name: str) -> str | None:
    """The id of the domain's managed blueprint `name`, as `account` sees it.

    A managed blueprint's id never changes within a domain, so the ids are listed once
    per account and domain in a run (both blueprints in one listing) and kept; a name
    not listed yet (the domain is new) is listed again the next time it is asked for."""
    known: dict[str, str] = ctx.memo(f"blueprints:{account}:{domain_id}", dict)
    if name not in known:
        for blueprint in paginate(
            ctx.client(account, "datazone"),
            "list_environment_blueprints",
            "items",
            domainIdentifier=domain_id,
            managed=True,
        ):
            known.setdefault(str(blueprint["name"]), str(blueprint["id"]))
    return known.get(name)


@register
class BlueprintConfiguration(DataZoneResource):
    """A managed blueprint (Tooling or DataLake) enabled in one account, with that account's
    provisioning and manage-access roles and its S3 location.

    Example (made for every account that holds a project)::

        projects:
          - {name: consumer, account: consumer}
    """

    kind = "datazone:blueprint-configuration"
    # Synchronous. AccessDenied: the domain is no longer shared with this account, so
    # nothing of it is reachable from here (as `observe` reads it too).
    deletion = Deletion(
        "delete_environment_blueprint_configuration",
        {"domainIdentifier": "domain_id", "environmentBlueprintIdentifier": "blueprint_id"},
        already_gone=("ResourceNotFoundException", "AccessDeniedException"),
    )
    iam_actions = (
        _DZ + "ListEnvironmentBlueprints",
        _DZ + "GetEnvironmentBlueprintConfiguration",
        _DZ + "PutEnvironmentBlueprintConfiguration",
        _DZ + "DeleteEnvironmentBlueprintConfiguration",
        "iam:PassRole",
    )
    updatable = True

    def __init__(
        self,
        account: str,
        blueprint: str,
        domain_key: str,
        provisioning_role_key: str,
        manage_access_role_key: str,
        bucket_key: str,
        network_key: str,
        excluded_locations: list[str],
        depends_on: tuple[str, ...],
    ) -> None:
        super().__init__(f"{account}/{blueprint}", account, depends_on)
        self.blueprint = blueprint
        self.domain_key = domain_key
        self.provisioning_role_key = provisioning_role_key
        self.manage_access_role_key = manage_access_role_key
        self.bucket_key = bucket_key
        self.network_key = network_key
        self.excluded_locations = excluded_locations

    def _desired(self, ctx: Context) -> dict[str, Any]:
        bucket = ctx.output(self.bucket_key, "bucket")
        regional: dict[str, str] = {"S3Location": f"s3://{bucket}"}
        if self.blueprint == TOOLING:
            regional["VpcId"] = ctx.output(self.network_key, "vpc_id")
            regional["Subnets"] = ",".join(ctx.output(self.network_key, "subnet_ids"))
        desired: dict[str, Any] = {
            "enabledRegions": [ctx.region],
            "provisioningRoleArn": ctx.output(self.provisioning_role_key, "arn"),
            "manageAccessRoleArn": ctx.output(self.manage_access_role_key, "arn"),
            "regionalParameters": {ctx.region: regional},
        }
        if self.blueprint == DATALAKE and self.excluded_locations:
            # Keep the tables' locations out of the blueprint's hybrid-mode auto
            # registration; smus-mesh registers them in Lake Formation mode (§4.4).
            desired["provisioningConfigurations"] = [
                {
                    "lakeFormationConfiguration": {
                        "locationRegistrationExcludeS3Locations": self.excluded_locations[:20]
                    }
                }
            ]
        return desired

    def observe(self, ctx: Context) -> Observed:
        domain_id = ctx.output(self.domain_key, "id")
        try:
            found = blueprint_id(ctx, self.account, domain_id, self.blueprint)
        except ClientError as exc:
            # Until the RAM share is accepted and associated (workflow.md D2-D3), DataZone
            # refuses another account any call on the domain: nothing can be configured
            # there yet, so nothing is. Seen when a run stopped before the acceptance.
            if (
                aws_code(exc) == "AccessDeniedException"
                and self.account != ctx.config.domain.account
            ):
                return Observed.absent("the domain is not shared with this account yet")
            raise
        if found is None:
            return Observed.absent(f"blueprint {self.blueprint} not visible yet")
        identity = {"blueprint_id": found, "domain_id": domain_id}
        try:
            current = ctx.client(self.account, "datazone").get_environment_blueprint_configuration(
                domainIdentifier=domain_id, environmentBlueprintIdentifier=found
            )
        except ClientError as exc:
            if is_not_found(exc):
                return Observed(Status.ABSENT, identity, detail="not enabled")
            raise
        outputs = {
            "manage_access_role_arn": current.get("manageAccessRoleArn", ""),
            "provisioning_role_arn": current.get("provisioningRoleArn", ""),
        }
        if ctx.config.domain.joined and not made_here(ctx, self.key):
            # Configured by the domain's owner: used as it is (its roles and bucket), so
            # no drift from what smus-mesh would have set (ADR 26).
            return Observed(
                Status.COMPLETE,
                identity,
                outputs,
                detail="enabled; joined: configured by the domain's owner (not ours)",
                owned=False,
                joined=True,
            )
        desired = self._desired(ctx)
        drift = tuple(
            f"{name}: {current.get(name)} -> {desired[name]}"
            for name in ("enabledRegions", "provisioningRoleArn", "manageAccessRoleArn")
            if current.get(name) != desired[name]
        )
        regional = current.get("regionalParameters", {}).get(ctx.region, {})
        if regional != desired["regionalParameters"][ctx.region]:
            drift += (
                f"regionalParameters: {regional} -> {desired['regionalParameters'][ctx.region]}",
            )
        return Observed(
            Status.COMPLETE, identity, outputs, detail="enabled", owned=True, drift=drift
        )

    def create(self, ctx: Context) -> dict[str, Any]:
        domain_id = ctx.output(self.domain_key, "id")
        found = blueprint_id(ctx, self.account, domain_id, self.blueprint)
        if found is None:
            raise UserError(f"{self.key}: the domain has no managed blueprint {self.blueprint}")
        ctx.retry_while(
            self.key,
            lambda: ctx.client(self.account, "datazone").put_environment_blueprint_configuration(
                domainIdentifier=domain_id,
                environmentBlueprintIdentifier=found,
                **self._desired(ctx),
            ),
            # Just after the RAM association, the consumer account may be refused briefly.
            codes=("AccessDeniedException", "ConflictException"),
        )
        return {"blueprint_id": found, "domain_id": domain_id}

    def update(self, ctx: Context, observed: Observed) -> None:
        self.create(ctx)


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    import json

    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@register
class PolicyGrant(Resource):
    """A DataZone policy grant: CREATE_ENVIRONMENT_FROM_BLUEPRINT on an account's blueprint
    configuration, or CREATE_PROJECT_FROM_PROJECT_PROFILE on the root domain unit.

    Example (made for each blueprint configuration and project profile)::

        projects:
          - {name: producer, account: producer}
    """

    kind = "datazone:policy-grant"
    iam_actions = (_DZ + "AddPolicyGrant", _DZ + "ListPolicyGrants", _DZ + "RemovePolicyGrant")

    def __init__(
        self,
        name: str,
        account: str,
        domain_key: str,
        entity_type: str,
        policy_type: str,
        entity: Any,
        principal: Any,
        detail: Any,
        depends_on: tuple[str, ...],
    ) -> None:
        super().__init__(name, account, depends_on)
        self.domain_key = domain_key
        self.entity_type = entity_type
        self.policy_type = policy_type
        self.entity = entity  # Callable[[Context], str]
        self.principal = principal  # Callable[[Context], dict]
        self.detail = detail  # Callable[[Context], dict]

    def _selector(self, ctx: Context) -> dict[str, Any]:
        return {
            "domainIdentifier": ctx.output(self.domain_key, "id"),
            "entityType": self.entity_type,
            "entityIdentifier": self.entity(ctx),
            "policyType": self.policy_type,
        }

    def observe(self, ctx: Context) -> Observed:
        selector = self._selector(ctx)
        principal = self.principal(ctx)
        detail = self.detail(ctx)
        datazone = ctx.client(self.account, "datazone")
        for grant in paginate(datazone, "list_policy_grants", "grantList", **selector):
            if _same(grant.get("principal", {}), principal) and _same(
                grant.get("detail", {}), detail
            ):
                identity = {**selector, "grant_id": grant.get("grantId", "")}
                if ctx.config.domain.joined and not made_here(ctx, self.key):
                    # The domain's owner granted it already: theirs to keep (ADR 26).
                    return Observed(
                        Status.COMPLETE,
                        identity,
                        detail="granted; joined: granted by the domain's owner (not ours)",
                        owned=False,
                        joined=True,
                    )
                return Observed(Status.COMPLETE, identity, detail="granted", owned=True)
        return Observed.absent("not granted")

    def create(self, ctx: Context) -> dict[str, Any]:
        selector = self._selector(ctx)
        result = ctx.client(self.account, "datazone").add_policy_grant(
            **selector, principal=self.principal(ctx), detail=self.detail(ctx)
        )
        return {**selector, "grant_id": result.get("grantId", "")}

    def delete(self, ctx: Context, observed: Observed) -> None:
        selector = {
            k: observed.identity[k]
            for k in ("domainIdentifier", "entityType", "entityIdentifier", "policyType")
        }
        # Without its id, RemovePolicyGrant removes every grant of the principal on the
        # entity: another profile's grant to the same principal (ours or a neighbour's)
        # would go too. The id comes from the listing `observe` matched on the detail.
        grant_id = observed.identity.get("grant_id")
        if not grant_id:
            raise StepError(
                self.key, "the policy grant's id is unknown; not removing it by principal"
            )
        try:
            ctx.client(self.account, "datazone").remove_policy_grant(
                **selector, principal=self.principal(ctx), grantIdentifier=grant_id
            )
        except ClientError as exc:
            if not (is_not_found(exc) or aws_code(exc) == "AccessDeniedException"):
                raise


# --- project profiles (workflow.md Phase F) -------------------------------------------------


@register
class ProjectProfile(DataZoneResource):
    """A project profile whose Tooling and Lakehouse Database environments are deployed
    into one account (so a project lands where its profile points).

    Example (one per account that holds a project)::

        projects:
          - {name: consumer, account: consumer}
    """

    kind = "datazone:project-profile"
    deletion = Deletion("delete_project_profile", IN_DOMAIN)  # synchronous
    iam_actions: ClassVar[tuple[str, ...]] = (
        _DZ + "CreateProjectProfile",
        _DZ + "ListProjectProfiles",
        _DZ + "GetProjectProfile",
        _DZ + "DeleteProjectProfile",
    )

    def __init__(
        self,
        target: str,
        domain_account: str,
        domain_key: str,
        tooling_key: str,
        datalake_key: str,
        depends_on: tuple[str, ...],
    ) -> None:
        super().__init__(target, domain_account, depends_on)
        self.target = target
        self.domain_key = domain_key
        self.tooling_key = tooling_key
        self.datalake_key = datalake_key

    def observe(self, ctx: Context) -> Observed:
        domain_id = ctx.output(self.domain_key, "id")
        name = ctx.names.project_profile(self.target)
        datazone = ctx.client(self.account, "datazone")
        for profile in paginate(
            datazone, "list_project_profiles", "items", domainIdentifier=domain_id, name=name
        ):
            if profile["name"] == name:
                if ctx.config.domain.joined and not made_here_as(ctx, self.key, profile["id"]):
                    return foreign_namesake(ctx, f"the project profile {name}", profile["id"])
                return Observed(
                    Status.COMPLETE
                    if profile.get("status", "ENABLED") == "ENABLED"
                    else Status.FAILED,
                    {"id": profile["id"], "name": name, "domain_id": domain_id},
                    detail=profile.get("status", ""),
                    owned=True,
                )
        return Observed.absent(f"no profile {name}")

    def _environment(
        self, ctx: Context, name: str, key: str, order: int, overrides: list[Any]
    ) -> dict[str, Any]:
        return {
            "name": name,
            "environmentBlueprintId": ctx.output(key, "blueprint_id"),
            "deploymentMode": "ON_CREATE",
            "deploymentOrder": order,
            "awsAccount": {"awsAccountId": ctx.account_id(self.target)},
            "awsRegion": {"regionName": ctx.region},
            "configurationParameters": {"parameterOverrides": overrides},
        }

    def create(self, ctx: Context) -> dict[str, Any]:
        domain_id = ctx.output(self.domain_key, "id")
        name = ctx.names.project_profile(self.target)
        profile = ctx.client(self.account, "datazone").create_project_profile(
            domainIdentifier=domain_id,
            name=name,
            description=f"smus-mesh {ctx.names.setup}: projects in account {self.target}",
            status="ENABLED",
            domainUnitIdentifier=ctx.output(self.domain_key, "root_domain_unit_id"),
            environmentConfigurations=[
                self._environment(
                    ctx,
                    TOOLING_CONFIGURATION,
                    self.tooling_key,
                    0,
                    # No SageMaker AI domain in the Tooling environment (workflow.md Phase F).
                    [{"name": "enableSpaces", "value": "false", "isEditable": False}],
                ),
                self._environment(
                    ctx,
                    LAKEHOUSE_CONFIGURATION,
                    self.datalake_key,
                    1,
                    [{"name": "glueDbName", "value": "glue_db", "isEditable": True}],
                ),
            ],
        )
        return {"id": profile["id"], "name": name, "domain_id": domain_id}


class ExistingProjectProfile(ProjectProfile):
    """An existing project profile of a joined domain that the config names for some of its
    projects (ADR 26): used as it is, never changed or deleted. Refused, before any change,
    when it does not exist or cannot serve a project in the account the config puts it in.

    Example::

        domain: {id: dzd_4p9n6sw4qt9xgn, account: producer}
        projects:
          - {name: analytics, account: consumer, profile: {name: corp-analytics}}
    """

    # Not registered: the same kind as the profiles smus-mesh makes, only never made here.
    iam_actions = (
        _DZ + "ListProjectProfiles",
        _DZ + "GetProjectProfile",
        _DZ + "ListEnvironmentBlueprints",
    )

    def __init__(
        self,
        ref: Any,
        domain_account: str,
        domain_key: str,
        users: list[tuple[str, str, str]],
    ) -> None:
        super().__init__("", domain_account, domain_key, "", "", (domain_key,))
        self.name = f"existing/{ref.ref}"
        self.ref = ref
        #: (config path, project, account alias) of each project made from it.
        self.users = users

    def _find(self, ctx: Context, domain_id: str) -> dict[str, Any] | None:
        datazone = ctx.client(self.account, "datazone")
        identifier = self.ref.id
        if identifier is None:
            identifier = next(
                (
                    p["id"]
                    for p in paginate(
                        datazone,
                        "list_project_profiles",
                        "items",
                        domainIdentifier=domain_id,
                        name=self.ref.name,
                    )
                    if p["name"] == self.ref.name
                ),
                None,
            )
            if identifier is None:
                return None
        try:
            return dict(
                datazone.get_project_profile(domainIdentifier=domain_id, identifier=identifier)
            )
        except ClientError as exc:
            if is_not_found(exc):
                return None
            raise

    def _refused(self, path: str, message: str) -> Observed:
        """What `up` refuses before any change and `down` leaves (ADR 19's `foreign`)."""
        return Observed(
            Status.FAILED, detail=f"{path}.profile: {message}", owned=False, foreign=True
        )

    def observe(self, ctx: Context) -> Observed:
        domain_id = ctx.output(self.domain_key, "id")
        profile = self._find(ctx, domain_id)
        first = self.users[0][0]
        if profile is None:
            return self._refused(
                first,
                f"no project profile of {self.ref.label} in the joined domain "
                f"{ctx.config.domain.label} ({domain_id}); profile names an existing one",
            )
        what = f"the project profile {profile.get('name', '')} ({profile['id']})"
        status = profile.get("status", "ENABLED")
        if status != "ENABLED":
            return self._refused(first, f"{what} is {status}: no project can be made from it")
        try:
            names = usable_configurations(ctx, self.account, domain_id, profile, self.users)
        except Unusable as exc:
            return self._refused(exc.path, f"{what} {exc.message}")
        return Observed(
            Status.COMPLETE,
            {"id": profile["id"], "name": profile.get("name", ""), "domain_id": domain_id},
            {"tooling_configuration": names[0], "lakehouse_configuration": names[1]},
            detail=f"{status}; joined: an existing project profile (not ours)",
            owned=False,
            joined=True,
        )

    def create(self, ctx: Context) -> dict[str, Any]:
        # observe refuses first: a profile the config names is never made here
        raise StepError(self.key, "an existing project profile is never created")

    def delete(self, ctx: Context, observed: Observed) -> None:
        raise StepError(self.key, "an existing project profile is never deleted")


class Unusable(Exception):
    """An existing project profile cannot serve the project at `path` (a config path)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def usable_configurations(
    ctx: Context,
    domain_account: str,
    domain_id: str,
    profile: dict[str, Any],
    users: list[tuple[str, str, str]],
) -> tuple[str, str]:
    """The names of an existing profile's Tooling and Lakehouse (DataLake) environment
    configurations, once it is known to serve every project made from it: both deployed
    on project creation into the project's account and the config's region, nothing
    else deployed then (the set-up enables only those two blueprints), and the Glue
    database name left to the project (smus-mesh names each one). Else `Unusable`."""
    blueprints = {
        b["id"]: b["name"]
        for b in paginate(
            ctx.client(domain_account, "datazone"),
            "list_environment_blueprints",
            "items",
            domainIdentifier=domain_id,
            managed=True,
        )
    }
    deployed = [
        c
        for c in profile.get("environmentConfigurations") or []
        if c.get("deploymentMode", "ON_CREATE") == "ON_CREATE"
    ]
    found: dict[str, dict[str, Any]] = {}
    for path, project, alias in users:
        account_id = ctx.account_id(alias)
        for configuration in deployed:
            name = configuration.get("name", "")
            blueprint = blueprints.get(configuration.get("environmentBlueprintId", ""))
            if blueprint not in (TOOLING, DATALAKE):
                raise Unusable(
                    path,
                    f"deploys the environment {name!r} (blueprint "
                    f"{blueprint or configuration.get('environmentBlueprintId')}) when a project "
                    "is created; smus-mesh enables only the Tooling and DataLake blueprints in "
                    "a project's account",
                )
            found.setdefault(blueprint, configuration)
            account = configuration.get("awsAccount") or {}
            if "awsAccountId" not in account or configuration.get("accountPools"):
                raise Unusable(
                    path,
                    f"chooses the account of its environment {name!r} at project "
                    "creation (account pools or a parameter path); smus-mesh needs one pinned "
                    "with awsAccount.awsAccountId",
                )
            if account["awsAccountId"] != account_id:
                raise Unusable(
                    path,
                    f"deploys its environment {name!r} into account "
                    f"{account['awsAccountId']}, not {account_id} ({alias}) where the config "
                    f"puts project {project!r}",
                )
            region = (configuration.get("awsRegion") or {}).get("regionName", ctx.region)
            if region != ctx.region:
                raise Unusable(
                    path,
                    f"deploys its environment {name!r} in {region}, not in the config's "
                    f"region {ctx.region}",
                )
        missing = [b for b in (TOOLING, DATALAKE) if b not in found]
        if missing:
            raise Unusable(
                path,
                f"has no {' or '.join(missing)} environment deployed when a project is "
                "created (ON_CREATE); smus-mesh's projects need both",
            )
        overrides = (found[DATALAKE].get("configurationParameters") or {}).get(
            "parameterOverrides"
        ) or []
        if any(o.get("name") == "glueDbName" and o.get("isEditable") is False for o in overrides):
            raise Unusable(
                path,
                f"fixes glueDbName in its environment {found[DATALAKE].get('name')!r} "
                "(isEditable: false); smus-mesh names each project's Glue database",
            )
    return str(found[TOOLING]["name"]), str(found[DATALAKE]["name"])


# --- projects (workflow.md Phase G) -------------------------------------------------------------


PROJECT_DEPLOYMENT = {
    "PENDING_DEPLOYMENT": Status.IN_PROGRESS,
    "IN_PROGRESS": Status.IN_PROGRESS,
    "SUCCESSFUL": Status.COMPLETE,
    "FAILED_VALIDATION": Status.FAILED,
    "FAILED_DEPLOYMENT": Status.FAILED,
}


@register
class Project(DataZoneResource):
    """A project and its environments, deployed and awaited; its outputs are the ids and
    names other steps need (environments, project role, lakehouse and Athena connections).

    Example::

        projects:
          - name: producer
            account: producer
            description: Owns the retail inventory.
            imports: [inventory]
    """

    kind = "datazone:project"
    # skipDeletionCheck: the project's environments and their stacks go with it.
    deletion = Deletion(
        "delete_project",
        IN_DOMAIN,
        {"skipDeletionCheck": True},
        get="get_project",
        status_key="projectStatus",
        failed="DELETE_FAILED",
    )
    iam_actions = (
        _DZ + "CreateProject",
        _DZ + "GetProject",
        _DZ + "ListProjects",
        _DZ + "DeleteProject",
        _DZ + "ListEnvironments",
        _DZ + "GetEnvironment",
        _DZ + "ListConnections",
        # a project's data in a joined domain's bucket (in the project's account)
        "s3:ListBucketVersions",
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
    )
    # Tooling, then the Lakehouse Database: deployed one deploymentOrder after the other.
    async_create = ("environment.create", "environment.create")
    async_delete = ("project.delete",)

    def __init__(
        self,
        project: str,
        domain_account: str,
        domain_key: str,
        profile_key: str,
        depends_on: tuple[str, ...],
    ) -> None:
        super().__init__(project, domain_account, depends_on)
        self.project = project
        self.domain_key = domain_key
        self.profile_key = profile_key

    def recreate_on_failure(self) -> bool:
        # A failed deployment (wrong role, missing bucket) is fixed in the config or the
        # account; the project itself holds nothing yet, so it is replaced.
        return True

    def _find(self, ctx: Context, domain_id: str) -> dict[str, Any] | None:
        datazone = ctx.client(self.account, "datazone")
        known = ctx.known_id(self.key)
        if known:
            try:
                return dict(datazone.get_project(domainIdentifier=domain_id, identifier=known))
            except ClientError as exc:
                if not is_not_found(exc):
                    raise
        for item in paginate(
            datazone, "list_projects", "items", domainIdentifier=domain_id, name=self.project
        ):
            if item["name"] == self.project:
                try:
                    return dict(
                        datazone.get_project(domainIdentifier=domain_id, identifier=item["id"])
                    )
                except ClientError as exc:
                    if is_not_found(exc):
                        return None
                    raise
        return None

    def observe(self, ctx: Context) -> Observed:
        domain_id = ctx.output(self.domain_key, "id")
        project = self._find(ctx, domain_id)
        existing = ctx.config.project(self.project).existing
        if project is None:
            if existing:
                raise UserError(
                    f"projects: no project named {self.project!r} in the joined domain "
                    f"{ctx.config.domain.label} ({domain_id}); existing: true uses a project "
                    "that exists"
                )
            return Observed.absent(f"no project {self.project}")
        identity = {"id": project["id"], "domain_id": domain_id, "name": self.project}
        # Projects carry no tags: this set-up's are the ones its state file remembers.
        owned = remembered_as_ours(ctx, self.key, project["id"])
        joined = False
        if existing:
            owned, joined = False, True  # the config names it as someone else's (ADR 26)
        elif ctx.config.domain.joined:
            if not made_here_as(ctx, self.key, project["id"]):
                return foreign_namesake(ctx, f"the project {self.project}", project["id"])
            owned = True
        if joined:
            observed = self._observe_status(ctx, project, identity, domain_id, owned)
            return dataclasses.replace(
                observed,
                detail=f"{observed.detail}; joined: an existing project (not ours)",
                joined=True,
            )
        return self._observe_status(ctx, project, identity, domain_id, owned)

    def _observe_status(
        self,
        ctx: Context,
        project: dict[str, Any],
        identity: dict[str, Any],
        domain_id: str,
        owned: bool | None,
    ) -> Observed:
        status = project.get("projectStatus", "ACTIVE")
        if status in ("DELETING", "DELETE_FAILED"):
            return Observed(
                Status.FAILED,
                identity,
                detail=f"{status} {failure_text(project.get('failureReasons'))}".strip(),
                owned=owned,
            )
        details = project.get("environmentDeploymentDetails") or {}
        deployment = details.get("overallDeploymentStatus", "SUCCESSFUL")
        collapsed = PROJECT_DEPLOYMENT.get(deployment, Status.IN_PROGRESS)
        detail = deployment
        if collapsed == Status.FAILED:
            detail += ": " + failure_text(details.get("environmentFailureReasons"))
            return Observed(Status.FAILED, identity, detail=detail, owned=owned)
        if collapsed != Status.COMPLETE:
            return Observed(collapsed, identity, detail=detail, owned=owned)
        outputs = self._environment_outputs(ctx, domain_id, project["id"])
        if outputs is None:
            return Observed(
                Status.IN_PROGRESS, identity, detail="environments not active yet", owned=owned
            )
        return Observed(Status.COMPLETE, identity, outputs, detail=deployment, owned=owned)

    def _environment_outputs(
        self, ctx: Context, domain_id: str, project_id: str
    ) -> dict[str, Any] | None:
        datazone = ctx.client(self.account, "datazone")
        tooling, lakehouse = self._configuration_names(ctx)
        outputs: dict[str, Any] = {}
        for env in paginate(
            datazone,
            "list_environments",
            "items",
            domainIdentifier=domain_id,
            projectIdentifier=project_id,
        ):
            if env.get("status") != "ACTIVE":
                return None
            detail = datazone.get_environment(domainIdentifier=domain_id, identifier=env["id"])
            configuration = detail.get("environmentConfigurationName") or env.get("name")
            resources = {r["name"]: r["value"] for r in detail.get("provisionedResources", [])}
            if configuration == tooling:
                outputs["tooling_env"] = env["id"]
                outputs["role_arn"] = resources.get("userRoleArn", "")
                outputs["account_id"] = detail.get("awsAccountId", "")
                outputs["s3_path"] = resources.get("s3BucketPath", "")
            elif configuration == lakehouse:
                outputs["lakehouse_env"] = env["id"]
        if "tooling_env" not in outputs:
            return None
        for connection in paginate(
            datazone,
            "list_connections",
            "items",
            domainIdentifier=domain_id,
            projectIdentifier=project_id,
            environmentIdentifier=outputs["tooling_env"],
        ):
            if connection["name"] == LAKEHOUSE_CONNECTION:
                outputs["lakehouse_connection"] = connection["connectionId"]
            if connection["name"] == ATHENA_CONNECTION:
                outputs["athena_connection"] = connection["connectionId"]
        return outputs

    def _configuration_names(self, ctx: Context) -> tuple[str, str]:
        """Its profile's Tooling and Lakehouse environment configurations: an existing
        profile's own names (ExistingProjectProfile), else smus-mesh's."""
        profile = ctx.outputs(self.profile_key) if self.profile_key else {}
        return (
            str(profile.get("tooling_configuration", TOOLING_CONFIGURATION)),
            str(profile.get("lakehouse_configuration", LAKEHOUSE_CONFIGURATION)),
        )

    def wait_deleted(self, ctx: Context) -> Observed:
        gone = super().wait_deleted(ctx)
        if ctx.config.domain.joined:
            self._delete_project_data(ctx)
        return gone

    def _delete_project_data(self, ctx: Context) -> None:
        """The project's prefix in the Tooling blueprint's bucket (`s3BucketPath`): DataZone
        leaves project data when it deletes a project. In a domain smus-mesh made the
        bucket is its own and goes whole; in a joined one it is often the owner's, so
        only this project's prefix goes (ADR 26)."""
        outputs = ctx.outputs(self.key)
        path, account_id = str(outputs.get("s3_path", "")), outputs.get("account_id")
        alias = next((a for a in ctx.config.accounts if ctx.account_id(a) == account_id), None)
        bucket, _, prefix = path.removeprefix("s3://").partition("/")
        project_id = str(outputs.get("id", ""))
        if alias is None or not path.startswith("s3://") or not project_id:
            return
        # `<S3Location prefix>/<domainId>/<projectId>[/…]` (the emulator's; AWS's
        # layout past the project id is not documented, ADR 5): the project's own part.
        parts = prefix.strip("/").split("/")
        if project_id not in parts:
            return  # not a prefix of this project alone: left as it is
        delete_prefix(
            ctx.client(alias, "s3"), bucket, "/".join(parts[: parts.index(project_id) + 1])
        )

    def create(self, ctx: Context) -> dict[str, Any]:
        domain_id = ctx.output(self.domain_key, "id")
        config = ctx.config.project(self.project)
        kwargs: dict[str, Any] = {
            "domainIdentifier": domain_id,
            "name": self.project,
            "projectProfileId": ctx.output(self.profile_key, "id"),
            "userParameters": [
                {
                    "environmentConfigurationName": self._configuration_names(ctx)[1],
                    "environmentParameters": [
                        {"name": "glueDbName", "value": ctx.names.project_database(self.project)}
                    ],
                }
            ],
        }
        if config.description:
            kwargs["description"] = config.description
        project = ctx.retry_while(
            self.key,
            lambda: ctx.client(self.account, "datazone").create_project(**kwargs),
            # The profile grant may take a few seconds to apply (workflow.md §4.7).
            codes=("AccessDeniedException",),
        )
        return {"id": project["id"], "domain_id": domain_id, "name": self.project}


# --- project members (IAM Identity Center users and groups) -----------------------------------


@register
class ProjectMembership(Resource):
    """A user or group of IAM Identity Center (or an IAM principal) made a project member.

    Example::

        domain: {name: sales-mesh, account: producer, auth: iam_identity_center,
                 identity_center_instance_arn: "arn:aws:sso:::instance/ssoins-0123456789abcdef"}
        projects:
          - name: consumer
            account: consumer
            members: [{user: ana, designation: PROJECT_CONTRIBUTOR}, {group: analysts}]
    """

    kind = "datazone:project-membership"
    iam_actions = (
        _DZ + "ListProjectMemberships",
        _DZ + "CreateProjectMembership",
        _DZ + "DeleteProjectMembership",
        _DZ + "GetUserProfile",
        _DZ + "GetGroupProfile",
    )

    def __init__(
        self,
        project: str,
        member: Any,
        domain_account: str,
        domain_key: str,
        project_key: str,
    ) -> None:
        what = "user" if member.user else "group"
        super().__init__(
            f"{project}/{what}/{member.identifier}", domain_account, (domain_key, project_key)
        )
        self.project = project
        self.member = member
        self.what = what
        self.domain_key = domain_key
        self.project_key = project_key

    def _member(self) -> dict[str, str]:
        field = "userIdentifier" if self.what == "user" else "groupIdentifier"
        return {field: self.member.identifier}

    def _profile_id(self, ctx: Context, domain_id: str) -> str | None:
        """The DataZone profile id the member is listed by (None: no profile yet)."""
        datazone = ctx.client(self.account, "datazone")
        try:
            if self.what == "user":
                profile = datazone.get_user_profile(
                    domainIdentifier=domain_id, userIdentifier=self.member.identifier
                )
            else:
                profile = datazone.get_group_profile(
                    domainIdentifier=domain_id, groupIdentifier=self.member.identifier
                )
        except ClientError as exc:
            if is_not_found(exc):
                return None
            raise
        return str(profile["id"])

    def observe(self, ctx: Context) -> Observed:
        domain_id = ctx.output(self.domain_key, "id")
        project_id = ctx.output(self.project_key, "id")
        profile_id = self._profile_id(ctx, domain_id)
        identity = {"domain_id": domain_id, "project_id": project_id}
        if profile_id is None:
            return Observed.absent(f"{self.what} {self.member.identifier} has no profile yet")
        datazone = ctx.client(self.account, "datazone")
        for member in paginate(
            datazone,
            "list_project_memberships",
            "members",
            domainIdentifier=domain_id,
            projectIdentifier=project_id,
        ):
            details = member.get("memberDetails", {})
            listed = details.get("user", {}).get("userId") or details.get("group", {}).get(
                "groupId"
            )
            if listed == profile_id:
                designation = member.get("designation", "")
                drift = (
                    (f"designation: {designation} -> {self.member.designation}",)
                    if designation != self.member.designation
                    else ()
                )
                # In a joined domain (or an existing project) a membership is ours only
                # when this set-up made it (ADR 26).
                owned = not ctx.config.domain.joined or made_here(ctx, self.key)
                return Observed(
                    Status.COMPLETE,
                    {**identity, "profile_id": profile_id},
                    detail=designation,
                    owned=owned,
                    drift=drift,
                )
        return Observed(Status.ABSENT, identity, detail="not a member")

    def create(self, ctx: Context) -> dict[str, Any]:
        domain_id = ctx.output(self.domain_key, "id")
        project_id = ctx.output(self.project_key, "id")
        ctx.client(self.account, "datazone").create_project_membership(
            domainIdentifier=domain_id,
            projectIdentifier=project_id,
            member=self._member(),
            designation=self.member.designation,
        )
        return {"domain_id": domain_id, "project_id": project_id}

    def delete(self, ctx: Context, observed: Observed) -> None:
        try:
            ctx.client(self.account, "datazone").delete_project_membership(
                domainIdentifier=observed.identity["domain_id"],
                projectIdentifier=observed.identity["project_id"],
                member=self._member(),
            )
        except ClientError as exc:
            if not is_not_found(exc):
                raise
