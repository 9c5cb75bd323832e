"""Tokenizer and recursive-descent parser of filter expressions (grammar in `expression.py`).

Errors are `PatternError` at path `filter` with a 1-based column, because the expression arrives as
one string field of a subscription and a person has to find the fault in it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ccbridge.core.rules.errors import PatternError

_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_NAME = re.compile(r"[A-Za-z_$@][A-Za-z0-9_$@\-]*")
_SYMBOLS = ("&&", "||", "==", "!=", ">=", "<=", ">", "<", "!", "(", ")", "[", "]", ",", ".")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "/": "/", "\\": "\\", "'": "'", '"': '"'}
_COMPARISONS = ("==", "!=", ">", ">=", "<", "<=")
_MIRROR = {"==": "==", "!=": "!=", ">": "<", ">=": "<=", "<": ">", "<=": ">="}
_KEYWORDS = {"true": True, "false": False, "null": None}
MAX_NESTING = 64
"""Parentheses and `!` deeper than this are refused before they could exhaust the Python stack."""


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # a symbol itself, or "name", "string", "number", "end"
    text: str
    value: Any
    column: int


@dataclass(frozen=True, slots=True)
class Compare:
    path: tuple[str, ...]
    op: str  # one of _COMPARISONS, "in" or "contains"
    values: tuple[Any, ...]
    column: int


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class Op:
    kind: str  # "&&" or "||"
    items: tuple[Node, ...]


Node = Compare | Not | Op


def _error(reason: str) -> PatternError:
    return PatternError("filter", reason)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        ch, column = text[i], i + 1
        if ch.isspace():
            i += 1
        elif ch in "'\"":
            value, i = _string(text, i)
            tokens.append(Token("string", text[column - 1 : i], value, column))
        elif number := _NUMBER.match(text, i):
            tokens.append(Token("number", number.group(), json.loads(number.group()), column))
            i = number.end()
        elif name := _NAME.match(text, i):
            tokens.append(Token("name", name.group(), name.group(), column))
            i = name.end()
        else:
            symbol = next((s for s in _SYMBOLS if text.startswith(s, i)), None)
            if symbol is None:
                raise _error(f"unexpected {ch!r} at column {column}")
            tokens.append(Token(symbol, symbol, None, column))
            i += len(symbol)
    tokens.append(Token("end", "", None, len(text) + 1))
    return tokens


def _string(text: str, start: int) -> tuple[str, int]:
    quote, i = text[start], start + 1
    out: list[str] = []
    while i < len(text):
        ch = text[i]
        if ch == quote:
            return "".join(out), i + 1
        if ch == "\\":
            nxt = text[i + 1 : i + 2]
            if nxt == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", text[i + 2 : i + 6]):
                out.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
                continue
            if nxt not in _ESCAPES:
                raise _error(f"invalid escape {text[i : i + 2]!r} at column {i + 1}")
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        out.append(ch)
        i += 1
    raise _error(f"unterminated string starting at column {start + 1}")


def parse_expression(text: str) -> Node:
    return _Parser(tokenize(text)).parse()


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    @property
    def peek(self) -> Token:
        return self.tokens[self.pos]

    def take(self, *kinds: str) -> Token:
        token = self.peek
        if token.kind not in kinds:
            raise self.unexpected(token)
        self.pos += 1
        return token

    @staticmethod
    def unexpected(token: Token) -> PatternError:
        if token.kind == "end":
            return _error(f"unexpected end of filter at column {token.column}")
        return _error(f"unexpected {token.text!r} at column {token.column}")

    def parse(self) -> Node:
        node = self.disjunction()
        self.take("end")
        return node

    def disjunction(self) -> Node:
        return self._chain("||", self.conjunction)

    def conjunction(self) -> Node:
        return self._chain("&&", self.unary)

    def _chain(self, kind: str, operand: Any) -> Node:
        items = [operand()]
        while self.peek.kind == kind:
            self.pos += 1
            items.append(operand())
        return items[0] if len(items) == 1 else Op(kind, tuple(items))

    def unary(self) -> Node:
        token = self.peek
        if token.kind not in ("!", "("):
            return self.comparison()
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise _error(f"nested deeper than {MAX_NESTING} levels at column {token.column}")
        self.pos += 1
        if token.kind == "!":
            node: Node = Not(self.unary())
        else:
            node = self.disjunction()
            self.take(")")
        self.depth -= 1
        return node

    def comparison(self) -> Node:
        start = self.peek
        if start.kind == "name" and start.text not in _KEYWORDS:
            path = self.path()
            if self.peek.kind == "name" and self.peek.text == "in":
                self.pos += 1
                return Compare(path, "in", self.literal_list(), start.column)
            if self.peek.kind == "name" and self.peek.text == "contains":
                self.pos += 1
                return Compare(path, "contains", (self.literal(),), start.column)
            op = self.take(*_COMPARISONS)
            return self._typed(path, op, self.literal(), start.column)
        value = self.literal()
        op = self.take(*_COMPARISONS)
        if self.peek.kind != "name" or self.peek.text in _KEYWORDS:
            raise _error(f"a comparison needs a field on one side, at column {start.column}")
        return self._typed(
            self.path(), Token(op.kind, _MIRROR[op.kind], None, op.column), value, start.column
        )

    @staticmethod
    def _typed(path: tuple[str, ...], op: Token, value: Any, column: int) -> Compare:
        if op.text in (">", ">=", "<", "<=") and (
            not isinstance(value, int | float) or isinstance(value, bool)
        ):
            raise _error(f"{op.text!r} needs a number at column {op.column}")
        return Compare(path, op.text, (value,), column)

    def path(self) -> tuple[str, ...]:
        keys = [self.take("name").text]
        while self.peek.kind in (".", "["):
            if self.take(".", "[").kind == ".":
                keys.append(self.take("name").text)
            else:
                keys.append(self.take("string").value)
                self.take("]")
        if "$or" in keys:
            raise _error("the field name '$or' is reserved")
        return tuple(keys)

    def literal(self) -> Any:
        token = self.take("string", "number", "name")
        if token.kind == "name":
            if token.text not in _KEYWORDS:
                raise self.unexpected(token)
            return _KEYWORDS[token.text]
        return token.value

    def literal_list(self) -> tuple[Any, ...]:
        self.take("[")
        values = [self.literal()]
        while self.peek.kind == ",":
            self.pos += 1
            values.append(self.literal())
        self.take("]")
        return tuple(values)
