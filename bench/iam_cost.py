"""What strict IAM (`--iam enforce`, ADR 21/25) costs a request on the emulator.

    .venv/bin/python bench/iam_cost.py              # 5 blocks of 80 requests per mode
    .venv/bin/python bench/iam_cost.py --blocks 9

It starts the emulator in this process, assumes OrganizationAccountAccessRole in the
producer account (so every request is authorised by policy evaluation, not as root), and
times Glue GetDatabase and S3 HeadBucket in blocks, switching the mode between blocks
(`POST /_emulator/iam`) so that both modes see the same load. It prints the median
milliseconds a request per mode and the difference.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import urllib.request

import boto3

from smus_mesh.emulated import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY
from smus_mesh_emulator.server import EmulatorServer

ROLE = "arn:aws:iam::111111111111:role/OrganizationAccountAccessRole"
PER_BLOCK = 40  # each of two calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--blocks", type=int, default=5, help="blocks of requests per mode")
    arguments = parser.parse_args()
    os.environ.update(
        AWS_ACCESS_KEY_ID=TEST_ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY=TEST_SECRET_ACCESS_KEY,
        AWS_DEFAULT_REGION="us-east-1",
    )
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)
    with EmulatorServer(iam="off") as server:

        def mode(value: str) -> None:
            body = json.dumps({"mode": value}).encode()
            request = urllib.request.Request(f"{server.url}/_emulator/iam", body, method="POST")
            with urllib.request.urlopen(request) as answer:  # the loopback emulator
                answer.read()

        sts = boto3.client("sts", endpoint_url=server.url)
        credentials = sts.assume_role(RoleArn=ROLE, RoleSessionName="bench")["Credentials"]
        session = boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name="us-east-1",
        )
        glue = session.client("glue", endpoint_url=server.url)
        s3 = session.client("s3", endpoint_url=server.url)
        s3.create_bucket(Bucket="bench-bucket")
        glue.create_database(DatabaseInput={"Name": "bench"})
        per_request: dict[str, list[float]] = {"off": [], "enforce": []}
        for _ in range(arguments.blocks):
            for value in per_request:
                mode(value)
                started = time.perf_counter()
                for _ in range(PER_BLOCK):
                    glue.get_database(Name="bench")
                    s3.head_bucket(Bucket="bench-bucket")
                elapsed = time.perf_counter() - started
                per_request[value].append(elapsed / (2 * PER_BLOCK) * 1000)
    medians = {value: statistics.median(times) for value, times in per_request.items()}
    for value, median in medians.items():
        print(f"{value:8} {median:6.2f} ms a request (median of {arguments.blocks} blocks)")
    print(f"enforce costs {medians['enforce'] - medians['off']:+.2f} ms a request")


if __name__ == "__main__":
    main()
