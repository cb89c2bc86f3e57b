"""EnvironmentSecrets: every missing variable named with what needs it; values kept to redact."""

from __future__ import annotations

import pytest

from floe_orchestration_core.env_secrets import EnvironmentSecrets, MissingVariable


def test_every_missing_variable_is_listed_with_what_needs_it_in_reading_order() -> None:
    secrets = EnvironmentSecrets({"TOKEN": "t0ken"})
    assert secrets.read("PASSWORD", needed_by="smtp 'oncall'") is None
    assert secrets.read("TOKEN", needed_by="webhook 'ops'") == "t0ken"
    assert secrets.read("API_KEY", needed_by="lineage http") is None
    assert secrets.missing == (
        MissingVariable("PASSWORD", "smtp 'oncall'"),
        MissingVariable("API_KEY", "lineage http"),
    )
    assert secrets.values == frozenset({"t0ken"})


@pytest.mark.parametrize(("empty_is_unset", "expected"), [(False, ""), (True, None)])
def test_an_empty_variable_is_set_or_missing_as_the_caller_chooses(
    empty_is_unset: bool, expected: str | None
) -> None:
    secrets = EnvironmentSecrets({"EMPTY": ""}, empty_is_unset=empty_is_unset)
    assert secrets.read("EMPTY", needed_by="x") == expected
    assert bool(secrets.missing) is empty_is_unset
    assert secrets.values == frozenset()  # an empty string is nothing to redact


def test_the_process_environment_is_read_when_a_secret_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secrets = EnvironmentSecrets()
    monkeypatch.setenv("FLOE_TEST_LATE_SECRET", "late")
    assert secrets.read("FLOE_TEST_LATE_SECRET", needed_by="x") == "late"
