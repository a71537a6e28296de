"""Which response classes the emulator serves, and how a fresh cloud is seeded.

Each emulated service registers here, in one list, so that the registration glue
(`registration.CUSTOM_RESPONSES`) is filled in one place.
"""

from __future__ import annotations

from typing import Any

from smus_mesh.emulator import accounts
from smus_mesh.emulator.registration import CUSTOM_RESPONSES


def _response_classes() -> dict[str, type[Any]]:
    from smus_mesh.emulator.athena_sql import AthenaSqlResponse
    from smus_mesh.emulator.cfn_ext import CloudFormationStackResponse
    from smus_mesh.emulator.codecommit_ext import RepositoryListingResponse
    from smus_mesh.emulator.datazone.responses import DataZoneResponse
    from smus_mesh.emulator.iam_ext import ManagedPolicyIamResponse
    from smus_mesh.emulator.lakeformation_ext import LakeFormationExtResponse
    from smus_mesh.emulator.ram_ext import RamResponse

    classes: dict[str, type[Any]] = {
        "sts": accounts.StrictTokenResponse,
        "iam": ManagedPolicyIamResponse,
        "datazone": DataZoneResponse,
    }
    classes["ram"] = RamResponse
    classes["cloudformation"] = CloudFormationStackResponse
    classes["codecommit"] = RepositoryListingResponse
    classes["lakeformation"] = LakeFormationExtResponse
    classes["athena"] = AthenaSqlResponse
    return classes


def register_all() -> None:
    """Fill the custom response table."""
    CUSTOM_RESPONSES.update(_response_classes())


def seed() -> None:
    """Make a reset cloud look like a fresh organisation: member accounts and their role."""
    accounts.bootstrap()


def known_accounts() -> list[str]:
    return accounts.known_accounts()
