"""Errors as AWS sends them, whoever calls: a region no endpoint serves, a malformed request
and a failure inside moto answer in the service's own error shape, never an HTML page.

The sweep calls every DataZone operation the emulator implements twice with plain boto3
(client-side validation off, as a hand-written client or an SDK with fewer checks would
send): signed for an unknown region, and with malformed identifiers in the URI and
the required query string.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.model import OperationModel

from smus_mesh_emulator.datazone.responses import implemented_operations
from smus_mesh_emulator.validation import _pattern
from tests.support import DOMAIN_ACCOUNT, Cloud, signed

UNKNOWN_REGION = "xx-nowhere-1"
MALFORMED = "bad.id"
NO_CHECKS = Config(parameter_validation=False, retries={"total_max_attempts": 1})
MODEL = botocore.session.get_session().get_service_model("datazone")


def _snake(operation: str) -> str:
    return botocore.xform_name(operation)


def _uri_labels(model: OperationModel) -> list[str]:
    """The URI labels and required query-string members: what routes the request."""
    shape = model.input_shape
    if shape is None:
        return []
    return [
        name
        for name, member in shape.members.items()
        if member.serialization.get("location") == "uri"
        or (
            member.serialization.get("location") == "querystring" and name in shape.required_members
        )
    ]


def _malformed(model: OperationModel) -> dict[str, Any]:
    """The routing members, each malformed (a list holds one malformed item)."""
    members = model.input_shape.members if model.input_shape else {}
    return {
        name: [MALFORMED] if members[name].type_name == "list" else MALFORMED
        for name in _uri_labels(model)
    }


def _broken_by_malformed(model: OperationModel) -> list[str]:
    """The expected error of each routing member that MALFORMED breaks, in model order."""
    expected = []
    for name in _uri_labels(model):
        shape = model.input_shape.members[name]  # type: ignore[union-attr]
        if shape.type_name == "list":
            name, shape = f"{name}.1.member", shape.member
        if shape.enum and MALFORMED not in shape.enum:
            expected.append(
                f"Value '{MALFORMED}' at '{name}' failed to satisfy constraint: Member must "
                f"satisfy enum value set: [{', '.join(shape.enum)}]"
            )
        pattern = shape.metadata.get("pattern")
        if pattern and not _pattern(pattern).search(MALFORMED):
            expected.append(
                f"Value '{MALFORMED}' at '{name}' failed to satisfy constraint: Member must "
                f"satisfy regular expression pattern: {pattern}"
            )
    return expected


def _call(client: Any, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as excinfo:
        getattr(client, _snake(operation))(**params)
    response: dict[str, Any] = excinfo.value.response
    return response


def test_every_datazone_operation_refuses_an_unknown_region_in_datazone_s_shape(
    cloud: Cloud,
) -> None:
    """Before anything else: even the malformed request gets the region's error."""
    client = cloud.session(DOMAIN_ACCOUNT).client(
        "datazone", region_name=UNKNOWN_REGION, endpoint_url=cloud.url, config=NO_CHECKS
    )
    operations = sorted(implemented_operations())
    assert len(operations) >= 70
    for operation in operations:
        model = MODEL.operation_model(operation)
        response = _call(client, operation, _malformed(model))
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 403, operation
        assert response["Error"] == {
            "Code": "InvalidSignatureException",
            "Message": f"Credential should be scoped to a valid region, not '{UNKNOWN_REGION}'.",
        }, operation
    # The neighbour: the same client in a served region reaches DataZone.
    served = cloud.session(DOMAIN_ACCOUNT).client("datazone", endpoint_url=cloud.url)
    assert served.list_domains()["items"] == []


def test_every_datazone_operation_refuses_a_malformed_identifier_before_looking_it_up(
    cloud: Cloud,
) -> None:
    client = cloud.session(DOMAIN_ACCOUNT).client(
        "datazone", endpoint_url=cloud.url, config=NO_CHECKS
    )
    swept = 0
    for operation in sorted(implemented_operations()):
        model = MODEL.operation_model(operation)
        expected = _broken_by_malformed(model)
        if not expected:
            continue
        swept += 1
        response = _call(client, operation, _malformed(model))
        count = len(expected)
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 400, operation
        assert response["Error"] == {
            "Code": "ValidationException",
            "Message": f"{count} validation error{'s' if count > 1 else ''} detected: "
            + "; ".join(expected),
        }, operation
    assert swept >= 60
    # The neighbour: a well-formed identifier of nothing is looked up, and is not found.
    with pytest.raises(ClientError) as excinfo:
        client.get_domain(identifier="dzd_abc123")
    assert excinfo.value.response["Error"] == {
        "Code": "ResourceNotFoundException",
        "Message": "Domain dzd_abc123 not found",
    }


def _raw(cloud: Cloud, service: str, path: str, body: bytes, headers: dict[str, str]) -> Any:
    """A request as a hand-written client sends it, signed with the test keys."""
    request = urllib.request.Request(
        cloud.url + path,
        data=body,
        method="POST",
        headers=signed(cloud.url + path, service, body, headers),
    )
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(request)
    return excinfo.value


def test_a_body_that_is_not_json_is_a_serialization_error_not_a_server_error(
    cloud: Cloud,
) -> None:
    error = _raw(
        cloud,
        "glue",
        "/",
        b"{not json",
        {"X-Amz-Target": "AWSGlue.GetTable", "Content-Type": "application/x-amz-json-1.1"},
    )
    assert error.code == 400
    assert json.loads(error.read()) == {
        "__type": "SerializationException",
        "message": "The request body is not valid JSON: Expecting property name enclosed in "
        "double quotes: line 1 column 2 (char 1)",
    }
    # The neighbour: the same operation with a JSON body is served (and answers Glue's error).
    error = _raw(
        cloud,
        "glue",
        "/",
        json.dumps({"DatabaseName": "nope", "Name": "t"}).encode(),
        {"X-Amz-Target": "AWSGlue.GetTable", "Content-Type": "application/x-amz-json-1.1"},
    )
    assert error.code == 400
    assert json.loads(error.read())["__type"] == "EntityNotFoundException"


@pytest.mark.parametrize(
    ("service", "code", "status"),
    [
        ("sts", "SignatureDoesNotMatch", 403),
        ("glue", "InvalidSignatureException", 403),
        ("s3", "AuthorizationHeaderMalformed", 400),
    ],
)
def test_other_services_refuse_an_unknown_region_in_their_own_protocol(
    cloud: Cloud, service: str, code: str, status: int
) -> None:
    client = cloud.session(DOMAIN_ACCOUNT).client(
        service, region_name=UNKNOWN_REGION, endpoint_url=cloud.url, config=NO_CHECKS
    )
    call = {
        "sts": lambda: client.get_caller_identity(),
        "glue": lambda: client.get_databases(),
        "s3": lambda: client.list_buckets(),
    }[service]
    with pytest.raises(ClientError) as excinfo:
        call()
    response = excinfo.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert response["Error"]["Code"] == code
    assert response["Error"]["Message"] == (
        f"The authorization header is malformed; the region '{UNKNOWN_REGION}' is wrong; "
        "expecting 'us-east-1'"
        if service == "s3"
        else f"Credential should be scoped to a valid region, not '{UNKNOWN_REGION}'."
    )


def test_a_region_of_aws_the_service_is_not_in_is_refused_and_one_it_is_in_answers(
    cloud: Cloud,
) -> None:
    """botocore's endpoint data lists no CodeCommit endpoint in ap-east-2 (a region EC2 is
    in): the region is real, the service is not there."""
    session = cloud.session(DOMAIN_ACCOUNT)
    absent = session.client(
        "codecommit", region_name="ap-east-2", endpoint_url=cloud.url, config=NO_CHECKS
    )
    with pytest.raises(ClientError) as excinfo:
        absent.list_repositories()
    response = excinfo.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert response["Error"]["Code"] == "InvalidSignatureException"
    assert response["Error"]["Message"] == (
        "Credential should be scoped to a valid region, not 'ap-east-2'."
    )
    ec2 = session.client("ec2", region_name="ap-east-2", endpoint_url=cloud.url, config=NO_CHECKS)
    assert ec2.describe_vpcs()["ResponseMetadata"]["HTTPStatusCode"] == 200
    present = session.client(
        "codecommit", region_name="eu-west-1", endpoint_url=cloud.url, config=NO_CHECKS
    )
    assert present.list_repositories()["repositories"] == []
