"""How long the AWS CLI scenario (tests/scenarios/smus-two-accounts.sh) takes on the emulator.

    .venv/bin/python bench/cli_scenario.py                 # POLL_SECONDS=0.2
    .venv/bin/python bench/cli_scenario.py --poll 1

It starts the emulator in this process, writes the AWS config and credentials files a person
would have (the management account's keys; the domain and associated accounts reached by
assuming OrganizationAccountAccessRole) into a temporary home, runs the script with the
project venv's `aws` first on the PATH, and prints the wall time, the CPU time of the script
and its `aws` processes, the number of AWS calls the emulator served and the time it spent
serving them. Most of the wall time is the AWS CLI starting (one Python process per call).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from smus_mesh_emulator.runtime import RUNTIME
from smus_mesh_emulator.server import EmulatorServer

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "scenarios" / "smus-two-accounts.sh"
CONFIG = """\
[profile smus-management]
region = us-east-1
[profile smus-domain]
role_arn = arn:aws:iam::111111111111:role/OrganizationAccountAccessRole
source_profile = smus-management
region = us-east-1
[profile smus-consumer]
role_arn = arn:aws:iam::222222222222:role/OrganizationAccountAccessRole
source_profile = smus-management
region = us-east-1
"""
CREDENTIALS = """\
[smus-management]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = emulator-secret
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--poll", default="0.2", help="POLL_SECONDS of the script's waits")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as home, EmulatorServer(prewarm=True) as server:
        config, credentials = Path(home, "config"), Path(home, "credentials")
        config.write_text(CONFIG)
        credentials.write_text(CREDENTIALS)
        env = {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "HOME": home,
            "AWS_CONFIG_FILE": str(config),
            "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
            "AWS_ENDPOINT_URL": server.url,
            "AWS_EC2_METADATA_DISABLED": "true",
            "POLL_SECONDS": arguments.poll,
        }
        RUNTIME.reset_calls()
        started = time.perf_counter()
        result = subprocess.run(
            ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, check=False
        )
        wall = time.perf_counter() - started
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        calls = list(RUNTIME.calls)
    if result.returncode != 0:
        print(result.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"the scenario failed (exit {result.returncode})")
    print(f"wall time:        {wall:.1f} s")
    print(f"CPU (script+aws): {children.ru_utime + children.ru_stime:.1f} s")
    print(f"AWS calls:        {len(calls)}")
    print(f"emulator busy:    {sum(c.busy_ms for c in calls) / 1000:.2f} s")
    print(f"load average:     {os.getloadavg()[0]:.1f} (1 min)")


if __name__ == "__main__":
    main()
