"""floe's profile rendering (the core, without dbt) against dbt's own ``ProfileRenderer``: for
every value a profile commonly holds, the same result and the same Python type, or an error
from both. Run where dbt runs, so a dbt upgrade that changes rendering shows up here."""

from __future__ import annotations

import os
from argparse import Namespace
from collections.abc import Iterator
from typing import Any

import pytest

from floe_orchestration_core.dbt_profiles import render_value
from floe_orchestration_core.errors import DbtProfileError

ENVIRONMENT = {"HOST": "db.internal", "PORT": "5433", "YES": "True", "LOWER": "true", "LIST": "[1]"}
VALUES = (
    "plain",
    5432,
    "{{ env_var('HOST') }}",
    "{{ env_var('PORT') }}",
    "{{ env_var('PORT') | as_number }}",
    "{{ env_var('PORT') | int }}",
    "{{ env_var('PORT') | as_text }}",
    "{{ env_var('PORT') | as_native }}",
    "{{ env_var('LIST') | as_native }}",
    "{{ env_var('YES') | as_bool }}",
    "{{ env_var('LOWER') | as_bool }}",
    "{{ env_var('HOST') | as_number }}",
    "{{ env_var('UNSET', 'fallback') }}",
    "{{ env_var('UNSET', 4) }}",
    "{{ env_var('UNSET', '4') | int }}",
    "{{ env_var('UNSET', '3.5') | float }}",
    "{{ env_var('UNSET') }}",
    "db_{{ env_var('HOST') }}",
    " {{ env_var('HOST') }} ",
    "{{ env_var('HOST') ~ '_' ~ 'x' | upper }}",
    "{{ env_var('HOST', 'd') | upper }}",
    "{{ env_var('HOST') | default('x') }}",
    "{{ var('schema', 'analytics') }}",
    "{# comment #}{{ env_var('HOST') }}",
    "{{ 5 }}",
    "{{ '5' }}",
    "{{ '5' | as_number }}",
    "{{ true }}",
    "{{ 'a' }}{{ 'b' }}",
)


@pytest.fixture(scope="module")
def dbt_render() -> Iterator[Any]:
    from dbt.config.renderer import ProfileRenderer
    from dbt.flags import set_from_args
    from dbt_common.context import set_invocation_context

    set_invocation_context(ENVIRONMENT)
    set_from_args(Namespace(), None)
    yield ProfileRenderer({}).render_value
    set_invocation_context(dict(os.environ))


def _outcome(render: Any, value: Any) -> tuple[str, Any]:
    try:
        result = render(value)
    except Exception:
        return ("error", None)
    return (type(result).__name__, result)


@pytest.mark.parametrize("value", VALUES)
def test_floe_renders_a_profile_value_as_dbt_does(dbt_render: Any, value: Any) -> None:
    def floe_render(text: Any) -> Any:
        return render_value(text, environment=ENVIRONMENT, where="field 'x'", file="p.yml")

    expected = _outcome(dbt_render, value)
    assert _outcome(floe_render, value) == expected
    if expected[0] == "error":
        with pytest.raises(DbtProfileError):
            floe_render(value)
