"""The producer's answer to a subscription request under its approval policy."""

from __future__ import annotations

import pytest

from smus_mesh.config import ApprovalConfig, ApprovalRule
from smus_mesh.resources.subscriptions import decide

ANALYST = "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole"
INTERN = "arn:aws:sts::333333333333:assumed-role/Interns/bob"


def rules(
    *items: ApprovalRule, default: str = "leave", comment: str | None = None
) -> ApprovalConfig:
    extra = {"comment": comment} if comment is not None else {}
    return ApprovalConfig.model_validate(
        {"mode": "rules", "rules": [r.model_dump() for r in items], "default": default, **extra}
    )


def test_auto_accepts_everything_with_the_policy_comment() -> None:
    policy = ApprovalConfig(mode="auto", comment="ok by the data owner")
    assert decide(policy, "consumer", "inventory", ANALYST) == ("accept", "ok by the data owner")
    assert decide(ApprovalConfig(), "anyone", "anything", "") == ("accept", "Approved by smus-mesh")


def test_manual_leaves_every_request() -> None:
    assert decide(ApprovalConfig(mode="manual"), "consumer", "inventory", ANALYST) == ("leave", "")


def test_rules_first_match_wins() -> None:
    policy = rules(
        ApprovalRule(decision="reject", consumer_project="marketing", comment="no PII for ads"),
        ApprovalRule(decision="accept", table="inventory", comment="inventory is open"),
        ApprovalRule(decision="reject", comment="ask the data owner"),
    )
    assert decide(policy, "marketing", "inventory", ANALYST) == ("reject", "no PII for ads")
    assert decide(policy, "consumer", "inventory", ANALYST) == ("accept", "inventory is open")
    assert decide(policy, "consumer", "orders", ANALYST) == ("reject", "ask the data owner")


def test_rules_match_on_all_of_project_table_and_requester() -> None:
    policy = rules(
        ApprovalRule(
            decision="accept",
            consumer_project="consumer",
            table="inventory",
            requester="arn:aws:iam::222222222222:*",
        ),
        default="reject",
    )
    assert decide(policy, "consumer", "inventory", ANALYST)[0] == "accept"
    assert decide(policy, "consumer", "inventory", INTERN)[0] == "reject"
    assert decide(policy, "other", "inventory", ANALYST)[0] == "reject"
    assert decide(policy, "consumer", "orders", ANALYST)[0] == "reject"


@pytest.mark.parametrize(
    ("pattern", "requester", "matches"),
    [
        ("*", "", True),
        ("arn:aws:sts::333333333333:assumed-role/Interns/*", INTERN, True),
        ("arn:aws:sts::*:assumed-role/Interns/b?b", INTERN, True),
        ("arn:aws:sts::*:assumed-role/Interns/[a-c]ob", INTERN, True),
        ("arn:aws:sts::*:assumed-role/interns/*", INTERN, False),  # case matters in ARNs
        ("arn:aws:iam::222222222222:role/*", INTERN, False),
        ("arn:aws:iam::222222222222:role/Organization*", ANALYST, True),
    ],
)
def test_requester_is_an_fnmatch_pattern(pattern: str, requester: str, matches: bool) -> None:
    policy = rules(
        ApprovalRule(decision="accept", requester=pattern, comment="yes"), default="reject"
    )
    assert decide(policy, "consumer", "inventory", requester)[0] == (
        "accept" if matches else "reject"
    )


def test_rule_comment_defaults() -> None:
    policy = rules(
        ApprovalRule(decision="accept", consumer_project="consumer"),
        ApprovalRule(decision="reject"),
        comment="welcome",
    )
    assert decide(policy, "consumer", "inventory", ANALYST) == ("accept", "welcome")
    assert decide(policy, "other", "inventory", ANALYST) == (
        "reject",
        "Rejected by smus-mesh rules",
    )


@pytest.mark.parametrize(
    ("default", "expected"),
    [
        ("accept", ("accept", "Approved by smus-mesh")),
        ("reject", ("reject", "No rule matched")),
        ("leave", ("leave", "")),
    ],
)
def test_default_when_no_rule_matches(default: str, expected: tuple[str, str]) -> None:
    policy = rules(ApprovalRule(decision="accept", consumer_project="finance"), default=default)
    assert decide(policy, "consumer", "inventory", ANALYST) == expected
    # ... and the rule still wins where it matches
    assert decide(policy, "finance", "inventory", ANALYST)[0] == "accept"
