"""Benchmark of `up`, a second `up` and `down` on the emulator with realistic latency.

    make bench                       # all sizes
    .venv/bin/python bench/run.py --sizes 1x1 --time-scale 0.05

For each size (consumer projects x tables, every consumer subscribing to every
table) it starts the emulator in this process with the `realistic` latency profile
scaled by `--time-scale`, runs `smus-mesh` as a separate process (so its wall time
and peak memory are its own), and reports:

* wall time of `up`, the second `up` and `down`;
* the critical-path lower bound of `up` (and `down`): the longest chain of
  asynchronous waits through the dependency graph, weighted with the emulator's
  scaled durations (plus one call's latency per step), where acceptances also
  queue behind DataZone's 3 TPS quota — no schedule can beat it;
* a run one step at a time, estimated by its lower bound: the sum of every
  asynchronous wait (marked `*`). No setting runs one: since ADR 47 a step that waits
  lends its worker, so even `max_workers=1` overlaps the waits;
* AWS calls by kind (mutating / poll / read) from the tool, the emulator's count,
  mutating calls per created resource, and the poll budget
  (2 x sum over waits of duration / 2 s, the first poll interval before waits adapted);
* peak RSS of the smus-mesh process;
* CPU seconds (user + system) of the tool's processes and of the emulator, per run and
  per size (`cpu_s`), so a gap to the bound can be put on one side;
* the emulator's throughput with 1-32 client processes (`concurrency.py`, in the same
  run; `--concurrency ""` leaves it out).

Every timing knob of the tool is scaled with the emulator's time (poll intervals,
the AcceptSubscriptionRequest rate): the run is AWS compressed in time, not a
different workload. Results: a table on stdout and bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from concurrency import run as run_concurrency
from waiting import clean_environment

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"

#: The tool's AWS-time settings (README, settings.py); multiplied by the time scale.
AWS_POLL_INITIAL = 0.1
AWS_POLL_MAX = 10.0
AWS_ACCEPT_TPS = 3.0
#: The poll budget's interval: the first poll interval of the tool before its waits
#: adapted (2 s, fixed), so that the budget stays what it was (issue 17.3).
POLL_BUDGET_INTERVAL = 2.0


def config_for(consumers: int, tables: int) -> dict[str, Any]:
    """A producer with `tables` tables; `consumers` projects, each subscribing to all."""
    names = [f"t{i:03d}" for i in range(1, tables + 1)]
    return {
        "version": 1,
        "name": f"bench{consumers}x{tables}",
        "region": "us-east-1",
        "accounts": {
            "producer": {
                "account_id": "111111111111",
                "role_arn": "arn:aws:iam::111111111111:role/OrganizationAccountAccessRole",
            },
            "consumer": {
                "account_id": "222222222222",
                "role_arn": "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole",
            },
        },
        "domain": {"name": f"bench-{consumers}x{tables}", "account": "producer"},
        "tables": [
            {
                "name": name,
                "account": "producer",
                "database": "bench",
                "table": name,
                "location": f"s3://smus-mesh-bench-111111111111/{name}/",
                "format": "csv",
                "columns": [{"name": "id", "type": "int"}, {"name": "label", "type": "string"}],
                "rows": [[1, "a"], [2, "b"], [3, "c"]],
            }
            for name in names
        ],
        "projects": [
            {"name": "producer", "account": "producer", "imports": names},
            *(
                {"name": f"consumer-{c:02d}", "account": "consumer"}
                for c in range(1, consumers + 1)
            ),
        ],
        "subscriptions": [
            {"project": f"consumer-{c:02d}", "tables": names, "reason": "benchmark"}
            for c in range(1, consumers + 1)
        ],
    }


def critical_path(config: dict[str, Any], scale: float, operation: str) -> tuple[float, int, float]:
    """(the lower bound in seconds, number of asynchronous waits, their total).

    The bound is the longest chain of waits through the dependency graph, with one more
    constraint no schedule escapes: AcceptSubscriptionRequest's quota (3 per second,
    a bucket of 3, scaled like every duration), so the k-th acceptance cannot start
    before the (k-3)-th plus one scaled second.
    """
    from smus_mesh.config import parse_config
    from smus_mesh.engine.graph import Graph
    from smus_mesh.resources.setup import SetupBuilder
    from smus_mesh.resources.subscriptions import SubscriptionApproval
    from smus_mesh_emulator.datazone.subscriptions import DECISIONS_PER_SECOND
    from smus_mesh_emulator.progress import LatencyProfile

    profile = LatencyProfile("realistic", scale)
    graph = Graph(SetupBuilder(parse_config(config)).build())
    order = graph.ordered() if operation == "up" else graph.teardown()
    # A teardown deletes the roles after every other step, and only then (ADR 40).
    first = [node.key for node in order if not node.deleted_last]
    waits = 0
    total = 0.0
    weights: dict[str, float] = {}
    for node in order:
        kinds = node.async_create if operation == "up" else node.async_delete
        seconds = sum(profile.duration(kind) for kind in kinds)
        waits += len(kinds)
        total += seconds
        weights[node.key] = seconds + profile.call_latency()

    def before(node: Any) -> list[str]:
        if operation == "up":
            return list(node.depends_on)
        if node.deleted_last:
            return first
        # A role that names the domain depends on it, yet goes after it.
        return [d for d in graph.dependents(node.key) if not graph.get(d).deleted_last]

    def finishes(starts: dict[str, float]) -> dict[str, float]:
        finish: dict[str, float] = {}
        for node in order:
            ready = max((finish[d] for d in before(node)), default=0.0)
            finish[node.key] = max(ready, starts.get(node.key, 0.0)) + weights[node.key]
        return finish

    finish = finishes({})
    if operation == "up":
        # Acceptances do not depend on one another: their ready times are final here.
        ready = sorted(
            (max((finish[d] for d in before(node)), default=0.0), node.key)
            for node in order
            if isinstance(node, SubscriptionApproval)
        )
        period = profile.scaled(1.0)
        starts: dict[str, float] = {}
        slots: list[float] = []
        for at, key in ready:
            if len(slots) >= DECISIONS_PER_SECOND:
                at = max(at, slots[-DECISIONS_PER_SECOND] + period)
            slots.append(at)
            starts[key] = at
        finish = finishes(starts)
    return max(finish.values()), waits, total


class Emulator:
    def __init__(self, scale: float) -> None:
        from smus_mesh_emulator.server import EmulatorServer

        self.server = EmulatorServer(latency="realistic", time_scale=scale, prewarm=True).start()
        self.url = self.server.url

    def admin(self, method: str, path: str) -> Any:
        request = urllib.request.Request(f"{self.url}/_emulator/{path}", method=method)
        with urllib.request.urlopen(request, timeout=300) as response:
            return json.loads(response.read())

    def calls(self) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = self.admin("GET", "calls")["calls"]
        return calls

    def stop(self) -> None:
        self.server.stop()


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run_tool(
    emulator: Emulator, workdir: Path, scale: float, command: list[str]
) -> tuple[float, dict[str, Any], float, dict[str, float]]:
    """Run smus-mesh as its own process; (wall seconds, JSON report, peak RSS MiB, CPU
    seconds of the tool and of the emulator, which serves from this process's threads)."""
    env = {
        **clean_environment(workdir, emulator.url),
        "SMUS_MESH_POLL_INITIAL": str(AWS_POLL_INITIAL * scale),
        "SMUS_MESH_POLL_MAX": str(AWS_POLL_MAX * scale),
        "SMUS_MESH_ACCEPT_TPS": str(AWS_ACCEPT_TPS / scale),
        "SMUS_MESH_TIMEOUT": "3600",
    }
    argv = [
        sys.executable,
        "-m",
        "smus_mesh",
        "-c",
        str(workdir / "config.yaml"),
        "--state",
        str(workdir / "state.json"),
        "--output",
        "json",
        *command,
    ]
    tool_cpu, emulator_cpu = _cpu(resource.RUSAGE_CHILDREN), _cpu(resource.RUSAGE_SELF)
    started = time.monotonic()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = process.communicate()
    wall = time.monotonic() - started
    cpu = {
        "tool": round(_cpu(resource.RUSAGE_CHILDREN) - tool_cpu, 2),
        "emulator": round(_cpu(resource.RUSAGE_SELF) - emulator_cpu, 2),
    }
    # ru_maxrss of the children that have ended: this is the only child at this point.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    try:
        report = json.loads(stdout)
    except json.JSONDecodeError:
        raise SystemExit(f"{command} failed:\n{stderr.decode()[-3000:]}") from None
    if process.returncode != 0 or not report.get("ok", False):
        failures = [f for f in report.get("failures", []) if "not run:" not in f["message"]]
        raise SystemExit(f"{command} failed (exit {process.returncode}): {failures[:5]}")
    return wall, report, peak, cpu


def by_kind(report: dict[str, Any]) -> dict[str, int]:
    kinds: dict[str, int] = report["calls"]["by_kind"]
    return kinds


def bench_size(consumers: int, tables: int, scale: float) -> dict[str, Any]:
    config = config_for(consumers, tables)
    emulator = Emulator(scale)
    result: dict[str, Any] = {"consumers": consumers, "tables": tables}
    try:
        with tempfile.TemporaryDirectory(prefix="smus-bench-") as tmp:
            workdir = Path(tmp)
            (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))

            emulator.admin("POST", "calls/reset")
            wall, report, peak, cpu = run_tool(emulator, workdir, scale, ["up"])
            server_calls = emulator.calls()
            bound, waits, wait_total = critical_path(config, scale, "up")
            created = sum(1 for s in report["steps"] if s["action"] == "create")
            kinds = by_kind(report)
            budget_interval = POLL_BUDGET_INTERVAL * scale
            result["up"] = {
                "wall_s": round(wall, 2),
                "critical_path_s": round(bound, 2),
                "ratio_to_critical_path": round(wall / bound, 3),
                "steps": len(report["steps"]),
                "resources_created": created,
                "calls": kinds,
                "emulator_calls": len(server_calls),
                "emulator_mutating_calls": sum(1 for c in server_calls if c["mutating"]),
                "mutating_per_resource": round(kinds["mutating"] / max(created, 1), 2),
                "async_waits": waits,
                "poll_budget": round(2 * wait_total / budget_interval),
                "peak_rss_mib": round(peak, 1),
                "sum_of_step_s": round(sum(s["seconds"] for s in report["steps"]), 2),
                "cpu_s": cpu,
            }

            emulator.admin("POST", "calls/reset")
            wall2, report2, peak2, cpu2 = run_tool(emulator, workdir, scale, ["up"])
            second_calls = emulator.calls()
            result["second_up"] = {
                "wall_s": round(wall2, 2),
                "mutating_calls": sum(1 for c in second_calls if c["mutating"]),
                "calls": by_kind(report2),
                "peak_rss_mib": round(peak2, 1),
                "cpu_s": cpu2,
            }

            emulator.admin("POST", "calls/reset")
            wall3, report3, peak3, cpu3 = run_tool(emulator, workdir, scale, ["down", "--yes"])
            down_bound, _, _ = critical_path(config, scale, "down")
            result["down"] = {
                "wall_s": round(wall3, 2),
                "critical_path_s": round(down_bound, 2),
                "ratio_to_critical_path": round(wall3 / down_bound, 3),
                "calls": by_kind(report3),
                "leftovers": report3["audit"]["leftovers"],
                "peak_rss_mib": round(peak3, 1),
                "cpu_s": cpu3,
            }
            # up, the second up and down: what the gap to the bounds cost on each side
            result["cpu_s"] = {side: round(cpu[side] + cpu2[side] + cpu3[side], 2) for side in cpu}

            # A run one step at a time waits for every asynchronous wait in turn: their sum
            # is a lower bound of it (the sum of the parallel run's step times is not:
            # there, every step's time includes queueing behind the others).
            result["up"]["sequential_s"] = round(wait_total, 2)
            result["up"]["sequential_measured"] = False
            result["up"]["ratio_to_sequential"] = round(
                result["up"]["wall_s"] / result["up"]["sequential_s"], 3
            )
    finally:
        emulator.stop()
    return result


def table(results: dict[str, Any]) -> str:
    header = (
        f"{'size':>8} {'up s':>8} {'bound s':>8} {'x bound':>8} {'seq s':>9} {'x seq':>6} "
        f"{'mut':>6} {'poll':>6} {'budget':>7} {'read':>7} {'mut/res':>7} {'2nd mut':>7} "
        f"{'down s':>7} {'bound':>6} {'x bound':>7} {'left':>5} {'RSS MiB':>8} "
        f"{'tool cpu':>8} {'emu cpu':>8}"
    )
    lines = [header, "-" * len(header)]
    for size, r in results.items():
        up, down = r["up"], r["down"]
        seq = f"{up['sequential_s']:.1f}{'' if up['sequential_measured'] else '*'}"
        lines.append(
            f"{size:>8} {up['wall_s']:>8.1f} {up['critical_path_s']:>8.1f} "
            f"{up['ratio_to_critical_path']:>8.2f} {seq:>9} {up['ratio_to_sequential']:>6.2f} "
            f"{up['calls']['mutating']:>6} {up['calls']['poll']:>6} {up['poll_budget']:>7} "
            f"{up['calls']['read']:>7} {up['mutating_per_resource']:>7.2f} "
            f"{r['second_up']['mutating_calls']:>7} {down['wall_s']:>7.1f} "
            f"{down['critical_path_s']:>6.1f} {down['ratio_to_critical_path']:>7.2f} "
            f"{down['leftovers']:>5} {up['peak_rss_mib']:>8.1f} "
            f"{r['cpu_s']['tool']:>8.1f} {r['cpu_s']['emulator']:>8.1f}"
        )
    lines.append(
        "* seq: the sum of every asynchronous wait, a lower bound of a run one step at a "
        "time; cpu: seconds of up + second up + down"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="1x1,5x20,20x100", help="consumers x tables, comma-separated"
    )
    parser.add_argument("--time-scale", type=float, default=0.05, help="emulator time scale")
    parser.add_argument(  # older commands in the ADRs pass it
        "--sequential", default="", help="ignored: no setting runs one step at a time (ADR 47)"
    )
    parser.add_argument(
        "--concurrency",
        default="1,2,4,8,32",
        help="numbers of client processes of the concurrency benchmark ('' for none)",
    )
    parser.add_argument("--concurrency-seconds", type=float, default=5.0)
    args = parser.parse_args()
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    results: dict[str, Any] = {}
    for size in sizes:
        consumers, tables = (int(x) for x in size.split("x"))
        print(f"running {size} ...", file=sys.stderr, flush=True)
        results[size] = bench_size(consumers, tables, args.time_scale)
    counts = sorted({1, *(int(n) for n in args.concurrency.split(",") if n.strip())})
    concurrency = run_concurrency(counts, args.concurrency_seconds) if args.concurrency else {}
    first = results[sizes[0]]
    document = {
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
        },
        "time_scale": args.time_scale,
        "up": first["up"],
        "second_up": first["second_up"],
        "down": first["down"],
        "scale": results,
        "concurrency": concurrency,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(document, indent=1) + "\n")
    print(table(results))
    if concurrency:
        from concurrency import table as concurrency_table

        print("\n" + concurrency_table(concurrency))
    print(f"\nwritten {RESULTS / 'latest.json'}")


if __name__ == "__main__":
    main()
