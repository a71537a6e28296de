"""Reading the config file with bounded cost, before any of it is believed.

The file is the one input a user (or a script, or an attacker who can write it)
controls completely, so reading it must cost a bounded amount of time and memory
whatever it holds (ADR 12):

* only a regular file is read (a FIFO would block forever, `/dev/zero` never ends),
  opened without blocking, and at most `MAX_CONFIG_BYTES` of it;
* it must be UTF-8;
* YAML is parsed with libyaml (`CSafeLoader`) when PyYAML has it, ten times faster
  than the pure-Python parser; a first pass over the parser's events (libyaml's own
  loop, no recursion) refuses nesting deeper than `MAX_DEPTH` and a document that
  expands to more than `MAX_NODES` nodes once aliases are followed (an alias bomb
  is a few hundred bytes of anchors that expand to billions of nodes), before any
  Python object is built;
* a key given twice in one mapping is an error (YAML says keys are unique; PyYAML
  silently keeps the last one).

Every problem is a `ConfigError` naming the file and where; nothing here raises
anything else.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from smus_mesh.errors import ConfigError

#: Largest config file read (bytes). The largest real set-up we know (20 projects x 100
#: tables with sample rows) is about 60 KB; 2 MiB leaves room for big sample tables.
MAX_CONFIG_BYTES = 2 * 1024 * 1024
#: Deepest nesting of mappings and sequences (the schema itself needs 6).
MAX_DEPTH = 32
#: Most YAML nodes once every alias is expanded (a 2 MiB file of short scalars has
#: about 700,000).
MAX_NODES = 1_000_000
#: Longest excerpt of an offending value shown in a message.
SHOWN_CHARS = 200

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"


def shown(value: Any, limit: int = SHOWN_CHARS) -> str:
    """`repr(value)`, cut to about `limit` characters (a 1 MB value is not echoed)."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text):,} characters)"


class _ConfigLoader(_Loader):  # type: ignore[misc]
    """The safe loader, refusing a key given twice in one mapping."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue  # `<<: *defaults` merges; later keys override by design
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:
                    continue  # unhashable: the base class reports it
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"found the key {shown(key)} twice (keys of a mapping are unique)",
                        key_node.start_mark,
                    )
        return super().construct_mapping(node, deep)


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "(yaml)"


def _check_shape(source: str, text: str) -> None:
    """Refuse, from the parser's events alone, nesting deeper than MAX_DEPTH and more
    than MAX_NODES nodes with aliases expanded (each anchored node's expanded size and
    height are remembered, so the pass is linear in the file)."""
    anchored: dict[str, tuple[int, int]] = {}
    #: open collections: [anchor, expanded nodes so far, height of the tallest child]
    open_nodes: list[list[Any]] = []
    expanded = 0

    def closed(anchor: str | None, nodes: int, height: int, mark: Any) -> None:
        if anchor:
            anchored[anchor] = (nodes, height)
        if open_nodes:
            parent = open_nodes[-1]
            parent[1] += nodes
            parent[2] = max(parent[2], height)
            if len(open_nodes) + height > MAX_DEPTH:
                raise ConfigError(
                    source,
                    [(_where(mark), f"nested deeper than {MAX_DEPTH} levels (through an alias)")],
                )

    loader = _Loader(text)
    try:
        while loader.check_event():
            event = loader.get_event()
            mark = event.start_mark
            if isinstance(event, yaml.ScalarEvent):
                expanded += 1
                closed(event.anchor, 1, 1, mark)
            elif isinstance(event, yaml.AliasEvent):
                if any(frame[0] == event.anchor for frame in open_nodes):
                    raise ConfigError(
                        source,
                        [(_where(mark), f"the alias *{event.anchor} is inside its own anchor")],
                    )
                nodes, height = anchored.get(event.anchor or "", (1, 1))
                expanded += nodes
                closed(None, nodes, height, mark)
            elif isinstance(event, yaml.CollectionStartEvent):
                expanded += 1
                open_nodes.append([event.anchor, 1, 0])
                if len(open_nodes) > MAX_DEPTH:
                    raise ConfigError(
                        source, [(_where(mark), f"nested deeper than {MAX_DEPTH} levels")]
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                anchor, nodes, tallest = open_nodes.pop()
                closed(anchor, nodes, tallest + 1, mark)
            if expanded > MAX_NODES:
                raise ConfigError(
                    source,
                    [
                        (
                            _where(mark),
                            f"the YAML expands to more than {MAX_NODES:,} values "
                            "(aliases are counted each time they are used)",
                        )
                    ],
                )
    finally:
        loader.dispose()


def _file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_config_text(path: str | Path) -> str:
    """The file's text: a regular file of at most MAX_CONFIG_BYTES, in UTF-8."""
    source = str(path)
    try:
        # O_NONBLOCK: opening a FIFO with no writer must not wait for one.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ConfigError(source, [("(file)", "file not found")]) from None
    except OSError as exc:
        raise ConfigError(source, [("(file)", exc.strerror or str(exc))]) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise ConfigError(source, [("(file)", f"is {_file_kind(mode)}; give a YAML file")])
        chunks = []
        remaining = MAX_CONFIG_BYTES + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
    except OSError as exc:
        raise ConfigError(source, [("(file)", exc.strerror or str(exc))]) from None
    finally:
        os.close(fd)
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(
            source,
            [("(file)", f"larger than {MAX_CONFIG_BYTES:,} bytes; a config file is far smaller")],
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            source,
            [(f"line {line}", f"not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}")],
        ) from None


def parse_yaml(source: str, text: str) -> Any:
    """The YAML document in `text`, within the depth and size budgets, keys unique."""
    try:
        _check_shape(source, text)
        loader = _ConfigLoader(text)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        if "maximum nesting depth" in problem:  # libyaml's own limit, met while scanning ahead
            problem = f"nested deeper than {MAX_DEPTH} levels"
            raise ConfigError(source, [(_where(mark), problem)]) from None
        raise ConfigError(
            source, [(_where(mark), f"not valid YAML: {problem[: SHOWN_CHARS * 2]}")]
        ) from None


def load_yaml_file(path: str | Path) -> Any:
    """Read and parse a config file within every budget above."""
    return parse_yaml(str(path), read_config_text(path))
