"""How a check's expectation is compared with the rows Athena returns (always strings)."""

from __future__ import annotations

from typing import Any

import pytest

from smus_mesh.collaboration import compare
from smus_mesh.config import CheckConfig


def check(**expect: Any) -> CheckConfig:
    return CheckConfig(project="consumer", sql="SELECT 1", **expect)


ROWS = [["faro", "120"], ["lisbon", "450"], ["porto", "4295"]]


def test_no_expectation_accepts_any_rows() -> None:
    assert compare(check(), ROWS) == ""
    assert compare(check(), []) == ""


def test_row_count() -> None:
    assert compare(check(expect_row_count=3), ROWS) == ""
    assert compare(check(expect_row_count=2), ROWS) == "expected 2 row(s), got 3"
    assert compare(check(expect_row_count=0), []) == ""
    assert compare(check(expect_row_count=1), []) == "expected 1 row(s), got 0"


def test_rows_equal_with_numbers_compared_as_numbers() -> None:
    expected = [["faro", 120], ["lisbon", 450.0], ["porto", 4295]]
    assert compare(check(expect_rows=expected), ROWS) == ""
    assert compare(check(expect_rows=[[18.5]]), [["18.50"]]) == ""
    assert compare(check(expect_rows=[[0.1]]), [["0.1"]]) == ""


def test_a_different_row_is_named() -> None:
    expected = [["faro", 120], ["lisbon", 451], ["porto", 4295]]
    assert compare(check(expect_rows=expected), ROWS) == (
        "row 2: expected ['lisbon', 451], got ['lisbon', '450']"
    )


def test_a_different_number_of_rows_is_named() -> None:
    assert compare(check(expect_rows=[["faro", 120]]), ROWS) == (
        f"expected 1 row(s), got 3: {ROWS}"
    )


def test_a_different_number_of_columns_is_a_difference() -> None:
    assert compare(check(expect_rows=[["faro"]]), [["faro", "120"]]) == (
        "row 1: expected ['faro'], got ['faro', '120']"
    )


@pytest.mark.parametrize(
    ("expected", "actual", "same"),
    [
        ("120", "120", True),  # a quoted number is a string: exact text
        ("120", "120.0", False),
        (120, "120.0", True),  # a number: numeric equality
        (120, "abc", False),  # text where a number was expected
        (True, "true", True),  # booleans as Athena prints them
        (False, "False", False),
        (1.5, "1.50", True),
        ("Lisbon", "lisbon", False),  # strings are case sensitive
        (None, "", True),  # YAML null: Athena's NULL (a Datum without VarCharValue)
        (None, "None", False),
    ],
)
def test_cells(expected: Any, actual: str, same: bool) -> None:
    problem = compare(check(expect_rows=[[expected]]), [[actual]])
    assert (problem == "") is same, problem
    if not same:
        assert problem == f"row 1: expected [{expected!r}], got [{actual!r}]"


def test_count_and_rows_both_checked() -> None:
    both = check(expect_row_count=1, expect_rows=[["faro", 120]])
    assert compare(both, [["faro", "120"]]) == ""
    assert compare(both, [["faro", "121"]]) == "row 1: expected ['faro', 120], got ['faro', '121']"
