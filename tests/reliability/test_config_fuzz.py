"""Property: whatever an invalid config file holds, `plan` exits 2 with a message, never a
traceback, and makes no AWS call at all (the emulator's calls log stays empty).

Hypothesis builds invalid files in ways a user, a script or an attacker would: random
bytes, random text, the example with one field replaced by a hostile value of the
wrong kind (bad regions, Unicode digits, IP-address buckets, `..` prefixes, row values
that do not fit their column, SQL that writes), unknown keys at any depth, duplicate
keys, deep nesting and alias bombs. Every generator produces only invalid files, so
the property is exactly "refused, cleanly, before AWS".

`make test` tries 200 files; `make test-full` tries `SMUS_MESH_FUZZ_EXAMPLES` (500 by
default) and prints the counts.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smus_mesh.config_rules import known_regions
from tests.e2e.conftest import example_document
from tests.e2e.helpers import last_seq
from tests.reliability.conftest import run_cli
from tests.support import Cloud

SAMPLE_EXAMPLES = 200
FULL_EXAMPLES = int(os.environ.get("SMUS_MESH_FUZZ_EXAMPLES", "500"))

#: Values of the wrong type for any field of the example. Not null and no empty list or
#: mapping: an optional field may be null, and an empty list or mapping of settings is
#: valid (the fuzzer found that: `role_arn: null` is the default credential chain).
WRONG_TYPE = st.one_of(
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.integers(), min_size=1, max_size=3),
    st.dictionaries(st.text(min_size=1, max_size=5), st.integers(), min_size=1, max_size=2),
)
HOSTILE_TEXT = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1000, max_size=5000),
    st.sampled_from(["", " ", "\x00", "../../etc/passwd", "${HOME}", "{{ x }}", "%s%n", "\u202e"]),
)
UNICODE_DIGITS = st.text(
    alphabet=st.characters(categories=["Nd"], exclude_characters="0123456789"),
    min_size=12,
    max_size=12,
)


def _bad_region() -> st.SearchStrategy[str]:
    return st.one_of(
        st.from_regex(r"[a-z]{2}-[a-z]{3,9}-[0-9]", fullmatch=True),
        HOSTILE_TEXT,
    ).filter(lambda r: r not in known_regions())


def _bad_bucket() -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(*[st.integers(0, 255)] * 4).map(lambda ip: ".".join(map(str, ip))),
        st.from_regex(r"[a-z0-9]{1,20}\.\.[a-z0-9]{1,20}", fullmatch=True),
        st.from_regex(r"[A-Z][A-Za-z0-9]{3,20}", fullmatch=True),
        st.from_regex(r"[a-z0-9]{64,80}", fullmatch=True),
        st.from_regex(r"xn--[a-z0-9]{3,10}", fullmatch=True),
        st.from_regex(r"[a-z0-9]{3,10}--ol-s3", fullmatch=True),
    )


def _bad_prefix() -> st.SearchStrategy[str]:
    segment = st.from_regex(r"[a-z0-9_-]{1,10}", fullmatch=True)
    bad = st.sampled_from(["..", ".", ""])
    return st.tuples(st.lists(segment, max_size=2), bad, st.lists(segment, max_size=2)).map(
        lambda parts: "/".join([*parts[0], parts[1], *parts[2]]) + "/"
    )


def _bad_int() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.text(min_size=1, max_size=50).filter(lambda t: not t.strip().lstrip("+-").isdigit()),
        UNICODE_DIGITS,
        st.integers(min_value=2**31),
        st.integers(max_value=-(2**31) - 1),
        st.floats(allow_nan=True).filter(lambda f: f != f or not f.is_integer()),
        st.lists(st.integers(), min_size=1, max_size=3),
        st.booleans(),
    )


def _writing_sql() -> st.SearchStrategy[str]:
    statements = st.sampled_from(
        [
            "DROP TABLE {inventory}",
            "DELETE FROM {inventory}",
            "INSERT INTO {inventory} VALUES (1)",
            "UPDATE {inventory} SET quantity = 0",
            "CREATE TABLE stolen AS SELECT * FROM {inventory}",
            "ALTER TABLE {inventory} ADD COLUMNS (x int)",
            "COPY {inventory} TO 's3://elsewhere/'",
            "SELECT * INTO stolen FROM {inventory}",
            "MERGE INTO {inventory} t USING x s ON t.sku = s.sku WHEN MATCHED THEN DELETE",
            "VACUUM {inventory}",
            "MSCK REPAIR TABLE {inventory}",
            "SELECT 1 FROM {inventory}; DROP TABLE {inventory}",
            "SELECT 1 FROM {inventory}; SELECT 2",
        ]
    )
    return st.one_of(
        statements,
        st.tuples(statements, st.sampled_from(["", ";", " -- x", "\n"])).map("".join),
    )


GLUE_TYPES = {"string", "int", "integer", "bigint", "smallint", "tinyint", "double", "float"}
GLUE_TYPES |= {"boolean", "date", "timestamp"}


def _not_a_type(text: str) -> bool:
    lowered = text.strip().lower()
    return lowered not in GLUE_TYPES and not lowered.startswith("decimal")


#: (path in the example document, invalid replacement)
FIELD_MUTATIONS: list[tuple[tuple[Any, ...], st.SearchStrategy[Any]]] = [
    (("region",), _bad_region()),
    (("name",), HOSTILE_TEXT.filter(lambda t: not t.isascii() or len(t) > 24 or t != t.lower())),
    (("accounts", "producer", "account_id"), st.one_of(UNICODE_DIGITS, HOSTILE_TEXT)),
    (("accounts", "consumer", "role_arn"), HOSTILE_TEXT),
    (("tables", 0, "location"), _bad_bucket().map(lambda b: f"s3://{b}/inventory/")),
    (("tables", 0, "location"), _bad_prefix().map(lambda p: f"s3://smus-mesh-bucket/{p}")),
    (("tables", 0, "rows", 0, 3), _bad_int()),
    (("tables", 0, "columns", 3, "type"), HOSTILE_TEXT.filter(lambda t: _not_a_type(t))),
    (("tables", 0, "format"), HOSTILE_TEXT.filter(lambda t: t not in ("csv", "parquet"))),
    (("checks", 0, "sql"), _writing_sql()),
    (("domain", "account"), HOSTILE_TEXT.filter(lambda t: t not in ("producer", "consumer"))),
    (
        ("projects", 0, "approval", "mode"),
        HOSTILE_TEXT.filter(lambda t: t not in ("auto", "rules", "manual")),
    ),
    (("settings",), st.fixed_dictionaries({"max_attempts": st.integers(max_value=0)})),
]


def _containers(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every mapping and list in the document."""
    found: list[tuple[Any, ...]] = []
    if isinstance(node, dict):
        found.append(path)
        for key, value in node.items():
            found += _containers(value, (*path, key))
    elif isinstance(node, list):
        found.append(path)
        for index, value in enumerate(node):
            found += _containers(value, (*path, index))
    return found


def _at(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        document = document[part]
    return document


def _set(document: Any, path: tuple[Any, ...], value: Any) -> None:
    _at(document, path[:-1])[path[-1]] = value


@st.composite
def field_replaced(draw: st.DrawFn) -> str:
    document = example_document()
    path, values = draw(st.sampled_from(FIELD_MUTATIONS))
    _set(document, path, draw(values))
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


@st.composite
def wrong_type_somewhere(draw: st.DrawFn) -> str:
    """A mapping of the document (not a free-form one) gets a field of the wrong kind or
    an unknown key."""
    document = example_document()
    mappings = [
        p
        for p in _containers(document)
        if isinstance(_at(document, p), dict) and "settings" not in p
    ]
    path = draw(st.sampled_from(mappings))
    target = _at(document, path)
    if draw(st.booleans()):
        key = draw(st.text(min_size=1, max_size=20).filter(lambda k: k not in target))
        target[key] = draw(WRONG_TYPE)
    else:
        key = draw(st.sampled_from(sorted(target)))
        target[key] = draw(WRONG_TYPE.filter(lambda v: type(v) is not type(target[key])))
        if path == () and key == "version" and target[key] in (1, 1.0, True):
            target[key] = "one"  # Literal[1] takes 1.0 and True too
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


@st.composite
def hostile_yaml(draw: st.DrawFn) -> str:
    text = yaml.safe_dump(example_document(), sort_keys=False)
    kind = draw(st.sampled_from(["duplicate", "deep", "bomb", "tabs", "truncated"]))
    if kind == "duplicate":
        key = draw(st.sampled_from(["name", "region", "version", "domain"]))
        return text + f"\n{key}: again\n"
    if kind == "deep":
        depth = draw(st.integers(min_value=33, max_value=5000))
        return text + "\nextra: " + "[" * depth + "]" * depth + "\n"
    if kind == "bomb":
        fan = draw(st.integers(min_value=10, max_value=40))
        levels = draw(st.integers(min_value=5, max_value=9))
        lines = ["l0: &l0 [" + ", ".join(["x"] * fan) + "]"]
        for level in range(1, levels):
            lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * fan) + "]")
        return "\n".join(lines) + "\n" + text
    if kind == "tabs":
        return text.replace("  ", "\t", draw(st.integers(min_value=1, max_value=5)))
    return text[: draw(st.integers(min_value=0, max_value=len(text) // 2))] + "\n  - : [\n"


NOT_UTF8 = st.binary(min_size=1, max_size=2000).map(lambda b: b + b"\xff")
ANY_INVALID = st.one_of(
    NOT_UTF8,
    st.text(max_size=2000).map(str.encode),
    field_replaced().map(str.encode),
    wrong_type_somewhere().map(str.encode),
    hostile_yaml().map(str.encode),
)

COUNTS: Counter[str] = Counter()


def _assert_refused(cloud: Cloud, path: Path, content: bytes) -> None:
    path.write_bytes(content)
    since = last_seq(cloud)
    result = run_cli("-c", path, "plan")
    calls = len(cloud.calls()) - since
    traceback = "Traceback" in result.output or "hit a bug" in result.output
    COUNTS["fuzzed"] += 1
    COUNTS[f"exit {result.exit_code}"] += 1
    COUNTS["tracebacks"] += traceback
    COUNTS["aws calls"] += calls
    assert result.exit_code == 2, (content[:2000], result.output[-2000:])
    assert result.stderr.startswith("error: "), result.stderr[-2000:]
    assert not traceback, result.output[-4000:]
    assert len(result.stderr) < 5_000, f"a message of {len(result.stderr)} characters"
    assert calls == 0, "an AWS call was made"


def _fuzz(cloud: Cloud, tmp_path: Path, examples: int) -> None:
    COUNTS.clear()
    path = tmp_path / "fuzzed.yaml"

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )
    @given(ANY_INVALID)
    def refused(content: bytes) -> None:
        _assert_refused(cloud, path, content)

    refused()
    print(
        f"\n[config fuzz] {COUNTS['fuzzed']} configs fuzzed; {COUNTS['exit 2']} exit 2; "
        f"{COUNTS['tracebacks']} tracebacks; {COUNTS['aws calls']} AWS calls"
    )


def test_invalid_configs_exit_2_with_no_traceback_and_no_aws_call(
    cloud: Cloud, tmp_path: Path
) -> None:
    _fuzz(cloud, tmp_path, SAMPLE_EXAMPLES)


@pytest.mark.full
@pytest.mark.timeout(3600)
def test_many_invalid_configs_exit_2_with_no_traceback_and_no_aws_call(
    cloud: Cloud, tmp_path: Path
) -> None:
    _fuzz(cloud, tmp_path, FULL_EXAMPLES)
