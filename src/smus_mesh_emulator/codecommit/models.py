"""Repository tags, kept on moto's repository object (moto 5.2.5 drops them)."""

from __future__ import annotations

from typing import Any


def set_tags(repository: Any, tags: dict[str, str]) -> None:
    """Tags live on moto's repository object, so a reset forgets them with it."""
    current: dict[str, str] = getattr(repository, "smus_tags", {})
    repository.smus_tags = {**current, **tags}


def tags_of(repository: Any) -> dict[str, str]:
    return dict(getattr(repository, "smus_tags", {}))
