"""Dagster's naming rules, checked on a product before Dagster sees it (the plugin's
``_check_names`` hook).

Dagster names each op input and output after an asset key: ``AssetKey.to_python_identifier``
joins the key's parts with ``__`` and turns ``.`` and ``-`` into ``_``, and the result must
match ``^[A-Za-z0-9_]+$`` and be neither a Python keyword nor a name Dagster reserves
(``config``, ``context``, ``input``, ``output``, ``type``, ...). A name breaking that fails
deep inside ``@dbt_assets`` with a ``DagsterInvalidDefinitionError``; here it is a
:class:`~floe_orchestration_core.plugin_checks.NameProblem` naming the model and the rule.
The keys are the translator's (:meth:`FloeDagsterDbtTranslator.get_asset_key`: a model's
configured schema and name, ``meta.dagster.asset_key``, the key prefix), read from the same
manifest the definitions are built from.

What is mapped, and what is refused:

- **A dot or a hyphen** (``stg.orders``, ``stg-orders``): allowed. The asset key keeps the dbt
  name (``stg.orders``); Dagster's op and output names get ``_`` (``stg_orders``), Dagster's
  own mapping. Two keys that map to one op name (``stg.orders`` and ``stg_orders``) are
  refused, naming both.
- **Anything else outside letters, digits and ``_``** (quotes, ``/``, emoji, other Unicode):
  refused; rename the model (its file), or give it a valid key with
  ``meta: {dagster: {asset_key: [...]}}``. Whitespace and control characters never get here:
  the compiler refuses them (dbt's selectors split on whitespace).
- **A reserved name** (a model called ``config`` or ``class``): refused; set
  ``translator.key_prefix: [dbt]`` in the adapter's config (keys become ``dbt/config``).
- **Two assets with one key** (two ``meta.dagster.asset_key`` alike, a model keyed like a
  source): refused, naming both.
- **Quality checks**: a check's name is its dbt test's name with characters outside
  ``A-Z a-z 0-9 _`` turned into ``_`` (:mod:`floe_orchestrator_dagster.dbt.nodes`); two checks
  of one asset that map to one name are refused, naming both.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable
from typing import Final

from dagster import AssetKey

from floe_orchestration_core.artifacts import CompiledArtifacts, QualityCheck
from floe_orchestration_core.errors import quoted
from floe_orchestration_core.plugin_checks import NameProblem
from floe_orchestrator_dagster.compat import DISALLOWED_NAMES
from floe_orchestrator_dagster.dbt.manifest import ProjectManifest
from floe_orchestrator_dagster.dbt.translator import FloeDagsterDbtTranslator
from floe_orchestrator_dagster.definitions.sources import read_sources

__all__ = ["check_name", "key_rule", "name_problems"]

_OP_NAME: Final = re.compile(r"^[A-Za-z0-9_]+$")
_NOT_NAME: Final = re.compile(r"[^A-Za-z0-9_]")
_FIX_KEY = (
    "rename the model (its file), or give it a valid key with meta: {dagster: {asset_key: [...]}}"
)


def _key_text(key: AssetKey) -> str:
    return quoted(key.to_user_string())


def key_rule(key: AssetKey) -> str | None:
    """Why Dagster refuses the asset key ``key`` as an op name, or None when it accepts it."""
    identifier = key.to_python_identifier()
    if not _OP_NAME.match(identifier):
        return (
            f"Dagster names ops after its asset key {_key_text(key)} and allows only letters, "
            "digits and '_' there (a '.' or '-' is fine: Dagster maps it to '_'); " + _FIX_KEY
        )
    if identifier in DISALLOWED_NAMES or keyword.iskeyword(identifier):
        return (
            f"its asset key {_key_text(key)} would be the op name {quoted(identifier)}, a name "
            "Dagster reserves (Python keywords and config, context, input, output, type, ...); "
            "set a key prefix in the Dagster adapter's config (translator.key_prefix: [dbt]) "
            "or rename the model"
        )
    return None


def check_name(name: str) -> str:
    """The Dagster check name of the dbt test ``name`` (outside ``A-Z a-z 0-9 _`` → ``_``)."""
    return _NOT_NAME.sub("_", name)


def name_problems(
    artifacts: CompiledArtifacts,
    project: ProjectManifest,
    translator: FloeDagsterDbtTranslator,
) -> list[NameProblem]:
    """Every name of ``artifacts`` Dagster would refuse (rules in the module docstring)."""
    problems: list[NameProblem] = []
    owners: dict[AssetKey, str] = {}
    op_names: dict[str, tuple[str, AssetKey]] = {}
    assets: list[tuple[str, str, str, AssetKey, tuple[QualityCheck, ...]]] = [
        (
            t.resource_type.value,
            t.name,
            t.unique_id,
            translator.get_asset_key(project.nodes[t.unique_id]),
            t.quality_checks,
        )
        for t in artifacts.transforms
        if not t.is_ephemeral
    ]
    assets += [
        (
            "source",
            s.key,
            s.unique_id,
            translator.get_asset_key(project.sources[s.unique_id]),
            s.quality_checks,
        )
        for s in read_sources(artifacts)
    ]
    for kind, name, unique_id, key, checks in assets:
        label = f"{kind} {quoted(name)}"
        rule = key_rule(key)
        if rule is None and key in owners:
            rule = f"its asset key {_key_text(key)} is also the key of {owners[key]}; rename one"
        if rule is None:
            identifier = key.to_python_identifier()
            other = op_names.setdefault(identifier, (label, key))
            if other[1] != key:
                rule = (
                    f"its asset key {_key_text(key)} and the key {_key_text(other[1])} of "
                    f"{other[0]} give Dagster one op name, {quoted(identifier)} (Dagster maps "
                    "'.' and '-' to '_'); rename one"
                )
        owners.setdefault(key, label)
        if rule is not None:
            problems.append(NameProblem(kind, name, rule, unique_id))
        problems.extend(_check_problems(label, checks))
    return problems


def _check_problems(owner: str, checks: Iterable[QualityCheck]) -> list[NameProblem]:
    problems: list[NameProblem] = []
    first: dict[str, str] = {}
    for check in checks:
        mapped = check_name(check.name)
        other = first.setdefault(mapped, check.name)
        if other != check.name:
            problems.append(
                NameProblem(
                    "quality check",
                    check.name,
                    f"on {owner}, it and the check {quoted(other)} both become the Dagster "
                    f"check name {quoted(mapped)} (characters outside A-Z a-z 0-9 _ become "
                    "'_'); rename one of the tests",
                    check.unique_id,
                )
            )
    return problems
