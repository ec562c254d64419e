"""The demo behind scripts/demo.sh: the real workflow for one stack, on local stand-ins only.

`python -m tests.e2e.demo STACK --cli-dir DIR --workdir DIR` (scripts/demo.sh passes these): an in-process
incident.io emulator seeded with today's org, a copy of the project in WORKDIR with its own file state backend
and PULUMI_HOME, the stand-in AWS and Kubernetes plugins installed into that PULUMI_HOME (and the stand-in Python
language host when the CLI in DIR has no real one beside it), the API key set from stdin and the SET-ME values
with `pulumi config set`, then `pulumi preview --diff`, `pulumi up --yes` and `pulumi preview
--expect-no-changes`, and a summary counted from the emulator's requests and the state. Real credentials in the
environment are dropped before the CLI runs (tests/e2e/harness.py).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from tests.e2e.harness import (
    LANGUAGE_HOST,
    ROUTE_TYPE,
    STACKS,
    Workspace,
    has_real_language_host,
    language_host,
    resources,
)
from tests.emulator import running_emulator
from tests.emulator.seed import seed_runbook

API_KEY = "demo-key-for-the-local-emulator"
MARKER = ".demo-workspace"
WHAT = {
    "aws:secretsmanager/secret:Secret": "the AWS secret",
    "aws:secretsmanager/secretVersion:SecretVersion": "its version (the token)",
    "kubernetes:external-secrets.io/v1:ExternalSecret": "the ExternalSecret",
    "kubernetes:monitoring.coreos.com/v1:AlertmanagerPatch": "the Alertmanager restart (patch)",
}


def say(line: str) -> None:
    print(line, flush=True)


def prepare(workdir: Path) -> None:
    """A fresh WORKDIR: one the demo made before is replaced; anything else is refused, never deleted."""
    if workdir.exists():
        if not (workdir / MARKER).exists() and any(workdir.iterdir()):
            raise SystemExit(f"demo: {workdir} exists and is not a demo workspace; choose another DEMO_DIR")
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    (workdir / MARKER).write_text("made by scripts/demo.sh; replaced by the next run\n")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.demo", description=__doc__)
    parser.add_argument("stack", choices=STACKS)
    parser.add_argument("--cli-dir", type=Path, required=True, help="the directory of the `pulumi` to run")
    parser.add_argument("--workdir", type=Path, required=True, help="replaced on each run")
    args = parser.parse_args(argv)
    stack: str = args.stack
    workdir: Path = args.workdir.resolve()

    prepare(workdir)
    with running_emulator(api_key=API_KEY) as emulator:
        live = seed_runbook(emulator.state, base_url="https://api.incident.io")
        say(f"==> incident.io emulator on {emulator.url}, seeded with today's org: {len(live)} routes, no ids")
        say("    in the stack files. Its API key is a throwaway the emulator alone accepts.")
        say(f"==> Pulumi CLI: {args.cli_dir}; Python language host: {language_host(args.cli_dir)}")
        if not has_real_language_host(args.cli_dir):
            say(f"    The CLI warns `using {LANGUAGE_HOST} from $PATH` at each command below: that is this stand-in.")
        say(f"==> a copy of the project, its state and PULUMI_HOME in {workdir}")
        say("==> AWS and Kubernetes: stand-in plugins (tests/stand_ins; nothing leaves this machine), installed")
        say("    into that PULUMI_HOME the way the CLI installs real plugins:")

        def configuring(_: Workspace) -> None:
            say(f"==> the {stack} stack, configured as an operator does (API key from stdin, then the SET-ME values):")

        workspace = Workspace.create(
            workdir / "workspace",
            args.cli_dir,
            api_key=API_KEY,
            stacks=(stack,),
            announce=say,
            before_stacks=configuring,
        )
        workspace.emulator = emulator

        steps = [
            (
                "1/3 preview --diff: each route is a create that adopts the live route (its adopt_id)",
                ["preview", "--diff"],
            ),
            ("2/3 up --yes: adopts the routes, creates the AWS secret, ExternalSecret and restart", ["up", "--yes"]),
            ("3/3 preview --expect-no-changes: nothing left to do", ["preview", "--expect-no-changes"]),
        ]
        before = workspace.mark()
        for title, command in steps:
            say(f"\n==> {title}")
            run = workspace.pulumi(*command, stack=stack, show=True, expect=None)
            if run.returncode != 0:
                say(f"\ndemo: `pulumi {' '.join(command)}` failed (exit {run.returncode}); see above")
                return 1

        routes = resources(workspace.export(stack), ROUTE_TYPE)
        adopted = sorted(r["inputs"]["spec"]["name"] for r in routes.values() if r["inputs"].get("adopt_id"))
        routes_by_name = {r["inputs"]["spec"]["name"]: r["id"] for r in routes.values()}
        writes = workspace.route_writes_since(before)
        calls = [entry for entry in workspace.stand_in_log(before) if entry["method"] == "Create"]
        created = [WHAT.get(entry["type"], entry["type"]) for entry in calls if not entry.get("preview")]
        noun = "route" if len(adopted) == 1 else "routes"
        say(f"\n==> summary ({stack}): {len(adopted)} {noun} adopted with {len(writes)} writes to incident.io")
        say(f"    adopted: {', '.join(f'{name} ({routes_by_name[name]})' for name in adopted)}")
        say(f"    created by the stand-in plugins: {', '.join(created)}")
        say("    the last preview found nothing to change")
        say(f"    state, stack file and the stand-ins' call log: {workdir} (replaced by the next run)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
