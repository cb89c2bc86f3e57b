"""Lineage at run time: START and COMPLETE/FAIL events from Dagster runs, models and assets.

Where events come from (one START and one terminal event per run id, START first):

=========================  ==============================================================
job run                    emitted by
=========================  ==============================================================
a dbt model, seed,         the ``@dbt_assets`` op, from dbt's structured events as they
snapshot or test           stream (:mod:`.dbt_events`)
a Python asset             the asset's op, through :class:`~.assets.AssetLineage`
a Dagster run launched by  the sensor ``floe_lineage_runs`` (:mod:`.sensor`; needs
the daemon or webserver    ``dagster-daemon``)
a Dagster run executed     the caller, through :class:`~.runs.RunLineage`, which tags the run
in process by floe         ``floe/lineage: inline`` so the sensor leaves it alone
=========================  ==============================================================

Names: the job namespace is the product's ``lineage.namespace`` (floe.yaml) when it is not the
default ``floe``, else the lineage backend's namespace (manifest.yaml). Job names are
``{product}.{dagster job}``, ``{product}.model.{name}`` (``seed``/``snapshot`` likewise),
``{product}.test.{name}`` and ``{product}.asset.{name}``. A model's run has the Dagster run as
parent. The Dagster run's lineage run id is a UUIDv7 derived from the Dagster run id and the
run's creation time (:func:`~.emitter.lineage_run_id`), so the sensor and every step process
agree on it without talking to each other; an in-process run carries it in the tag
``floe/lineage_run_id``.

======================  =====================================================================
module                  holds
======================  =====================================================================
:mod:`.emitter`         ``LineageEmitter`` (backend, namespace, product, flush budget), run
                        ids, the parent run of a Dagster run
:mod:`.datasets`        the product's lineage model (the core's ``ProductLineage``, shared with
                        design time) and nodes the artifacts do not know
:mod:`.redaction`       ``redact`` and ``safe_error``: no secret in an event
:mod:`.runs`            ``RunLineage``: in-process Dagster runs (``floe run``)
:mod:`.assets`          ``AssetLineage``: Python assets
:mod:`.dbt_events`      dbt's structured events as lineage, as they stream out of ``dbt build``
:mod:`.dbt_op`          what the ``@dbt_assets`` op yields: the events, their lineage, and
                        ``dagster/column_lineage`` / ``dagster/row_count``
:mod:`.dbt_facts`       column lineage and row counts of what an invocation built
:mod:`.column_lineage`  a model's column lineage from its compiled SQL (sqlglot)
:mod:`.warehouse`       columns and row counts read from the warehouse (DuckDB after dbt
                        exited, Postgres)
:mod:`.sensor`          the ``floe_lineage_runs`` sensor: Dagster runs launched by Dagster,
                        and delivery of the spooled backlog under ``floe up``
======================  =====================================================================

Lineage never fails or stalls a run: building an event that goes wrong is logged and dropped;
delivery is the backend's (the OpenLineage backend spools what it cannot deliver); flushes
during a run have a deadline (``FLUSH_BUDGET_SECONDS`` per run and process). Error
texts go through ``redact`` (URL credentials, ``password=…``-style pairs, bearer tokens and
the values of secret-looking environment variables are replaced by ``***``).
"""
