"""What a query is, decided by a real SQL parser: sqlglot's Athena dialect, which routes a
statement to Hive's grammar (DDL, SHOW, DESCRIBE) or Trino's (SELECT, INSERT, CTAS, views)
as Athena itself does.

`classify` runs inside StartQueryExecution:

* DML that Trino cannot parse is refused there and then (`MalformedQuery`), as Athena
  refuses it; a Hive statement that does not parse is accepted and ends FAILED with
  Hive's `ParseException` (Athena runs Hive DDL asynchronously);
* every other statement gets its StatementType and SubstatementType (what
  GetQueryExecution reports) and the parse tree the execution works from.

sqlglot falls back to an opaque `Command` for Hive syntax it does not model (SHOW,
`WITH DBPROPERTIES`); those are read here from sqlglot's own tokens (`_Tokens`), never with
regular expressions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal

import sqlglot
from sqlglot import exp
from sqlglot.dialects.hive import Hive
from sqlglot.dialects.trino import Trino
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokenizer_core import Token, TokenType

from smus_mesh_emulator.athena.exceptions import (
    SYSTEM_ERROR,
    TYPE_DDL_FAILED,
    TYPE_QUERY_NOT_SUPPORTED,
    TYPE_SYNTAX,
    MalformedQuery,
    QueryFailure,
)

StatementType = Literal["DDL", "DML", "UTILITY"]


class _QuietFallback(logging.Filter):
    """sqlglot warns each time it keeps a statement opaque (a `Command`); here that is
    expected (SHOW, DBPROPERTIES) and handled, so the warning is only noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Falling back to parsing as a 'Command'" not in record.getMessage()


logging.getLogger("sqlglot").addFilter(_QuietFallback())

#: Statement-leading keywords Athena hands to its Hive DDL engine (unless the statement is
#: a view or has a SELECT: then Trino), after sqlglot's Athena dialect.
_HIVE_VERBS = frozenset({"ALTER", "CREATE", "DESC", "DESCRIBE", "DROP", "MSCK", "SHOW"})


#: Keywords a statement may start with; anything else is Trino's "mismatched input".
_STATEMENT_VERBS = _HIVE_VERBS | frozenset(
    {
        "SELECT",
        "WITH",
        "INSERT",
        "VALUES",
        "TABLE",
        "EXPLAIN",
        "UNLOAD",
        "UPDATE",
        "DELETE",
        "MERGE",
        "PREPARE",
        "EXECUTE",
        "DEALLOCATE",
        "USE",
        "(",
    }
)


#: What the emulator's Athena runs: SubstatementType -> the syntax it accepts (the
#: coverage page lists it; anything else Athena runs ends FAILED, NOT_SUPPORTED).
SUPPORTED = {
    "SELECT": "SELECT ... / WITH ... SELECT ... (run by DuckDB over the tables' S3 objects)",
    "INSERT": "INSERT INTO [db.]table [(column, ...)] {VALUES (...), ... | SELECT ...} "
    "(not into partitioned tables)",
    "CREATE_DATABASE": "CREATE {DATABASE|SCHEMA} [IF NOT EXISTS] db [COMMENT 'c'] "
    "[LOCATION 's3://...'] [WITH DBPROPERTIES ('k'='v', ...)]",
    "CREATE_TABLE": "CREATE EXTERNAL TABLE [IF NOT EXISTS] [db.]table (column type "
    "[COMMENT 'c'], ...) [COMMENT 'c'] [PARTITIONED BY (...)] [CLUSTERED BY (...) INTO n "
    "BUCKETS] [ROW FORMAT DELIMITED ... | ROW FORMAT SERDE 'class' [WITH SERDEPROPERTIES "
    "(...)]] [STORED AS {TEXTFILE|PARQUET|ORC|AVRO} | STORED AS INPUTFORMAT '...' "
    "OUTPUTFORMAT '...'] [LOCATION 's3://...'] [TBLPROPERTIES (...)]",
    "DROP_TABLE": "DROP TABLE [IF EXISTS] [db.]table",
    "DROP_DATABASE": "DROP {DATABASE|SCHEMA} [IF EXISTS] db [RESTRICT|CASCADE]",
    "SHOW_DATABASES": "SHOW {DATABASES|SCHEMAS} [LIKE 'pattern']",
    "SHOW_TABLES": "SHOW TABLES [IN db] ['pattern']",
    "SHOW_COLUMNS": "SHOW COLUMNS {FROM|IN} [db.]table [{FROM|IN} db]",
    "DESCRIBE_TABLE": "DESCRIBE [db.]table",
}


#: The SHOW statements Athena has beyond DATABASES, TABLES and COLUMNS (refused clearly).
_OTHER_SHOWS = {
    "PARTITIONS": "SHOW_PARTITIONS",
    "TBLPROPERTIES": "SHOW_TABLE_PROPERTIES",
    "CREATE TABLE": "SHOW_CREATE_TABLE",
    "CREATE VIEW": "SHOW_CREATE_VIEW",
    "VIEWS": "SHOW_VIEWS",
    "FUNCTIONS": "SHOW_FUNCTIONS",
}


@dataclass(frozen=True)
class ShowSpec:
    """A SHOW statement's target: what to list, in which database, filtered how."""

    what: Literal["DATABASES", "TABLES", "COLUMNS"]
    database: str | None = None
    table: str | None = None
    pattern: str | None = None


@dataclass(frozen=True)
class DatabaseSpec:
    """CREATE DATABASE as Hive's grammar has it."""

    name: str
    if_not_exists: bool = False
    comment: str | None = None
    location: str | None = None
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Statement:
    """One classified statement.

    `failure`: the statement is accepted but will end FAILED with this reason (a Hive
    parse error, or something Athena runs that the emulator does not).
    """

    statement_type: StatementType
    substatement_type: str
    tree: exp.Expr | None = None
    failure: QueryFailure | None = None
    show: ShowSpec | None = None
    database: DatabaseSpec | None = None

    @property
    def is_hive(self) -> bool:
        return self.statement_type in ("DDL", "UTILITY") and self.substatement_type not in (
            "CREATE_TABLE_AS_SELECT",
            "CREATE_VIEW",
            "DROP_VIEW",
        )

    @property
    def result_suffix(self) -> str:
        """How Athena names the query's output object: `<id>.csv` for a SELECT,
        `<id>.txt` for Hive DDL and utility statements, `<id>` for a write."""
        if self.substatement_type in ("INSERT", "CREATE_TABLE_AS_SELECT"):
            return ""
        if self.is_hive or self.substatement_type == "EXPLAIN":
            return ".txt"
        return ".csv"


def _unsupported(
    statement_type: StatementType, substatement: str, what: str, tree: exp.Expr | None
) -> Statement:
    return Statement(
        statement_type,
        substatement,
        tree,
        failure=QueryFailure(
            f"NOT_SUPPORTED: {what} is not supported by the emulator (its Athena runs "
            "SELECT, INSERT INTO, and the Hive DDL of databases and external tables: "
            "CREATE/DROP DATABASE, CREATE EXTERNAL TABLE, DROP TABLE, SHOW, DESCRIBE)",
            TYPE_QUERY_NOT_SUPPORTED,
        ),
    )


def _trino_tokens(query: str) -> list[Token]:
    try:
        return list(Trino().tokenize(query))
    except TokenError:
        return []


def _is_hive_text(tokens: list[Token]) -> bool:
    """Athena's routing, on tokens: Hive for DDL and SHOW/DESCRIBE, Trino for the rest
    (views and CREATE ... AS SELECT are Trino's)."""
    if not tokens or tokens[0].text.upper() not in _HIVE_VERBS:
        return False
    if tokens[0].text.upper() in ("DESC", "DESCRIBE", "SHOW", "MSCK"):
        return True
    if len(tokens) > 1 and tokens[1].text.upper() in ("DATABASE", "EXTERNAL", "SCHEMA"):
        return True
    if len(tokens) > 1 and tokens[1].token_type == TokenType.VIEW:
        return False
    return all(t.token_type != TokenType.SELECT for t in tokens[1:])


def _error_position(error: ParseError, query: str) -> tuple[int, int, str]:
    """(line, 1-based column, offending text) of sqlglot's first error."""
    details = (error.errors or [{}])[0]
    line = int(details.get("line") or 1)
    highlight = str(details.get("highlight") or "")
    end = int(details.get("col") or 1)
    return line, max(1, end - len(highlight) + 1), highlight or "<EOF>"


def _malformed(query: str, tokens: list[Token], error: ParseError | None) -> MalformedQuery:
    """Trino's wording, `line L:C: mismatched input 'X'`, at the first token that cannot
    start a statement, else where sqlglot stopped."""
    if not tokens:
        lines = query.split("\n")
        return MalformedQuery(f"line {len(lines)}:{len(lines[-1]) + 1}: mismatched input '<EOF>'")
    first = tokens[0]
    if first.text.upper() not in _STATEMENT_VERBS:
        return MalformedQuery(
            f"line {first.line}:{first.col - len(first.text) + 1}: mismatched input '{first.text}'"
        )
    if error is None:
        return MalformedQuery(f"line 1:1: mismatched input '{first.text}'")
    line, column, text = _error_position(error, query)
    return MalformedQuery(f"line {line}:{column}: mismatched input '{text}'")


def _hive_parse_failure(query: str, tokens: list[Token], error: Exception) -> QueryFailure:
    """Hive's ParseException: `line L:C` with a 0-based column, category SYSTEM."""
    if isinstance(error, ParseError):
        line, column, text = _error_position(error, query)
        near = f"cannot recognize input near '{text}'"
        position = f"line {line}:{column - 1}"
    else:
        position, near = "line 1:0", f"cannot recognize input near '{tokens[0].text}'"
    reason = f"FAILED: ParseException {position} {near}"
    return QueryFailure(reason, TYPE_DDL_FAILED, SYSTEM_ERROR)


def _kind_of(substatement: str) -> StatementType:
    return "UTILITY" if substatement.startswith(("SHOW", "DESC")) else "DDL"


def _hive_substatement(tokens: list[Token]) -> str:
    """A SubstatementType from the leading keywords, for a statement that did not parse."""
    words = [t.text.upper() for t in tokens[:3]]
    verb = words[0] if words else ""
    noun = next((w for w in words[1:] if w not in ("EXTERNAL", "IF")), "")
    if verb in ("DESC", "DESCRIBE"):
        return "DESCRIBE_TABLE"
    if verb.startswith("MSCK"):
        return "MSCK_REPAIR"
    if verb == "SHOW":
        return f"SHOW_{noun}" if noun in ("DATABASES", "TABLES", "COLUMNS") else "SHOW"
    if noun == "SCHEMA":
        noun = "DATABASE"
    return f"{verb}_{noun}" if noun in ("DATABASE", "TABLE") else verb


def _hive_tokens(text: str) -> list[Token]:
    """Hive's tokens of a statement. sqlglot's tokenizer swallows what follows a command
    keyword (SHOW) as one string; that rest is tokenized on its own."""
    tokens = list(Hive().tokenize(text))
    if tokens and tokens[0].token_type in (TokenType.SHOW, TokenType.COMMAND):
        first, offset = tokens[0], tokens[0].end + 1
        rest = Hive().tokenize(text[offset:])
        tokens = [first] + [
            Token(
                t.token_type,
                t.text,
                t.line + first.line - 1,
                t.col + (offset if t.line == 1 else 0),
                t.start + offset,
                t.end + offset,
            )
            for t in rest
        ]
    return tokens


class _Tokens:
    """A cursor over sqlglot's Hive tokens, for the Hive statements sqlglot keeps opaque."""

    def __init__(self, text: str) -> None:
        self.tokens = _hive_tokens(text)
        self.index = 0

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def word(self) -> str:
        token = self.peek()
        return token.text.upper() if token is not None else ""

    def take(self, *words: str) -> bool:
        if self.word() in words:
            self.index += 1
            return True
        return False

    def error(self, expected: str) -> ParseError:
        """Where the statement stops making sense: at the current token, or its end."""
        token = self.peek() or (self.tokens[-1] if self.tokens else None)
        current = self.peek()
        text = current.text if current is not None else "<EOF>"
        column = (token.col + (1 if self.peek() is None else 0)) if token else 1
        line = token.line if token else 1
        return ParseError.new(
            f"expected {expected}, got {text}", line=line, col=column, highlight=text
        )

    def expect(self, *words: str) -> None:
        if not self.take(*words):
            raise self.error(" or ".join(words))

    def name(self) -> str:
        """A possibly qualified identifier (`a`, `a.b`, backquoted parts)."""
        parts = [self._identifier()]
        while self.take("."):
            parts.append(self._identifier())
        return ".".join(parts)

    def _identifier(self) -> str:
        token = self.peek()
        if token is None or token.token_type in (TokenType.STRING, TokenType.L_PAREN):
            raise self.error("a name")
        self.index += 1
        return token.text

    def string(self) -> str:
        token = self.peek()
        if token is None or token.token_type != TokenType.STRING:
            raise self.error("a string")
        self.index += 1
        return token.text

    def properties(self) -> dict[str, str]:
        """`('k' = 'v', ...)`"""
        self.expect("(")
        found: dict[str, str] = {}
        while True:
            key = self.string()
            self.expect("=")
            found[key] = self.string()
            if not self.take(","):
                break
        self.expect(")")
        return found

    def at_end(self) -> bool:
        while self.take(";"):
            pass
        return self.peek() is None


def _show(text: str) -> ShowSpec:
    """SHOW DATABASES|SCHEMAS [LIKE 'p'], SHOW TABLES [IN db] ['p'],
    SHOW COLUMNS {FROM|IN} [db.]table [{FROM|IN} db] (Athena's SHOW grammar)."""
    tokens = _Tokens(text)
    tokens.expect("SHOW")
    if tokens.take("DATABASES", "SCHEMAS"):
        pattern = tokens.string() if tokens.take("LIKE") else None
        spec = ShowSpec("DATABASES", pattern=pattern)
    elif tokens.take("TABLES"):
        database = tokens.name() if tokens.take("IN", "FROM") else None
        pattern = tokens.string() if tokens.peek() is not None and tokens.word() != ";" else None
        spec = ShowSpec("TABLES", database=database, pattern=pattern)
    elif tokens.take("COLUMNS"):
        tokens.expect("FROM", "IN")
        table = tokens.name()
        database = tokens.name() if tokens.take("FROM", "IN") else None
        if "." in table and database is None:
            database, table = table.rsplit(".", 1)
        spec = ShowSpec("COLUMNS", database=database, table=table)
    else:
        raise tokens.error("DATABASES, SCHEMAS, TABLES or COLUMNS")
    if not tokens.at_end():
        raise tokens.error("the end of the statement")
    return spec


def _create_database(text: str) -> DatabaseSpec:
    """CREATE {DATABASE|SCHEMA} [IF NOT EXISTS] name [COMMENT 'c'] [LOCATION 'l']
    [WITH DBPROPERTIES (...)] (sqlglot keeps DBPROPERTIES opaque)."""
    tokens = _Tokens(text)
    tokens.expect("CREATE")
    tokens.expect("DATABASE", "SCHEMA")
    if_not_exists = False
    if tokens.take("IF"):
        tokens.expect("NOT")
        tokens.expect("EXISTS")
        if_not_exists = True
    name = tokens.name()
    comment = location = None
    properties: dict[str, str] = {}
    while not tokens.at_end():
        if tokens.take("COMMENT"):
            comment = tokens.string()
        elif tokens.take("LOCATION"):
            location = tokens.string()
        elif tokens.take("WITH"):
            tokens.expect("DBPROPERTIES")
            properties = tokens.properties()
        else:
            raise tokens.error("COMMENT, LOCATION or WITH DBPROPERTIES")
    return DatabaseSpec(name, if_not_exists, comment, location, properties)


def _database_from_tree(tree: exp.Create) -> DatabaseSpec:
    table = tree.this
    name = table.name or table.args["db"].name if isinstance(table, exp.Table) else str(table)
    comment = location = None
    for prop in (tree.args.get("properties") or exp.Properties(expressions=[])).expressions:
        if isinstance(prop, exp.SchemaCommentProperty):
            comment = prop.this.name
        elif isinstance(prop, exp.LocationProperty):
            location = prop.this.name
        else:
            raise ParseError(f"unexpected {prop.sql('hive')}")
    return DatabaseSpec(name, bool(tree.args.get("exists")), comment, location)


def _classify_tree(tree: exp.Expr, query: str) -> Statement:
    if isinstance(tree, exp.Insert):
        return Statement("DML", "INSERT", tree)
    if isinstance(tree, exp.Query):
        return Statement("DML", "SELECT", tree)
    if isinstance(tree, exp.Describe):
        if tree.args.get("style") or tree.args.get("partition") or tree.expressions:
            return _unsupported("UTILITY", "DESCRIBE_TABLE", "DESCRIBE EXTENDED/FORMATTED", tree)
        return Statement("UTILITY", "DESCRIBE_TABLE", tree)
    if isinstance(tree, exp.Create):
        kind = str(tree.args.get("kind") or "").upper()
        if kind in ("DATABASE", "SCHEMA"):
            return Statement("DDL", "CREATE_DATABASE", tree, database=_database_from_tree(tree))
        if kind == "TABLE" and tree.expression is not None:
            return _unsupported("DDL", "CREATE_TABLE_AS_SELECT", "CREATE TABLE AS SELECT", tree)
        if kind == "TABLE":
            return Statement("DDL", "CREATE_TABLE", tree)
        if kind == "VIEW":
            return _unsupported("DDL", "CREATE_VIEW", "CREATE VIEW", tree)
        return _unsupported("DDL", f"CREATE_{kind}", f"CREATE {kind}", tree)
    if isinstance(tree, exp.Drop):
        kind = str(tree.args.get("kind") or "").upper()
        if kind in ("DATABASE", "SCHEMA"):
            return Statement("DDL", "DROP_DATABASE", tree)
        if kind == "TABLE":
            return Statement("DDL", "DROP_TABLE", tree)
        return _unsupported("DDL", f"DROP_{kind}", f"DROP {kind}", tree)
    if isinstance(tree, exp.Alter):
        return _unsupported("DDL", "ALTER_TABLE", "ALTER TABLE", tree)
    if isinstance(tree, exp.Update | exp.Delete | exp.Merge):
        verb = tree.key.upper()
        return Statement(
            "DML",
            verb,
            tree,
            failure=QueryFailure(
                "NOT_SUPPORTED: Modifying Hive table rows is only supported for transactional "
                "tables",
                TYPE_QUERY_NOT_SUPPORTED,
            ),
        )
    if isinstance(tree, exp.Command):
        verb = str(tree.this).upper()
        if verb == "SHOW":
            kind = " ".join(t.text.upper() for t in _hive_tokens(query)[1:3])
            if kind.split(" ")[0] in ("DATABASES", "SCHEMAS", "TABLES", "COLUMNS"):
                show = _show(query)
                return Statement("UTILITY", f"SHOW_{show.what}", tree, show=show)
            substatement = _OTHER_SHOWS.get(kind) or _OTHER_SHOWS.get(kind.split(" ")[0], "SHOW")
            return _unsupported("UTILITY", substatement, substatement.replace("_", " "), tree)
        if verb == "CREATE":
            return Statement("DDL", "CREATE_DATABASE", tree, database=_create_database(query))
        tokens = _hive_tokens(query)
        substatement = _hive_substatement(tokens)
        what = substatement.replace("_", " ")
        return _unsupported(_kind_of(substatement), substatement, what, tree)
    name = type(tree).__name__.upper()
    return _unsupported("UTILITY", name, name, tree)


def _parse(query: str, hive: bool) -> list[exp.Expr]:
    """sqlglot's Athena dialect; Hive's own for a Hive statement the Athena dialect does not
    route to Hive (DESC with backquoted names)."""
    try:
        return [t for t in sqlglot.parse(query, read="athena") if t is not None]
    except (ParseError, TokenError):
        if not hive:
            raise
        return [t for t in sqlglot.parse(query, read="hive") if t is not None]


def classify(query: str) -> Statement:
    """The statement a query holds, as Athena would classify it.

    Raises:
        MalformedQuery: DML (or anything Athena hands to Trino) that does not parse, or
            no statement at all.

    Examples:
        >>> classify("CREATE DATABASE IF NOT EXISTS retail").substatement_type
        'CREATE_DATABASE'
        >>> classify("SHOW TABLES IN retail").show
        ShowSpec(what='TABLES', database='retail', table=None, pattern=None)
    """
    tokens = _trino_tokens(query)
    hive = _is_hive_text(tokens)
    try:
        trees = _parse(query, hive)
    except (ParseError, TokenError) as error:
        if not hive:
            parse_error = error if isinstance(error, ParseError) else None
            raise _malformed(query, tokens, parse_error) from None
        substatement = _hive_substatement(tokens)
        failure = _hive_parse_failure(query, tokens, error)
        return Statement(_kind_of(substatement), substatement, failure=failure)
    if not trees:
        raise _malformed(query, [], None)
    if len(trees) > 1:
        first = _classify_tree(trees[0], query)
        return Statement(
            first.statement_type,
            first.substatement_type,
            failure=QueryFailure(f"Only one sql statement is allowed. Got: {query}", TYPE_SYNTAX),
        )
    try:
        return _classify_tree(trees[0], query)
    except (ParseError, TokenError) as error:
        substatement = _hive_substatement(tokens)
        failure = _hive_parse_failure(query, tokens, error)
        return Statement(_kind_of(substatement), substatement, failure=failure)
