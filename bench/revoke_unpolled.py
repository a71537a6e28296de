"""How long after RevokeSubscription the consumer is denied, with nobody polling the grant.

    .venv/bin/python bench/revoke_unpolled.py                 # 20 subscribed tables, 5 runs of each
    .venv/bin/python bench/revoke_unpolled.py --tables 50 --runs 9

It starts the emulator in this process (latency profile "none", the default first-read
grace), builds a domain with a producer and a consumer project, and subscribes the consumer
to `--tables` published tables (each grant fulfilled in Lake Formation and Glue: the scale
of a small mesh). Each run then revokes one subscription and measures two things:

* access removed: the grant's completion time (its `updatedAt`) minus the revocation's,
  read once after a pause during which nobody calls the emulator at all;
* denied query: from the RevokeSubscription call to the end of the first consumer Athena
  query that is denied; queries are started one after the other, each read until it ends
  (a query started before the revocation completes may still succeed); the grant is never
  read.

It prints the median and the longest of each over the runs. It uses the test suite's boto3
set-up helpers and the emulator's server, nothing of the emulator's insides.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.emulator.datazone_setup import (
    accepted_subscription,
    build_mesh,
    project_role_session,
    published_listing,
)
from tests.support import CONSUMER_ACCOUNT, DOMAIN_ACCOUNT, Cloud

from smus_mesh_emulator.server import EmulatorServer

#: Nobody calls the emulator for this long before the grant's completion time is read.
PAUSE = 2.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tables", type=int, default=20, help="subscribed tables")
    parser.add_argument("--runs", type=int, default=5, help="revocations measured per kind")
    arguments = parser.parse_args()
    if not 0 < 2 * arguments.runs <= arguments.tables:
        parser.error("--tables must be at least twice --runs (each run revokes a subscription)")
    os.environ.update(
        AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE",
        AWS_SECRET_ACCESS_KEY="emulator-secret",  # noqa: S106 (the emulator takes any)
        AWS_DEFAULT_REGION="us-east-1",
    )
    with EmulatorServer() as server:
        os.environ["AWS_ENDPOINT_URL"] = server.url
        cloud = Cloud(server.url)
        built = time.perf_counter()
        mesh = build_mesh(cloud)
        subscriptions = []
        for index in range(arguments.tables):
            _, listing_id = published_listing(mesh, f"bench_db_{index}", f"orders_{index}")
            subscription, _ = accepted_subscription(mesh, listing_id)
            probe = f"probe_{index}"
            cloud.client("glue", CONSUMER_ACCOUNT).create_table(
                DatabaseName=mesh.consumer.glue_db,
                TableInput={
                    "Name": probe,
                    "TargetTable": {
                        "CatalogId": DOMAIN_ACCOUNT,
                        "DatabaseName": f"bench_db_{index}",
                        "Name": f"orders_{index}",
                    },
                },
            )
            subscriptions.append((subscription["id"], probe))
        print(
            f"set-up: {arguments.tables} subscribed tables in {time.perf_counter() - built:.1f} s"
        )
        datazone = mesh.datazone()
        athena = project_role_session(mesh, mesh.consumer.tooling_id).client(
            "athena", endpoint_url=server.url
        )

        def query(sql: str) -> str:
            """Run the consumer's query to its end: its final state."""
            query_id = athena.start_query_execution(
                QueryString=sql, WorkGroup=mesh.consumer.workgroup
            )["QueryExecutionId"]
            while True:
                state: str = athena.get_query_execution(QueryExecutionId=query_id)[
                    "QueryExecution"
                ]["Status"]["State"]
                if state in ("SUCCEEDED", "FAILED", "CANCELLED"):
                    return state

        removed: list[float] = []
        denied: list[float] = []
        for subscription_id, probe in subscriptions[: arguments.runs]:
            sql = f'SELECT * FROM "{mesh.consumer.glue_db}"."{probe}"'  # noqa: S608
            assert query(sql) == "SUCCEEDED"
            # access removed: nobody calls the emulator during the pause
            revoked = datazone.revoke_subscription(
                domainIdentifier=mesh.domain_id, identifier=subscription_id
            )
            time.sleep(PAUSE)
            [grant] = datazone.list_subscription_grants(
                domainIdentifier=mesh.domain_id, subscriptionId=subscription_id
            )["items"]
            assert grant["assets"][0]["status"] == "REVOKED", grant
            removed.append((grant["updatedAt"] - revoked["updatedAt"]).total_seconds())
            assert query(sql) == "FAILED"
        for subscription_id, probe in subscriptions[arguments.runs : 2 * arguments.runs]:
            sql = f'SELECT * FROM "{mesh.consumer.glue_db}"."{probe}"'  # noqa: S608
            assert query(sql) == "SUCCEEDED"
            started = time.perf_counter()
            datazone.revoke_subscription(
                domainIdentifier=mesh.domain_id, identifier=subscription_id
            )
            while query(sql) == "SUCCEEDED":
                pass
            denied.append(time.perf_counter() - started)
        _report("access removed (grant completion - revocation, no calls at all)", removed)
        _report("denied query (revocation call -> first denied consumer query)", denied)


def _report(what: str, seconds: list[float]) -> None:
    if seconds:
        print(
            f"{what}: runs {len(seconds)}, median {statistics.median(seconds) * 1000:.0f} ms, "
            f"longest {max(seconds) * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
