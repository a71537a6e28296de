"""The report of `verify-aws`: what was checked, what AWS did, and how the run went.

One `Check` per point of ADR 5, each with an outcome (`pass`: AWS did what the
tool and the emulator assume; `differs`: it did something else, the evidence says
what; `could-not-check`: the run could not observe it, the reason says why), a
one-line summary and the evidence (statuses and their sequence, error codes and
messages, timings, ids). The report is meant to be attached to a bug report: it
holds account ids, resource ids and ARNs, never a credential (`scrub` drops any
field that could carry one, and the tests look for keys and tokens in it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

Outcome = Literal["pass", "differs", "could-not-check"]
PhaseStatus = Literal["ran", "failed", "declined", "skipped", "interrupted"]

#: ADR 5's points, by number: the title each check carries in the report.
ADR5_POINTS: dict[int, str] = {
    1: "Where the consumer reads the data (V2)",
    2: "Lake Formation mechanics of fulfilment",
    3: "Data source binding (V2)",
    4: "Stack names",
    5: "cascadeDelete",
    6: "Admin project",
    7: "Lake Formation administrators in consumer accounts",
    8: "Shared Lake Formation grants of subscriptions",
    9: "Quota of AcceptSubscriptionRequest and CancelSubscription (3 TPS)",
    10: "Who may create a database with Athena",
    11: "Creators' permissions",
    12: "INSERT INTO and Lake Formation",
    13: "DDL permissions",
    14: "Athena's Hive DDL details",
    15: "Trino's errors",
    16: "INSERT INTO's objects",
    17: "Redshift Serverless of the RedshiftServerless blueprint",
}


@dataclass
class Check:
    """One ADR 5 point as this run observed it."""

    point: int
    outcome: Outcome
    observed: str
    evidence: dict[str, Any] = field(default_factory=dict)
    #: The phase whose observations decided it.
    phase: str = ""

    @property
    def title(self) -> str:
        return ADR5_POINTS[self.point]

    def to_dict(self) -> dict[str, Any]:
        return {
            "point": self.point,
            "title": self.title,
            "outcome": self.outcome,
            "observed": self.observed,
            "phase": self.phase,
            "evidence": scrub(self.evidence),
        }


@dataclass
class Phase:
    name: str
    mutating: bool
    status: PhaseStatus
    seconds: float = 0.0
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "mutating": self.mutating,
            "status": self.status,
            "seconds": round(self.seconds, 2),
            "message": scrub_text(self.message),
        }


@dataclass
class VerifyReport:
    setup: str
    region: str
    accounts: dict[str, str]
    versions: dict[str, str]
    endpoint: str | None
    started_at: str
    seconds: float = 0.0
    phases: list[Phase] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    leftovers: int | None = None
    interrupted: bool = False
    #: What to run by hand when down could not finish (empty when it did).
    cleanup_hint: str = ""
    #: Seconds of each step `up` ran (key -> seconds): how long AWS took for each.
    up_steps: dict[str, float] = field(default_factory=dict)
    #: Domains smus-mesh did not create that the run went beside (--allow-existing).
    existing_domains: list[dict[str, str]] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counts = {"pass": 0, "differs": 0, "could-not-check": 0}
        for check in self.checks:
            counts[check.outcome] += 1
        return counts

    @property
    def ok(self) -> bool:
        """Every check passed or could not be checked, every phase that ran finished, and
        nothing is left: what exit code 0 means."""
        return (
            not self.interrupted
            and self.leftovers == 0
            and all(p.status != "failed" for p in self.phases)
            and all(c.outcome != "differs" for c in self.checks)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "setup": self.setup,
            "region": self.region,
            "accounts": self.accounts,
            "versions": self.versions,
            "endpoint": self.endpoint,
            "existing_domains": self.existing_domains,
            "started_at": self.started_at,
            "seconds": round(self.seconds, 2),
            "interrupted": self.interrupted,
            "summary": self.counts,
            "phases": [p.to_dict() for p in self.phases],
            "checks": [c.to_dict() for c in sorted(self.checks, key=lambda c: c.point)],
            "up_steps": self.up_steps,
            "leftovers": self.leftovers,
            "cleanup_hint": self.cleanup_hint,
        }


def render_text(document: dict[str, Any]) -> str:
    """The report as plain text (the `.txt` file and the terminal's summary)."""
    lines = [
        f"smus-mesh verify-aws report (set-up {document['setup']}, region "
        f"{document['region']}, started {document['started_at']})",
        "accounts: " + ", ".join(f"{a} {i}" for a, i in document["accounts"].items()),
        "versions: " + ", ".join(f"{k} {v}" for k, v in document["versions"].items()),
        f"endpoint: {document['endpoint'] or 'AWS (default endpoints)'}",
        "",
        "phases:",
    ]
    for phase in document["phases"]:
        lines.append(
            f"  {phase['name']:<14} {phase['status']:<11} {phase['seconds']:>8.1f}s"
            + (f"  {phase['message']}" if phase["message"] else "")
        )
    lines += ["", "checks (ADR 5):"]
    for check in document["checks"]:
        lines.append(f"  {check['point']:>2}. [{check['outcome']}] {check['title']}")
        lines.append(f"      {check['observed']}")
    summary = document["summary"]
    lines += [
        "",
        f"summary: {summary['pass']} pass, {summary['differs']} differ, "
        f"{summary['could-not-check']} could not be checked; leftovers after down: "
        f"{'unknown' if document['leftovers'] is None else document['leftovers']}; "
        f"{document['seconds']:.0f}s",
    ]
    if document["cleanup_hint"]:
        lines.append(f"cleanup: {document['cleanup_hint']}")
    lines.append("verify-aws: OK" if document["ok"] else "verify-aws: NOT OK")
    return "\n".join(lines) + "\n"


# --- no secrets ---------------------------------------------------------------------------

#: Field names that could carry a credential: dropped from the evidence wherever they are.
_SECRET_FIELD = re.compile(
    r"(secret|token|password|credential|accesskey|access_key|sessionkey|signature)", re.I
)
#: An AWS access key id (AKIA long-term, ASIA temporary) or anything after a
#: `Signature=`/`X-Amz-Security-Token=` in a message: redacted from every string.
_SECRET_TEXT = re.compile(
    r"\b(AKIA|ASIA)[A-Z0-9]{16}\b|(X-Amz-Security-Token|X-Amz-Signature|Signature)=[^&\s]+",
)


def scrub_text(text: str) -> str:
    return _SECRET_TEXT.sub("[redacted]", text)


def scrub(value: Any) -> Any:
    """`value` without any field named like a credential and with key ids redacted."""
    if isinstance(value, dict):
        return {
            str(k): scrub(v)
            for k, v in value.items()
            if not _SECRET_FIELD.search(str(k)) or str(k) in _ALLOWED_FIELDS
        }
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    if isinstance(value, str):
        return scrub_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return scrub_text(str(value))


#: Evidence fields whose name looks like a credential's but that carry none.
_ALLOWED_FIELDS = frozenset({"token_bucket"})
