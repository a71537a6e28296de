"""How long `smus-mesh verify-aws` takes against the emulator, per phase.

    .venv/bin/python bench/verify_aws.py                        # latency none, then realistic x0.05
    .venv/bin/python bench/verify_aws.py --profiles none
    .venv/bin/python bench/verify_aws.py --profiles realistic --time-scale 0.1

For each latency profile it starts the emulator in this process, points the AWS
environment at it (as `demo` does), writes the bundled two-account example to a
temporary directory, and runs the verify-aws library with every question answered yes.
It prints each phase's seconds and the total; for the `realistic` profile also the
total divided by the time scale: the emulator's model of AWS's documented durations,
an estimate of a run on AWS (an upper one: the tool's own CPU time is scaled up too).
Under a time scale the emulator's 3 TPS quota is compressed with time (60 calls/s at
x0.05), so point 9 differs there, as it should: 10 calls are not throttled.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from smus_mesh.console import NoopConsole
from smus_mesh.demo import emulated_environment
from smus_mesh.verify import Verifier
from smus_mesh_emulator.server import EmulatorServer

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "two-accounts.yaml"


def run(latency: str, time_scale: float) -> None:
    scale = 0.01 if latency == "none" else time_scale
    document = yaml.safe_load(EXAMPLE.read_text())
    # The tool's polls paced like the emulator's durations (as `demo` paces them).
    document["settings"] = {"poll_initial": 2.0 * scale, "poll_max": max(30.0 * scale, 0.05)}
    with (
        tempfile.TemporaryDirectory(prefix="smus-mesh-verify-bench-") as tmp,
        EmulatorServer(latency=latency, time_scale=time_scale, prewarm=True) as emulator,
        emulated_environment(emulator.url, Path(tmp), document["region"]),
    ):
        config = Path(tmp) / "smus-mesh.yaml"
        config.write_text(yaml.safe_dump(document, sort_keys=False))
        started = time.monotonic()
        report = Verifier(config, NoopConsole(), lambda question: True).run()
        total = time.monotonic() - started
    label = latency if latency == "none" else f"{latency} x{time_scale:g}"
    phases = "  ".join(f"{p.name} {p.seconds:.1f}" for p in report.phases)
    counts = report.counts
    print(
        f"{label:<16} total {total:7.1f}s  ok {report.ok}  pass {counts['pass']} "
        f"differs {counts['differs']} could-not-check {counts['could-not-check']}  "
        f"leftovers {report.leftovers}"
    )
    print(f"{'':<16} phases (s): {phases}")
    for check in report.checks:
        if check.outcome == "differs":
            print(f"{'':<16} point {check.point} differs: {check.observed}")
    if latency == "realistic":
        print(f"{'':<16} at AWS's pace (total / time scale): {total / time_scale / 60:.1f} min")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--profiles", nargs="+", default=["none", "realistic"])
    parser.add_argument("--time-scale", type=float, default=0.05)
    arguments = parser.parse_args()
    for profile in arguments.profiles:
        run(profile, arguments.time_scale)


if __name__ == "__main__":
    main()
