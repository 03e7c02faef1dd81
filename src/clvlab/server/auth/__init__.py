"""Accounts, sessions, API tokens, login throttling and the audit log (no FastAPI imports here)."""
