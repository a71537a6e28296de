"""The CLI's tables without Rich's layout (ADR 44) are Rich's tables to the character: Rich is
the oracle, over fixed tables and random ones drawn from markup, wide, combining, zero-width
and control characters, tabs, line breaks and spaces at the ends."""

from __future__ import annotations

import io
import random
from typing import Any

import pytest
from rich.console import Console
from rich.table import Table
from rich.text import Text

from smus_mesh.plain_table import print_table, table_text

Rows = list[list[Any]]


@pytest.fixture(autouse=True)
def _no_colour_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich reads these when a Console is made: they would make a pipe a terminal."""
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "JUPYTER_COLUMNS"):
        monkeypatch.delenv(name, raising=False)


class AsciiFile(io.StringIO):
    """A file in an encoding without box characters: Rich draws an ASCII box."""

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "ascii"


def pipe(width: int = 1_000_000, ascii_file: bool = False, **options: Any) -> Console:
    """The console `cli._table` prints on when stdout is not a terminal."""
    file = AsciiFile() if ascii_file else io.StringIO()
    return Console(file=file, width=width, **options)


def written(console: Console) -> str:
    file = console.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


def rich_output(columns: list[Any], rows: Rows, console: Console) -> str:
    """The oracle: the Rich Table as `cli._table` printed it before ADR 44 (a `Text` cell
    or header is Rich's to render as it is)."""
    table = Table(show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*[c if isinstance(c, Text) else console.render_str(str(c)) for c in row])
    console.print(table)
    return written(console)


def assert_same(columns: list[str], rows: Rows) -> None:
    expected = rich_output(columns, rows, pipe())
    assert table_text(pipe(), columns, rows) == expected
    console = pipe()
    print_table(console, columns, rows)
    assert written(console) == expected


PLAN = ["action", "step", "account", "why"]

TABLES: dict[str, tuple[list[str], Rows]] = {
    "a plan": (
        PLAN,
        [
            ["[green]create[/green]", "datazone:project/consumer-01", "consumer", "absent"],
            ["[bold red]blocked[/bold red]", "glue:table/t001", "producer", "waits on x"],
            ["[red]delete[/red]", "datazone:subscription-request/c/t", "consumer", "exists"],
        ],
    ),
    "no rows": (PLAN, []),
    "one column": (["name"], [["a"], ["longer value"], [""]]),
    "one column, no rows": (["only"], []),
    "empty strings": (["a", "", "c"], [["", "", ""], ["x", "", ""]]),
    "a column of nothing": ([""], [[""], [""]]),
    "lines in a cell": (["k", "v"], [["one\ntwo\nthree", "x"], ["a", "b\n"], ["\n", ""]]),
    "lines in a column with nothing else": ([""], [["\n"], ["\n\n"]]),
    "lines in a header": (["two\nlines", "one"], [["a", "b\nc\nd"], ["e", "f"]]),
    "brackets in data": (
        ["id", "value"],
        [
            ["\\[not markup]", "a[0] and b[1:2]"],
            ["[ spaced ]", "x [y z] w"],
            ["back\\slash\\", "[link=https://example.com]link[/link]"],
            ["[bold]", "[i]unclosed"],
        ],
    ),
    "emoji codes and colons": (["c"], [[":smile: and :thumbs_up:"], ["a:b:c"], [":no_such:"]]),
    "wide and combining": (
        ["名前", "値"],
        [
            ["漢字テーブル", "e\u0301te\u0301"],
            ["😀😀", "a\u0301\u0301\u0301 "],
            ["\uff57\uff49\uff44\uff45", "x"],
        ],
    ),
    "zero-width joiners and selectors": (
        ["c", "d"],
        [
            ["👩\u200d💻", "☺\ufe0f"],
            ["\u200d[b]x[/b]", "a\u200d b"],
            ["❤\ufe0f ", "[b]☺[/b]\ufe0f"],
            # Rich's highlighting styles the bracket: a joiner before a style's start joins
            # nothing, and the wide character after it no longer fits its cells.
            ["\u200d\\[:\u3000漢", "x\u200d(1)"],
            # ...and a joiner after a style's end joins nothing: Rich pads the line further.
            ["b\u200d's'\u200d👩\u200d💻", "a wider cell than that one"],
        ],
    ),
    "tabs": (["t", "u"], [["a\tb", "x"], ["\t", "longer than a tab stop......"], ["ab\tc\td", ""]]),
    "spaces at the ends": (["  pad  ", "x"], [["  lead", "trail  "], ["   ", " \u3000"]]),
    "other spaces and breaks": (
        ["s"],
        [["a\xa0b"], ["c\u3000d"], ["e\u2028f"], ["g\x1ch"], ["i\x85j"], ["\u2029"]],
    ),
    "control characters": (["c"], [["a\x1bb"], ["c\rd"], ["e\x07f"], ["\x00g"], ["h\x7fi"]]),
    "values that are not strings": (["n", "b", "none"], [[1, True, None], [2.5, False, "x"]]),
}


@pytest.mark.parametrize("name", list(TABLES))
def test_a_table_is_what_rich_prints(name: str) -> None:
    columns, rows = TABLES[name]
    assert_same(columns, rows)


#: Random cells draw from these, weighted to the plain ones so that most rows are laid
#: out without Rich; the rest make some cells Rich's (tabs, joiners, selectors).
PLAIN = [*"abcxyz019 -_/.=,;", "consumer", "datazone:project/x", " ", "  "]
TRICKY = [
    "[", "]", "\\", "\\[", "[b]", "[/b]x", "[red]r[/red]", "[i]", ":smile:", ":", "\n",
    "\n\n", "漢", "字", "\uff57", "😀", "e\u0301", "\u0301", "\u0300\u0301", "\u3000", "\xa0",
    "\u2028", "\x1c", "\x85", "\x1b", "\r", "\x07",
]  # fmt: skip
CONTEXTUAL = ["\t", "\u200d", "\ufe0f", "☺\ufe0f", "👩\u200d💻", "a\tb", "(1)", "\\[", "'s'"]


def random_cell(rng: random.Random) -> str:
    pool = rng.choices([PLAIN, TRICKY, CONTEXTUAL], weights=[8, 4, 1])[0]
    cell = "".join(rng.choice(pool) for _ in range(rng.randint(0, 6)))
    if rng.random() < 0.6:
        cell = "".join(rng.choice(PLAIN) for _ in range(rng.randint(0, 12))) + cell
    return cell


def random_table(rng: random.Random) -> tuple[list[str], Rows]:
    width = rng.randint(1, 5)
    columns = [random_cell(rng) for _ in range(width)]
    rows = [[random_cell(rng) for _ in range(width)] for _ in range(rng.randint(0, 6))]
    return columns, rows


def parses(columns: list[str], rows: Rows) -> bool:
    """Rich refuses markup that closes what was not opened (`[/b]` alone): so does the CLI."""
    from rich.errors import MarkupError

    try:
        rich_output(columns, rows, pipe())
    except MarkupError:
        return False
    return True


def test_random_tables_are_what_rich_prints() -> None:
    rng = random.Random(44)
    compared = 0
    while compared < 400:
        columns, rows = random_table(rng)
        if not parses(columns, rows):
            continue
        expected = rich_output(columns, rows, pipe())
        assert table_text(pipe(), columns, rows) == expected, (columns, rows)
        if compared % 4 == 0:  # and on consoles that may be too narrow for them
            width = rng.randint(5, 80)
            console = pipe(width=width)
            print_table(console, columns, rows)
            assert written(console) == rich_output(columns, rows, pipe(width=width))
        compared += 1


def test_markup_rich_refuses_is_refused_as_before() -> None:
    from rich.errors import MarkupError

    for columns, rows in [(["[/b]"], [["x"]]), (["x"], [["a"], ["[/]"]])]:
        with pytest.raises(MarkupError) as expected:
            rich_output(columns, rows, pipe())
        with pytest.raises(MarkupError) as raised:
            print_table(pipe(), columns, rows)
        assert str(raised.value) == str(expected.value)
    # On a console too narrow to measure a header, Rich never parses it: a table, no error.
    expected_text = rich_output(["[/b]", "b", "c"], [["x", "y", "z"]], pipe(width=3))
    console = pipe(width=3)
    print_table(console, ["[/b]", "b", "c"], [["x", "y", "z"]])
    assert written(console) == expected_text


def test_a_table_of_many_rows_is_what_rich_prints() -> None:
    rng = random.Random(4)
    rows = [
        [
            "[green]create[/green]",
            f"glue:table/c-{i:02d}/t{i:03d}",
            "consumer",
            "why " * rng.randint(0, 4),
        ]
        for i in range(300)
    ]
    assert_same(PLAN, rows)


def test_an_ascii_file_gets_rich_s_ascii_box() -> None:
    columns, rows = TABLES["a plan"]
    expected = rich_output(columns, rows, pipe(ascii_file=True))
    assert expected.startswith("+-")
    assert table_text(pipe(ascii_file=True), columns, rows) == expected


@pytest.mark.parametrize(
    "console",
    [
        pytest.param(lambda: pipe(force_terminal=True, color_system="truecolor"), id="colour"),
        pytest.param(lambda: pipe(force_terminal=True, color_system=None), id="terminal"),
        pytest.param(lambda: pipe(width=30), id="narrower than the table: Rich folds"),
    ],
)
def test_what_is_not_laid_out_here_is_printed_by_rich(console: Any) -> None:
    columns, rows = TABLES["a plan"]
    assert table_text(console(), columns, rows) is None
    expected = rich_output(columns, rows, console())
    printed = console()
    print_table(printed, columns, rows)
    assert written(printed) == expected


def test_the_environment_that_makes_rich_colour_a_pipe_keeps_rich(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    columns, rows = TABLES["a plan"]
    assert table_text(pipe(), columns, rows) is None
    expected = rich_output(columns, rows, pipe())
    assert "\x1b[" in expected
    console = pipe()
    print_table(console, columns, rows)
    assert written(console) == expected


def test_rows_of_another_length_are_rich_s() -> None:
    rows: Rows = [["a"], ["b", "c", "d"]]
    assert table_text(pipe(), ["x", "y"], rows) is None
    console = pipe()
    print_table(console, ["x", "y"], rows)
    assert written(console) == rich_output(["x", "y"], rows, pipe())


def test_the_cli_prints_cells_and_headers_as_text_not_markup(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Ids, AWS's details, query results and comments may hold brackets: `cli._table`
    prints them as they are. Read as markup, `[/]` made Rich raise MarkupError, `[red]`
    vanished and `:ok:` became an emoji. A styled column (the plan's action) is markup."""
    from smus_mesh import cli

    values = [
        "[/]",
        "[red]x[/red]",
        "a\\",
        "x [/b] y",
        "C:\\temp\\",
        "[[x]]",
        "\\[y]",
        "[b",
        ":ok:",
    ]
    cli._table("t", ["[col]", "[/]"], [[v, v] for v in values])
    cli._table("plan", ["action", "step"], [["[green]create[/green]", "[k]"]], styled=(0,))
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "┃ [col]" in lines[2] and "┃ [/]" in lines[2], lines[2]
    for value, line in zip(values, lines[4:], strict=False):
        assert line.split("│")[1].strip() == value, (value, line)
        assert line.split("│")[2].strip() == value, (value, line)
    assert "│ create │ [k]  │" in out, out


def test_random_tables_of_text_are_what_rich_prints() -> None:
    """Cells and headers given as `Text` (the CLI's data) are laid out as Rich lays out those
    Text objects: as they are, markup and emoji codes included, and a styled column beside
    them still parsed as markup."""
    rng = random.Random(46)
    for index in range(300):
        columns, rows = random_table(rng)
        headers = [Text(column) for column in columns]
        styled = index % 3 == 0  # the first column markup, as the plan's action
        cells: Rows = [
            [c if styled and i == 0 else Text(c) for i, c in enumerate(row)] for row in rows
        ]
        if styled and not parses(columns[:1], [row[:1] for row in rows]):
            continue
        expected = rich_output(headers, cells, pipe())
        assert table_text(pipe(), headers, cells) == expected, (headers, cells)
        console = pipe()
        print_table(console, headers, cells)
        assert written(console) == expected


def test_a_checks_name_and_results_are_text(capsys: pytest.CaptureFixture[str]) -> None:
    """A check's name is the user's text (or its SQL, `arr[i]`): its title prints it as it
    is, with the CLI's own mark styled after it."""
    from smus_mesh import cli
    from smus_mesh.collaboration import CheckResult

    named = CheckResult("x[/b] arr[i]", "consumer", "SELECT 1", True, ["[n]"], [["[/]"], [None]])
    failed = CheckResult("[red]count[/red]", "consumer", "SELECT 1", False, message="no rows")
    cli._render_checks([named, failed])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "x[/b] arr[i] (consumer): ok"
    assert out[2].split("┃")[1].strip() == "[n]"
    assert out[4].split("│")[1].strip() == "[/]"
    assert out[-1] == "[red]count[/red] (consumer): FAILED"
