"""``floe init [DIR]``: start a data product from an existing dbt project.

Writes ``floe.yaml`` (compute targets from the dbt profile's targets), ``manifest.yaml``
(floe's defaults written out) and ``.gitignore`` (``.floe/``) beside ``dbt_project.yml``
(:mod:`floe_registry.product_init`). Existing ``floe.yaml``/``manifest.yaml`` are an input
error (exit 2) unless ``--force``.
"""

from __future__ import annotations

import argparse
import shlex

from floe_registry.cli.command import EXIT_OK, Command, Invocation

__all__ = ["COMMANDS"]


def _configure_init(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "project_dir",
        metavar="DIR",
        nargs="?",
        default=".",
        help="the dbt project's folder, holding dbt_project.yml (default: .)",
    )
    parser.add_argument(
        "--profiles-dir",
        metavar="DIR",
        help="the folder of profiles.yml (default: $DBT_PROFILES_DIR, else DIR, else ~/.dbt)",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace an existing floe.yaml and manifest.yaml"
    )


def _run_init(invocation: Invocation) -> int:
    from floe_registry.product_init import init_product

    args = invocation.args
    result = init_product(args.project_dir, profiles_dir=args.profiles_dir, force=args.force)
    targets = ", ".join(
        f"{name} ({kind})" + (" default" if dbt == result.profiles.default else "")
        for (name, kind), dbt in zip(
            result.compute_targets.items(), result.profiles.types, strict=True
        )
    )
    folder = shlex.quote(args.project_dir)
    lines = [f"started product '{result.product}' in {result.project_dir}:"]
    lines += [f"  wrote {path.name}" for path in result.written]
    if result.gitignore_changed:
        lines.append(f"  added .floe/ to {result.gitignore.name}")
    lines += [
        f"  compute targets from profile '{result.profiles.profile}' ({result.profiles.path}): "
        f"{targets}",
        f"next: floe run {folder} --wait   (or floe up {folder} for the UI)",
    ]
    invocation.emit(
        "\n".join(lines),
        {
            "product": result.product,
            "project_dir": str(result.project_dir),
            "written": [str(path) for path in result.written],
            "gitignore": str(result.gitignore),
            "gitignore_changed": result.gitignore_changed,
            "profile": result.profiles.profile,
            "profiles_path": str(result.profiles.path),
            "compute_targets": dict(result.compute_targets),
            "default_compute_target": next(
                name
                for name, dbt in zip(result.compute_targets, result.profiles.types, strict=True)
                if dbt == result.profiles.default
            ),
        },
    )
    return EXIT_OK


COMMANDS = (
    Command(
        ("init",),
        "start a data product from an existing dbt project: floe.yaml (compute targets from "
        "the dbt profile), manifest.yaml, .gitignore",
        run=_run_init,
        configure=_configure_init,
    ),
)
