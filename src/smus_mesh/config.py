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

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from smus_mesh.errors import ConfigError
from smus_mesh.settings import Settings

AccountId = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
RoleArn = Annotated[
    str, StringConstraints(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
]
SetupName = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,22}[a-z0-9]$")
]  # goes into role and bucket names, so short and DNS-safe
Alias = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")]
GlueName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,255}$")]
S3Uri = Annotated[str, StringConstraints(pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$")]
Region = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")]

#: Glue column types the sample-data writer and the emulator's Athena understand.
_COLUMN_TYPE = re.compile(
    r"^(string|int|integer|bigint|smallint|tinyint|double|float|boolean|date|timestamp"
    r"|decimal\(\d{1,2},\s*\d{1,2}\))$"
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AccountConfig(Strict):
    """How to reach one account. One of: a named `profile`, a `role_arn` to assume
    (from `source_profile` or the default credentials), or neither (default chain)."""

    account_id: AccountId
    profile: str | None = None
    role_arn: RoleArn | None = None
    external_id: str | None = Field(None, min_length=2, max_length=1224)
    source_profile: str | None = None
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


class DomainConfig(Strict):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[\w -]+$")
    account: Alias
    description: str | None = Field(None, max_length=2048)
    auth: Literal["iam", "iam_identity_center"] = "iam"
    identity_center_instance_arn: str | None = Field(
        None, pattern=r"^arn:aws[a-z-]*:sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}$"
    )
    user_assignment: Literal["AUTOMATIC", "MANUAL"] = "AUTOMATIC"
    roles: DomainRoles = Field(default_factory=DomainRoles)

    @model_validator(mode="after")
    def _identity_center(self) -> DomainConfig:
        if self.auth == "iam_identity_center" and not self.identity_center_instance_arn:
            raise ValueError("auth: iam_identity_center needs identity_center_instance_arn")
        if self.auth == "iam" and self.identity_center_instance_arn:
            raise ValueError("identity_center_instance_arn is only for auth: iam_identity_center")
        return self


class ColumnConfig(Strict):
    name: GlueName
    type: str

    @field_validator("type")
    @classmethod
    def _glue_type(cls, value: str) -> str:
        if not _COLUMN_TYPE.match(value.lower()):
            raise ValueError(
                f"{value!r} is not a supported Glue type (string, int, bigint, double, "
                "boolean, date, timestamp, decimal(p,s), ...)"
            )
        return value.lower()


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
    columns: list[ColumnConfig] = Field(default_factory=list)
    rows: list[list[Any]] = Field(default_factory=list)

    @field_validator("location")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

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
        for i, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(f"rows[{i}] has {len(row)} values for {len(self.columns)} columns")
        if self.rows and not self.create:
            raise ValueError("rows are only written for tables smus-mesh creates (create: true)")
        return self


class ApprovalRule(Strict):
    """First matching rule decides. `*` matches anything; `requester` is an fnmatch pattern
    on the requesting principal's ARN."""

    decision: Literal["accept", "reject"]
    consumer_project: str = "*"
    table: str = "*"
    requester: str = "*"
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


class ProjectConfig(Strict):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[\w -]+$")
    account: Alias
    description: str | None = Field(None, max_length=2048)
    imports: list[Alias] = Field(default_factory=list)
    approval: ApprovalConfig = Field(default_factory=ApprovalConfig)


class SubscriptionConfig(Strict):
    project: str
    tables: list[Alias] = Field(min_length=1)
    reason: str = Field("Requested by smus-mesh", min_length=1, max_length=4096)


class CheckConfig(Strict):
    """SQL the consumer project runs with Athena. `{table}` placeholders name config tables
    and are replaced by the consumer's own database and table names, found in DataZone."""

    project: str
    sql: str = Field(min_length=1)
    name: str | None = None
    expect_row_count: int | None = Field(None, ge=0)
    expect_rows: list[list[Any]] | None = None


class Config(Strict):
    """The whole collaboration."""

    version: Literal[1] = 1
    name: SetupName = Field(description="Set-up name: tags and names of what smus-mesh creates.")
    region: Region
    accounts: dict[Alias, AccountConfig] = Field(min_length=1)
    domain: DomainConfig
    tables: list[TableConfig] = Field(default_factory=list)
    projects: list[ProjectConfig] = Field(min_length=1)
    subscriptions: list[SubscriptionConfig] = Field(default_factory=list)
    checks: list[CheckConfig] = Field(default_factory=list)
    settings: dict[str, Any] = Field(default_factory=dict)

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
        for name in re.findall(r"\{(\w[\w-]*)\}", check.sql):
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
    r"^\d{12}$": 'a 12-digit AWS account id, quoted ("111122223333")',
    r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$": (
        "an IAM role ARN like arn:aws:iam::111122223333:role/Name"
    ),
    r"^[a-z][a-z0-9-]{0,22}[a-z0-9]$": (
        "2-24 characters: lower-case letters, digits and dashes, starting with a letter"
    ),
    r"^[A-Za-z][A-Za-z0-9_-]{0,63}$": (
        "a name of letters, digits, '_' or '-', starting with a letter"
    ),
    r"^[a-z0-9_]{1,255}$": "a Glue name: lower-case letters, digits and underscores",
    r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$": "an S3 URI like s3://bucket/prefix/",
    r"^[a-z]{2}(-[a-z]+)+-\d$": "an AWS region like eu-west-1",
    r"^vpc-[0-9a-f]+$": "a VPC id like vpc-0123456789abcdef0",
    r"^subnet-[0-9a-f]+$": "a subnet id like subnet-0123456789abcdef0",
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
        return f'expected a string, got the number {value!r}: quote it ("{value}")'
    if error["type"] == "string_pattern_mismatch":
        pattern = error.get("ctx", {}).get("pattern", "")
        hint = PATTERN_HINTS.get(pattern, f"a value matching {pattern}")
        return f"expected {hint}, got {error.get('input')!r}"
    return str(error["msg"]).removeprefix("Value error, ")


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
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
    """Read and validate a config file."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(source, [("(file)", "file not found")]) from None
    except OSError as exc:
        raise ConfigError(source, [("(file)", exc.strerror or str(exc))]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(yaml)"
        raise ConfigError(
            source, [(where, f"not valid YAML: {getattr(exc, 'problem', exc)}")]
        ) from None
    return parse_config(data, source)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the config file (what `smus-mesh schema` prints)."""
    schema = Config.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "smus-mesh configuration"
    return schema
