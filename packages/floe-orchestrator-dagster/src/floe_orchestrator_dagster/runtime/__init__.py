"""The Dagster adapter's local runtime: ``floe up``/``status``/``down`` and ``floe run``.

======================  ========================================================================
module                  does
======================  ========================================================================
:mod:`.home`            the product-local ``DAGSTER_HOME`` (``dagster.yaml``, ``workspace.yaml``)
:mod:`.state`           ``.floe/runtime.json``: which processes ``floe up`` started
:mod:`.processes`       port check, spawning (own process group, dies with floe), stopping
:mod:`.supervisor`      :class:`DagsterLocalRuntime`: start, supervise, stop, status
:mod:`.status`          services' CPU/memory, schedules, sensors, recent and slow runs
:mod:`.run_log`         ``floe logs``: one run's events and captured output
:mod:`.launcher`        :class:`DagsterRunLauncher`: a manual run, in-process or via the webserver
:mod:`.webserver_run`   a run launched and followed through the webserver's GraphQL API
:mod:`.run_events`      one run's progress lines and the counts of its summary
:mod:`.sqlite_events`   the SQLite event log that keeps its engines (decision 7)
======================  ========================================================================

Nothing here is imported by the plugin class: ``DagsterOrchestratorPlugin.local_runtime()``
and ``run_launcher()`` import it when first called.
"""
