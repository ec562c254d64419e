"""backup-incident-io.sh: write every alert route and alert source to a directory, secrets redacted."""

from __future__ import annotations

import argparse
from pathlib import Path

from ops import snapshot
from ops.cli import EXIT_OK, Progress, connect, run


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backup-incident-io.sh",
        description=(
            "Back up every incident.io alert route (full detail, current versions) and alert source "
            "as JSON, one file per object plus index.json, sorted keys, ready to commit. Secrets such "
            "as alert source tokens are redacted. The previous backup in DIR is replaced only once "
            "the new one is complete."
        ),
        epilog=(
            "Environment: INCIDENT_IO_TOKEN (required; scope 'View data'), INCIDENT_IO_API_URL "
            "(default https://api.incident.io). Exit codes: 0 written, 1 API or write failure "
            "(previous backup untouched), 2 bad arguments or DIR not a backup directory."
        ),
    )
    parser.add_argument(
        "directory",
        nargs="?",
        type=Path,
        default=snapshot.DEFAULT_DIR,
        metavar="DIR",
        help="where to write the backup (default: backups/incident.io/ in the repository)",
    )
    return parser


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    progress = Progress()
    # Checked before fetching too, so a wrong DIR fails in a second rather than after the download.
    snapshot.check_replaceable(args.directory.absolute())
    taken = snapshot.take(connect(), progress)
    snapshot.write(taken, args.directory)
    print(f"backed up {len(taken.routes)} alert routes and {len(taken.sources)} alert sources to {args.directory}")
    return EXIT_OK


if __name__ == "__main__":
    run(main)
