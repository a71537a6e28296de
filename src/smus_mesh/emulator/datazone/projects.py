"""DataZone emulation: Projects, project memberships, environments (deployed into their
account by provisioning.py), connections, environment credentials.
"""

from __future__ import annotations


class ProjectsMixin:
    """Operations of this area (see the module docstring)."""
