"""Every name smus-mesh gives to what it creates, derived from the config alone.

Names are deterministic so that a run without its state file (lost, or a
different machine) finds the same objects; they carry the set-up name so that
two set-ups in one account never collide. Role names keep the prefixes AWS
documents (AmazonSageMaker*, workflow.md Phase A) because AWS managed policies
and console features key on them; buckets keep `amazon-sagemaker-` for the same
reason.
"""

from __future__ import annotations

import hashlib
import re

from smus_mesh.config import Config

SETUP_TAG = "smus-mesh:setup"
MANAGED_TAG = "smus-mesh:managed-by"

#: Glue table parameter that marks a table smus-mesh created (Glue tables have no tags API
#: that works for every account type; parameters are part of the table itself).
TABLE_OWNER_PARAMETER = "smus-mesh:setup"


def _short_hash(text: str, length: int = 6) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


class Names:
    """Names and tags of one set-up."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.setup = config.name
        self.region = config.region

    # tags ---------------------------------------------------------------------------
    def tags(self) -> dict[str, str]:
        return {SETUP_TAG: self.setup, MANAGED_TAG: "smus-mesh"}

    def iam_tags(self) -> list[dict[str, str]]:
        return [{"Key": k, "Value": v} for k, v in self.tags().items()]

    def is_ours(self, tags: dict[str, str] | list[dict[str, str]] | None) -> bool:
        if isinstance(tags, list):
            tags = {t.get("Key", ""): t.get("Value", "") for t in tags}
        return bool(tags) and tags.get(SETUP_TAG) == self.setup  # type: ignore[union-attr]

    # IAM roles (workflow.md Phase A) -----------------------------------------------
    SERVICE_ROLE_PATH = "/service-role/"

    def domain_execution_role(self) -> str:
        return f"AmazonSageMakerDomainExecution-{self.setup}"

    def domain_service_role(self) -> str:
        return f"AmazonSageMakerDomainService-{self.setup}"

    def provisioning_role(self) -> str:
        return f"AmazonSageMakerProvisioning-{self.setup}"

    def manage_access_role(self, domain_id: str) -> str:
        # The documented pattern; the domain id makes it unique per set-up.
        return f"AmazonSageMakerManageAccess-{self.region}-{domain_id}"[:64]

    def manage_access_role_prefix(self) -> str:
        return f"AmazonSageMakerManageAccess-{self.region}-dzd"

    # S3 -----------------------------------------------------------------------------------
    def blueprint_bucket(self, account_id: str) -> str:
        """The Tooling blueprint's S3Location bucket of an account (SMUS policies expect
        the `amazon-sagemaker-` prefix)."""
        name = f"amazon-sagemaker-{account_id}-{self.region}-{self.setup}"
        if len(name) > 63:
            name = f"{name[:56]}-{_short_hash(name)}"
        return name

    # DataZone --------------------------------------------------------------------------------
    def project_profile(self, alias: str) -> str:
        return f"{self.setup}-{alias}"[:64]

    def project_database(self, project: str) -> str:
        """The Glue database of a project's Lakehouse environment (glueDbName)."""
        base = re.sub(r"[^a-z0-9_]", "_", f"{self.setup}_{project}".lower())
        return base[:255]

    def data_source(self, project: str, database: str) -> str:
        return f"{self.setup}-{project}-{database}"[:256]
