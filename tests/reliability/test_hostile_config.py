"""Hostile config files: each is refused at once with exit 2, a message naming what is
wrong (at most ~200 characters of the offending value), no traceback and no AWS call
(issue 16, item 2). The fuzzed neighbours are in `test_config_fuzz.py`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from smus_mesh.config_file import MAX_CONFIG_BYTES, MAX_DEPTH, MAX_NODES
from tests.e2e.conftest import EXAMPLE, example_document
from tests.e2e.helpers import last_seq
from tests.reliability.conftest import run_cli
from tests.support import Cloud


def _refused(cloud: Cloud, config: Path, *expected: str, seconds: float = 10.0) -> str:
    """Run `plan` on `config`: exit 2 within `seconds`, every `expected` text in the
    message, no traceback, no AWS call at all. Returns stderr."""
    since = last_seq(cloud)
    started = time.monotonic()
    result = run_cli("-c", config, "plan")
    took = time.monotonic() - started
    assert result.exit_code == 2, result.output[-3000:]
    for text in expected:
        assert text in result.stderr, result.stderr[-3000:]
    assert "Traceback" not in result.output and "hit a bug" not in result.output
    assert len(result.stderr) < 2_000, f"{len(result.stderr)} characters of message"
    assert took < seconds, f"took {took:.1f}s"
    assert cloud.calls()[since:] == [], "an AWS call was made"
    return result.stderr


def _yaml(tmp_path: Path, text: str | bytes, name: str = "hostile.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def _with(document: dict[str, Any], tmp_path: Path) -> Path:
    return _yaml(tmp_path, yaml.safe_dump(document, sort_keys=False))


# --- the file itself ----------------------------------------------------------------------


def test_a_fifo_is_refused_at_once(cloud: Cloud, tmp_path: Path) -> None:
    fifo = tmp_path / "config.fifo"
    os.mkfifo(fifo)  # opening it for reading would wait forever for a writer
    _refused(cloud, fifo, f"error: {fifo}: 1 problem(s)", "(file): is a FIFO; give a YAML file")


def test_dev_zero_is_refused_at_once(cloud: Cloud) -> None:
    _refused(cloud, Path("/dev/zero"), "(file): is a device; give a YAML file")


def test_a_file_over_the_size_limit_is_refused_without_parsing(
    cloud: Cloud, tmp_path: Path
) -> None:
    big = _yaml(tmp_path, "# " + "x" * MAX_CONFIG_BYTES + "\n")
    _refused(cloud, big, f"(file): larger than {MAX_CONFIG_BYTES:,} bytes")


def test_a_config_not_in_utf8_is_refused_with_the_line(cloud: Cloud, tmp_path: Path) -> None:
    text = EXAMPLE.read_bytes().replace(b"name: demo", b"name: d\xe9mo", 1)
    line = text[: text.index(b"\xe9")].count(b"\n") + 1
    _refused(cloud, _yaml(tmp_path, text), f"line {line}: not UTF-8: byte 0xe9 at offset")


# --- YAML bombs ---------------------------------------------------------------------------


def test_an_alias_bomb_in_rows_is_refused_before_anything_is_built(
    cloud: Cloud, tmp_path: Path
) -> None:
    """About 1 KB that expands to 10^9 values (YAML's 'billion laughs'), as a table's rows."""
    levels = ['&a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        levels.append(f"&{level} [" + ", ".join([f"*{previous}"] * 10) + "]")
    document = example_document()
    document["tables"][0]["rows"] = "ROWS"
    text = yaml.safe_dump(document, sort_keys=False)
    text = text.replace("rows: ROWS", "rows: [" + ", ".join(levels) + "]")
    assert len(text.encode()) < 4_000
    stderr = _refused(cloud, _yaml(tmp_path, text), f"expands to more than {MAX_NODES:,}")
    assert "aliases are counted each time they are used" in stderr


def test_a_recursive_alias_is_refused(cloud: Cloud, tmp_path: Path) -> None:
    config = EXAMPLE.read_text().replace("version: 1", "version: 1\nloop: &l [*l]", 1)
    _refused(cloud, _yaml(tmp_path, config), "the alias *l is inside its own anchor")


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1_000, 100_000])
def test_deep_nesting_is_refused_without_recursion(
    cloud: Cloud, tmp_path: Path, depth: int
) -> None:
    config = EXAMPLE.read_text() + "\nsettings_extra: " + "[" * depth + "]" * depth + "\n"
    _refused(cloud, _yaml(tmp_path, config), f"nested deeper than {MAX_DEPTH} levels")


def test_deep_nesting_through_an_alias_is_refused(cloud: Cloud, tmp_path: Path) -> None:
    deep = "[" * 20 + "]" * 20
    config = EXAMPLE.read_text() + f"\nx: &deep {deep}\ny: {'[' * 20}*deep{']' * 20}\n"
    _refused(cloud, _yaml(tmp_path, config), "nested deeper than 32 levels (through an alias)")


def test_a_duplicate_key_is_refused_with_its_line(cloud: Cloud, tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace("region: us-east-1", "region: us-east-1\nregion: eu-west-1")
    line = text.splitlines().index("region: eu-west-1") + 1
    _refused(
        cloud,
        _yaml(tmp_path, text),
        f"line {line}, column 1: not valid YAML: found the key 'region' twice",
    )


def test_a_nine_megabyte_value_is_refused_fast_and_not_echoed(cloud: Cloud, tmp_path: Path) -> None:
    document = example_document()
    document["name"] = "x" * 1_000_000
    stderr = _refused(cloud, _with(document, tmp_path), "name: expected 2-24 characters")
    assert "(1,000,002 characters)" in stderr


# --- values -------------------------------------------------------------------------------

CASES: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    (
        "unknown region",
        lambda d: d.update(region="xx-fake-9"),
        "region: unknown AWS region 'xx-fake-9'",
    ),
    (
        "account id in Arabic-Indic digits",
        lambda d: d["accounts"]["producer"].update(account_id="\u0661" * 12),
        "accounts.producer.account_id: expected a 12-digit AWS account id",
    ),
    (
        "bucket that is an IP address",
        lambda d: d["tables"][0].update(location="s3://192.168.1.1/inventory/"),
        "bucket name '192.168.1.1' is formatted as an IP address",
    ),
    (
        "bucket with two adjacent periods",
        lambda d: d["tables"][0].update(location="s3://a..b/inventory/"),
        "bucket name 'a..b' has two adjacent periods",
    ),
    (
        "prefix that climbs out",
        lambda d: d["tables"][0].update(location="s3://smus-mesh-demo-retail/../etc/"),
        "has an empty, '.' or '..' segment",
    ),
    (
        "prefix ending in an empty segment",
        lambda d: d["tables"][0].update(location="s3://smus-mesh-demo-retail/inventory//"),
        "the prefix 'inventory//' has an empty, '.' or '..' segment",
    ),
    (
        "int column with text",
        lambda d: d["tables"][0]["rows"][2].__setitem__(3, "not-a-number"),
        "tables[0].rows: rows[2][3] (column quantity): 'not-a-number' is not an integer (int)",
    ),
    (
        "int out of range",
        lambda d: d["tables"][0]["rows"][0].__setitem__(3, 2**31),
        "2147483648 is outside the range of int",
    ),
    (
        "double that is not finite",
        lambda d: d["tables"][0]["rows"][0].__setitem__(4, float("nan")),
        "rows[0][4] (column unit_price): nan is not a finite number (double)",
    ),
    (
        "decimal with too many places",
        lambda d: (
            d["tables"][0]["columns"][4].update(type="decimal(5,2)"),
            d["tables"][0]["rows"][0].__setitem__(4, "1.234"),
        ),
        "'1.234' has more than 2 decimal places (decimal(5,2))",
    ),
    (
        "decimal too large",
        lambda d: (
            d["tables"][0]["columns"][4].update(type="decimal(5,2)"),
            d["tables"][0]["rows"][0].__setitem__(4, 12345),
        ),
        "12345 has more than 3 digits before the decimal point (decimal(5,2))",
    ),
    (
        "bad date",
        lambda d: (
            d["tables"][0]["columns"][4].update(type="date"),
            d["tables"][0]["rows"][0].__setitem__(4, "2024-02-30"),
        ),
        "'2024-02-30' is not a date (YYYY-MM-DD)",
    ),
    (
        "bad timestamp",
        lambda d: (
            d["tables"][0]["columns"][4].update(type="timestamp"),
            d["tables"][0]["rows"][0].__setitem__(4, "yesterday"),
        ),
        "'yesterday' is not a timestamp",
    ),
    (
        "bad boolean",
        lambda d: (
            d["tables"][0]["columns"][4].update(type="boolean"),
            d["tables"][0]["rows"][0].__setitem__(4, "maybe"),
        ),
        "'maybe' is not a boolean (true or false)",
    ),
    (
        "a list where a value goes",
        lambda d: d["tables"][0]["rows"][0].__setitem__(0, [1, 2]),
        "rows[0][0] (column sku): expected a string value, got a list",
    ),
    (
        "too many rows",
        lambda d: d["tables"][0].update(rows=[["A", "b", "c", 1, 1.0]] * 10_001),
        "tables[0].rows: List should have at most 10000 items",
    ),
    (
        "a check that drops a table",
        lambda d: d["checks"][0].update(sql="DROP TABLE {inventory}"),
        "checks[0].sql: a check is a read-only query (SELECT or WITH ... SELECT), not DROP",
    ),
    (
        "a check that creates a table",
        lambda d: d["checks"][0].update(sql="CREATE TABLE x AS SELECT * FROM {inventory}"),
        "not CREATE",
    ),
    (
        "a check that copies",
        lambda d: d["checks"][0].update(sql="COPY {inventory} TO 's3://x/y'"),
        "not COPY",
    ),
    (
        "two statements",
        lambda d: d["checks"][0].update(sql="SELECT 1 FROM {inventory}; DROP TABLE x"),
        "a check is one SQL statement; this has 2",
    ),
    (
        "SELECT INTO",
        lambda d: d["checks"][0].update(sql="SELECT * INTO copy FROM {inventory}"),
        "a check only reads: INTO inside the query is not allowed",
    ),
    (
        "not SQL",
        lambda d: d["checks"][0].update(sql="SELEC warehouse FROM {inventory}"),
        "checks[0].sql: not valid SQL at line 1",
    ),
]


@pytest.mark.parametrize(("mutate", "said"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_value_is_refused_before_any_aws_call(
    cloud: Cloud, tmp_path: Path, mutate: Callable[[dict[str, Any]], None], said: str
) -> None:
    document = example_document()
    mutate(document)
    _refused(cloud, _with(document, tmp_path), said)
