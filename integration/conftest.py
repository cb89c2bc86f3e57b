"""Fixtures of the integration tests: the dbt product of ``dagster_product`` parsed by real dbt.

Parsing once per session is the slow part (about 8 s); each test that writes to the warehouse
works on its own copy of the parsed project (:func:`fresh_product`).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

# pytest runs with --import-mode=importlib, which puts no test folder on sys.path: the tests
# import their helpers as `harness` from here (the benchmarks do the same).
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    ProductCopy,
    copy_product,
    run_dbt,
    write_landing_payments,
)


@pytest.fixture(scope="session")
def parsed_product(tmp_path_factory: pytest.TempPathFactory) -> ProductCopy:
    """``dagster_product`` copied to a temporary directory, its source table loaded, and
    ``dbt parse`` run there: ``target/manifest.json`` is what real dbt wrote."""
    product = copy_product(tmp_path_factory.mktemp("parsed"))
    write_landing_payments(product.duckdb_path)
    # The target the default compute target runs on: dbt's partial-parse state records the
    # --target given, so the runs' first dbt invocation re-uses this parse.
    run_dbt(product, "parse", "--target", "dev")
    return product


@pytest.fixture(scope="session")
def fresh_product(
    parsed_product: ProductCopy, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[], ProductCopy]:
    """Make a copy of the parsed project (manifest included) with a new warehouse file that
    holds only the loaded source table."""

    def make() -> ProductCopy:
        root = tmp_path_factory.mktemp("product")
        project_dir = root / "dagster_product"
        shutil.copytree(parsed_product.project_dir, project_dir)
        product = ProductCopy(project_dir=project_dir, duckdb_path=root / "warehouse.duckdb")
        write_landing_payments(product.duckdb_path)
        return product

    return make
