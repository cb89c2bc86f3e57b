"""Assembling a product's Dagster ``Definitions`` from its CompiledArtifacts.

=====================  ======================================================================
module                 holds
=====================  ======================================================================
:mod:`.build`          ``build_product_definitions`` (what ``create_definitions`` returns),
                       ``build_definitions``, the executor, the product's metadata
:mod:`.groups`         which transforms one ``@dbt_assets`` builds (compute target, partition,
                       stage)
:mod:`.dbt_assets`     one ``@dbt_assets`` per group, and its ``dbt build`` op
:mod:`.sources`        the dbt sources some asset reads, as ``AssetSpec``s
:mod:`.python_assets`  the product's Python assets as ``@multi_asset``s
:mod:`.ingestion`      the declared ingestion: one subsettable ``@multi_asset`` per entry
:mod:`.asset_specs`    ``create_assets_from_transforms``: specs without a manifest
:mod:`.jobs`           jobs, schedules, retry policies, partitions
:mod:`.sensors`        which sensors the product gets (``floe_orchestrator_dagster.sensors``)
:mod:`.selection`      a selection → asset keys (the one place it is done)
=====================  ======================================================================
"""
