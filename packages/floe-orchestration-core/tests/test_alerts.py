"""Alerts: channels against real local receivers, deduplication, rate limits, secrets, slow runs."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from floe_orchestration_core.alerts import (
    Alert,
    AlertDeliveryError,
    AlertDispatcher,
    ChannelFactory,
    ChannelLimits,
    ConsoleChannel,
    EmailChannel,
    JsonFileAlertState,
    MemoryAlertState,
    WebhookChannel,
    channels_from_config,
    default_factory,
    slow_run_verdict,
)
from floe_orchestration_core.artifacts import (
    AlertChannelConfig,
    ConsoleAlertChannel,
    EmailAlertChannel,
    WebhookAlertChannel,
)
from floe_orchestration_core.env_secrets import EnvironmentSecrets
from floe_orchestration_core.errors import AlertError
from floe_orchestration_core.testing.alert_receivers import (
    BlackHole,
    SmtpReceiver,
    WebhookReceiver,
)

HEADER_CANARY = "hdr-canary-7f3a9c"
PASSWORD_CANARY = "pw-canary-51d0e2"
PATH_CANARY = "path-canary-99b1"


def _alert(key: str = "k", title: str = "Run failed: daily_job") -> Alert:
    return Alert(
        kind="run_failure",
        title=title,
        summary="step dbt_duckdb failed: boom",
        product="shop",
        job="daily_job",
        run_id="run-1",
        url="http://127.0.0.1:3000/runs/run-1",
        details={"failed_steps": "dbt_duckdb"},
        dedup_key=key,
    )


def _no_sleep(seconds: float) -> None:
    return None


class FakeClock:
    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


class RecordingChannel:
    def __init__(
        self, name: str = "rec", limits: ChannelLimits | None = None, *, fail: bool = False
    ) -> None:
        self.name = name
        self.limits = limits or ChannelLimits()
        self.fail = fail
        self.sent: list[Alert] = []

    def send(self, alert: Alert) -> None:
        if self.fail:
            raise AlertDeliveryError(f"channel {self.name} is down")
        self.sent.append(alert)


# Webhook -------------------------------------------------------------------------------------
def test_webhook_retries_server_errors_and_delivers_on_the_third_attempt() -> None:
    with WebhookReceiver([500, 500, 200]) as receiver:
        channel = WebhookChannel(name="hook", url=receiver.url + "/alerts", sleep=_no_sleep)
        channel.send(_alert())
        requests = receiver.received()
    assert len(requests) == 3
    payload = requests[-1].json()
    assert payload["kind"] == "run_failure"
    assert payload["job"] == "daily_job"
    assert payload["run_id"] == "run-1"
    assert payload["url"] == "http://127.0.0.1:3000/runs/run-1"
    assert payload["details"] == {"failed_steps": "dbt_duckdb"}
    assert "Run failed: daily_job" in payload["text"]
    assert requests[-1].path == "/alerts"
    assert requests[-1].headers["Content-Type"] == "application/json"


def test_webhook_gives_up_after_max_attempts() -> None:
    with WebhookReceiver([503]) as receiver:
        channel = WebhookChannel(name="hook", url=receiver.url, max_attempts=4, sleep=_no_sleep)
        with pytest.raises(AlertDeliveryError, match=r"after 4 attempt\(s\): HTTP 503"):
            channel.send(_alert())
        assert len(receiver.received()) == 4


def test_webhook_client_errors_are_not_retried() -> None:
    with WebhookReceiver([400]) as receiver:
        channel = WebhookChannel(name="hook", url=receiver.url, max_attempts=5, sleep=_no_sleep)
        with pytest.raises(AlertDeliveryError, match="HTTP 400"):
            channel.send(_alert())
        assert len(receiver.received()) == 1


def test_webhook_retries_429_waiting_at_least_retry_after() -> None:
    waits: list[float] = []
    with WebhookReceiver([429, 200], retry_after="3") as receiver:
        channel = WebhookChannel(
            name="hook", url=receiver.url, total_timeout_seconds=30, sleep=waits.append
        )
        channel.send(_alert())
        assert len(receiver.received()) == 2
    assert waits == [3.0]


def test_webhook_black_hole_is_bounded_by_the_total_timeout() -> None:
    with BlackHole() as hole:
        channel = WebhookChannel(
            name="hook", url=hole.url, timeout_seconds=0.6, max_attempts=10,
            total_timeout_seconds=1.5,
        )  # fmt: skip
        started = time.monotonic()
        with pytest.raises(AlertDeliveryError, match="no answer within"):
            channel.send(_alert())
        elapsed = time.monotonic() - started
    assert elapsed < 1.5 + 1.5  # generous: the contract is "bounded", not a precise duration


def test_webhook_refused_connection_is_retried_then_reported() -> None:
    with BlackHole() as hole:
        url = hole.url
    channel = WebhookChannel(name="hook", url=url, max_attempts=3, sleep=_no_sleep)
    with pytest.raises(AlertDeliveryError, match=r"after 3 attempt\(s\).*refused"):
        channel.send(_alert())


def test_webhook_secrets_reach_the_receiver_but_no_log_or_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with WebhookReceiver([500]) as receiver:
        channels = channels_from_config(
            [WebhookAlertChannel(
                name="hook", url=f"{receiver.url}/{PATH_CANARY}",
                headers_env={"Authorization": "HOOK_TOKEN"}, max_attempts=2,
            )],
            environ={"HOOK_TOKEN": HEADER_CANARY},
        )  # fmt: skip
        channel = channels["hook"]
        assert isinstance(channel, WebhookChannel)
        object.__setattr__(channel, "sleep", _no_sleep)  # frozen attrs: test-only speed-up
        report = AlertDispatcher(channels).dispatch(_alert(), ["hook"])
        requests = receiver.received()
    assert requests[0].headers["Authorization"] == HEADER_CANARY
    assert report.failed == ("hook",)
    visible = caplog.text + repr(report) + repr(channel) + str(channels)
    assert HEADER_CANARY not in visible
    assert PATH_CANARY not in visible
    assert "HTTP 500" in report.errors["hook"]


# Email ---------------------------------------------------------------------------------------
def test_email_reaches_a_real_smtp_server_with_login(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with SmtpReceiver(credentials=("floe", PASSWORD_CANARY)) as smtp:
        channels = channels_from_config(
            [
                EmailAlertChannel(
                    name="oncall",
                    smtp_host=smtp.host,
                    smtp_port=smtp.port,
                    username="floe",
                    password_env="SMTP_PASSWORD",
                    sender="floe@example.com",
                    recipients=("oncall@example.com", "lead@example.com"),
                )
            ],
            environ={"SMTP_PASSWORD": PASSWORD_CANARY},
        )
        report = AlertDispatcher(channels).dispatch(_alert(), ["oncall"])
        (mail,) = smtp.received()
    assert report.sent == ("oncall",)
    assert mail.login == "floe"
    assert mail.recipients == ("oncall@example.com", "lead@example.com")
    assert mail.subject == "[floe error] [shop] Run failed: daily_job"
    assert "step dbt_duckdb failed: boom" in mail.body
    assert "Run: run-1" in mail.body
    assert "Link: http://127.0.0.1:3000/runs/run-1" in mail.body
    assert PASSWORD_CANARY not in caplog.text + repr(channels)


def test_email_refused_login_is_reported_without_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with SmtpReceiver(credentials=("floe", "the-right-one")) as smtp:
        channel = EmailChannel(
            name="oncall", smtp_host=smtp.host, smtp_port=smtp.port, sender="floe@example.com",
            recipients=("oncall@example.com",), username="floe", password=PASSWORD_CANARY,
        )  # fmt: skip
        report = AlertDispatcher({"oncall": channel}).dispatch(_alert(), ["oncall"])
        assert smtp.received() == []
    assert report.failed == ("oncall",)
    assert "refused the login" in report.errors["oncall"]
    assert PASSWORD_CANARY not in caplog.text + repr(report) + repr(channel)


def test_email_to_a_closed_port_fails_within_its_timeout() -> None:
    with BlackHole() as hole:
        port = int(hole.url.rsplit(":", 1)[1].split("/")[0])
    channel = EmailChannel(
        name="oncall", smtp_host="127.0.0.1", smtp_port=port, sender="a@b",
        recipients=("c@d",), timeout_seconds=2,
    )  # fmt: skip
    with pytest.raises(AlertDeliveryError, match="refused"):
        channel.send(_alert())


# Configuration -------------------------------------------------------------------------------
def test_channels_from_config_names_every_missing_variable() -> None:
    configs: list[AlertChannelConfig] = [
        WebhookAlertChannel(name="hook", url="https://x.example/h", headers_env={"X-T": "TOKEN"}),
        EmailAlertChannel(
            name="mail", smtp_host="smtp", sender="a@b", recipients=("c@d",),
            password_env="SMTP_PW",
        ),
    ]  # fmt: skip
    with pytest.raises(AlertError, match="TOKEN") as raised:
        channels_from_config(configs, environ={})
    assert "SMTP_PW" in str(raised.value)


def test_console_is_always_available_and_limits_come_from_config() -> None:
    channels = channels_from_config(
        [ConsoleAlertChannel(name="ops", dedup_window_seconds=60, max_per_hour=5)], environ={}
    )
    assert set(channels) == {"console", "ops"}
    assert channels["ops"].limits == ChannelLimits(60.0, 5)


def test_a_channel_type_registered_on_a_factory_is_built_with_its_limits_and_secrets() -> None:
    delivered: list[str] = []

    @attrs.frozen
    class PagerChannel:  # what a new channel module provides
        name: str
        limits: ChannelLimits
        token: str | None

        @classmethod
        def from_config(
            cls, config: ConsoleAlertChannel, *, limits: ChannelLimits, secrets: EnvironmentSecrets
        ) -> PagerChannel:
            token = secrets.read("PAGER_TOKEN", needed_by=f"alert channel {config.name!r}")
            return cls(name=config.name, limits=limits, token=token)

        def send(self, alert: Alert) -> None:
            delivered.append(f"{self.token}:{alert.title}")

    factory = default_factory()
    factory.register("console", PagerChannel.from_config)
    channels = channels_from_config(
        [ConsoleAlertChannel(name="pager", max_per_hour=7)],
        environ={"PAGER_TOKEN": "tok"},
        factory=factory,
    )
    assert channels["pager"].limits == ChannelLimits(900.0, 7)
    assert AlertDispatcher(channels).dispatch(_alert(), ["pager"]).sent == ("pager",)
    assert delivered == ["tok:Run failed: daily_job"]
    assert isinstance(channels["console"], ConsoleChannel)  # the built-in one stays


def test_a_type_without_a_registered_channel_is_refused_naming_the_registered_ones() -> None:
    factory = ChannelFactory()
    factory.register("console", ConsoleChannel.from_config)
    factory.register("email", EmailChannel.from_config)
    with pytest.raises(AlertError, match=r"type 'webhook'.*registered: console, email"):
        channels_from_config(
            [WebhookAlertChannel(name="hook", url="https://x.example/h")], factory=factory
        )


def test_console_channel_logs_one_line_at_error(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="floe.alerts")
    ConsoleChannel().send(_alert())
    (record,) = caplog.records
    assert record.levelno == logging.ERROR
    assert "\n" not in record.getMessage()
    assert "Run failed: daily_job" in record.getMessage()
    assert "run=run-1" in record.getMessage()


# Dispatcher ----------------------------------------------------------------------------------
def test_same_key_within_the_window_is_sent_once_then_again_after_it() -> None:
    clock = FakeClock()
    channel = RecordingChannel(limits=ChannelLimits(dedup_window_seconds=600, max_per_hour=100))
    dispatcher = AlertDispatcher({"rec": channel}, clock=clock)
    assert dispatcher.dispatch(_alert("a"), ["rec"]).outcomes == {"rec": "sent"}
    clock.now += 599
    assert dispatcher.dispatch(_alert("a"), ["rec"]).outcomes == {"rec": "deduplicated"}
    assert dispatcher.dispatch(_alert("b"), ["rec"]).outcomes == {"rec": "sent"}
    clock.now += 2
    assert dispatcher.dispatch(_alert("a"), ["rec"]).outcomes == {"rec": "sent"}
    assert [a.key for a in channel.sent] == ["a", "b", "a"]


def test_rate_limit_counts_and_then_sends_one_summary() -> None:
    clock = FakeClock()
    channel = RecordingChannel(limits=ChannelLimits(dedup_window_seconds=0, max_per_hour=2))
    dispatcher = AlertDispatcher({"rec": channel}, clock=clock)
    outcomes = [dispatcher.dispatch(_alert(f"k{i}"), ["rec"]).outcomes["rec"] for i in range(5)]
    assert outcomes == ["sent", "sent", "suppressed", "suppressed", "suppressed"]
    assert dispatcher.flush_summaries() == {}  # no room yet
    clock.now += 3601
    assert dispatcher.flush_summaries() == {"rec": "sent"}
    assert dispatcher.flush_summaries() == {}
    summary = channel.sent[-1]
    assert summary.kind == "suppressed"
    assert summary.title == "3 alerts suppressed"
    assert summary.details["suppressed"] == 3


def test_a_failing_channel_is_reported_and_others_still_get_the_alert(
    caplog: pytest.LogCaptureFixture,
) -> None:
    good, bad = RecordingChannel("good"), RecordingChannel("bad", fail=True)
    dispatcher = AlertDispatcher({"good": good, "bad": bad})
    with caplog.at_level(logging.WARNING, logger="floe.alerts"):
        report = dispatcher.dispatch(_alert(), ["bad", "good", "nowhere"])
    assert report.outcomes == {"bad": "failed", "good": "sent", "nowhere": "unknown_channel"}
    assert "bad is down" in report.errors["bad"]
    assert len([r for r in caplog.records if "bad is down" in r.getMessage()]) == 1
    # A failed delivery is not remembered for deduplication: the next identical alert retries.
    bad.fail = False
    assert dispatcher.dispatch(_alert(), ["bad"]).outcomes == {"bad": "sent"}


def test_file_state_deduplicates_across_dispatchers(tmp_path: Path) -> None:
    state_path = tmp_path / "alerts" / "state.json"
    first, second = RecordingChannel(), RecordingChannel()
    AlertDispatcher({"rec": first}, state=JsonFileAlertState(state_path)).dispatch(
        _alert("x"), ["rec"]
    )
    report = AlertDispatcher({"rec": second}, state=JsonFileAlertState(state_path)).dispatch(
        _alert("x"), ["rec"]
    )
    assert report.outcomes == {"rec": "deduplicated"}
    assert len(first.sent) == 1
    assert second.sent == []


def test_corrupt_state_file_starts_afresh(tmp_path: Path) -> None:
    state_path = tmp_path / "state.json"
    state_path.write_text("{not json", encoding="utf-8")
    channel = RecordingChannel()
    report = AlertDispatcher({"rec": channel}, state=JsonFileAlertState(state_path)).dispatch(
        _alert(), ["rec"]
    )
    assert report.sent == ("rec",)


@settings(max_examples=150, deadline=None)
@given(
    events=st.lists(
        st.tuples(st.integers(min_value=0, max_value=1800), st.integers(0, 6)), max_size=80
    ),
    max_per_hour=st.integers(min_value=1, max_value=6),
    window=st.integers(min_value=0, max_value=3000),
)
def test_rate_limit_and_dedup_properties(
    events: list[tuple[int, int]], max_per_hour: int, window: int
) -> None:
    clock = FakeClock()
    channel = RecordingChannel(limits=ChannelLimits(float(window), max_per_hour))
    dispatcher = AlertDispatcher({"rec": channel}, clock=clock)
    send_times: list[float] = []
    counts = {"sent": 0, "deduplicated": 0, "suppressed": 0}
    for step, key in events:
        clock.now += step
        before = len(channel.sent)
        outcome = dispatcher.dispatch(_alert(f"k{key}"), ["rec"]).outcomes["rec"]
        counts[outcome] += 1
        send_times.extend([clock.now] * (len(channel.sent) - before))
        if step % 3 == 0:
            before = len(channel.sent)
            dispatcher.flush_summaries()
            send_times.extend([clock.now] * (len(channel.sent) - before))
    # every alert is sent, deduplicated, or suppressed (and then counted in a summary)
    assert sum(counts.values()) == len(events)
    summaries = [a for a in channel.sent if a.kind == "suppressed"]
    plain = [a for a in channel.sent if a.kind != "suppressed"]
    assert len(plain) == counts["sent"]
    assert isinstance(dispatcher.state, MemoryAlertState)
    pending = dispatcher.state.state.suppressed.get("rec", 0)
    summarised = sum(int(a.details["suppressed"] or 0) for a in summaries)
    assert summarised + pending == counts["suppressed"]
    # never more than max_per_hour sends (summaries included) in any sliding hour
    for i, start in enumerate(send_times):
        in_hour = [t for t in send_times[i:] if t - start < 3600]
        assert len(in_hour) <= max_per_hour


# Slow runs -----------------------------------------------------------------------------------
def test_slow_run_verdict_uses_the_median_of_the_window() -> None:
    history = [10.0, 12.0, 11.0, 500.0, 9.0]  # one outlier does not move the median
    verdict = slow_run_verdict(25.0, history, factor=2.0, window=5, min_history=3)
    assert verdict.slow
    assert verdict.median_seconds == 11.0
    assert verdict.ratio == pytest.approx(25 / 11)
    assert not slow_run_verdict(21.0, history, factor=2.0, window=5, min_history=3).slow
    # only the newest `window` runs count
    assert slow_run_verdict(25.0, [100.0, 100.0, 100.0, 1.0, 1.0], factor=2.0, window=3,
                            min_history=3).median_seconds == 100.0  # fmt: skip


def test_slow_run_verdict_needs_min_history_and_a_positive_median() -> None:
    assert not slow_run_verdict(99.0, [1.0, 1.0], factor=2, window=10, min_history=3).slow
    assert not slow_run_verdict(99.0, [0.0, 0.0, 0.0], factor=2, window=10, min_history=3).slow
    with pytest.raises(AlertError, match="factor > 1"):
        slow_run_verdict(1.0, [], factor=1.0, window=3, min_history=1)
