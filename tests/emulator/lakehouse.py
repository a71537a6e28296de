"""Builders for Lake Formation / Athena tests: a producer table in one account, its
Lake Formation set-up (workflow.md phase B), and a consumer account with a resource link.

Each builder takes boto3 clients from the `cloud` fixture and returns what the test
needs to name; nothing here reaches into the emulator's internals.
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tests.support import (
    BASE_ACCOUNT,
    CONSUMER_ACCOUNT,
    DOMAIN_ACCOUNT,
    Cloud,
    credentials_session,
    management_trust,
)

PRODUCER = DOMAIN_ACCOUNT
CONSUMER = CONSUMER_ACCOUNT
ADMIN_ROLE = "OrganizationAccountAccessRole"

#: The sales table every test reads: (id, region, amount).
SALES_ROWS = [(1, "north", "10.50"), (2, "south", "20.25"), (3, "north", "11.25")]
SALES_COLUMNS = [
    {"Name": "id", "Type": "int"},
    {"Name": "region", "Type": "string"},
    {"Name": "amount", "Type": "decimal(10,2)"},
]
CSV_SERDE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"


def role_arn(account: str, name: str = ADMIN_ROLE) -> str:
    return f"arn:aws:iam::{account}:role/{name}"


def principal(identifier: str) -> dict[str, str]:
    return {"DataLakePrincipalIdentifier": identifier}


def table_resource(database: str, table: str, catalog: str = PRODUCER) -> dict[str, Any]:
    return {"Table": {"CatalogId": catalog, "DatabaseName": database, "Name": table}}


def database_resource(database: str, catalog: str = PRODUCER) -> dict[str, Any]:
    return {"Database": {"CatalogId": catalog, "Name": database}}


def make_admin(cloud: Cloud, account: str, *principals: str) -> None:
    """Add data lake admins (read-modify-write, as workflow.md B1 says)."""
    lakeformation = cloud.client("lakeformation", account)
    settings = lakeformation.get_data_lake_settings()["DataLakeSettings"]
    admins = settings.get("DataLakeAdmins", [])
    admins += [principal(p) for p in principals]
    settings["DataLakeAdmins"] = admins
    lakeformation.put_data_lake_settings(DataLakeSettings=settings)


def sales_csv(header: bool = True, delimiter: str = ",") -> bytes:
    lines = [delimiter.join(("id", "region", "amount"))] if header else []
    lines += [delimiter.join(str(v) for v in row) for row in SALES_ROWS]
    return ("\n".join(lines) + "\n").encode()


def sales_parquet() -> bytes:
    table = pa.table(
        {
            "id": pa.array([r[0] for r in SALES_ROWS], pa.int64()),
            "region": pa.array([r[1] for r in SALES_ROWS]),
            "amount": pa.array([float(r[2]) for r in SALES_ROWS]),
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def storage(location: str, serde: str, parameters: dict[str, str] | None = None) -> dict[str, Any]:
    if serde == PARQUET_SERDE:
        formats = {
            "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
        }
    else:
        formats = {
            "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
        }
    return {
        "Columns": SALES_COLUMNS,
        "Location": location,
        **formats,
        "SerdeInfo": {"SerializationLibrary": serde, "Parameters": parameters or {}},
    }


@dataclass
class ProducerTable:
    """A table in the producer account and where its data lives."""

    database: str
    table: str
    bucket: str
    prefix: str

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}/"

    @property
    def location_arn(self) -> str:
        return f"arn:aws:s3:::{self.bucket}/{self.prefix}"

    def resource(self) -> dict[str, Any]:
        return table_resource(self.database, self.table)


def make_producer_table(
    cloud: Cloud,
    database: str = "sales_db",
    table: str = "sales",
    bucket: str = "producer-data",
    fmt: str = "csv",
    lf_managed: bool = True,
) -> ProducerTable:
    """Phase B in the producer account: admin, bucket + data, Glue table, and (when
    `lf_managed`) IAMAllowedPrincipals revoked and the location registered in LF mode."""
    make_admin(cloud, PRODUCER, role_arn(PRODUCER))
    s3 = cloud.client("s3", PRODUCER)
    if bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=bucket)
    created = ProducerTable(database, table, bucket, f"{database}/{table}")
    if fmt == "parquet":
        s3.put_object(Bucket=bucket, Key=f"{created.prefix}/part-0.parquet", Body=sales_parquet())
        serde, parameters, table_parameters = PARQUET_SERDE, {}, {"classification": "parquet"}
    else:
        s3.put_object(Bucket=bucket, Key=f"{created.prefix}/part-0.csv", Body=sales_csv())
        serde = CSV_SERDE
        parameters = {"field.delim": ","}
        table_parameters = {"classification": "csv", "skip.header.line.count": "1"}
    glue = cloud.client("glue", PRODUCER)
    if database not in [d["Name"] for d in glue.get_databases()["DatabaseList"]]:
        glue.create_database(DatabaseInput={"Name": database})
    glue.create_table(
        DatabaseName=database,
        TableInput={
            "Name": table,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": table_parameters,
            "StorageDescriptor": storage(created.location, serde, parameters),
        },
    )
    if lf_managed:
        lakeformation = cloud.client("lakeformation", PRODUCER)
        for resource in (created.resource(), database_resource(database)):
            held = lakeformation.list_permissions(
                Principal=principal("IAM_ALLOWED_PRINCIPALS"), Resource=resource
            )["PrincipalResourcePermissions"]
            if held:
                lakeformation.revoke_permissions(
                    Principal=principal("IAM_ALLOWED_PRINCIPALS"),
                    Resource=resource,
                    Permissions=["ALL"],
                )
        registered = [r["ResourceArn"] for r in lakeformation.list_resources()["ResourceInfoList"]]
        if created.location_arn not in registered:
            lakeformation.register_resource(
                ResourceArn=created.location_arn,
                UseServiceLinkedRole=True,
                HybridAccessEnabled=False,
            )
    return created


#: A data analyst as Lake Formation's "personas and IAM permissions" reference sets one up:
#: AmazonAthenaFullAccess (Athena, the Glue catalog, lakeformation:GetDataAccess) and S3 for
#: its query results and IAM-only tables (in its own account: another account's bucket also
#: needs that bucket's policy). Lake Formation's grants decide what it reads of managed tables.
ANALYST_MANAGED = ("arn:aws:iam::aws:policy/AmazonAthenaFullAccess",)
ANALYST_INLINE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "QueryResultsAndIamOnlyTables",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:GetBucketLocation"],
            "Resource": "*",
        }
    ],
}
#: Who grants Lake Formation permissions it holds with the grant option needs the IAM
#: actions too (Lake Formation's IAM actions take no resource-level permissions).
GRANTOR_INLINE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "LakeFormationGrants",
            "Effect": "Allow",
            "Action": [
                "lakeformation:GrantPermissions",
                "lakeformation:RevokePermissions",
                "lakeformation:ListPermissions",
            ],
            "Resource": "*",
        }
    ],
}


def make_role(
    cloud: Cloud,
    account: str,
    name: str,
    policy: dict[str, Any] | None = None,
    managed: tuple[str, ...] = (),
) -> str:
    """A role in `account` that the base account may assume (a project role stand-in),
    with `policy` inline and the `managed` policies attached; none: it may do nothing."""
    iam = cloud.client("iam", account)
    created = iam.create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps(management_trust())
    )
    if policy is not None:
        iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(policy))
    for arn in managed:
        iam.attach_role_policy(RoleName=name, PolicyArn=arn)
    return str(created["Role"]["Arn"])


def analyst_role(cloud: Cloud, account: str, name: str) -> str:
    """A role that queries with Athena, as Lake Formation's data analyst persona."""
    return make_role(cloud, account, name, ANALYST_INLINE, ANALYST_MANAGED)


def role_client(cloud: Cloud, service: str, role: str) -> Any:
    """A client acting as `role` (assumed from the base account)."""
    creds = cloud.client("sts", BASE_ACCOUNT).assume_role(RoleArn=role, RoleSessionName="role")[
        "Credentials"
    ]
    session = credentials_session(creds)
    return session.client(service, endpoint_url=cloud.url)


def make_resource_link(
    cloud: Cloud, source: ProducerTable, database: str = "consumer_db", link: str | None = None
) -> str:
    """A Glue database in the consumer account with a resource link to `source`."""
    glue = cloud.client("glue", CONSUMER)
    if database not in [d["Name"] for d in glue.get_databases()["DatabaseList"]]:
        glue.create_database(DatabaseInput={"Name": database})
    name = link or f"{source.table}_link"
    glue.create_table(
        DatabaseName=database,
        TableInput={
            "Name": name,
            "TargetTable": {
                "CatalogId": PRODUCER,
                "DatabaseName": source.database,
                "Name": source.table,
            },
        },
    )
    return name


def wait_query(athena: Any, query_id: str, deadline: float = 10.0) -> dict[str, Any]:
    """Poll GetQueryExecution until the query ends; its QueryExecution."""
    ends = time.monotonic() + deadline
    states = []
    while time.monotonic() < ends:
        execution: dict[str, Any] = athena.get_query_execution(QueryExecutionId=query_id)[
            "QueryExecution"
        ]
        states.append(execution["Status"]["State"])
        if states[-1] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            execution["ObservedStates"] = states
            return execution
    raise AssertionError(f"query {query_id} did not end: {states}")
