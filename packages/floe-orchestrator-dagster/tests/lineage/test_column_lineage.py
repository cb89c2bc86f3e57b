"""Column lineage from compiled SQL: two models of the example against a hand-written answer,
the transformation types, and SQL sqlglot cannot resolve."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from floe_orchestrator_dagster.lineage.column_lineage import (
    ColumnLineage,
    RelationKey,
    column_lineage,
)

EXAMPLE = Path(__file__).resolve().parents[4] / "examples" / "retail-analytics" / "models"
STAGING = "main_staging"
MARTS = "main_marts"

#: The example's relations as the warehouse reports them (information_schema.columns).
SCHEMA: dict[RelationKey, dict[str, str]] = {
    ("warehouse", STAGING, "stg_customers"): {
        "customer_id": "INTEGER",
        "customer_name": "VARCHAR",
        "city": "VARCHAR",
        "signup_date": "DATE",
    },
    ("warehouse", STAGING, "stg_order_items"): {
        "order_id": "BIGINT",
        "line_number": "INTEGER",
        "product_id": "INTEGER",
        "quantity": "INTEGER",
    },
    ("warehouse", STAGING, "stg_orders"): {
        "order_id": "BIGINT",
        "customer_id": "INTEGER",
        "order_date": "DATE",
        "status": "VARCHAR",
    },
    ("warehouse", STAGING, "stg_products"): {
        "product_id": "INTEGER",
        "product_name": "VARCHAR",
        "category": "VARCHAR",
        "unit_price": "DECIMAL(10,2)",
    },
    ("warehouse", MARTS, "fct_orders"): {
        "order_id": "BIGINT",
        "customer_id": "INTEGER",
        "order_date": "DATE",
        "status": "VARCHAR",
        "units": "HUGEINT",
        "order_total": "DECIMAL(38,2)",
    },
}


def _compiled(model: str) -> str:
    """The example's model as dbt compiles it: each ref() its relation in the warehouse."""
    folder = "marts" if (EXAMPLE / "marts" / f"{model}.sql").is_file() else "staging"
    text = (EXAMPLE / folder / f"{model}.sql").read_text()

    def relation(match: re.Match[str]) -> str:
        name = match.group(1)
        schema = MARTS if (EXAMPLE / "marts" / f"{name}.sql").is_file() else STAGING
        return f'"warehouse"."{schema}"."{name}"'

    return re.sub(r"\{\{\s*ref\('([a-z_]+)'\)\s*\}\}", relation, text)


def _readable(lineage: ColumnLineage) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    fields = {
        column: {f"{i.relation[2]}.{i.column} {t[1]}" for i in inputs for t in i.transformations}
        for column, inputs in lineage.fields.items()
    }
    dataset: dict[str, set[str]] = {}
    for i in lineage.dataset:
        dataset[f"{i.relation[2]}.{i.column}"] = {t[1] for t in i.transformations}
    return fields, dataset


def test_fct_orders_maps_each_column_to_its_parents_with_the_transformation_kind() -> None:
    fields, dataset = _readable(
        column_lineage(_compiled("fct_orders"), dialect="duckdb", schema=SCHEMA)
    )
    assert fields == {
        "order_id": {"stg_orders.order_id IDENTITY"},
        "customer_id": {"stg_orders.customer_id IDENTITY"},
        "order_date": {"stg_orders.order_date IDENTITY"},
        "status": {"stg_orders.status IDENTITY"},
        # coalesce(sum(quantity)) in a CTE: aggregated on the way
        "units": {"stg_order_items.quantity AGGREGATION"},
        "order_total": {
            "stg_order_items.quantity AGGREGATION",
            "stg_products.unit_price AGGREGATION",
        },
    }
    assert dataset == {  # what shapes the rows: the joins and the grouping
        "stg_order_items.order_id": {"GROUP_BY", "JOIN"},
        "stg_order_items.product_id": {"JOIN"},
        "stg_orders.order_id": {"JOIN"},
        "stg_products.product_id": {"JOIN"},
    }


def test_dim_customers_keeps_a_filter_only_column_out_of_the_direct_inputs() -> None:
    lineage = column_lineage(_compiled("dim_customers"), dialect="duckdb", schema=SCHEMA)
    fields, dataset = _readable(lineage)
    assert list(lineage.fields) == [  # in the model's column order
        "customer_id",
        "customer_name",
        "city",
        "signup_date",
        "orders",
        "lifetime_value",
        "first_order_date",
        "last_order_date",
    ]
    assert fields == {
        "customer_id": {"stg_customers.customer_id IDENTITY"},
        "customer_name": {"stg_customers.customer_name IDENTITY"},
        "city": {"stg_customers.city IDENTITY"},
        "signup_date": {"stg_customers.signup_date IDENTITY"},
        "orders": {"fct_orders.order_id AGGREGATION"},
        # sum(order_total) filter (where status = 'completed'): status only filters
        "lifetime_value": {"fct_orders.order_total AGGREGATION"},
        "first_order_date": {"fct_orders.order_date AGGREGATION"},
        "last_order_date": {"fct_orders.order_date AGGREGATION"},
    }
    assert dataset == {
        "fct_orders.customer_id": {"JOIN"},
        "fct_orders.status": {"FILTER"},
        # group by all: every non-aggregate projection
        "stg_customers.customer_id": {"GROUP_BY", "JOIN"},
        "stg_customers.customer_name": {"GROUP_BY"},
        "stg_customers.city": {"GROUP_BY"},
        "stg_customers.signup_date": {"GROUP_BY"},
    }


def test_transformations_windows_sorts_and_conditions_are_classified() -> None:
    schema: dict[RelationKey, dict[str, str]] = {("db", "s", "t"): {"a": "INT", "b": "VARCHAR"}}
    sql = (
        "select upper(b) as shout, case when a > 1 then a end as big, "
        "row_number() over (partition by b order by a) as n, count(*) as rows "
        'from "db"."s"."t" where a is not null order by b'
    )
    fields, dataset = _readable(column_lineage(sql, dialect="duckdb", schema=schema))
    assert fields["shout"] == {"t.b TRANSFORMATION"}
    assert fields["rows"] == set()  # count(*): no input column
    assert dataset["t.a"] >= {"FILTER", "WINDOW", "CONDITIONAL"}
    assert dataset["t.b"] >= {"SORT", "WINDOW"}


def test_sql_that_cannot_be_resolved_raises_for_the_caller_to_skip() -> None:
    with pytest.raises(Exception):  # noqa: B017, PT011 (whatever sqlglot raises)
        column_lineage("select from where", dialect="duckdb", schema={})
    with pytest.raises(Exception):  # noqa: B017, PT011
        column_lineage(
            'select missing from "db"."s"."t"',
            dialect="duckdb",
            schema={("db", "s", "t"): {"a": "INT"}},
        )


def test_an_unknown_column_type_does_not_stop_the_lineage() -> None:
    schema: dict[RelationKey, dict[str, str]] = {("db", "s", "t"): {"a": "NOT A TYPE(("}}
    lineage = column_lineage('select a from "db"."s"."t"', dialect="duckdb", schema=schema)
    assert _readable(lineage)[0] == {"a": {"t.a IDENTITY"}}
