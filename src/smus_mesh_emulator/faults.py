"""Errors the emulator answers itself, shaped per protocol as the service sends them.

botocore parses an error's code from the body in the service's protocol (JSON `__type`
or the `x-amzn-ErrorType` header, XML `<Code>`); an HTML page parses as nothing. So
every error the emulator makes outside a service's own response class (injected
faults, a region no endpoint serves, a failure inside moto) goes through
`error_response`, which looks the protocol up in the botocore model.

Injected faults: botocore's retry handlers recognise throttling by error code
(`Throttling`, `ThrottlingException`, `SlowDown`, ...) and transient failures by HTTP
status (500/502/503/504).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any
from xml.sax.saxutils import escape


@cache
def _metadata(service: str) -> dict[str, Any]:
    """The service model's metadata, from the model moto's router has already loaded (one
    parse of each service-2.json per process, instead of a second one through a botocore
    session of our own: EC2's model alone is megabytes)."""
    from moto.core.utils import get_service_model

    try:
        return dict(get_service_model(service).metadata)
    except Exception:
        return {}


def protocol_of(service: str) -> str:
    return str(_metadata(service).get("protocol", "json"))


def error_response(
    service: str, status: int, code: str, message: str, sender: bool = True
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of an error `code` in `service`'s protocol."""
    protocol = protocol_of(service)
    text = escape(message)
    if protocol in ("json", "rest-json"):
        body = json.dumps({"__type": code, "message": message}).encode()
        content_type = (
            "application/json" if protocol == "rest-json" else "application/x-amz-json-1.1"
        )
        headers = {"Content-Type": content_type, "x-amzn-ErrorType": code}
    elif protocol == "rest-xml":
        body = (
            f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
            f"<Message>{text}</Message><RequestId>emulator</RequestId></Error>"
        ).encode()
        headers = {"Content-Type": "application/xml"}
    elif protocol == "ec2":
        body = (
            f"<?xml version='1.0' encoding='UTF-8'?><Response><Errors><Error><Code>{code}</Code>"
            f"<Message>{text}</Message></Error></Errors><RequestID>emulator</RequestID></Response>"
        ).encode()
        headers = {"Content-Type": "text/xml"}
    else:
        kind = "Sender" if sender else "Receiver"
        body = (
            f"<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code>"
            f"<Message>{text}</Message></Error><RequestId>emulator</RequestId></ErrorResponse>"
        ).encode()
        headers = {"Content-Type": "text/xml"}
    headers["Content-Length"] = str(len(body))
    return status, headers, body


def fault_response(service: str, kind: str, operation: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of an injected `kind` ("throttle" or "error") fault."""
    protocol = protocol_of(service)
    if kind == "throttle":
        status = 503 if service == "s3" else 400
        code = {"s3": "SlowDown", "query": "Throttling", "ec2": "Throttling"}.get(
            service if service == "s3" else protocol, "ThrottlingException"
        )
        message = f"Rate exceeded (injected by the emulator for {operation})"
    else:
        status = 500
        code = (
            "InternalError"
            if protocol in ("rest-xml", "query", "ec2")
            else "InternalServerException"
        )
        message = f"Internal failure (injected by the emulator for {operation})"
    return error_response(service, status, code, message, sender=kind == "throttle")


def internal_error(service: str, operation: str) -> tuple[int, dict[str, str], bytes]:
    """A failure inside the emulator (e.g. moto raised), as the service's 500."""
    protocol = protocol_of(service)
    code = "InternalError" if protocol in ("rest-xml", "query", "ec2") else "InternalFailure"
    message = (
        f"The emulator failed to serve {operation}; its log has the traceback. "
        "This is an emulator bug, not an AWS behaviour."
    )
    return error_response(service, 500, code, message, sender=False)


#: Partitions the emulator serves (moto's backends know their regions; not the ISO ones).
PARTITIONS = ("aws", "aws-cn", "aws-us-gov")


@cache
def _endpoints() -> dict[str, Any]:
    from botocore.loaders import create_loader

    data: dict[str, Any] = create_loader().load_data("endpoints")
    return data


@cache
def _partition_regions() -> frozenset[str]:
    return frozenset(
        region
        for partition in _endpoints()["partitions"]
        if partition["partition"] in PARTITIONS
        for region in partition["regions"]
    )


@cache
def served_regions(service: str) -> frozenset[str]:
    """The regions botocore's endpoint data gives `service` in the served partitions
    (every region of them for a global service such as IAM, which lists none).

    What `botocore.session.Session.get_available_regions` answers, without its cost: it
    loads the service's whole model for the endpoint prefix; the prefix is read here from
    the model moto has loaded anyway (`_metadata`)."""
    from botocore.regions import EndpointResolver

    metadata = _metadata(service)
    if not metadata:  # not a service botocore knows: no endpoint data to go by
        return _partition_regions()
    prefix = metadata.get("endpointPrefix", service)
    resolver = EndpointResolver(_endpoints())
    regions: set[str] = set()
    for partition in PARTITIONS:
        regions.update(resolver.get_available_endpoints(prefix, partition))
    return frozenset(regions & _partition_regions()) or _partition_regions()


def region_error(service: str, region: str) -> tuple[int, dict[str, str], bytes] | None:
    """AWS's answer to a request signed for a region no endpoint of the service serves,
    or None for a served region. AWS checks the signature's credential scope first: 403
    InvalidSignatureException (JSON protocols) / SignatureDoesNotMatch (query, EC2);
    S3 answers 400 AuthorizationHeaderMalformed."""
    if region in served_regions(service):
        return None
    if service == "s3":
        return error_response(
            service,
            400,
            "AuthorizationHeaderMalformed",
            f"The authorization header is malformed; the region '{region}' is wrong; "
            "expecting 'us-east-1'",
        )
    protocol = protocol_of(service)
    code = "SignatureDoesNotMatch" if protocol in ("query", "ec2") else "InvalidSignatureException"
    return error_response(
        service, 403, code, f"Credential should be scoped to a valid region, not '{region}'."
    )


def body_error(service: str, body: bytes) -> tuple[int, dict[str, str], bytes] | None:
    """A JSON-protocol request whose body is not JSON: 400 SerializationException, as the
    JSON protocols answer a body they cannot read (not a 500 from inside moto)."""
    if not body or protocol_of(service) not in ("json", "rest-json"):
        return None
    try:
        json.loads(body)
    except ValueError as exc:
        return error_response(
            service, 400, "SerializationException", f"The request body is not valid JSON: {exc}"
        )
    return None
