"""move-routes-out.sh: move a stack's routes and routing tests out of its stack file into routes/<stack>.yaml.

The stack config reaches the program in one environment variable that Linux caps at 128 KiB, so a stack
with many routes keeps them in its routes file (components/routes_file.py). This command moves the keys
`routes`, `routingTests` and `routingCoverage` there as text: each key's lines, with the comments above it
and within it, are cut from the stack file and written to the routes file one indentation level out, so
that nothing is reformatted. Before anything is written, both files are read back: the routes file must
hold exactly the values the stack file held, and the stack file everything else exactly as before; so
the program reads the same config and `pulumi preview` shows no change.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from components.routes_file import ROUTES_DIR, ROUTES_FILE_KEYS, RoutesFileError, parse_routes_file, routes_file_name
from ops import stack_file as stack_file_yaml
from ops.cli import EXIT_OK, InputError, OperationError, run
from ops.export import REPOSITORY

_EXIT_CODES = (
    "0 moved (or --dry-run: shown), 1 the files could not be written (both are then as they were), 2 bad "
    "arguments, a stack file that cannot be read, nothing to move, or a routes file that exists already"
)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="move-routes-out.sh",
        description="Move a stack's routes, routingTests and routingCoverage out of Pulumi.<stack>.yaml into "
        "routes/<stack>.yaml, comments and layout kept, so that the stack config stays small however many "
        "routes the stack has. The program reads the same values, so `pulumi preview` shows no change. No "
        "API key is needed.",
        epilog=f"Exit codes: {_EXIT_CODES}.",
    )
    parser.add_argument("--stack", required=True, help="the stack whose routes to move, e.g. production")
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=REPOSITORY,
        help="the project directory, holding Pulumi.<stack>.yaml (default: this repository)",
    )
    parser.add_argument("--dry-run", action="store_true", help="print both files as they would be; change nothing")
    return parser


@dataclass(frozen=True)
class Moved:
    stack_text: str  # the stack file without the moved keys
    routes_text: str  # the new routes file
    keys: tuple[str, ...]


def _load(text: str, where: str) -> CommentedMap:
    try:
        document = YAML(typ="rt").load(text)
    except YAMLError as error:
        raise InputError(f"{where}: not a YAML file ({error})") from None
    if not isinstance(document, CommentedMap) or not isinstance(document.get("config"), CommentedMap):
        raise InputError(f"{where}: not a stack file (a YAML mapping with a `config:` key)")
    return document


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_comment(line: str) -> bool:
    return line.strip().startswith("#")


def _block(lines: list[str], start: int, indent: int) -> tuple[int, int]:
    """The lines of the config key at `start`: from the comments right above it at its indentation (they
    describe it) to the last line of its value, blank lines after it left out."""
    first = start
    while first > 0 and _is_comment(lines[first - 1]) and _indent(lines[first - 1]) == indent:
        first -= 1
    end = start + 1
    while end < len(lines):
        line = lines[end]
        # A list may start at its key's indentation (`key:` then `- item` below it).
        in_list = _indent(line) == indent and line.lstrip().startswith("- ")
        if line.strip() and not _is_comment(line) and _indent(line) <= indent and not in_list:
            break
        end += 1
    # Comments at the key's indentation (or less) just before the next key describe that key, not this one.
    while end > start + 1 and (
        not lines[end - 1].strip() or (_is_comment(lines[end - 1]) and _indent(lines[end - 1]) <= indent)
    ):
        end -= 1
    return first, end


def _outdented(block: list[str], indent: int, prefixed: str, key: str, where: str) -> list[str]:
    out = []
    for line in block:
        line = line[indent:] if line.startswith(" " * indent) else line.lstrip(" ")
        if not _is_comment(line) and _indent(line) == 0 and line.strip():
            written = next(
                (form for form in (prefixed, f'"{prefixed}"', f"'{prefixed}'") if line.startswith(form + ":")), None
            )
            if written is None:
                raise InputError(f"{where}: cannot read the key {prefixed!r} as written; write it as `{prefixed}:`")
            line = key + line[len(written) :]
        out.append(line)
    return out


def moved(stack_text: str, stack: str, project: str, where: str) -> Moved:
    """The stack file without its routes keys, and the routes file holding them; checked to hold the same
    values as before, or InputError/OperationError."""
    document = _load(stack_text, where)
    config = document["config"]
    keys = tuple(key for key in ROUTES_FILE_KEYS if f"{project}:{key}" in config)
    if not keys:
        raise InputError(f"{where}: declares none of {', '.join(ROUTES_FILE_KEYS)}; nothing to move")
    lines = stack_text.splitlines(keepends=True)
    blocks = []
    for key in keys:
        line, column = config.lc.key(f"{project}:{key}")
        first, end = _block(lines, line, column)
        blocks.append((first, end, key, column))
    routes_lines: list[str] = [
        f"# {stack}'s routes and routing tests, moved out of Pulumi.{stack}.yaml: the program reads them from here\n",
        "# (docs/configuration-routes.md). The same keys and names as in the stack file, without its prefix.\n",
    ]
    for first, end, key, column in sorted(blocks):
        routes_lines += _outdented(lines[first:end], column, f"{project}:{key}", key, where)
    note = f"# {', '.join(keys)}: in {routes_file_name(stack)} (moved out by contrib/move-routes-out.sh)\n"
    kept: list[str] = []
    index = 0
    for number, (first, end, _key, column) in enumerate(sorted(blocks)):
        kept += lines[index:first]
        if number == 0:
            kept.append(" " * column + note)
        index = end
    kept += lines[index:]
    result = Moved("".join(kept), "".join(routes_lines), keys)
    _check(result, document, stack, project, where)
    return result


def _check(result: Moved, before: CommentedMap, stack: str, project: str, where: str) -> None:
    """Both files read back as the values they held before, or nothing is written."""
    try:
        routes_file = parse_routes_file(routes_file_name(stack), result.routes_text)
    except RoutesFileError as error:
        raise OperationError(f"{where}: the routes file would not read back ({error}); nothing was written") from None
    after = _load(result.stack_text, where)
    old = {key: stack_file_yaml.plain(value) for key, value in before["config"].items()}
    moved_keys = {f"{project}:{key}" for key in result.keys}
    expected_stack = {key: value for key, value in old.items() if key not in moved_keys}
    expected_routes = {key: old[f"{project}:{key}"] for key in result.keys}
    same_stack = {key: stack_file_yaml.plain(value) for key, value in after["config"].items()} == expected_stack
    same_rest = {k: stack_file_yaml.plain(v) for k, v in after.items() if k != "config"} == {
        k: stack_file_yaml.plain(v) for k, v in before.items() if k != "config"
    }
    if not (same_stack and same_rest and routes_file.values == expected_routes):
        raise OperationError(
            f"{where}: moving the keys as text would change what they say (an unusual layout); nothing was written. "
            f"Move {', '.join(result.keys)} to {routes_file_name(stack)} by hand (same values, no `{project}:` prefix)"
        )


def _project(project_dir: Path) -> str:
    path = project_dir / "Pulumi.yaml"
    try:
        document = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except (OSError, YAMLError) as error:
        raise InputError(f"{path}: cannot read the project's name ({error})") from None
    if not isinstance(document, dict) or not isinstance(document.get("name"), str):
        raise InputError(f"{path}: has no `name:`")
    return str(document["name"])


def _write_new(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(exist_ok=True)
        with path.open("x", encoding="utf-8") as stream:
            stream.write(text)
    except FileExistsError:
        raise InputError(f"{path} exists already; nothing was moved") from None
    except OSError as error:
        raise OperationError(f"{path}: cannot write the routes file ({error.strerror}); nothing was moved") from None


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", args.stack):
        raise InputError(f"{args.stack!r} is not a stack name")
    stack_path = args.project_dir / f"Pulumi.{args.stack}.yaml"
    routes_path = args.project_dir / ROUTES_DIR / f"{args.stack}.yaml"
    try:
        stack_text = stack_path.read_text(encoding="utf-8")
    except OSError as error:
        raise InputError(f"{stack_path}: cannot read the stack file ({error.strerror})") from None
    if routes_path.exists():
        raise InputError(f"{routes_path} exists already: the stack's routes are moved out; nothing was changed")
    result = moved(stack_text, args.stack, _project(args.project_dir), str(stack_path))
    if args.dry_run:
        sys.stdout.write(f"--- {routes_path} (new)\n{result.routes_text}")
        sys.stdout.write(stack_file_yaml.unified_diff(stack_text, result.stack_text, stack_path))
        return EXIT_OK
    _write_new(routes_path, result.routes_text)
    try:
        stack_file_yaml.write(stack_path, result.stack_text)
    except OperationError:
        os.unlink(routes_path)  # the stack file still declares them: one place only
        raise
    print(
        f"moved {', '.join(result.keys)} from {stack_path} to {routes_path}; `pulumi preview --stack {args.stack}` "
        "shows no change. Commit both files together."
    )
    return EXIT_OK


if __name__ == "__main__":
    run(main)
