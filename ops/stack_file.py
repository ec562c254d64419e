"""Stack files as YAML: read, written the way the committed stack files write them, and edited in place
changing only what differs.

An edit is made on the file's text, not by dumping the whole document again: ruamel.yaml reads the
file and says where each key and item is, and only the lines of a value that changed are replaced,
with new keys inserted where their order puts them (a route's `id` right after its `name`). Every
other line stays byte for byte: comments where they were, `{ a }` as `{ a }`, quotes and key order.
New values are written in the stack files' style: name-table entries, conditions and condition values
on one line (`{ ... }` padded as the file pads them), everything else as blocks.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
import tempfile
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from ops.cli import InputError, OperationError

JsonDict = dict[str, Any]
# The config keys whose values are tables of name -> entry (written one entry per line).
TABLE_KEYS = ("alertSources", "references", "escalationPaths", "slackChannels")
# The order of the route-declaring keys, where one is added to a file that lacks it.
KEY_ORDER = ("alertSources", "alertmanagerSource", "checklySource", *TABLE_KEYS[1:], "routes", "routingTests")
# Characters YAML reads as the end of a line: a scalar holding one is written double-quoted, escaped.
_LINE_BREAKS = ("\n", "\r", "\x85", "\u2028", "\u2029")
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _yaml() -> YAML:
    yaml_ = YAML()
    yaml_.preserve_quotes = True
    return yaml_


def _load(path: Path) -> tuple[str, CommentedMap]:
    """The stack file's text and its document, which must be a mapping with a `config:` key."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InputError(f"{path}: cannot read the stack file ({error.strerror})") from None
    try:
        document = _yaml().load(text)
    except YAMLError as error:
        raise InputError(f"{path}: not a YAML file ({error})") from None
    if not isinstance(document, CommentedMap) or not isinstance(document.get("config"), CommentedMap):
        raise InputError(f"{path}: not a stack file (a YAML mapping with a `config:` key)")
    return text, document


def read_config(path: Path, project: str) -> JsonDict:
    """The stack's own config keys (without the `<project>:` prefix), as plain values."""
    _, document = _load(path)
    config = document["config"]
    prefix = f"{project}:"
    return {key.removeprefix(prefix): plain(value) for key, value in config.items() if key.startswith(prefix)}


def plain(value: Any) -> Any:
    """Round-trip nodes as ordinary dicts, lists and scalars."""
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, str):
        return str(value)
    return value


# Writing values in the stack files' style. `kind` says what a value is within a stack file: "table"
# (names -> entries), "entry", "conditions", "condition", "values", "tests", "test", "flow" (anything
# written on one line), None for anything else.


def _child_kind(kind: str | None, key: str) -> str | None:
    bare = key.rsplit(":", 1)[-1]
    if kind is None and bare in TABLE_KEYS:
        return "table"
    if kind is None and bare == "routingTests":
        return "tests"
    if kind == "table":
        return "entry"
    if kind in ("test", "flow"):
        return "flow"
    if key == "when":
        return "conditions"
    if key == "values":
        return "values"
    return None


def _item_kind(kind: str | None) -> str | None:
    return {"conditions": "condition", "tests": "test", "flow": "flow"}.get(kind or "")


def _one_line(value: Any, kind: str | None) -> bool:
    if isinstance(value, dict):
        return not value or kind in ("entry", "condition", "flow")
    if isinstance(value, list):
        return not value or kind in ("values", "flow")
    return True


@lru_cache(maxsize=4096, typed=True)
def scalar(value: Any) -> str:
    """A scalar as YAML writes it on one line in any context (quoted where it must be)."""
    text: str = yaml.dump([value], Dumper=_DUMPER, default_flow_style=True, allow_unicode=True, width=2**30)
    if any(character in text for character in _LINE_BREAKS[1:]) or "\n" in text.rstrip("\n"):
        text = yaml.dump([value], Dumper=_DUMPER, default_flow_style=True, default_style='"', width=2**30)
    return text.strip()[1:-1]


# A comment for an entry, or for entries below it: {key: "text"} or {key: {name: "text"}}.
Comments = Mapping[str, Any]


def _with_comment(lines: list[str], comment: Any) -> list[str]:
    """A one-line entry with `  # comment` after it."""
    if isinstance(comment, str) and len(lines) == 1:
        return [f"{lines[0].rstrip()}  # {comment}\n"]
    return lines


class Style:
    """How a file writes what goes on one line: `{ a: b }` padded, or `{a: b}`."""

    def __init__(self, padded: bool = True) -> None:
        self.padded = padded

    @classmethod
    def of(cls, text: str) -> Style:
        padded = len(re.findall(r"\{ [^ }]", text))
        bare = len(re.findall(r"\{[^ }]", text))
        return cls(padded >= bare)

    def flow(self, value: Any) -> str:
        if isinstance(value, dict):
            inner = ", ".join(f"{scalar(key)}: {self.flow(item)}" for key, item in value.items())
            return "{}" if not inner else f"{{ {inner} }}" if self.padded else f"{{{inner}}}"
        if isinstance(value, list):
            return "[" + ", ".join(self.flow(item) for item in value) + "]"
        return scalar(value)

    def entry(
        self, key: str, value: Any, kind: str | None, column: int, *, one_line: bool = False, comments: Any = None
    ) -> list[str]:
        """`key: value` at `column`, the value on that line or below it."""
        head = f"{' ' * column}{scalar(key)}:"
        if one_line or _one_line(value, kind):
            return _with_comment([f"{head} {self.flow(value)}\n"], comments)
        if isinstance(value, dict):
            nested = comments if isinstance(comments, Mapping) else None
            return [f"{head}\n", *self.mapping(value, kind, column + 2, nested)]
        return [f"{head}\n", *self.sequence(value, kind, column + 2)]

    def mapping(
        self, value: dict[str, Any], kind: str | None, column: int, comments: Comments | None = None
    ) -> list[str]:
        return [
            line
            for key, item in value.items()
            for line in self.entry(key, item, _child_kind(kind, key), column, comments=(comments or {}).get(key))
        ]

    def sequence(self, value: list[Any], kind: str | None, dash: int) -> list[str]:
        return [line for item in value for line in self.item(item, _item_kind(kind), dash)]

    def item(self, value: Any, kind: str | None, dash: int, *, one_line: bool = False) -> list[str]:
        """`- value` with its dash at `dash`."""
        if one_line or _one_line(value, kind) or not isinstance(value, dict):
            return [f"{' ' * dash}- {self.flow(value)}\n"]
        lines = self.mapping(value, kind, dash + 2)
        return [f"{' ' * dash}- {lines[0][dash + 2 :]}", *lines[1:]]


def _comment_tree(project: str, comments: Mapping[tuple[str, str], str]) -> dict[str, dict[str, str]]:
    tree: dict[str, dict[str, str]] = {}
    for (key, name), text in comments.items():
        tree.setdefault(f"{project}:{key}", {})[name] = text
    return tree


def render(config: JsonDict, project: str, header: list[str], comments: Mapping[tuple[str, str], str]) -> str:
    """A stack-config fragment (`config:` with these keys), after a comment header."""
    section = {f"{project}:{key}": value for key, value in config.items()}
    lines = Style().mapping(section, None, 2, _comment_tree(project, comments))
    return "".join([*(f"# {line}\n" for line in header), "config:\n", *lines])


# Editing a file in place


def _lines(text: str) -> list[str]:
    """The file's lines as ruamel.yaml counts them: split at line feeds only."""
    parts = text.split("\n")
    lines = [f"{part}\n" for part in parts[:-1]]
    return [*lines, parts[-1]] if parts[-1] else lines


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _is_flow(node: Any) -> bool:
    return isinstance(node, CommentedMap | CommentedSeq) and bool(node.fa.flow_style())


def _is_block(node: Any, value: Any) -> bool:
    """Whether a node is a non-empty block mapping or sequence that `value` can be edited into."""
    if _is_flow(node) or not node:
        return False
    return (isinstance(node, CommentedMap) and isinstance(value, dict) and bool(value)) or (
        isinstance(node, CommentedSeq) and isinstance(value, list) and bool(value)
    )


class _Edit:
    """The file's lines, and the replacements to make in them (applied together, last first)."""

    def __init__(self, text: str) -> None:
        self.lines = _lines(text)
        self.style = Style.of(text)
        # (start, end, new lines); end == start is an insertion before line `start`.
        self.changes: list[tuple[int, int, list[str]]] = []

    def result(self) -> str:
        lines = list(self.lines)
        # Last first, and at one line the replacement before the insertion, so that an insertion at a
        # line lands before whatever replaces that line.
        for start, end, new in sorted(
            self.changes, key=lambda change: (change[0], change[1] > change[0]), reverse=True
        ):
            lines[start:end] = new
        return "".join(lines)

    def end(self, start: int, column: int, *, sequence_value: bool = False) -> int:
        """The line after the last one of a key's or item's text starting at `start` (owned at `column`):
        the lines indented deeper (and the items of a sequence written at the key's own indent), and the
        comments among and right after them that are indented deeper."""
        last = start
        for index in range(start + 1, len(self.lines)):
            line = self.lines[index]
            if not line.strip():
                continue
            deeper = _indent(line) > column
            if deeper or (sequence_value and _indent(line) == column and line.lstrip().startswith("-")):
                last = index
            elif _is_content(line) or _indent(line) <= column:
                break
        return last + 1

    def _key_end(self, node: CommentedMap, key: str) -> int:
        line, column = node.lc.key(key)
        return self.end(line, column, sequence_value=isinstance(node[key], list))

    def _eol_comment(self, line: int, column: int) -> str | None:
        """The comment at the end of a one-line entry, or None (a `#` inside quotes is no comment)."""
        text = self.lines[line].rstrip("\n")[column:]
        match = re.search(r"\s+#\s?([^'\"]*)$", text)
        return match.group(1) if match else None

    def mapping(
        self, node: CommentedMap, value: dict[str, Any], kind: str | None, comments: Comments | None = None
    ) -> None:
        """Make a block mapping say `value`: unchanged entries kept, changed ones edited, gone ones
        removed, new ones inserted after the entry that comes before them in `value`."""
        comments = comments or {}
        for key in node:
            comment = comments.get(key)
            if key not in value:
                line = node.lc.key(key)[0]
                self.changes.append((line, self._key_end(node, key), []))
            elif plain(node[key]) != value[key] or isinstance(comment, Mapping):
                self.entry(node, key, value[key], _child_kind(kind, key), comment)
            elif isinstance(comment, str) and comment not in self.lines[node.lc.key(key)[0]]:
                line = node.lc.key(key)[0]
                self.changes.append((line, line + 1, _with_comment([self.lines[line]], comment)))
        keys = list(node)
        first_line, column = node.lc.key(keys[0])
        # A mapping that is an item of a sequence starts on its `- ` line: nothing can go before its first key.
        on_dash = self.lines[first_line][:column].strip() == "-"
        anchor: str | None = keys[0] if on_dash else None
        pending: dict[str | None, list[str]] = {}
        for key in value:
            if key in node:
                anchor = key
            else:
                pending.setdefault(anchor, []).append(key)
        for after, new_keys in pending.items():
            lines = [
                line
                for key in new_keys
                for line in self.style.entry(
                    key, value[key], _child_kind(kind, key), column, comments=comments.get(key)
                )
            ]
            at = first_line if after is None else self._key_end(node, after)
            self.changes.append((at, at, lines))

    def entry(self, node: CommentedMap, key: str, value: Any, kind: str | None, comments: Any = None) -> None:
        child = node[key]
        if _is_block(child, value):
            if isinstance(child, CommentedMap):
                self.mapping(child, value, kind, comments if isinstance(comments, Mapping) else None)
            else:
                self.sequence(child, value, kind)
            return
        line, column = node.lc.key(key)
        end = self._key_end(node, key)
        lines = self.style.entry(key, value, kind, column, one_line=_is_flow(child), comments=comments)
        # What comes before the key stays (a `- `), and on a one-line entry the comment after the value.
        lines[0] = self.lines[line][:column] + lines[0][column:]
        if len(lines) == 1 and end == line + 1 and not isinstance(comments, str):
            lines = _with_comment(lines, self._eol_comment(line, column))
        self.changes.append((line, end, lines))

    def sequence(self, node: CommentedSeq, value: list[Any], kind: str | None) -> None:
        item_kind = _item_kind(kind)
        dash = 0
        for index, item in enumerate(node):
            line, column = node.lc.item(index)
            dash = self.lines[line].rfind("-", 0, column)
            end = self.end(line, dash)
            if index >= len(value):
                self.changes.append((line, end, []))
            elif plain(item) == value[index]:
                continue
            elif _is_block(item, value[index]) and isinstance(item, CommentedMap) and next(iter(item)) in value[index]:
                self.mapping(item, value[index], item_kind)
            else:
                lines = self.style.item(value[index], item_kind, dash, one_line=_is_flow(item))
                lines[0] = self.lines[line][:dash] + lines[0][dash:]
                self.changes.append((line, end, lines))
        if len(value) > len(node):
            at = self.end(node.lc.item(len(node) - 1)[0], dash)
            self.changes.append((at, at, self.style.sequence(value[len(node) :], kind, dash)))


def _in_order(section: CommentedMap, changed: dict[str, Any], project: str) -> dict[str, Any]:
    """The config section as it is with `changed` set: a new key after the key KEY_ORDER puts before it."""
    order = [f"{project}:{key}" for key in KEY_ORDER]
    result = {str(key): plain(value) for key, value in section.items()}
    for key, value in changed.items():
        if key in result or key not in order:
            result[key] = value
            continue
        earlier = [other for other in order[: order.index(key)] if other in result]
        items = list(result.items())
        at = [name for name, _ in items].index(earlier[-1]) + 1 if earlier else len(items)
        result = dict([*items[:at], (key, value), *items[at:]])
    return result


def updated(path: Path, project: str, config: JsonDict, comments: Mapping[tuple[str, str], str]) -> tuple[str, str]:
    """The stack file's text, and its text with these config keys set, every other line as it was."""
    text, document = _load(path)
    edit = _Edit(text)
    section = document["config"]
    wanted = _in_order(section, {f"{project}:{key}": value for key, value in config.items()}, project)
    edit.mapping(section, wanted, None, _comment_tree(project, comments))
    return text, edit.result()


def unified_diff(before: str, after: str, path: Path) -> str:
    return "".join(difflib.unified_diff(_lines(before), _lines(after), fromfile=str(path), tofile=str(path)))


def write(path: Path, text: str) -> None:
    """Replace the file in one step: a failure leaves the old file as it was."""
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.absolute().parent)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, stat.S_IMODE(path.stat().st_mode))
        os.replace(temporary, path)
    except OSError as error:
        raise OperationError(f"{path}: cannot write the stack file ({error.strerror}); it is unchanged") from None
