"""Alembic migrations of the application store (run by :func:`clvlab.cases.store.open_app_store`)."""
