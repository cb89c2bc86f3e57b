"""What a product must pass before the orchestrator is given it: its names, then its loading.

:class:`DefinitionChecks` is the part of
:class:`~floe_orchestration_core.plugin.OrchestratorPlugin` that holds two template methods:

- :meth:`~DefinitionChecks.check_names` — the orchestrator's naming rules. The core loads the
  artifacts, then calls the adapter's ``_check_names(artifacts)`` hook, which returns one
  :class:`NameProblem` per transform, source, quality check, ... whose name the orchestrator
  cannot carry (the default: none). Any problem is an
  :class:`~floe_orchestration_core.errors.InvalidNameError` listing every one, each naming the
  thing, its name and the rule. ``create_definitions`` calls it before its own hook, so a
  hostile name never reaches the orchestrator's API and a run fails like ``floe validate``.
  Where the orchestrator maps a name predictably (Dagster turns ``.`` and ``-`` into ``_`` in
  op names), the hook accepts it and the adapter's documentation says so.
- :meth:`~DefinitionChecks.load_definitions` — the definitions as the orchestrator's own
  server would load them: ``create_definitions(artifacts)``, then the adapter's
  ``_load_definitions(definitions)`` hook, which resolves what the orchestrator resolves lazily
  (Dagster: the repository, its asset graph and jobs) and returns the definitions (the
  default: the definitions unchanged). ``floe validate`` calls it, so what would fail when the
  webserver loads the code fails there, as a typed error.

Standard library only at module level (the plugin-discovery path imports it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from floe_orchestration_core.errors import InvalidNameError, PluginError, quoted

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from opentelemetry.trace import Span
    from opentelemetry.util.types import AttributeValue

    from floe_orchestration_core.artifacts import CompiledArtifacts

__all__ = ["DefinitionChecks", "NameProblem", "as_artifacts"]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class NameProblem:
    """A name the orchestrator cannot carry.

    ``kind`` says what is named (``model``, ``seed``, ``snapshot``, ``source``,
    ``quality check``, ...), ``name`` is the name as the artifacts hold it (a transform's name,
    a source's key, a check's name), ``rule`` the orchestrator's rule it breaks and the fix,
    ``unique_id`` the dbt unique_id when there is one.
    """

    kind: str
    name: str
    rule: str
    unique_id: str = ""

    def sentence(self) -> str:
        """``model 'a b' (model.shop.a b): <rule>``: the name quoted safely, then the rule."""
        which = f" ({quoted(self.unique_id)})" if self.unique_id else ""
        return f"{self.kind} {quoted(self.name)}{which}: {self.rule}"


def as_artifacts(value: object, method: str) -> CompiledArtifacts:
    """``value`` as CompiledArtifacts: a mapping is loaded (ArtifactsError on invalid
    fields), anything but artifacts is a :class:`PluginError` naming ``method``."""
    from floe_orchestration_core.artifacts import CompiledArtifacts, load_artifacts

    if isinstance(value, Mapping):
        return load_artifacts(value)
    if not isinstance(value, CompiledArtifacts):
        raise PluginError(
            f"{method} expects CompiledArtifacts (or the mapping of its JSON); "
            f"got {type(value).__name__}"
        )
    return value


class DefinitionChecks:
    """The naming and loading checks of a plugin (a base of ``OrchestratorPlugin``, which
    provides :attr:`name`, :meth:`create_definitions`, :meth:`_call_hook` and :meth:`_span`)."""

    if TYPE_CHECKING:

        @property
        def name(self) -> str: ...

        def create_definitions(self, artifacts: CompiledArtifacts | Mapping[str, Any]) -> Any: ...

        def _call_hook(self, hook: str, call: Callable[[], _T]) -> _T: ...

        def _span(
            self, span_name: str, attributes: Mapping[str, AttributeValue | None]
        ) -> AbstractContextManager[Span]: ...

    def check_names(self, artifacts: CompiledArtifacts | Mapping[str, Any]) -> None:
        """Refuse the names of ``artifacts`` that this orchestrator cannot carry.

        Raises :class:`~floe_orchestration_core.errors.InvalidNameError` listing every one
        (each naming the model, source or check and the rule); returns None when all are fine.
        A mapping is loaded first (ArtifactsError on invalid fields).
        """
        valid = as_artifacts(artifacts, "check_names")
        with self._span("floe.check_names", {"floe.transform_count": len(valid.transforms)}):
            problems = self._call_hook("_check_names", lambda: tuple(self._check_names(valid)))
        for problem in problems:
            if not isinstance(problem, NameProblem):
                raise PluginError(
                    f"orchestrator plugin '{self.name}': _check_names must return NameProblem "
                    f"items; got {type(problem).__name__}"
                )
        if problems:
            sentences = [problem.sentence() for problem in problems]
            listing = "\n".join(f"  {sentence}" for sentence in sentences)
            raise InvalidNameError(
                f"{len(problems)} name(s) the orchestrator '{self.name}' cannot carry:\n{listing}",
                sentences,
                [problem.name for problem in problems],
                [problem.unique_id for problem in problems],
            )

    def load_definitions(self, artifacts: CompiledArtifacts | Mapping[str, Any]) -> Any:
        """The native definitions of ``artifacts``, loaded as the orchestrator's server loads
        them: :meth:`create_definitions` (names checked first), then ``_load_definitions``.

        Floe errors pass through; anything else a hook raises is a PluginError naming it.
        """
        definitions = self.create_definitions(artifacts)
        with self._span("floe.load_definitions", {}):
            return self._call_hook("_load_definitions", lambda: self._load_definitions(definitions))

    # Hooks ---------------------------------------------------------------------------------
    def _check_names(self, artifacts: CompiledArtifacts) -> Iterable[NameProblem]:
        """The names of ``artifacts`` this orchestrator cannot carry (default: none)."""
        return ()

    def _load_definitions(self, definitions: Any) -> Any:
        """Resolve ``definitions`` as the orchestrator's server would, and return them
        (default: unchanged)."""
        return definitions
