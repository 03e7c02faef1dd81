"""Routers of the REST API under ``/api/v1``, one module per capability (each exports ``router``)."""
