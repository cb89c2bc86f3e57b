"""Regenerate the example's landing CSV files (deterministic: a fixed seed).

    python examples/retail-analytics/scripts/generate_landing.py [--month 2026-11]

Without ``--month`` it writes customers, products and the orders of September and October
2026. With ``--month`` it writes only ``orders_<month>.csv`` and ``order_items_<month>.csv``:
dropping those into ``data/landing`` is what the file-arrival sensor reacts to.
"""

from __future__ import annotations

import argparse
import csv
import random
from datetime import date, timedelta
from pathlib import Path

LANDING = Path(__file__).resolve().parent.parent / "data" / "landing"
CATEGORIES = ["coffee", "tea", "bakery", "kitchen", "gifts"]
CITIES = ["Boston", "Chicago", "Denver", "Austin", "Seattle", "Atlanta", "Portland", "Miami"]
STATUSES = ["completed"] * 17 + ["returned", "cancelled", "pending"]


def _write(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def reference(rng: random.Random) -> None:
    customers = [
        [
            i,
            f"Customer {i:03d}",
            rng.choice(CITIES),
            (date(2025, 1, 1) + timedelta(days=rng.randrange(600))).isoformat(),
        ]
        for i in range(1, 151)
    ]
    _write(LANDING / "customers.csv", ["customer_id", "name", "city", "signup_date"], customers)
    products = [
        [i, f"Product {i:02d}", CATEGORIES[i % len(CATEGORIES)], round(rng.uniform(2.5, 60.0), 2)]
        for i in range(1, 41)
    ]
    _write(LANDING / "products.csv", ["product_id", "name", "category", "unit_price"], products)


def month(rng: random.Random, year: int, month_number: int, first_order_id: int) -> int:
    start = date(year, month_number, 1)
    days = ((start.replace(day=28) + timedelta(days=4)).replace(day=1) - start).days
    orders: list[list[object]] = []
    items: list[list[object]] = []
    order_id = first_order_id
    for day in range(days):
        for _ in range(rng.randint(8, 16)):
            order_id += 1
            ordered = start + timedelta(days=day)
            orders.append(
                [order_id, rng.randint(1, 150), ordered.isoformat(), rng.choice(STATUSES)]
            )
            for line in range(1, rng.randint(1, 4) + 1):
                items.append([order_id, line, rng.randint(1, 40), rng.randint(1, 5)])
    tag = f"{year:04d}-{month_number:02d}"
    _write(
        LANDING / f"orders_{tag}.csv", ["order_id", "customer_id", "order_date", "status"], orders
    )
    _write(
        LANDING / f"order_items_{tag}.csv",
        ["order_id", "line_number", "product_id", "quantity"],
        items,
    )
    return order_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--month", help="YYYY-MM: write only this month's order files")
    args = parser.parse_args()
    LANDING.mkdir(parents=True, exist_ok=True)
    if args.month:
        year, number = (int(part) for part in args.month.split("-"))
        month(random.Random(year * 100 + number), year, number, (year * 100 + number) * 10_000)
        return
    rng = random.Random(7)
    reference(rng)
    for number in (9, 10):
        month(random.Random(2026 * 100 + number), 2026, number, (2026 * 100 + number) * 10_000)


if __name__ == "__main__":
    main()
