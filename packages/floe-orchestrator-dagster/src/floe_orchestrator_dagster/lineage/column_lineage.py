"""Column-level lineage of one model from its compiled SQL, with sqlglot.

:func:`column_lineage` parses a model's compiled SQL in the adapter's dialect, qualifies it
against the columns its parent relations really have (read from the warehouse: the manifest
knows only documented columns, too few to resolve ``select *`` or ``using (...)``), and says
for each output column which parent columns it is computed from, and for the whole output
which parent columns shape it:

==========================  ===============================================================
``DIRECT`` ``IDENTITY``     the value is the parent column as it is (``o.order_id``)
``DIRECT`` ``TRANSFORMATION``  computed from it row by row (``upper(c.name)``, a cast)
``DIRECT`` ``AGGREGATION``  computed from it across rows (``sum(i.quantity)``)
``INDIRECT`` ``JOIN``       used in a join condition (``on``/``using``)
``INDIRECT`` ``FILTER``     used in ``where``, ``having`` or an aggregate's ``filter``
``INDIRECT`` ``GROUP_BY``   grouped by (``group by all``: every non-aggregate projection)
``INDIRECT`` ``SORT``       ordered by
``INDIRECT`` ``WINDOW``     in a window's partition or order
``INDIRECT`` ``CONDITIONAL``  a condition of ``case``/``if`` in a projection
==========================  ===============================================================

A path through several steps (CTEs, subqueries) keeps its strongest step: identity, then
transformation, then aggregation. A column used only in a condition (``count(*) filter
(where status = 'x')``) is indirect, not a direct input. sqlglot's optimizer drops a cast
to the type a column already has, so such a cast reads as ``IDENTITY``. A ``count(*)``
column has no input column.

sqlglot is imported on first use (about 0.2 s), never on the plugin's import path; a model
sqlglot cannot parse or resolve raises, and the caller gives it no column lineage.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import attrs

if TYPE_CHECKING:
    from sqlglot.lineage import Node

#: A sqlglot expression (its stubs type some results as ``Expr``, some as ``Expression``).
Expression = Any

__all__ = ["ColumnLineage", "InputColumn", "RelationKey", "column_lineage", "warm_up"]

#: (database, schema, table), lower case.
RelationKey = tuple[str, str, str]

_RANK: Final = {"IDENTITY": 0, "TRANSFORMATION": 1, "AGGREGATION": 2}


@attrs.frozen
class InputColumn:
    """A parent column and how it reaches the output: ``(type, subtype)`` pairs."""

    relation: RelationKey
    column: str
    transformations: tuple[tuple[str, str], ...]


@attrs.frozen
class ColumnLineage:
    """Per output column its direct inputs (in output order), and the indirect inputs."""

    fields: Mapping[str, tuple[InputColumn, ...]]
    dataset: tuple[InputColumn, ...]


def warm_up() -> None:
    """Import sqlglot's lineage and optimizer (call it on a thread while dbt runs)."""
    import sqlglot.lineage
    import sqlglot.optimizer
    import sqlglot.optimizer.qualify
    import sqlglot.optimizer.scope  # noqa: F401


def _key(table: Expression) -> RelationKey:
    return (table.catalog.lower(), table.db.lower(), table.name.lower())


def _schema(schema: Mapping[RelationKey, Mapping[str, str]], dialect: str) -> Any:
    from sqlglot import MappingSchema, exp

    mapping = MappingSchema(dialect=dialect)
    for (database, schema_name, table), columns in schema.items():
        types: dict[str, str] = {}
        for column, data_type in columns.items():
            try:
                exp.DataType.build(data_type or "UNKNOWN", dialect=dialect)
                types[column] = data_type or "UNKNOWN"
            except Exception:  # a type sqlglot does not know: the column still counts
                types[column] = "UNKNOWN"
        relation = exp.table_(table, db=schema_name, catalog=database, quoted=True)
        mapping.add_table(relation, types, dialect=dialect)
    return mapping


def _step(expression: Expression) -> str:
    from sqlglot import exp

    inner = expression.this if isinstance(expression, exp.Alias) else expression
    if isinstance(inner, exp.Column):
        return "IDENTITY"
    if inner.find(exp.AggFunc):
        return "AGGREGATION"
    return "TRANSFORMATION"


def _unquoted(name: str) -> str:
    """A lineage node's name (``"o"."status"``) as ``o.status``."""
    return name.replace('"', "").replace("`", "").lower()


def _column_name(column: Expression) -> str:
    return ".".join(part for part in (column.table, column.name) if part).lower()


def _conditions_only(expression: Expression) -> set[str]:
    """Columns of ``expression`` used only in conditions (an aggregate's filter, ``if``)."""
    from sqlglot import exp

    conditions = [f.expression for f in expression.find_all(exp.Filter)]
    conditions += [branch.this for branch in expression.find_all(exp.If)]
    inside = {id(c) for condition in conditions for c in condition.find_all(exp.Column)}
    if not inside:
        return set()
    columns = list(expression.find_all(exp.Column))
    used = {_column_name(c) for c in columns if id(c) in inside}
    return used - {_column_name(c) for c in columns if id(c) not in inside}


def _direct(root: Node) -> tuple[InputColumn, ...]:
    from sqlglot import exp

    found: dict[tuple[RelationKey, str], str] = {}

    def walk(node: Node, worst: str) -> None:
        expression = node.expression
        if not node.downstream:
            table = expression if isinstance(expression, exp.Table) else None
            if table is None:
                return
            key = (_key(table), _unquoted(node.name).rsplit(".", maxsplit=1)[-1])
            if key not in found or _RANK[worst] > _RANK[found[key]]:
                found[key] = worst
            return
        kind = _step(expression)
        worst = kind if _RANK[kind] > _RANK[worst] else worst
        skip = _conditions_only(expression)
        for child in node.downstream:
            if _unquoted(child.name) in skip:
                continue  # used only as a condition: indirect, not a direct input
            walk(child, worst)

    walk(root, "IDENTITY")
    return tuple(
        InputColumn(relation, column, (("DIRECT", subtype),))
        for (relation, column), subtype in sorted(found.items())
    )


def _resolve(scope: Any, column: Expression, depth: int = 0) -> set[tuple[RelationKey, str]]:
    """The table columns ``column`` (in ``scope``) reads, through CTEs and subqueries."""
    from sqlglot import exp
    from sqlglot.optimizer.scope import Scope

    source = scope.sources.get(column.table)
    if isinstance(source, exp.Table):
        return {(_key(source), column.name.lower())}
    if not isinstance(source, Scope) or depth > 32:
        return set()
    found: set[tuple[RelationKey, str]] = set()
    query: Expression = source.expression
    for select in query.selects:
        if select.alias_or_name.lower() == column.name.lower():
            for inner in select.find_all(exp.Column):
                found |= _resolve(source, inner, depth + 1)
    return found


def _indirect(qualified: Expression) -> tuple[InputColumn, ...]:
    from sqlglot import exp
    from sqlglot.optimizer.scope import build_scope

    root = build_scope(qualified)
    found: dict[tuple[RelationKey, str], set[str]] = {}
    for scope in root.traverse() if root is not None else ():
        select = scope.expression
        if not isinstance(select, exp.Select):
            continue
        group = select.args.get("group")
        if group is not None and group.args.get("all"):  # GROUP BY ALL
            group = exp.Tuple(
                expressions=[s.copy() for s in select.selects if not s.find(exp.AggFunc)]
            )
        parts: list[tuple[str, Expression | None]] = [
            ("FILTER", select.args.get("where")),
            ("GROUP_BY", group),
            ("FILTER", select.args.get("having")),
            ("SORT", select.args.get("order")),
        ]
        parts += [("JOIN", join.args.get("on")) for join in select.args.get("joins") or []]
        parts += [("WINDOW", window) for window in select.find_all(exp.Window)]
        parts += [
            ("CONDITIONAL", branch)
            for projection in select.selects
            for branch in projection.find_all(exp.If, exp.Case)
        ]
        parts += [("FILTER", f.args.get("expression")) for f in select.find_all(exp.Filter)]
        for subtype, part in parts:
            if part is None:
                continue
            for column in part.find_all(exp.Column):
                for key in _resolve(scope, column):
                    found.setdefault(key, set()).add(subtype)
    return tuple(
        InputColumn(relation, column, tuple(("INDIRECT", s) for s in sorted(subtypes)))
        for (relation, column), subtypes in sorted(found.items())
    )


def column_lineage(
    sql: str, *, dialect: str, schema: Mapping[RelationKey, Mapping[str, str]]
) -> ColumnLineage:
    """The column lineage of the model whose compiled SQL is ``sql`` (see the module doc).

    ``schema`` gives each parent relation's columns and types, as the warehouse reports them.
    Raises whatever sqlglot raises for SQL it cannot parse or resolve.
    """
    from sqlglot import parse_one
    from sqlglot.lineage import lineage
    from sqlglot.optimizer import optimize
    from sqlglot.optimizer.qualify import qualify

    mapping = _schema(schema, dialect)
    optimized: Expression = optimize(
        parse_one(sql, dialect=dialect), schema=mapping, dialect=dialect
    )
    # Lineage on the optimized text (as dagster-dbt does: sqlglot >= 28 needs the re-parse).
    nodes = lineage(None, optimized.sql(dialect=dialect), mapping, dialect=dialect)
    roots: Mapping[str, Node] = nodes if isinstance(nodes, Mapping) else {nodes.name: nodes}
    fields = {name: _direct(roots[name]) for name in optimized.named_selects if name in roots}
    # Conditions on the unoptimized query: the optimizer moves WHERE into JOIN ... ON.
    qualified = qualify(parse_one(sql, dialect=dialect), schema=mapping, dialect=dialect)
    return ColumnLineage(fields=fields, dataset=_indirect(qualified))
