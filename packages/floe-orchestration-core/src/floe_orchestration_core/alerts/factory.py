"""Alert channels built from the artifacts' ``alert_channels``, by ``type``.

The way openlineage-python's ``DefaultTransportFactory`` builds transports: a
:class:`ChannelFactory` maps each channel ``type`` to a builder, the ``from_config``
classmethod of the channel's class, which gets the channel's config, its
:class:`~floe_orchestration_core.alerts.model.ChannelLimits` and the
:class:`~floe_orchestration_core.env_secrets.EnvironmentSecrets` to read its secrets from.

Adding a channel type is one module in :mod:`floe_orchestration_core.alerts.channels` (a class
with ``name``, ``limits``, ``send`` and ``from_config``), its line in :func:`default_factory`,
and its config model in :mod:`floe_orchestration_core.artifacts.alerting` (the artifacts'
schema lists every type).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from floe_orchestration_core.alerts.channels.console import ConsoleChannel
from floe_orchestration_core.alerts.channels.email import EmailChannel
from floe_orchestration_core.alerts.channels.webhook import WebhookChannel
from floe_orchestration_core.alerts.model import AlertChannel, ChannelLimits
from floe_orchestration_core.env_secrets import EnvironmentSecrets
from floe_orchestration_core.errors import AlertError

if TYPE_CHECKING:
    from floe_orchestration_core.artifacts import AlertChannelConfig

__all__ = ["ChannelBuilder", "ChannelFactory", "channels_from_config", "default_factory"]

#: Builds one channel: ``builder(config, limits=..., secrets=...)``.
ChannelBuilder = Callable[..., AlertChannel]


class ChannelFactory:
    """Channel builders by ``type``; :meth:`create` builds the channel a config declares."""

    def __init__(self) -> None:
        self._builders: dict[str, ChannelBuilder] = {}

    def register(self, channel_type: str, builder: ChannelBuilder) -> None:
        """Build channels of ``channel_type`` with ``builder`` (a later registration wins)."""
        self._builders[channel_type] = builder

    @property
    def types(self) -> tuple[str, ...]:
        """The registered channel types, sorted."""
        return tuple(sorted(self._builders))

    def create(self, config: AlertChannelConfig, secrets: EnvironmentSecrets) -> AlertChannel:
        """The channel ``config`` (an artifacts alert channel) declares.

        Secrets it needs are read from ``secrets``; a missing one is noted there, not raised.
        Raises :class:`AlertError` for a type no builder is registered for.
        """
        builder = self._builders.get(config.type)
        if builder is None:
            raise AlertError(
                f"alert channel {config.name!r} has type {config.type!r}, which no channel "
                f"is registered for; registered: {', '.join(self.types)}"
            )
        limits = ChannelLimits(float(config.dedup_window_seconds), config.max_per_hour)
        return builder(config, limits=limits, secrets=secrets)


def default_factory() -> ChannelFactory:
    """A factory with floe's channel types: ``console``, ``webhook`` and ``email``."""
    factory = ChannelFactory()
    factory.register("console", ConsoleChannel.from_config)
    factory.register("webhook", WebhookChannel.from_config)
    factory.register("email", EmailChannel.from_config)
    return factory


def channels_from_config(
    configs: Iterable[AlertChannelConfig],
    environ: Mapping[str, str] | None = None,
    *,
    factory: ChannelFactory | None = None,
) -> dict[str, AlertChannel]:
    """The channels the artifacts declare, by name, plus ``console`` when not declared.

    Secrets are read from ``environ`` (default: ``os.environ``) now; every missing variable is
    listed in one :class:`AlertError`.
    """
    secrets = EnvironmentSecrets(environ)
    builders = default_factory() if factory is None else factory
    channels: dict[str, AlertChannel] = {"console": ConsoleChannel()}
    for config in configs:
        channels[config.name] = builders.create(config, secrets)
    if secrets.missing:
        raise AlertError(
            "alert channels need environment variables that are not set (set them where the "
            "orchestrator's code runs):\n  "
            + "\n  ".join(
                f"{m.needed_by} reads environment variable {m.variable}, which is not set"
                for m in secrets.missing
            )
        )
    return channels
