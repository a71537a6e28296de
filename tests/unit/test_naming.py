"""Names of what smus-mesh creates: deterministic, within AWS's limits, distinct per set-up."""

from __future__ import annotations

import re

import pytest

from smus_mesh.config import Config, parse_config
from smus_mesh.resources.naming import Names
from tests.unit.test_config import example

#: S3 general purpose bucket names: 3-63 characters, lower-case letters, digits, dots and
#: hyphens, starting and ending with a letter or digit.
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
#: IAM role names: up to 64 characters of [\w+=,.@-].
ROLE = re.compile(r"^[\w+=,.@-]{1,64}$")

LONGEST_SETUP = "a" + "b" * 22 + "c"  # the config allows 24 characters
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-3", "us-gov-west-1", "eu-central-2"]


def config(name: str = "demo", region: str = "us-east-1") -> Config:
    document = example()
    document["name"] = name
    document["region"] = region
    return parse_config(document, "example")


def all_role_names(names: Names) -> list[str]:
    return [
        names.domain_execution_role(),
        names.domain_service_role(),
        names.provisioning_role(),
        names.manage_access_role("dzd_" + "a1b2c3d4e5f6g7" * 2),  # ids are dzd_ + 14+ chars
    ]


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("setup", ["ab", "demo", "team-sales-2024", LONGEST_SETUP])
def test_names_fit_aws_limits(setup: str, region: str) -> None:
    names = Names(config(setup, region))
    for account in ("111111111111", "222222222222"):
        bucket = names.blueprint_bucket(account)
        assert BUCKET.match(bucket), bucket
        assert len(bucket) <= 63
        assert bucket.startswith("amazon-sagemaker-")  # SMUS policies key on the prefix
        assert account in bucket
    for role in all_role_names(names):
        assert ROLE.match(role), role
        assert len(role) <= 64
    assert len(names.project_profile("consumer")) <= 64
    assert re.fullmatch(r"[a-z0-9_]{1,255}", names.project_database("Consumer Team-1"))


def test_long_bucket_names_are_shortened_with_a_hash_and_stay_distinct() -> None:
    one = Names(config(LONGEST_SETUP, "ap-southeast-3")).blueprint_bucket("111111111111")
    other = Names(config(LONGEST_SETUP[:-1] + "d", "ap-southeast-3")).blueprint_bucket(
        "111111111111"
    )
    assert len(one) == 63
    assert one != other
    # the readable part is kept; the end is a short hash of the full name
    assert one.startswith("amazon-sagemaker-111111111111-ap-southeast-3-abbb")
    assert re.fullmatch(r"[0-9a-f]{6}", one.rsplit("-", 1)[1])


def test_names_are_stable_across_runs() -> None:
    """A run without its state file must find the same objects: same config, same names."""
    first, second = (
        Names(config(LONGEST_SETUP, "eu-west-1")),
        Names(config(LONGEST_SETUP, "eu-west-1")),
    )
    assert first.blueprint_bucket("222222222222") == second.blueprint_bucket("222222222222")
    assert all_role_names(first) == all_role_names(second)
    assert first.project_database("consumer") == second.project_database("consumer")
    assert first.data_source("producer", "retail") == second.data_source("producer", "retail")


def test_two_set_ups_never_share_a_name() -> None:
    a, b = Names(config("alpha")), Names(config("beta"))
    assert a.blueprint_bucket("111111111111") != b.blueprint_bucket("111111111111")
    assert set(all_role_names(a)[:3]).isdisjoint(all_role_names(b)[:3])
    assert a.project_profile("consumer") != b.project_profile("consumer")


def test_tags_mark_the_set_up() -> None:
    names = Names(config("alpha"))
    assert names.tags() == {"smus-mesh:setup": "alpha", "smus-mesh:managed-by": "smus-mesh"}
    assert names.is_ours(names.iam_tags())
    assert names.is_ours({"smus-mesh:setup": "alpha"})
    assert not names.is_ours({"smus-mesh:setup": "beta"})
    assert not names.is_ours([{"Key": "smus-mesh:setup", "Value": "beta"}])
    assert not names.is_ours(None)
    assert not names.is_ours([])


def test_ownership_needs_the_set_up_name_and_its_id() -> None:
    """Name and id must both match; an object with the name and no id predates ids."""
    mine = Names(config("demo"), setup_id="aaaa")
    assert mine.is_ours({"smus-mesh:setup": "demo", "smus-mesh:setup-id": "aaaa"})
    assert mine.is_ours([{"Key": "smus-mesh:setup", "Value": "demo"}])  # before ids
    assert mine.is_ours([{"key": "smus-mesh:setup", "value": "demo"}])  # RAM's spelling
    assert not mine.is_ours({"smus-mesh:setup": "demo", "smus-mesh:setup-id": "bbbb"})
    assert not mine.is_ours({"smus-mesh:setup": "other", "smus-mesh:setup-id": "aaaa"})
    assert not mine.is_ours({})
    assert not mine.is_ours(None)
    unknown = Names(config("demo"))  # id not known yet: only objects without one
    assert not unknown.is_ours({"smus-mesh:setup": "demo", "smus-mesh:setup-id": "aaaa"})
    assert mine.tags()["smus-mesh:setup-id"] == "aaaa"
    assert "smus-mesh:setup-id" not in unknown.tags()
    assert mine.owns_parameters(mine.parameters())
    assert not Names(config("demo"), setup_id="bbbb").owns_parameters(mine.parameters())
