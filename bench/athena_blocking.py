"""How long an unrelated call waits while a long Athena query runs on the emulator.

    .venv/bin/python bench/athena_blocking.py            # n = 12000 (about 5 s of DuckDB)
    .venv/bin/python bench/athena_blocking.py --n 20000

It starts the emulator in this process, starts a query that makes DuckDB compute n*n rows,
and, until the query ends, calls STS GetCallerIdentity and Glue GetDatabases (another
caller's work) in a loop, timing each call. It prints the query's engine time and the
unrelated calls' latencies (median and longest). It uses only boto3 and the emulator's
server, so the same script measures any version of the emulator.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import boto3

from smus_mesh_emulator.server import EmulatorServer

QUERY = "SELECT sum(a.range * b.range % 7) AS total FROM range({n}) a CROSS JOIN range({n}) b"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=12000, help="rows per side of the join")
    arguments = parser.parse_args()
    os.environ.update(
        AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE",
        AWS_SECRET_ACCESS_KEY="emulator-secret",  # noqa: S106 (the emulator takes any)
        AWS_DEFAULT_REGION="us-east-1",
    )
    with EmulatorServer() as server:
        session = boto3.Session()
        athena = session.client("athena", endpoint_url=server.url)
        sts = session.client("sts", endpoint_url=server.url)
        glue = session.client("glue", endpoint_url=server.url)
        session.client("s3", endpoint_url=server.url).create_bucket(Bucket="results")
        sts.get_caller_identity()
        glue.get_databases()
        started = time.perf_counter()
        query_id = athena.start_query_execution(
            QueryString=QUERY.format(n=arguments.n),
            ResultConfiguration={"OutputLocation": "s3://results/"},
        )["QueryExecutionId"]
        start_call = time.perf_counter() - started
        latencies: list[float] = []
        while True:
            execution = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
            if execution["Status"]["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
                break
            for call in (sts.get_caller_identity, glue.get_databases):
                before = time.perf_counter()
                call()
                latencies.append(time.perf_counter() - before)
            time.sleep(0.05)
        wall = time.perf_counter() - started
        engine = execution["Statistics"]["EngineExecutionTimeInMillis"] / 1000
        print(f"query: {execution['Status']['State']}, wall {wall:.2f} s, engine {engine:.2f} s")
        print(f"StartQueryExecution: {start_call * 1000:.0f} ms")
        if latencies:
            print(
                f"unrelated calls during the query: {len(latencies)}, median "
                f"{statistics.median(latencies) * 1000:.0f} ms, longest "
                f"{max(latencies) * 1000:.0f} ms"
            )


if __name__ == "__main__":
    main()
