"""``python -m floe_ingestion_airbyte provision SOURCE...``: create the cached virtual
environments (PyAirbyte's and each connector's) ahead of time, e.g. once in CI, so that
runs need no network. Prints where they are and how long each took."""

from __future__ import annotations

import argparse
import logging
import sys
import time

from floe_ingestion_airbyte.connector import ConnectorSource
from floe_ingestion_airbyte.environment import AirbyteEnvironment, cache_root
from floe_orchestration_core.errors import IngestionError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m floe_ingestion_airbyte")
    commands = parser.add_subparsers(dest="command", required=True)
    provision = commands.add_parser("provision", help="create the cached virtual environments")
    provision.add_argument("sources", nargs="*", metavar="SOURCE", help="e.g. source-faker==7.2.1")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    environment = AirbyteEnvironment(root=cache_root())
    try:
        started = time.monotonic()
        python = environment.pyairbyte_python()
        print(f"PyAirbyte: {python} ({time.monotonic() - started:.1f} s)")
        for text in args.sources:
            source = ConnectorSource.parse(text)
            if source is None:
                parser.error(f"{text!r} is not an Airbyte source such as source-faker==7.2.1")
            started = time.monotonic()
            executable = environment.connector_executable(source)
            print(f"{source.requirement}: {executable} ({time.monotonic() - started:.1f} s)")
    except IngestionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
