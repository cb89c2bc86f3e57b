"""dbt profiles, read and rendered the way dbt reads them, without importing dbt.

The dbt profile is the source of truth for where a product's compute targets run:

- :mod:`~floe_orchestration_core.dbt_profiles.rendering`: the Jinja profiles use
  (``env_var`` with and without defaults, ``var`` defaults, dbt's ``as_*`` filters);
- :mod:`~floe_orchestration_core.dbt_profiles.reading`: which ``profiles.yml``, profile and
  target dbt would use (:func:`find_profile`, :func:`load_profile`, :class:`ProfileTarget`);
- :mod:`~floe_orchestration_core.dbt_profiles.connections`: a target's :class:`Warehouse`
  (a DB-API connection, a SQLAlchemy URL, the DuckDB file) for Python assets.

The compiler records a target's non-secret details (:data:`PUBLIC_KEYS`) in the artifacts;
secrets are read from the profile only when a connection is made.
"""

from floe_orchestration_core.dbt_profiles.connections import (
    CONNECTABLE_TYPES,
    Warehouse,
    compute_warehouse,
)
from floe_orchestration_core.dbt_profiles.reading import (
    PUBLIC_KEYS,
    DbtProfile,
    ProfileTarget,
    find_profile,
    load_profile,
    profiles_file,
)
from floe_orchestration_core.dbt_profiles.rendering import SUPPORTED_FILTERS, render_value

__all__ = [
    "CONNECTABLE_TYPES",
    "PUBLIC_KEYS",
    "SUPPORTED_FILTERS",
    "DbtProfile",
    "ProfileTarget",
    "Warehouse",
    "compute_warehouse",
    "find_profile",
    "load_profile",
    "profiles_file",
    "render_value",
]
