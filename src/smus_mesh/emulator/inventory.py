"""Everything that exists in each emulated account beyond a fresh account's defaults."""

from __future__ import annotations

from typing import Any


def snapshot() -> dict[str, dict[str, list[Any]]]:
    """Per account, per class (DESIGN.md's list), the resources that exist."""
    return {}
