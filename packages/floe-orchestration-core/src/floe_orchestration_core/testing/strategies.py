"""Hypothesis strategies for floe's domain: identifiers, DAGs, artifacts, crons, quantities.

Checklist for a strategy added here:

- It generates only *valid* values unless its name says otherwise (``invalid_crons``), so a
  property test fails because of the code under test, never because of the generator.
- It is cheap to draw and shrinks towards small, readable examples (few transforms, short
  names, ``UTC``).
- It does no work at import time: anything expensive (the IANA timezone list) is computed
  on first draw.

>>> from hypothesis import given
>>> @given(dags(max_size=5))
... def test_generated_dags_are_acyclic(transforms): ...
"""

from __future__ import annotations

import functools
import hashlib
import keyword
import string
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import available_timezones

from hypothesis import strategies as st

from floe_orchestration_core import __version__
from floe_orchestration_core.artifacts import (
    ArtifactsMetadata,
    ColumnInfo,
    CompiledArtifacts,
    ComputeTarget,
    LineageSettings,
    PartitionConfig,
    QualityCheck,
    RetryPolicy,
    ScheduleConfig,
    SourceConfig,
    TransformConfig,
)
from floe_orchestration_core.resources import ResourceSpec, parse_quantity
from floe_orchestration_core.testing.factories import make_artifacts, make_source, make_transform

__all__ = [
    "artifacts",
    "crons",
    "dags",
    "identifiers",
    "invalid_crons",
    "json_values",
    "quantities",
    "resource_specs",
    "timezones",
]

_FIRST = string.ascii_lowercase
_REST = string.ascii_lowercase + string.digits + "_"
_COMPUTE_TYPES = ("duckdb", "postgres", "snowflake", "bigquery", "databricks")
_MATERIALIZATIONS = ("table", "view", "incremental", "ephemeral")
_MACROS = ("@hourly", "@daily", "@weekly", "@monthly")
_WEEKDAY_NAMES = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


#: Names generated identifiers avoid: Python keywords and the names Python-based orchestrators
#: reserve for their own parameters (Dagster derives op output names from asset names and
#: refuses these). A real product using one gets a typed error from such an adapter.
RESERVED_NAMES = frozenset(
    (
        *keyword.kwlist,
        *keyword.softkwlist,
        *("context", "conf", "config", "meta", "arg_dict", "dict", "input_arg_dict"),
        *("output_arg_dict", "int", "str", "float", "bool", "input", "output", "type"),
    )
)


def identifiers(*, max_length: int = 16) -> st.SearchStrategy[str]:
    """Lower-case identifiers (``[a-z][a-z0-9_]*``): valid model, schedule and target names
    (never one of :data:`RESERVED_NAMES`)."""
    return st.builds(
        lambda first, rest: first + rest,
        st.sampled_from(_FIRST),
        st.text(alphabet=_REST, max_size=max(0, max_length - 1)),
    ).filter(lambda name: name not in RESERVED_NAMES)


def json_values(*, max_leaves: int = 8) -> st.SearchStrategy[Any]:
    """JSON values (no NaN or infinities), as found in dbt ``meta`` blocks."""
    scalars: st.SearchStrategy[Any] = st.none() | st.booleans() | st.text(max_size=12)
    scalars = scalars | st.integers(-(2**53), 2**53)
    scalars = scalars | st.floats(allow_nan=False, allow_infinity=False)
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=8), children, max_size=3)
        ),
        max_leaves=max_leaves,
    )


@st.composite
def dags(
    draw: st.DrawFn,
    min_size: int = 0,
    max_size: int = 30,
    *,
    sources: Sequence[str] = (),
    computes: Sequence[str] = ("default",),
) -> list[TransformConfig]:
    """Transforms forming a DAG, acyclic by construction, in a shuffled order.

    Each transform depends only on transforms drawn before it (so names never repeat and
    every dependency exists); it may also read some of ``sources`` (source keys) and runs on
    one of ``computes``.
    """
    names = draw(st.lists(identifiers(), min_size=min_size, max_size=max_size, unique=True))
    transforms: list[TransformConfig] = []
    for index, name in enumerate(names):
        upstream = draw(st.sets(st.sampled_from(names[:index]), max_size=4)) if index else set()
        read = draw(st.sets(st.sampled_from(sources), max_size=2)) if sources else set()
        transforms.append(
            make_transform(
                name,
                depends_on=sorted(upstream),
                source_dependencies=tuple(sorted(read)),
                compute=draw(st.sampled_from(computes)),
                materialization=draw(st.sampled_from(_MATERIALIZATIONS)),
                tags=tuple(
                    draw(
                        st.lists(
                            st.sampled_from(("nightly", "core", "pii")), max_size=2, unique=True
                        )
                    )
                ),
            )
        )
    return draw(st.permutations(transforms))


def _field(
    low: int, high: int, *, step_max: int, names: Sequence[str] = ()
) -> st.SearchStrategy[str]:
    """One cron field with values in ``low..high``: any, value, list, range, step or name."""
    value = st.integers(low, high)
    single = value.map(str)
    ranged = st.tuples(value, value).filter(lambda p: p[0] < p[1]).map(lambda p: f"{p[0]}-{p[1]}")
    options: list[st.SearchStrategy[str]] = [
        st.just("*"),
        single,
        st.lists(value, min_size=2, max_size=4, unique=True).map(
            lambda vs: ",".join(str(v) for v in sorted(vs))
        ),
        ranged,
        st.integers(1, step_max).map(lambda n: f"*/{n}"),
        st.tuples(ranged, st.integers(1, step_max)).map(lambda p: f"{p[0]}/{p[1]}"),
    ]
    if names:
        options.append(st.sampled_from(names))
        options.append(
            st.tuples(st.integers(0, len(names) - 1), st.integers(0, len(names) - 1))
            .filter(lambda p: p[0] < p[1])
            .map(lambda p: f"{names[p[0]]}-{names[p[1]]}")
        )
    return st.one_of(options)


def crons() -> st.SearchStrategy[str]:
    """Valid five-field cron expressions and macros (``@daily``…), with lists, ranges, steps
    and month/weekday names. Days of month stay within 1-28 so every expression can fire."""
    five_fields = st.builds(
        lambda *fields: " ".join(fields),
        _field(0, 59, step_max=30),
        _field(0, 23, step_max=12),
        _field(1, 28, step_max=14),
        _field(1, 12, step_max=6, names=_MONTH_NAMES),
        _field(0, 6, step_max=3, names=_WEEKDAY_NAMES[:6]),
    )
    return st.sampled_from(_MACROS) | five_fields


def invalid_crons() -> st.SearchStrategy[str]:
    """Cron expressions every validator must refuse: out-of-range values, zero steps, wrong
    field counts, unknown macros, garbage, dates that never occur."""
    out_of_range = st.one_of(
        st.integers(60, 99).map(lambda m: f"{m} * * * *"),
        st.integers(24, 99).map(lambda h: f"0 {h} * * *"),
        st.integers(32, 99).map(lambda d: f"0 0 {d} * *"),
        st.integers(13, 99).map(lambda m: f"0 0 1 {m} *"),
        st.integers(8, 99).map(lambda d: f"0 0 * * {d}"),
    )
    zero_step = st.sampled_from(("*/0 * * * *", "0 */0 * * *", "0 0 */0 * *"))
    wrong_count = st.integers(1, 4).map(lambda n: " ".join(["*"] * n))
    macros = st.sampled_from(("@every_minute", "@fortnightly", "@", "@never"))
    garbage = st.sampled_from(
        ("", "   ", "a b c d e", "every day", "* * * * MONDAY", "1-x * * * *")
    )
    never = st.sampled_from(("0 0 30 2 *", "0 0 31 2 *", "0 0 31 4 *", "0 0 31 6 *"))
    return st.one_of(out_of_range, zero_step, wrong_count, macros, garbage, never)


@functools.cache
def _zone_names() -> tuple[str, ...]:
    names = (
        n
        for n in available_timezones()
        if ("/" in n and not n.startswith(("posix/", "right/", "SystemV/"))) or n == "UTC"
    )
    return tuple(sorted(names))


def timezones() -> st.SearchStrategy[str]:
    """IANA timezone names (``Area/Location`` and ``UTC``); the list is read on first draw."""
    return st.just("UTC") | st.deferred(lambda: st.sampled_from(_zone_names()))


_CPU_MAX_MILLICORES = 64_000
_MEMORY_SUFFIXES = {
    "": 1,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
}
_MEMORY_MAX_BYTES = 256 * 2**30


def _cpu_quantities() -> st.SearchStrategy[str]:
    millicores = st.integers(1, _CPU_MAX_MILLICORES)
    return st.one_of(
        millicores.map(lambda m: f"{m}m"),
        st.integers(1, _CPU_MAX_MILLICORES // 1000).map(str),
        millicores.filter(lambda m: m % 1000).map(lambda m: str(Decimal(m) / 1000)),
    )


def _memory_quantities() -> st.SearchStrategy[str]:
    return st.sampled_from(sorted(_MEMORY_SUFFIXES)).flatmap(
        lambda suffix: st.integers(
            1 if suffix else 2**20, _MEMORY_MAX_BYTES // _MEMORY_SUFFIXES[suffix]
        ).map(lambda n: f"{n}{suffix}")
    )


def quantities(kind: Literal["cpu", "memory"] = "cpu") -> st.SearchStrategy[str]:
    """Valid Kubernetes quantity strings: cpu (``250m``, ``2``, ``0.5``) or memory
    (``512Mi``, ``1Gi``, ``128M``, ``1048576``); bounded to what a pod could ask for."""
    if kind == "cpu":
        return _cpu_quantities()
    if kind == "memory":
        return _memory_quantities()
    raise ValueError(f"kind must be 'cpu' or 'memory'; got {kind!r}")


def _ordered_pair(kind: Literal["cpu", "memory"]) -> st.SearchStrategy[tuple[str, str]]:
    """Two quantities of ``kind``, the smaller first."""

    def ordered(pair: tuple[str, str]) -> tuple[str, str]:
        low, high = pair
        if parse_quantity(low, kind=kind) > parse_quantity(high, kind=kind):
            low, high = high, low
        return low, high

    return st.tuples(quantities(kind), quantities(kind)).map(ordered)


def resource_specs() -> st.SearchStrategy[ResourceSpec]:
    """Valid :class:`ResourceSpec` values: every request at most its limit."""
    return st.builds(
        lambda cpu, memory: ResourceSpec(
            cpu_request=cpu[0], cpu_limit=cpu[1], memory_request=memory[0], memory_limit=memory[1]
        ),
        _ordered_pair("cpu"),
        _ordered_pair("memory"),
    )


_AWARE_TIMES = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


_COMPILE_TIMES = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from(
        (UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8)))
    ),
)


@st.composite
def _partition(draw: st.DrawFn, name: str) -> PartitionConfig:
    start: date | datetime
    if draw(st.booleans()):
        start = draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)))
        end: date | datetime | None = draw(st.none() | st.just(start + timedelta(days=400)))
    else:
        start = draw(_AWARE_TIMES)
        end = draw(st.none() | st.just(start + timedelta(days=30)))
    return PartitionConfig(
        name=name,
        granularity=draw(st.sampled_from(("hourly", "daily", "weekly", "monthly"))),
        start=start,
        end=end,
        timezone=draw(timezones()),
    )


def _source(key_parts: tuple[str, str]) -> SourceConfig:
    source_name, table = key_parts
    return make_source(f"{source_name}.{table}")


@st.composite
def _with_checks(draw: st.DrawFn, transform: TransformConfig) -> TransformConfig:
    columns = draw(st.lists(identifiers(max_length=8), max_size=3, unique=True))
    checks = tuple(
        QualityCheck(
            name=f"not_null_{transform.name}_{column}",
            unique_id=f"test.analytics.not_null_{transform.name}_{column}",
            kind="generic",
            test_name="not_null",
            column=column,
            severity=draw(st.sampled_from(("error", "warn"))),
            attached_to=transform.name,
            references=(transform.name,),
        )
        for column in columns
        if draw(st.booleans())
    )
    return transform.model_copy(
        update={
            "columns": tuple(ColumnInfo(name=c) for c in columns),
            "quality_checks": checks,
            "meta": draw(st.dictionaries(identifiers(max_length=8), json_values(), max_size=3)),
            "description": draw(st.text(max_size=20)),
        }
    )


@st.composite
def artifacts(
    draw: st.DrawFn, *, min_transforms: int = 0, max_transforms: int = 12
) -> CompiledArtifacts:
    """Valid CompiledArtifacts: 1-3 compute targets with random assignment, sources, a DAG of
    transforms with quality checks and JSON ``meta``, partitions, schedules with valid crons
    and timezones, a retry policy and lineage settings."""
    product_name = draw(identifiers(max_length=12))
    computes = draw(st.lists(identifiers(max_length=8), min_size=1, max_size=3, unique=True))
    source_keys = draw(
        st.lists(
            st.tuples(identifiers(max_length=6), identifiers(max_length=8)),
            max_size=3,
            unique_by=lambda p: f"{p[0]}.{p[1]}",
        )
    )
    sources = tuple(_source(parts) for parts in source_keys)
    transforms = draw(
        dags(min_transforms, max_transforms, sources=[s.key for s in sources], computes=computes)
    )
    partition_names = draw(st.lists(identifiers(max_length=8), max_size=2, unique=True))
    partitions = tuple(draw(_partition(name)) for name in partition_names)
    assigned: list[TransformConfig] = []
    for transform in transforms:
        partition = draw(st.none() | st.sampled_from(partition_names)) if partition_names else None
        assigned.append(draw(_with_checks(transform.model_copy(update={"partition": partition}))))
    selections = ["*", "tag:nightly", *(t.name for t in transforms[:3])]
    schedule_names = draw(st.lists(identifiers(max_length=10), max_size=3, unique=True))
    schedules = tuple(
        ScheduleConfig(
            name=name,
            cron=draw(crons()),
            timezone=draw(timezones()),
            selection=draw(st.sampled_from(selections)),
            enabled=draw(st.booleans()),
        )
        for name in schedule_names
    )
    return make_artifacts(
        assigned,
        compute_targets=[
            ComputeTarget(name=name, type=draw(st.sampled_from(_COMPUTE_TYPES)))
            for name in computes
        ],
        default_compute=draw(st.sampled_from(computes)),
        product_name=product_name,
        sources=sources,
        schedules=schedules,
        partitions=partitions,
        retry_policy=RetryPolicy(
            max_retries=draw(st.integers(0, 5)),
            delay_seconds=draw(st.floats(0, 600, allow_nan=False)),
            backoff=draw(st.sampled_from(("constant", "linear", "exponential"))),
        ),
        lineage=LineageSettings(namespace=draw(identifiers(max_length=10))),
        metadata=ArtifactsMetadata(
            product_name=product_name,
            compiled_at=draw(_COMPILE_TIMES),
            source_hash=hashlib.sha256(product_name.encode()).hexdigest(),
            floe_version=__version__,
        ),
    )
