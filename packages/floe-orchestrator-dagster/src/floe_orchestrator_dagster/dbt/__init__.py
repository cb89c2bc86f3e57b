"""The dbt integration: what the adapter hands dagster-dbt, and how dbt runs.

==================  =======================================================================
module              holds
==================  =======================================================================
:mod:`.translator`  ``FloeDagsterDbtTranslator`` (floe's metadata, tags, owners, groups,
                    blocking checks) and ``asset_key_for`` (the key rule without a manifest)
:mod:`.tags`        dbt tags as Dagster tag keys, collisions refused
:mod:`.specs`       ``@dbt_assets`` for a selection floe already knows (decision 5)
:mod:`.manifest`    the normalised manifest, and the small one each ``@dbt_assets`` gets
:mod:`.manifest_files`  finding and reading ``manifest.json`` and the slim manifest
:mod:`.nodes`       one dbt node per resource type, as dagster-dbt reads it
:mod:`.selection`   the shortest dbt selection strings for each group of transforms
:mod:`.resource`    the ``DbtCliResource`` of a compute target
:mod:`.parse_cache` each op's own dbt partial-parse state
:mod:`.warm`        the warm dbt server (decision 6) and :mod:`.warm_client`, its ``dbt``
==================  =======================================================================

This package module imports nothing: the warm dbt client runs with ``python -S`` and must
start in milliseconds.
"""
