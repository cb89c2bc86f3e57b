"""Kubernetes resource specs: CPU/memory requests and limits, and the size presets.

Implementer's checklist (for an orchestrator adapter that sizes its workloads):

- Ask for a size with :func:`get_preset` (``small``, ``medium``, ``large``); an unknown size
  raises :class:`~floe_orchestration_core.errors.ResourceError` (a ``ValueError``) listing
  the valid ones. ``OrchestratorPlugin.get_resource_requirements`` is exactly this lookup
  unless the adapter documents different presets.
- A user-written spec (``manifest.yaml``) is validated by :class:`ResourceSpec` (pydantic,
  frozen, ``extra="forbid"``); from a raw mapping, :meth:`ResourceSpec.from_mapping` raises a
  ``ResourceError`` listing every invalid field.
- Hand Kubernetes :meth:`ResourceSpec.to_kubernetes` unchanged: quantities are already
  canonical strings (CPU in millicores, ``"2000m"``; memory with the largest suffix that
  divides it exactly, ``"4Gi"``, ``"1500M"``, ``"1"``).
- Compare quantities numerically with :func:`parse_quantity` (or the ``*_cores`` / ``*_bytes``
  properties), never as strings.

Quantity rules (:func:`parse_quantity`):

- Grammar: the Kubernetes quantity grammar, an unsigned decimal number (``2``, ``0.5``,
  ``.5``, ``+1``) followed by nothing, a binary suffix (``Ki Mi Gi Ti Pi Ei``), a decimal
  suffix (``n u m k M G T P E``) or a decimal exponent (``1e3``, ``5E-1``). Surrounding
  whitespace is ignored. ``int`` and finite ``float`` inputs are accepted (YAML ``2``,
  ``0.5``); ``bool`` is refused (YAML ``yes`` is not two cores).
- Refused: negatives, ``NaN``/``inf``, unknown suffixes (``500mb``), malformed numbers
  (``1.5.2``), a bare suffix (``Gi``), CPU finer than ``1m`` (Kubernetes refuses it), memory
  that is not a whole number of bytes, and memory with a sub-byte suffix (``m``, ``u``,
  ``n``: legal in Kubernetes but ``500m`` is half a byte, a mistake for ``500Mi``).
  Values above what Kubernetes stores in 64 bits (``2**63 - 1`` bytes or millicores) are
  refused too.
- Zero: a zero *request* is legal (Kubernetes "best effort" for that resource); a zero
  *limit* is refused by :class:`ResourceSpec` because it would stop the container from
  running at all. ``parse_quantity`` itself returns ``Decimal(0)`` for ``"0"``.
- Invariant (property-tested): ``parse_quantity(format_quantity(q)) == q`` for every valid
  quantity, and in every ``ResourceSpec`` each rendered request is at most its limit.
"""

from __future__ import annotations

import decimal
import math
import re
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from floe_orchestration_core.errors import ResourceError

__all__ = [
    "RESOURCE_PRESETS",
    "QuantityKind",
    "ResourceSpec",
    "format_quantity",
    "get_preset",
    "parse_quantity",
]

QuantityKind = Literal["cpu", "memory"]

_BINARY_SUFFIXES: Final[Mapping[str, int]] = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}
_DECIMAL_SUFFIXES: Final[Mapping[str, Decimal]] = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "E": Decimal(10**18),
}
#: Suffixes for rendering memory, largest multiplier first (binary and decimal interleaved).
_MEMORY_RENDER_SUFFIXES: Final[tuple[tuple[str, int], ...]] = tuple(
    sorted(
        [*_BINARY_SUFFIXES.items()] + [(s, int(m)) for s, m in _DECIMAL_SUFFIXES.items() if m >= 1],
        key=lambda item: item[1],
        reverse=True,
    )
)
_SUB_BYTE_SUFFIXES: Final = frozenset({"m", "u", "n"})
_SUB_BYTE_PREFIX: Final[Mapping[str, str]] = {"m": "milli", "u": "micro", "n": "nano"}

_QUANTITY = re.compile(
    r"(?P<sign>[+-]?)(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?:(?P<exponent>[eE][+-]?[0-9]+)|(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?"
)
_NUMBER_WITH_WORD = re.compile(r"(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(?P<word>[A-Za-z]+)")

_MAX_INT64: Final = 2**63 - 1
_MAX_TEXT_LENGTH: Final = 64
_MAX_EXPONENT: Final = 1000
_MILLI: Final = Decimal("0.001")
#: Exact arithmetic: inputs are at most 64 characters, multipliers at most 19 digits.
_EXACT: Final = decimal.Context(prec=200, Emax=10_000, Emin=-10_000, traps=[decimal.Overflow])

_EXAMPLES: Final[Mapping[str, str]] = {"cpu": "'500m' or '2'", "memory": "'512Mi' or '4Gi'"}
_SUFFIX_LIST = "binary Ki Mi Gi Ti Pi Ei, decimal n u m k M G T P E, or an exponent like 1e3"


def _what(kind: QuantityKind) -> str:
    return "a CPU quantity" if kind == "cpu" else "a memory quantity"


def _tidy(value: Decimal) -> Decimal:
    """The value without trailing zeros or exponent notation: 2000 → 2000, 0.500 → 0.5."""
    with decimal.localcontext(_EXACT):
        if value == value.to_integral_value():
            return Decimal(int(value))
        return value.normalize()


def _check_kind(kind: object) -> QuantityKind:
    if kind == "cpu":
        return "cpu"
    if kind == "memory":
        return "memory"
    raise ResourceError(f"unknown quantity kind {kind!r}; valid kinds: cpu, memory")


def _unknown_suffix_hint(text: str, kind: QuantityKind) -> str:
    match = _NUMBER_WITH_WORD.fullmatch(text)
    if match is None:
        return ""
    number, word = match["number"], match["word"]
    if kind == "memory" and word[0].lower() in "kmgtpe":
        binary = word[0].upper() + "i" if word[0].lower() != "k" else "Ki"
        return f"; did you mean '{number}{binary}'?"
    if kind == "cpu" and word[0].lower() == "m":
        return f"; did you mean '{number}m' (millicores)?"
    return ""


def _decimal_from_number(value: int | float, kind: QuantityKind) -> Decimal:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ResourceError(
                f"{value!r} is not {_what(kind)}: it must be a finite number, "
                f"e.g. {_EXAMPLES[kind]}"
            )
        return Decimal(repr(value))
    return Decimal(value)


def _decimal_from_text(text: str, kind: QuantityKind) -> Decimal:
    stripped = text.strip()
    if not stripped:
        raise ResourceError(f"empty quantity; expected {_what(kind)} such as {_EXAMPLES[kind]}")
    if len(stripped) > _MAX_TEXT_LENGTH:
        raise ResourceError(
            f"{stripped[:20]!r}… is {len(stripped)} characters long; {_what(kind)} has at most "
            f"{_MAX_TEXT_LENGTH}, e.g. {_EXAMPLES[kind]}"
        )
    match = _QUANTITY.fullmatch(stripped)
    if match is None:
        raise ResourceError(
            f"{stripped!r} is not {_what(kind)}: expected a number with an optional suffix "
            f"({_SUFFIX_LIST}), e.g. {_EXAMPLES[kind]}{_unknown_suffix_hint(stripped, kind)}"
        )
    if match["sign"] == "-":
        raise ResourceError(
            f"{stripped!r} is negative; {_what(kind)} must be zero or more, e.g. {_EXAMPLES[kind]}"
        )
    suffix = match["suffix"]
    if kind == "memory" and suffix in _SUB_BYTE_SUFFIXES:
        with decimal.localcontext(_EXACT):
            amount = _tidy(Decimal(match["number"]) * _DECIMAL_SUFFIXES[suffix])
        raise ResourceError(
            f"{stripped!r} means {amount} bytes ({suffix!r} is the {_SUB_BYTE_PREFIX[suffix]} "
            f"suffix); write '{match['number']}Mi' for mebibytes or "
            f"'{match['number']}M' for megabytes"
        )
    with decimal.localcontext(_EXACT):
        number = Decimal(match["number"])
        if match["exponent"] is not None:
            exponent = int(match["exponent"][1:])
            if abs(exponent) > _MAX_EXPONENT:
                raise ResourceError(
                    f"{stripped!r} has exponent {exponent}, out of range for {_what(kind)} "
                    f"(at most ±{_MAX_EXPONENT}); write e.g. {_EXAMPLES[kind]}"
                )
            return number.scaleb(exponent)
        if suffix is None:
            return number
        if suffix in _BINARY_SUFFIXES:
            return number * _BINARY_SUFFIXES[suffix]
        return number * _DECIMAL_SUFFIXES[suffix]


def parse_quantity(value: str | int | float, *, kind: QuantityKind) -> Decimal:
    """Parse a Kubernetes quantity: CPU into cores (``"500m"`` → ``0.5``), memory into bytes.

    >>> parse_quantity("500m", kind="cpu"), parse_quantity("1Gi", kind="memory")
    (Decimal('0.5'), Decimal('1073741824'))

    Raises :class:`ResourceError` naming the value and showing a valid example; see the
    module docstring for the exact rules.
    """
    kind = _check_kind(kind)
    if isinstance(value, bool):
        raise ResourceError(
            f"{value!r} is a boolean, not {_what(kind)}; write e.g. {_EXAMPLES[kind]} "
            "(quote it in YAML)"
        )
    if isinstance(value, int | float):
        amount = _decimal_from_number(value, kind)
        shown = repr(value)
    elif isinstance(value, str):
        amount = _decimal_from_text(value, kind)
        shown = repr(value.strip())
    else:
        raise ResourceError(
            f"{value!r} ({type(value).__name__}) is not {_what(kind)}; "
            f"write a string or number such as {_EXAMPLES[kind]}"
        )
    if amount < 0:
        raise ResourceError(
            f"{shown} is negative; {_what(kind)} must be zero or more, e.g. {_EXAMPLES[kind]}"
        )
    return _check_range_and_granularity(amount, kind, shown)


def _check_range_and_granularity(amount: Decimal, kind: QuantityKind, shown: str) -> Decimal:
    with decimal.localcontext(_EXACT):
        if kind == "cpu":
            millicores = amount * 1000
            if millicores > _MAX_INT64:
                raise ResourceError(
                    f"{shown} is more CPU than Kubernetes can represent "
                    f"({_MAX_INT64}m); write e.g. {_EXAMPLES['cpu']}"
                )
            if millicores != millicores.to_integral_value():
                rounded = int(millicores.to_integral_value(rounding=decimal.ROUND_CEILING))
                raise ResourceError(
                    f"{shown} is finer than 1m (0.001 CPU), which Kubernetes does not allow; "
                    f"write whole millicores, e.g. '{rounded}m'"
                )
        else:
            if amount > _MAX_INT64:
                raise ResourceError(
                    f"{shown} is more memory than Kubernetes can represent "
                    f"({_MAX_INT64} bytes); write e.g. {_EXAMPLES['memory']}"
                )
            if amount != amount.to_integral_value():
                rounded = int(amount.to_integral_value(rounding=decimal.ROUND_CEILING))
                raise ResourceError(
                    f"{shown} is not a whole number of bytes ({_tidy(amount)}); "
                    f"write e.g. '{format_quantity(Decimal(rounded), kind='memory')}'"
                )
    return _tidy(amount)


def format_quantity(value: Decimal | int, *, kind: QuantityKind) -> str:
    """Render cores or bytes as a canonical Kubernetes quantity string.

    CPU is rendered in millicores (``Decimal("2")`` → ``"2000m"``); memory with the suffix of
    largest multiplier that divides it exactly (``1073741824`` → ``"1Gi"``, ``2 * 10**9`` →
    ``"2G"``, ``1000`` → ``"1k"``, ``7`` → ``"7"``). Zero is ``"0"`` for both kinds.
    Raises :class:`ResourceError` for values :func:`parse_quantity` would refuse.
    """
    kind = _check_kind(kind)
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise ResourceError(
            f"format_quantity takes a Decimal or int number of "
            f"{'cores' if kind == 'cpu' else 'bytes'}, got {type(value).__name__} {value!r}"
        )
    amount = Decimal(value)
    if not amount.is_finite() or amount < 0:
        raise ResourceError(
            f"{value!r} cannot be rendered as {_what(kind)}: it must be finite and zero or more"
        )
    amount = _check_range_and_granularity(amount, kind, repr(value))
    if amount == 0:
        return "0"
    if kind == "cpu":
        with decimal.localcontext(_EXACT):
            return f"{int(amount * 1000)}m"
    size = int(amount)
    for suffix, multiplier in _MEMORY_RENDER_SUFFIXES:
        if size % multiplier == 0:
            return f"{size // multiplier}{suffix}"
    return str(size)


_FIELD_KINDS: Final[Mapping[str, QuantityKind]] = {
    "cpu_request": "cpu",
    "cpu_limit": "cpu",
    "memory_request": "memory",
    "memory_limit": "memory",
}


class ResourceSpec(BaseModel):
    """CPU and memory requests and limits of one workload, as canonical Kubernetes quantities.

    Each field accepts a quantity string or a number (YAML ``cpu_limit: 2``) and stores the
    canonical string (``"2000m"``). A request must not exceed its limit; a limit must not be
    zero. Errors name the field and value and give an example; constructing the model raises
    pydantic's ``ValidationError`` (a ``ValueError``), :meth:`from_mapping` a ``ResourceError``.

    >>> spec = ResourceSpec(cpu_request="0.5", cpu_limit=2, memory_request="1Gi",
    ...                     memory_limit="4096Mi")
    >>> spec.to_kubernetes()
    {'requests': {'cpu': '500m', 'memory': '1Gi'}, 'limits': {'cpu': '2000m', 'memory': '4Gi'}}
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    cpu_request: str
    cpu_limit: str
    memory_request: str
    memory_limit: str

    @field_validator("cpu_request", "cpu_limit", "memory_request", "memory_limit", mode="before")
    @classmethod
    def _canonical_quantity(cls, value: Any, info: ValidationInfo) -> str:
        field = info.field_name or "quantity"
        kind = _FIELD_KINDS[field]
        try:
            amount = parse_quantity(value, kind=kind)
        except ResourceError as exc:
            raise ResourceError(f"{field}: {exc}") from exc
        if amount == 0 and field.endswith("_limit"):
            raise ResourceError(
                f"{field}: {value!r} is zero, which would stop the container from running; "
                f"set a positive limit such as {_EXAMPLES[kind]}"
            )
        return format_quantity(amount, kind=kind)

    @model_validator(mode="after")
    def _requests_within_limits(self) -> ResourceSpec:
        problems = []
        if self.cpu_request_cores > self.cpu_limit_cores:
            problems.append(
                f"cpu_request {self.cpu_request!r} exceeds cpu_limit {self.cpu_limit!r}; a "
                f"request must not exceed its limit, e.g. cpu_request: {self.cpu_limit}"
            )
        if self.memory_request_bytes > self.memory_limit_bytes:
            problems.append(
                f"memory_request {self.memory_request!r} exceeds memory_limit "
                f"{self.memory_limit!r}; a request must not exceed its limit, "
                f"e.g. memory_request: {self.memory_limit}"
            )
        if problems:
            raise ResourceError("\n".join(problems))
        return self

    @property
    def cpu_request_cores(self) -> Decimal:
        """The CPU request in cores (``"500m"`` → ``Decimal("0.5")``)."""
        return parse_quantity(self.cpu_request, kind="cpu")

    @property
    def cpu_limit_cores(self) -> Decimal:
        """The CPU limit in cores."""
        return parse_quantity(self.cpu_limit, kind="cpu")

    @property
    def memory_request_bytes(self) -> Decimal:
        """The memory request in bytes (``"1Gi"`` → ``Decimal(1073741824)``)."""
        return parse_quantity(self.memory_request, kind="memory")

    @property
    def memory_limit_bytes(self) -> Decimal:
        """The memory limit in bytes."""
        return parse_quantity(self.memory_limit, kind="memory")

    def to_kubernetes(self) -> dict[str, dict[str, str]]:
        """The ``resources`` block of a Kubernetes container spec."""
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, origin: str = "resources") -> ResourceSpec:
        """Validate a spec read from a file, raising :class:`ResourceError` listing every problem.

        ``origin`` prefixes the message (e.g. ``"manifest.yaml: orchestrator.resources"``).
        """
        if not isinstance(data, Mapping):
            raise ResourceError(
                f"{origin}: expected a mapping with cpu_request, cpu_limit, memory_request and "
                f"memory_limit, got {type(data).__name__}"
            )
        try:
            return cls.model_validate(dict(data))
        except PydanticValidationError as exc:
            lines = []
            for error in exc.errors(include_url=False):
                message = str(error["msg"]).removeprefix("Value error, ")
                location = ".".join(str(part) for part in error["loc"])
                if error["type"] == "missing":
                    message = f"{location}: required, e.g. {location}: " + (
                        "500m" if location.startswith("cpu") else "1Gi"
                    )
                elif error["type"] == "extra_forbidden":
                    message = (
                        f"{location}: unknown field; valid fields: cpu_request, cpu_limit, "
                        "memory_request, memory_limit"
                    )
                lines.append(message)
            raise ResourceError(
                f"{origin}: invalid resource spec:\n  " + "\n  ".join(lines)
            ) from exc


RESOURCE_PRESETS: Final[Mapping[str, ResourceSpec]] = MappingProxyType(
    {
        "small": ResourceSpec(
            cpu_request="250m", cpu_limit="1000m", memory_request="512Mi", memory_limit="2Gi"
        ),
        "medium": ResourceSpec(
            cpu_request="500m", cpu_limit="2000m", memory_request="1Gi", memory_limit="4Gi"
        ),
        "large": ResourceSpec(
            cpu_request="1000m", cpu_limit="4000m", memory_request="2Gi", memory_limit="8Gi"
        ),
    }
)


def get_preset(size: str) -> ResourceSpec:
    """The :class:`ResourceSpec` of a named size.

    >>> get_preset("medium").cpu_limit
    '2000m'

    Raises :class:`ResourceError` (a ``ValueError``) for any other size:
    ``unknown size 'xl'; valid sizes: small, medium, large``.
    """
    if isinstance(size, str) and size in RESOURCE_PRESETS:
        return RESOURCE_PRESETS[size]
    raise ResourceError(f"unknown size {size!r}; valid sizes: {', '.join(RESOURCE_PRESETS)}")
