"""Tests of the OpenTelemetry span helpers (SDK used only here, with an explicit provider)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from floe_orchestration_core.telemetry import get_tracer, span, traced


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> TracerProvider:
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    return tracer_provider


def test_get_tracer_uses_the_given_provider(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    tracer = get_tracer("floe_test", tracer_provider=provider)
    with tracer.start_as_current_span("work"):
        pass
    (finished,) = exporter.get_finished_spans()
    assert finished.name == "work"
    assert finished.instrumentation_scope is not None
    assert finished.instrumentation_scope.name == "floe_test"


def test_without_a_provider_spans_do_not_record() -> None:
    with span("floe_test", "work", answer=42) as current:
        assert not current.is_recording()


def test_span_records_attributes_and_skips_none(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    with span("floe_test", "compile", tracer_provider=provider, models=3, target=None, ok=True):
        pass
    (finished,) = exporter.get_finished_spans()
    assert finished.name == "compile"
    assert dict(finished.attributes or {}) == {"models": 3, "ok": True}
    assert finished.status.status_code is StatusCode.UNSET


def test_span_records_the_exception_sets_error_and_reraises(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    with (
        pytest.raises(KeyError, match="missing"),
        span("floe_test", "lookup", tracer_provider=provider),
    ):
        raise KeyError("missing")
    (finished,) = exporter.get_finished_spans()
    assert finished.status.status_code is StatusCode.ERROR
    assert finished.status.description == "KeyError: 'missing'"
    (event,) = finished.events
    assert event.name == "exception"
    assert (event.attributes or {})["exception.type"] == "KeyError"


def test_spans_nest_as_parent_and_child(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    with (
        span("floe_test", "outer", tracer_provider=provider) as outer,
        span("floe_test", "inner", tracer_provider=provider),
    ):
        pass
    inner, outer_finished = exporter.get_finished_spans()
    assert inner.parent is not None
    assert inner.parent.span_id == outer.get_span_context().span_id
    assert outer_finished.parent is None


def test_traced_keeps_the_function_its_result_and_its_metadata() -> None:
    def build(value: int) -> int:
        return value * 2

    decorated = traced()(build)
    assert decorated(21) == 42
    assert decorated.__name__ == "build"
    assert decorated.__wrapped__ is build  # type: ignore[attr-defined]


def test_traced_names_spans_by_qualname_and_tracers_by_top_level_package() -> None:
    """The global provider is process-wide, so this runs in a fresh interpreter."""
    script = textwrap.dedent(
        """
        import json
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from floe_orchestration_core.telemetry import traced

        class Builder:
            @staticmethod
            def build():
                return 1

        Builder.build.__module__ = "floe_orchestrator_dagster.definitions"
        build = traced()(Builder.build)

        @traced("custom", tracer_name="my_tracer")
        def fail():
            raise ValueError("boom")

        build()  # before the application installs a provider: not recorded, not an error
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        build()
        try:
            fail()
        except ValueError:
            pass
        print(json.dumps([
            [s.name, s.instrumentation_scope.name, s.status.status_code.name]
            for s in exporter.get_finished_spans()
        ]))
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    spans = json.loads(completed.stdout)
    assert spans == [
        ["Builder.build", "floe_orchestrator_dagster", "UNSET"],
        ["custom", "my_tracer", "ERROR"],
    ]


def test_importing_telemetry_installs_no_provider_and_reads_no_environment() -> None:
    script = textwrap.dedent(
        """
        import json, os, sys

        reads = []

        class Watching(dict):
            def __getitem__(self, key):
                reads.append(key)
                return super().__getitem__(key)
            def get(self, key, default=None):
                reads.append(key)
                return super().get(key, default)
            def __contains__(self, key):
                reads.append(key)
                return super().__contains__(key)

        import opentelemetry.trace as trace_api
        os.environ = Watching(os.environ)
        import floe_orchestration_core.telemetry as telemetry
        with telemetry.span("probe", "probe") as current:
            recording = current.is_recording()
        otel_reads = [key for key in reads if key.startswith("OTEL")]
        print(json.dumps({
            "provider_set": trace_api._TRACER_PROVIDER is not None,
            "otel_reads": otel_reads,
            "recording": recording,
            "sdk_imported": "opentelemetry.sdk" in sys.modules,
        }))
        """
    )
    env = {
        **os.environ,
        "OTEL_PYTHON_TRACER_PROVIDER": "sdk_tracer_provider",
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_SERVICE_NAME": "should-not-be-read",
    }
    completed = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=60,
    )
    report = json.loads(completed.stdout)
    assert report == {
        "provider_set": False,
        "otel_reads": [],
        "recording": False,
        "sdk_imported": False,
    }
