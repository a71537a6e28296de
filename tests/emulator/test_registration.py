"""The moto internals registration.py relies on (ADR 2, ADR 35)."""

from __future__ import annotations

import inspect

from moto.core import responses as moto_responses
from moto.core.utils import method_names_from_class

from smus_mesh_emulator.datazone.responses import DataZoneResponse
from smus_mesh_emulator.iam.responses import ManagedPolicyIamResponse
from smus_mesh_emulator.registration import make_dispatcher


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
