"""Commands on a data product's artifacts: ``compile``, ``validate``, ``graph export``,
``impact``.

``validate`` is a check: problems in the artifacts' schema, graph, names or definitions exit 1.
The others treat invalid input as an input error (exit 2).

In a product folder (or beside a dbt project) the commands find the product's files:
``compile`` reads the ``floe.yaml`` of the manifest's dbt project folder (the manifest's
folder, or its parent when the manifest is in ``target/``), else the one in the current
folder, and says which (``--no-product`` compiles without one); ``validate`` reads
``compiled_artifacts.json`` in the current folder, else ``.floe/compiled_artifacts.json``
(what ``floe up`` and ``floe run`` write), and says which.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from floe_registry.cli.command import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    Command,
    Invocation,
    add_manifest_option,
)
from floe_registry.cli.tables import render_table

if TYPE_CHECKING:
    from floe_orchestration_core.artifacts import CompiledArtifacts

__all__ = ["COMMANDS"]


ARTIFACTS_FILE = "compiled_artifacts.json"
#: Where ``floe up``/``floe run`` write a product's artifacts (``<product>/.floe/``).
PRODUCT_ARTIFACTS = Path(".floe") / ARTIFACTS_FILE
PRODUCT_FILE = "floe.yaml"


def _add_artifacts_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--artifacts",
        metavar="PATH",
        default=ARTIFACTS_FILE,
        help=f"compiled artifacts JSON (default: {ARTIFACTS_FILE})",
    )


def _default_artifacts() -> str:
    """``compiled_artifacts.json`` here, else the product's ``.floe/compiled_artifacts.json``."""
    from floe_orchestration_core.errors import ArtifactsError

    for candidate in (Path(ARTIFACTS_FILE), PRODUCT_ARTIFACTS):
        if candidate.exists():
            return str(candidate)
    raise ArtifactsError(
        f"no artifacts here: neither {ARTIFACTS_FILE} nor {PRODUCT_ARTIFACTS} exists in "
        f"{Path.cwd()}; write them with 'floe compile --dbt-manifest target/manifest.json' "
        "(or 'floe run' in the product folder), or give --artifacts PATH"
    )


def _product_file(manifest: str) -> tuple[Path | None, str]:
    """The floe.yaml ``floe compile`` reads without ``--product``, and why (for the summary)."""
    path = Path(manifest)
    project = path.parent.parent if path.parent.name == "target" else path.parent
    candidates = {project / PRODUCT_FILE: "the dbt project's"}
    candidates.setdefault(Path(PRODUCT_FILE), "this folder's")
    for candidate, whose in candidates.items():
        if candidate.is_file():
            return candidate, f"{candidate} ({whose}; --no-product compiles without it)"
    looked = " and ".join(str(c) for c in candidates)
    return None, f"none ({looked} absent): defaults, no schedules, sensors or compute overrides"


def _write_output(invocation: Invocation, text: str, output: str | None) -> None:
    if output is None or output == "-":
        invocation.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    path = Path(output)
    if path.parent != Path() and not path.parent.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


# compile -------------------------------------------------------------------------------
def _configure_compile(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dbt-manifest", required=True, metavar="PATH", help="dbt's target/manifest.json"
    )
    product = parser.add_mutually_exclusive_group()
    product.add_argument(
        "--product",
        metavar="PATH",
        help="floe.yaml (default: the one in the manifest's dbt project folder, else ./floe.yaml)",
    )
    product.add_argument(
        "--no-product",
        action="store_true",
        help="compile without floe.yaml even when there is one",
    )
    parser.add_argument("--project-dir", metavar="DIR", help="the dbt project directory")
    parser.add_argument("--profiles-dir", metavar="DIR", help="the dbt profiles directory")
    parser.add_argument("--target", help="the dbt target (default: the profile's default)")
    parser.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        default="compiled_artifacts.json",
        help=(
            "where to write the artifacts; '-' for stdout (default: compiled_artifacts.json); "
            "a slim dbt manifest for code servers is written beside them "
            "(<name>.dbt_manifest.json)"
        ),
    )


def _summary(artifacts: CompiledArtifacts) -> dict[str, Any]:
    per_target = Counter(t.compute for t in artifacts.transforms)
    return {
        "product": artifacts.metadata.product_name,
        "version": artifacts.metadata.product_version,
        "schema_version": artifacts.schema_version,
        "transforms": len(artifacts.transforms),
        "quality_checks": sum(len(t.quality_checks) for t in artifacts.transforms)
        + sum(len(s.quality_checks) for s in artifacts.sources),
        "sources": len(artifacts.sources),
        "schedules": len(artifacts.schedules),
        "sensors": len(artifacts.sensors),
        "compute_targets": {
            target.name: per_target[target.name] for target in artifacts.compute_targets
        },
    }


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _describe(summary: dict[str, Any]) -> str:
    """One line such as '13 transforms (duckdb: 11, duckdb_heavy: 2), 27 quality checks, ...'."""
    targets = ", ".join(f"{name}: {count}" for name, count in summary["compute_targets"].items())
    return (
        f"{_plural(summary['transforms'], 'transform')} ({targets}), "
        f"{_plural(summary['quality_checks'], 'quality check')}, "
        f"{_plural(summary['sources'], 'source')}, {_plural(summary['schedules'], 'schedule')}, "
        f"{_plural(summary['sensors'], 'sensor')}"
    )


def _run_compile(invocation: Invocation) -> int:
    from floe_orchestration_core.compile import compile_artifacts

    args = invocation.args
    if args.product is not None:
        product: str | Path | None = args.product
        product_note = str(args.product)
    elif args.no_product:
        product, product_note = None, "none (--no-product)"
    else:
        product, product_note = _product_file(args.dbt_manifest)
    artifacts = compile_artifacts(
        args.dbt_manifest,
        product=product,
        project_dir=args.project_dir,
        profiles_dir=args.profiles_dir,
        target=args.target,
    )
    if args.output is not None and args.output != "-":
        # Code servers read this instead of the full manifest while that one is unchanged.
        from floe_orchestration_core.compile.slim_manifest import (
            slim_manifest_path_for,
            write_slim_manifest,
        )

        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        artifacts = write_slim_manifest(
            artifacts, slim_manifest_path_for(args.output), manifest=args.dbt_manifest
        )
    _write_output(invocation, artifacts.to_json(), args.output)
    if args.output == "-":
        return EXIT_OK
    summary = {
        "output": args.output,
        "product_file": None if product is None else str(product),
        **_summary(artifacts),
    }
    invocation.emit(
        f"compiled '{summary['product']}' {summary['version']}: {_describe(summary)} "
        f"-> {args.output}\nfloe.yaml: {product_note}",
        summary,
    )
    return EXIT_OK


# validate ------------------------------------------------------------------------------
def _configure_validate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--artifacts",
        metavar="PATH",
        help=f"compiled artifacts JSON (default: ./{ARTIFACTS_FILE}, else the product's "
        f"{PRODUCT_ARTIFACTS})",
    )
    parser.add_argument(
        "--skip-definitions",
        action="store_true",
        help="check the schema and the graph only: no orchestrator plugin is loaded",
    )
    add_manifest_option(parser)


def _name_paths(artifacts: CompiledArtifacts) -> dict[str, str]:
    """The JSON path of each name by the unique_id of what it names."""
    paths: dict[str, str] = {}
    for index, transform in enumerate(artifacts.transforms):
        paths[transform.unique_id] = f"transforms[{index}].name"
        for number, check in enumerate(transform.quality_checks):
            paths[check.unique_id] = f"transforms[{index}].quality_checks[{number}].name"
    for index, source in enumerate(artifacts.sources):
        paths[source.unique_id] = f"sources[{index}].key"
        for number, check in enumerate(source.quality_checks):
            paths[check.unique_id] = f"sources[{index}].quality_checks[{number}].name"
    return paths


def _load_problems(
    invocation: Invocation, artifacts: CompiledArtifacts
) -> tuple[str, list[dict[str, str | None]]]:
    """("names"|"definitions", problems) from loading the definitions through the plugin."""
    from floe_orchestration_core.errors import FloeError, InvalidNameError

    plugin = invocation.platform().orchestrator
    try:
        plugin.check_names(artifacts)
    except InvalidNameError as exc:
        paths = _name_paths(artifacts)
        return "names", [
            {"path": paths.get(uid), "message": message}
            for uid, message in zip(exc.unique_ids, exc.problems, strict=True)
        ]
    try:
        plugin.load_definitions(artifacts)
    except FloeError as exc:
        message = f"the definitions of orchestrator '{plugin.name}' do not load: {exc}"
        return "definitions", [{"path": None, "message": message}]
    return "", []


def _run_validate(invocation: Invocation) -> int:
    from floe_orchestration_core.artifacts import load_artifacts
    from floe_orchestration_core.errors import ArtifactsError, ValidationError
    from floe_orchestration_core.graph import TransformGraph

    args = invocation.args
    path = args.artifacts or _default_artifacts()
    problems: list[dict[str, str | None]] = []
    kind = ""
    try:
        artifacts = load_artifacts(path)
    except ArtifactsError as exc:
        if not exc.problems:
            raise  # unreadable, not JSON, not an object: an input error (exit 2)
        problems = [{"path": p, "message": m} for p, m in exc.problems]
        kind = "schema"
    else:
        try:
            TransformGraph.from_artifacts(artifacts)
        except ValidationError as exc:
            problems = [{"path": None, "message": message} for message in exc.problems]
            kind = "graph"
        if not problems and not args.skip_definitions:
            kind, problems = _load_problems(invocation, artifacts)
    if not problems:
        summary = {"valid": True, "artifacts": str(path), **_summary(artifacts)}
        loaded = ""
        if not args.skip_definitions:
            summary["orchestrator"] = invocation.platform().orchestrator.name
            loaded = f"; the definitions load in '{summary['orchestrator']}'"
        invocation.emit(f"valid: {path} ({_describe(summary)}){loaded}", summary)
        return EXIT_OK
    noun = {"names": "name"}.get(kind, kind)
    lines = [f"INVALID: {path}: {len(problems)} {noun} problem(s)"]
    lines += [
        f"  {problem['path']}: {problem['message']}"
        if problem["path"]
        else f"  {problem['message']}"
        for problem in problems
    ]
    invocation.emit(
        "\n".join(lines),
        {"valid": False, "artifacts": str(path), "kind": kind, "problems": problems},
    )
    return EXIT_CHECK_FAILED


# graph export / impact -------------------------------------------------------------------
def _configure_graph_export(parser: argparse.ArgumentParser) -> None:
    _add_artifacts_option(parser)
    parser.add_argument(
        "--format",
        choices=["json", "mermaid", "dot"],
        default="json",
        help="output format (default: json)",
    )
    parser.add_argument("-o", "--output", metavar="PATH", help="write to PATH instead of stdout")


def _graph(path: str) -> Any:
    """The product's whole graph: transforms, dbt sources and Python assets, by kind."""
    from floe_orchestration_core.artifacts import load_artifacts
    from floe_orchestration_core.graph import AssetGraph

    return AssetGraph.from_artifacts(load_artifacts(path))


def _run_graph_export(invocation: Invocation) -> int:
    args = invocation.args
    graph = _graph(args.artifacts)
    if args.format == "json":
        text = json.dumps(graph.to_json(), indent=2)
    elif args.format == "mermaid":
        text = graph.to_mermaid()
    else:
        text = graph.to_dot()
    _write_output(invocation, text, args.output)
    return EXIT_OK


def _configure_impact(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model",
        metavar="MODEL",
        help="the transform, source (source_name.table) or Python asset whose downstream to list",
    )
    _add_artifacts_option(parser)


def _run_impact(invocation: Invocation) -> int:
    args = invocation.args
    graph = _graph(args.artifacts)
    impacted: dict[str, int] = graph.impact(args.model)
    nodes = [
        {
            "name": name,
            "type": graph.kinds[name].type,
            "kind": graph.kinds[name].kind,
            "distance": d,
        }
        for name, d in impacted.items()
    ]
    if impacted:
        rows = [[str(n["distance"]), n["name"], n["kind"]] for n in nodes]
        human = f"{len(impacted)} asset(s) downstream of '{args.model}':\n" + render_table(
            ["DISTANCE", "NAME", "KIND"], rows
        )
    else:
        human = f"nothing is downstream of '{args.model}'"
    invocation.emit(human, {"model": args.model, "impacted": impacted, "nodes": nodes})
    return EXIT_OK


COMMANDS = (
    Command(
        ("compile",),
        "compile a dbt manifest.json (and optional floe.yaml) into CompiledArtifacts",
        run=_run_compile,
        configure=_configure_compile,
    ),
    Command(
        ("validate",),
        "check artifacts: schema, graph, names, and that the orchestrator loads their "
        "definitions (exit 1 if invalid)",
        run=_run_validate,
        configure=_configure_validate,
    ),
    Command(
        ("graph", "export"),
        "export the product's graph (transforms, sources, Python assets) as JSON, Mermaid or "
        "Graphviz DOT",
        run=_run_graph_export,
        configure=_configure_graph_export,
    ),
    Command(
        ("impact",),
        "list what is downstream of MODEL (transforms, Python assets), by distance",
        run=_run_impact,
        configure=_configure_impact,
    ),
)
