"""Alembic migrations of the application store (run by :func:`clvlab.store.open_app_store`)."""
