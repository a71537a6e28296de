"""The one place where the emulator plugs into moto's server internals.

moto's `DomainDispatcherApplication` picks a backend from the SigV4 credential
scope of each request and asks its `create_app(service)` for a Flask app. We
pass our own `create_app`, which:

* serves services listed in `CUSTOM_RESPONSES` (DataZone and Redshift Serverless,
  which moto does not have, and the moto services whose gaps the workflow hits: RAM,
  Athena, Lake Formation, CodeCommit, STS) through one catch-all route on our response
  class (`CatchAllApp`: the route's view called without Flask's contexts, ADR 31);
* serves every other service with moto's own `create_backend_app`.

DataZone's real host is `datazone.<region>.api.aws`, which moto's URL index does
not know; in server mode the dispatcher builds `datazone.<region>.amazonaws.com`
from the credential scope, so one extra URL pattern on *this dispatcher instance*
is enough (and one for `redshift-serverless.<region>.amazonaws.com`). No behaviour of
moto is patched and `sys.modules` is not touched (the
`mock_aws` decorator route that needs that, see getmoto/moto#7126, is not used:
tests run a real server on loopback). One pure lookup moto repeats on every request is
remembered (`remember_moto_lookups`, ADR 35): the same answer, computed once.

These are moto internals, not public API: moto is pinned exactly and
`tests/emulator/test_registration.py` fails loudly if they drift.
"""

from __future__ import annotations

import copy
import re
from functools import cache
from typing import Any

from botocore.exceptions import ClientError
from flask import Flask
from moto import backend_index
from moto.core import errors as moto_errors
from moto.core import responses as moto_responses
from moto.core import routing as moto_routing
from moto.core.errors import ErrorLookupFactory
from moto.core.request import Request
from moto.core.routing import get_service_router
from moto.core.utils import convert_to_flask_response, method_names_from_class
from moto.moto_server.werkzeug_app import (
    BackendRequest,
    DomainDispatcherApplication,
    create_backend_app,
)
from werkzeug.exceptions import HTTPException, NotFound

from smus_mesh_emulator.datazone import urls as datazone_urls
from smus_mesh_emulator.redshiftserverless import urls as redshiftserverless_urls
from smus_mesh_emulator.routes import ROUTE

#: service name -> response class served on a catch-all route. Filled by
#: `smus_mesh_emulator.services.register_all()` at server start.
CUSTOM_RESPONSES: dict[str, type[Any]] = {}

#: Backend URL patterns that moto's index lacks (services moto does not have).
EXTRA_URL_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    *datazone_urls.URL_PATTERNS,
    *redshiftserverless_urls.URL_PATTERNS,
]

#: SigV4 signing names that differ from the botocore service name.
SIGNING_NAME_TO_SERVICE = {"tagging": "resourcegroupstaggingapi"}

HTTP_METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"]


def _catch_all_app(service: str, response_cls: type[Any]) -> Flask:
    app = Flask(f"smus_mesh_emulator.{service}")
    app.request_class = BackendRequest
    view = convert_to_flask_response(response_cls.dispatch)
    app.add_url_rule("/", endpoint=f"{service}-root", view_func=view, methods=HTTP_METHODS)
    app.add_url_rule(
        "/<path:path>",
        endpoint=f"{service}-any",
        view_func=lambda path: view(),
        methods=HTTP_METHODS,
    )
    return app


class CatchAllApp:
    """What `_catch_all_app`'s Flask app answers, without Flask's request and app contexts
    on the way (a tenth of the server's CPU per call, ADR 31).

    The view is moto's `convert_to_flask_response(response_cls.dispatch)`, done here on the
    same request class (`BackendRequest`) and answered with the same `flask.Response`; an
    HTTPException is answered as Flask answers it (its own page), any other exception
    propagates to `EmulatorApp`, which answers the service's 500 as it does for Flask's
    error page. A request the catch-all rules would not simply match (a method they do not
    list; an empty path, one with `//`, which werkzeug's routing redirects, or with a line
    feed, which its rules do not match) goes through
    the Flask app itself.
    """

    def __init__(self, service: str, response_cls: type[Any]) -> None:
        self.flask = _catch_all_app(service, response_cls)
        self._dispatch = response_cls.dispatch

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if (
            environ.get("REQUEST_METHOD") not in HTTP_METHODS
            or not path.startswith("/")
            or "//" in path
            or "\n" in path
        ):
            return self.flask(environ, start_response)
        from flask import Response
        from moto.moto_api import recorder

        request = BackendRequest(environ)
        try:
            recorder._record_request(request)
            try:
                result = self._dispatch(request, request.raw_url, dict(request.headers))
            except ClientError as exc:
                result = 400, {}, exc.response["Error"]["Message"]
        except HTTPException as exc:
            return exc(environ, start_response)
        if len(result) == 3:
            status, headers, content = result
        else:
            status, headers, content = 200, {}, result
        response = Response(response=content, status=status, headers=headers)
        if request.method == "HEAD" and "content-length" in headers:
            response.headers["Content-Length"] = headers["content-length"]
        return response(environ, start_response)


def create_app(service: str) -> Any:
    """moto's app factory hook: our response classes first, moto's for the rest."""
    response_cls = CUSTOM_RESPONSES.get(service)
    if response_cls is not None:
        return CatchAllApp(service, response_cls)
    app: Flask = create_backend_app(service)
    return app


class CachingDispatcher(DomainDispatcherApplication):
    """moto's dispatcher with the host -> backend lookup remembered.

    moto resolves the backend of every request by listing its own package
    directory (`backends.list_of_moto_modules()`, thousands of `stat` calls); the
    answer for a host never changes, so it is computed once per host.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._backend_for: dict[str | None, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        if host not in self._backend_for:
            self._backend_for[host] = super().get_backend_for_host(host)
        return self._backend_for[host]


@cache
def _method_names(clazz: object) -> tuple[str, ...]:
    return tuple(method_names_from_class(clazz))  # moto.core.utils' own, not the patched name


def _remembered_method_names(clazz: object) -> list[str]:
    """moto's `method_names_from_class`, computed once per class (a fresh list each
    time, as moto's is)."""
    return list(_method_names(clazz))


#: One error lookup table per service for the process: moto's `get_error_model` makes a
#: new `ErrorLookupFactory` (and so an empty cache) for every error it serialises, and
#: builds the service's table of every error shape again (3 % of the suite's CPU).
_ERROR_LOOKUPS = ErrorLookupFactory()


def _shared_error_lookups() -> ErrorLookupFactory:
    return _ERROR_LOOKUPS


#: moto's rest router's match of a path and method against a service's rules, by the
#: rules' map, path and method. The rules never change (a service's router is made once),
#: so the match is the same each time; what else decides the operation (query arguments,
#: headers) is still read from each request. Polls ask for the same paths again and again.
_MATCHES: dict[tuple[int, str, str], tuple[Any, dict[str, Any]]] = {}
_MATCHES_MAX = 20_000
_moto_match_path = moto_routing._match_path


def _remembered_match_path(matcher: Any, path_info: str, method: str) -> tuple[Any, Any]:
    key = (id(matcher.map), path_info, method)
    known = _MATCHES.get(key)
    if known is None:
        rule, arguments = _moto_match_path(matcher, path_info, method)  # raises NotFound
        if len(_MATCHES) >= _MATCHES_MAX:
            _MATCHES.clear()
        known = _MATCHES[key] = (rule, dict(arguments))
    return known[0], dict(known[1])


def remember_moto_lookups() -> None:
    """Lookups moto repeats whose answers cannot change while the server runs (ADR 35):
    moto's `BaseResponse.call_action` lists every method of the response class with
    `inspect.getmembers` (5 % of the server's CPU), to ask whether the action is one of
    them; an error's serialisation builds the service's table of error shapes; a rest
    service's router matches the path against every rule of the service; and (ADR 41)
    CloudFormation parses a template's text again with PyYAML's pure-Python loader. Each
    is computed once (per class, per service, per path and method, per template) and
    answered the same: nothing else changes."""
    moto_responses.method_names_from_class = _remembered_method_names  # type: ignore[attr-defined]
    moto_errors.ErrorLookupFactory = _shared_error_lookups  # type: ignore[misc,assignment]
    moto_routing._match_path = _remembered_match_path
    from moto.cloudformation.models import Stack  # loaded with the emulator's services

    global _moto_parse_template
    if _moto_parse_template is None:
        _moto_parse_template = Stack.parse_template
    Stack.parse_template = staticmethod(_remembered_template)  # type: ignore[method-assign]


#: CloudFormation template text -> what moto's `Stack.parse_template` made of it. moto parses
#: every template with PyYAML's pure-Python loader (JSON ones too), twice per CreateStack and
#: again per update and delete: 1.5 % of a test process's CPU (ADR 41). The same text always
#: parses to the same plain data (dicts, lists, scalars; tags made into `{"Fn::...": ...}`);
#: each caller gets its own deep copy, as it got a new parse.
_TEMPLATES: dict[str, Any] = {}
_TEMPLATES_MAX = 256
_moto_parse_template: Any = None


def _remembered_template(template: str) -> Any:
    known = _TEMPLATES.get(template) if isinstance(template, str) else None
    if known is None:
        known = _moto_parse_template(template)  # raises for a template it cannot read
        if isinstance(template, str):
            if len(_TEMPLATES) >= _TEMPLATES_MAX:
                _TEMPLATES.clear()
            _TEMPLATES[template] = copy.deepcopy(known)
        return known
    return copy.deepcopy(known)


def make_dispatcher() -> DomainDispatcherApplication:
    """A moto dispatcher that knows DataZone and serves our overrides."""
    remember_moto_lookups()
    dispatcher = CachingDispatcher(create_app)
    # A new list: the default attribute *is* moto's global index, never mutate it.
    dispatcher.backend_url_patterns = EXTRA_URL_PATTERNS + list(backend_index.backend_url_patterns)
    return dispatcher


def service_from_environ(environ: dict[str, Any]) -> tuple[str, str]:
    """(botocore service name, region) from the SigV4 credential scope."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    try:
        scope = auth.split(",")[0].split()[1]
        _, _, region, signing_name, _ = scope.split("/")
    except (IndexError, ValueError):
        return "unknown", "us-east-1"
    return SIGNING_NAME_TO_SERVICE.get(signing_name, signing_name), region


@cache
def _router(service: str) -> Any:
    return get_service_router(service)


def operation_from_environ(service: str, environ: dict[str, Any]) -> str:
    """The botocore operation name a request is for, or "Unknown".

    Uses moto's router built from the botocore model, so it works the same for
    query, json, rest-json and rest-xml services. The caller must have buffered
    the body in `wsgi.input` (it is read here and rewound).
    """
    if service == "unknown":
        return "Unknown"
    stream = environ["wsgi.input"]
    position = stream.tell()
    try:
        operation, uri_params = _router(service).match(Request(environ))
        environ[ROUTE] = (service, str(operation.name), uri_params)
        return str(operation.name)
    except (NotFound, NotImplementedError, KeyError, ValueError):
        return "Unknown"
    except Exception:  # a router bug must not break the request itself
        return "Unknown"
    finally:
        stream.seek(position)


#: Operation-name prefixes that never change state. Everything else counts as
#: mutating in the calls log (a deliberately strict reading, so that a
#: "no mutating call" claim is not an artefact of classification).
READ_PREFIXES = ("Get", "List", "Describe", "Search", "BatchGet", "Head", "Lookup")
READ_OPERATIONS = frozenset({"AssumeRole", "GetCallerIdentity", "Unknown"})


def is_mutating(operation: str) -> bool:
    return not (operation.startswith(READ_PREFIXES) or operation in READ_OPERATIONS)
