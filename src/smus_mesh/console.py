"""Where every human-facing line goes: a Console protocol with Rich, plain and silent kinds.

The library reports progress through a `Console` it is given; it never prints.
`--output json` uses `PlainConsole` on stderr so stdout carries only the JSON
result. Consoles are created lazily by the CLI so that Typer's test runner can
capture them.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, Protocol, TextIO


class Console(Protocol):
    def step(self, key: str, event: str, detail: str = "") -> None:
        """A step's progress: event is started / waiting / done / failed / skipped."""

    def info(self, message: str) -> None: ...

    def warn(self, message: str) -> None: ...


class NoopConsole:
    """Says nothing (library use, tests that only look at results)."""

    def step(self, key: str, event: str, detail: str = "") -> None:
        return None

    def info(self, message: str) -> None:
        return None

    def warn(self, message: str) -> None:
        return None


class PlainConsole:
    """One line per event, with elapsed time; waits are reported at most every few seconds."""

    def __init__(self, stream: TextIO | None = None, verbose: int = 0) -> None:
        self.stream = stream or sys.stderr
        self.verbose = verbose
        self._start = time.monotonic()
        self._last_wait: dict[str, float] = {}
        self._lock = threading.Lock()

    def _write(self, text: str) -> None:
        with self._lock:
            print(f"[{time.monotonic() - self._start:7.1f}s] {text}", file=self.stream, flush=True)

    def step(self, key: str, event: str, detail: str = "") -> None:
        if event == "waiting":
            now = time.monotonic()
            interval = 0.0 if self.verbose > 1 else 5.0
            if now - self._last_wait.get(key, -interval - 1) < interval:
                return
            self._last_wait[key] = now
        if event in ("observed",) and not self.verbose:
            return
        self._write(f"{event:<9} {key}" + (f"  {detail}" if detail else ""))

    def info(self, message: str) -> None:
        self._write(message)

    def warn(self, message: str) -> None:
        self._write(f"WARNING: {message}")


class RichConsole(PlainConsole):
    """Plain lines with colour on a terminal (Rich), same rate limiting."""

    STYLES = {
        "started": "cyan",
        "waiting": "yellow",
        "done": "green",
        "failed": "bold red",
        "skipped": "dim",
        "kept": "dim",
    }

    def __init__(self, verbose: int = 0) -> None:
        super().__init__(sys.stderr, verbose)
        from rich.console import Console as RichTerminal

        self._terminal = RichTerminal(stderr=True, highlight=False)

    def _write(self, text: str) -> None:  # pragma: no cover - exercised on terminals
        with self._lock:
            self._terminal.print(f"[dim]{time.monotonic() - self._start:7.1f}s[/dim] {text}")

    def step(self, key: str, event: str, detail: str = "") -> None:
        style = self.STYLES.get(event, "")
        styled = f"[{style}]{event:<9}[/{style}]" if style else f"{event:<9}"
        if event == "waiting":
            now = time.monotonic()
            interval = 0.0 if self.verbose > 1 else 5.0
            if now - self._last_wait.get(key, -interval - 1) < interval:
                return
            self._last_wait[key] = now
        if event == "observed" and not self.verbose:
            return
        from rich.markup import escape

        self._write(f"{styled} {escape(key)}" + (f"  {escape(detail)}" if detail else ""))

    def info(self, message: str) -> None:
        from rich.markup import escape

        self._write(escape(message))  # names and AWS's words: text, not markup

    def warn(self, message: str) -> None:
        from rich.markup import escape

        self._write(f"[bold yellow]WARNING[/bold yellow] {escape(message)}")


def console_for(output: str, verbose: int, quiet: bool = False) -> Any:
    if quiet:
        return NoopConsole()
    if output == "json" or not sys.stderr.isatty():
        return PlainConsole(sys.stderr, verbose)
    return RichConsole(verbose)
