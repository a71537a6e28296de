"""S3 buckets, sample data, and Glue databases and tables (workflow.md Phase B).

Ownership is written on the objects themselves, so `down` works without the
state file: buckets carry the set-up tag, Glue databases and tables a
`smus-mesh:setup` parameter, sample objects a metadata entry. Anything without
the mark existed before smus-mesh and is adopted, never deleted. New databases
are created with no default permissions for IAM_ALLOWED_PRINCIPALS, so their
tables are governed by Lake Formation only (DataZone cannot subscribe to tables
under IAM access control, workflow.md §4.5).
"""

from __future__ import annotations

import csv
import hashlib
import io
from typing import Any

from botocore.exceptions import ClientError

from smus_mesh.config import TableConfig
from smus_mesh.config_rules import ColumnType
from smus_mesh.errors import UserError, aws_code
from smus_mesh.resources.base import Observed, Resource, Status, register
from smus_mesh.resources.context import Context
from smus_mesh.resources.naming import Names

OWNER_METADATA = "smus-mesh-setup"
OWNER_ID_METADATA = "smus-mesh-setup-id"


@register
class S3Bucket(Resource):
    """A bucket: the Tooling blueprint's S3Location, or a table's data bucket.

    Example::

        tables:
          - {name: sales, account: producer, database: sales_db, table: orders,
             location: "s3://my-sales-data-111111111111/orders/", columns: [...]}
    """

    kind = "s3:bucket"
    iam_actions = (
        "s3:ListBucket",
        "s3:CreateBucket",
        "s3:PutBucketTagging",
        "s3:GetBucketTagging",
        "s3:PutBucketPublicAccessBlock",
        "s3:ListBucketVersions",
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
        "s3:DeleteBucket",
        "s3:GetBucketPublicAccessBlock",
    )
    updatable = True

    def __init__(self, bucket: str, account: str, depends_on: tuple[str, ...] = ()) -> None:
        super().__init__(bucket, account, depends_on)
        self.bucket = bucket

    def observe(self, ctx: Context) -> Observed:
        s3 = ctx.client(self.account, "s3")
        try:
            s3.head_bucket(Bucket=self.bucket, ExpectedBucketOwner=ctx.account_id(self.account))
        except ClientError as exc:
            if aws_code(exc) in ("404", "NoSuchBucket", "NotFound"):
                return Observed.absent(f"no bucket {self.bucket}")
            if aws_code(exc) in ("403", "AccessDenied"):
                return Observed(
                    Status.FAILED,
                    # HeadBucket's 403 has no body: AWS does not say which of the two.
                    detail=f"bucket name {self.bucket} is taken by another account, or "
                    "these credentials lack s3:ListBucket on it (403 on HeadBucket)",
                )
            raise
        try:
            tags = s3.get_bucket_tagging(Bucket=self.bucket)["TagSet"]
        except ClientError as exc:
            if aws_code(exc) != "NoSuchTagSet":
                raise
            tags = []
        owned = ctx.names.is_ours(tags)
        drift: tuple[str, ...] = ()
        if not owned and ctx.ownership.get(self.key):
            # Created by a run that stopped between CreateBucket and PutBucketTagging (the
            # state file remembers it): finish what `create` does after CreateBucket.
            owned = True
            drift = ("set-up tags missing",)
            if not self._public_access_blocked(s3):
                drift += ("public access not blocked",)
        return Observed(
            Status.COMPLETE,
            {"bucket": self.bucket, "arn": f"arn:aws:s3:::{self.bucket}"},
            detail="exists",
            owned=owned,
            drift=drift,
        )

    def _public_access_blocked(self, s3: Any) -> bool:
        try:
            settings = s3.get_public_access_block(Bucket=self.bucket)
        except ClientError as exc:
            if aws_code(exc) != "NoSuchPublicAccessBlockConfiguration":
                raise
            return False
        return all(settings["PublicAccessBlockConfiguration"].values())

    def create(self, ctx: Context) -> dict[str, Any]:
        s3 = ctx.client(self.account, "s3")
        kwargs: dict[str, Any] = {"Bucket": self.bucket}
        if ctx.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": ctx.region}
        s3.create_bucket(**kwargs)
        self._finish(ctx, s3)
        return {"bucket": self.bucket, "arn": f"arn:aws:s3:::{self.bucket}"}

    def update(self, ctx: Context, observed: Observed) -> None:
        # Only what is missing: a run killed after the public access block must not
        # write it again (each rerun would otherwise start with the same call).
        blocked = "public access not blocked" not in observed.drift
        self._finish(ctx, ctx.client(self.account, "s3"), block_public_access=not blocked)

    def _finish(self, ctx: Context, s3: Any, block_public_access: bool = True) -> None:
        """Block public access, then tag it as the set-up's (the tag comes last, so a
        tagged bucket is a finished one)."""
        if block_public_access:
            self._block_public_access(s3)
        s3.put_bucket_tagging(Bucket=self.bucket, Tagging={"TagSet": ctx.names.iam_tags()})

    def _block_public_access(self, s3: Any) -> None:
        s3.put_public_access_block(
            Bucket=self.bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )

    def delete(self, ctx: Context, observed: Observed) -> None:
        empty_and_delete_bucket(ctx.client(self.account, "s3"), self.bucket)


def delete_prefix(s3: Any, bucket: str, prefix: str) -> None:
    """Delete every object version and delete marker under `prefix/` (nothing else)."""
    prefix = prefix.strip("/") + "/"
    try:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
            victims = [
                {"Key": item["Key"], "VersionId": item["VersionId"]}
                for item in page.get("Versions", []) + page.get("DeleteMarkers", [])
                if item["Key"].startswith(prefix)
            ]
            for start in range(0, len(victims), 1000):
                s3.delete_objects(
                    Bucket=bucket, Delete={"Objects": victims[start : start + 1000], "Quiet": True}
                )
    except ClientError as exc:
        if aws_code(exc) not in ("NoSuchBucket", "404"):
            raise


def empty_and_delete_bucket(s3: Any, bucket: str) -> None:
    """Delete every object version and delete marker, then the bucket."""
    try:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            victims = [
                {"Key": item["Key"], "VersionId": item["VersionId"]}
                for item in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            for start in range(0, len(victims), 1000):
                s3.delete_objects(
                    Bucket=bucket, Delete={"Objects": victims[start : start + 1000], "Quiet": True}
                )
        s3.delete_bucket(Bucket=bucket)
    except ClientError as exc:
        if aws_code(exc) not in ("NoSuchBucket", "404"):
            raise


def render_rows(table: TableConfig) -> bytes:
    """The sample rows in the table's format (CSV with a header line, or Parquet)."""
    if table.format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([c.name for c in table.columns])
        writer.writerows(table.rows)
        return buffer.getvalue().encode()
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = {}
    for index, column in enumerate(table.columns):
        arrays[column.name] = pa.array(
            [row[index] for row in table.rows], type=_arrow_type(column.type)
        )
    sink = io.BytesIO()
    pq.write_table(pa.table(arrays), sink)
    return sink.getvalue()


def _arrow_type(glue_type: str) -> Any:
    """The Arrow type of a Glue column type (the config has parsed each row value into
    the matching Python value: int, float, Decimal, date, datetime, bool or str)."""
    import pyarrow as pa

    column_type = ColumnType.parse(glue_type)
    if column_type.name == "decimal":
        return pa.decimal128(column_type.precision, column_type.scale)
    return {
        "string": pa.string(),
        "int": pa.int32(),
        "integer": pa.int32(),
        "bigint": pa.int64(),
        "smallint": pa.int16(),
        "tinyint": pa.int8(),
        "double": pa.float64(),
        "float": pa.float32(),
        "boolean": pa.bool_(),
        "date": pa.date32(),
        "timestamp": pa.timestamp("ms"),
    }[glue_type]


def _columns(columns: list[tuple[str, str]]) -> str:
    return ", ".join(f"{name} {kind}" for name, kind in columns) or "none"


@register
class SampleData(Resource):
    """The sample rows of a table smus-mesh creates, as one object under its location.

    Example::

        tables:
          - {name: inventory, ..., format: csv, rows: [["A-1", 3], ["B-2", 5]]}
    """

    kind = "s3:sample-data"
    iam_actions = ("s3:GetObject", "s3:PutObject", "s3:DeleteObject")
    updatable = True

    def __init__(self, table: TableConfig, depends_on: tuple[str, ...]) -> None:
        super().__init__(table.name, table.account, depends_on)
        self.table = table
        extension = "csv" if table.format == "csv" else "parquet"
        self.object_key = f"{table.prefix}part-00000.{extension}"

    def _body(self) -> bytes:
        return render_rows(self.table)

    def observe(self, ctx: Context) -> Observed:
        s3 = ctx.client(self.account, "s3")
        try:
            head = s3.head_object(Bucket=self.table.bucket, Key=self.object_key)
        except ClientError as exc:
            if aws_code(exc) in ("404", "NoSuchKey", "NotFound", "NoSuchBucket"):
                return Observed.absent(f"no {self.object_key}")
            raise
        metadata = head.get("Metadata", {})
        owned = ctx.names.owns_marks(metadata, OWNER_METADATA, OWNER_ID_METADATA)
        digest = metadata.get("sha256")
        body = self._body()
        drift: tuple[str, ...] = ()
        if digest != hashlib.sha256(body).hexdigest():
            # The object keeps only a digest and its size of the rows it was written with.
            drift = (
                f"rows: {head.get('ContentLength', '?')} bytes (sha256 {str(digest)[:12]}) -> "
                f"{len(self.table.rows)} rows, {len(body)} bytes "
                f"(sha256 {hashlib.sha256(body).hexdigest()[:12]})",
            )
        return Observed(
            Status.COMPLETE,
            {"bucket": self.table.bucket, "key": self.object_key},
            detail="written",
            owned=owned,
            drift=drift if owned else (),
        )

    def create(self, ctx: Context) -> dict[str, Any]:
        body = self._body()
        ctx.client(self.account, "s3").put_object(
            Bucket=self.table.bucket,
            Key=self.object_key,
            Body=body,
            Metadata={
                **ctx.names.marks(OWNER_METADATA, OWNER_ID_METADATA),
                "sha256": hashlib.sha256(body).hexdigest(),
            },
        )
        return {"bucket": self.table.bucket, "key": self.object_key}

    def update(self, ctx: Context, observed: Observed) -> None:
        self.create(ctx)

    def delete(self, ctx: Context, observed: Observed) -> None:
        ctx.client(self.account, "s3").delete_object(Bucket=self.table.bucket, Key=self.object_key)


@register
class GlueDatabase(Resource):
    """A table's Glue database (created Lake-Formation-only, or an existing one adopted).

    Example::

        tables:
          - {name: inventory, account: producer, database: retail, table: inventory, ...}
    """

    kind = "glue:database"
    iam_actions = (
        "glue:GetDatabase",
        "glue:CreateDatabase",
        "glue:GetTables",
        "glue:DeleteTable",
        "glue:DeleteDatabase",
    )

    def __init__(
        self, account: str, database: str, existing: bool, depends_on: tuple[str, ...] = ()
    ) -> None:
        super().__init__(f"{account}/{database}", account, depends_on)
        self.database = database
        self.existing = existing

    def observe(self, ctx: Context) -> Observed:
        glue = ctx.client(self.account, "glue")
        try:
            database = glue.get_database(Name=self.database)["Database"]
        except ClientError as exc:
            if aws_code(exc) == "EntityNotFoundException":
                return Observed.absent(f"no database {self.database}")
            raise
        return Observed(
            Status.COMPLETE,
            {"name": self.database, "catalog_id": ctx.account_id(self.account)},
            detail="exists",
            owned=ctx.names.owns_parameters(database.get("Parameters")),
        )

    def create(self, ctx: Context) -> dict[str, Any]:
        if self.existing:
            raise UserError(
                f"{self.key}: Glue database {self.database} does not exist in account "
                f"{ctx.account_id(self.account)} (the config says create: false)"
            )
        ctx.client(self.account, "glue").create_database(
            DatabaseInput={
                "Name": self.database,
                "Description": f"Created by smus-mesh for set-up {ctx.names.setup}",
                "Parameters": ctx.names.parameters(),
                # No IAM_ALLOWED_PRINCIPALS defaults: Lake Formation governs the tables.
                "CreateTableDefaultPermissions": [],
            }
        )
        return {"name": self.database, "catalog_id": ctx.account_id(self.account)}

    def delete(self, ctx: Context, observed: Observed) -> str:
        return delete_database(ctx.client(self.account, "glue"), self.database, ctx.names)


#: How many of the tables that keep a database `down` names (the rest are counted).
NAMED_TABLES = 3


def database_tables(glue: Any, database: str, names: Names) -> tuple[list[str], list[str]]:
    """The tables (and resource links) of `database`: (this set-up's, the others), each
    sorted; this set-up's carry its parameters."""
    ours: list[str] = []
    others: list[str] = []
    for page in glue.get_paginator("get_tables").paginate(DatabaseName=database):
        for table in page["TableList"]:
            mine = names.owns_parameters(table.get("Parameters"))
            (ours if mine else others).append(table["Name"])
    return sorted(ours), sorted(others)


def delete_database(glue: Any, database: str, names: Names) -> str:
    """Delete a database of this set-up, unless it holds tables that are not this
    set-up's: DeleteDatabase deletes every table in it (ADR 50). Such a database is kept,
    with only this set-up's tables deleted from it. Returns why it was kept, "" when it
    was deleted (or was already gone)."""
    try:
        ours, others = database_tables(glue, database, names)
        if not others:
            glue.delete_database(Name=database)
            return ""
    except ClientError as exc:
        if aws_code(exc) != "EntityNotFoundException":
            raise
        return ""
    for table in ours:
        try:
            glue.delete_table(DatabaseName=database, Name=table)
        except ClientError as exc:
            if aws_code(exc) != "EntityNotFoundException":
                raise
    named = ", ".join(others[:NAMED_TABLES])
    if len(others) > NAMED_TABLES:
        named += f" and {len(others) - NAMED_TABLES} more"
    return (
        f"kept: it holds {len(others)} table(s) that are not this set-up's ({named}), which "
        "DeleteDatabase would delete with it"
    )


@register
class GlueTable(Resource):
    """A Glue table over the table's S3 location (CSV or Parquet).

    Example::

        tables:
          - name: inventory
            account: producer
            database: retail
            table: inventory
            location: s3://smus-mesh-demo-retail-111111111111/inventory/
            format: csv
            columns: [{name: sku, type: string}, {name: quantity, type: int}]
    """

    kind = "glue:table"
    iam_actions = (
        "glue:GetTable",
        "glue:CreateTable",
        "glue:UpdateTable",
        "glue:DeleteTable",
    )
    updatable = True

    def __init__(self, table: TableConfig, depends_on: tuple[str, ...]) -> None:
        super().__init__(table.name, table.account, depends_on)
        self.table = table

    def stands_for(self) -> tuple[Any, ...]:
        return (self.table.account, self.table.database, self.table.table)

    def _input(self, ctx: Context) -> dict[str, Any]:
        table = self.table
        if table.format == "csv":
            formats = {
                "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
                "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                "SerdeInfo": {
                    "SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
                    "Parameters": {"field.delim": ","},
                },
            }
            parameters = {"classification": "csv", "skip.header.line.count": "1"}
        else:
            formats = {
                "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                "SerdeInfo": {
                    "SerializationLibrary": (
                        "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
                    )
                },
            }
            parameters = {"classification": "parquet"}
        parameters.update(ctx.names.parameters())
        return {
            "Name": table.table,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": parameters,
            "StorageDescriptor": {
                "Columns": [{"Name": c.name, "Type": c.type} for c in table.columns],
                "Location": table.location,
                **formats,
            },
        }

    def _identity(self, ctx: Context) -> dict[str, Any]:
        account_id = ctx.account_id(self.account)
        return {
            "database": self.table.database,
            "table": self.table.table,
            "catalog_id": account_id,
            "arn": f"arn:aws:glue:{ctx.region}:{account_id}:table/"
            f"{self.table.database}/{self.table.table}",
            "location": self.table.location,
        }

    def observe(self, ctx: Context) -> Observed:
        glue = ctx.client(self.account, "glue")
        try:
            table = glue.get_table(DatabaseName=self.table.database, Name=self.table.table)["Table"]
        except ClientError as exc:
            if aws_code(exc) == "EntityNotFoundException":
                return Observed.absent(f"no table {self.table.database}.{self.table.table}")
            raise
        owned = ctx.names.owns_parameters(table.get("Parameters"))
        drift: tuple[str, ...] = ()
        if owned:
            columns = [
                (c["Name"], c["Type"])
                for c in table.get("StorageDescriptor", {}).get("Columns", [])
            ]
            wanted = [(c.name, c.type) for c in self.table.columns]
            if columns != wanted:
                drift = (f"columns: {_columns(columns)} -> {_columns(wanted)}",)
        identity = self._identity(ctx)
        identity["location"] = table.get("StorageDescriptor", {}).get("Location", "")
        return Observed(Status.COMPLETE, identity, detail="exists", owned=owned, drift=drift)

    def create(self, ctx: Context) -> dict[str, Any]:
        if not self.table.create:
            raise UserError(
                f"{self.key}: Glue table {self.table.database}.{self.table.table} does not exist "
                f"in account {ctx.account_id(self.account)} (the config says create: false)"
            )
        ctx.client(self.account, "glue").create_table(
            DatabaseName=self.table.database, TableInput=self._input(ctx)
        )
        return self._identity(ctx)

    def update(self, ctx: Context, observed: Observed) -> None:
        ctx.client(self.account, "glue").update_table(
            DatabaseName=self.table.database, TableInput=self._input(ctx)
        )

    def delete(self, ctx: Context, observed: Observed) -> None:
        try:
            ctx.client(self.account, "glue").delete_table(
                DatabaseName=self.table.database, Name=self.table.table
            )
        except ClientError as exc:
            if aws_code(exc) != "EntityNotFoundException":
                raise
