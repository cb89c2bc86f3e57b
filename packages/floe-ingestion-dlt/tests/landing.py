"""Landing folders of small files, and entries reading them (imported by the tests as `landing`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from floe_orchestration_core.artifacts import IngestionConfig

ORDERS_HEADER = "order_id,customer_id,amount\n"


def write_orders(folder: Path, name: str, first_id: int, count: int) -> Path:
    """``orders_<name>.csv`` with ``count`` rows, ids from ``first_id``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"orders_{name}.csv"
    rows = "".join(f"{first_id + i},{(first_id + i) % 7},{(i + 1) * 1.5}\n" for i in range(count))
    path.write_text(ORDERS_HEADER + rows, encoding="utf-8")
    return path


def write_customers(folder: Path, count: int = 4) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "customers.jsonl"
    lines = [
        f'{{"customer_id": {i}, "name": "Customer {i}", "tags": ["a", "b"]}}\n'
        for i in range(count)
    ]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def landing_entry(bucket: str | Path, **overrides: Any) -> IngestionConfig:
    """An entry loading ``orders_*.csv`` and ``customers.jsonl`` from ``bucket`` into raw."""
    fields: dict[str, Any] = {
        "name": "landing",
        "connector": "dlt",
        "source": "filesystem",
        "config": {"bucket_url": str(bucket)},
        "streams": [
            {
                "name": "orders",
                "options": {"file_glob": "orders_*.csv", "columns": {"order_id": "bigint"}},
            },
            {"name": "customers", "options": {"file_glob": "customers.jsonl"}},
        ],
        "destination": {"compute": "duckdb", "schema": "raw"},
    }
    fields.update(overrides)
    return IngestionConfig.model_validate(fields)
