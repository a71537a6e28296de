"""The process-wide sharing of botocore's event work (ADR 34) keeps botocore's behaviour:
aliased event names still reach their handlers, handlers without **kwargs are still
refused, and emitters with an alias table of their own keep their own names."""

from __future__ import annotations

import copy
import functools
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.hooks import EventAliaser, HierarchicalEmitter

from smus_mesh.accounts import new_session


def test_an_aliased_event_name_reaches_its_handler_in_every_session() -> None:
    seen: list[str] = []
    for label in ("first", "second"):
        # Each session's emitter is new; the alias cache they share must give both the
        # aliased name ("autoscaling" is "auto-scaling" in botocore's table).
        events = new_session(region_name="us-east-1")._session.get_component("event_emitter")
        events.register(
            "smus-mesh-test.autoscaling.DescribeTags",
            lambda label=label, **_: seen.append(label),
        )
        events.emit("smus-mesh-test.auto-scaling.DescribeTags")
        events.emit("smus-mesh-test.autoscaling.DescribeTags")
    assert seen == ["first", "first", "second", "second"]


def test_an_emitter_with_its_own_aliases_keeps_them() -> None:
    default = EventAliaser(HierarchicalEmitter())
    default.register("before-call.autoscaling", lambda **_: None)
    own = EventAliaser(HierarchicalEmitter(), {"autoscaling": "my-scaling"})
    seen: list[str] = []
    own.register("before-call.autoscaling", lambda **_: seen.append("own"))
    own.emit("before-call.my-scaling")
    assert seen == ["own"]
    assert default._alias_event_name("autoscaling") == "auto-scaling"
    assert own._alias_event_name("autoscaling") == "my-scaling"


class _Handlers:
    def takes_kwargs(self, **kwargs: Any) -> None:
        return None

    def takes_none(self, event_name: str) -> None:
        return None


def test_handlers_without_kwargs_are_still_refused_and_others_accepted() -> None:
    events = new_session(region_name="us-east-1")._session.get_component("event_emitter")
    handlers = _Handlers()

    def plain(event_name: str) -> None:
        return None

    def with_kwargs(prefix: str, **kwargs: Any) -> None:
        return None

    for _ in range(2):  # the second time answers from the cache
        events.register("before-call.s3", handlers.takes_kwargs)
        events.register("before-call.s3", lambda **_: None)
        events.register("before-call.s3", functools.partial(with_kwargs, "x"))
        with pytest.raises(ValueError, match="must accept keyword arguments"):
            events.register("before-call.s3", functools.partial(plain))
        with pytest.raises(ValueError, match="must accept keyword arguments"):
            events.register("before-call.s3", handlers.takes_none)
        with pytest.raises(ValueError, match="must accept keyword arguments"):
            events.register("before-call.s3", plain)


def test_a_copied_emitter_has_the_same_handlers_and_its_own_lists() -> None:
    events = new_session(region_name="us-east-1")._session.get_component("event_emitter")
    seen: list[str] = []
    events.register("smus-mesh-test.s3.GetObject", lambda **_: seen.append("session"))
    events.register_first("smus-mesh-test.s3", lambda **_: seen.append("first"))
    copied = copy.copy(events)
    copied.register("smus-mesh-test.s3.GetObject", lambda **_: seen.append("copy"))
    events.register_last("smus-mesh-test.s3", lambda **_: seen.append("session only"))
    copied.emit("smus-mesh-test.s3.GetObject")
    assert seen == ["session", "copy", "first"]
    seen.clear()
    events.emit("smus-mesh-test.s3.GetObject")
    assert seen == ["session", "first", "session only"]
    # A client's emitter is such a copy: botocore's own handlers came along.
    handlers = copied._emitter._handlers.prefix_search("before-call.s3.PutObject")
    assert len(handlers) > 2
    assert list(handlers) == list(
        events._emitter._handlers.prefix_search("before-call.s3.PutObject")
    )


def _sent_url(client: Any) -> str:
    """The URL botocore sends `ListBuckets` to (answered here, before any network)."""
    sent: list[str] = []

    def answer(request: Any, **_: Any) -> AWSResponse:
        sent.append(request.url)
        body = b"<ListAllMyBucketsResult><Buckets/></ListAllMyBucketsResult>"
        return AWSResponse(request.url, 200, {}, _Raw(body))

    client.meta.events.register("before-send.s3.ListBuckets", answer)
    client.list_buckets()
    return sent[0]


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


def test_clients_sharing_endpoint_rules_resolve_their_own_endpoints(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    session = new_session(
        aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="secret", region_name="us-east-1"
    )
    west = session.client("s3", region_name="eu-west-1")
    local = session.client("s3", region_name="eu-west-1", endpoint_url="http://127.0.0.1:1")
    east = session.client("s3", region_name="us-east-2")
    assert west._ruleset_resolver._provider is east._ruleset_resolver._provider
    assert _sent_url(west) == "https://s3.eu-west-1.amazonaws.com/"
    assert _sent_url(local) == "http://127.0.0.1:1/"
    assert _sent_url(east) == "https://s3.us-east-2.amazonaws.com/"
