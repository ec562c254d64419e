"""backup-incident-io.sh: write every alert route and alert source to a directory, secrets redacted."""

from __future__ import annotations

import argparse

from ops import snapshot
from ops.cli import EXIT_OK, Progress, command_parser, connect, run


def parser() -> argparse.ArgumentParser:
    parser = command_parser(
        "backup-incident-io.sh",
        "Back up every incident.io alert route (full detail, current versions) and alert source as JSON, "
        "one file per object plus index.json, sorted keys, ready to commit. Secrets such as alert source "
        "tokens are redacted. The previous backup in DIR is replaced only once the new one is complete.",
        scopes="the scope 'View data'",
        exit_codes="0 written, 1 API or write failure (previous backup untouched), 2 bad arguments or DIR "
        "not a backup directory",
    )
    snapshot.add_directory_argument(parser, "where to write the backup")
    return parser


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    progress = Progress()
    # Checked before fetching too, so a wrong DIR fails in a second rather than after the download.
    snapshot.check_writable(args.directory.absolute())
    taken = snapshot.take(connect(progress), progress)
    snapshot.write(taken, args.directory)
    print(f"backed up {len(taken.routes)} alert routes and {len(taken.sources)} alert sources to {args.directory}")
    return EXIT_OK


if __name__ == "__main__":
    run(main)
