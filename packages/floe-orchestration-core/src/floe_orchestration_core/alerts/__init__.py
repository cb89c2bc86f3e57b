"""Alerts: what an alert says, and how it reaches channels without flooding them.

Implementer's checklist (for an orchestrator adapter that raises alerts):

- Build the channels once, when definitions are built, with
  :func:`floe_orchestration_core.alerts.channels_from_config`: it reads the secrets'
  environment variables then, so a missing variable is an
  :class:`~floe_orchestration_core.errors.AlertError` naming it before any run happens.
  The channel ``console`` always exists.
- Make one :class:`AlertDispatcher` for all the alerts of a code location (channels' rate limits
  are per channel, whoever sends), give it a :class:`JsonFileAlertState` where the orchestrator
  keeps files (Dagster: the instance's folder) so deduplication and rate limits survive
  restarts and are shared between processes, and call :meth:`AlertDispatcher.dispatch`.
- :meth:`AlertDispatcher.dispatch` never raises: a failing channel is logged once (logger
  ``floe.alerts``, WARNING) and reported in the :class:`DispatchReport`. Never let an alert
  change a run's status.
- Give every alert a stable :attr:`Alert.dedup_key` (the same problem → the same key): within a
  channel's ``dedup_window_seconds`` it is sent once, later copies are counted.
- Over a channel's ``max_per_hour`` (a sliding hour), alerts are counted, not sent; the next
  time the channel may send, one ``"N alerts suppressed"`` summary goes first. Call
  :meth:`AlertDispatcher.flush_summaries` from something that runs regularly (a sensor tick) so
  a summary is not left waiting for the next alert.
- Secrets (webhook header values, SMTP passwords) live only inside channel objects; they never
  reach an alert, a report or a log line.
- :func:`slow_run_verdict` decides whether a run is slow against its rolling median.
- A channel's ``send`` raises :class:`AlertDeliveryError` when it gives up; its messages name
  the channel and the endpoint's scheme, host and port only, never header values or passwords.

Modules: :mod:`~floe_orchestration_core.alerts.model` (the alert and the channel port),
:mod:`~floe_orchestration_core.alerts.dispatcher`, :mod:`~floe_orchestration_core.alerts.state`,
:mod:`~floe_orchestration_core.alerts.slow_runs`, :mod:`~floe_orchestration_core.alerts.factory`
(channels by ``type``) and :mod:`~floe_orchestration_core.alerts.channels` (one module per
channel type). Every public name is importable from this package.
"""

from __future__ import annotations

from floe_orchestration_core.alerts.channels.console import ConsoleChannel
from floe_orchestration_core.alerts.channels.email import EmailChannel
from floe_orchestration_core.alerts.channels.webhook import WebhookChannel, endpoint_of
from floe_orchestration_core.alerts.dispatcher import (
    AlertDispatcher,
    DispatchOutcome,
    DispatchReport,
)
from floe_orchestration_core.alerts.factory import (
    ChannelBuilder,
    ChannelFactory,
    channels_from_config,
    default_factory,
)
from floe_orchestration_core.alerts.model import (
    ALERT_LOGGER,
    Alert,
    AlertChannel,
    AlertDeliveryError,
    AlertKind,
    AlertSeverity,
    ChannelLimits,
)
from floe_orchestration_core.alerts.slow_runs import SlowRunVerdict, slow_run_verdict
from floe_orchestration_core.alerts.state import (
    AlertState,
    AlertStateStore,
    JsonFileAlertState,
    MemoryAlertState,
)

__all__ = [
    "ALERT_LOGGER",
    "Alert",
    "AlertChannel",
    "AlertDeliveryError",
    "AlertDispatcher",
    "AlertKind",
    "AlertSeverity",
    "AlertState",
    "AlertStateStore",
    "ChannelBuilder",
    "ChannelFactory",
    "ChannelLimits",
    "ConsoleChannel",
    "DispatchOutcome",
    "DispatchReport",
    "EmailChannel",
    "JsonFileAlertState",
    "MemoryAlertState",
    "SlowRunVerdict",
    "WebhookChannel",
    "channels_from_config",
    "default_factory",
    "endpoint_of",
    "slow_run_verdict",
]
