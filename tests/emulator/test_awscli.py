"""The emulator works with the AWS CLI unchanged (awscli v1, its own vendored botocore)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.emulator.datazone_support import create_domain
from tests.support import DOMAIN_ACCOUNT, Cloud

AWS = str(Path(sys.executable).with_name("aws"))


def aws(cloud: Cloud, *args: str) -> subprocess.CompletedProcess[str]:
    credentials = cloud.session(DOMAIN_ACCOUNT).get_credentials().get_frozen_credentials()
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": credentials.access_key,
        "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
        "AWS_SESSION_TOKEN": credentials.token or "",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    env.pop("AWS_ENDPOINT_URL", None)  # --endpoint-url is what this test exercises
    return subprocess.run(
        [AWS, "--endpoint-url", cloud.url, "--output", "json", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_aws_cli_gets_a_domain_and_reports_a_missing_one(cloud: Cloud) -> None:
    domain = create_domain(cloud, name="cli-domain")

    found = aws(cloud, "datazone", "get-domain", "--identifier", domain["id"])
    assert found.returncode == 0, found.stderr
    body = json.loads(found.stdout)
    assert (body["id"], body["name"], body["domainVersion"], body["status"]) == (
        domain["id"],
        "cli-domain",
        "V2",
        "AVAILABLE",
    )

    missing = aws(cloud, "datazone", "get-domain", "--identifier", "dzd_missing")
    assert missing.returncode == 255
    assert "ResourceNotFoundException" in missing.stderr
    assert "dzd_missing not found" in missing.stderr
