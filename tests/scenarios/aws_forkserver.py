"""Run a shell script's `aws` commands without importing the AWS CLI once per command.

Starting `aws` costs ~0.8 s of imports (awscli, botocore, the command table) before it sends
a single request; a scenario script runs hundreds of them. This fork server imports the AWS
CLI once, then, for every `aws ...` the script runs, forks a child that runs the real
`awscli.clidriver.main()` on that command's argv, environment, working directory and
stdin/stdout/stderr (passed over a Unix socket), and reports its exit code. Each command
still gets a process and a CLI driver of its own; only the imports are shared.

`aws` on the script's PATH is a tiny shim (`write_shim`): stdlib-only Python started with
`-I -S` that forwards its argv, environment and file descriptors here.

    python tests/scenarios/aws_forkserver.py SOCKET   # serves until SIGTERM (or killed)
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import sys
import traceback
from pathlib import Path
from typing import Any

_HEADER = struct.Struct("!I")

#: The `aws` shim: connect, send argv/environment/cwd with fds 0-2, wait for the exit code.
SHIM = """\
#!{python} -IS
import json, os, socket, struct, sys
request = json.dumps(
    {{"argv": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd()}}
).encode()
with socket.socket(socket.AF_UNIX) as server:
    server.connect({socket_path!r})
    socket.send_fds(server, [struct.pack("!I", len(request))], [0, 1, 2])
    server.sendall(request)
    reply = b""
    while chunk := server.recv(16):
        reply += chunk
sys.exit(int(reply) if reply else 255)
"""


def write_shim(directory: Path, socket_path: Path) -> Path:
    """An executable `aws` in `directory` that runs its command on the fork server."""
    shim = directory / "aws"
    shim.write_text(SHIM.format(python=sys.executable, socket_path=str(socket_path)))
    shim.chmod(0o755)
    return shim


def _receive(connection: socket.socket) -> tuple[dict[str, object], list[int]]:
    header, fds, _, _ = socket.recv_fds(connection, _HEADER.size, 3)
    while len(header) < _HEADER.size:
        header += connection.recv(_HEADER.size - len(header))
    (length,) = _HEADER.unpack(header)
    body = b""
    while len(body) < length:
        chunk = connection.recv(length - len(body))
        if not chunk:
            raise ConnectionError("the shim hung up mid-request")
        body += chunk
    return json.loads(body), fds


def _run_command(driver: Any, request: dict[str, object], fds: list[int]) -> int:
    """In the forked child: become the `aws` process the shim stands for."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(str(request["cwd"]))
    # awscli extends AWS_DATA_PATH with its own data when imported: keep that value
    data_path = os.environ["AWS_DATA_PATH"]
    os.environ.clear()
    os.environ.update(dict(request["env"]))  # type: ignore[call-overload]
    os.environ["AWS_DATA_PATH"] = data_path
    sys.argv = ["aws", *request["argv"]]  # type: ignore[misc]
    try:
        return int(driver.main(sys.argv[1:]))
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        traceback.print_exc()
        return 255
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


#: The services whose models every fork finds parsed (`aws s3api` is the model `s3`).
WARM_SERVICES = (
    "athena",
    "datazone",
    "ec2",
    "iam",
    "lakeformation",
    "organizations",
    "ram",
    "s3",
    "sts",
)


def _warm() -> Any:
    """Load what a first command loads lazily, once, so every fork inherits it: the command
    tables, and the botocore data loader with the service models parsed (most of a
    command's own time is JSON parsing of models it reads again each run)."""
    import awscli.clidriver
    import botocore.session

    driver = awscli.clidriver.create_clidriver()
    commands = driver._get_command_table()
    for service in WARM_SERVICES:
        driver.session.create_client(service, region_name="us-east-1")
        commands["s3api" if service == "s3" else service]._get_command_table()
    loader = driver.session.get_component("data_loader")
    # every session a fork's CLI creates gets this loader (its caches are the parsed models)
    botocore.session.create_loader = lambda *args, **kwargs: loader  # type: ignore[assignment]
    # A fresh driver for the forks: `aws` builds its driver (plugins, ~400 event handlers)
    # before it reads argv; the session reads the environment and the profile only when a
    # command runs, so building it here, before the fork, changes nothing it sees.
    return awscli.clidriver.create_clidriver()


def _reap(signum: int, frame: Any) -> None:
    """Wait for every child that has exited. Children the kernel reaps itself (SIGCHLD
    ignored) leave no CPU time behind; waited for, theirs adds up in this process's
    children's time, and so in the test's (`tests/cpu_times.py`) once it waits for this one."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:  # none left
        pass


def _finish(signum: int, frame: Any) -> None:
    """SIGTERM: wait for the children still running (their time counts too), then exit."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    try:
        while True:
            os.wait()
    except ChildProcessError:  # none left
        sys.exit(0)


def serve(socket_path: str) -> None:
    driver = _warm()
    signal.signal(signal.SIGCHLD, _reap)
    signal.signal(signal.SIGTERM, _finish)
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(socket_path)
        listener.listen(16)
        print("ready", flush=True)
        while True:
            connection, _ = listener.accept()
            request, fds = _receive(connection)
            if os.fork() == 0:
                listener.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                code = _run_command(driver, request, fds)
                connection.sendall(str(code).encode())
                os._exit(code)
            for fd in fds:
                os.close(fd)
            connection.close()


if __name__ == "__main__":
    serve(sys.argv[1])
