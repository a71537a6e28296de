"""Injected throttling and server errors, shaped per protocol so botocore retries them.

botocore's retry handlers recognise throttling by error code (`Throttling`,
`ThrottlingException`, `SlowDown`, ...) and transient failures by HTTP status
(500/502/503/504). The body must be in the service's protocol for the code to
be parsed, so we look the protocol up in the botocore model.
"""

from __future__ import annotations

import json
from functools import cache

import botocore.session

_SESSION = botocore.session.get_session()


@cache
def protocol_of(service: str) -> str:
    try:
        return str(_SESSION.get_service_model(service).metadata["protocol"])
    except Exception:
        return "json"


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

    if protocol in ("json", "rest-json"):
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code}
    elif protocol == "rest-xml":
        body = (
            f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
            f"<Message>{message}</Message><RequestId>emulator</RequestId></Error>"
        ).encode()
        headers = {"Content-Type": "application/xml"}
    else:
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
            f"<Message>{message}</Message></Error><RequestId>emulator</RequestId></ErrorResponse>"
        ).encode()
        headers = {"Content-Type": "text/xml"}
    headers["Content-Length"] = str(len(body))
    return status, headers, body
