"""RAM: invitations, OTHER-ACCOUNTS view, status filter, shareable DataZone domains."""

from __future__ import annotations


def associated_accounts(owner_account: str, region: str, resource_arn: str) -> set[str]:
    """Accounts that `resource_arn` (owned by `owner_account`) is shared with and that
    have accepted the share: their principal association is ASSOCIATED."""
    return set()
