"""Which response classes the emulator serves, and how a fresh cloud is seeded.

Each emulated service registers here, in one list, so that the registration glue
(`registration.CUSTOM_RESPONSES`) is filled in one place.
"""

from __future__ import annotations

from typing import Any

from smus_mesh_emulator import accounts
from smus_mesh_emulator.registration import CUSTOM_RESPONSES


def _response_classes() -> dict[str, type[Any]]:
    from smus_mesh_emulator.athena.responses import AthenaSqlResponse
    from smus_mesh_emulator.cloudformation.responses import CloudFormationStackResponse
    from smus_mesh_emulator.codecommit.responses import RepositoryListingResponse
    from smus_mesh_emulator.datazone.responses import DataZoneResponse
    from smus_mesh_emulator.iam.responses import ManagedPolicyIamResponse
    from smus_mesh_emulator.lakeformation.responses import LakeFormationExtResponse
    from smus_mesh_emulator.organizations.responses import OrganizationsEmulatorResponse
    from smus_mesh_emulator.ram.responses import RamResponse
    from smus_mesh_emulator.redshiftserverless.responses import RedshiftServerlessResponse
    from smus_mesh_emulator.sts.responses import StrictTokenResponse

    classes: dict[str, type[Any]] = {
        "sts": StrictTokenResponse,
        "iam": ManagedPolicyIamResponse,
        "datazone": DataZoneResponse,
    }
    classes["ram"] = RamResponse
    classes["cloudformation"] = CloudFormationStackResponse
    classes["codecommit"] = RepositoryListingResponse
    classes["lakeformation"] = LakeFormationExtResponse
    classes["athena"] = AthenaSqlResponse
    classes["redshift-serverless"] = RedshiftServerlessResponse
    classes["organizations"] = OrganizationsEmulatorResponse
    return classes


def register_all() -> None:
    """Fill the custom response table, and tell RAM how to find a DataZone domain."""
    from smus_mesh_emulator.datazone.domains import domain_exists
    from smus_mesh_emulator.ram.models import DATAZONE_DOMAIN_TYPE, RESOURCE_EXISTS

    CUSTOM_RESPONSES.update(_response_classes())
    RESOURCE_EXISTS[DATAZONE_DOMAIN_TYPE] = domain_exists


#: Services the workflow calls, warmed up front by `prewarm` (their first use otherwise
#: costs up to a second, e.g. moto's EC2 building each account's default VPC).
WORKFLOW_SERVICES = (
    "sts",
    "iam",
    "s3",
    "ec2",
    "glue",
    "lakeformation",
    "athena",
    "ram",
    "cloudformation",
    "codecommit",
    "datazone",
)


def seed(member_count: int = accounts.DEFAULT_MEMBER_COUNT, prewarm_backends: bool = False) -> None:
    """Make a reset cloud look like a fresh organization: the management account and
    `member_count` member accounts with their role; optionally build every workflow
    backend of every account now rather than on first use."""
    from smus_mesh_emulator.organizations import models as organizations

    organizations.seed(member_count)
    if prewarm_backends:
        from moto.backends import get_backend

        for service in WORKFLOW_SERVICES:
            backends = _datazone_backends() if service == "datazone" else get_backend(service)
            for account_id in organizations.known_accounts():
                regions = backends[account_id]
                for region in ("us-east-1", "global", "aws"):
                    try:
                        regions[region]
                        break
                    except KeyError:
                        continue


def _datazone_backends() -> Any:
    from smus_mesh_emulator.datazone.models import datazone_backends

    return datazone_backends


def known_accounts() -> list[str]:
    from smus_mesh_emulator.organizations.models import known_accounts

    return known_accounts()
