r"""The field types every artifacts model shares, and their frozen base model.

Names of schedules, sensors, compute targets and partitions are :data:`Identifier`\ s; crons
and timezones are validated with :mod:`floe_orchestration_core.scheduling` as they are read.
``floe.yaml``'s models (:mod:`floe_orchestration_core.compile.product`) use the same types.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, StringConstraints

from floe_orchestration_core.scheduling import validate_cron, validate_timezone

__all__ = [
    "CronExpressionStr",
    "DateOrDatetime",
    "EnvVarName",
    "FrozenModel",
    "Identifier",
    "NonEmptyStr",
    "Sha256",
    "TimezoneName",
    "repeated_names",
]

#: Names of schedules, sensors, compute targets and partitions: safe as identifiers in every
#: orchestrator we know (Dagster definition names, Airflow DAG ids, Kubernetes labels).
Identifier = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", min_length=1, max_length=128)
]
NonEmptyStr = Annotated[str, StringConstraints(min_length=1)]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
#: The name of an environment variable (a secret is read from it, never written in a file).
EnvVarName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=128)]


def _date_or_datetime(value: object) -> object:
    # In JSON both arrive as strings, and pydantic's lax date would read
    # "2024-01-01T00:00:00Z" as a date, dropping the time: a string with a time part is a
    # datetime, any other string a date.
    if isinstance(value, str):
        text = value.strip()
        try:
            if "T" in text or " " in text:
                return datetime.fromisoformat(text.replace("Z", "+00:00"))
            return date.fromisoformat(text)
        except ValueError:
            return value  # let pydantic report it with its own message
    return value


def _valid_cron(value: str) -> str:
    validate_cron(value)
    return value


def _valid_timezone(value: str) -> str:
    validate_timezone(value)
    return value


#: A five-field cron expression or macro, validated by :func:`scheduling.validate_cron`.
CronExpressionStr = Annotated[NonEmptyStr, AfterValidator(_valid_cron)]
#: An IANA timezone name, validated by :func:`scheduling.validate_timezone`.
TimezoneName = Annotated[NonEmptyStr, AfterValidator(_valid_timezone)]

#: A calendar date (``2024-01-01``) or an instant (``2024-01-01T06:00:00Z``), kept as given.
DateOrDatetime = Annotated[date | datetime, BeforeValidator(_date_or_datetime)]


def repeated_names(sections: Iterable[tuple[str, Iterable[str]]]) -> list[str]:
    """One ``"section: names must be unique; repeated: a, b"`` line per section repeating a name.

    >>> repeated_names([("schedules", ["daily", "daily"]), ("sensors", ["a"])])
    ['schedules: names must be unique; repeated: daily']
    """
    problems: list[str] = []
    for section, names in sections:
        repeated = sorted(name for name, count in Counter(names).items() if count > 1)
        if repeated:
            problems.append(f"{section}: names must be unique; repeated: {', '.join(repeated)}")
    return problems


class FrozenModel(BaseModel):
    """The base of every artifacts model: frozen, unknown keys refused, read by name or alias."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        hide_input_in_errors=True,  # a refused value is never echoed, not even by --debug
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        use_enum_values=False,
    )
