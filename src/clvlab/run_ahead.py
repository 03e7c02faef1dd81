"""Work of a run's later steps started while its CLV part runs: the idle core put to work.

The CLV part of :func:`clvlab.run_pipeline` spends most of its time in Python (fitting and
scoring the purchase models, one core), while the lifecycle steps after it begin with queries
the engine runs on every core. On a DuckDB workspace the run starts those ahead, in two threads,
each on its own connection to the same database (DuckDB runs the queries of several
connections at once; one connection is never used by two threads at a time):

* the **lifecycle connection**: the purchase days (a temporary table of that connection), the
  customer features and the cadence figures of the run's date, and the churn model's fit and
  P(churn) of every customer (only without an application store: reading cases stays on the
  caller's thread; P(churn) needs no CLV; its features of the run's date take the CLV part's RFM
  summary, computed by then, instead of computing it again: :meth:`RunAhead.offer_rfm`). The lifecycle steps
  then run on this connection, after its thread has ended, and find that work done through
  :func:`~clvlab.lifecycle._features.shared`. Once the CLV part has refitted its purchase model
  (its P(alive) is the stages'), the ``stages`` and ``health`` tables are computed there too, and
  queued on the writer, while the CLV part fits the spend model and scores in Python
  (:meth:`RunAhead.start_lifecycle_tables`; also only without an application store: the health
  score reads its open cases). The ``cohorts`` and ``economics`` tables are computed there as
  well, from the purchase days it holds (:func:`clvlab.value.cohorts.purchase_rows`): the
  cohorts, which need neither the model nor the scores, right after P(churn), stored while the
  CLV part still fits (given the run id: :meth:`RunAhead.cohorts`); the economics in order at the
  run's end, once the ``scores`` are stored (:meth:`RunAhead.stored`).
* the **writer connection**: the ``cohorts``, ``scores``, ``diagnostics``, ``stages``, ``health``
  and ``churn`` tables, each stored there while the run goes on computing the next (:func:`~clvlab.derived.deferred_writes`: the rows are
  checked first, on the run's thread). The run waits for every write before its last steps.

While the CLV part runs, two queries often run at once, the CLV part's and the lifecycle
connection's, and each is worked on by its own calling thread as well as by DuckDB's pool (the
``threads`` setting counts the pool and one calling thread). So for that time the run gives
the pool one thread fewer (never less than one): one thread per core instead of one more thread
than cores, which on two cores cost the 10M-row run about a sixth more CPU (docs/lifecycle.md,
"Run time of clvlab run"). The setting is back as it was once the CLV part has ended
(:meth:`RunAhead.clv_finished`): the stores at the end work on every core. A run that fails
puts it back too.

The figures are those of the same calls made one after the other: the same functions compute
them. What is started ahead rests on a guess of the run's date when ``observation_end`` is not
given (the last purchase day); a guess the CLV part proves wrong is dropped and the step
computes again. An error ahead is not reported there: the step meets it again in order and
reports it as it always did. Other engines (PostgreSQL, Spark) run every step in order.

The standard library's thread pools carry the jobs: two fixed queues need no task framework.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager, suppress
from typing import Any

import pandas as pd

WHERE = "run_pipeline"


class RunAhead:
    """The two connections and their threads of a run (see the module docstring).

    ``workspace``: the run's; ``observation_end``: the run's date when given; ``app_store``: the
    run's (the churn model is then fitted in order).
    """

    def __init__(self, workspace: Any, *, observation_end: str | None = None, app_store: Any = None,
                 run_id: str | None = None) -> None:
        self.workspace, self.app_store, self.observation_end = workspace, app_store, observation_end
        self.run_id = run_id  # the cohorts table is computed and stored ahead under it (None: in order)
        self._cohorts: str | None = None  # the day the cohorts stored ahead hold as of
        #: the workspace the lifecycle steps use: the lifecycle connection when there is one
        self.lifecycle: Any = workspace
        self._writer_ws: Any = None
        self._pools: list[ThreadPoolExecutor] = []
        self._lifecycle_job: Future[None] | None = None
        self._tables_job: Future[dict[str, Any] | None] | None = None
        self._writes: list[Future[None]] = []
        self._as_of: dt.date | None = None  # the date the work ahead holds as of
        self._churn: Any = None
        self._rfm: pd.DataFrame | None = None  # the CLV part's RFM, once it has one
        self._rfm_offered = threading.Event()  # set: the RFM is there, or will not come
        self._stopping = False
        self._threads: int | None = None  # the engine's thread setting while the pool is one short
        second = _second_connection(workspace)
        if second is not None:
            self.lifecycle, self._writer_ws = second, _second_connection(workspace)

    @contextmanager
    def running(self) -> Iterator[RunAhead]:
        """Start the jobs (inside :func:`~clvlab.lifecycle._features.shared_features`: the
        lifecycle job fills its cache); on leaving, stop what still runs and wait for it."""
        if self._writer_ws is not None:
            threads = _engine_threads(self.workspace)
            if threads > 1:  # one thread per core while the CLV part and the work ahead both query
                _set_engine_threads(self.workspace, threads - 1)
                self._threads = threads
            self._pools = [ThreadPoolExecutor(1, thread_name_prefix=f"clvlab-{n}") for n in ("lifecycle", "writer")]
            self._lifecycle_job = self._pools[0].submit(contextvars.copy_context().run, self._lifecycle)
        try:
            yield self
        except BaseException:  # a failed or interrupted run (Ctrl-C) ends without its work ahead
            self._stop()
            raise
        finally:
            self._rfm_offered.set()  # the jobs end without it
            for pool in self._pools:
                pool.shutdown(wait=True, cancel_futures=True)
            self.clv_finished()

    def clv_finished(self) -> None:
        """The CLV part has ended: the engine's thread setting is back as it was (see the module
        docstring); a second call does nothing."""
        if self._threads is not None:
            _set_engine_threads(self.workspace, self._threads)
            self._threads = None

    def _stop(self) -> None:
        """No step ahead starts any more, writes not begun are dropped, and the queries running
        ahead are interrupted until every job has ended (a step in Python ends on its own)."""
        self._stopping = True
        self._rfm_offered.set()
        for write in self._writes:
            write.cancel()
        jobs: list[tuple[Future[Any] | None, Any]] = [
            (self._lifecycle_job, self.lifecycle), (self._tables_job, self.lifecycle),
            *((write, self._writer_ws) for write in self._writes)]
        running: list[tuple[Future[Any], Any]] = [(job, ws) for job, ws in jobs if job is not None]
        while not all(job.done() for job, _ in running):
            for job, ws in running:
                if job.running():
                    with suppress(Exception):
                        ws.con.con.interrupt()
            wait([job for job, _ in running], timeout=0.1, return_when=FIRST_COMPLETED)

    def _go_on(self) -> None:
        """Between two steps ahead: end the job when the run is stopping."""
        if self._stopping:
            raise _Stopped

    def close(self) -> None:
        """Close the two connections (after :meth:`running` has ended)."""
        for ws in (self.lifecycle, self._writer_ws):
            if ws is not None and ws is not self.workspace:
                with suppress(Exception):
                    ws.close()

    def lifecycle_workspace(self) -> Any:
        """The workspace of the lifecycle steps, once the work ahead on it is done."""
        self._awaited(self._lifecycle_job)
        return self.lifecycle

    def churn_scores(self, as_of: str) -> Any:
        """The :func:`~clvlab.lifecycle.churn_table.churn_scores` of ``as_of`` computed ahead (None:
        compute them in order)."""
        self._awaited(self._lifecycle_job)
        return self._churn if self._holds(as_of) else None

    def cohorts(self, as_of: str) -> str | None:
        """The day the ``cohorts`` table computed ahead for ``as_of`` holds as of (it is queued on
        the writer; :func:`~clvlab.value.economics_tables.write_cohorts_table`); None: compute it
        in order."""
        self._awaited(self._lifecycle_job)
        return self._cohorts if self._holds(as_of) else None

    def _awaited(self, job: Future[Any] | None) -> Any:
        """:func:`_settled` from the caller's thread: it waits, so no RFM comes any more."""
        self._rfm_offered.set()
        return _settled(job)

    def offer_rfm(self, rfm: pd.DataFrame) -> None:
        """The CLV part's RFM summary (:func:`clvlab.rfm_summary`): the churn features ahead take it
        instead of computing the same summary of the purchase days again, when it holds as of
        their date in their time unit (weeks). They wait for it (the CLV part's first step, done
        long before on a big log), until the caller waits for them or the run stops."""
        self._rfm = rfm
        self._rfm_offered.set()

    def start_lifecycle_tables(self, model: Any, rfm: pd.DataFrame, *, as_of: str, run_id: str) -> None:
        """Compute the ``stages`` and ``health`` tables of ``as_of`` ahead with the CLV part's refitted
        ``model`` and its RFM, and queue them on the writer (nothing without the second connections or
        with an application store; the job follows the lifecycle job on its connection)."""
        if self._writer_ws is None or self.app_store is not None or self._stopping:
            return
        self._tables_job = self._pools[0].submit(contextvars.copy_context().run, self._lifecycle_tables,
                                                 model, rfm, as_of, run_id)

    def lifecycle_tables(self, as_of: str) -> dict[str, Any] | None:
        """The record of :func:`~clvlab.lifecycle.tables.write_lifecycle_tables` computed ahead for
        ``as_of`` (its tables queued on the writer); None: compute them in order."""
        record = self._awaited(self._tables_job)
        return record if self._holds(as_of) else None

    def stored(self) -> Callable[[], None]:
        """A wait for the tables queued on the writer so far: calling it returns once they are
        stored, and raises the first error (the economics read the stored ``scores`` while the
        lifecycle tables queued after them are still being stored)."""
        queued = list(self._writes)

        def wait() -> None:
            for write in queued:
                write.result()
        return wait

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Inside the block the derived tables of the run's workspace are stored by the writer
        connection (:func:`~clvlab.derived.deferred_writes`); leaving it waits for them all and
        raises the first error."""
        from clvlab.derived import deferred_writes

        if self._writer_ws is None:
            yield
            return
        with deferred_writes(self._defer):
            yield
        for write in self._writes:
            write.result()

    def _defer(self, workspace: Any, store: Callable[[Any], None]) -> bool:
        if workspace is not self.workspace and workspace is not self.lifecycle:
            return False  # another database: stored at once
        self._writes.append(self._pools[1].submit(store, self._writer_ws))
        return True

    def _holds(self, as_of: str) -> bool:
        return self._as_of is not None and self._as_of == pd.Timestamp(as_of).date()

    # ---- the jobs ahead ------------------------------------------------------------------------

    def _lifecycle(self) -> None:
        from clvlab.lifecycle._features import (
            check_as_of,
            customer_features,
            purchase_days,
            share_rfm,
        )
        from clvlab.lifecycle.stages import resolved
        from clvlab.lifecycle.thresholds import LifecycleThresholds

        days = purchase_days(self.lifecycle, WHERE)
        self._as_of = check_as_of(self.observation_end, days, WHERE)
        th = LifecycleThresholds()  # the run's: the pipeline uses the defaults
        self._go_on()
        customer_features(days, self._as_of, th.trend_days)
        self._go_on()
        resolved(days, self._as_of, th)
        self._go_on()
        if self.app_store is None:
            from clvlab.lifecycle.churn_table import churn_scores

            self._rfm_offered.wait()
            self._go_on()
            if self._rfm is not None:  # the RFM the CLV part computed meanwhile (keyed by its date)
                share_rfm(days, self._rfm)

            self._churn = churn_scores(self.lifecycle, as_of=self._as_of)
        if self.run_id is not None:  # while the CLV part still fits: the writer is idle then
            from clvlab.derived import deferred_writes
            from clvlab.value.economics_tables import write_cohorts_table

            self._go_on()
            with deferred_writes(self._defer):
                self._cohorts = write_cohorts_table(self.lifecycle, run_id=self.run_id, as_of=self._as_of)

    def _lifecycle_tables(self, model: Any, rfm: pd.DataFrame, as_of: str, run_id: str) -> dict[str, Any] | None:
        from clvlab.derived import deferred_writes
        from clvlab.lifecycle.tables import write_lifecycle_tables

        self._go_on()
        if not self._holds(as_of):  # the work ahead rests on another date: the step computes in order
            return None
        with deferred_writes(self._defer):
            return write_lifecycle_tables(self.lifecycle, as_of=as_of, run_id=run_id, model=model, rfm=rfm)


class _Stopped(Exception):
    """A job ahead ends because its run is stopping."""


def _settled(job: Future[Any] | None) -> Any:
    """The job's result once it has ended; None when there is none or it failed: the step that
    needs it computes it again in order and reports the error there."""
    if job is None:
        return None
    try:
        return job.result()
    except Exception:  # met again, and reported, by the step in order
        return None


def _second_connection(workspace: Any) -> Any:
    """A workspace on a new connection to the same DuckDB database (its own temporary tables);
    None for other engines (the steps then run in order)."""
    import ibis

    from clvlab.data.workspace import Workspace

    if not getattr(workspace, "is_duckdb", False):
        return None
    backend = ibis.duckdb.from_connection(workspace.con.con.cursor())
    return Workspace(backend, path=workspace.path, url=workspace.url)


def _engine_threads(workspace: Any) -> int:
    """DuckDB's ``threads`` setting (its pool and one calling thread)."""
    return int(workspace.con.con.execute("SELECT current_setting('threads')").fetchone()[0])


def _set_engine_threads(workspace: Any, threads: int) -> None:
    workspace.con.con.execute(f"SET threads = {int(threads)}")
