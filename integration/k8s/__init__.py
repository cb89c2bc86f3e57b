"""The Kubernetes path of charts/floe-dagster, verified without a cluster (``nox -s k8s``)."""
