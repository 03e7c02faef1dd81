"""Per-customer features computed as Ibis expressions (DuckDB, PostgreSQL, Spark)."""
