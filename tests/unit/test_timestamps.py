"""The sessions' timestamp parser (ADR 41) reads the same instant as botocore's own, and
refuses what botocore refuses; a session's clients use it."""

from __future__ import annotations

import datetime
import random
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.utils import parse_timestamp as botocore_parse_timestamp

from smus_mesh.accounts import new_session, parse_timestamp

SAME = [
    0,
    -5,
    1_700_000_000,
    1_700_000_000.123456,
    "2026-12-04T10:36:07Z",
    "2026-12-04T10:36:07.1Z",
    "2026-12-04T10:36:07.123456Z",
    "2026-12-04T10:36:07.123456789Z",
    "2026-12-04T10:36:07+01:00",
    "Fri, 04 Dec 2026 10:36:07 GMT",
    "1700000000",
]


@pytest.mark.parametrize("value", SAME)
def test_a_timestamp_is_the_instant_botocore_reads(value: Any) -> None:
    ours, theirs = parse_timestamp(value), botocore_parse_timestamp(value)
    assert ours == theirs
    if not isinstance(value, int | float):  # an epoch's offset was the machine's
        assert ours.utcoffset() == theirs.utcoffset()
    assert (ours.microsecond, ours.tzinfo is None) == (theirs.microsecond, theirs.tzinfo is None)


def test_an_epoch_reads_in_utc_and_iso_utc_as_botocore_prints_it() -> None:
    assert parse_timestamp(1_700_000_000).tzinfo is datetime.UTC
    for value in ("2026-12-04T10:36:07.5Z", "Fri, 04 Dec 2026 10:36:07 GMT"):
        assert str(parse_timestamp(value)) == str(botocore_parse_timestamp(value))
    rng = random.Random(41)
    for _ in range(2_000):
        number = rng.uniform(-1e10, 4e10)
        epoch = int(number) if rng.random() < 0.5 else number
        assert parse_timestamp(epoch) == botocore_parse_timestamp(epoch)
        text = parse_timestamp(epoch).strftime("%Y-%m-%dT%H:%M:%S")
        text += rng.choice(["", ".1", ".123", ".123456", ".1234567"]) + "Z"
        assert str(parse_timestamp(text)) == str(botocore_parse_timestamp(text))


@pytest.mark.parametrize("value", ["2026-02-30T10:00:00Z", "2026-12-04T23:59:60Z", "soon", None])
def test_what_botocore_refuses_is_refused(value: Any) -> None:
    with pytest.raises((ValueError, TypeError)) as theirs:
        botocore_parse_timestamp(value)
    with pytest.raises(theirs.type):
        parse_timestamp(value)


def test_a_sessions_clients_read_timestamps_with_it() -> None:
    session = new_session(
        aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="secret", region_name="us-east-1"
    )
    client = session.client("glue", endpoint_url="http://127.0.0.1:1")

    def answer(request: Any, **_: Any) -> AWSResponse:
        body = b'{"Database": {"Name": "db", "CreateTime": 1700000000.5}}'
        return AWSResponse(request.url, 200, {}, _Raw(body))

    client.meta.events.register("before-send.glue.GetDatabase", answer)
    created = client.get_database(Name="db")["Database"]["CreateTime"]
    assert created == datetime.datetime(2023, 11, 14, 22, 13, 20, 500_000, tzinfo=datetime.UTC)
    assert created.tzinfo is datetime.UTC
    client.close()


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body
