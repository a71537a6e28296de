"""How the tool's waiting strategy costs time on a fast cloud, and how fast Ctrl-C acts.

    .venv/bin/python bench/waiting.py                 # 3 repetitions of each
    .venv/bin/python bench/waiting.py --repeat 5 --skip-interrupt

1. `up` of the bundled example against `smus-mesh emulator serve --latency none`, with
   the tool's default settings (nothing in the environment changes how it polls), next
   to `smus-mesh demo`'s `up` phase for the same config. A fast cloud must not be made
   slow by the tool's waits (issue 17.3: within 1.5x of the demo). Reported: the `up`
   process's wall time (start-up included), the run's own `wall_s`, and the demo's `up`
   phase; medians over the repetitions; each `up` is followed by a `down --yes`.
2. Ctrl-C: `up` against `emulator serve --latency realistic` (durations of AWS), a
   SIGINT once the domain is being created (a step in flight, waiting), a second SIGINT
   once "stopping:" is printed; reported: the time from the second SIGINT to the
   process's exit (issue 16.4: within 2 s) and its exit code (130), then a `down --yes`
   from the state it saved.

Every process is a separate `python -m smus_mesh`, as a user runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from importlib import resources
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]


def tool(*args: str) -> list[str]:
    return [sys.executable, "-m", "smus_mesh", *args]


#: SMUS_MESH_* settings given with --set (to compare waiting policies); none by default.
EXTRA: dict[str, str] = {}


def clean_environment(workdir: Path, endpoint: str | None = None) -> dict[str, str]:
    """The environment a user would have: dummy credentials, no SMUS_MESH_* knobs
    (unless --set gives some)."""
    empty = workdir / "aws-config"
    empty.write_text("")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(workdir),
        "AWS_ACCESS_KEY_ID": "AKIABENCHMARK0000000",
        "AWS_SECRET_ACCESS_KEY": "benchmark",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(empty),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        "AWS_EC2_METADATA_DISABLED": "true",
        "NO_COLOR": "1",
        **EXTRA,
    }
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    if os.environ.get("PYTHONPATH"):
        # So that an A/B run of another checkout's sources (PYTHONPATH=<worktree>/src)
        # runs that checkout's tool too, not the venv's editable install.
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


class Serve:
    """`smus-mesh emulator serve --port 0` as a process of its own."""

    def __init__(self, workdir: Path, latency: str) -> None:
        self.process = subprocess.Popen(
            tool("emulator", "serve", "--port", "0", "--latency", latency),
            env=clean_environment(workdir),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line.startswith("export AWS_ENDPOINT_URL="):
            self.process.kill()
            raise SystemExit(f"emulator serve did not start: {line!r}")
        self.url = line.split("=", 1)[1]

    def calls_since(self, seq: int) -> list[dict[str, Any]]:
        url = f"{self.url}/_emulator/calls?since={seq}"
        with urllib.request.urlopen(url, timeout=60) as response:
            calls: list[dict[str, Any]] = json.loads(response.read())["calls"]
        return calls

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def example(workdir: Path) -> Path:
    path = workdir / "smus-mesh.yaml"
    text = resources.files("smus_mesh").joinpath("examples/two-accounts.yaml").read_text()
    path.write_text(text)
    return path


def run_json(argv: list[str], env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    started = time.monotonic()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    try:
        report: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise SystemExit(f"{argv[3:]} failed ({done.returncode}):\n{done.stderr[-3000:]}") from None
    if done.returncode != 0:
        raise SystemExit(f"{argv[3:]} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return wall, report


def up_against_serve(repeat: int) -> dict[str, Any]:
    walls, runs, polls = [], [], []
    with tempfile.TemporaryDirectory(prefix="smus-bench-wait-") as tmp:
        workdir = Path(tmp)
        serve = Serve(workdir, "none")
        try:
            env = clean_environment(workdir, serve.url)
            config = example(workdir)
            state = workdir / "state.json"
            common = ["-c", str(config), "--state", str(state), "--output", "json"]
            for _ in range(repeat):
                wall, report = run_json(tool(*common, "up"), env)
                walls.append(wall)
                runs.append(report["wall_s"])
                polls.append(report["calls"]["by_kind"]["poll"])
                run_json(tool(*common, "down", "--yes"), env)
        finally:
            serve.stop()
    return {
        "process_wall_s": round(statistics.median(walls), 2),
        "run_wall_s": round(statistics.median(runs), 2),
        "polls": int(statistics.median(polls)),
        "all_process_wall_s": [round(w, 2) for w in walls],
    }


def demo_up(repeat: int) -> dict[str, Any]:
    ups, walls = [], []
    with tempfile.TemporaryDirectory(prefix="smus-bench-demo-") as tmp:
        env = clean_environment(Path(tmp))
        for _ in range(repeat):
            wall, report = run_json(tool("--output", "json", "demo", "--latency", "none"), env)
            ups.append(report["seconds"]["up"])
            walls.append(wall)
    return {
        "up_s": round(statistics.median(ups), 2),
        "all_up_s": [round(u, 2) for u in ups],
        "process_wall_s": round(statistics.median(walls), 2),
    }


def _wait_for(stream: IO[str], text: str, deadline: float, seen: list[str]) -> bool:
    """Read lines of `stream` until one contains `text` (True) or EOF / deadline."""
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            return False
        seen.append(line)
        if text in line:
            return True
    return False


def interrupt(latency: str) -> dict[str, Any]:
    """Two SIGINTs during a wait of `up`; the seconds from the second to the exit."""
    with tempfile.TemporaryDirectory(prefix="smus-bench-int-") as tmp:
        workdir = Path(tmp)
        serve = Serve(workdir, latency)
        try:
            env = clean_environment(workdir, serve.url)
            config = example(workdir)
            state = workdir / "state.json"
            common = ["-c", str(config), "--state", str(state)]
            process = subprocess.Popen(
                tool(*common, "up"),
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            assert process.stderr is not None
            seen: list[str] = []
            deadline = time.monotonic() + 120
            # The domain's creation is a wait of tens of seconds under realistic latency.
            if not _wait_for(process.stderr, "waiting", deadline, seen):
                process.kill()
                raise SystemExit("up never waited:\n" + "".join(seen[-20:]))
            first = time.monotonic()
            process.send_signal(signal.SIGINT)
            if not _wait_for(process.stderr, "stopping:", time.monotonic() + 10, seen):
                process.kill()
                raise SystemExit("no 'stopping:' after the first Ctrl-C:\n" + "".join(seen[-20:]))
            to_message = time.monotonic() - first
            second = time.monotonic()
            process.send_signal(signal.SIGINT)
            code = process.wait(timeout=60)
            to_exit = time.monotonic() - second
            rest = process.stderr.read()
            stopping = next(line for line in seen if "stopping:" in line).strip()
            _, down = run_json(tool(*common, "--output", "json", "down", "--yes"), env)
        finally:
            serve.stop()
    return {
        "latency": latency,
        "first_sigint_to_message_s": round(to_message, 3),
        "second_sigint_to_exit_s": round(to_exit, 3),
        "exit_code": code,
        "message": stopping,
        "last_lines": rest.strip().splitlines()[-2:],
        "down_after": {"ok": down["ok"], "leftovers": down["audit"]["leftovers"]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-interrupt", action="store_true")
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a tool setting for every run, e.g. poll_initial=0.1 (SMUS_MESH_POLL_INITIAL)",
    )
    args = parser.parse_args()
    for assignment in args.set:
        name, _, value = assignment.partition("=")
        EXTRA["SMUS_MESH_" + name.upper()] = value
    results: dict[str, Any] = {}
    print("up against `emulator serve --latency none` ...", file=sys.stderr, flush=True)
    results["serve_none_up"] = up_against_serve(args.repeat)
    results["settings"] = EXTRA
    if not args.skip_demo:
        print("demo --latency none ...", file=sys.stderr, flush=True)
        results["demo_up"] = demo_up(args.repeat)
        results["ratio_process_wall_to_demo_up"] = round(
            results["serve_none_up"]["process_wall_s"] / results["demo_up"]["up_s"], 2
        )
        results["ratio_run_wall_to_demo_up"] = round(
            results["serve_none_up"]["run_wall_s"] / results["demo_up"]["up_s"], 2
        )
    if not args.skip_interrupt:
        print("Ctrl-C twice during a realistic wait ...", file=sys.stderr, flush=True)
        results["interrupt"] = interrupt("realistic")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
