"""Running the product elsewhere: Helm values for Kubernetes, and the webserver check.

=========================  =================================================================
module                     holds
=========================  =================================================================
:mod:`.helm`               ``get_helm_values()``: the overlay on the chart's values
:mod:`.chart_values`       ``ChartValues``, the values model of ``charts/floe-dagster``; it
                           generates ``values.schema.json`` and ``values.yaml``
                           (``python -m floe_orchestrator_dagster.deploy.chart_values
                           charts/floe-dagster``)
:mod:`.chart_parts`        its building blocks: base models, images, resources, pods
:mod:`.connection`         ``validate_connection()``: is a Dagster webserver answering?
:mod:`.server_info_request`  one ``GET /server_info`` under a deadline (standard library only)
=========================  =================================================================
"""
