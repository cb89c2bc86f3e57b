"""dbt profiles read and rendered the way dbt reads them: env_var, target selection, errors.

(The adapter's tests check the same renderings against dbt's own renderer.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from floe_orchestration_core.dbt_profiles import (
    PUBLIC_KEYS,
    Warehouse,
    find_profile,
    load_profile,
    profiles_file,
    render_value,
)
from floe_orchestration_core.errors import (
    DbtProfileError,
    ProfileVariableMissingError,
    WarehouseError,
)

PROFILE = """\
shop:
  target: "{{ env_var('SHOP_TARGET', 'dev') }}"
  outputs:
    dev:
      type: postgres
      host: "{{ env_var('SHOP_PG_HOST', '127.0.0.1') }}"
      port: "{{ env_var('SHOP_PG_PORT', '5432') | as_number }}"
      user: postgres
      password: "{{ env_var('SHOP_PG_PASSWORD') }}"
      dbname: "{{ env_var('SHOP_PG_DATABASE', 'test') }}"
      schema: analytics
      threads: "{{ env_var('SHOP_THREADS', '4') | as_number }}"
    local:
      type: duckdb
      path: .floe/shop.duckdb
"""


def _project(tmp_path: Path, profile: str = PROFILE, name: str = "shop") -> Path:
    (tmp_path / "dbt_project.yml").write_text(f"name: {name}\nprofile: {name}\n")
    (tmp_path / "profiles.yml").write_text(profile)
    return tmp_path


def _render(value: Any, **environment: str) -> Any:
    return render_value(value, environment=environment, where="field 'x'", file="profiles.yml")


@pytest.mark.parametrize(
    ("value", "environment", "expected"),
    [
        ("plain", {}, "plain"),
        (5432, {}, 5432),
        ("{{ env_var('H') }}", {"H": "db.local"}, "db.local"),
        ("{{ env_var('H', 'fallback') }}", {}, "fallback"),
        ("{{ env_var('H', 'fallback') }}", {"H": "set"}, "set"),
        ("{{ env_var('P') }}", {"P": "5433"}, "5433"),  # text, as dbt leaves it
        ("{{ env_var('P') | as_number }}", {"P": "5433"}, 5433),
        ("{{ env_var('P', 4) }}", {}, 4),  # a default keeps its type
        ("{{ env_var('P', '4') | int }}", {}, 4),
        ("{{ env_var('B') | as_bool }}", {"B": "True"}, True),
        ("{{ env_var('P') | as_text }}", {"P": "7"}, "7"),
        ("{{ env_var('P') | as_native }}", {"P": "[1, 2]"}, [1, 2]),
        ("db_{{ env_var('S', 'dev') }}", {}, "db_dev"),
        ("{{ env_var('A', 'a') ~ '_' ~ env_var('B', 'b') | upper }}", {}, "a_B"),
        ("{{ var('schema', 'analytics') }}", {}, "analytics"),
        ("{{- env_var('H', 'x') -}}  ", {}, "x"),
        ("{# note #}{{ env_var('H', 'x') }}", {}, "x"),
        ("{{ 5 }}", {}, "5"),  # a constant is folded into text, as Jinja does
        ("{{ '5' | as_number }}", {}, 5),
    ],
)
def test_values_render_as_dbt_renders_them(
    value: Any, environment: dict[str, str], expected: Any
) -> None:
    rendered = _render(value, **environment)
    assert rendered == expected
    assert type(rendered) is type(expected)


def test_a_missing_variable_without_default_names_the_variable_and_the_file() -> None:
    with pytest.raises(ProfileVariableMissingError) as info:
        render_value(
            "{{ env_var('PG_SECRET') }}",
            environment={},
            where="profile 'shop', target 'dev', field 'password'",
            file="/home/me/.dbt/profiles.yml",
        )
    assert info.value.variable == "PG_SECRET"
    assert info.value.profiles_file == "/home/me/.dbt/profiles.yml"
    message = str(info.value)
    assert "/home/me/.dbt/profiles.yml" in message
    assert "'PG_SECRET' is not set" in message
    assert "field 'password'" in message
    assert "env_var('PG_SECRET', '...')" in message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("{% if true %}x{% endif %}", "Jinja statement"),
        ("{{ env_var('B', 'true') | as_bool }}", "type 'bool'"),
        ("{{ env_var('B', 'abc') | as_number }}", "type 'number'"),
        ("{{ target.name }}", "cannot read"),
        ("{{ target }}", "'target' in"),
        ("{{ lookup('x') }}", r"lookup\(\) is not something floe renders"),
        ("{{ env_var('B', 'x') | shout }}", "filter 'shout'"),
        ("{{ env_var('B' }}", "incomplete"),
        ("{{ env_var('B', 'x') env_var('C') }}", "unexpected"),
        ("{{ var('x') }}", "has no default"),
        ("{{ env_var() }}", "takes a variable name"),
        ("{{ env_var('a' ; ) }}", "cannot read"),
    ],
)
def test_what_floe_cannot_render_is_a_typed_error(value: str, expected: str) -> None:
    with pytest.raises(DbtProfileError, match=expected):
        _render(value)


def test_the_profile_and_its_default_target_are_read_and_rendered(tmp_path: Path) -> None:
    profile = load_profile(_project(tmp_path), environment={"SHOP_PG_PASSWORD": "pw"})
    assert profile.name == "shop"
    assert profile.file == tmp_path / "profiles.yml"
    assert profile.target_names == ("dev", "local")
    assert profile.default_target == "dev"
    target = profile.target()
    assert (target.name, target.type, target.threads) == ("dev", "postgres", 4)
    assert target.public_properties() == {
        "host": "127.0.0.1",
        "port": 5432,
        "database": "test",
        "schema": "analytics",
    }
    assert target.connection_values()["password"] == "pw"
    assert target.connection_values()["database"] == "test"  # dbname is database's alias
    assert "pw" not in repr(profile) + repr(target)


def test_target_selection_follows_dbt(tmp_path: Path) -> None:
    project = _project(tmp_path)
    assert load_profile(project, environment={}).target("local").type == "duckdb"
    assert load_profile(project, environment={"DBT_TARGET": "local"}).default_target == "local"
    assert load_profile(project, environment={"SHOP_TARGET": "local"}).default_target == "local"
    no_default = PROFILE.replace("  target: \"{{ env_var('SHOP_TARGET', 'dev') }}\"\n", "")
    profile = load_profile(_project(tmp_path, no_default), environment={})
    assert profile.default_target == "default"
    with pytest.raises(DbtProfileError, match="no target 'default'; defined: dev, local"):
        profile.target()


def test_reading_the_host_never_renders_the_unset_password(tmp_path: Path) -> None:
    target = load_profile(_project(tmp_path), environment={}).target()
    assert target.public_properties()["host"] == "127.0.0.1"
    with pytest.raises(ProfileVariableMissingError, match="SHOP_PG_PASSWORD"):
        target.connection_values()


def test_the_profiles_file_is_found_where_dbt_looks(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    home = {"HOME": str(tmp_path / "home")}
    assert profiles_file(project, None, home) == tmp_path / "home" / ".dbt" / "profiles.yml"
    (project / "profiles.yml").write_text(PROFILE)
    assert profiles_file(project, None, home) == project / "profiles.yml"
    env = {**home, "DBT_PROFILES_DIR": str(tmp_path / "env")}
    assert profiles_file(project, None, env) == tmp_path / "env" / "profiles.yml"
    assert profiles_file(project, tmp_path / "given", env) == tmp_path / "given" / "profiles.yml"


def test_dbt_profile_overrides_the_project_s_profile_name(tmp_path: Path) -> None:
    project = _project(tmp_path, PROFILE + "other:\n  outputs:\n    x: {type: duckdb}\n")
    assert load_profile(project, environment={"DBT_PROFILE": "other"}).name == "other"


def test_nothing_to_read_is_none_and_load_says_what_is_missing(tmp_path: Path) -> None:
    assert find_profile(tmp_path, environment={"HOME": str(tmp_path)}) is None
    with pytest.raises(DbtProfileError, match="no dbt project with a 'profile:'"):
        load_profile(tmp_path, environment={"HOME": str(tmp_path)})
    (tmp_path / "dbt_project.yml").write_text("name: shop\nprofile: shop\n")
    assert find_profile(tmp_path, environment={"HOME": str(tmp_path)}) is None
    with pytest.raises(DbtProfileError, match=r"\.dbt/profiles\.yml: no such file"):
        load_profile(tmp_path, environment={"HOME": str(tmp_path)})


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("other:\n  outputs: {x: {type: duckdb}}\n", "no profile 'shop'.*defined: other"),
        ("", "the file is empty"),
        ("shop: [1\n", "line"),
        ("shop:\n  target: dev\n", "has no 'outputs:'"),
        ("shop:\n  target: dev\n  outputs: {dev: {path: x}}\n", "every target needs 'type:'"),
        ("shop:\n  target: dev\n  outputs: {dev: {type: duckdb, threads: many}}\n", "not a number"),
    ],
)
def test_invalid_profiles_are_errors_naming_the_file(
    tmp_path: Path, content: str, expected: str
) -> None:
    def read() -> tuple[str, int]:
        target = load_profile(_project(tmp_path, content), environment={}).target()
        return target.type, target.threads

    with pytest.raises(DbtProfileError, match=expected) as info:
        read()
    assert str(tmp_path / "profiles.yml") in str(info.value)


def test_public_keys_hold_no_secret() -> None:
    assert not {"password", "pass", "user", "token", "private_key"} & set(PUBLIC_KEYS)


def _warehouse(kind: str, **values: Any) -> Warehouse:
    return Warehouse(compute="main", type=kind, values=values, base_dir=Path("/p"))


def test_duckdb_warehouse_paths_and_urls() -> None:
    warehouse = _warehouse("duckdb", path="wh.duckdb")
    assert warehouse.duckdb_path() == Path("/p/wh.duckdb")
    assert warehouse.sqlalchemy_url() == "duckdb:////p/wh.duckdb"
    assert _warehouse("duckdb", path="/abs/x.duckdb").duckdb_path() == Path("/abs/x.duckdb")
    for values in ({}, {"path": ":memory:"}):
        with pytest.raises(WarehouseError, match="has no DuckDB file"):
            _warehouse("duckdb", **values).duckdb_path()


def test_postgres_parameters_and_url_follow_dbt_postgres() -> None:
    warehouse = _warehouse(
        "postgres",
        host="db",
        port=5433,
        user="me",
        password="p@ss/word",
        database="analytics",
        search_path="a, b",
        sslmode="require",
        role="loader",
        keepalives_idle=30,
    )
    parameters = warehouse.postgres_parameters()
    assert parameters == {
        "host": "db",
        "port": 5433,
        "user": "me",
        "password": "p@ss/word",
        "dbname": "analytics",
        "connect_timeout": 10,
        "sslmode": "require",
        "keepalives_idle": 30,
        "options": "-c search_path=a,\\ b",
    }
    assert warehouse.sqlalchemy_url() == (
        "postgresql+psycopg2://me:p%40ss%2Fword@db:5433/analytics?sslmode=require"
    )
    assert "p@ss/word" not in repr(warehouse)
    assert warehouse.redacted()["password"] == "***"
    with pytest.raises(WarehouseError, match=r"is not a DuckDB file; use context\.connect"):
        warehouse.duckdb_path()


def test_other_adapters_are_refused_naming_the_target() -> None:
    warehouse = _warehouse("snowflake", account="x")
    for call in (warehouse.connect, warehouse.sqlalchemy_url):
        with pytest.raises(WarehouseError, match="compute target 'main' \\(snowflake"):
            call()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_postgres_connect_reaches_the_local_server_or_says_why() -> None:
    """The local PostgreSQL (trust auth) as dbt-postgres would open it; a closed port is a
    WarehouseError naming the compute target and the address."""
    psycopg2 = pytest.importorskip("psycopg2")
    values = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "database": "postgres"}
    try:
        connection = _warehouse("postgres", **values, role="postgres").connect()
    except WarehouseError as exc:
        pytest.skip(f"no local PostgreSQL: {exc}")
    try:
        with connection.cursor() as cursor:
            cursor.execute("select current_database(), current_user")
            assert cursor.fetchone() == ("postgres", "postgres")
    finally:
        connection.close()
    closed = {**values, "port": _free_port(), "connect_timeout": 2}
    with pytest.raises(WarehouseError, match=r"cannot connect to PostgreSQL at 127\.0\.0\.1:"):
        _warehouse("postgres", **closed).connect()
    assert psycopg2.OperationalError
