"""ADR 5 points 11-16, probed through Athena (the `athena` phase of verify-aws).

As smus-mesh's principal in the domain account (a data lake administrator there for the
run), in a database of its own under the verification bucket: CREATE DATABASE and
CREATE EXTERNAL TABLE, a CREATE TABLE without EXTERNAL, one INSERT, a statement that
does not parse and a division by zero; then the table's Glue shape, the creator's Lake
Formation grants and the INSERT's objects are read. A consumer project role's INSERT
through its resource link is tried too. The database is dropped whatever happens (audit
does not know it).
"""

from __future__ import annotations

import gzip
import re
from typing import Any

from botocore.exceptions import ClientError

from smus_mesh.collaboration import Collaboration, ConsumerAccess
from smus_mesh.errors import Interrupted
from smus_mesh.verify.checks import Checks
from smus_mesh.verify.observe import Reader, error_of
from smus_mesh.verify.report import Check

#: ADR 5 point 16: `<yyyyMMdd_HHmmss>_<n>_<id>_<uuid>` (a suffix may follow).
ATHENA_OBJECT = re.compile(
    r"^\d{8}_\d{6}_\d+_[A-Za-z0-9]+_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)
GZIP_MAGIC = b"\x1f\x8b"


class AthenaProbe:
    """The Athena probes of one verification set-up."""

    def __init__(self, checks: Checks) -> None:
        self.reader = checks.reader
        self.producer_alias = checks.producer_alias
        self.table = checks.table

    def athena_probe(self, caller_arn: str, consumer_insert: dict[str, Any] | None) -> list[Check]:
        """Points 11, 12, 14, 15, 16 (13 in part): DDL, INSERT and errors through Athena as
        smus-mesh's principal in the producer account, in a database of its own."""
        reader = self.reader
        alias = self.producer_alias
        athena = reader.client(alias, "athena")
        bucket = self.table.bucket
        database = f"{self.table.database}_athena"
        location = f"s3://{bucket}/athena-probe/"
        output = f"s3://{bucket}/athena-results/"
        principal = _principal_of(caller_arn)

        def run(sql: str) -> dict[str, Any]:
            reader.workspace.stop.check_not_stopping()
            return reader.run_athena(athena, sql, output, WorkGroup="primary")

        runs: dict[str, dict[str, Any]] = {}
        checks: list[Check] = []
        try:
            runs["create_database"] = run(f"CREATE DATABASE {database} LOCATION '{location}'")
            runs["create_table"] = run(
                f"CREATE EXTERNAL TABLE {database}.probe (id int, label string) "
                "ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' "
                f"LOCATION '{location}probe/' TBLPROPERTIES ('skip.header.line.count'='1')"
            )
            runs["create_managed_table"] = run(
                f"CREATE TABLE {database}.managed (id int) LOCATION '{location}managed/'"
            )
            # Names are the set-up's own Glue names (validated [a-z0-9_]), never input.
            runs["insert"] = run(f"INSERT INTO {database}.probe VALUES (1, 'alpha')")  # noqa: S608
            runs["parse_error"] = run(f"SELECT id FROM {database}.probe WHERE")  # noqa: S608
            runs["division_by_zero"] = run("SELECT 1 % 0")
            # Trino's integer division: evidence only (not an ADR 5 point).
            runs["integer_division"] = run("SELECT 7 / 2 AS q, 1 / 0 AS z")
            created = (
                runs["create_database"]["state"] == "SUCCEEDED"
                and runs["create_table"]["state"] == "SUCCEEDED"
            )
            table = reader.glue_table(alias, database, "probe") if created else None
            checks.append(self._creators(runs, principal, database, table is not None))
            checks.append(self._hive(runs, table))
            checks.append(self._trino(runs))
            checks.append(self._objects(runs, bucket, "athena-probe/probe/"))
            checks.append(self._insert_permissions(runs, consumer_insert))
            checks.append(self._ddl_permissions(runs))
        finally:
            # Also after Ctrl-C: audit does not know this database, so it goes here.
            runs.update(self._drop_probe(athena, database, output))
        for check in checks:
            check.evidence["cleanup"] = {
                k: runs[k] for k in ("drop_table", "drop_database", "database_left")
            }
        return checks

    def _drop_probe(self, athena: Any, database: str, output: str) -> dict[str, Any]:
        """DROP the probe's table and database (the first Ctrl-C does not stop them: only
        a second one does), then make sure with Glue that the database is gone."""
        reader, alias = self.reader, self.producer_alias
        done: dict[str, Any] = {}
        statements = {
            "drop_table": f"DROP TABLE IF EXISTS {database}.probe",
            "drop_database": f"DROP DATABASE IF EXISTS {database} CASCADE",
        }
        for key, sql in statements.items():
            try:
                done[key] = reader.run_athena(athena, sql, output, WorkGroup="primary")
            except Interrupted:
                done[key] = {"sql": sql, "state": "not run (Ctrl-C)"}
        try:
            if reader.glue_database_exists(alias, database):
                reader.client(alias, "glue").delete_database(Name=database)
            done["database_left"] = reader.glue_database_exists(alias, database)
        except ClientError as exc:
            done["database_left"] = {"unknown": error_of(exc)}
        return done

    def _creators(
        self, runs: dict[str, Any], principal: str, database: str, created: bool
    ) -> Check:
        evidence: dict[str, Any] = {
            "principal": principal,
            "statements": {k: runs[k] for k in ("create_database", "create_table")},
        }
        if not created:
            return Check(
                11,
                "could-not-check",
                "Athena did not create the probe database and table",
                evidence,
            )
        on_database = self.reader.lf_permissions(
            self.producer_alias, Resource={"Database": {"Name": database}}
        )
        on_table = self.reader.lf_permissions(
            self.producer_alias, Resource={"Table": {"DatabaseName": database, "Name": "probe"}}
        )
        evidence.update(database_permissions=on_database, table_permissions=on_table)
        mine_db = [e for e in on_database if _same_principal(e["principal"], principal)]
        mine_table = [e for e in on_table if _same_principal(e["principal"], principal)]
        if any("ALL" in e["permissions"] for e in mine_db) and any(
            "ALL" in e["permissions"] for e in mine_table
        ):
            return Check(
                11,
                "pass",
                "the creator holds ALL on the database and the table, listed by ListPermissions",
                evidence,
            )
        return Check(
            11,
            "differs",
            f"ListPermissions shows the creator {mine_db and mine_db[0]['permissions']} on the "
            f"database and {mine_table and mine_table[0]['permissions']} on the table, not ALL",
            evidence,
        )

    def _hive(self, runs: dict[str, Any], table: dict[str, Any] | None) -> Check:
        managed = runs["create_managed_table"]
        evidence: dict[str, Any] = {"create_table_without_external": managed}
        if table is None:
            return Check(14, "could-not-check", "the probe table was not created", evidence)
        storage = table.get("StorageDescriptor", {})
        parameters = table.get("Parameters", {})
        shape = {
            "TableType": table.get("TableType"),
            "Owner": table.get("Owner"),
            "Parameters": parameters,
            "SerdeInfo": storage.get("SerdeInfo"),
            "InputFormat": storage.get("InputFormat"),
            "OutputFormat": storage.get("OutputFormat"),
            "has_transient_lastDdlTime": "transient_lastDdlTime" in parameters,
        }
        evidence["table"] = shape
        serde = (storage.get("SerdeInfo") or {}).get("Parameters", {})
        problems = []
        if shape["TableType"] != "EXTERNAL_TABLE":
            problems.append(f"TableType {shape['TableType']}")
        if shape["Owner"] != "hadoop":
            problems.append(f"Owner {shape['Owner']}")
        if str(parameters.get("EXTERNAL", "")).upper() != "TRUE":
            problems.append(f"EXTERNAL={parameters.get('EXTERNAL')}")
        if parameters.get("skip.header.line.count") != "1":
            problems.append("TBLPROPERTIES not in Parameters")
        if serde.get("serialization.format") != ",":
            problems.append(f"serialization.format {serde.get('serialization.format')!r}")
        if managed["state"] not in ("FAILED", "REFUSED"):
            problems.append(f"CREATE TABLE without EXTERNAL was {managed['state']}")
        if problems:
            return Check(14, "differs", "; ".join(problems), evidence)
        return Check(
            14,
            "pass",
            "EXTERNAL_TABLE, Owner hadoop, EXTERNAL=TRUE with the TBLPROPERTIES, "
            "serialization.format ','; CREATE TABLE without EXTERNAL refused"
            + ("; AWS adds transient_lastDdlTime" if shape["has_transient_lastDdlTime"] else ""),
            evidence,
        )

    def _trino(self, runs: dict[str, Any]) -> Check:
        parse, division = runs["parse_error"], runs["division_by_zero"]
        evidence = {
            "parse_error": parse,
            "division_by_zero": division,
            "integer_division": runs["integer_division"],
        }
        parse_text = " ".join(str(parse.get(k) or "") for k in ("reason", "error_message")) + str(
            (parse.get("error") or {}).get("message", "")
        )
        division_text = " ".join(str(division.get(k) or "") for k in ("reason", "error_message"))
        problems = []
        if not re.search(r"line \d+:\d+: mismatched input", parse_text):
            problems.append(f"the parse error reads {parse_text.strip()[:200]!r}")
        if "DIVISION_BY_ZERO" not in division_text:
            problems.append(f"1 % 0 ended {division['state']} {division_text.strip()[:200]!r}")
        if problems:
            return Check(15, "differs", "; ".join(problems), evidence)
        return Check(
            15,
            "pass",
            "`line L:C: mismatched input` for a statement that does not parse; "
            "DIVISION_BY_ZERO for 1 % 0",
            evidence,
        )

    def _objects(self, runs: dict[str, Any], bucket: str, prefix: str) -> Check:
        insert = runs["insert"]
        evidence: dict[str, Any] = {"insert": insert}
        if insert["state"] != "SUCCEEDED":
            return Check(16, "could-not-check", f"INSERT INTO was {insert['state']}", evidence)
        s3 = self.reader.client(self.producer_alias, "s3")
        keys = [
            o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        ]
        evidence["objects"] = keys
        data = [k for k in keys if not k.endswith("-manifest.csv")]
        if len(data) != 1:
            return Check(16, "differs", f"{len(data)} objects for one INSERT: {data}", evidence)
        body = s3.get_object(Bucket=bucket, Key=data[0])["Body"].read()
        gzipped = body[:2] == GZIP_MAGIC
        text = (
            gzip.decompress(body).decode("utf-8", "replace")
            if gzipped
            else body.decode("utf-8", "replace")
        )
        name = data[0].rsplit("/", 1)[-1]
        evidence.update(
            name=name,
            gzip=gzipped,
            first_line=text.splitlines()[0] if text else "",
            lines=len(text.splitlines()),
        )
        problems = []
        if not ATHENA_OBJECT.match(name):
            problems.append(f"object named {name}")
        if not gzipped:
            problems.append("not GZIP-compressed")
        if problems:
            return Check(16, "differs", "; ".join(problems), evidence)
        header = "with a header line" if evidence["lines"] == 2 else f"{evidence['lines']} line(s)"
        return Check(
            16,
            "pass",
            f"one GZIP object named like {name} ({header}); manifest {insert.get('manifest')}",
            evidence,
        )

    def _insert_permissions(
        self, runs: dict[str, Any], consumer_insert: dict[str, Any] | None
    ) -> Check:
        evidence: dict[str, Any] = {
            "creator_insert": runs["insert"],
            "consumer_insert": consumer_insert,
        }
        if consumer_insert is None:
            return Check(12, "could-not-check", "the consumer's INSERT was not tried", evidence)
        if consumer_insert["state"] in ("FAILED", "REFUSED"):
            return Check(
                12,
                "pass",
                "INSERT INTO the producer's table through a consumer's resource link (SELECT "
                "only) is refused; the creator (ALL) inserts. Not probed: a principal of the "
                "table's own account without INSERT",
                evidence,
            )
        return Check(
            12,
            "differs",
            "a consumer holding SELECT only could INSERT INTO the shared table "
            f"({consumer_insert['state']})",
            evidence,
        )

    def _ddl_permissions(self, runs: dict[str, Any]) -> Check:
        return Check(
            13,
            "could-not-check",
            "the refusals of DDL without CREATE_TABLE, DATA_LOCATION_ACCESS or DROP need a "
            "principal without those grants; this version probes DDL only as a data lake "
            "administrator (CREATE/DROP DATABASE and TABLE succeeded: "
            + ", ".join(f"{k} {runs[k]['state']}" for k in ("create_database", "create_table"))
            + ")",
            {k: runs[k] for k in ("create_database", "create_table")},
        )


def _same_principal(listed: str | None, caller: str) -> bool:
    """Whether Lake Formation's `listed` principal is the caller's role: the same account
    and role name, whatever the path (a session ARN drops the role's path)."""
    if not listed:
        return False
    if listed == caller:
        return True
    pattern = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/(?:.*/)?([^/]+)$")
    a, b = pattern.match(listed), pattern.match(caller)
    return bool(a and b and a.groups() == b.groups())


def _principal_of(arn: str) -> str:
    """The IAM principal Lake Formation names for a caller: an assumed role's role ARN."""
    match = re.match(r"^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([^/]+)/", arn)
    if match:
        return f"arn:{match.group(1)}:iam::{match.group(2)}:role/{match.group(3)}"
    return arn


def consumer_insert(
    reader: Reader, collaboration: Collaboration, access: ConsumerAccess, target: tuple[str, str]
) -> dict[str, Any]:
    """A consumer project role's INSERT INTO the table it reads through its resource link
    (it holds SELECT and DESCRIBE only: ADR 5 point 12 expects a refusal)."""
    # The project role's credentials, from DataZone, held only by this client.
    athena = collaboration._project_client(access, "athena")
    # Names found in DataZone's grant (Glue names), not user input.
    sql = f'INSERT INTO "{target[0]}"."{target[1]}" VALUES (9, \'not-allowed\')'  # noqa: S608
    return reader.run_athena(
        athena,
        sql,
        WorkGroup=access.workgroup,
        QueryExecutionContext={"Database": access.database, "Catalog": "AwsDataCatalog"},
    )
