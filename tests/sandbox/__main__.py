"""`python -m tests.sandbox`: what ./scripts/sandbox.sh runs once .venv and the Pulumi CLI are there."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests.sandbox import dashboard
from tests.sandbox.sandbox import DIR_ENV, Sandbox, SandboxError, down, project_for, reset, serve, status, up

DESCRIPTION = """\
A sandbox to rehearse a change on this machine: the incident.io emulator seeded with today's org, left running,
both stacks deployed on it (local state backend, stand-in AWS and Kubernetes plugins), and an environment to
source that makes ./scripts/pulumi.sh <stack> preview|up|refresh|destroy, contrib/*.sh and route-test --live
talk to it. Nothing reaches a real account.
"""


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="./scripts/sandbox.sh", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dir", help=f"the sandbox's directory (default: ${DIR_ENV}, else .cache/sandbox/ here)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in (
        ("up", "start it (or say it is up), deploy both stacks the first time, write and print its environment"),
        ("reset", "delete it (org, state, environment) and start over, as `up` does the first time"),
    ):
        command = commands.add_parser(name, help=help_text, description=help_text)
        command.add_argument("--cli-dir", type=Path, required=True, help="the Pulumi CLI to run")
        command.add_argument("--port", type=int, help="the emulator's port (default: the last one, else a free one)")
    commands.add_parser("down", help="stop its emulator, by its pid (the org and the state are kept)")
    commands.add_parser("status", help="whether it is up, and where (exit 3 when down)")
    commands.add_parser("env", help="print its environment file (for `source`)")
    dashboard.add_parser(commands)
    # For scripts/pulumi.sh in the sandbox: check it, write the stack's file, print the directory to run in.
    project = commands.add_parser("project")
    project.add_argument("stack")
    project.add_argument("pulumi_args", nargs=argparse.REMAINDER)
    # The emulator process itself (`up` starts it).
    serving = commands.add_parser("serve")
    serving.add_argument("--port", type=int, required=True)
    serving.add_argument("--or-any-port", action="store_true")
    return parser


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    sandbox = Sandbox.at(args.dir)
    try:
        if args.command == "up":
            return up(sandbox, args.cli_dir.resolve(), args.port)
        if args.command == "reset":
            return reset(sandbox, args.cli_dir.resolve(), args.port)
        if args.command == "down":
            return down(sandbox)
        if args.command == "status":
            return status(sandbox)
        if args.command == "env":
            if not sandbox.env_file.exists():
                raise SandboxError("the sandbox has no environment yet: ./scripts/sandbox.sh up")
            print(sandbox.env_file.read_text(), end="")
            return 0
        if args.command == "dashboard":
            return dashboard.run(sandbox, args)
        if args.command == "project":
            print(project_for(sandbox, args.stack, args.pulumi_args))
            return 0
        return serve(sandbox, args.port, args.or_any_port)
    except SandboxError as error:
        print(f"sandbox: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
