"""The redshift-serverless API: requests parsed and responses serialised by moto from the
botocore model; the six operations of `IMPLEMENTED`, and a 501 NotImplemented (which
botocore does not retry) naming any other."""

from __future__ import annotations

import json
from typing import Any

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult, BaseResponse
from moto.core.utils import camelcase_to_underscores

from smus_mesh_emulator.paging import page
from smus_mesh_emulator.redshiftserverless.exceptions import ValidationException
from smus_mesh_emulator.redshiftserverless.models import (
    RedshiftServerlessBackend,
    redshiftserverless_backends,
)

#: What the emulator serves of the pinned botocore model.
IMPLEMENTED = frozenset(
    {
        "GetNamespace",
        "ListNamespaces",
        "DeleteNamespace",
        "GetWorkgroup",
        "ListWorkgroups",
        "DeleteWorkgroup",
    }
)

#: ListNamespaces / ListWorkgroups page size limits (botocore model: 1..100).
MAX_PAGE = 100


def _page(items: list[Any], params: dict[str, Any]) -> tuple[list[Any], str | None]:
    size = params.get("maxResults") or MAX_PAGE
    if not 1 <= size <= MAX_PAGE:
        raise ValidationException("Invalid maxResults or nextToken.")
    return page(
        items,
        token=params.get("nextToken"),
        size=size,
        default_size=MAX_PAGE,
        unique="name",
        invalid_token=lambda: ValidationException("Invalid nextToken."),
    )


class RedshiftServerlessResponse(BaseResponse):
    def __init__(self) -> None:
        super().__init__(service_name="redshift-serverless")
        self.automated_parameter_parsing = True

    @property
    def backend(self) -> RedshiftServerlessBackend:
        backend: RedshiftServerlessBackend = redshiftserverless_backends[self.current_account][
            self.region
        ]
        return backend

    def call_action(self) -> Any:
        operation = self._get_action()
        if operation not in IMPLEMENTED:
            message = f"not implemented in emulator: Redshift Serverless {operation}"
            body = json.dumps({"__type": "NotImplemented", "message": message})
            return 501, {"Content-Type": "application/x-amz-json-1.1"}, body
        params = dict(self.params) if isinstance(self.params, dict) else {}
        try:
            result = getattr(self, f"_{camelcase_to_underscores(operation)}")(params)
        except ServiceException as exc:
            return self.serialized(ActionResult(exc))
        return self.serialized(ActionResult(result))

    def _get_namespace(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"namespace": self.backend.get_namespace(params["namespaceName"]).to_dict()}

    def _list_namespaces(self, params: dict[str, Any]) -> dict[str, Any]:
        page, token = _page(self.backend.list_namespaces(), params)
        result: dict[str, Any] = {"namespaces": [n.to_dict() for n in page]}
        if token:
            result["nextToken"] = token
        return result

    def _delete_namespace(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"namespace": self.backend.delete_namespace(params["namespaceName"]).to_dict()}

    def _get_workgroup(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"workgroup": self.backend.get_workgroup(params["workgroupName"]).to_dict()}

    def _list_workgroups(self, params: dict[str, Any]) -> dict[str, Any]:
        page, token = _page(self.backend.list_workgroups(), params)
        result: dict[str, Any] = {"workgroups": [w.to_dict() for w in page]}
        if token:
            result["nextToken"] = token
        return result

    def _delete_workgroup(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"workgroup": self.backend.delete_workgroup(params["workgroupName"]).to_dict()}
