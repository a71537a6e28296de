"""CodeCommit ListRepositories: sorting, ordering, pages of 1,000 and bad inputs."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError
from moto.codecommit.models import codecommit_backends

from smus_mesh_emulator.codecommit.responses import PAGE_SIZE
from smus_mesh_emulator.runtime import RUNTIME
from tests.support import CONSUMER_ACCOUNT, DOMAIN_ACCOUNT, REGION, Cloud


def names(cloud: Cloud, **params: str) -> list[str]:
    response = cloud.client("codecommit").list_repositories(**params)
    return [r["repositoryName"] for r in response["repositories"]]


def test_repositories_sort_by_name_or_last_modification(cloud: Cloud) -> None:
    codecommit = cloud.client("codecommit")
    ids = {}
    for name in ("charlie", "bravo", "alpha"):
        ids[name] = codecommit.create_repository(repositoryName=name)["repositoryMetadata"][
            "repositoryId"
        ]
        time.sleep(0.01)  # distinct millisecond timestamps

    listed = codecommit.list_repositories()["repositories"]
    assert listed == [{"repositoryName": n, "repositoryId": ids[n]} for n in sorted(ids)]
    assert names(cloud, order="descending") == ["charlie", "bravo", "alpha"]
    assert names(cloud, sortBy="lastModifiedDate") == ["charlie", "bravo", "alpha"]
    assert names(cloud, sortBy="lastModifiedDate", order="descending") == [
        "alpha",
        "bravo",
        "charlie",
    ]
    assert cloud.client("codecommit", CONSUMER_ACCOUNT).list_repositories()["repositories"] == []


def test_repositories_come_in_pages_of_a_thousand(cloud: Cloud) -> None:
    with RUNTIME.lock:  # seeded in-process: a thousand create calls would be slow
        backend = codecommit_backends[DOMAIN_ACCOUNT][REGION]
        for index in range(PAGE_SIZE + 1):
            backend.create_repository(f"repo-{index:04d}", "")
    codecommit = cloud.client("codecommit")
    first = codecommit.list_repositories()
    assert len(first["repositories"]) == PAGE_SIZE
    second = codecommit.list_repositories(nextToken=first["nextToken"])
    assert [r["repositoryName"] for r in second["repositories"]] == [f"repo-{PAGE_SIZE:04d}"]
    assert "nextToken" not in second
    pages = codecommit.get_paginator("list_repositories").paginate()
    assert sum(len(page["repositories"]) for page in pages) == PAGE_SIZE + 1


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        (
            {"sortBy": "size"},
            "InvalidSortByException",
            "The specified sort by value size is not valid.",
        ),
        (
            {"order": "sideways"},
            "InvalidOrderException",
            "The specified sort order sideways is not valid.",
        ),
        (
            {"nextToken": "bogus"},
            "InvalidContinuationTokenException",
            "The specified continuation token is not valid.",
        ),
    ],
)
def test_bad_listing_parameters_are_refused(
    cloud: Cloud, params: dict[str, str], code: str, message: str
) -> None:
    cloud.client("codecommit").create_repository(repositoryName="one")
    with pytest.raises(ClientError) as excinfo:
        cloud.client("codecommit").list_repositories(**params)
    assert excinfo.value.response["Error"]["Code"] == code
    assert excinfo.value.response["Error"]["Message"] == message


def test_repository_tags_round_trip_and_name_missing_repositories(cloud: Cloud) -> None:
    codecommit = cloud.client("codecommit", CONSUMER_ACCOUNT)
    arn = codecommit.create_repository(
        repositoryName="tagged", tags={"AmazonDataZoneDomain": "dzd_x", "team": "a"}
    )["repositoryMetadata"]["Arn"]
    assert codecommit.list_tags_for_resource(resourceArn=arn)["tags"] == {
        "AmazonDataZoneDomain": "dzd_x",
        "team": "a",
    }
    codecommit.tag_resource(resourceArn=arn, tags={"stage": "dev"})
    codecommit.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert codecommit.list_tags_for_resource(resourceArn=arn)["tags"] == {
        "AmazonDataZoneDomain": "dzd_x",
        "stage": "dev",
    }
    with pytest.raises(ClientError) as missing:
        codecommit.list_tags_for_resource(resourceArn=arn.replace("tagged", "gone"))
    assert missing.value.response["Error"]["Code"] == "RepositoryDoesNotExistException"
    assert "gone does not exist" in missing.value.response["Error"]["Message"]
