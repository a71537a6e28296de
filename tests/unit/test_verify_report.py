"""The verify-aws report keeps evidence and drops anything that could be a credential."""

from __future__ import annotations

import json

from smus_mesh.verify.report import Check, Phase, VerifyReport, render_text, scrub


def test_scrub_drops_credential_fields_and_redacts_key_ids() -> None:
    evidence = {
        "credentials": {"accessKeyId": "ASIAEXAMPLEEXAMPLE12", "secretAccessKey": "s3cr3t"},
        "sessionToken": "FwoGZXIvYXdzE",
        "SecretString": "hunter2",
        "message": "denied for AKIAIOSFODNN7EXAMPLE at X-Amz-Signature=abcdef&x=1",
        "calls": [{"answer": "ThrottlingException", "start_s": 0.01}],
        "token_bucket": {"capacity": 3, "per_second": 3},
        "error": {"code": "AccessDeniedException", "message": "no"},
    }
    cleaned = scrub(evidence)
    text = json.dumps(cleaned)
    for secret in ("ASIAEXAMPLE", "s3cr3t", "FwoGZXIvYXdzE", "hunter2", "AKIAIOSFODNN7", "abcdef"):
        assert secret not in text, secret
    assert cleaned["message"] == "denied for [redacted] at [redacted]&x=1"
    assert cleaned["calls"] == evidence["calls"]
    assert cleaned["token_bucket"] == {"capacity": 3, "per_second": 3}
    assert cleaned["error"] == evidence["error"]


def test_report_is_ok_only_without_differences_failures_or_leftovers() -> None:
    report = VerifyReport("verify-x", "us-east-1", {"p": "111111111111"}, {}, None, "now")
    report.phases.append(Phase("up", True, "ran"))
    report.checks.append(Check(1, "pass", "fine"))
    report.checks.append(Check(17, "could-not-check", "not deployed"))
    assert not report.ok  # leftovers unknown: the audit did not run
    report.leftovers = 0
    assert report.ok
    report.checks.append(Check(9, "differs", "none throttled"))
    assert not report.ok
    text = render_text(report.to_dict())
    assert " 9. [differs] Quota of AcceptSubscriptionRequest" in text
    assert text.endswith("verify-aws: NOT OK\n")
    assert report.to_dict()["summary"] == {"pass": 1, "differs": 1, "could-not-check": 1}
