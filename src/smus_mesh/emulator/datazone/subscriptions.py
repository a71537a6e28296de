"""DataZone emulation: Subscription requests, subscriptions, subscription grants (fulfilled
by fulfilment.py), subscription targets.
"""

from __future__ import annotations


class SubscriptionsMixin:
    """Operations of this area (see the module docstring)."""
