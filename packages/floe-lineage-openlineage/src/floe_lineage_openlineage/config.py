"""The backend's configuration (``manifest.yaml`` ``lineage.config``) and its secrets.

``transport`` is the ``openlineage-python`` client's own transport configuration, with the
client's keys (``{type: http, url: ..., endpoint: ..., timeout: ...}``,
``{type: file, log_file_path: ..., append: true}``, ``{type: console}``,
``{type: composite, transports: [...]}``, ``{type: kafka, topic: ..., config: {...}}``),
plus three floe keys that keep secrets out of files and logs:

- ``api_key_env`` (http): the name of the environment variable holding the API key, sent as
  ``Authorization: Bearer <key>`` by the client's ``api_key`` auth;
- ``headers_env`` (http): ``{header name: environment variable}`` for secret headers;
- ``config_env`` (kafka): ``{producer config key: environment variable}``, e.g.
  ``{"sasl.password": "KAFKA_PASSWORD"}``.

Literal secrets are refused (an ``auth`` block with an ``apiKey``, a URL with a password).
:func:`resolve_transport` reads the variables when the backend is built and returns the
client configuration together with every secret value, which the backend redacts from
anything it logs. Every problem is a :class:`~floe_orchestration_core.errors.LineageError`
naming the key and the fix.

This module imports pydantic and the standard library only (never the OpenLineage client).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from floe_lineage_openlineage import __version__
from floe_orchestration_core.env_secrets import EnvironmentSecrets
from floe_orchestration_core.errors import LineageError

__all__ = ["OpenLineageConfig", "ResolvedTransport", "resolve_transport"]

#: Transport types the backend knows how to configure (each with the client's keys).
TRANSPORT_TYPES = ("console", "file", "http", "composite", "kafka", "noop")

_REQUIRED_KEYS: Mapping[str, tuple[str, ...]] = {
    "http": ("url",),
    "file": ("log_file_path",),
    "composite": ("transports",),
    "kafka": ("topic", "config"),
}
_EXAMPLES: Mapping[str, str] = {
    "http": "{type: http, url: 'http://marquez:5000', endpoint: api/v1/lineage}",
    "file": "{type: file, log_file_path: .floe/lineage/events.jsonl, append: true}",
    "composite": "{type: composite, transports: [{type: console}, {type: file, ...}]}",
    "kafka": "{type: kafka, topic: openlineage, config: {bootstrap.servers: 'kafka:9092'}}",
}
#: The client's own HTTP retries are off: the backend retries on its delivery thread.
NO_CLIENT_RETRIES: Mapping[str, Any] = {
    "total": 0,
    "connect": 0,
    "read": 0,
    "status": 0,
    "status_forcelist": [],
}


def default_producer() -> str:
    """``https://github.com/floe-orchestration/floe/tree/v<version>/packages/floe-lineage-openlineage``."""
    return (
        f"https://github.com/floe-orchestration/floe/tree/v{__version__}/packages/"
        "floe-lineage-openlineage"
    )


class OpenLineageConfig(BaseModel):
    """What ``lineage.config`` may hold for ``lineage: {type: openlineage}``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    transport: dict[str, Any] = Field(
        default_factory=lambda: {"type": "console"},
        description="the openlineage-python transport configuration (client keys)",
    )
    namespace: Annotated[str, Field(min_length=1)] = Field(
        default="floe", description="default job namespace of the events callers build"
    )
    producer: str | None = Field(
        default=None,
        description="producer URI of every event and facet (default: this package's URI)",
    )
    queue_size: int | None = Field(
        default=None,
        description="replaced by spool_max_bytes: undelivered events wait on disk",
    )
    spool_dir: str | None = Field(
        default=None,
        description="folder of the durable spool of undelivered events (relative: to the "
        "manifest's folder); default: the product's .floe/lineage/spool",
    )
    spool_max_bytes: Annotated[int, Field(ge=1 << 16, le=1 << 40)] = Field(
        default=256 << 20,
        description="bytes of undelivered events the spool holds; when full, new events are "
        "dropped (counted, one warning) and the stored ones kept",
    )
    flush_timeout: Annotated[float, Field(ge=0, le=300)] = Field(
        default=1.0,
        description="the longest the end of a process (and so of a run) waits for delivery; "
        "what is not delivered by then stays in the spool",
    )
    max_attempts: Annotated[int, Field(ge=1, le=1000)] | None = Field(
        default=None,
        description="attempts per event on transient failures before it is given up (kept "
        "in the spool's rejected.jsonl); default: no limit, it waits in the spool",
    )
    retry_backoff: Annotated[float, Field(gt=0, le=60)] = Field(
        default=0.25, description="first wait before retrying a transient failure, doubled"
    )
    retry_backoff_max: Annotated[float, Field(gt=0, le=600)] = Field(
        default=5.0, description="the longest wait between two attempts"
    )

    @field_validator("queue_size")
    @classmethod
    def _queue_size_is_gone(cls, value: int | None) -> int | None:
        if value is not None:
            raise ValueError(
                "queue_size is replaced by spool_max_bytes: undelivered events now wait on "
                "disk in the product's .floe/lineage/spool (default 268435456 bytes); remove "
                "queue_size"
            )
        return value

    @field_validator("transport")
    @classmethod
    def _transport_shape(cls, value: dict[str, Any]) -> dict[str, Any]:
        check_transport(value, path="transport")
        return value

    @field_validator("producer")
    @classmethod
    def _producer_is_uri(cls, value: str | None) -> str | None:
        if value is not None:
            parts = urlsplit(value)
            if not (parts.scheme and parts.netloc) or any(ch.isspace() for ch in value):
                raise ValueError(
                    f"producer must be an absolute URI such as "
                    f"'https://example.com/my-platform', got {value!r}"
                )
        return value


def check_transport(config: Mapping[str, Any], *, path: str) -> None:
    """Raise ValueError naming ``path`` when ``config`` is not a usable transport config."""
    if not isinstance(config, Mapping):
        raise ValueError(f"{path} must be a mapping such as {{type: console}}")
    kind = config.get("type")
    if not isinstance(kind, str) or not kind:
        raise ValueError(
            f"{path} needs a 'type': one of {', '.join(TRANSPORT_TYPES)}, e.g. {_EXAMPLES['file']}"
        )
    if kind not in TRANSPORT_TYPES:
        raise ValueError(
            f"{path}.type {kind!r} is not supported; use one of {', '.join(TRANSPORT_TYPES)}"
        )
    missing = [key for key in _REQUIRED_KEYS.get(kind, ()) if key not in config]
    if missing:
        raise ValueError(
            f"{path}: a {kind} transport needs {', '.join(repr(m) for m in missing)}, e.g. "
            f"{_EXAMPLES[kind]}"
        )
    if kind == "http":
        _check_http(config, path)
    elif kind == "composite":
        children = config["transports"]
        items = (
            list(children.items())
            if isinstance(children, Mapping)
            else list(enumerate(children))
            if isinstance(children, list)
            else None
        )
        if not items:
            raise ValueError(
                f"{path}.transports must be a non-empty list (or mapping) of transports"
            )
        for key, child in items:
            where = (
                f"{path}.transports[{key}]" if isinstance(key, int) else f"{path}.transports.{key}"
            )
            check_transport(child, path=where)
    elif kind == "kafka":
        _check_env_map(config.get("config_env"), f"{path}.config_env", "sasl.password")
        if not isinstance(config["config"], Mapping):
            raise ValueError(f"{path}.config must be a mapping of Kafka producer settings")


def _check_http(config: Mapping[str, Any], path: str) -> None:
    url = config["url"]
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{path}.url must be an http(s) URL such as 'http://marquez:5000'")
    if parts.password or parts.username:
        raise ValueError(
            f"{path}.url must not carry credentials; put the API key in an environment "
            "variable and name it in api_key_env"
        )
    auth = config.get("auth")
    if isinstance(auth, Mapping) and any(k in auth for k in ("apiKey", "apikey", "api_key")):
        raise ValueError(
            f"{path}.auth holds a literal API key; remove it and name an environment variable "
            "instead: api_key_env: OPENLINEAGE_API_KEY"
        )
    api_key_env = config.get("api_key_env")
    if api_key_env is not None and (not isinstance(api_key_env, str) or not api_key_env):
        raise ValueError(f"{path}.api_key_env must name an environment variable")
    _check_env_map(config.get("headers_env"), f"{path}.headers_env", "X-Api-Token")
    timeout = config.get("timeout")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
    ):
        raise ValueError(f"{path}.timeout must be a positive number of seconds, e.g. 2.0")


def _check_env_map(value: object, path: str, example: str) -> None:
    if value is None:
        return
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) and k and v for k, v in value.items()
    ):
        raise ValueError(f"{path} must map names to environment variables, e.g. {{{example}: VAR}}")


class ResolvedTransport:
    """The client's transport configuration with secrets read, and the secret values."""

    def __init__(self, config: dict[str, Any], secrets: frozenset[str]) -> None:
        self.config = config
        self.secrets = secrets

    def __repr__(self) -> str:  # never show the configuration: it holds secrets
        return f"ResolvedTransport(type={self.config.get('type')!r}, secrets={len(self.secrets)})"


def _read_env(env: EnvironmentSecrets, name: str, path: str) -> str:
    value = env.read(name, needed_by=path)
    if value is None:
        raise LineageError(
            f"{path} names the environment variable {name!r}, which is not set (or empty); "
            f"export {name}=... in the environment of every process that emits lineage"
        )
    return value


def resolve_transport(
    config: Mapping[str, Any], *, path: str = "transport", base_dir: str | None = None
) -> ResolvedTransport:
    """``config`` as the client expects it, secrets read from the environment.

    http: ``api_key_env`` becomes the client's ``auth: {type: api_key, apiKey: ...}``;
    ``custom_headers`` and ``headers_env`` become headers of a ``requests`` session handed to
    the client (so they never appear in the client's debug log of its configuration); the
    client's own retries are off unless ``retry`` is given. kafka: ``config_env`` entries are
    merged into ``config``. Raises LineageError for an unset (or empty) variable.
    """
    env = EnvironmentSecrets(empty_is_unset=True)
    resolved, literal_secrets = _resolve(config, path, base_dir, env)
    secrets = literal_secrets | env.values
    return ResolvedTransport(resolved, frozenset(s for s in secrets if s))


def _resolve(
    config: Mapping[str, Any], path: str, base_dir: str | None, env: EnvironmentSecrets
) -> tuple[dict[str, Any], set[str]]:
    """(the client's configuration, the secrets it holds that were not read from ``env``)."""
    try:
        check_transport(config, path=path)
    except ValueError as exc:
        raise LineageError(str(exc)) from exc
    resolved = {k: v for k, v in config.items() if k not in ("api_key_env", "headers_env")}
    secrets: set[str] = set()
    kind = config["type"]
    if kind == "file":
        resolved["log_file_path"] = _log_file(resolved["log_file_path"], path, base_dir)
    elif kind == "http":
        headers = dict(resolved.pop("custom_headers", None) or {})
        secrets.update(str(v) for v in headers.values())
        for header, variable in (config.get("headers_env") or {}).items():
            headers[header] = _read_env(env, variable, f"{path}.headers_env.{header}")
        if config.get("api_key_env"):
            key = _read_env(env, config["api_key_env"], f"{path}.api_key_env")
            resolved["auth"] = {"type": "api_key", "apiKey": key}
        resolved.setdefault("retry", dict(NO_CLIENT_RETRIES))
        resolved["session"] = _session(headers)
    elif kind == "composite":
        children = config["transports"]
        if isinstance(children, Mapping):
            named = {}
            for name, child in children.items():
                named[name], child_secrets = _resolve(
                    child, f"{path}.transports.{name}", base_dir, env
                )
                secrets |= child_secrets
            resolved["transports"] = named
        else:
            listed = []
            for index, child in enumerate(children):
                child_config, child_secrets = _resolve(
                    child, f"{path}.transports[{index}]", base_dir, env
                )
                listed.append(child_config)
                secrets |= child_secrets
            resolved["transports"] = listed
    elif kind == "kafka":
        producer_config = {str(k): v for k, v in config["config"].items()}
        for key, variable in (resolved.pop("config_env", None) or {}).items():
            producer_config[key] = _read_env(env, variable, f"{path}.config_env.{key}")
        resolved["config"] = producer_config
    return resolved, secrets


def _log_file(value: object, path: str, base_dir: str | None) -> str:
    """A relative log file starts from ``base_dir`` (the manifest's folder); its folder is
    created, as the client's file transport would otherwise fail on every event."""
    log_file = Path(str(value)).expanduser()
    if not log_file.is_absolute():
        log_file = Path(base_dir or Path.cwd()) / log_file
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LineageError(
            f"{path}.log_file_path: cannot create {log_file.parent} ({exc.strerror}); choose "
            "a writable folder"
        ) from exc
    return str(log_file)


def _session(headers: Mapping[str, str]) -> Any:
    from requests import Session

    session = Session()
    session.headers.update(headers)
    return session
