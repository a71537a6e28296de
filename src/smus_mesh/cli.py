# Over 800 lines: every command's options, prompts and output, which Typer declares per command;
# the work each command does is in the library (engine, inventory, collaboration).
"""`smus-mesh`: thin commands over the library (engine.workspace, query, audit, emulator).

Each command parses its options, builds a Workspace and calls one library
function. Prompts, colours, tables and exit codes live only here. Exit codes
(`errors.py`, ADR 12): 0 success; 1 AWS refused, a check failed or something
was left; 2 the user's input (config, options, state file) with nothing
changed; 3 a transient failure that retries did not overcome (run it again);
130 interrupted. No traceback is shown unless `--debug`, except for bugs,
which say so.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from smus_mesh import __version__
from smus_mesh.errors import EXIT_INTERRUPTED, Interrupted, SmusMeshError
from smus_mesh.waiting import Stop

if TYPE_CHECKING:
    from rich.text import Text

EXIT_CODES_HELP = (
    "Exit codes: 0 success; 1 AWS refused, a check failed or something was left; "
    "2 bad input (config, options, state file), nothing changed; 3 AWS kept failing "
    "transiently after every retry, safe to run again; 130 interrupted."
)

#: The tool's own options that take a value, and its flags: accepted after the
#: subcommand too (`smus-mesh plan -o json` is `smus-mesh -o json plan`).
_ANYWHERE_VALUE_OPTIONS = ("-c", "--config", "-o", "--output", "--state")
_ANYWHERE_FLAGS = re.compile(r"-v+|--verbose|--debug")


class _OptionsAnywhere(TyperGroup):
    """The top-level group: moves the tool's options found after the subcommand to before
    it, then parses as usual. A subcommand's own options (and their values) stay where
    they are, and so does everything after `--`."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        _no_flag_metavars(self, ctx)
        ctx.meta[_WANTS_JSON] = _wants_json(args)
        return super().parse_args(ctx, _hoisted(self, ctx, args))

    # A usage error (unknown option, bad value) is a JSON error document too when the
    # line asks for JSON; Click still prints the usage on stderr and exits 2.
    def make_context(
        self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any
    ) -> Any:
        wants_json = _wants_json(args)
        try:
            return super().make_context(info_name, args, parent, **extra)
        except typer.TyperException as exc:
            if wants_json:
                _echo_usage_error(exc)
            raise

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except typer.TyperException as exc:
            if ctx.meta.get(_WANTS_JSON):
                _echo_usage_error(exc)
            raise


_WANTS_JSON = "smus_mesh.wants_json"


def _wants_json(args: list[str]) -> bool:
    """Whether the command line asks for JSON output (before `--`), read before parsing."""
    for index, arg in enumerate(args):
        if arg == "--":
            return False
        if arg in ("--output=json", "-ojson") or (
            arg in ("-o", "--output") and args[index + 1 : index + 2] == ["json"]
        ):
            return True
    return False


def _echo_usage_error(exc: typer.TyperException) -> None:
    """Typer's usage errors (its own copy of Click's ClickException) as an error document."""
    from smus_mesh.contract import error_document

    if not hasattr(exc, "format_message"):
        return

    hint = getattr(exc, "param_hint", None) or getattr(getattr(exc, "param", None), "opts", None)
    path = hint if isinstance(hint, str) else "/".join(hint) if hint else None
    path = getattr(exc, "option_name", None) or path  # NoSuchOption names the option
    message = exc.format_message()
    code = int(getattr(exc, "exit_code", 2))
    document = error_document(type(exc).__name__, message, code, [(path, message)])
    typer.echo(json.dumps(document, indent=1))


def _no_flag_metavars(command: Any, ctx: Any) -> None:
    """Help shows `-v` and `--debug` bare, not `-v <int>` and `--debug <bool>`: they take
    no value (this version of Typer labels every option with its type)."""
    for param in [*command.params, command.get_help_option(ctx)]:
        if _is_option(param) and (param.is_flag or param.count):
            param.metavar = ""
    for sub in _subcommands(command):
        _no_flag_metavars(sub, ctx)


def _subcommands(command: Any) -> list[Any]:
    commands: dict[str, Any] = getattr(command, "commands", {})
    return list(commands.values())


def _is_option(param: Any) -> bool:
    return getattr(param, "param_type_name", "") == "option"


def _value_options(command: Any, nested: bool = True) -> set[str]:
    """The option names of `command` (and of its subcommands) that take a value."""
    names: set[str] = set()
    for param in command.params:
        if _is_option(param) and not (param.is_flag or param.count):
            names.update(param.opts)
    for sub in _subcommands(command) if nested else []:
        names |= _value_options(sub)
    return names


def _hoisted(group: TyperGroup, ctx: Any, args: list[str]) -> list[str]:
    own_values = _value_options(group, nested=False)
    start = 0
    while start < len(args) and args[start].startswith("-") and args[start] != "--":
        start += 2 if args[start] in own_values else 1
    if start >= len(args) or args[start] == "--":
        return args
    command = group.get_command(ctx, args[start])
    if command is None:
        return args
    theirs = _value_options(command)
    moved: list[str] = []
    kept: list[str] = []
    rest = args[start + 1 :]
    index = 0
    while index < len(rest):
        arg = rest[index]
        name = arg.split("=", 1)[0]
        short = arg[:2] if len(arg) > 2 and not arg.startswith("--") else ""
        if arg == "--":
            kept.extend(rest[index:])
            break
        if name in theirs:  # the subcommand's option: keep it and its value
            width = 1 if "=" in arg else 2
        elif name in _ANYWHERE_VALUE_OPTIONS and "=" not in arg:
            if index + 1 == len(rest):  # moved, it would take the subcommand as its value
                raise typer.BadParameter("a value is missing", ctx=ctx, param_hint=f"'{arg}'")
            moved.extend(rest[index : index + 2])
            index += 2
            continue
        elif (
            name in _ANYWHERE_VALUE_OPTIONS
            or short in _ANYWHERE_VALUE_OPTIONS
            or _ANYWHERE_FLAGS.fullmatch(arg)
        ):
            moved.append(arg)
            index += 1
            continue
        else:
            width = 1
        kept.extend(rest[index : index + width])
        index += width
    return [*args[:start], *moved, args[start], *kept]


app = typer.Typer(
    name="smus-mesh",
    help="Set up, check and tear down a two-account SageMaker Unified Studio collaboration "
    "from one YAML file, against AWS or the bundled local emulator.\n\n"
    "The options -c, -o, -v, --state and --debug go before or after the command.\n\n"
    + EXIT_CODES_HELP,
    cls=_OptionsAnywhere,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
emulator_app = typer.Typer(
    help="The local AWS emulator: an organization of member accounts.", no_args_is_help=True
)
app.add_typer(emulator_app, name="emulator")


class Output(StrEnum):
    text = "text"
    json = "json"


@dataclass
class Options:
    config: Path
    state: Path | None
    output: Output
    verbose: int
    debug: bool
    #: closed when the command ends, however it ends (click closes its context)
    closing: ExitStack = field(default_factory=ExitStack)

    @property
    def json(self) -> bool:
        return self.output == Output.json


def _options(ctx: typer.Context) -> Options:
    options: Options = ctx.obj
    return options


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"smus-mesh {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[
        Path,
        typer.Option("-c", "--config", help="The set-up's YAML file.", envvar="SMUS_MESH_CONFIG"),
    ] = Path("smus-mesh.yaml"),
    state: Annotated[
        Path | None,
        typer.Option(
            "--state", help="State file (default <config dir>/.smus-mesh/<name>.state.json)."
        ),
    ] = None,
    output: Annotated[Output, typer.Option("--output", "-o", help="text or json.")] = Output.text,
    verbose: Annotated[int, typer.Option("-v", "--verbose", count=True, help="More detail.")] = 0,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    ctx.obj = Options(config, state, output, verbose, debug)
    ctx.call_on_close(ctx.obj.closing.close)


# --- plumbing ---------------------------------------------------------------------------


def _console(options: Options, quiet: bool = False) -> Any:
    from smus_mesh.console import console_for

    return console_for(options.output.value, options.verbose, quiet)


def _err(message: str) -> None:
    typer.echo(message, err=True)


def _require_emulator() -> None:
    """Exit 2, saying how to install it, when the `emulator` extra is not installed."""
    hint = "pip install 'smus-mesh[emulator]'"
    try:
        from smus_mesh_emulator import INSTALL_HINT, missing_dependencies

        missing, hint = missing_dependencies(), INSTALL_HINT
    except ImportError:
        missing = ["smus_mesh_emulator"]
    if missing:
        _err(
            f"error: the emulator is not installed (cannot import {', '.join(missing)}). "
            f"Install it with: {hint}"
        )
        raise typer.Exit(2)


@contextmanager
def _handled(options: Options) -> Iterator[None]:
    """Map errors to messages and exit codes (see the module docstring)."""
    try:
        yield
    except (typer.Exit, typer.Abort, typer.TyperException):
        # Typer's own outcomes: an exit code, a declined confirmation, a usage error
        # (exit 2 with the usage line). None of them is a bug.
        raise
    except KeyboardInterrupt:
        _err("interrupted; the state file is saved: run the same command again to resume")
        _exit_interrupted(pressed=True)
    except Interrupted as exc:
        if options.json:
            _echo_error("Interrupted", str(exc), EXIT_INTERRUPTED)
        _err(str(exc))
        _exit_interrupted()
    except SmusMeshError as exc:
        if options.debug:
            raise
        _fail(options, type(exc).__name__, str(exc), exc.exit_code, _problems(exc))
    except Exception as exc:
        if options.debug:
            raise
        known = _aws_failure(exc)
        if known is not None:
            _fail(options, type(exc).__name__, *known)
        _err(
            f"smus-mesh hit a bug: {type(exc).__name__}: {exc}\n"
            f"{traceback.format_exc()}Please report it with the output above."
        )
        raise typer.Exit(1) from None


#: Set when this process got SIGINT while a command ran under `_ctrl_c`.
_PRESSED = threading.Event()


@contextmanager
def _ctrl_c(stop: Stop) -> Iterator[None]:
    """Ctrl-C as `waiting.Stop` defines it (first: finish what is in flight, start
    nothing; second: abort), for the commands that run steps or wait."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread (a library caller's thread)
        return

    def handler(signum: int, frame: Any) -> None:
        _PRESSED.set()
        stop.on_sigint(signum, frame)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _exit_interrupted(pressed: bool = False) -> None:
    """Exit 130. After a real Ctrl-C, at once: the state is saved, and the interpreter's
    shutdown (joining pool threads still inside an AWS call, finalising every module)
    would hold the exit for up to seconds; what those calls did is found by the next
    run, as after a crash (ownership is recorded before each create)."""
    if pressed or _PRESSED.is_set():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)
    raise typer.Exit(EXIT_INTERRUPTED) from None


def _finite_positive(value: float) -> bool:
    import math

    return math.isfinite(value) and value > 0


def _fail(
    options: Options,
    error: str,
    message: str,
    exit_code: int,
    problems: list[tuple[str | None, str]] | None = None,
) -> None:
    if options.json:
        _echo_error(error, message, exit_code, problems)
    _err(f"error: {message}")
    raise typer.Exit(exit_code) from None


def _problems(exc: SmusMeshError) -> list[tuple[str | None, str]] | None:
    """A config error's (field path, message) pairs; None for any other error."""
    from smus_mesh.errors import ConfigError

    if isinstance(exc, ConfigError):
        return [(path, message) for path, message in exc.problems]
    return None


def _echo_error(
    error: str, message: str, exit_code: int, problems: list[tuple[str | None, str]] | None = None
) -> None:
    from smus_mesh.contract import error_document

    typer.echo(json.dumps(error_document(error, message, exit_code, problems), indent=1))


def _aws_failure(exc: Exception) -> tuple[str, int] | None:
    """(message, exit code) of an AWS error that reached the command (a read outside any
    step, such as an observation): transient -> 3, refused -> 1, no credentials -> 2."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
        ProfileNotFound,
    )

    from smus_mesh.errors import EXIT_FAILED, EXIT_TRANSIENT, EXIT_USAGE
    from smus_mesh.retry_policy import describe_aws_error, is_transient

    if not isinstance(exc, ClientError | BotoCoreError):
        return None
    detail = describe_aws_error(exc)
    if is_transient(exc):
        return (
            f"AWS kept failing after every retry ({detail}); this is transient: "
            "run the same command again",
            EXIT_TRANSIENT,
        )
    if isinstance(exc, ClientError):
        return f"AWS refused {detail}", EXIT_FAILED
    if isinstance(exc, NoCredentialsError | PartialCredentialsError | NoRegionError):
        return f"{detail} (configure AWS credentials or the account's profile)", EXIT_USAGE
    if isinstance(exc, ProfileNotFound):
        return detail, EXIT_USAGE
    return None


def _workspace(
    options: Options, console: Any = None, ignore_state: bool = False, stop: Stop | None = None
) -> Any:
    """The command's workspace, closed (its clients' connections) when the command ends."""
    from smus_mesh.engine.workspace import Workspace

    workspace = Workspace.open(
        options.config,
        options.state,
        console or _console(options),
        ignore_state=ignore_state,
        stop=stop,
    )
    options.closing.callback(workspace.close)
    if workspace.moved_from is not None:
        _err(
            f"note: moved the state file from {workspace.moved_from} (where older versions "
            f"kept it) to {workspace.state_path}, next to the config"
        )
    return workspace


def _emit(options: Options, kind: str, payload: Any, render: Callable[[], None]) -> None:
    """The result: the JSON document of `kind` (smus_mesh.contract), or `render()`'s text."""
    if options.json:
        from smus_mesh.contract import document

        typer.echo(json.dumps(document(kind, payload), indent=1, default=str))
    else:
        render()


def _table(
    title: str | Text, columns: list[str], rows: list[list[Any]], styled: tuple[int, ...] = ()
) -> None:
    """Print a table. Its cells are text: ids, AWS's details, query results, comments
    people wrote, printed as they are, never read as Rich markup (a `[/]` in a decision
    comment or a query value made Rich raise MarkupError, `[red]` vanished and `:ok:`
    became an emoji). Only the columns in `styled` hold markup, the CLI's own. The title is
    text too, unless it is a `Text` already (styled by the caller)."""
    from rich.console import Console
    from rich.text import Text

    from smus_mesh.plain_table import print_table

    headers = [Text(column) for column in columns]
    cells = [
        [cell if index in styled else Text(str(cell)) for index, cell in enumerate(row)]
        for row in rows
    ]

    # The title is a line of its own: as a Rich table title it would wrap to the width
    # of a narrow table ("row count (consumer): FAILED" above a one-column result).
    # Not a terminal (a pipe, a file): as wide as the rows, so `status | grep` sees
    # whole keys (a Table narrower than its console is drawn at its natural width, which
    # it measures as it renders); on a terminal, long cells fold to its width.
    console = Console() if sys.stdout.isatty() else Console(width=1_000_000)
    console.print(title if isinstance(title, Text) else Text(title), soft_wrap=True)
    print_table(console, headers, cells)


ACTION_STYLE = {
    "create": "green",
    "update": "yellow",
    "recreate": "bold yellow",
    "delete": "red",
    "wait": "cyan",
    "blocked": "bold red",
}


def _render_plan(plan: Any, verbose: int) -> None:
    rows = []
    for step in plan.steps:
        if step.action.value in ("keep", "skip") and not verbose:
            continue
        style = ACTION_STYLE.get(step.action.value, "dim")
        rows.append(
            [f"[{style}]{step.action.value}[/{style}]", step.key, step.account, step.reason]
        )
    summary = ", ".join(f"{n} to {a}" for a, n in sorted(plan.counts().items()))
    if rows:
        columns = ["action", "step", "account", "why"]
        _table(f"{plan.operation} plan: {summary}", columns, rows, styled=(0,))
    else:
        typer.echo(f"{plan.operation}: nothing to do ({summary})")


def _render_report(report: Any) -> None:
    calls = report.calls.get("by_kind", {})
    typer.echo(
        f"{report.operation} {'finished' if report.ok else 'FAILED'} in {report.wall_s:.1f}s; "
        f"AWS calls: {calls.get('mutating', 0)} mutating, {calls.get('poll', 0)} polling, "
        f"{calls.get('read', 0)} reads"
    )
    for result in report.results:
        if result.ok and result.message:
            typer.echo(f"  {result.key}: {result.message}")
    for failure in report.failures:
        _err(f"  failed: {failure.key}: {failure.message}")


# --- commands -----------------------------------------------------------------------------


@app.command()
def schema(ctx: typer.Context) -> None:
    """Print the JSON Schema of the config file."""
    from smus_mesh.config import json_schema

    options = _options(ctx)
    # The text output is the schema itself (for editors); JSON wraps it like every document.
    _emit(options, "schema", {"schema": json_schema()}, lambda: _echo_json(json_schema()))


@app.command()
def permissions(
    ctx: typer.Context,
    account: Annotated[
        str | None, typer.Option(help="Account alias (default: every account in the config).")
    ] = None,
) -> None:
    """Print the IAM policy smus-mesh's credentials need, per account, from the config."""
    options = _options(ctx)
    with _handled(options):
        from smus_mesh.config import load_config
        from smus_mesh.errors import UserError
        from smus_mesh.permissions import operator_policy, policy_size, size_warning

        config = load_config(options.config)
        aliases = config.used_accounts()
        if account is not None:
            if account not in aliases:
                raise UserError(f"no account {account!r} in the config; accounts are {aliases}")
            aliases = [account]
        policies = {alias: operator_policy(config, alias) for alias in aliases}
        for alias, policy in policies.items():
            if warning := size_warning(alias, policy):
                _err(f"warning: {warning}")
        _emit(
            options,
            "permissions",
            {
                "policies": policies,
                "sizes": {alias: policy_size(policy) for alias, policy in policies.items()},
            },
            lambda: _echo_json(policies[account] if account else policies),
        )


def _echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2))


@app.command()
def version(ctx: typer.Context) -> None:
    """Print the version."""
    _emit(_options(ctx), "version", {"smus_mesh": __version__}, lambda: typer.echo(__version__))


@app.command()
def plan(
    ctx: typer.Context,
    operation: Annotated[str, typer.Argument(help="up or down.")] = "up",
    expect_no_changes: Annotated[
        bool, typer.Option("--expect-no-changes", help="Exit 1 if anything would change.")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Also save the plan (JSON: steps, set-up id, config digest; no credentials) "
            "for `up --plan FILE`.",
        ),
    ] = None,
) -> None:
    """Show what `up` (or `down`) would do, from what exists now. Makes no change."""
    options = _options(ctx)
    with _handled(options):
        if operation not in ("up", "down"):
            raise typer.BadParameter("operation must be up or down")
        workspace = _workspace(options)
        result = workspace.plan(operation)
        if out is not None:
            _save_plan(out, workspace.plan_document(result))
        _emit(options, "plan", result.to_dict(), lambda: _render_plan(result, options.verbose))
        if out is not None and not options.json:
            typer.echo(f"saved the plan to {out}; apply it with `smus-mesh up --plan {out}`")
        if expect_no_changes and result.changes():
            raise typer.Exit(1)


def _save_plan(path: Path, document: dict[str, Any]) -> None:
    from smus_mesh.errors import UserError

    try:
        path.write_text(json.dumps(document, indent=1, default=str) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write the plan to {path}: {exc.strerror or exc}") from None


def _load_plan(path: Path) -> dict[str, Any]:
    from smus_mesh.errors import UserError

    try:
        if path.stat().st_size > 64 * 1024 * 1024:
            raise UserError(f"{path} is not a smus-mesh plan file (larger than 64 MiB)")
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"cannot read the plan {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise UserError(
            f"{path} is not a smus-mesh plan file (not JSON); save one with "
            "`smus-mesh plan --out FILE`"
        ) from None
    if not isinstance(document, dict):
        raise UserError(f"{path} is not a smus-mesh plan file (not a JSON object)")
    return document


def _confirm(yes: bool, question: str, refusal: str) -> None:
    """Ask `question` (on stderr) unless `yes`; without a terminal to ask on, print
    `refusal` and exit 2 (nothing has changed yet). Declining aborts (exit 1)."""
    if yes:
        return
    if not sys.stdin.isatty():
        from smus_mesh.errors import UserError

        raise UserError(refusal)  # `_handled` prints it (a JSON error with -o json), exit 2
    typer.confirm(question, abort=True, err=True)


@app.command()
def up(
    ctx: typer.Context,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            "-y",
            "--auto-approve",
            help="Do not ask before deleting or replacing resources.",
        ),
    ] = False,
    plan_file: Annotated[
        Path | None,
        typer.Option(
            "--plan",
            help="Apply this plan of `plan --out FILE`, only if a fresh look at the accounts "
            "yields the same plan from the same config (else exit 2, nothing changed).",
        ),
    ] = None,
) -> None:
    """Converge the accounts to the config: every step, resumable and idempotent.

    Prints the plan first; asks before deleting or replacing anything (not with --yes,
    --auto-approve or --plan: a saved plan is the one reviewed)."""
    options = _options(ctx)
    stop = Stop()
    shown: dict[str, Any] = {}

    def approve(plan: Any) -> None:
        shown["plan"] = plan.to_dict()
        if not options.json:
            _render_plan(plan, options.verbose)
        destructive = plan.destructive()
        if not destructive:
            return
        names = ", ".join(f"{s.action.value} {s.key}" for s in destructive[:10])
        more = f" and {len(destructive) - 10} more" if len(destructive) > 10 else ""
        _confirm(
            yes or plan_file is not None,
            f"up will delete or replace {len(destructive)} resource(s). Go on?",
            f"up would delete or replace {len(destructive)} resource(s) ({names}{more}); "
            "nothing was changed: review the plan and run again with --yes (or "
            "--auto-approve) when not interactive",
        )

    with _handled(options), _ctrl_c(stop):
        saved = _load_plan(plan_file) if plan_file is not None else None
        report = _workspace(options, stop=stop).up(approve, saved, str(plan_file))
        _emit(options, "up", {**report.to_dict(), **shown}, lambda: _render_report(report))
        if report.awaiting_approval:
            waiting = ", ".join(
                f"{w['project']} -> {w['table']} ({w['request_id']})"
                for w in report.awaiting_approval
            )
            _err(
                f"{len(report.awaiting_approval)} subscription request(s) wait for the "
                f"producer: {waiting}; see them with `smus-mesh requests`, decide with "
                "`smus-mesh approve` or `smus-mesh reject`"
            )
        _raise_for_failures(options, report)


def _raise_for_failures(options: Options, report: Any) -> None:
    if report.ok:
        return
    bugs = [r for r in report.failures if r.bug]
    if bugs and options.debug and bugs[0].error is not None:
        raise bugs[0].error
    for bug in bugs:
        _err(f"smus-mesh hit a bug in {bug.key}:\n{bug.message}")
    if report.transient and not bugs:
        from smus_mesh.errors import EXIT_TRANSIENT

        _err(
            "AWS kept failing transiently (throttling, 5xx, timeouts) after every retry; "
            "the state file is saved: run the same command again"
        )
        raise typer.Exit(EXIT_TRANSIENT)
    raise typer.Exit(1)


@app.command()
def status(ctx: typer.Context) -> None:
    """The state of every step, observed live."""
    options = _options(ctx)
    with _handled(options):
        rows = _workspace(options).status()
        _emit(
            options,
            "status",
            {"resources": rows},
            lambda: _table(
                "status",
                ["step", "account", "status", "detail", "ours"],
                [
                    [r["key"], r["account"], r["status"], r["detail"], _yes_no(r["owned"])]
                    for r in rows
                ],
            ),
        )


def _yes_no(value: Any) -> str:
    return "yes" if value else "no"


@app.command()
def down(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    ignore_state: Annotated[
        bool,
        typer.Option(
            "--ignore-state",
            help="Do not read or write the state file (when it is corrupt or lost): find "
            "what the set-up made by its tags alone.",
        ),
    ] = False,
) -> None:
    """Delete everything `up` made in every account, then verify with `audit`."""
    options = _options(ctx)
    stop = Stop()
    with _handled(options):
        workspace = _workspace(options, ignore_state=ignore_state, stop=stop)
        with ExitStack() as after_confirmation:

            def approve(plan: Any) -> None:
                # The plan of this very run (observed once, under the lock).
                if not options.json:
                    _render_plan(plan, options.verbose)
                if plan.changes():
                    _confirm(
                        yes,
                        "Delete these resources?",
                        "down deletes resources; confirm with --yes when not interactive",
                    )
                after_confirmation.enter_context(_ctrl_c(stop))

            report, leftovers = workspace.down(approve)
        payload = {**report.to_dict(), "audit": leftovers.to_dict()}

        def render() -> None:
            _render_report(report)
            _render_inventory(leftovers)

        _emit(options, "down", payload, render)
        if ignore_state and workspace.state_path.exists():
            _err(
                f"note: the state file {workspace.state_path} was neither read nor changed; "
                "delete it once you no longer need it"
            )
        _raise_for_failures(options, report)
        if leftovers.count():
            raise typer.Exit(1)


def _render_inventory(inventory: Any) -> None:
    if not inventory.count():
        accounts = ", ".join(f"{a} ({i})" for a, i in inventory.account_ids.items())
        typer.echo(f"audit: nothing of the set-up is left in {accounts}")
        return
    rows = [
        [alias, cls, finding.id, finding.why]
        for alias, classes in inventory.accounts.items()
        for cls, findings in classes.items()
        for finding in findings
    ]
    _table(f"audit: {inventory.count()} resource(s) exist", ["account", "class", "id", "why"], rows)


@app.command()
def audit(
    ctx: typer.Context,
    expect_empty: Annotated[
        bool,
        typer.Option(
            "--expect-empty/--no-expect-empty",
            help="Exit 1 when anything is found (the check after a down).",
        ),
    ] = True,
) -> None:
    """List what of the set-up, or DataZone leftovers of it, exists in each account."""
    options = _options(ctx)
    with _handled(options):
        inventory = _workspace(options).audit()
        _emit(options, "audit", inventory.to_dict(), lambda: _render_inventory(inventory))
        if expect_empty and inventory.count():
            raise typer.Exit(1)


@app.command()
def query(
    ctx: typer.Context,
    check: Annotated[
        list[str] | None, typer.Option("--check", help="Run only these checks (by name).")
    ] = None,
) -> None:
    """Run the configured checks as each consumer project, with Athena; print the rows."""
    options = _options(ctx)
    stop = Stop()
    with _handled(options), _ctrl_c(stop):
        from smus_mesh.collaboration import Collaboration

        collaboration = Collaboration(_workspace(options, stop=stop))
        results = collaboration.run_checks(check)
        wanted = collaboration.checks(check)
        interrupted = len(results) < len(wanted)
        _emit(
            options,
            "query",
            {
                "ok": all(r.ok for r in results) and not interrupted,
                "interrupted": interrupted,
                "checks": [r.to_dict() for r in results],
            },
            lambda: _render_checks(results),
        )
        if interrupted:
            _err(f"interrupted: {len(results)} of {len(wanted)} check(s) ran")
            _exit_interrupted()
        if not all(r.ok for r in results):
            raise typer.Exit(1)


def _render_checks(results: list[Any]) -> None:
    from rich.text import Text

    for result in results:
        # The check's name is the user's text (or its SQL): never markup.
        mark = ("ok", "green") if result.ok else ("FAILED", "bold red")
        title = Text.assemble(f"{result.name} ({result.project}): ", mark)
        if result.columns:
            rows = [["" if cell is None else cell for cell in row] for row in result.rows]
            _table(title, result.columns, rows)
        else:
            from rich.console import Console

            Console().print(title)
        if result.message:
            _err(f"  {result.message}")


def _decide(
    ctx: typer.Context, accept: bool, project: str | None, table: str | None, comment: str
) -> None:
    options = _options(ctx)
    stop = Stop()
    with _handled(options), _ctrl_c(stop):
        from smus_mesh.collaboration import Collaboration

        decided = Collaboration(_workspace(options, stop=stop)).decide(
            accept, comment, project, table
        )

        def render() -> None:
            for d in decided:
                typer.echo(f"{d['decision']}: {d['consumer']} -> {d['table']} ({d['request_id']})")

        _emit(options, "approve" if accept else "reject", {"decided": decided}, render)


@app.command()
def approve(
    ctx: typer.Context,
    project: Annotated[
        str | None, typer.Option(help="Only requests of this consumer project.")
    ] = None,
    table: Annotated[str | None, typer.Option(help="Only requests for this table.")] = None,
    comment: Annotated[str, typer.Option(help="Decision comment.")] = "Approved with smus-mesh",
) -> None:
    """Accept pending subscription requests (approval: manual) and wait for the grants."""
    _decide(ctx, True, project, table, comment)


@app.command()
def reject(
    ctx: typer.Context,
    project: Annotated[
        str | None, typer.Option(help="Only requests of this consumer project.")
    ] = None,
    table: Annotated[str | None, typer.Option(help="Only requests for this table.")] = None,
    comment: Annotated[str, typer.Option(help="Decision comment.")] = "Rejected with smus-mesh",
) -> None:
    """Reject pending subscription requests (approval: manual)."""
    _decide(ctx, False, project, table, comment)


@app.command()
def unsubscribe(
    ctx: typer.Context,
    project: Annotated[str, typer.Option(help="The consumer project.")],
    table: Annotated[str, typer.Option(help="The table (its name in the config).")],
) -> None:
    """Cancel a consumer project's subscription; its grants are revoked."""
    options = _options(ctx)
    stop = Stop()
    with _handled(options), _ctrl_c(stop):
        from smus_mesh.collaboration import Collaboration

        count = Collaboration(_workspace(options, stop=stop)).unsubscribe(project, table)

        def render() -> None:
            if count:
                typer.echo(f"cancelled {count} subscription(s) of {project} to {table}")
            else:
                typer.echo(f"{project} is not subscribed to {table}: nothing to cancel")
            typer.echo("recorded in the state file: `up` will not subscribe again")

        _emit(
            options,
            "unsubscribe",
            {"cancelled": count, "project": project, "table": table, "state": "unsubscribed"},
            render,
        )


@app.command()
def requests(ctx: typer.Context) -> None:
    """Subscription requests of the configured subscriptions, per project and table."""
    options = _options(ctx)
    with _handled(options):
        from smus_mesh.collaboration import Collaboration

        rows = Collaboration(_workspace(options)).requests()
        _emit(
            options,
            "requests",
            {"requests": rows},
            lambda: _table(
                "subscription requests",
                ["project", "table", "producer", "state", "status", "request", "comment"],
                [
                    [
                        r["project"],
                        r["table"],
                        r["producer"],
                        r["state"],
                        r["status"],
                        r["request_id"],
                        r.get("decision_comment", ""),
                    ]
                    for r in rows
                ],
            ),
        )


@app.command()
def outputs(ctx: typer.Context) -> None:
    """Ids, ARNs and the portal URL of the set-up, and each subscription's state."""
    options = _options(ctx)
    with _handled(options):
        result = _workspace(options).outputs()

        def render() -> None:
            domain = result["domain"]
            typer.echo(f"set-up       {result['setup']} (id {result['setup_id']})")
            typer.echo(f"state file   {result['state_file']}")
            typer.echo(f"domain       {domain['name']} {domain['id']} {domain['arn']}")
            typer.echo(f"portal       {domain['portal_url']}")
            for name, project in result["projects"].items():
                typer.echo(f"project      {name} {project['id']} ({project['account_id']})")
            for key, arn in {**result["roles"], **result["buckets"]}.items():
                typer.echo(f"{key}  {arn}")
            for sub in result["subscriptions"]:
                typer.echo(
                    f"subscription {sub['project']} -> {sub['table']}: {sub['state']} "
                    f"(request {sub['request_status']} {sub['request_id']})"
                )

        _emit(options, "outputs", result, render)


class Latency(StrEnum):
    """How long the emulator's asynchronous work takes: at once, or as AWS takes it."""

    none = "none"
    realistic = "realistic"


class IamMode(StrEnum):
    """Whether the emulator checks signatures and IAM policies (ADR 21)."""

    enforce = "enforce"
    off = "off"


class DiagramFormat(StrEnum):
    svg = "svg"
    mermaid = "mermaid"


@app.command()
def diagram(
    ctx: typer.Context,
    format: Annotated[
        DiagramFormat, typer.Option("--format", help="svg (default) or mermaid (text).")
    ] = DiagramFormat.svg,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write it to this file (default: stdout).")
    ] = None,
) -> None:
    """Draw the mesh as observed now: accounts, the domain, projects and their
    environments, tables, listings, subscriptions and grants with their status, drift
    marked. Read-only. With -o json, the graph (and --out's path) instead of the drawing."""
    options = _options(ctx)
    with _handled(options):
        from smus_mesh.diagram import observe_mesh, to_mermaid, to_svg

        mesh = observe_mesh(_workspace(options))
        drawing = to_svg(mesh) if format == DiagramFormat.svg else to_mermaid(mesh)
        if out is not None:
            _write_text(out, drawing, "the diagram")
        payload = {**mesh.to_dict(), "format": format.value, "out": str(out) if out else None}

        def render() -> None:
            if out is None:
                typer.echo(drawing, nl=False)
            else:
                typer.echo(f"wrote {out}")

        _emit(options, "diagram", payload, render)


def _write_text(path: Path, text: str, what: str) -> None:
    from smus_mesh.errors import UserError

    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {what} to {path}: {exc.strerror or exc}") from None


@app.command("verify-aws")
def verify_aws(
    ctx: typer.Context,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask before each phase that changes.")
    ] = False,
    allow_existing: Annotated[
        bool,
        typer.Option(
            "--allow-existing",
            help="Run even though the accounts hold a domain smus-mesh did not create.",
        ),
    ] = False,
    report: Annotated[
        Path, typer.Option("--report", help="Write the report to PATH.json and PATH.txt.")
    ] = Path("verify-aws-report"),
    print_permissions: Annotated[
        bool,
        typer.Option(
            "--permissions", help="Print the IAM policy verify-aws needs per account; no call."
        ),
    ] = False,
) -> None:
    """Check ADR 5's assumptions on sandbox accounts: build a set-up of its own (asking
    before each phase that changes anything), observe what AWS does, ALWAYS end with
    down and audit, and write a report to attach to a bug report (ADR 24)."""
    options = _options(ctx)
    with _handled(options):
        from smus_mesh.errors import UserError
        from smus_mesh.verify import StopRelay, Verifier, render_text

        if print_permissions:
            from smus_mesh.config import load_config
            from smus_mesh.verify.probe_setup import verification_config, verify_policy

            setup = verification_config(load_config(options.config))
            policies = {a: verify_policy(setup, a) for a in setup.used_accounts()}
            _emit(options, "permissions", {"policies": policies}, lambda: _echo_json(policies))
            return
        if not yes and not sys.stdin.isatty():
            raise UserError(
                "verify-aws asks before each phase that changes the accounts, and there is "
                "no terminal to ask on; nothing was changed: run it with --yes to answer "
                "yes to every phase"
            )

        def ask(question: str) -> bool:
            return yes or typer.confirm(question, default=False, err=True)

        relay = StopRelay()
        verifier = Verifier(options.config, _console(options), ask, allow_existing, relay)
        with _ctrl_c(relay):
            result = verifier.run()
        base = str(report).removesuffix(".json").removesuffix(".txt")
        files = [f"{base}.json", f"{base}.txt"]
        from smus_mesh.contract import document

        payload = {**result.to_dict(), "report_files": files}
        _write_text(
            Path(files[0]),
            json.dumps(document("verify-aws", payload), indent=1) + "\n",
            "the report",
        )
        _write_text(Path(files[1]), render_text(payload), "the report")

        def render() -> None:
            typer.echo(render_text(payload), nl=False)
            typer.echo(f"report: {files[0]} and {files[1]} (attach them to a bug report)")

        _emit(options, "verify-aws", payload, render)
        if result.interrupted:
            _exit_interrupted()
        if not result.ok:
            raise typer.Exit(1)


@app.command()
def demo(
    ctx: typer.Context,
    latency: Annotated[Latency, typer.Option(help="Emulator latency.")] = Latency.none,
    time_scale: Annotated[
        float, typer.Option("--time-scale", help="Scale of the realistic durations.")
    ] = 1.0,
    diagram: Annotated[
        Path,
        typer.Option("--diagram", help="Where to write the SVG of the mesh drawn after up."),
    ] = Path("mesh.svg"),
    iam: Annotated[
        IamMode,
        typer.Option(
            "--iam",
            help="Emulator IAM: enforce (check signatures and policies, as AWS does) or off.",
        ),
    ] = IamMode.enforce,
) -> None:
    """The whole collaboration on the embedded emulator: up, query, down, audit.

    Writes only the diagram of the mesh (mesh.svg, drawn after up and the queries)
    outside a temporary directory; needs no AWS account. Exit 0 only if the consumer's
    rows came back and nothing was left in either account.
    """
    options = _options(ctx)
    if not _finite_positive(time_scale):
        message = f"--time-scale must be a finite number > 0, not {time_scale}"
        _fail(options, "UsageError", message, 2)
    _require_emulator()
    with _handled(options):
        from smus_mesh.demo import collect_less, run_demo

        collect_less()
        result = run_demo(_console(options), latency.value, time_scale, diagram, iam.value)
        _emit(options, "demo", result.to_dict(), lambda: _render_demo(result))
        if not result.ok:
            raise typer.Exit(1)


def _render_demo(result: Any) -> None:
    for check in result.checks:
        if check["columns"]:
            _table(
                f"{check['name']} (as project {check['project']})",
                [column["name"] for column in check["columns"]],
                [["" if cell is None else cell for cell in row] for row in check["rows"]],
            )
    seconds = ", ".join(f"{k} {v:.1f}s" for k, v in result.phases.items())
    accounts = ", ".join(f"{alias} {account}" for alias, account in result.accounts.items())
    calls = result.calls
    typer.echo(f"accounts:  {accounts}")
    typer.echo(f"created:   {result.created} resources (and everything DataZone made for them)")
    typer.echo(f"time:      {seconds}")
    typer.echo(
        f"AWS calls: {calls.get('total', 0)} ({calls.get('mutating', 0)} mutating, "
        f"{calls.get('reads', 0)} reads, {calls.get('errors', 0)} answered with an error)"
    )
    typer.echo(
        f"leftovers: {result.leftovers_audit} found by audit; "
        f"{sum(len(v) for c in result.leftovers_emulator.values() for v in c.values())} "
        "in the emulator's inventory of both accounts"
    )
    if result.diagram:
        typer.echo(f"diagram:   {result.diagram}")
    for failure in result.failures:
        _err(f"  failed: {failure}")
    typer.echo("demo: OK" if result.ok else "demo: FAILED")


@emulator_app.command("serve")
def emulator_serve(
    host: Annotated[
        str, typer.Option(help="Address to bind: a loopback address unless --allow-remote.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port, 0-65535 (0 picks a free one).")
    ] = 4566,
    latency: Annotated[Latency, typer.Option(help="Emulator latency.")] = Latency.none,
    time_scale: Annotated[
        float, typer.Option("--time-scale", help="Multiply realistic durations by this.")
    ] = 1.0,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            help="Allow a --host other machines can reach (its only credentials are the "
            "public test keys it prints, and with --iam off it checks none: anyone who "
            "reaches it can use it).",
        ),
    ] = False,
    accounts: Annotated[
        int,
        typer.Option(
            min=0,
            max=100,
            help="Member accounts of the emulated organization: 111111111111, "
            "222222222222, 333333333333, ... (the management account 123456789012 "
            "comes on top).",
        ),
    ] = 2,
    log_requests: Annotated[
        bool,
        typer.Option(
            "--log-requests",
            help="Print one line per AWS request to stderr: time, account, service, "
            "operation, HTTP status (and error code), milliseconds. Never a credential.",
        ),
    ] = False,
    iam: Annotated[
        IamMode,
        typer.Option(
            "--iam",
            help="enforce: check every request's SigV4 signature and IAM policies (only "
            "the printed test keys and the sessions they assume sign); off: accept any "
            "credentials.",
        ),
    ] = IamMode.off,
) -> None:
    """Run the local cloud in the foreground (Ctrl-C stops it): an AWS Organization whose
    management account holds any credentials, and its member accounts. Prints the
    environment to export in the shell that runs smus-mesh or the AWS CLI against it."""
    if not _finite_positive(time_scale):
        _err(f"error: --time-scale must be a finite number > 0, not {time_scale}")
        raise typer.Exit(2)
    _require_emulator()
    from smus_mesh_emulator.server import EmulatorError, EmulatorServer, is_loopback

    if not is_loopback(host):
        # Under --iam enforce it checks signatures, but only against the public test keys.
        why = (
            "the emulator checks no signatures or credentials"
            if iam == IamMode.off
            else "the emulator's only credentials are the public test keys it prints"
        )
        if not allow_remote:
            _err(
                f"error: refusing to bind {host}: {why}, so anyone who reaches it can use it; "
                "give --allow-remote to bind it anyway"
            )
            raise typer.Exit(2)
        _err(
            f"warning: binding {host} (--allow-remote): {why}; anyone who can reach this "
            "address can use it"
        )

    from smus_mesh.emulated import credential_exports

    def ready(server: EmulatorServer) -> None:
        management, *members = server.account_ids()
        typer.echo(f"export AWS_ENDPOINT_URL={server.url}")
        keys = "only these sign (--iam enforce)" if iam == "enforce" else "the emulator takes any"
        typer.echo(f"{credential_exports()}  # test keys: {keys}")
        typer.echo(
            f"# organization: management account {management}, member accounts "
            f"{', '.join(members) or 'none'}, reached by assuming "
            "OrganizationAccountAccessRole; admin API at "
            f"{server.url}/_emulator/health. Ctrl-C to stop."
        )

    try:
        EmulatorServer(
            host,
            port,
            latency.value,
            time_scale,
            allow_remote=allow_remote,
            prewarm=True,
            accounts=accounts,
            request_log=_log_line if log_requests else None,
            iam=iam.value,
        ).serve_forever(ready)
    except EmulatorError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        typer.echo("stopped", err=True)


_LOG_LOCK = threading.Lock()


def _log_line(line: str) -> None:
    """A request line of `serve --log-requests` (requests are served on many threads)."""
    with _LOG_LOCK:
        print(line, file=sys.stderr, flush=True)


def main() -> None:
    """The `smus-mesh` process: the command, then the end of the process."""
    try:
        app()
    finally:
        _end_without_a_last_collection()


def _end_without_a_last_collection() -> None:
    """Leave the heap to the operating system: at exit Python's last full collection
    walked every object the command had made (botocore's models, a run's records: 300 MB
    at 5 x 20), 0.6 s of wall and CPU after `down` had finished (ADR 39). Frozen
    objects are not collected; nothing is lost by it, as nothing the tool writes waits
    for a finaliser: the state journal is flushed line by line and closed with the
    command, stdout and stderr are flushed by the interpreter, and `atexit` still runs."""
    import gc

    gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    main()
