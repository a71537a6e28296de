"""DataZone emulation: Blueprints (managed, per domain), blueprint configurations (per
account), policy grants, project profiles.
"""

from __future__ import annotations


class GovernanceMixin:
    """Operations of this area (see the module docstring)."""
