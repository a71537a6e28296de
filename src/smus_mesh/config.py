"""The YAML file that describes a collaboration, validated before any AWS call.

One file names the accounts, the domain, the tables, the projects, who
subscribes to what, how the producer approves, and the checks the consumer
runs. `load_config` turns every problem into a `ConfigError` that names the
file, the field path (`projects[1].account`) and what is expected, so that bad
input never reaches AWS. `json_schema()` is what `smus-mesh schema` prints.

Example (the emulator's accounts)::

    version: 1
    name: demo
    region: us-east-1
    accounts:
      producer: {account_id: "111111111111",
                 role_arn: "arn:aws:iam::111111111111:role/OrganizationAccountAccessRole"}
      consumer: {account_id: "222222222222",
                 role_arn: "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole"}
    domain: {name: demo-domain, account: producer}
    tables:
      - {name: inventory, account: producer, database: inventory_db, table: inventory,
         location: "s3://demo-inventory-111111111111/inventory/", format: csv,
         columns: [{name: sku, type: string}, {name: qty, type: int}],
         rows: [["a-1", 3], ["b-2", 5]]}
    projects:
      - {name: producer, account: producer, imports: [inventory], approval: {mode: auto}}
      - {name: consumer, account: consumer}
    subscriptions:
      - {project: consumer, tables: [inventory], reason: "stock dashboards"}
    checks:
      - {project: consumer, sql: "SELECT count(*) AS n FROM {inventory}", expect_rows: [[2]]}
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from smus_mesh.config_file import load_yaml_file, shown
from smus_mesh.config_rules import (
    PLACEHOLDER,
    ColumnType,
    check_bucket,
    check_prefix,
    check_region,
    check_sql,
    parquet_writer_installed,
)
from smus_mesh.errors import ConfigError
from smus_mesh.settings import Settings

#: Most sample rows of one table (they are written to S3 in one object by `up`).
MAX_ROWS = 10_000
#: Most columns of one table.
MAX_COLUMNS = 1_000
#: Longest check query (Athena's own limit on a query string, in characters).
MAX_SQL = 262_144

# ASCII classes only: `\d` and `\w` also match other scripts' digits and letters.
ACCOUNT_ID_PATTERN = r"^[0-9]{12}$"
ROLE_ARN_PATTERN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]+$"
AccountId = Annotated[str, StringConstraints(pattern=ACCOUNT_ID_PATTERN)]
RoleArn = Annotated[str, StringConstraints(pattern=ROLE_ARN_PATTERN, max_length=2048)]
SetupName = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,22}[a-z0-9]$")
]  # goes into role and bucket names, so short and DNS-safe
Alias = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")]
GlueName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,255}$")]
S3Uri = Annotated[
    str,
    StringConstraints(pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$", max_length=1100),
]
Region = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]$")]
#: A project name (DataZone: 1-64 characters of letters, digits, '_', '-', space).
ProjectName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_ -]+$")
]
ProfileName = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AccountConfig(Strict):
    """How to reach one account. One of: a named `profile`, a `role_arn` to assume
    (from `source_profile` or the default credentials), or neither (default chain)."""

    account_id: AccountId
    profile: ProfileName | None = None
    role_arn: RoleArn | None = None
    external_id: str | None = Field(None, min_length=2, max_length=1224)
    source_profile: ProfileName | None = None
    vpc_id: str | None = Field(
        None, pattern=r"^vpc-[0-9a-f]+$", description="VPC for the Tooling blueprint."
    )
    subnet_ids: list[Annotated[str, StringConstraints(pattern=r"^subnet-[0-9a-f]+$")]] = Field(
        default_factory=list, description="Subnets for the Tooling blueprint (default VPC's)."
    )

    @model_validator(mode="after")
    def _one_way_in(self) -> AccountConfig:
        if self.profile and self.role_arn:
            raise ValueError("give either profile or role_arn (use source_profile with role_arn)")
        if self.external_id and not self.role_arn:
            raise ValueError("external_id needs role_arn")
        if self.source_profile and not self.role_arn:
            raise ValueError("source_profile needs role_arn")
        if self.role_arn and f":{self.account_id}:" not in self.role_arn:
            raise ValueError(f"role_arn is not a role of account {self.account_id}")
        if self.subnet_ids and not self.vpc_id:
            raise ValueError("subnet_ids needs vpc_id")
        return self


class DomainRoles(Strict):
    """Existing roles to use instead of creating them (they are never modified or deleted)."""

    execution: RoleArn | None = None
    service: RoleArn | None = None


#: A DataZone domain id (`dzd_` or `dzd-` and letters, digits, '_' or '-').
DOMAIN_ID_PATTERN = r"^dzd[-_][a-zA-Z0-9_-]{1,36}$"
#: What only a domain smus-mesh creates has (a joined domain keeps its own).
_CREATED_DOMAIN_ONLY = (
    "auth",
    "identity_center_instance_arn",
    "user_assignment",
    "roles",
    "description",
)


class DomainConfig(Strict):
    """The domain: one smus-mesh creates (`name`), or an existing one it joins (`id`, or
    `name` with `existing: true`; ADR 26). A joined domain, its blueprint configurations,
    project profiles and projects are used as they are and never changed or deleted."""

    name: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_ -]+$")
    id: str | None = Field(
        None, pattern=DOMAIN_ID_PATTERN, description="Join this existing domain (by id)."
    )
    existing: bool | None = Field(
        None,
        description=(
            "`true`: join the existing domain of this `name` (or `id`) instead of creating "
            "one; implied by `id`."
        ),
    )
    account: Alias
    description: str | None = Field(None, max_length=2048)
    auth: Literal["iam", "iam_identity_center"] = "iam"
    identity_center_instance_arn: str | None = Field(
        None, pattern=r"^arn:aws[a-z-]*:sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}$"
    )
    user_assignment: Literal["AUTOMATIC", "MANUAL"] = "AUTOMATIC"
    roles: DomainRoles = Field(default_factory=DomainRoles)

    def problems(self) -> list[tuple[str, str]]:
        """What is wrong with how the domain is named or joined, by field path."""
        if self.id is not None and self.existing is False:
            return [
                ("domain.existing", "id names an existing domain to join: drop existing: false")
            ]
        if self.name is None and self.id is None:
            return [
                (
                    "domain.name",
                    "required field is missing (or give id to join an existing domain)",
                )
            ]
        if not self.joined:
            return []
        return [
            (
                f"domain.{name}",
                "only for a domain smus-mesh creates; a joined domain (id or existing: true) "
                "keeps its own",
            )
            for name in _CREATED_DOMAIN_ONLY
            if name in self.model_fields_set
        ]

    @model_validator(mode="after")
    def _identity_center(self) -> DomainConfig:
        problems = self.problems()
        if problems:
            raise _CrossReferenceErrors(problems)  # reported with their own paths
        if self.joined:
            return self
        if self.auth == "iam_identity_center" and not self.identity_center_instance_arn:
            raise ValueError("auth: iam_identity_center needs identity_center_instance_arn")
        if self.auth == "iam" and self.identity_center_instance_arn:
            raise ValueError("identity_center_instance_arn is only for auth: iam_identity_center")
        return self

    @property
    def joined(self) -> bool:
        """An existing domain smus-mesh uses but did not create (never deleted)."""
        return self.id is not None or bool(self.existing)

    @property
    def label(self) -> str:
        """The domain as the config names it (its name, else its id)."""
        return self.name or self.id or ""


class ColumnConfig(Strict):
    name: GlueName
    type: str

    @field_validator("type")
    @classmethod
    def _glue_type(cls, value: str) -> str:
        return str(ColumnType.parse(value))

    @property
    def column_type(self) -> ColumnType:
        return ColumnType.parse(self.type)


class TableConfig(Strict):
    """A Glue table the producer shares. With `create: true` (default) smus-mesh makes the
    bucket (if absent), writes `rows`, and creates the database and table; with
    `create: false` they must exist and are only registered and imported."""

    name: Alias
    account: Alias
    database: GlueName
    table: GlueName
    location: S3Uri
    format: Literal["csv", "parquet"] = "csv"
    create: bool = True
    columns: list[ColumnConfig] = Field(default_factory=list, max_length=MAX_COLUMNS)
    rows: list[list[Any]] = Field(default_factory=list, max_length=MAX_ROWS)

    @field_validator("location")
    @classmethod
    def _prefix(cls, value: str) -> str:
        value = value if value.endswith("/") else value + "/"
        bucket, _, prefix = value[len("s3://") :].partition("/")
        check_bucket(bucket)
        if prefix:
            check_prefix(prefix)
        return value

    @field_validator("rows")
    @classmethod
    def _typed_rows(cls, rows: list[list[Any]], info: ValidationInfo) -> list[list[Any]]:
        """Each value parsed as its column's type; the first few bad ones are reported
        with their row and column."""
        columns: list[ColumnConfig] = info.data.get("columns") or []
        if not columns:
            return rows
        types = [c.column_type for c in columns]
        problems: list[str] = []
        parsed = []
        for i, row in enumerate(rows):
            if len(row) != len(columns):
                problems.append(f"rows[{i}] has {len(row)} values for {len(columns)} columns")
            else:
                values = []
                for j, (value, kind) in enumerate(zip(row, types, strict=True)):
                    try:
                        values.append(kind.parse_value(value))
                    except ValueError as exc:
                        problems.append(f"rows[{i}][{j}] (column {columns[j].name}): {exc}")
                parsed.append(values)
            if len(problems) >= 5:
                problems.append("...")
                break
        if problems:
            raise ValueError("; ".join(problems))
        return parsed

    @property
    def bucket(self) -> str:
        return self.location[len("s3://") :].split("/", 1)[0]

    @property
    def prefix(self) -> str:
        return self.location[len("s3://") :].split("/", 1)[1]

    @model_validator(mode="after")
    def _rows_fit(self) -> TableConfig:
        if self.create and not self.columns:
            raise ValueError("a table smus-mesh creates needs columns")
        if not self.prefix:
            raise ValueError("location must name a prefix under the bucket (s3://bucket/prefix/)")
        if self.rows and not self.create:
            raise ValueError("rows are only written for tables smus-mesh creates (create: true)")
        if self.format == "parquet" and self.rows and not parquet_writer_installed():
            raise ValueError(
                "format: parquet rows are written with pyarrow, which is not installed: "
                "pip install 'smus-mesh[parquet]' (or use format: csv)"
            )
        return self


class ApprovalRule(Strict):
    """First matching rule decides. `*` matches anything; `requester` is an fnmatch pattern
    on the requesting principal's ARN."""

    decision: Literal["accept", "reject"]
    consumer_project: str = Field("*", max_length=64)
    table: str = Field("*", max_length=64)
    requester: str = Field("*", max_length=2048)
    comment: str = Field("", max_length=4096)


class ApprovalConfig(Strict):
    """How the producer project answers subscription requests to its tables."""

    mode: Literal["auto", "rules", "manual"] = "auto"
    rules: list[ApprovalRule] = Field(default_factory=list)
    default: Literal["accept", "reject", "leave"] = Field(
        "leave", description="`rules` mode: what to do when no rule matches."
    )
    comment: str = Field("Approved by smus-mesh", max_length=4096)

    @model_validator(mode="after")
    def _rules_only_in_rules_mode(self) -> ApprovalConfig:
        if self.mode == "rules" and not self.rules:
            raise ValueError("mode: rules needs at least one rule")
        if self.mode != "rules" and self.rules:
            raise ValueError("rules are only used with mode: rules")
        return self


class MemberConfig(Strict):
    """A project member besides smus-mesh's own principal: an IAM Identity Center `user`
    (its id or user name; or an IAM principal's ARN) or `group` (its id or display name,
    `auth: iam_identity_center` only), and its designation."""

    user: str | None = Field(None, min_length=1, max_length=1024)
    group: str | None = Field(None, min_length=1, max_length=1024)
    designation: Literal[
        "PROJECT_OWNER",
        "PROJECT_CONTRIBUTOR",
        "PROJECT_CATALOG_VIEWER",
        "PROJECT_CATALOG_CONSUMER",
        "PROJECT_CATALOG_STEWARD",
    ] = "PROJECT_CONTRIBUTOR"

    @model_validator(mode="after")
    def _one(self) -> MemberConfig:
        if (self.user is None) == (self.group is None):
            raise ValueError("give either user or group")
        return self

    @property
    def identifier(self) -> str:
        return self.user or self.group or ""


#: A DataZone project profile id.
PROFILE_ID_PATTERN = r"^[a-zA-Z0-9_-]{1,36}$"


class ProfileRef(Strict):
    """An existing project profile of the joined domain, by `name` or `id` (ADR 26): used
    as it is, never changed or deleted."""

    name: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_ -]+$")
    id: str | None = Field(None, pattern=PROFILE_ID_PATTERN)

    @model_validator(mode="after")
    def _one(self) -> ProfileRef:
        if (self.name is None) == (self.id is None):
            raise ValueError("give either name or id of an existing project profile")
        return self

    @property
    def label(self) -> str:
        """`name X` or `id Y`, for messages."""
        return f"name {self.name!r}" if self.name is not None else f"id {self.id}"

    @property
    def ref(self) -> str:
        """What the set-up keys the profile by (its name, else its id)."""
        return self.name or self.id or ""


class ProjectConfig(Strict):
    name: ProjectName
    account: Alias
    profile: ProfileRef | None = Field(
        None,
        description=(
            "An existing project profile of the joined domain (`{name: …}` or `{id: …}`) to "
            "create this project from, instead of the one smus-mesh makes for the account; "
            "used as it is, never changed or deleted."
        ),
    )
    members: list[MemberConfig] = Field(
        default_factory=list,
        max_length=100,
        description="Members besides smus-mesh's principal (users and groups of IAM "
        "Identity Center).",
    )
    existing: bool = Field(
        False,
        description=(
            "`true`: the project exists in the joined domain (by name) and its environments "
            "are deployed in `account`; smus-mesh uses it and never changes or deletes it."
        ),
    )
    description: str | None = Field(None, max_length=2048)
    imports: list[Alias] = Field(default_factory=list)
    approval: ApprovalConfig = Field(default_factory=ApprovalConfig)


class SubscriptionConfig(Strict):
    project: ProjectName
    tables: list[Alias] = Field(min_length=1)
    reason: str = Field("Requested by smus-mesh", min_length=1, max_length=4096)
    state: Literal["subscribed", "unsubscribed"] | None = Field(
        None,
        description=(
            "`unsubscribed`: `up` cancels the subscription and does not ask again. "
            "`subscribed`: `up` subscribes even after `smus-mesh unsubscribe`. Unset: "
            "subscribed, unless `smus-mesh unsubscribe` recorded otherwise."
        ),
    )


class CheckConfig(Strict):
    """SQL the consumer project runs with Athena. `{table}` placeholders name config tables
    and are replaced by the consumer's own database and table names, found in DataZone."""

    project: ProjectName
    sql: str = Field(min_length=1, max_length=MAX_SQL)
    name: str | None = Field(None, min_length=1, max_length=256)
    expect_row_count: int | None = Field(None, ge=0)
    expect_rows: list[list[Any]] | None = Field(None, max_length=MAX_ROWS)

    @field_validator("sql")
    @classmethod
    def _one_read_only_query(cls, value: str) -> str:
        return check_sql(value)


class Config(Strict):
    """The whole collaboration."""

    version: Literal[1] = 1
    name: SetupName = Field(description="Set-up name: tags and names of what smus-mesh creates.")
    region: Region
    accounts: dict[Alias, AccountConfig] = Field(min_length=1, max_length=100)
    domain: DomainConfig
    tables: list[TableConfig] = Field(default_factory=list)
    projects: list[ProjectConfig] = Field(min_length=1)
    subscriptions: list[SubscriptionConfig] = Field(default_factory=list)
    checks: list[CheckConfig] = Field(default_factory=list)
    settings: dict[str, Any] = Field(default_factory=dict)

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        return check_region(value)

    # lookups ------------------------------------------------------------------
    def table(self, name: str) -> TableConfig:
        return next(t for t in self.tables if t.name == name)

    def project(self, name: str) -> ProjectConfig:
        return next(p for p in self.projects if p.name == name)

    def account_id(self, alias: str) -> str:
        return self.accounts[alias].account_id

    @property
    def domain_account(self) -> str:
        return self.domain.account

    def producer_of(self, table: str) -> ProjectConfig:
        return next(p for p in self.projects if table in p.imports)

    def used_accounts(self) -> list[str]:
        """Aliases of the accounts the set-up touches, the domain account first."""
        aliases = [self.domain.account]
        for alias in [p.account for p in self.projects] + [t.account for t in self.tables]:
            if alias not in aliases:
                aliases.append(alias)
        return aliases

    def resolved_settings(self) -> Settings:
        return Settings.load(self.settings)

    @model_validator(mode="after")
    def _references(self) -> Config:
        problems = _cross_reference_problems(self)
        if problems:
            raise _CrossReferenceErrors(problems)
        return self


class _CrossReferenceErrors(ValueError):
    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{p}: {m}" for p, m in problems))
        self.problems = problems


def _unique(items: list[str], path: str, what: str) -> list[tuple[str, str]]:
    seen: set[str] = set()
    problems = []
    for i, item in enumerate(items):
        if item in seen:
            problems.append((f"{path}[{i}]", f"duplicate {what} {item!r}"))
        seen.add(item)
    return problems


def _cross_reference_problems(config: Config) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    accounts = config.accounts
    ids = [a.account_id for a in accounts.values()]
    problems += _unique(ids, "accounts", "account_id")
    if config.domain.account not in accounts:
        problems.append(("domain.account", f"unknown account {config.domain.account!r}"))
    problems += _unique([t.name for t in config.tables], "tables", "table name")
    problems += _unique(
        [f"{t.account}/{t.database}.{t.table}" for t in config.tables], "tables", "Glue table"
    )
    problems += _unique([p.name for p in config.projects], "projects", "project name")
    tables = {t.name: t for t in config.tables}
    projects = {p.name: p for p in config.projects}
    for i, table in enumerate(config.tables):
        if table.account not in accounts:
            problems.append((f"tables[{i}].account", f"unknown account {table.account!r}"))
    importers: dict[str, str] = {}
    for i, project in enumerate(config.projects):
        if project.account not in accounts:
            problems.append((f"projects[{i}].account", f"unknown account {project.account!r}"))
        problems += _unique(
            [f"{'user' if m.user else 'group'}:{m.identifier}" for m in project.members],
            f"projects[{i}].members",
            "member",
        )
        for j, member in enumerate(project.members):
            if member.group and not config.domain.joined and config.domain.auth == "iam":
                problems.append(
                    (
                        f"projects[{i}].members[{j}].group",
                        "groups are members only in a domain with auth: iam_identity_center",
                    )
                )
        if project.profile is not None and not config.domain.joined:
            problems.append(
                (
                    f"projects[{i}].profile",
                    "an existing project profile needs a joined domain (domain.id, or "
                    "domain.existing: true); a domain smus-mesh creates has no profiles yet",
                )
            )
        elif project.profile is not None and project.existing:
            problems.append(
                (
                    f"projects[{i}].profile",
                    "an existing project has its profile already: drop profile (or existing)",
                )
            )
        if project.existing and not config.domain.joined:
            problems.append(
                (
                    f"projects[{i}].existing",
                    "an existing project needs a joined domain (domain.id, or domain.existing: "
                    "true); a domain smus-mesh creates has no projects yet",
                )
            )
        for j, name in enumerate(project.imports):
            path = f"projects[{i}].imports[{j}]"
            if name not in tables:
                problems.append((path, f"unknown table {name!r}; tables are {sorted(tables)}"))
                continue
            if tables[name].account != project.account:
                problems.append(
                    (
                        path,
                        f"table {name!r} is in account {tables[name].account!r}; a project "
                        f"imports only tables of its own account ({project.account!r})",
                    )
                )
            if name in importers:
                problems.append(
                    (path, f"table {name!r} is already imported by {importers[name]!r}")
                )
            importers.setdefault(name, project.name)
        for k, rule in enumerate(project.approval.rules):
            if rule.consumer_project != "*" and rule.consumer_project not in projects:
                problems.append(
                    (
                        f"projects[{i}].approval.rules[{k}].consumer_project",
                        f"unknown project {rule.consumer_project!r}",
                    )
                )
            if rule.table != "*" and rule.table not in project.imports:
                problems.append(
                    (
                        f"projects[{i}].approval.rules[{k}].table",
                        f"{rule.table!r} is not imported by project {project.name!r}",
                    )
                )
    for i, sub in enumerate(config.subscriptions):
        if sub.project not in projects:
            problems.append((f"subscriptions[{i}].project", f"unknown project {sub.project!r}"))
            continue
        for j, name in enumerate(sub.tables):
            path = f"subscriptions[{i}].tables[{j}]"
            if name not in importers:
                problems.append((path, f"table {name!r} is not imported by any project"))
            elif importers[name] == sub.project:
                problems.append((path, f"project {sub.project!r} owns {name!r} already"))
    problems += _unique(
        [f"{s.project}/{t}" for s in config.subscriptions for t in s.tables],
        "subscriptions",
        "subscription",
    )
    subscribed = {(s.project, t) for s in config.subscriptions for t in s.tables}
    for i, check in enumerate(config.checks):
        if check.project not in projects:
            problems.append((f"checks[{i}].project", f"unknown project {check.project!r}"))
            continue
        for name in PLACEHOLDER.findall(check.sql):
            if (check.project, name) not in subscribed and name not in projects[
                check.project
            ].imports:
                problems.append(
                    (
                        f"checks[{i}].sql",
                        f"{{{name}}} is not a table project {check.project!r} subscribes to",
                    )
                )
        both = check.expect_rows is not None and check.expect_row_count is not None
        if both and len(check.expect_rows or []) != check.expect_row_count:
            problems.append((f"checks[{i}]", "expect_rows and expect_row_count disagree"))
    try:
        Settings.load(config.settings)
    except ValidationError as exc:
        problems += [(f"settings.{_path(e['loc'])}", _message(e)) for e in exc.errors()]
    return problems


#: What a pattern-constrained field expects, in words (pydantic prints the regex).
PATTERN_HINTS = {
    ACCOUNT_ID_PATTERN: 'a 12-digit AWS account id, quoted ("111122223333")',
    ROLE_ARN_PATTERN: ("an IAM role ARN like arn:aws:iam::111122223333:role/Name"),
    r"^[a-z][a-z0-9-]{0,22}[a-z0-9]$": (
        "2-24 characters: lower-case letters, digits and dashes, starting with a letter"
    ),
    r"^[A-Za-z][A-Za-z0-9_-]{0,63}$": (
        "a name of letters, digits, '_' or '-', starting with a letter"
    ),
    r"^[a-z0-9_]{1,255}$": "a Glue name: lower-case letters, digits and underscores",
    r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$": "an S3 URI like s3://bucket/prefix/",
    r"^[a-z]{2}(-[a-z]+)+-[0-9]$": "an AWS region like eu-west-1",
    r"^vpc-[0-9a-f]+$": "a VPC id like vpc-0123456789abcdef0",
    r"^subnet-[0-9a-f]+$": "a subnet id like subnet-0123456789abcdef0",
    DOMAIN_ID_PATTERN: "a DataZone domain id like dzd_4p9n6sw4qt9xgn",
    PROFILE_ID_PATTERN: "a project profile id: 1-36 letters, digits, '_' or '-'",
}


def _message(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown field (check the spelling; `smus-mesh schema` lists fields)"
    if error["type"] == "missing":
        return "required field is missing"
    value = error.get("input")
    if (
        error["type"] == "string_type"
        and isinstance(value, int | float)
        and not isinstance(value, bool)
    ):
        # YAML reads an unquoted account id (or any digits) as a number.
        return f'expected a string, got the number {shown(value)}: quote it ("{value}")'
    if error["type"] == "string_pattern_mismatch":
        pattern = error.get("ctx", {}).get("pattern", "")
        hint = PATTERN_HINTS.get(pattern, f"a value matching {pattern}")
        return f"expected {hint}, got {shown(error.get('input'))}"
    return str(error["msg"]).removeprefix("Value error, ")[:1000]


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, str) and len(part) > 64:
            part = part[:64] + "..."  # an unknown key of a megabyte is not echoed
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_config(data: Any, source: str = "<config>") -> Config:
    """Validate already-loaded YAML data; raise ConfigError with every problem."""
    if not isinstance(data, dict):
        raise ConfigError(source, [("(top level)", "expected a mapping of settings")])
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems: list[tuple[str, str]] = []
        for error in exc.errors():
            context = error.get("ctx", {}).get("error")
            if isinstance(context, _CrossReferenceErrors):
                problems += context.problems
                continue
            problems.append((_path(error["loc"]) or "(top level)", _message(error)))
        raise ConfigError(source, problems) from None


def load_config(path: str | Path) -> Config:
    """Read (within the limits of `config_file`) and validate a config file."""
    return parse_config(load_yaml_file(path), str(path))


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the config file (what `smus-mesh schema` prints)."""
    schema = Config.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "smus-mesh configuration"
    return schema
