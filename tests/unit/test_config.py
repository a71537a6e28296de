"""Config validation: every problem names the file, the field path and what is expected.

Each negative case starts from the bundled example (valid), breaks one thing, and
asserts the exact field path and the words that tell the user what to write.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml

from smus_mesh.config import Config, json_schema, load_config, parse_config
from smus_mesh.errors import ConfigError, UserError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "two-accounts.yaml"
SOURCE = "team/smus-mesh.yaml"


def example() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    return copy.deepcopy(document)


def problems_of(change: Callable[[dict[str, Any]], None]) -> tuple[ConfigError, dict[str, str]]:
    """Apply `change` to the example and return the error and its problems by path."""
    document = example()
    change(document)
    with pytest.raises(ConfigError) as caught:
        parse_config(document, SOURCE)
    error = caught.value
    assert str(error).startswith(f"{SOURCE}: {len(error.problems)} problem(s)")
    by_path: dict[str, str] = {}
    for path, message in error.problems:
        assert f"  {path}: {message}" in str(error)  # each problem is printed with its path
        by_path.setdefault(path, message)
    return error, by_path


def test_the_example_is_valid() -> None:
    config = parse_config(example(), SOURCE)
    assert config.name == "demo"
    assert config.used_accounts() == ["producer", "consumer"]
    assert config.producer_of("inventory").name == "producer"
    assert config.table("inventory").bucket == "smus-mesh-demo-retail-111111111111"
    assert config.table("inventory").prefix == "inventory/"


def test_config_error_is_a_user_error_with_exit_code_2() -> None:
    error, _ = problems_of(lambda d: d.pop("region"))
    assert isinstance(error, UserError)
    assert error.exit_code == 2


# --- shape of the file ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "path", "expected"),
    [
        pytest.param(
            lambda d: d.update(colour="blue"),
            "colour",
            "unknown field (check the spelling; `smus-mesh schema` lists fields)",
            id="unknown top-level field",
        ),
        pytest.param(
            lambda d: d["projects"][1].update(owner="me"),
            "projects[1].owner",
            "unknown field",
            id="unknown nested field",
        ),
        pytest.param(
            lambda d: d.pop("region"), "region", "required field is missing", id="missing region"
        ),
        pytest.param(
            lambda d: d["tables"][0].pop("database"),
            "tables[0].database",
            "required field is missing",
            id="missing table database",
        ),
        pytest.param(
            lambda d: d["accounts"]["producer"].update(account_id="1234"),
            "accounts.producer.account_id",
            "expected a 12-digit AWS account id, quoted (\"111122223333\"), got '1234'",
            id="short account id",
        ),
        pytest.param(
            lambda d: d["accounts"]["consumer"].update(account_id=222222222222),
            "accounts.consumer.account_id",
            'expected a string, got the number 222222222222: quote it ("222222222222")',
            id="unquoted account id",
        ),
        pytest.param(
            lambda d: d["accounts"]["producer"].update(role_arn="arn:aws:iam::111:role/X"),
            "accounts.producer.role_arn",
            "expected an IAM role ARN like arn:aws:iam::111122223333:role/Name, "
            "got 'arn:aws:iam::111:role/X'",
            id="malformed role ARN",
        ),
        pytest.param(
            lambda d: d["accounts"]["producer"].update(
                role_arn="arn:aws:iam::222222222222:role/OrganizationAccountAccessRole"
            ),
            "accounts.producer",
            "role_arn is not a role of account 111111111111",
            id="role ARN of another account",
        ),
        pytest.param(
            lambda d: d["accounts"]["producer"].update(profile="prod"),
            "accounts.producer",
            "give either profile or role_arn",
            id="profile and role_arn",
        ),
        pytest.param(
            lambda d: d["accounts"].update(
                consumer={"account_id": "222222222222", "external_id": "xyz"}
            ),
            "accounts.consumer",
            "external_id needs role_arn",
            id="external id without role",
        ),
        pytest.param(
            lambda d: d.update(name="Demo_1"),
            "name",
            "expected 2-24 characters: lower-case letters, digits and dashes, "
            "starting with a letter, got 'Demo_1'",
            id="set-up name",
        ),
        pytest.param(
            lambda d: d.update(region="Frankfurt"),
            "region",
            "expected an AWS region like eu-west-1, got 'Frankfurt'",
            id="region",
        ),
        pytest.param(
            lambda d: d["tables"][0].update(location="http://bucket/x/"),
            "tables[0].location",
            "expected an S3 URI like s3://bucket/prefix/, got 'http://bucket/x/'",
            id="table location",
        ),
        pytest.param(
            lambda d: d["tables"][0].update(location="s3://bucket-only"),
            "tables[0]",
            "location must name a prefix under the bucket (s3://bucket/prefix/)",
            id="location without prefix",
        ),
        pytest.param(
            lambda d: d["tables"][0]["columns"].append({"name": "note", "type": "varchar"}),
            "tables[0].columns[5].type",
            "'varchar' is not a supported Glue type",
            id="column type",
        ),
        pytest.param(
            lambda d: d["tables"][0]["rows"].append(["Z-1", "x", "faro"]),
            "tables[0].rows",
            "rows[5] has 3 values for 5 columns",
            id="row not matching columns",
        ),
        pytest.param(
            lambda d: d["tables"][0].update(create=False),
            "tables[0]",
            "rows are only written for tables smus-mesh creates (create: true)",
            id="rows for a table smus-mesh does not create",
        ),
        pytest.param(
            lambda d: d["projects"][0]["approval"].update(
                rules=[{"decision": "accept", "consumer_project": "consumer"}]
            ),
            "projects[0].approval",
            "rules are only used with mode: rules",
            id="approval rules outside rules mode",
        ),
        pytest.param(
            lambda d: d["projects"][0]["approval"].update(mode="rules"),
            "projects[0].approval",
            "mode: rules needs at least one rule",
            id="rules mode without rules",
        ),
        pytest.param(
            lambda d: d["projects"][0]["approval"].update(
                mode="rules", rules=[{"decision": "maybe"}]
            ),
            "projects[0].approval.rules[0].decision",
            "Input should be 'accept' or 'reject'",
            id="rule decision",
        ),
        pytest.param(
            lambda d: d["projects"][0]["approval"].update(mode="sometimes"),
            "projects[0].approval.mode",
            "Input should be 'auto', 'rules' or 'manual'",
            id="approval mode",
        ),
        pytest.param(
            lambda d: d["checks"][0].update(expect_row_count=2),
            "checks[0]",
            "expect_rows and expect_row_count disagree",
            id="check expectations disagree",
        ),
        pytest.param(
            lambda d: d.update(settings={"poll_max": 0}),
            "settings.poll_max",
            "Input should be greater than 0",
            id="settings value",
        ),
        pytest.param(
            lambda d: d.update(settings={"poll_every": 1}),
            "settings.poll_every",
            "unknown field",
            id="unknown setting",
        ),
    ],
)
def test_field_errors_name_the_path_and_what_is_expected(
    change: Callable[[dict[str, Any]], None], path: str, expected: str
) -> None:
    _, by_path = problems_of(change)
    assert path in by_path, by_path
    assert expected in by_path[path]


# --- cross-references ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "path", "expected"),
    [
        pytest.param(
            lambda d: d["domain"].update(account="shared"),
            "domain.account",
            "unknown account 'shared'",
            id="domain in an unknown account",
        ),
        pytest.param(
            lambda d: d["projects"][1].update(account="analytics"),
            "projects[1].account",
            "unknown account 'analytics'",
            id="project in an unknown account",
        ),
        pytest.param(
            lambda d: d["tables"][0].update(account="analytics"),
            "tables[0].account",
            "unknown account 'analytics'",
            id="table in an unknown account",
        ),
        pytest.param(
            lambda d: d["accounts"]["consumer"].update(
                account_id="111111111111",
                role_arn="arn:aws:iam::111111111111:role/OrganizationAccountAccessRole",
            ),
            "accounts[1]",
            "duplicate account_id '111111111111'",
            id="two aliases for one account",
        ),
        pytest.param(
            lambda d: d["projects"][0].update(imports=["orders"]),
            "projects[0].imports[0]",
            "unknown table 'orders'; tables are ['inventory']",
            id="import of an unknown table",
        ),
        pytest.param(
            lambda d: (
                d["projects"][0].update(imports=[])
                or d["projects"][1].update(imports=["inventory"])
            ),
            "projects[1].imports[0]",
            "table 'inventory' is in account 'producer'; a project imports only tables "
            "of its own account ('consumer')",
            id="import of another account's table",
        ),
        pytest.param(
            lambda d: d["projects"].append(
                {"name": "second", "account": "producer", "imports": ["inventory"]}
            ),
            "projects[2].imports[0]",
            "table 'inventory' is already imported by 'producer'",
            id="table imported twice",
        ),
        pytest.param(
            lambda d: d["projects"].append({"name": "consumer", "account": "consumer"}),
            "projects[2]",
            "duplicate project name 'consumer'",
            id="duplicate project",
        ),
        pytest.param(
            lambda d: d["subscriptions"][0].update(project="marketing"),
            "subscriptions[0].project",
            "unknown project 'marketing'",
            id="subscription of an unknown project",
        ),
        pytest.param(
            lambda d: (
                d["tables"].append(
                    {
                        "name": "orders",
                        "account": "producer",
                        "database": "retail",
                        "table": "orders",
                        "location": "s3://smus-mesh-demo-retail-111111111111/orders/",
                        "columns": [{"name": "id", "type": "int"}],
                    }
                )
                or d["subscriptions"][0].update(tables=["inventory", "orders"])
            ),
            "subscriptions[0].tables[1]",
            "table 'orders' is not imported by any project",
            id="subscription to a table nobody imports",
        ),
        pytest.param(
            lambda d: d["subscriptions"].append({"project": "producer", "tables": ["inventory"]}),
            "subscriptions[1].tables[0]",
            "project 'producer' owns 'inventory' already",
            id="subscription to the project's own table",
        ),
        pytest.param(
            lambda d: d["subscriptions"].append({"project": "consumer", "tables": ["inventory"]}),
            "subscriptions[1]",
            "duplicate subscription 'consumer/inventory'",
            id="subscription twice",
        ),
        pytest.param(
            lambda d: d["checks"][0].update(sql="SELECT * FROM {orders}"),
            "checks[0].sql",
            "{orders} is not a table project 'consumer' subscribes to",
            id="check placeholder",
        ),
        pytest.param(
            lambda d: d["checks"][0].update(project="finance"),
            "checks[0].project",
            "unknown project 'finance'",
            id="check of an unknown project",
        ),
        pytest.param(
            lambda d: d["projects"][0].update(
                approval={
                    "mode": "rules",
                    "rules": [{"decision": "accept", "consumer_project": "finance"}],
                }
            ),
            "projects[0].approval.rules[0].consumer_project",
            "unknown project 'finance'",
            id="rule for an unknown consumer",
        ),
        pytest.param(
            lambda d: d["projects"][0].update(
                approval={"mode": "rules", "rules": [{"decision": "reject", "table": "orders"}]}
            ),
            "projects[0].approval.rules[0].table",
            "'orders' is not imported by project 'producer'",
            id="rule for a table the producer does not import",
        ),
    ],
)
def test_cross_reference_errors(
    change: Callable[[dict[str, Any]], None], path: str, expected: str
) -> None:
    _, by_path = problems_of(change)
    assert path in by_path, by_path
    assert by_path[path] == expected or expected in by_path[path]


def test_every_problem_is_reported_at_once() -> None:
    def break_three(d: dict[str, Any]) -> None:
        d["accounts"]["producer"]["account_id"] = "1"
        d["domain"].pop("name")
        d.update(extra=True)

    error, by_path = problems_of(break_three)
    assert set(by_path) == {"accounts.producer.account_id", "domain.name", "extra"}
    assert len(error.problems) == 3


def test_a_check_may_read_tables_its_project_imports() -> None:
    document = example()
    document["checks"].append(
        {"project": "producer", "sql": "SELECT count(*) FROM {inventory}", "expect_rows": [[5]]}
    )
    assert parse_config(document, SOURCE).checks[1].project == "producer"


def test_the_location_gets_a_trailing_slash_and_types_are_normalised() -> None:
    document = example()
    document["tables"][0]["location"] = "s3://smus-mesh-demo-retail-111111111111/inventory"
    document["tables"][0]["columns"][3]["type"] = "INT"
    table = parse_config(document, SOURCE).table("inventory")
    assert table.location.endswith("/inventory/")
    assert table.columns[3].type == "int"


# --- files ----------------------------------------------------------------------------------


def test_yaml_syntax_error_names_the_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(
        'version: 1\nname: demo\naccounts:\n  producer: {account_id: "1"\n  consumer: [\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.source == str(path)
    [(where, message)] = caught.value.problems
    assert where == "line 5, column 3"
    # libyaml's wording (the C loader is used when PyYAML has it)
    assert message.startswith("not valid YAML: did not find expected ',' or '}'")
    assert str(caught.value).startswith(f"{path}: 1 problem(s)")


def test_tab_indentation_is_a_yaml_error_with_a_line(tmp_path: Path) -> None:
    path = tmp_path / "tabs.yaml"
    path.write_text("version: 1\nname: demo\n\tregion: us-east-1\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    [(where, message)] = caught.value.problems
    assert where.startswith("line 3, column ")
    assert "not valid YAML" in message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.problems == [("(file)", "file not found")]
    assert (
        str(caught.value) == f"{path}: 1 problem(s) in the configuration:\n  (file): file not found"
    )


def test_a_directory_is_not_a_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    [(where, message)] = caught.value.problems
    assert where == "(file)"
    assert message == "is a directory; give a YAML file"


@pytest.mark.parametrize("text", ["- a\n- b\n", "just text\n", ""])
def test_the_top_level_must_be_a_mapping(tmp_path: Path, text: str) -> None:
    path = tmp_path / "list.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.problems == [("(top level)", "expected a mapping of settings")]


def test_load_config_reads_the_example() -> None:
    config = load_config(EXAMPLE)
    assert isinstance(config, Config)
    assert [p.name for p in config.projects] == ["producer", "consumer"]


# --- JSON Schema ------------------------------------------------------------------------------


def test_json_schema_is_valid_and_validates_the_example() -> None:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors(example())) == []
    assert schema["title"] == "smus-mesh configuration"
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    json.dumps(schema)  # serialisable, as `smus-mesh schema` prints it


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda d: d.update(colour="blue"), "'colour' was unexpected"),
        (lambda d: d["accounts"]["producer"].update(account_id="1234"), "does not match"),
        (lambda d: d.pop("projects"), "'projects' is a required property"),
        (lambda d: d["projects"][0]["approval"].update(mode="often"), "is not one of"),
    ],
)
def test_json_schema_rejects_what_the_loader_rejects(
    change: Callable[[dict[str, Any]], None], fragment: str
) -> None:
    document = example()
    change(document)
    messages = [
        e.message for e in jsonschema.Draft202012Validator(json_schema()).iter_errors(document)
    ]
    assert any(fragment in m for m in messages), messages
    with pytest.raises(ConfigError):
        parse_config(document, SOURCE)


def test_a_member_is_a_user_or_a_group_and_groups_need_identity_center() -> None:
    document = example()
    document["projects"][1]["members"] = [
        {"user": "ana", "group": "analysts"},
    ]
    with pytest.raises(ConfigError) as both:
        parse_config(document, SOURCE)
    assert both.value.problems == [("projects[1].members[0]", "give either user or group")]
    document["projects"][1]["members"] = [{"group": "analysts"}, {"user": "ana"}, {"user": "ana"}]
    with pytest.raises(ConfigError) as iam:
        parse_config(document, SOURCE)
    assert iam.value.problems == [
        ("projects[1].members[2]", "duplicate member 'user:ana'"),
        (
            "projects[1].members[0].group",
            "groups are members only in a domain with auth: iam_identity_center",
        ),
    ]
