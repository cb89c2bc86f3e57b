"""OpenTelemetry span helpers on ``opentelemetry-api`` only; the SDK is the application's choice.

Implementer's checklist (for core and adapter code that wants spans):

- Get tracers with :func:`get_tracer`, open spans with :func:`span` or decorate with
  :func:`traced`. Never import ``opentelemetry.sdk`` from library code and never call
  ``set_tracer_provider``: installing a provider (and reading ``OTEL_*`` variables) is the
  application's job.
- Pass ``tracer_provider=`` where a caller gave you one (tests, embedded use); otherwise the
  tracer follows whatever global provider the application installs, even one installed
  after the tracer was created. Until then spans are non-recording and cost next to nothing.
- Attribute values are OpenTelemetry attribute values (str, bool, int, float or sequences of
  one of them); ``None`` values are skipped so callers can pass optional data directly.
- An exception leaving a span is recorded on it, the span's status set to ``ERROR``, and the
  exception re-raised unchanged: tracing never swallows or changes errors.

Nothing here runs at import time: no provider is installed and no environment is read (not
even ``OTEL_PYTHON_TRACER_PROVIDER``, which ``opentelemetry.trace.get_tracer_provider`` would
read on first use; applications configuring through it install their provider themselves).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from opentelemetry.trace import (
    ProxyTracerProvider,
    Span,
    Status,
    StatusCode,
    Tracer,
    TracerProvider,
)
from opentelemetry.util.types import AttributeValue

from floe_orchestration_core import __version__

__all__ = ["get_tracer", "span", "traced"]

F = TypeVar("F", bound=Callable[..., Any])

#: Hands out proxy tracers that delegate to the global provider once the application sets one;
#: unlike ``trace.get_tracer`` this never consults the environment.
_GLOBAL_PROXY = ProxyTracerProvider()


def get_tracer(name: str, *, tracer_provider: TracerProvider | None = None) -> Tracer:
    """A tracer named ``name`` from ``tracer_provider``, or following the global provider.

    >>> tracer = get_tracer("floe_orchestration_core")
    >>> with tracer.start_as_current_span("work") as current:
    ...     current.is_recording()  # no SDK installed by this library
    False
    """
    provider: TracerProvider = _GLOBAL_PROXY if tracer_provider is None else tracer_provider
    return provider.get_tracer(name, __version__)


@contextmanager
def span(
    tracer_name: str,
    span_name: str,
    *,
    tracer_provider: TracerProvider | None = None,
    **attributes: AttributeValue | None,
) -> Iterator[Span]:
    """Open ``span_name`` as the current span; record, mark ``ERROR`` and re-raise exceptions.

    >>> with span("floe_orchestration_core", "compile", models=3, target=None) as current:
    ...     current.set_attribute("transforms", 3)
    """
    tracer = get_tracer(tracer_name, tracer_provider=tracer_provider)
    clean: dict[str, AttributeValue] = {
        key: value for key, value in attributes.items() if value is not None
    }
    with tracer.start_as_current_span(
        span_name, attributes=clean, record_exception=False, set_status_on_exception=False
    ) as current:
        try:
            yield current
        except BaseException as exc:
            current.record_exception(exc)
            current.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
            raise


def _top_level_package(module: str | None) -> str:
    return (module or "floe_orchestration_core").partition(".")[0]


def traced(span_name: str | None = None, *, tracer_name: str | None = None) -> Callable[[F], F]:
    """Decorate a function so each call runs in a span.

    The span name defaults to the function's ``__qualname__``, the tracer name to the top-level
    package of the function's module (``floe_orchestrator_dagster.definitions`` →
    ``floe_orchestrator_dagster``). The tracer follows the global provider (see
    :func:`get_tracer`); exceptions are recorded and re-raised as by :func:`span`.

    >>> @traced()
    ... def build() -> int:
    ...     return 1
    >>> build()
    1
    """

    def decorate(function: F) -> F:
        name = span_name or str(getattr(function, "__qualname__", repr(function)))
        tracer = tracer_name or _top_level_package(getattr(function, "__module__", None))

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with span(tracer, name):
                return function(*args, **kwargs)

        return cast(F, wrapper)

    return decorate
