"""A small SOQL parser and evaluator: the part of the language a contact sync sends, with Salesforce's errors.

Supported: `SELECT <fields | COUNT()> FROM <object> [WHERE <expr>] [ORDER BY <field> [ASC|DESC] [NULLS FIRST|LAST],
...] [LIMIT n] [OFFSET n]`. A WHERE expression combines comparisons (`= != <> < <= > >=`), `[NOT] IN (...)` and
`LIKE` with AND, OR, NOT and parentheses. Like real SOQL, AND and OR cannot be mixed without parentheses.

The parser knows nothing about the object: `compile_query` asks a resolver for each field path, so the caller
decides which fields exist, their canonical spelling, their type and how to read them from a row.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

Row = Any
Predicate = Callable[[Row], bool]

KINDS = frozenset({"string", "boolean", "datetime", "date", "number", "address"})


class SoqlError(Exception):
    """A query Salesforce refuses, with the errorCode and message its REST API would send."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message


class UnknownField(Exception):
    """Raised by a resolver for a field path the object lacks; the compiler adds the caret and position."""


@dataclass(frozen=True)
class Field:
    """A resolved field: canonical path (e.g. `Account.Name`), value kind, and how to read it from a row."""

    name: str
    kind: str
    get: Callable[[Row], Any]


Resolver = Callable[[str], Field]


# -- syntax tree ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldRef:
    path: str
    pos: int


@dataclass(frozen=True)
class Literal:
    kind: str  # string | boolean | datetime | date | number | null
    value: Any
    pos: int
    raw: str


@dataclass(frozen=True)
class Comparison:
    field: FieldRef
    op: str
    value: Literal


@dataclass(frozen=True)
class InList:
    field: FieldRef
    values: tuple[Literal, ...]
    negated: bool


@dataclass(frozen=True)
class Like:
    field: FieldRef
    pattern: Literal


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND | OR
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    item: Expr


Expr = Comparison | InList | Like | BoolOp | Not


@dataclass(frozen=True)
class OrderItem:
    field: FieldRef
    descending: bool
    nulls_first: bool


@dataclass(frozen=True)
class Query:
    text: str
    fields: tuple[FieldRef, ...]
    count: bool
    sobject: str
    sobject_pos: int
    where: Expr | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None


# -- tokenizer -----------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2}))(?![\w:.+-])
  | (?P<baddatetime>\d{4}-\d{2}-\d{2}T[\w:.+-]*)
  | (?P<date>\d{4}-\d{2}-\d{2})(?![\w:.+-])
  | (?P<number>[+-]?\d+(?:\.\d+)?)(?![\w.])
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),])
    """,
    re.VERBOSE,
)
_DATETIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(Z|([+-])(\d{2}):(\d{2}))")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\", "_": "_", "%": "%"}
_KEYWORDS = frozenset(
    {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "ORDER", "BY", "ASC", "DESC", "NULLS", "FIRST", "LAST", "LIMIT"}
    | {"OFFSET", "IN", "LIKE", "TRUE", "FALSE", "NULL"}
)


@dataclass(frozen=True)
class _Tok:
    kind: str  # name | keyword | op | punct | literal | eof
    text: str
    pos: int
    literal: Literal | None = None


def _error(text: str, pos: int, message: str, code: str = "MALFORMED_QUERY") -> SoqlError:
    """Salesforce's query error message: the offending line, a caret under the position, row and column."""
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    row = text.count("\n", 0, pos) + 1
    column = pos - line_start + 1
    return SoqlError(code, f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n{message}")


def parse_datetime_literal(raw: str) -> datetime:
    """A SOQL dateTime literal (`2024-01-01T00:00:00Z`, `...00.000Z`, `...00+00:00`) as an aware UTC datetime."""
    m = _DATETIME.fullmatch(raw)
    if not m:
        raise ValueError(f"not a SOQL dateTime literal: {raw!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    millis = int((m.group(7) or "0").ljust(3, "0"))
    tz = UTC
    if m.group(8) != "Z":
        offset = timedelta(hours=int(m.group(10)), minutes=int(m.group(11)))
        tz = timezone(-offset if m.group(9) == "-" else offset)
    moment = datetime(year, month, day, hour, minute, second, millis * 1000, tzinfo=tz)
    return moment.astimezone(UTC)


def _unescape(text: str, raw: str, pos: int) -> str:
    out: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\":
            nxt = raw[i + 1]
            if nxt not in _ESCAPES:
                raise _error(
                    text,
                    pos,
                    f"Invalid string literal '{raw}'. Illegal character sequence '\\{nxt}' in string literal.",
                )
            out.append(_ESCAPES[nxt])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise _error(text, pos, f"unexpected token: '{text[pos:].split()[0]}'")
        kind = m.lastgroup or ""
        raw = m.group(kind)
        start = pos
        pos = m.end()
        if kind == "ws":
            continue
        if kind == "baddatetime":
            raise _error(text, start, f"line 1:{start} no viable alternative at character '{raw}'")
        if kind == "datetime":
            try:
                value: Any = parse_datetime_literal(raw)
            except ValueError:
                raise _error(text, start, f"invalid dateTime literal: '{raw}'") from None
            tokens.append(_Tok("literal", raw, start, Literal("datetime", value, start, raw)))
        elif kind == "date":
            try:
                value = date.fromisoformat(raw)
            except ValueError:
                raise _error(text, start, f"invalid date literal: '{raw}'") from None
            tokens.append(_Tok("literal", raw, start, Literal("date", value, start, raw)))
        elif kind == "number":
            value = float(raw) if "." in raw else int(raw)
            tokens.append(_Tok("literal", raw, start, Literal("number", value, start, raw)))
        elif kind == "string":
            inner = raw[1:-1]
            tokens.append(_Tok("literal", raw, start, Literal("string", _unescape(text, inner, start), start, inner)))
        elif kind == "name":
            upper = raw.upper()
            if upper in ("TRUE", "FALSE"):
                tokens.append(_Tok("literal", raw, start, Literal("boolean", upper == "TRUE", start, raw)))
            elif upper == "NULL":
                tokens.append(_Tok("literal", raw, start, Literal("null", None, start, raw)))
            elif upper in _KEYWORDS:
                tokens.append(_Tok("keyword", upper, start))
            else:
                tokens.append(_Tok("name", raw, start))
        else:
            tokens.append(_Tok(kind, "!=" if raw == "<>" else raw, start))
    tokens.append(_Tok("eof", "<EOF>", len(text)))
    return tokens


# -- parser --------------------------------------------------------------------------------------------------


class _Parser:
    """Recursive descent over the token list; every error points at the token that broke the grammar."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self) -> _Tok:
        return self.tokens[self.i]

    def take(self) -> _Tok:
        tok = self.tokens[self.i]
        if tok.kind != "eof":
            self.i += 1
        return tok

    def unexpected(self, tok: _Tok | None = None) -> SoqlError:
        tok = tok or self.peek()
        return _error(self.text, tok.pos, f"unexpected token: '{tok.text}'")

    def is_keyword(self, *words: str) -> bool:
        tok = self.peek()
        return tok.kind == "keyword" and tok.text in words

    def keyword(self, word: str) -> None:
        if not self.is_keyword(word):
            raise self.unexpected()
        self.take()

    def punct(self, ch: str) -> None:
        tok = self.peek()
        if tok.kind != "punct" or tok.text != ch:
            raise self.unexpected()
        self.take()

    def name(self) -> FieldRef:
        tok = self.peek()
        if tok.kind != "name":
            raise self.unexpected()
        self.take()
        return FieldRef(tok.text, tok.pos)

    def integer(self) -> int:
        tok = self.peek()
        if tok.kind != "literal" or tok.literal is None or not isinstance(tok.literal.value, int):
            raise self.unexpected()
        if isinstance(tok.literal.value, bool) or tok.literal.value < 0:
            raise self.unexpected()
        self.take()
        return int(tok.literal.value)

    def query(self) -> Query:
        self.keyword("SELECT")
        fields: list[FieldRef] = []
        count = False
        tok = self.peek()
        nxt = self.tokens[self.i + 1] if self.i + 1 < len(self.tokens) else tok
        if tok.kind == "name" and tok.text.upper() == "COUNT" and nxt.kind == "punct" and nxt.text == "(":
            self.take()
            self.punct("(")
            if self.peek().kind == "name":
                raise _error(
                    self.text, self.peek().pos, "COUNT(field) is an aggregate query; the fake only has COUNT()"
                )
            self.punct(")")
            count = True
        else:
            fields.append(self.name())
            while self.peek().kind == "punct" and self.peek().text == ",":
                self.take()
                fields.append(self.name())
            if self.peek().kind == "punct" and self.peek().text == "(":
                raise _error(self.text, fields[-1].pos, f"aggregate function {fields[-1].path}() is not supported")
        self.keyword("FROM")
        sobject = self.name()
        where = None
        if self.is_keyword("WHERE"):
            self.take()
            where = self.expr()
        order_by: list[OrderItem] = []
        if self.is_keyword("ORDER"):
            self.take()
            self.keyword("BY")
            order_by.append(self.order_item())
            while self.peek().kind == "punct" and self.peek().text == ",":
                self.take()
                order_by.append(self.order_item())
        limit = offset = None
        if self.is_keyword("LIMIT"):
            self.take()
            limit = self.integer()
        if self.is_keyword("OFFSET"):
            self.take()
            offset = self.integer()
        if self.peek().kind != "eof":
            raise self.unexpected()
        return Query(
            text=self.text,
            fields=tuple(fields),
            count=count,
            sobject=sobject.path,
            sobject_pos=sobject.pos,
            where=where,
            order_by=tuple(order_by),
            limit=limit,
            offset=offset,
        )

    def order_item(self) -> OrderItem:
        ref = self.name()
        descending = False
        if self.is_keyword("ASC", "DESC"):
            descending = self.take().text == "DESC"
        nulls_first = not descending
        if self.is_keyword("NULLS"):
            self.take()
            if not self.is_keyword("FIRST", "LAST"):
                raise self.unexpected()
            nulls_first = self.take().text == "FIRST"
        return OrderItem(ref, descending, nulls_first)

    def expr(self) -> Expr:
        """A chain of one connective only: SOQL wants parentheses to mix AND with OR."""
        first = self.unary()
        if not self.is_keyword("AND", "OR"):
            return first
        op = self.peek().text
        items = [first]
        while self.is_keyword(op):
            self.take()
            items.append(self.unary())
        if self.is_keyword("AND", "OR"):
            raise self.unexpected()
        return BoolOp(op, tuple(items))

    def unary(self) -> Expr:
        if self.is_keyword("NOT"):
            self.take()
            return Not(self.unary())
        tok = self.peek()
        if tok.kind == "punct" and tok.text == "(":
            self.take()
            inner = self.expr()
            self.punct(")")
            return inner
        return self.condition()

    def literal(self) -> Literal:
        tok = self.peek()
        if tok.kind != "literal" or tok.literal is None:
            raise self.unexpected()
        self.take()
        return tok.literal

    def condition(self) -> Expr:
        ref = self.name()
        tok = self.peek()
        if tok.kind == "op":
            self.take()
            return Comparison(ref, tok.text, self.literal())
        negated = False
        if self.is_keyword("NOT"):
            self.take()
            negated = True
            if not self.is_keyword("IN"):
                raise self.unexpected()
        if self.is_keyword("IN"):
            self.take()
            self.punct("(")
            values = [self.literal()]
            while self.peek().kind == "punct" and self.peek().text == ",":
                self.take()
                values.append(self.literal())
            self.punct(")")
            return InList(ref, tuple(values), negated)
        if self.is_keyword("LIKE"):
            self.take()
            pattern = self.literal()
            if pattern.kind != "string":
                raise _error(self.text, pattern.pos, "LIKE needs a quoted string pattern")
            return Like(ref, pattern)
        raise self.unexpected()


def parse(text: str) -> Query:
    """Parse SOQL text; raises SoqlError(MALFORMED_QUERY) with Salesforce's caret message on bad syntax."""
    return _Parser(text).query()


# -- evaluation ----------------------------------------------------------------------------------------------

_TYPE_NAMES = {"string": "string", "boolean": "boolean", "datetime": "dateTime", "date": "date", "number": "double"}


@dataclass(frozen=True)
class Bounds:
    """The range of one field that a WHERE clause implies; None ends are open."""

    lower: Any = None
    lower_inclusive: bool = True
    upper: Any = None
    upper_inclusive: bool = True


def _tighter_lower(a: Bounds, b: Bounds) -> tuple[Any, bool]:
    if a.lower is None:
        return b.lower, b.lower_inclusive
    if b.lower is None or a.lower > b.lower:
        return a.lower, a.lower_inclusive
    if b.lower > a.lower:
        return b.lower, b.lower_inclusive
    return a.lower, a.lower_inclusive and b.lower_inclusive


def _tighter_upper(a: Bounds, b: Bounds) -> tuple[Any, bool]:
    if a.upper is None:
        return b.upper, b.upper_inclusive
    if b.upper is None or a.upper < b.upper:
        return a.upper, a.upper_inclusive
    if b.upper < a.upper:
        return b.upper, b.upper_inclusive
    return a.upper, a.upper_inclusive and b.upper_inclusive


def _looser(a: Bounds, b: Bounds) -> Bounds:
    lower: Any = None
    lower_inc = True
    if a.lower is not None and b.lower is not None:
        if a.lower == b.lower:
            lower, lower_inc = a.lower, a.lower_inclusive or b.lower_inclusive
        else:
            lower, lower_inc = (a.lower, a.lower_inclusive) if a.lower < b.lower else (b.lower, b.lower_inclusive)
    upper: Any = None
    upper_inc = True
    if a.upper is not None and b.upper is not None:
        if a.upper == b.upper:
            upper, upper_inc = a.upper, a.upper_inclusive or b.upper_inclusive
        else:
            upper, upper_inc = (a.upper, a.upper_inclusive) if a.upper > b.upper else (b.upper, b.upper_inclusive)
    return Bounds(lower, lower_inc, upper, upper_inc)


@dataclass(frozen=True)
class Plan:
    """A query bound to an object's fields: what to select, which rows match and in what order."""

    query: Query
    fields: tuple[Field, ...]
    predicate: Predicate | None
    order: tuple[tuple[Field, bool, bool], ...]  # (field, descending, nulls_first)
    resolve: Resolver

    @property
    def count(self) -> bool:
        return self.query.count

    def bounds(self, field_name: str) -> Bounds:
        """The range of `field_name` every matching row lies in, so a caller can bisect a sorted index."""
        return self._bounds(self.query.where, field_name) if self.query.where is not None else Bounds()

    def _bounds(self, expr: Expr, name: str) -> Bounds:
        if isinstance(expr, Comparison):
            if expr.value.kind != "datetime" or self.resolve(expr.field.path).name != name:
                return Bounds()
            v = expr.value.value
            return {
                "=": Bounds(v, True, v, True),
                ">=": Bounds(lower=v, lower_inclusive=True),
                ">": Bounds(lower=v, lower_inclusive=False),
                "<=": Bounds(upper=v, upper_inclusive=True),
                "<": Bounds(upper=v, upper_inclusive=False),
            }.get(expr.op, Bounds())
        if isinstance(expr, BoolOp):
            parts = [self._bounds(item, name) for item in expr.items]
            acc = parts[0]
            for part in parts[1:]:
                if expr.op == "AND":
                    lower, lower_inc = _tighter_lower(acc, part)
                    upper, upper_inc = _tighter_upper(acc, part)
                    acc = Bounds(lower, lower_inc, upper, upper_inc)
                else:
                    acc = _looser(acc, part)
            return acc
        return Bounds()

    def sort(self, rows: list[Row]) -> None:
        """Sort in place by ORDER BY: stable sorts from the last key to the first, nulls placed per key."""
        for field, descending, nulls_first in reversed(self.order):
            get = field.get
            null_small = nulls_first != descending

            def key(row: Row, get: Callable[[Row], Any] = get, null_small: bool = null_small) -> tuple[Any, ...]:
                value = get(row)
                if value is None:
                    return (0,) if null_small else (1,)
                return (1, value) if null_small else (0, value)

            rows.sort(key=key, reverse=descending)


def _like_regex(raw: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw):
            out.append(re.escape(_ESCAPES.get(raw[i + 1], raw[i + 1])))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


class _Compiler:
    def __init__(self, query: Query, resolve: Resolver) -> None:
        self.query = query
        self.resolve = resolve

    def field(self, ref: FieldRef) -> Field:
        try:
            return self.resolve(ref.path)
        except UnknownField as error:
            raise _error(self.query.text, ref.pos, str(error), "INVALID_FIELD") from None

    def check_literal(self, field: Field, lit: Literal, op: str) -> None:
        text = self.query.text
        if field.kind == "address":
            raise _error(text, lit.pos, f"field '{field.name}' can not be filtered in a query call", "INVALID_FIELD")
        if lit.kind == "null":
            if op not in ("=", "!="):
                raise _error(text, lit.pos, f"unexpected token: '{lit.raw}'")
            return
        if lit.kind != field.kind:
            quoted = "should be enclosed in quotes" if field.kind == "string" else "should not be enclosed in quotes"
            raise _error(
                text,
                lit.pos,
                f"value of filter criterion for field '{field.name}' must be of type "
                f"{_TYPE_NAMES.get(field.kind, field.kind)} and {quoted}",
                "INVALID_FIELD",
            )

    def predicate(self, expr: Expr) -> Predicate:
        if isinstance(expr, BoolOp):
            parts = [self.predicate(item) for item in expr.items]
            if expr.op == "AND":
                return lambda row: all(p(row) for p in parts)
            return lambda row: any(p(row) for p in parts)
        if isinstance(expr, Not):
            inner = self.predicate(expr.item)
            return lambda row: not inner(row)
        if isinstance(expr, InList):
            return self.in_list(expr)
        if isinstance(expr, Like):
            return self.like(expr)
        return self.comparison(expr)

    def comparison(self, expr: Comparison) -> Predicate:
        field = self.field(expr.field)
        self.check_literal(field, expr.value, expr.op)
        get, op, value = field.get, expr.op, expr.value.value
        if value is None:
            return (lambda row: get(row) is None) if op == "=" else (lambda row: get(row) is not None)
        if field.kind == "string" and op in ("=", "!="):
            folded = value.casefold()
            if op == "=":
                return lambda row: (v := get(row)) is not None and v.casefold() == folded
            return lambda row: (v := get(row)) is None or v.casefold() != folded
        if op == "=":
            return lambda row: get(row) == value
        if op == "!=":
            return lambda row: get(row) != value
        if op == "<":
            return lambda row: (v := get(row)) is not None and v < value
        if op == "<=":
            return lambda row: (v := get(row)) is not None and v <= value
        if op == ">":
            return lambda row: (v := get(row)) is not None and v > value
        return lambda row: (v := get(row)) is not None and v >= value

    def in_list(self, expr: InList) -> Predicate:
        field = self.field(expr.field)
        for lit in expr.values:
            self.check_literal(field, lit, "=")
        values = {lit.value.casefold() if isinstance(lit.value, str) else lit.value for lit in expr.values}
        get, negated = field.get, expr.negated

        def member(row: Row) -> bool:
            v = get(row)
            return (v.casefold() if isinstance(v, str) else v) in values

        return (lambda row: not member(row)) if negated else member

    def like(self, expr: Like) -> Predicate:
        field = self.field(expr.field)
        if field.kind != "string":
            raise _error(
                self.query.text,
                expr.pattern.pos,
                f"invalid operator on field '{field.name}': LIKE needs a text field",
                "INVALID_FIELD",
            )
        regex, get = _like_regex(expr.pattern.raw), field.get
        return lambda row: (v := get(row)) is not None and regex.fullmatch(v) is not None


def compile_query(query: Query, resolve: Resolver) -> Plan:
    """Bind a parsed query to an object's fields; raises SoqlError(INVALID_FIELD) for unknown fields or types."""
    compiler = _Compiler(query, resolve)
    fields = tuple(compiler.field(ref) for ref in query.fields)
    seen: set[str] = set()
    for ref, field in zip(query.fields, fields, strict=True):
        if field.name in seen:
            raise _error(query.text, ref.pos, f"duplicate field selected: {field.name}")
        seen.add(field.name)
    order = []
    for item in query.order_by:
        field = compiler.field(item.field)
        if field.kind == "address":
            raise _error(query.text, item.field.pos, f"field '{field.name}' can not be sorted in a query call")
        order.append((field, item.descending, item.nulls_first))
    predicate = compiler.predicate(query.where) if query.where is not None else None
    return Plan(query=query, fields=fields, predicate=predicate, order=tuple(order), resolve=resolve)
