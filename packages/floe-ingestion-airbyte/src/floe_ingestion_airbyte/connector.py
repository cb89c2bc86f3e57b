"""An entry's ``source:`` as an Airbyte connector, and what else an airbyte entry may say.

``source`` names a Python Airbyte connector published on PyPI as ``airbyte-<source>``, with an
optional exact version: ``source-faker`` or ``source-faker==7.2.1``. Pin the version: the
connector's virtual environment is cached by it (an unpinned source is installed once, at
whatever version was newest then, and kept). The entry's ``config`` is the connector's own
(validated by the connector's spec when it runs); streams take no options.

Standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from floe_orchestration_core.artifacts import IngestionConfig

__all__ = ["ConnectorSource", "entry_problems"]

_SOURCE = re.compile(
    r"^(?P<name>source-[a-z0-9][a-z0-9-]*)(==(?P<version>[0-9][A-Za-z0-9.+!-]*))?$"
)


@dataclass(frozen=True, slots=True)
class ConnectorSource:
    """A Python Airbyte source connector: ``source-faker`` at ``7.2.1`` (None: unpinned)."""

    name: str
    version: str | None = None

    @classmethod
    def parse(cls, source: str) -> ConnectorSource | None:
        """The connector ``source`` names, or None when it is not ``source-x[==version]``."""
        match = _SOURCE.match(source.strip())
        if match is None:
            return None
        return cls(name=match.group("name"), version=match.group("version"))

    @property
    def package(self) -> str:
        """The PyPI distribution: ``airbyte-source-faker``."""
        return f"airbyte-{self.name}"

    @property
    def requirement(self) -> str:
        """What pip installs: ``airbyte-source-faker==7.2.1`` (or the bare package)."""
        return f"{self.package}=={self.version}" if self.version else self.package

    @property
    def executable(self) -> str:
        """The console script the package installs: ``source-faker``."""
        return self.name

    @property
    def cache_key(self) -> str:
        """The folder name of its cached virtual environment: ``source-faker-7.2.1``."""
        return f"{self.name}-{self.version or 'unpinned'}"


def entry_problems(entry: IngestionConfig) -> Iterator[str]:
    """Problems of an airbyte entry as ``path: message`` (relative to the entry)."""
    if ConnectorSource.parse(entry.source) is None:
        yield (
            f"source: '{entry.source}' is not an Airbyte source connector; write its name as "
            "published on PyPI without the 'airbyte-' prefix, e.g. source-faker or "
            "source-faker==7.2.1 (Python connectors only)"
        )
    for index, stream in enumerate(entry.streams):
        for key in sorted(stream.options):
            yield (
                f"streams[{index}].{key}: airbyte streams take no options; name the stream "
                f"only (its sync mode comes from the connector's catalog)"
            )
