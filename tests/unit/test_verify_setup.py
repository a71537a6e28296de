"""The set-up verify-aws builds is its own, derived only from how to reach the accounts."""

from __future__ import annotations

import copy
import stat
from pathlib import Path

import pytest
import yaml

from smus_mesh.config import load_config, parse_config
from smus_mesh.console import NoopConsole
from smus_mesh.errors import UserError
from smus_mesh.verify import Verifier
from smus_mesh.verify.probe_setup import verification_config, verify_policy
from tests.e2e.conftest import example_document

IDC = "arn:aws:sso:::instance/ssoins-0123456789abcdef"


def test_the_verification_set_up_takes_accounts_region_and_domain_kind_only() -> None:
    document = example_document()
    document["name"] = "a-rather-long-set-up-nam"
    document["domain"].update(
        auth="iam_identity_center", identity_center_instance_arn=IDC, user_assignment="MANUAL"
    )
    document["settings"] = {"timeout": 900}
    setup = verification_config(parse_config(document))
    assert setup.name == "verify-a-rather-long-set"
    assert setup.domain.name == "smus-mesh-verify-a-rather-long-set"
    assert (setup.domain.auth, setup.domain.user_assignment) == ("iam_identity_center", "MANUAL")
    assert setup.domain.identity_center_instance_arn == IDC
    assert setup.accounts == parse_config(document).accounts
    assert [(p.name, p.account) for p in setup.projects] == [
        ("verify-producer", "producer"),
        ("verify-consumer-a", "consumer"),
        ("verify-consumer-b", "consumer"),
    ]
    [table] = setup.tables
    assert table.location == "s3://smus-mesh-verify-a-rather-long-set-111111111111/probe/"
    assert table.database == "verify_a_rather_long_set"
    assert setup.settings == {"timeout": 900}
    # The probes' statement comes on top of `permissions`' policy for these names.
    producer = verify_policy(setup, "producer")["Statement"]
    assert producer[-1]["Sid"] == "VerifyAwsProbes"
    assert "datazone:DeleteDomain" in producer[-1]["Action"]
    consumer = verify_policy(setup, "consumer")["Statement"][-1]["Action"]
    assert not any(a.startswith("athena:") for a in consumer)


def test_one_account_is_refused() -> None:
    document = copy.deepcopy(example_document())
    del document["accounts"]["consumer"]
    document["projects"] = [document["projects"][0]]
    document["subscriptions"] = []
    document["checks"] = []
    with pytest.raises(UserError, match="verify-aws needs two accounts"):
        verification_config(parse_config(document))


def test_the_set_up_is_written_where_down_can_be_finished_by_hand(tmp_path: Path) -> None:
    config = tmp_path / "mine.yaml"
    config.write_text(yaml.safe_dump(example_document()))
    verifier = Verifier(config, NoopConsole(), lambda question: False)
    verifier._write_config_file()  # what run() writes after the preflight
    written = verifier.config_file
    assert written == tmp_path / ".smus-mesh" / "verify-demo.yaml"
    assert load_config(written) == verifier.config
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert f"--state {tmp_path / '.smus-mesh' / 'verify-demo.state.json'} down" in (
        written.read_text()
    )
