"""Publication: the marts as Parquet files and a static HTML report a person opens.

Writes ``output/publication/<mart>.parquet`` and ``output/report.html`` beside floe.yaml.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

import duckdb

from floe_orchestration_core.python_assets import AssetRunContext

MARTS = ("mart_daily_revenue", "mart_product_performance", "dim_customers", "fct_orders")


def _bar_chart(points: list[tuple[str, float]]) -> str:
    """An inline SVG bar chart (no JavaScript, no network)."""
    if not points:
        return "<p>No revenue yet.</p>"
    width, height, top = 900, 220, max(value for _, value in points) or 1.0
    bar = width / len(points)
    bars = "".join(
        f'<rect x="{i * bar:.1f}" y="{height - value / top * (height - 20):.1f}" '
        f'width="{max(bar - 2, 1):.1f}" height="{value / top * (height - 20):.1f}">'
        f"<title>{html.escape(day)}: {value:,.2f}</title></rect>"
        for i, (day, value) in enumerate(points)
    )
    return (
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="daily revenue">{bars}</svg>'
    )


def _table(columns: list[str], rows: list[tuple[Any, ...]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def publish(context: AssetRunContext) -> dict[str, Any]:
    """Export the marts to Parquet and render output/report.html."""
    warehouse = context.warehouse_path()  # the DuckDB file the dbt profile names
    parquet_dir, report = context.outputs  # floe.yaml: outputs
    parquet_dir.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        schema = connection.execute(
            "select table_schema from information_schema.tables where table_name = ? limit 1",
            [MARTS[0]],
        ).fetchone()
        if schema is None:
            raise LookupError(f"{MARTS[0]} is not in {warehouse}; run the dbt models first")
        for mart in MARTS:
            target = (parquet_dir / f"{mart}.parquet").as_posix().replace("'", "''")
            connection.execute(
                f"copy (select * from {schema[0]}.{mart}) to '{target}' (format parquet)"
            )
            count = connection.execute(f"select count(*) from {schema[0]}.{mart}").fetchone()
            rows[mart] = int(count[0]) if count else 0
        daily = connection.execute(
            f"select cast(order_date as varchar), revenue from {schema[0]}.mart_daily_revenue "
            "order by order_date"
        ).fetchall()
        top = connection.execute(
            f"select product_name, category, units_sold, revenue from "
            f"{schema[0]}.mart_product_performance order by revenue desc limit 10"
        ).fetchall()
    total = sum(float(v) for _, v in daily)
    report.write_text(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Retail analytics report</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2rem;max-width:960px}"
        "rect{fill:#4f6bed}table{border-collapse:collapse}td,th{padding:4px 10px;"
        "border-bottom:1px solid #ddd;text-align:left}</style></head><body>"
        "<h1>Retail analytics</h1>"
        f"<p>Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by floe run "
        f"{html.escape(context.run_id)}. Revenue over {len(daily)} days: "
        f"<strong>{total:,.2f}</strong>.</p>"
        f"<h2>Daily revenue</h2>{_bar_chart([(d, float(v)) for d, v in daily])}"
        "<h2>Top products</h2>"
        f"{_table(['product', 'category', 'units sold', 'revenue'], top)}"
        "<h2>Published files</h2><ul>"
        + "".join(f"<li>publication/{m}.parquet — {n:,} rows</li>" for m, n in rows.items())
        + "</ul></body></html>",
        encoding="utf-8",
    )
    context.log.info("published %d marts and %s", len(rows), report)
    return {
        "report": str(report),
        "revenue_total": round(total, 2),
        **{f"rows_{m}": n for m, n in rows.items()},
    }
