"""Alert channel implementations, one module per channel ``type``: ``console``, ``webhook``
(JSON POST) and ``email`` (SMTP). :mod:`floe_orchestration_core.alerts.factory` builds them."""
