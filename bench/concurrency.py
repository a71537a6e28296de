"""How the emulator's throughput grows with its clients (issue 17.1).

    .venv/bin/python bench/concurrency.py                  # 1, 2, 4, 8, 32 clients, 5 s each
    .venv/bin/python bench/concurrency.py --clients 1 8 --seconds 10

`smus-mesh emulator serve --latency none` runs as a process of its own; each client is a
process of its own too (boto3, one pooled keep-alive connection, as a tool thread has),
in a closed loop: it sends its next call when the last one is answered. The mix is
DataZone reads (GetDomain, GetProject), DataZone writes (CreateProject) and moto reads
(IAM GetRole, S3 ListBuckets), in turns. Reported per number of clients: calls/s in
total, p50 and p99 latency, against the single-client figures; and moto's floor in the
same run: one client calling STS GetCallerIdentity (moto's cheapest call, which no
code of ours serves).

Targets (issue 17.1, 2 cores): 8 clients >= 1.5x the single client's calls/s, and p99
at 8 clients <= 4x the single client's p50.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from waiting import Serve, clean_environment

DOMAIN_ACCOUNT = "111111111111"
REGION = "us-east-1"


def _session(url: str) -> Any:
    import boto3

    base = boto3.Session(region_name=REGION)
    credentials = base.client("sts", endpoint_url=url).assume_role(
        RoleArn=f"arn:aws:iam::{DOMAIN_ACCOUNT}:role/OrganizationAccountAccessRole",
        RoleSessionName="bench",
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=REGION,
    )


def set_up(url: str) -> dict[str, str]:
    """A domain, a project and a role to read."""
    session = _session(url)
    iam = session.client("iam", endpoint_url=url)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "datazone.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ],
    }
    roles = [
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        for name in ("bench-execution", "bench-service")
    ]
    datazone = session.client("datazone", endpoint_url=url)
    domain = datazone.create_domain(
        name="bench",
        domainExecutionRole=roles[0],
        serviceRole=roles[1],
        domainVersion="V2",
        singleSignOn={"type": "DISABLED"},
    )["id"]
    while datazone.get_domain(identifier=domain)["status"] != "AVAILABLE":
        time.sleep(0.05)
    project = datazone.create_project(domainIdentifier=domain, name="bench-project")["id"]
    return {"domain": domain, "project": project, "role": "bench-execution"}


def client(
    url: str, ids: dict[str, str], mix: str, tag: str, start: Any, seconds: float, out: Any
) -> None:
    """One client process: warm up, wait for the start, call in a closed loop."""
    session = _session(url)
    datazone = session.client("datazone", endpoint_url=url)
    iam = session.client("iam", endpoint_url=url)
    s3 = session.client("s3", endpoint_url=url)
    sts = session.client("sts", endpoint_url=url)
    writes = iter(range(1_000_000))
    calls = {
        "mixed": [
            lambda: datazone.get_domain(identifier=ids["domain"]),
            lambda: datazone.get_project(domainIdentifier=ids["domain"], identifier=ids["project"]),
            lambda: iam.get_role(RoleName=ids["role"]),
            lambda: datazone.create_project(
                domainIdentifier=ids["domain"], name=f"{tag}-{next(writes)}"
            ),
            lambda: s3.list_buckets(),
        ],
        "floor": [lambda: sts.get_caller_identity()],
    }[mix]
    for call in calls:
        call()  # connections and models warm before the clock starts
    start.wait()
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    turn = 0
    while (now := time.perf_counter()) < deadline:
        calls[turn % len(calls)]()
        latencies.append(time.perf_counter() - now)
        turn += 1
    out.put(latencies)


def _percentile(values: list[float], share: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(len(values) * share))], 2) if values else 0.0


def server_side(calls: list[dict[str, Any]]) -> dict[str, float]:
    """Where the server's share of a call goes, from its calls log: `duration_ms` is the
    request inside the app, `busy_ms` the part under its locks, `wait_ms` the wait for
    them (GIL waits included in each). A client's latency beyond `duration_ms` is spent in
    its own process, on the wire, or in the server before the app (accept queue, HTTP
    parsing)."""
    duration = [c["duration_ms"] for c in calls]
    busy = [c["busy_ms"] for c in calls]
    # The emulator before ADR 28 did not log its lock waits: the rest of the app's time.
    wait = [c.get("wait_ms", c["duration_ms"] - c["busy_ms"]) for c in calls]
    return {
        "server_p50_ms": _percentile(duration, 0.5),
        "server_p99_ms": _percentile(duration, 0.99),
        "busy_p50_ms": _percentile(busy, 0.5),
        "busy_p99_ms": _percentile(busy, 0.99),
        "lock_wait_p50_ms": _percentile(wait, 0.5),
        "lock_wait_p99_ms": _percentile(wait, 0.99),
        "busy_share": round(sum(busy) / sum(duration), 2) if calls else 0.0,
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    serve: Serve, ids: dict[str, str], mix: str, clients: int, seconds: float
) -> dict[str, float]:
    url = serve.url
    context = multiprocessing.get_context("spawn")
    start, out = context.Event(), context.Queue()
    processes = [
        context.Process(target=client, args=(url, ids, mix, f"n{clients}c{i}", start, seconds, out))
        for i in range(clients)
    ]
    for process in processes:
        process.start()
    time.sleep(min(30.0, 2.0 + 0.5 * clients))  # every client imported and warmed up
    first = serve.calls_since(0)
    since = first[-1]["seq"] if first else 0
    cpu_before = cpu_seconds(serve.process.pid)
    start.set()
    latencies: list[float] = []
    for _ in processes:
        latencies += out.get(timeout=seconds + 600)
    for process in processes:
        process.join()
    server_cpu = cpu_seconds(serve.process.pid) - cpu_before
    latencies.sort()
    return {
        "clients": clients,
        "calls": len(latencies),
        "calls_per_s": round(len(latencies) / seconds, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 2),
        # CPU, not time: what the machine's load changes least
        "server_cpu_ms_per_call": round(server_cpu * 1000 / max(1, len(latencies)), 2),
        **server_side(serve.calls_since(since)),
    }


def run(counts: list[int], seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        serve = Serve(Path(directory), "none")
        try:
            os.environ.update(clean_environment(Path(directory)))
            ids = set_up(serve.url)
            floor = measure(serve, ids, "floor", 1, seconds)
            rows = {n: measure(serve, ids, "mixed", n, seconds) for n in counts}
        finally:
            serve.stop()
    single = rows[1]
    result: dict[str, Any] = {"floor_sts": floor, "seconds": seconds}
    for n, row in rows.items():
        row["x_single"] = round(row["calls_per_s"] / single["calls_per_s"], 2)
        row["p99_over_single_p50"] = round(row["p99_ms"] / single["p50_ms"], 2)
        result[str(n)] = row
    return result


def table(result: dict[str, Any]) -> str:
    lines = [
        "| clients | calls/s | x one client | p50 ms | p99 ms | p99 / one client's p50 "
        "| server p50 / p99 ms | in lock p50 / p99 ms | lock wait p50 / p99 ms "
        "| server CPU ms / call |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]

    def server(row: dict[str, Any]) -> str:
        return (
            f"{row['server_p50_ms']} / {row['server_p99_ms']} | "
            f"{row['busy_p50_ms']} / {row['busy_p99_ms']} | "
            f"{row['lock_wait_p50_ms']} / {row['lock_wait_p99_ms']} | "
            f"{row['server_cpu_ms_per_call']}"
        )

    for key, row in result.items():
        if key.isdigit():
            lines.append(
                f"| {key} | {row['calls_per_s']} | {row['x_single']} | {row['p50_ms']} | "
                f"{row['p99_ms']} | {row['p99_over_single_p50']} | {server(row)} |"
            )
    floor = result["floor_sts"]
    lines.append(
        f"| moto's floor (1 client, sts GetCallerIdentity) | {floor['calls_per_s']} | | "
        f"{floor['p50_ms']} | {floor['p99_ms']} | | {server(floor)} |"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 2, 4, 8, 32])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--json", action="store_true", help="print JSON, not a table")
    args = parser.parse_args()
    if 1 not in args.clients:
        parser.error("--clients must include 1: every figure is relative to one client")
    result = run(args.clients, args.seconds)
    print(json.dumps(result, indent=2) if args.json else table(result))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
