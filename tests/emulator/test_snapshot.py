"""The suite's snapshots of the emulated cloud (smus_mesh_emulator.snapshot, ADR 32): a
restore brings back every service as it was, the shared namespaces included, as often as
asked; a cloud with work in flight is not copied."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from smus_mesh_emulator import snapshot
from tests.emulator.datazone_support import create_role
from tests.support import CONSUMER_ACCOUNT, DOMAIN_ACCOUNT, Cloud


def _buckets(cloud: Cloud, account: str) -> list[str]:
    return sorted(b["Name"] for b in cloud.client("s3", account).list_buckets()["Buckets"])


def test_a_restore_brings_back_every_service_as_it_was_each_time(cloud: Cloud) -> None:
    s3 = cloud.client("s3", DOMAIN_ACCOUNT)
    s3.create_bucket(Bucket="kept-bucket")
    s3.put_object(Bucket="kept-bucket", Key="a.csv", Body=b"id\n1\n")
    role = create_role(cloud, DOMAIN_ACCOUNT, "KeptRole")
    # (the consumer's session is made before: its credentials are part of the snapshot)
    assert _buckets(cloud, CONSUMER_ACCOUNT) == []
    taken = snapshot.take()

    for _ in range(2):
        s3 = cloud.client("s3", DOMAIN_ACCOUNT)
        s3.create_bucket(Bucket="later-bucket")
        s3.put_object(Bucket="kept-bucket", Key="a.csv", Body=b"changed")
        cloud.client("iam", DOMAIN_ACCOUNT).delete_role(RoleName="KeptRole")

        snapshot.restore(taken)

        assert cloud.calls() == []  # the calls log starts empty, as after a reset
        assert _buckets(cloud, DOMAIN_ACCOUNT) == ["kept-bucket"]
        body = cloud.client("s3", DOMAIN_ACCOUNT).get_object(Bucket="kept-bucket", Key="a.csv")
        assert body["Body"].read() == b"id\n1\n"
        iam = cloud.client("iam", DOMAIN_ACCOUNT)
        assert iam.get_role(RoleName="KeptRole")["Role"]["Arn"] == role
        # S3's bucket namespace is shared by the accounts: the later bucket's name is free
        # again (another account may take it), the kept one's is not.
        consumer = cloud.client("s3", CONSUMER_ACCOUNT)
        consumer.create_bucket(Bucket="later-bucket")
        with pytest.raises(ClientError) as taken_name:
            consumer.create_bucket(Bucket="kept-bucket")
        assert taken_name.value.response["Error"]["Code"] == "BucketAlreadyExists"
        snapshot.restore(taken)  # the consumer's bucket goes too
        assert _buckets(cloud, CONSUMER_ACCOUNT) == []


def test_objects_keep_their_contents_across_the_next_tests_reset(cloud: Cloud) -> None:
    """S3's reset closes the buffer of every object moto knows of: not the snapshot's."""
    s3 = cloud.client("s3", DOMAIN_ACCOUNT)
    s3.create_bucket(Bucket="kept-bucket")
    s3.put_object(Bucket="kept-bucket", Key="a.csv", Body=b"id\n1\n")
    taken = snapshot.take()
    for _ in range(2):
        cloud.reset()  # as the next test's `cloud` fixture does
        snapshot.restore(taken)
        body = cloud.client("s3", DOMAIN_ACCOUNT).get_object(Bucket="kept-bucket", Key="a.csv")
        assert body["Body"].read() == b"id\n1\n"


def test_a_cloud_with_a_transition_in_flight_is_not_copied_until_it_ends(cloud: Cloud) -> None:
    execution = create_role(cloud, DOMAIN_ACCOUNT, "corp-DomainExecution")
    service = create_role(cloud, DOMAIN_ACCOUNT, "corp-DomainService")
    datazone = cloud.client("datazone", DOMAIN_ACCOUNT)
    created = datazone.create_domain(
        name="corp",
        domainExecutionRole=execution,
        serviceRole=service,
        domainVersion="V2",
        singleSignOn={"type": "DISABLED"},
    )
    assert created["status"] == "CREATING"
    with pytest.raises(
        snapshot.SnapshotError, match=r"^\d+ transition\(s\) still in progress after 0 s$"
    ):
        snapshot.take(settle=0)
    # Nobody reads the domain: it ends within the first-read grace, and then it is copied.
    taken = snapshot.take(settle=10)
    datazone.delete_domain(identifier=created["id"])
    snapshot.restore(taken)
    domain = cloud.client("datazone", DOMAIN_ACCOUNT).get_domain(identifier=created["id"])
    assert domain["status"] == "AVAILABLE"
