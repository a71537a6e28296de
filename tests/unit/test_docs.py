"""The hand-written docs cover what the code has: every config field, every command."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from smus_mesh.cli import app
from smus_mesh.config import json_schema, load_config
from smus_mesh.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _fields(schema: dict[str, Any], node: dict[str, Any], out: set[str]) -> None:
    if "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    for name, member in node.get("properties", {}).items():
        out.add(name)
        for option in [member, *member.get("anyOf", []), member.get("items", {})]:
            if isinstance(option, dict):
                if "$ref" in option or "properties" in option:
                    _fields(schema, option, out)
                if "items" in option:
                    _fields(schema, option["items"], out)
                if isinstance(option.get("additionalProperties"), dict):
                    _fields(schema, option["additionalProperties"], out)


def test_every_config_field_is_described() -> None:
    schema = json_schema()
    names: set[str] = set()
    _fields(schema, schema, names)
    names |= set(Settings.model_fields)
    page = (ROOT / "docs" / "config.md").read_text()
    missing = sorted(n for n in names if not re.search(rf"[`.]{re.escape(n)}(`|\.|\[)", page))
    assert missing == []


def test_every_command_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = [
        c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands
    ]
    missing = [c for c in commands if c not in ("version",) and f"`{c}" not in readme]
    assert missing == []


def test_the_real_aws_template_is_valid_once_filled_in(tmp_path: Path) -> None:
    text = (ROOT / "examples" / "real-aws.yaml").read_text()
    filled = re.sub(r"<([^<>]*)>", lambda m: m.group(1), text)
    path = tmp_path / "real.yaml"
    path.write_text(filled)
    config = load_config(path)
    assert (config.name, config.accounts["consumer"].account_id) == ("sales-mesh", "444455556666")
    assert yaml.safe_load(filled)["projects"][0]["approval"]["mode"] == "rules"
