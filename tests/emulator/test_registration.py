"""The moto internals registration.py relies on (ADR 2, ADR 35, ADR 41)."""

from __future__ import annotations

import inspect
import io

import pytest
from moto.cloudformation import models as moto_cfn_models
from moto.core import errors as moto_errors
from moto.core import responses as moto_responses
from moto.core import routing as moto_routing
from moto.core.errors import ErrorLookupFactory
from moto.core.request import Request
from moto.core.routing import get_service_router
from moto.core.utils import get_service_model, method_names_from_class
from werkzeug.test import EnvironBuilder

from smus_mesh_emulator import registration
from smus_mesh_emulator.cloudformation import stacks as cfn_stacks
from smus_mesh_emulator.datazone.responses import DataZoneResponse
from smus_mesh_emulator.iam.responses import ManagedPolicyIamResponse
from smus_mesh_emulator.registration import make_dispatcher, operation_from_environ
from smus_mesh_emulator.routes import routed


def test_moto_still_looks_the_method_names_up_where_they_are_remembered() -> None:
    # If moto moves the lookup, the remembered one would silently stop applying.
    source = inspect.getsource(moto_responses.BaseResponse.call_action)
    assert "method_names_from_class(self.__class__)" in source


def test_the_remembered_method_names_are_moto_s_answer() -> None:
    make_dispatcher()
    remembered = moto_responses.method_names_from_class
    assert remembered is not method_names_from_class
    for clazz in (ManagedPolicyIamResponse, DataZoneResponse, moto_responses.BaseResponse):
        first = remembered(clazz)
        assert first == method_names_from_class(clazz)
        first.append("mutated by a caller")  # a fresh list each time, as moto's
        assert remembered(clazz) == method_names_from_class(clazz)
    assert "get_role" in remembered(ManagedPolicyIamResponse)
    assert "get_role" not in remembered(DataZoneResponse)


def _environ(method: str, path: str, body: bytes = b"") -> dict[str, object]:
    environ = EnvironBuilder(
        method=method, path=path, data=body, content_type="application/json"
    ).get_environ()
    environ["wsgi.input"] = io.BytesIO(body)
    return environ


def test_a_request_is_matched_once_and_as_moto_matches_it() -> None:
    environ = _environ("GET", "/v2/domains/dzd_abc123/projects/prj_42")
    assert operation_from_environ("datazone", environ) == "GetProject"
    own, params = get_service_router("datazone").match(Request(environ))
    assert routed(Request(environ), "datazone") == (own.name, params)
    assert params == {"domainIdentifier": "dzd_abc123", "identifier": "prj_42"}
    # the match is the service's own: another service's response class matches again
    assert routed(Request(environ), "lakeformation") is None
    # an unknown path leaves no match behind (the response class answers it itself)
    unknown = _environ("GET", "/v2/nowhere")
    assert operation_from_environ("datazone", unknown) == "Unknown"
    assert routed(Request(unknown), "datazone") is None


def test_moto_still_looks_the_error_tables_and_path_matches_up_where_they_are_remembered() -> None:
    # If moto moves either lookup, the remembered one would silently stop applying.
    assert "ErrorLookupFactory().for_service(" in inspect.getsource(moto_errors.get_error_model)
    assert "_match_path(matcher," in inspect.getsource(moto_routing.RestRouter._match)


def test_the_shared_error_tables_are_moto_s_answer() -> None:
    make_dispatcher()
    assert moto_errors.ErrorLookupFactory() is moto_errors.ErrorLookupFactory()
    for service in ("iam", "datazone", "s3", "glue"):
        model = get_service_model(service)
        fresh = ErrorLookupFactory().for_service(model)
        shared = moto_errors.ErrorLookupFactory().for_service(model)
        codes = {shape.name for shape in model.error_shapes}
        assert codes, service
        for code in codes:
            ours, moto_s = shared.from_code(code), fresh.from_code(code)
            assert ours is not None and moto_s is not None, (service, code)
            assert (ours.name, ours.error_code) == (moto_s.name, moto_s.error_code)
    # a service's table is built once: the second lookup answers from it
    iam = get_service_model("iam")
    assert moto_errors.ErrorLookupFactory().for_service(iam) is (
        moto_errors.ErrorLookupFactory().for_service(iam)
    )


def test_a_remembered_path_match_is_moto_s_answer_and_the_caller_s_own_copy() -> None:
    make_dispatcher()
    requests = [
        ("GET", "/v2/domains/dzd_abc123/projects/prj_42", "GetProject"),
        ("DELETE", "/v2/domains/dzd_abc123/projects/prj_42", "DeleteProject"),
        ("GET", "/v2/domains/dzd_abc123/subscription-grants/grant_7", "GetSubscriptionGrant"),
        (
            "PUT",
            "/v2/domains/dzd_abc123/subscription-requests/req_1/accept",
            "AcceptSubscriptionRequest",
        ),
    ]
    assert moto_routing._match_path is not registration._moto_match_path
    rules = get_service_router("datazone")._get_router("rest-json")._map.bind("localhost")
    for method, path, _ in requests:
        assert moto_routing._match_path(rules, path, method) == registration._moto_match_path(
            rules, path, method
        )
    for method, path, operation in requests:
        for _ in range(2):  # the second match is the remembered one
            environ = _environ(method, path)
            matched, params = get_service_router("datazone").match(Request(environ))
            params["mutated by a caller"] = True
            assert matched.name == operation
            again, params_again = get_service_router("datazone").match(Request(environ))
            assert again.name == matched.name
            assert "mutated by a caller" not in params_again
    assert operation_from_environ("datazone", _environ("GET", "/v2/nowhere")) == "Unknown"
    assert operation_from_environ("datazone", _environ("GET", "/v2/nowhere")) == "Unknown"


def test_moto_still_parses_templates_where_the_parse_is_remembered() -> None:
    source = inspect.getsource(moto_cfn_models.Stack._parse_template)
    assert "self.parse_template(self.template)" in source
    assert "parse_template(body)" in inspect.getsource(cfn_stacks)


def test_a_remembered_template_is_moto_s_parse_and_the_caller_s_own_copy() -> None:
    make_dispatcher()
    assert moto_cfn_models.Stack.parse_template is not registration._moto_parse_template
    yaml_template = (
        "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n"
        "    Properties:\n      BucketName: !Sub '${AWS::StackName}-b'\n"
        "Outputs:\n  Arn:\n    Value: !GetAtt Bucket.Arn\n"
    )
    json_template = '{"Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {}}}}'
    for template in (yaml_template, json_template):
        expected = registration._moto_parse_template(template)
        first = moto_cfn_models.Stack.parse_template(template)
        first["Resources"]["mutated by a caller"] = True
        second = moto_cfn_models.Stack.parse_template(template)
        assert second == expected
        assert "mutated by a caller" not in second["Resources"]
    with pytest.raises(Exception) as moto_s:
        registration._moto_parse_template("{not: [valid")
    with pytest.raises(moto_s.type):
        moto_cfn_models.Stack.parse_template("{not: [valid")
