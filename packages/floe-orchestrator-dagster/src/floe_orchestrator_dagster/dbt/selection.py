"""Short dbt selection strings that select exactly one ``@dbt_assets``' transforms.

Each ``@dbt_assets`` of the adapter builds one group of transforms (a compute target, or a
compute target and a partition). Its ``select`` string is used twice: by the decorator, which
evaluates it with dbt-core's selector against the manifest it is given, and at run time, when
dagster-dbt passes it to ``dbt build --select`` in the real project. dbt evaluates every
criterion of a union against every node, so a union of one fqn per model costs
``models x models`` (minutes at 10,000 models). :func:`plan_selections` therefore writes the
fewest fqn criteria that select the group and nothing of another group:

- a group holding every model, seed and snapshot of the product gets ``fqn:*`` (dagster-dbt's
  default; the common one-target case);
- otherwise, the folders of the fqn tree (``package.folder.subfolder``) whose models all belong
  to the group become one criterion each, and the remaining models one full fqn each (what
  dagster-dbt itself uses to select a subset at run time).

Ephemeral models belong to no group (dbt builds nothing for them), so they never prevent a
folder from being one criterion. dbt also matches a criterion against fqns without their
package (``staging.orders`` matches ``pkg.staging.orders``); a folder criterion that would
match another group's model that way is split into its children. A model whose full fqn is
also the prefix of another group's models (a model ``orders`` beside a folder ``orders/``)
cannot be told apart by fqn: it is selected by its full fqn, exactly as dagster-dbt selects it.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["Selection", "flat_fqn", "plan_selections"]

ALL = "fqn:*"


def flat_fqn(fqn: Iterable[str]) -> tuple[str, ...]:
    """The fqn as dbt's selector sees it: dots inside a segment separate parts too."""
    return tuple(part for segment in fqn for part in str(segment).split("."))


@dataclass(frozen=True)
class Selection:
    """A dbt ``select`` string and the fqn prefixes it uses (empty for ``fqn:*``)."""

    select: str
    prefixes: tuple[tuple[str, ...], ...] = ()


@dataclass
class _Trie:
    children: dict[str, _Trie] = field(default_factory=dict)
    labels: set[Hashable] = field(default_factory=set)  # groups of the models at or below
    here: set[Hashable] = field(default_factory=set)  # groups of the models ending here

    def add(self, path: tuple[str, ...], label: Hashable) -> None:
        node = self
        node.labels.add(label)
        for part in path:
            node = node.children.setdefault(part, _Trie())
            node.labels.add(label)
        node.here.add(label)

    def find(self, path: tuple[str, ...]) -> _Trie | None:
        node: _Trie | None = self
        for part in path:
            node = node.children.get(part) if node is not None else None
        return node


def plan_selections(
    fqns: Mapping[str, tuple[str, ...]], label_of: Mapping[str, Hashable | None]
) -> dict[Hashable, Selection]:
    """One :class:`Selection` per group label.

    ``fqns`` holds the flat fqn of every model, seed and snapshot of the product;
    ``label_of`` their group (``None`` for ephemeral models, which belong to none).
    """
    scoped = _Trie()
    unscoped = _Trie()  # fqns without their package: dbt matches those too
    for unique_id, fqn in fqns.items():
        label = label_of.get(unique_id)
        if label is None:
            continue
        scoped.add(fqn, label)
        unscoped.add(fqn[1:], label)
    labels = set(scoped.labels)
    if len(labels) == 1:
        return {next(iter(labels)): Selection(ALL)}
    return {label: _selection(label, scoped, unscoped) for label in labels}


def _selection(label: Hashable, scoped: _Trie, unscoped: _Trie) -> Selection:
    prefixes: list[tuple[str, ...]] = []
    criteria: list[str] = []

    def pure_elsewhere(path: tuple[str, ...]) -> bool:
        other = unscoped.find(path)
        return other is None or other.labels <= {label}

    def walk(node: _Trie, path: tuple[str, ...]) -> None:
        if label not in node.labels:
            return
        # Package roots are never one criterion: a one-part selector also matches by name.
        if len(path) >= 2 and node.labels == {label} and pure_elsewhere(path):
            prefixes.append(path)
            criteria.append(".".join(path))
            return
        if label in node.here and path:
            criteria.append(".".join(path))
        for part in sorted(node.children):
            walk(node.children[part], (*path, part))

    walk(scoped, ())
    return Selection(" ".join(criteria), tuple(prefixes))
