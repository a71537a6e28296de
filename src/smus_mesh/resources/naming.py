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
import secrets

from smus_mesh.config import Config

SETUP_TAG = "smus-mesh:setup"
#: A random id of one set-up, made by its first `up`, kept in its state file and on its
#: domain: the set-up name alone can be reused by another config in the same accounts.
SETUP_ID_TAG = "smus-mesh:setup-id"
MANAGED_TAG = "smus-mesh:managed-by"

#: The state file's record of the set-up itself (its id, the ids of its domains and
#: projects, the subscriptions `unsubscribe` ended): not a step of the graph.
SETUP_RECORD = "smus-mesh:setup"

#: Glue table parameter that marks a table smus-mesh created (Glue tables have no tags API
#: that works for every account type; parameters are part of the table itself).
TABLE_OWNER_PARAMETER = "smus-mesh:setup"
SETUP_ID_PARAMETER = "smus-mesh:setup-id"


def new_setup_id() -> str:
    """A fresh set-up id (random; short enough for every tag and parameter value)."""
    return secrets.token_hex(8)


def _short_hash(text: str, length: int = 6) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


class Names:
    """Names and tags of one set-up."""

    def __init__(self, config: Config, setup_id: str | None = None) -> None:
        self.config = config
        self.setup = config.name
        self.region = config.region
        #: The set-up's id (None until the workspace has read it from the state file or the
        #: domain, or made one): what tells this set-up from another of the same name.
        self.setup_id = setup_id

    # tags ---------------------------------------------------------------------------
    def tags(self) -> dict[str, str]:
        tags = {SETUP_TAG: self.setup, MANAGED_TAG: "smus-mesh"}
        if self.setup_id:
            tags[SETUP_ID_TAG] = self.setup_id
        return tags

    def iam_tags(self) -> list[dict[str, str]]:
        return [{"Key": k, "Value": v} for k, v in self.tags().items()]

    def is_ours(self, tags: dict[str, str] | list[dict[str, str]] | None) -> bool:
        """Tagged with this set-up's name and id. An object tagged with the name and no id
        was made before set-up ids existed, and is taken as this set-up's."""
        if isinstance(tags, list):
            tags = {
                str(t.get("Key", t.get("key", ""))): str(t.get("Value", t.get("value", "")))
                for t in tags
            }
        if not tags or tags.get(SETUP_TAG) != self.setup:
            return False
        marked = tags.get(SETUP_ID_TAG)
        return marked is None or marked == self.setup_id

    def marks(self, name_key: str, id_key: str) -> dict[str, str]:
        """Key-value marks (Glue parameters, S3 object metadata) naming this set-up."""
        marks = {name_key: self.setup}
        if self.setup_id:
            marks[id_key] = self.setup_id
        return marks

    def owns_marks(self, marks: dict[str, str] | None, name_key: str, id_key: str) -> bool:
        """The marks name this set-up, and its id when they carry one (see `is_ours`)."""
        marks = marks or {}
        if marks.get(name_key) != self.setup:
            return False
        marked = marks.get(id_key)
        return marked is None or marked == self.setup_id

    def parameters(self) -> dict[str, str]:
        """The Glue parameters that mark a database or table as this set-up's."""
        return self.marks(TABLE_OWNER_PARAMETER, SETUP_ID_PARAMETER)

    def owns_parameters(self, parameters: dict[str, str] | None) -> bool:
        return self.owns_marks(parameters, TABLE_OWNER_PARAMETER, SETUP_ID_PARAMETER)

    # IAM roles (workflow.md Phase A) -----------------------------------------------
    SERVICE_ROLE_PATH = "/service-role/"

    def domain_execution_role(self) -> str:
        return f"AmazonSageMakerDomainExecution-{self.setup}"

    def domain_service_role(self) -> str:
        return f"AmazonSageMakerDomainService-{self.setup}"

    def provisioning_role(self) -> str:
        return f"AmazonSageMakerProvisioning-{self.setup}"

    def manage_access_role(self, domain_id: str) -> str:
        if self.config.domain.joined:
            # A joined domain's owner has the documented name already (ADR 26); set-ups
            # beside each other on one joined domain need one role each.
            return f"AmazonSageMakerManageAccess-{self.setup}"
        # The documented pattern; the domain id makes it unique per set-up.
        return f"AmazonSageMakerManageAccess-{self.region}-{domain_id}"[:64]

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
