"""The CLI's tables: Rich's `Table`, or its exact text without Rich's layout when unstyled.

Rich lays a table out cell by cell through its renderables (measure, wrap, pad, segments),
~0.42 ms of CPU a row: 1.17 s for the 2,751-row `down` plan and ~2.9 s for the 6,754-row
`up` plan at benchmark size 20x100, printed before the first step runs (ADR 44). When the
console emits no styles (no colour system and not a terminal: a pipe or a file) and the
table fits its width, that layout comes down to arithmetic: each column as wide as its
widest line plus a space each side, every line padded to it, box characters around.
`table_text` does that arithmetic and takes from Rich everything that decides a character:
the markup (`Console.render_str`), widths in cells (`rich.cells.cell_len`), the box after
Rich's substitutions, and Rich's own rendering of any cell it cannot lay out by arithmetic
(a tab, a zero-width joiner or variation selector, a line Rich would wrap or strip).
Anywhere else (colour, a terminal, a table wider than the console) the table is Rich's.

Rich is the oracle: tests/unit/test_plain_table.py compares the two texts over fixed and
random tables and fails on the first difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.box import HEAVY_HEAD
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions
from rich.errors import MarkupError
from rich.padding import Padding
from rich.segment import Segment, Segments
from rich.table import Table
from rich.text import Text


def print_table(
    console: Console, columns: Sequence[str | Text], rows: Sequence[Sequence[Any]]
) -> None:
    """Print the table on `console`: as `table_text` when it applies, else as Rich's."""
    text = table_text(console, columns, rows)
    if text is None:
        console.print(rich_table(console, columns, rows))
    else:
        # What printing the Table writes (its lines fit the console: no cropping to do).
        console.print(Segments([Segment(text)]), crop=False)


def rich_table(
    console: Console, columns: Sequence[str | Text], rows: Sequence[Sequence[Any]]
) -> Table:
    """The Rich table: each column folds its long cells; a cell or header is a `Text` (as it
    is) or markup (anything else, as a string)."""
    table = Table(show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    # Each cell's markup is parsed once, here, as printing the string would (the same
    # Console defaults), rather than again for each measurement and the rendering.
    for row in rows:
        table.add_row(*[c if isinstance(c, Text) else console.render_str(str(c)) for c in row])
    return table


class _Cell:
    """A cell's markup (or Text), its plain text's width as Rich measures it, and its lines
    with their widths (None: Rich renders it from its Text)."""

    __slots__ = ("highlight", "lines", "longest", "source", "width")

    def __init__(self, console: Console, source: str | Text, highlight: bool) -> None:
        # Highlighting adds styles only: the same plain text.
        if isinstance(source, Text):
            plain = source.plain
        else:
            plain = console.render_str(source, highlight=False).plain
        self.source = source
        self.highlight = highlight
        # Text.__rich_measure__: its widest line, split as str.splitlines splits.
        self.width = max(map(cell_len, plain.splitlines()), default=0)
        self.lines: list[tuple[str, int]] | None = None
        self.longest = 0
        # A tab Rich expands before wrapping; the width of a zero-width joiner or variation
        # selector depends on its neighbours (`cell_len` is no sum over characters): such
        # cells are Rich's to render. Text.wrap splits on "\n" only; a line is laid out by
        # arithmetic if it is no longer than its column in cells and in characters (else
        # Rich strips or wraps it).
        if not ("\t" in plain or "\u200d" in plain or "\ufe0f" in plain):
            self.lines = [(line, cell_len(line)) for line in plain.split("\n")]
            self.longest = max(max(len(line), cells) for line, cells in self.lines)

    def text(self, console: Console) -> Text:
        """The Text Rich renders, styles and all: where its styles start and end decides the
        width of a zero-width joiner or variation selector next to them."""
        if isinstance(self.source, Text):
            return self.source.copy()  # the Table renders a Text as it is, unhighlighted
        return console.render_str(self.source, highlight=None if self.highlight else False)


def table_text(
    console: Console, columns: Sequence[str | Text], rows: Sequence[Sequence[Any]]
) -> str | None:
    """What printing `rich_table(console, columns, rows)` on `console` writes, or None where
    Rich's output would differ in more than text (styles, a terminal) or Rich would wrap."""
    if console.color_system is not None or console.is_terminal or not columns:
        return None
    if any(len(row) != len(columns) for row in rows):
        return None  # Rich adds columns or empty cells; left to Rich
    parsed: dict[tuple[bool, str], _Cell] = {}

    def parse(value: Any) -> _Cell:
        if isinstance(value, Text):
            if value.spans or value.style:  # styles can change widths (see `_Cell.text`)
                return _Cell(console, value, highlight=False)
            key = (True, value.plain)
        else:
            value = str(value)
            key = (False, value)
        cell = parsed.get(key)
        if cell is None:
            cell = parsed[key] = _Cell(console, value, highlight=True)
        return cell

    try:
        # A header is rendered from its string, not highlighted (the Table's default).
        header = [_Cell(console, column, highlight=False) for column in columns]
        body = [[parse(value) for value in row] for row in rows]
    except MarkupError:
        return None  # Rich raises it, or renders too little to parse it (a tiny console)
    widths = [max(cell.width for cell in column) + 2 for column in zip(header, *body, strict=True)]
    options = console.options
    width_left = options.max_width - len(columns) - 1  # the rest is borders
    if sum(widths) > width_left:
        return None  # Rich narrows the widest columns to fit, wrapping their cells
    box = HEAVY_HEAD.substitute(options, safe=console.safe_box)
    columns_drawn = [_Column(console, options, width) for width in widths]
    draws = [column.draw for column in columns_drawn]
    blanks = [" " * width for width in widths]
    out = [box.get_top(widths), "\n"]

    def draw_row(cells: list[_Cell], left: str, divider: str, right: str, header: bool) -> None:
        parts = [draw(cell) for draw, cell in zip(draws, cells, strict=True)]
        heights = list(map(len, parts))
        height = max(heights)
        if height == 1 == min(heights):
            out.append(f"{left}{divider.join([part[0] for part in parts])}{right}\n")
            return
        # Rows as tall as their tallest cell: blank lines under a cell, above a header.
        height = max(height, 1)
        for index, part in enumerate(parts):
            fill = [blanks[index]] * (height - len(part))
            parts[index] = fill + part if header else part + fill
        for line in zip(*parts, strict=True):
            out.append(f"{left}{divider.join(line)}{right}\n")

    draw_row(header, box.head_left, box.head_vertical, box.head_right, header=True)
    out.append(box.get_row(widths, "head", edge=True) + "\n")
    last = len(body)
    for index, row in enumerate(body, 1):
        if index == last:
            draw_row(row, box.foot_left, box.foot_vertical, box.foot_right, header=False)
        else:
            draw_row(row, box.mid_left, box.mid_vertical, box.mid_right, header=False)
    out.append(box.get_bottom(widths) + "\n")
    if sum(widths) + sum(column.excess for column in columns_drawn) > width_left:
        return None  # Rich would crop lines that its measure finds wider than the console
    return "".join(out)


class _Column:
    """One column at its width: each distinct cell's lines with their padding, drawn once."""

    def __init__(self, console: Console, options: ConsoleOptions, width: int) -> None:
        self.console = console
        self.width = width
        # The options the Table renders a cell of this column with.
        self.options = options.update(
            width=width,
            justify="left",
            overflow="fold",
            no_wrap=False,
            height=None,
            highlight=False,
        )
        self.drawn: dict[_Cell, list[str]] = {}
        #: How far Rich's rendering of a cell went past the width, by Rich's own measure.
        self.excess = 0

    def draw(self, cell: _Cell) -> list[str]:
        lines = self.drawn.get(cell)
        if lines is None:
            lines = self.drawn[cell] = self._draw(cell)
        return lines

    def _draw(self, cell: _Cell) -> list[str]:
        inner = self.width - 2
        if cell.lines is not None and inner > 0 and cell.longest <= inner:
            return [f" {line}{' ' * (inner - cells)} " for line, cells in cell.lines]
        # Rich's own rendering of the cell, as the Table does it: in its Padding, then fitted
        # to the column's width (where styles split a joiner from what it joins, Rich
        # measures pieces and may crop or pad a line to other widths). A column with
        # nothing in it renders no lines: the row's blank fills it.
        padded = Padding(cell.text(self.console), (0, 1, 0, 1))
        rendered = self.console.render_lines(padded, self.options, pad=True)
        shaped = [Segment.adjust_line_length(line, self.width) for line in rendered]
        for line in shaped:
            self.excess = max(self.excess, sum(s.cell_length for s in line) - self.width)
        return ["".join(segment.text for segment in line) for line in shaped]
