"""A safe, size-bounded YAML reader for user-written files such as ``floe.yaml``.

Checklist of what it guarantees (each refusal is a :class:`ProductSpecError` naming the file):

- Only :class:`yaml.SafeLoader` semantics: no Python object tags (``!!python/object`` is refused).
- Files over :data:`MAX_BYTES` (1 MiB) are refused before they are read: the size is checked
  with ``stat`` first, and the read itself is bounded, so a growing file cannot slip through.
- Alias bombs ("billion laughs") are refused: the composed node graph is measured with
  memoisation, so the count of *expanded* nodes costs one pass over the *unique* nodes; more
  than :data:`MAX_EXPANDED_NODES` expanded nodes, or any alias that refers to a node
  containing itself, is refused naming the limit.
- Documents nested deeper than Python's recursion allows are refused (not a crash).
- Duplicate keys in a mapping are an error naming the key and its line (PyYAML would silently
  keep the last one). Merge keys (``<<: *base``) keep their YAML meaning.
- The top level must be a mapping; an empty document is "``<file>`` is empty", a null one
  "holds no settings", each naming what the file must hold at least (the caller says: the
  registry reads ``manifest.yaml`` with it too).
- A YAML syntax error names the line and column; the file's text is never quoted (the parser's
  snippet is dropped from the chained exception, so ``--debug`` does not print it either).
- Positions are kept: :func:`load_yaml_document` returns the data with :class:`YamlLines`,
  which maps a field path as schema errors write it (``schedules[0].cron``,
  ``compute.targets["my-target"].type``) to the line where it is written — or, for a field
  that is missing, to the line of the closest part of the path that exists — so a schema
  error can say ``line 12: schedules[0].cron: …`` (:func:`with_lines`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from floe_orchestration_core.errors import FloeError, ProductSpecError

__all__ = [
    "MAX_BYTES",
    "MAX_EXPANDED_NODES",
    "SafeBoundedLoader",
    "YamlDocument",
    "YamlLines",
    "load_yaml_document",
    "load_yaml_mapping",
    "read_bounded",
    "with_lines",
]

#: Largest file accepted, in bytes.
MAX_BYTES = 1024 * 1024
#: Largest number of nodes the document may expand to once aliases are followed.
MAX_EXPANDED_NODES = 100_000

#: One part of a field path: ``.name`` (or a leading ``name``), ``[3]``, ``["any key"]``.
_PATH_PART = re.compile(
    r'\.?(?P<key>[A-Za-z_][A-Za-z0-9_]*)|\[(?P<index>\d+)\]|\[(?P<quoted>"(?:[^"\\]|\\.)*")\]'
)


class SafeBoundedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` unchanged: a distinct class so that registering constructors on it
    never alters PyYAML's global SafeLoader."""


def read_bounded(
    path: str | Path,
    *,
    limit: int = MAX_BYTES,
    what: str = "floe.yaml",
    expected_size: str = "a product and should be a few kilobytes",
    when_missing: str = "create it beside dbt_project.yml, or compile without it to use the "
    "defaults",
    error: Callable[[str], FloeError] = ProductSpecError,
) -> bytes:
    """The bytes of ``path``; ``error`` (ProductSpecError by default) when it is missing,
    unreadable or larger than ``limit``. ``what`` names the file in messages, ``expected_size``
    says what it describes, ``when_missing`` is the advice for a missing file."""
    path = Path(path)
    too_large = (
        f"{path}: the file is larger than the {limit:,}-byte limit; {what} describes "
        f"{expected_size}"
    )
    try:
        if path.stat().st_size > limit:
            raise error(too_large)
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise error(f"{path}: no such file; {when_missing}") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory; expected the {what} file") from None
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if len(data) > limit:
        raise error(too_large)
    return data


def _children(node: yaml.Node) -> Iterator[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        yield from node.value
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield key
            yield value


def _expanded_size(root: yaml.Node, origin: str) -> int:
    """Nodes in the document once every alias is expanded (iterative, memoised by identity)."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            total = 1 + sum(sizes[id(child)] for child in _children(node))
            if total > MAX_EXPANDED_NODES:
                raise ProductSpecError(
                    f"{origin}: the document expands to more than {MAX_EXPANDED_NODES:,} nodes "
                    "once its aliases are followed (an alias bomb?); write the values out or "
                    "use fewer aliases"
                )
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in on_path:
            mark = node.start_mark
            raise ProductSpecError(
                f"{origin}: line {mark.line + 1}: a recursive alias (a node that contains "
                "itself) is not allowed; aliases must refer to finished nodes"
            )
        on_path.add(key)
        stack.append((node, True))
        for child in _children(node):
            child_key = id(child)
            if child_key in on_path:
                mark = child.start_mark
                raise ProductSpecError(
                    f"{origin}: line {mark.line + 1}: a recursive alias (a node that contains "
                    "itself) is not allowed; aliases must refer to finished nodes"
                )
            if child_key not in sizes:
                stack.append((child, False))
    return sizes[id(root)]


def _check_duplicate_keys(root: yaml.Node, origin: str) -> None:
    seen_nodes: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first_line: dict[tuple[str, str], int] = {}
            for key, _ in node.value:
                if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
                    continue
                line = key.start_mark.line + 1
                identity = (key.tag, key.value)
                if identity in first_line:
                    previous = first_line[identity]
                    raise ProductSpecError(
                        f"{origin}: line {line}: duplicate key '{key.value}' (first defined on "
                        f"line {previous}); each key may appear once in a mapping"
                    )
                first_line[identity] = line
        stack.extend(_children(node))


class YamlLines:
    """Where each field of a YAML document is written: field path → 1-based line."""

    def __init__(self, root: yaml.Node | None = None) -> None:
        self._lines: dict[tuple[str | int, ...], int] = {}
        if root is not None:
            self._index(root)

    def _index(self, root: yaml.Node) -> None:
        seen: set[int] = set()
        stack: list[tuple[yaml.Node, tuple[str | int, ...]]] = [(root, ())]
        while stack:
            node, path = stack.pop()
            if id(node) in seen:  # an alias: its fields are where the anchor wrote them
                continue
            seen.add(id(node))
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                        child = (*path, str(key.value))
                        self._lines.setdefault(child, key.start_mark.line + 1)
                        stack.append((value, child))
            elif isinstance(node, yaml.SequenceNode):
                for index, item in enumerate(node.value):
                    child = (*path, index)
                    self._lines.setdefault(child, item.start_mark.line + 1)
                    stack.append((item, child))

    @staticmethod
    def parts(path: str) -> tuple[str | int, ...] | None:
        """``'schedules[0].cron'`` → ``('schedules', 0, 'cron')``; None when it is not a
        field path (``$``, free text)."""
        parts: list[str | int] = []
        position = 0
        while position < len(path):
            match = _PATH_PART.match(path, position)
            if match is None or (match.group(0).startswith(".") and position == 0):
                return None
            if match.group("key") is not None:
                parts.append(match.group("key"))
            elif match.group("index") is not None:
                parts.append(int(match.group("index")))
            else:
                parts.append(str(json.loads(match.group("quoted"))))
            position = match.end()
        return tuple(parts) or None

    def line_of(self, path: str) -> int | None:
        """The line where ``path`` is written, else where its closest written parent is."""
        parts = self.parts(path)
        while parts:
            line = self._lines.get(parts)
            if line is not None:
                return line
            parts = parts[:-1]
        return None


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML mapping and where each of its fields is written."""

    data: dict[str, Any]
    lines: YamlLines


def with_lines(problems: Iterable[tuple[str, str]], lines: YamlLines | None) -> list[str]:
    """``"line 12: schedules[0].cron: message"`` for each ``(path, message)`` (without the
    line when it is unknown): how a schema error lists the fields of a YAML file."""
    listed = []
    for path, message in problems:
        line = lines.line_of(path) if lines is not None else None
        listed.append(f"line {line}: {path}: {message}" if line else f"{path}: {message}")
    return listed


def load_yaml_mapping(
    text: str,
    *,
    origin: str = "floe.yaml",
    keys: str = "name:, compute:, …",
    minimal: str = "name: <product name>",
) -> dict[str, Any]:
    """Parse ``text`` (one YAML document whose top level is a mapping) safely.

    ``keys`` lists some top-level keys of the file and ``minimal`` the least it must hold,
    for messages about a document that is empty, null or not a mapping (defaults: floe.yaml's).
    """
    return load_yaml_document(text, origin=origin, keys=keys, minimal=minimal).data


def load_yaml_document(
    text: str,
    *,
    origin: str = "floe.yaml",
    keys: str = "name:, compute:, …",
    minimal: str = "name: <product name>",
) -> YamlDocument:
    """:func:`load_yaml_mapping`, keeping where each field is written (:class:`YamlLines`)."""
    loader = SafeBoundedLoader(text)
    try:
        try:
            root = loader.get_single_node()
        except RecursionError:
            raise ProductSpecError(
                f"{origin}: the document is nested too deeply to read; flatten it"
            ) from None
        if root is None:
            raise ProductSpecError(f"{origin} is empty; write at least '{minimal}'")
        _expanded_size(root, origin)
        _check_duplicate_keys(root, origin)
        if isinstance(root, yaml.ScalarNode) and root.tag == "tag:yaml.org,2002:null":
            raise ProductSpecError(
                f"{origin} holds no settings (the document is null); write at least '{minimal}'"
            )
        if not isinstance(root, yaml.MappingNode):
            raise ProductSpecError(
                f"{origin}: the top level must be a mapping of keys ({keys}), "
                f"got a {'list' if isinstance(root, yaml.SequenceNode) else 'single value'}"
            )
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        for each in (exc.problem_mark, exc.context_mark):
            if (
                each is not None
            ):  # its snippet of the file (a secret, maybe) stays out of tracebacks
                each.buffer = None
        raise ProductSpecError(f"{origin}: {where}{problem}") from exc
    except yaml.YAMLError as exc:
        raise ProductSpecError(f"{origin}: not valid YAML ({exc})") from exc
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ProductSpecError(f"{origin}: the top level must be a mapping of keys")
    return YamlDocument({str(key): value for key, value in data.items()}, YamlLines(root))
