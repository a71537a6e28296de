"""A shell script written for real accounts runs unchanged on the emulator: the admin guide's
two-account SageMaker Unified Studio set-up with the AWS CLI (tests/scenarios/), then a plain
boto3 client checks what it made."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.scenarios.aws_forkserver import write_shim
from tests.support import BASE_ACCOUNT, CONSUMER_ACCOUNT, DOMAIN_ACCOUNT, REGION, Cloud

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "scenarios" / "smus-two-accounts.sh"
FORKSERVER = ROOT / "tests" / "scenarios" / "aws_forkserver.py"
#: The profiles a person would have in ~/.aws/config: the management account's keys, and
#: the member accounts reached by assuming OrganizationAccountAccessRole from them.
AWS_CONFIG = f"""\
[profile smus-management]
region = {REGION}

[profile smus-domain]
role_arn = arn:aws:iam::{DOMAIN_ACCOUNT}:role/OrganizationAccountAccessRole
source_profile = smus-management
region = {REGION}

[profile smus-consumer]
role_arn = arn:aws:iam::{CONSUMER_ACCOUNT}:role/OrganizationAccountAccessRole
source_profile = smus-management
region = {REGION}
"""
#: ~/.aws/credentials: any keys are the management account's on the emulator.
AWS_CREDENTIALS = """\
[smus-management]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = emulator-secret
"""


@contextmanager
def aws_forkserver(env: dict[str, str], shims: Path) -> Iterator[Path]:
    """The fork server in the script's environment (the CLI reads HOME at import), and
    `aws` in `shims` pointing at it; stopped afterwards."""
    # A Unix socket path has ~100 characters at most: not under pytest's tmp_path.
    with tempfile.TemporaryDirectory(prefix="aws-") as directory:
        socket_path = Path(directory) / "cli.sock"
        server = subprocess.Popen(
            [sys.executable, str(FORKSERVER), str(socket_path)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            assert server.stdout.readline() == "ready\n", "the AWS CLI fork server did not start"
            yield write_shim(shims, socket_path)
        finally:
            server.terminate()  # it waits for its last children, so their CPU time counts
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=30)


def run_scenario(cloud: Cloud, tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "aws-config"
    config.write_text(AWS_CONFIG)
    credentials = tmp_path / "aws-credentials"
    credentials.write_text(AWS_CREDENTIALS)
    shims = tmp_path / "bin"
    shims.mkdir()
    env = {
        **os.environ,
        # `aws` first on the PATH: the project venv's AWS CLI, each command in a process of
        # its own forked from one that imported the CLI once (tests/scenarios/aws_forkserver.py)
        "PATH": f"{shims}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        # the CLI caches assumed-role credentials under ~/.aws/cli/cache: a home of its
        # own, or keys cached against another emulator run would be reused
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "MANAGEMENT_PROFILE": "smus-management",
        "AWS_ENDPOINT_URL": cloud.url,
        "POLL_SECONDS": "0.05",
        "MAX_POLLS": "200",
    }
    with aws_forkserver(env, shims):
        result = subprocess.run(
            ["bash", str(SCRIPT)],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "error:" not in result.stderr, result.stderr[-4000:]
    return dict(line.split("=", 1) for line in result.stdout.splitlines())


def test_the_admin_guide_two_account_set_up_runs_as_an_aws_cli_script(
    cloud: Cloud, tmp_path: Path
) -> None:
    out = run_scenario(cloud, tmp_path)

    # The table Athena made and filled, read back through Athena by the script.
    assert (out["DATABASE"], out["TABLE"], out["ROWS"]) == ("smusdemo_retail", "inventory", "5")

    datazone = cloud.client("datazone", DOMAIN_ACCOUNT)
    domain = datazone.get_domain(identifier=out["DOMAIN_ID"])
    assert (domain["name"], domain["status"], domain["domainVersion"]) == (
        "smusdemo",
        "AVAILABLE",
        "V2",
    )

    # The ORG-ONLY share associated the consumer account without an invitation.
    assert out["INVITATIONS"] == "0"
    ram = cloud.client("ram", DOMAIN_ACCOUNT)
    [share] = ram.get_resource_shares(resourceOwner="SELF", resourceShareArns=[out["SHARE_ARN"]])[
        "resourceShares"
    ]
    assert (share["allowExternalPrincipals"], share["status"]) == (False, "ACTIVE")
    [association] = ram.get_resource_share_associations(
        associationType="PRINCIPAL", resourceShareArns=[out["SHARE_ARN"]]
    )["resourceShareAssociations"]
    assert (association["associatedEntity"], association["status"], association["external"]) == (
        CONSUMER_ACCOUNT,
        "ASSOCIATED",
        False,
    )
    organization = cloud.client("organizations", BASE_ACCOUNT)
    access = organization.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
    assert [s["ServicePrincipal"] for s in access] == ["ram.amazonaws.com"]

    # Both projects deployed, each in its own account.
    for project_id, account in (
        (out["PRODUCER_PROJECT"], DOMAIN_ACCOUNT),
        (out["CONSUMER_PROJECT"], CONSUMER_ACCOUNT),
    ):
        project = datazone.get_project(domainIdentifier=out["DOMAIN_ID"], identifier=project_id)
        details = project["environmentDeploymentDetails"]
        assert details["overallDeploymentStatus"] == "SUCCESSFUL", details
        environments = datazone.list_environments(
            domainIdentifier=out["DOMAIN_ID"], projectIdentifier=project_id
        )["items"]
        assert sorted((e["name"], e["awsAccountId"], e["status"]) for e in environments) == [
            ("Lakehouse Database", account, "ACTIVE"),
            ("Tooling", account, "ACTIVE"),
        ]

    # Blueprints enabled by each account with its own credentials, and granted.
    for account in (DOMAIN_ACCOUNT, CONSUMER_ACCOUNT):
        configurations = cloud.client(
            "datazone", account
        ).list_environment_blueprint_configurations(domainIdentifier=out["DOMAIN_ID"])["items"]
        assert len(configurations) == 2, configurations
        assert {c["provisioningRoleArn"].split(":")[4] for c in configurations} == {account}

    # The table is Lake Formation only, and DataZone may import it.
    lakeformation = cloud.client("lakeformation", DOMAIN_ACCOUNT)
    table = {"Table": {"DatabaseName": out["DATABASE"], "Name": out["TABLE"]}}
    held = lakeformation.list_permissions(Resource=table)["PrincipalResourcePermissions"]
    holders = {p["Principal"]["DataLakePrincipalIdentifier"]: p for p in held}
    assert "IAM_ALLOWED_PRINCIPALS" not in holders
    assert holders[out["PRODUCER_ROLE"]]["Permissions"] == ["ALL"]
    manage_access = (
        f"arn:aws:iam::{DOMAIN_ACCOUNT}:role/service-role/"
        f"AmazonSageMakerManageAccess-{REGION}-{out['DOMAIN_ID']}"
    )
    assert sorted(holders[manage_access]["Permissions"]) == ["DESCRIBE", "SELECT"]
    registered = lakeformation.list_resources()["ResourceInfoList"]
    assert [r["ResourceArn"] for r in registered] == [
        f"arn:aws:s3:::smusdemo-data-{DOMAIN_ACCOUNT}-{REGION}"
    ]
