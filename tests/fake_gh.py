"""A stand-in for the `gh` CLI, as much of `gh api` as scripts/github-report.sh uses, over a repository kept in
a JSON file ($FAKE_GH_STATE): issues (with pull requests among them, as the REST API lists them) and their
comments. `--paginate` answers in pages of two, as consecutive JSON arrays, the way gh prints pages;
`--jq` runs the real jq. Endpoints follow GitHub's REST API ("Issues" and "Issue comments")."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

PAGE = 2


def main(argv: list[str]) -> int:
    if argv[:1] != ["api"]:
        print(f"fake gh: only `gh api` is implemented, got {argv}", file=sys.stderr)
        return 2
    method, path, fields, jq, paginate = "GET", "", {}, None, False
    args = iter(argv[1:])
    for arg in args:
        if arg == "--method":
            method = next(args)
        elif arg == "--paginate":
            paginate = True
        elif arg == "--jq":
            jq = next(args)
        elif arg in ("-f", "-F"):
            key, _, value = next(args).partition("=")
            fields[key] = Path(value[1:]).read_text() if arg == "-F" and value.startswith("@") else value
        elif not path:
            path = arg
        else:
            print(f"fake gh: unexpected argument {arg!r}", file=sys.stderr)
            return 2
    state_file = Path(os.environ["FAKE_GH_STATE"])
    state: dict[str, Any] = json.loads(state_file.read_text())
    state["calls"].append([method, path, fields])
    answer = handle(state, method, path.split("?")[0], fields)
    state_file.write_text(json.dumps(state))
    if answer is None:
        print(f"fake gh: no such endpoint {method} {path}", file=sys.stderr)
        return 1
    pages = ([answer[i : i + PAGE] for i in range(0, len(answer), PAGE)] or [[]]) if paginate else [answer]
    text = "".join(json.dumps(page) for page in pages)
    if jq is not None:
        if shutil.which("jq") is None:
            print("fake gh: --jq needs jq on PATH (scripts/github-report.sh needs it too)", file=sys.stderr)
            return 2
        # The real jq, on the filter the script wrote.
        jq_run = ["jq", "-r", jq]
        text = subprocess.run(jq_run, input=text, capture_output=True, text=True, check=True).stdout  # noqa: S603
    sys.stdout.write(text)
    return 0


def handle(state: dict[str, Any], method: str, path: str, fields: dict[str, str]) -> Any:
    issues: list[dict[str, Any]] = state["issues"]
    comments: dict[str, list[dict[str, Any]]] = state["comments"]
    if match := re.fullmatch(r"repos/[\w.-]+/[\w.-]+/issues", path):
        if method == "GET":
            return [issue for issue in issues if issue["state"] == "open"]
        issue = {"number": len(issues) + 1, "state": "open", "title": fields["title"], "body": fields["body"]}
        issues.append(issue)
        return issue
    if match := re.fullmatch(r"repos/[\w.-]+/[\w.-]+/issues/(\d+)", path):
        (issue,) = (issue for issue in issues if issue["number"] == int(match[1]))
        if method == "PATCH":
            issue.update(fields)
        return issue
    if match := re.fullmatch(r"repos/[\w.-]+/[\w.-]+/issues/(\d+)/comments", path):
        thread = comments.setdefault(match[1], [])
        if method == "GET":
            return thread
        comment = {"id": 1000 + sum(len(other) for other in comments.values()), "body": fields["body"]}
        thread.append(comment)
        return comment
    if match := re.fullmatch(r"repos/[\w.-]+/[\w.-]+/issues/comments/(\d+)", path):
        (comment,) = (comment for thread in comments.values() for comment in thread if comment["id"] == int(match[1]))
        comment.update(fields)
        return comment
    return None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
