"""The JSON contract of `--output json` (ADR 18): one document per command, its shape a
pydantic model here, its JSON Schema generated from that model (docs/json.md).

Every document is an object with `"version": 1` and a `"kind"` (the command's name, or
`"error"`), then the command's fields. Within version 1 fields are only ever added
(readers ignore fields they do not know); a field removed, renamed or retyped is
version 2. The CLI builds documents with `document(kind, payload)`; the tests validate
every command's real output against `schema(kind)`.

Regenerate the doc with `make json-doc` (`python -m smus_mesh.contract > docs/json.md`);
a test fails when it is stale.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

VERSION = 1


class _Model(BaseModel):
    # Strict in the schema: a field the code emits but the model lacks fails the tests.
    model_config = ConfigDict(extra="forbid")


class _Envelope(_Model):
    version: Literal[1] = Field(description="Version of this contract: 1.")


# --- shared parts ---------------------------------------------------------------------


class FieldError(_Model):
    path: str | None = Field(
        description="Where in the input: the config's field path (`tables[0].rows`), an "
        "option (`--output`), or null when the error is not about one place."
    )
    message: str


class Calls(_Model):
    """The AWS calls this process made."""

    total: int
    by_kind: dict[str, int] = Field(description="mutating, poll and read.")
    by_operation: dict[str, int] = Field(description="`service:Operation:kind` -> count.")


class AttributeChange(_Model):
    attribute: str
    before: Any = None
    after: Any = None


class PlanStep(_Model):
    # Open: the engine may add detail to a step (and it is additive within version 1).
    model_config = ConfigDict(extra="allow")

    key: str = Field(description="The resource's key, `kind:name`.")
    kind: str = Field(description="The resource kind (`datazone:project`, `iam:role`, ...).")
    account: str = Field(description="The account alias of the config.")
    action: Literal["create", "wait", "keep", "update", "recreate", "blocked", "delete", "skip"]
    reason: str
    before: str = Field(description="What was observed (status and detail).")
    depends_on: list[str]
    drift: list[str] = Field(description="Attributes that differ from the config.")
    changes: list[AttributeChange] = Field(
        default_factory=list, description="Attribute-level before -> after (when known)."
    )


class PlanBody(_Model):
    operation: Literal["up", "down"]
    summary: dict[str, int] = Field(description="Steps per action.")
    steps: list[PlanStep]


class StepResult(_Model):
    key: str
    action: str
    ok: bool
    seconds: float
    message: str = Field(
        description="What the step ended as, or why it failed. A `delete` that left the "
        "object says why, starting `kept:` (a Glue database that holds tables that are not "
        "the set-up's, ADR 50)."
    )


class Awaiting(_Model):
    project: str
    table: str
    request_id: str


class RunBody(_Model):
    operation: Literal["up", "down"]
    ok: bool
    interrupted: bool
    wall_s: float
    summary: dict[str, int] = Field(description="Steps done per action.")
    failures: list[StepResult]
    steps: list[StepResult]
    calls: Calls
    awaiting_approval: list[Awaiting] = Field(
        description="Subscription requests that wait for the producer's decision."
    )


class Finding(_Model):
    class_: str = Field(alias="class")
    id: str
    why: str


class AuditAccount(_Model):
    # The account id, then one list of findings per class that has any.
    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, list[Finding]] = Field(init=False)

    account_id: str


class AuditBody(_Model):
    leftovers: int = Field(description="How many resources of the set-up exist.")
    by_class: dict[str, int]
    accounts: dict[str, AuditAccount] = Field(description="Per account alias.")


class Column(_Model):
    name: str
    type: str = Field(description="Athena's type of the column (`bigint`, `decimal`, ...).")


Cell = int | float | bool | str | None


class CheckResult(_Model):
    name: str
    project: str
    sql: str
    ok: bool
    columns: list[Column]
    rows: list[list[Cell]] = Field(
        description="Typed from the columns: integer and floating types as numbers "
        "(NaN and infinities as strings), boolean as booleans, NULL as null; decimal as "
        "strings (exact), date `YYYY-MM-DD`, timestamp `YYYY-MM-DDTHH:MM:SS.fff`; "
        "anything else Athena's text."
    )
    message: str
    query_execution_id: str | None
    seconds: float


class Decision(_Model):
    request_id: str
    consumer: str
    table: str
    reason: str
    decision: Literal["accepted", "rejected"]


class RequestRow(_Model):
    project: str
    table: str
    producer: str
    state: Literal["subscribed", "unsubscribed"] = Field(description="What the config wants.")
    request_id: str = Field(description="Empty when status is NOT_REQUESTED.")
    status: str = Field(description="DataZone's status, or NOT_REQUESTED.")
    reason: str = ""
    decision_comment: str = ""
    updated_at: str = ""


class StatusRow(_Model):
    key: str
    account: str
    status: str = Field(description="ABSENT, IN_PROGRESS, COMPLETE or FAILED.")
    detail: str
    owned: bool | None = Field(description="Made by this set-up; null when unknown.")
    identity: dict[str, Any] = Field(description="Ids and ARNs observed.")


class DomainOutput(_Model):
    name: str
    id: str
    arn: str
    portal_url: str
    account_id: str
    joined: bool = Field(description="An existing domain the set-up joined (ADR 26).")


class ProfileOutput(_Model):
    id: str
    name: str
    joined: bool = Field(
        description="An existing profile the config names (`projects[].profile`; ADR 26)."
    )


class ProjectOutput(_Model):
    id: str
    account: str
    account_id: str
    joined: bool = Field(description="An existing project (`projects[].existing`; ADR 26).")
    profile: ProfileOutput | None = Field(
        description="The profile it is made from; null for an existing project."
    )


class SubscriptionOutput(_Model):
    project: str
    table: str
    state: Literal["subscribed", "unsubscribed"]
    request_status: str
    request_id: str
    subscription_id: str


class DemoLeftovers(_Model):
    audit: int
    emulator_inventory_diff: dict[str, dict[str, list[Any]]]


# --- one document per command -----------------------------------------------------------


class PlanDocument(_Envelope, PlanBody):
    """`plan`: what `up` (or `down`) would do."""

    kind: Literal["plan"]


class UpDocument(_Envelope, RunBody):
    """`up`: what was done, and the plan it started from."""

    kind: Literal["up"]
    plan: PlanBody | None = Field(default=None, description="The plan `up` showed first.")


class DownDocument(_Envelope, RunBody):
    """`down`: what was deleted, and the audit after it."""

    kind: Literal["down"]
    audit: AuditBody


class StatusDocument(_Envelope):
    """`status`: every resource of the set-up, observed now."""

    kind: Literal["status"]
    resources: list[StatusRow]


class AuditDocument(_Envelope, AuditBody):
    """`audit`: what of the set-up exists in each account."""

    kind: Literal["audit"]


class QueryDocument(_Envelope):
    """`query`: the configured checks, run as the consumer projects."""

    kind: Literal["query"]
    ok: bool
    interrupted: bool
    checks: list[CheckResult]


class ApproveDocument(_Envelope):
    """`approve`: the requests accepted."""

    kind: Literal["approve"]
    decided: list[Decision]


class RejectDocument(_Envelope):
    """`reject`: the requests rejected."""

    kind: Literal["reject"]
    decided: list[Decision]


class UnsubscribeDocument(_Envelope):
    """`unsubscribe`: the subscriptions cancelled."""

    kind: Literal["unsubscribe"]
    cancelled: int
    project: str
    table: str
    state: Literal["unsubscribed"]


class RequestsDocument(_Envelope):
    """`requests`: the subscription requests of the configured subscriptions."""

    kind: Literal["requests"]
    requests: list[RequestRow]


class OutputsDocument(_Envelope):
    """`outputs`: ids, ARNs and the portal URL of the set-up."""

    kind: Literal["outputs"]
    setup: str
    setup_id: str
    state_file: str
    domain: DomainOutput
    projects: dict[str, ProjectOutput]
    roles: dict[str, str] = Field(description="Resource key -> role ARN.")
    buckets: dict[str, str] = Field(description="Resource key -> bucket ARN.")
    subscriptions: list[SubscriptionOutput]


class DiagramAccount(_Model):
    alias: str
    account_id: str


class DiagramNode(_Model):
    key: str
    kind: str
    name: str
    account: str = Field(description="The alias of the account it is drawn in.")
    section: Literal["DataZone", "Data", "Subscriptions and grants", "Foundations"]
    status: Literal["ABSENT", "IN_PROGRESS", "COMPLETE", "FAILED"]
    action: str = Field(description="What `up` would do with it.")
    detail: str
    drift: list[str]
    owned: bool | None
    environments: list[str] = Field(description="A project's environments (`tooling <id>`).")


class DiagramEdge(_Model):
    from_: str = Field(alias="from")
    to: str


class DiagramDocument(_Envelope):
    """`diagram`: the mesh as observed, as a graph (and where the drawing went)."""

    kind: Literal["diagram"]
    setup: str
    accounts: list[DiagramAccount] = Field(description="The domain's account first.")
    nodes: list[DiagramNode]
    edges: list[DiagramEdge] = Field(description="The data's path, resource keys.")
    format: Literal["svg", "mermaid"]
    out: str | None = Field(description="The file written, or null (not written).")


class DemoDocument(_Envelope):
    """`demo`: the whole collaboration on the embedded emulator."""

    kind: Literal["demo"]
    ok: bool
    accounts: dict[str, str] = Field(description="Alias -> account id.")
    seconds: dict[str, float] = Field(description="Seconds per phase (up, query, down).")
    resources_created: int
    checks: list[CheckResult]
    aws_calls: dict[str, int]
    leftovers: DemoLeftovers
    failures: list[str]
    diagram: str | None = Field(
        default=None, description="The SVG of the mesh after `up` (`--diagram`)."
    )


class VerifyPhase(_Model):
    name: Literal["up", "observe", "query", "subscriptions", "athena", "cascade", "down", "audit"]
    mutating: bool
    status: Literal["ran", "failed", "declined", "skipped", "interrupted"]
    seconds: float
    message: str


class VerifyCheck(_Model):
    point: int = Field(ge=1, le=17, description="The point of ADR 5 it checks.")
    title: str
    outcome: Literal["pass", "differs", "could-not-check"] = Field(
        description="pass: AWS did what ADR 5 assumes; differs: it did not (see the "
        "evidence); could-not-check: this run could not observe it (`observed` says why)."
    )
    observed: str = Field(description="One line: what was seen, or why it could not be.")
    phase: str = Field(description="The phase that observed it (empty: none did).")
    evidence: dict[str, Any] = Field(
        description="What AWS answered: statuses and their sequences, error codes and "
        "messages, timings, ids. No credential is ever written."
    )


class ExistingDomain(_Model):
    account: str
    account_id: str
    id: str
    name: str


class VerifyAwsDocument(_Envelope):
    """`verify-aws`: ADR 5's assumptions checked on real accounts (also the report file)."""

    kind: Literal["verify-aws"]
    ok: bool = Field(description="No check differs, every phase that ran finished, nothing left.")
    setup: str = Field(description="The verification set-up's name (`verify-<name>`).")
    region: str
    accounts: dict[str, str] = Field(description="Alias -> account id.")
    versions: dict[str, str] = Field(description="smus_mesh, boto3, botocore, python.")
    endpoint: str | None = Field(description="AWS_ENDPOINT_URL when set, else null.")
    existing_domains: list[ExistingDomain] = Field(
        description="Domains smus-mesh did not create, run beside (--allow-existing)."
    )
    started_at: str
    seconds: float
    interrupted: bool
    summary: dict[str, int] = Field(description="Checks per outcome.")
    phases: list[VerifyPhase]
    checks: list[VerifyCheck] = Field(description="One per point of ADR 5, in order.")
    up_steps: dict[str, float] = Field(
        description="Seconds of each step `up` ran (resource key -> seconds)."
    )
    leftovers: int | None = Field(description="What audit found after down (null: unknown).")
    cleanup_hint: str = Field(description="The command to finish the cleanup, if needed.")
    report_files: list[str] = Field(description="The report as JSON, then as text.")


class SchemaDocument(_Envelope):
    """`schema`: the JSON Schema of the config file."""

    kind: Literal["schema"]
    schema_: dict[str, Any] = Field(alias="schema")


class PermissionsDocument(_Envelope):
    """`permissions`: the IAM policy smus-mesh needs, per account alias."""

    kind: Literal["permissions"]
    policies: dict[str, dict[str, Any]]
    sizes: dict[str, int] = Field(
        description="Each policy's characters without white space, as IAM counts them "
        "against its quotas (6,144 for a managed policy, 10,240 for a role's inline policies)."
    )


class VersionDocument(_Envelope):
    """`version`."""

    kind: Literal["version"]
    smus_mesh: str = Field(description="The tool's version.")


class ErrorDocument(_Envelope):
    """Any command that failed before it had a result (exit code 1, 2, 3 or 130; ADR 12)."""

    kind: Literal["error"]
    error: str = Field(description="The error's class (ConfigError, UsageError, ...).")
    message: str = Field(description="The whole message, as the text output shows it.")
    exit_code: int
    errors: list[FieldError] = Field(description="One entry per problem (at least one).")


DOCUMENTS: dict[str, type[_Envelope]] = {
    "plan": PlanDocument,
    "up": UpDocument,
    "down": DownDocument,
    "status": StatusDocument,
    "audit": AuditDocument,
    "query": QueryDocument,
    "approve": ApproveDocument,
    "reject": RejectDocument,
    "unsubscribe": UnsubscribeDocument,
    "requests": RequestsDocument,
    "outputs": OutputsDocument,
    "diagram": DiagramDocument,
    "demo": DemoDocument,
    "verify-aws": VerifyAwsDocument,
    "schema": SchemaDocument,
    "permissions": PermissionsDocument,
    "version": VersionDocument,
    "error": ErrorDocument,
}


def document(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The JSON document of `kind` (a key of DOCUMENTS) with `payload`'s fields."""
    if kind not in DOCUMENTS:
        raise KeyError(f"no JSON document of kind {kind!r}")
    return {"version": VERSION, "kind": kind, **payload}


def error_document(
    error: str, message: str, exit_code: int, problems: list[tuple[str | None, str]] | None = None
) -> dict[str, Any]:
    """The error document: `problems` are (path, message) pairs (default: the message)."""
    return document(
        "error",
        {
            "error": error,
            "message": message,
            "exit_code": exit_code,
            "errors": [
                {"path": path, "message": text} for path, text in (problems or [(None, message)])
            ],
        },
    )


def schema(kind: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the document of `kind`."""
    generated: dict[str, Any] = DOCUMENTS[kind].model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **generated}


def render_doc() -> str:
    """docs/json.md: the contract's rules, then each kind's schema."""
    lines = [
        "# The JSON output contract",
        "",
        "<!-- Generated by `make json-doc` from src/smus_mesh/contract.py; do not edit. -->",
        "",
        "Every command given `-o json` (or `--output json`, before or after the command)",
        "prints one JSON document on stdout; progress and messages go to stderr. Each",
        'document is an object with `"version": 1` and a `"kind"`: the command\'s name,',
        'or `"error"` when the command failed before it had a result. The exit codes are',
        "those of the text output (ADR 12): a document of kind `plan`, `up`, `query`, ...",
        "can come with exit 1 (a step or check failed, something was left), and an",
        "`error` document comes with 1, 2 (the input: config, options, state file),",
        "3 (transient: run it again) or 130 (interrupted).",
        "",
        "Within version 1, fields are only added: ignore the fields you do not know.",
        "A field removed, renamed or retyped makes version 2.",
        "",
        "Query rows are typed from Athena's column metadata: integer and floating point",
        "types are numbers, `boolean` booleans, NULL `null`; `decimal` stays a string",
        "(exact), `date` is `YYYY-MM-DD`, `timestamp` `YYYY-MM-DDTHH:MM:SS.fff`, other",
        "types Athena's text. Each check's `columns` gives every column's name and type.",
        "",
        "| kind | command | schema |",
        "|---|---|---|",
    ]
    for kind, model in DOCUMENTS.items():
        command = "any, on failure" if kind == "error" else f"`smus-mesh {kind}`"
        summary = (model.__doc__ or "").strip().split("\n", 1)[0]
        lines.append(f"| `{kind}` | {command} | [{summary}](#kind-{kind}) |")
    for kind in DOCUMENTS:
        lines += [
            "",
            f"## kind: {kind}",
            "",
            "```json",
            json.dumps(schema(kind), indent=2, sort_keys=False),
            "```",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - `make json-doc`
    print(render_doc(), end="")
