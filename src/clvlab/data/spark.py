"""Apache Spark as the workspace's engine: a session from the environment or a master URL.

:func:`clvlab.connect` hands Spark targets here: an existing ``pyspark.sql.SparkSession`` (a
Databricks notebook's ``spark``), a master URL (``spark://host:7077``, ``yarn``,
``k8s://...``, ``local[2]``), or ``"spark"`` (the session ``spark-submit`` or
``PYSPARK_SUBMIT_ARGS`` configured, else a local one). The workspace then runs the same Ibis
features through ibis' pyspark backend.

Time zone: Spark turns a ``TIMESTAMP`` into a day in the session's zone
(``spark.sql.session.timeZone``), so that zone is the workspace's business time zone. A session
clvlab starts gets the settings' zone (``CLVLAB_TIMEZONE``); a session it is given keeps its own,
and :attr:`clvlab.Workspace.timezone` reports it.

Loading stays on DuckDB: the loader's parsing, rejects and idempotence keys are DuckDB SQL over
one process's files. Spark reads prepared tables (Parquet, Delta, catalog tables) with the
contract's column names (``docs/scale.md`` shows how to export a DuckDB workspace).
"""

from __future__ import annotations

from typing import Any

from clvlab.errors import ClvlabError

__all__ = ["SPARK_INSTALL_HINT", "is_spark_target", "spark_session"]

#: how to get the engine when pyspark (or Java) is missing
SPARK_INSTALL_HINT = ("pip install 'clvlab[spark]' (pyspark >= 3.5, < 4.1) and a Java 17 runtime "
                      "(Debian: apt-get install openjdk-17-jre-headless)")
_MASTER_PREFIXES = ("spark://", "local[", "yarn", "k8s://", "mesos://")


def is_spark_target(target: object) -> bool:
    """True for a SparkSession, ``"spark"``, ``"local"`` or a Spark master URL."""
    if type(target).__module__.startswith("pyspark"):
        return True
    return isinstance(target, str) and (target in ("spark", "local") or target.startswith(_MASTER_PREFIXES))


def spark_session(master: str | None = None, *, timezone: str | None = None,
                  config: dict[str, str] | None = None) -> Any:
    """The active SparkSession, or a new one on ``master`` (None or ``"spark"``: the environment's).

    A new session gets ``spark.sql.session.timeZone`` = ``timezone`` (default the settings'
    business time zone), no progress bars on the console, and ``config`` on top. An already
    running session is returned as it is (Spark allows one per process).
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        msg = "the Spark engine needs pyspark, which is not installed"
        raise ClvlabError(msg, hint=SPARK_INSTALL_HINT) from None
    from clvlab.settings import get_settings

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = SparkSession.builder.appName("clvlab")
    if master not in (None, "spark"):
        builder = builder.master(str(master))
    settings = {"spark.sql.session.timeZone": timezone or get_settings().timezone,
                "spark.ui.showConsoleProgress": "false", **(config or {})}
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        return builder.getOrCreate()
    except Exception as exc:  # no Java, a master that does not answer: the JVM's first line
        msg = f"cannot start a Spark session on {master or 'the environment'!r}: {str(exc).splitlines()[0]}"
        raise ClvlabError(msg, hint=SPARK_INSTALL_HINT) from exc


def session_timezone(con: Any) -> str:
    """The zone Spark reads days in (``spark.sql.session.timeZone``) of an ibis pyspark backend."""
    return str(con._session.conf.get("spark.sql.session.timeZone"))
