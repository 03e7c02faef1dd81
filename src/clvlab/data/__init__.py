"""Data contract, loading and the workspace (DuckDB by default, any Ibis backend)."""
