"""Pages of a list answer, with moto's paginator.

moto's `Paginator` makes opaque tokens that point at an item by its unique attributes
(not at a position, so an item deleted between two pages does not shift the next one)
and that refuse a token made for other request parameters. Each service answers a bad
token with its own documented error, so the caller passes that error's factory.

Where items have nothing unique — Athena's result rows, Lake Formation's permission
entries — the service pages by position instead (see its responses.py), and DataZone
pages every list operation from the botocore paginator model (datazone/responses.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from moto.core.exceptions import InvalidToken
from moto.utilities.paginator import Paginator

T = TypeVar("T")


def page(
    items: Sequence[T],
    *,
    token: str | None,
    size: int | None,
    default_size: int,
    unique: str | list[str],
    invalid_token: Callable[[], Exception],
    request: dict[str, Any] | None = None,
) -> tuple[list[T], str | None]:
    """One page of `items` from `token` and the token of the next page, if any.

    `unique` names the attribute (or dict key; a list for a composite) that identifies an
    item; a string item is its own. `request` holds the filters the token must be used
    with again. A token that cannot be decoded, was made for another request or points at
    an item that is gone raises `invalid_token()`.
    """
    try:
        paginator = Paginator(
            max_results=size,
            max_results_default=default_size,
            starting_token=token or None,
            unique_attribute=unique,
            param_values_to_check=request,
            fail_on_invalid_token=True,
        )
        return paginator.paginate(list(items))
    except InvalidToken:
        raise invalid_token() from None
