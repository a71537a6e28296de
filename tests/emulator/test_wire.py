"""The fast DataZone serialiser (wire.py) against moto's, its oracle.

Every DataZone response in the test suite is also compared in strict mode
(responses.py); these tests pin the cases that matter most directly.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import botocore.session
import pytest
from moto.core.serialize import RestJSONSerializer, XFormedAttributePicker
from moto.core.utils import get_service_model

from smus_mesh_emulator.datazone import wire

MODEL = botocore.session.get_session().get_service_model("datazone")
WHEN = datetime(2026, 11, 28, 13, 40, 42, 123456, tzinfo=UTC)


def moto_response(operation: str, result: dict[str, Any]) -> tuple[int, str, Any]:
    serializer = RestJSONSerializer(
        operation_model=get_service_model("datazone").operation_model(operation),
        value_picker=XFormedAttributePicker(),
    )
    out = serializer.serialize(result)
    return out["status_code"], out["headers"]["Content-Type"], json.loads(out["body"])


def fast_response(operation: str, result: dict[str, Any]) -> tuple[int, str, Any]:
    status, headers, body = wire.response(MODEL.operation_model(operation), result)
    return status, headers["Content-Type"], json.loads(body)


def subscription(n: int) -> dict[str, Any]:
    return {
        "id": f"sub{n}",
        "createdBy": "user",
        "updatedBy": None,
        "domainId": "dzd_1",
        "status": "APPROVED",
        "createdAt": WHEN,
        "updatedAt": WHEN.replace(microsecond=0),
        "subscribedPrincipal": {"project": {"id": "p1", "name": "consumer"}},
        "subscribedListing": {
            "id": "l1",
            "revision": "1",
            "name": "inventory",
            "description": "",
            "ownerProjectId": "p0",
            "item": {
                "assetListing": {
                    "entityId": "a1",
                    "entityRevision": "1",
                    "entityType": "amazon.datazone.GlueTableAssetType",
                    "forms": "{}",
                    "glossaryTerms": [],
                    "assetScope": {"assetId": "a1", "filterIds": [], "status": "GRANTED"},
                }
            },
        },
        "subscriptionRequestId": "r1",
        "notInTheModel": "dropped",
    }


def test_a_page_of_subscriptions_is_serialised_as_moto_does() -> None:
    result = {"items": [subscription(n) for n in range(3)], "nextToken": "3"}
    fast = fast_response("ListSubscriptions", result)
    assert fast == moto_response("ListSubscriptions", result)
    item = fast[2]["items"][0]
    assert item["createdAt"] == int(WHEN.replace(microsecond=0).timestamp()) + 0.123
    assert "notInTheModel" not in item and "updatedBy" not in item


@pytest.mark.parametrize(
    ("operation", "result"),
    [
        # a create answers 201, a delete 204 with an empty JSON body: the model's codes
        ("CreateProject", {"id": "p1", "name": "n", "domainId": "d", "createdAt": WHEN}),
        ("DeleteSubscriptionRequest", {}),
        ("GetDomain", {"id": "d", "status": "AVAILABLE", "tags": {"k": "v"}, "createdAt": WHEN}),
    ],
)
def test_status_codes_and_empty_bodies_follow_the_model(
    operation: str, result: dict[str, Any]
) -> None:
    assert fast_response(operation, result) == moto_response(operation, result)


def test_what_only_moto_serialises_is_left_to_it() -> None:
    # GetLineageEvent binds its members to headers: not a body-only output.
    with pytest.raises(wire.Unsupported):
        wire.response(MODEL.operation_model("GetLineageEvent"), {"id": "e1"})
    with pytest.raises(wire.Unsupported):
        wire.response(MODEL.operation_model("GetDomain"), {"tags": {"k": None}})


def signature(operation: str, result: dict[str, Any]) -> Any:
    return wire.signature(MODEL.operation_model(operation).output_shape, result)


def test_results_of_one_signature_differ_only_in_what_both_serialisers_copy() -> None:
    # Strict mode compares with moto's serialiser once per signature (ADR 35): two pages
    # with other ids, names and times, and items in another order, are one signature...
    page = {"items": [subscription(n) for n in range(3)], "nextToken": "3"}
    other = {"items": [subscription(n) for n in (9, 8)], "nextToken": "12"}
    for item in other["items"]:
        item["createdAt"] = WHEN.replace(year=2027)
        item["subscribedListing"]["name"] = "orders"
    assert signature("ListSubscriptions", page) == signature("ListSubscriptions", other)
    assert fast_response("ListSubscriptions", other) == moto_response("ListSubscriptions", other)


@pytest.mark.parametrize(
    "change",
    [
        lambda item: item.pop("updatedAt"),  # an optional member absent
        lambda item: item.update(updatedAt=None),  # ... or None
        lambda item: item.update(updatedAt="2026-11-28T13:40:42Z"),  # a string, not a time
        lambda item: item.update(status=""),  # an empty string
        lambda item: item.update(subscription_request_id="r1"),  # a name only moto would pick
        lambda item: item["subscribedListing"]["item"]["assetListing"].update(glossaryTerms=["t"]),
        lambda item: item["subscribedListing"]["item"].update(productListing={"x": 1}),
    ],
)
def test_what_a_serialiser_can_tell_apart_is_another_signature(change: Any) -> None:
    base = {"items": [subscription(0)]}
    changed = {"items": [subscription(0)]}
    change(changed["items"][0])
    assert signature("ListSubscriptions", base) != signature("ListSubscriptions", changed)
    # one item more of a new kind is a new signature too
    mixed = {"items": [subscription(0), changed["items"][0]]}
    assert signature("ListSubscriptions", mixed) != signature("ListSubscriptions", base)
