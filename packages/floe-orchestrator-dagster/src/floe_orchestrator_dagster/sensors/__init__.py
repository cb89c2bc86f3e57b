"""Dagster sensors from the artifacts: file arrival, failure alerts, slow runs.

==================  ==========================================================================
module              holds
==================  ==========================================================================
:mod:`.file_arrival`  the file-arrival sensor: one run per new or changed file in a folder
:mod:`.failures`    the run-failure and failed-check alert sensors
:mod:`.slow_runs`   run and asset durations, and the slow-run alert sensor
:mod:`.alerts`      ``AlertRouter``: one code location's channels and dispatchers
==================  ==========================================================================

Which sensors (and file-arrival jobs) a product's definitions get is decided where the
definitions are assembled: :func:`floe_orchestrator_dagster.definitions.sensors.build_sensors`.
Disabled sensors are ``STOPPED``; enabled ones ``RUNNING``. A sensor with no alert channels
alerts on ``console``.
"""
