"""Running a study: in this process, on a Dask LocalCluster or on an existing cluster; checkpoints and resuming."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from core.study.points import _empty_row, _run_points, run_point
from core.study.results import _frame, read_results, write_results
from core.study.spec import (
    IN_PROCESS_BELOW,
    MAX_BATCH,
    TASK_SECONDS,
    TASKS_PER_WORKER,
    WAIT_FOR_WORKERS_S,
    StudyError,
    StudyPoint,
    StudySpec,
    log,
)


@dataclass
class StudyRun:
    """What :func:`run_study` did: the table (every known point of the spec) and counts."""

    table: pd.DataFrame
    computed: int  # points computed by this run
    reused: int  # points read back from the output file
    total: int  # points asked for
    cancelled: bool
    workers: int  # 0: in this process
    elapsed_s: float
    output: Path | None = None

    @property
    def complete(self) -> bool:
        """Every point asked for has a row (and the run was not cancelled)."""
        return not self.cancelled and len(self.table) >= self.total


class _Checkpoint:
    """Rewrites the output file every ``every`` new rows or ``seconds`` (atomically)."""

    def __init__(self, path: Path | None, spec: StudySpec, rows: dict[str, dict], every: int, seconds: float):
        self.path, self.spec, self.rows = path, spec, rows
        self.every, self.seconds = max(1, every), seconds
        self.pending, self.last = 0, time.monotonic()

    def add(self, row: dict) -> None:
        self.rows[row["point_id"]] = row
        self.pending += 1
        if self.path is not None and (self.pending >= self.every or time.monotonic() - self.last >= self.seconds):
            self.flush()

    def flush(self) -> None:
        if self.path is not None and (self.pending or not self.path.exists()):
            write_results(_frame(list(self.rows.values())), self.path, self.spec)
        self.pending, self.last = 0, time.monotonic()


def _existing_rows(path: Path | None, spec: StudySpec) -> dict[str, dict]:
    if path is None or not path.exists():
        return {}
    table, _meta = read_results(path)
    index = {p.point_id: p.index for p in spec.points}
    foreign = [pid for pid in table.point_id if pid not in index]
    if foreign:
        raise StudyError(
            f"{path} holds {len(foreign)} point(s) that are not in this study (results of another spec "
            "or base project): write to another file, or delete it to start afresh"
        )
    table["point"] = [index[pid] for pid in table.point_id]
    return {r["point_id"]: r for r in table.to_dict("records")}


def run_study(
    spec: StudySpec,
    output: str | os.PathLike | None = None,
    *,
    client=None,
    scheduler: str | None = None,
    workers: int | None = None,
    points: Sequence[StudyPoint] | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    batch: int | None = None,
    checkpoint_every: int = 25,
    checkpoint_s: float = 10.0,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> StudyRun:
    """Run ``spec``'s points (or ``points``, a subset) and return the table; resumes from ``output``.

    Where: in this process when ``workers == 0``, or when nothing else is asked
    and fewer than :data:`IN_PROCESS_BELOW` points are left to run; on
    ``client`` (a ``distributed.Client`` the caller owns); on the cluster at
    ``scheduler`` (used as it is); else on a new ``LocalCluster`` of
    ``workers`` processes (default: this machine's cores) with one thread
    each, closed at the end. The base scenario is shipped once per worker
    (``client.scatter(…, broadcast=True)``), then each task gets its future.
    A task runs ``batch`` points (default: sized from the points' measured
    time so that a task takes about :data:`TASK_SECONDS`).

    ``output``: the Parquet file; its rows (status ``ok`` or ``infeasible``) are
    not computed again, and it is rewritten atomically every
    ``checkpoint_every`` points or ``checkpoint_s`` seconds and at the end —
    also when the run is cancelled or interrupted. ``progress(done, total)``
    counts reused points as done; ``cancelled()`` is polled: once it returns
    True no more points are submitted, pending ones are cancelled, finished
    ones are kept. ``on_row(row)`` gets each computed row (a dict of
    :data:`COLUMNS`) as it comes in, before the ``progress`` call that counts
    it (a dashboard plots the study while it runs); reused rows are only in
    the returned table.
    """
    t_start = time.monotonic()
    path = None if output is None else Path(output)
    wanted = list(spec.points if points is None else points)
    rows = _existing_rows(path, spec)
    todo = [p for p in wanted if p.point_id not in rows or rows[p.point_id]["status"] == "error"]
    for p in todo:
        rows.pop(p.point_id, None)
    reused = len(wanted) - len(todo)
    total = len(wanted)
    state = {"done": reused, "computed": 0, "stopped": False}
    check = _Checkpoint(path, spec, rows, checkpoint_every, checkpoint_s)

    def finished(row: dict) -> None:
        check.add(row)
        state["done"] += 1
        state["computed"] += 1
        if on_row is not None:
            on_row(row)
        if progress is not None:
            progress(state["done"], total)

    def stop() -> bool:
        if cancelled is not None and not state["stopped"] and cancelled():
            state["stopped"] = True
        return state["stopped"]

    if progress is not None:
        progress(reused, total)
    in_process = workers == 0 or (
        client is None and scheduler is None and workers is None and len(todo) < IN_PROCESS_BELOW
    )
    n_workers = 0
    try:
        if not todo:
            pass
        elif in_process:
            for p in todo:
                if stop():
                    break
                finished(run_point(spec.base, p, spec.options))
        else:
            n_workers = _run_dask(
                spec, todo, client, scheduler, workers, None if batch is None else max(1, batch), finished, stop
            )
    finally:
        check.flush()
    table = _frame(list(rows.values()))
    return StudyRun(
        table=table,
        computed=state["computed"],
        reused=reused,
        total=total,
        cancelled=state["stopped"],
        workers=n_workers,
        elapsed_s=time.monotonic() - t_start,
        output=path,
    )


def local_cluster(workers: int):
    """A Dask ``LocalCluster`` for a study: ``workers`` processes of one thread each, no dashboard, and no
    statistical profiler in the workers (it samples the running point every 10 ms: a few % of its time)."""
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.worker.profile.enabled": False}):
        return LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
        )


def _failed_rows(chunk: Sequence[StudyPoint], message: str) -> list[dict[str, Any]]:
    rows = []
    for p in chunk:
        row = _empty_row(p)
        row.update(status="error", message=f"the task failed on the cluster: {message}")
        rows.append(row)
    return rows


def _run_dask(
    spec: StudySpec,
    todo: list[StudyPoint],
    client,
    scheduler: str | None,
    workers: int | None,
    batch: int | None,
    finished: Callable[[dict], None],
    stop: Callable[[], bool],
) -> int:
    """Run ``todo`` on Dask; returns the number of workers used.

    Tasks run ``batch`` points each; ``batch=None`` sizes them as results come in, so that a task takes
    about :data:`TASK_SECONDS` (fewer round trips for fast points) while every worker keeps several
    tasks to the end (load balance, prompt cancelling).
    """
    from collections import deque

    from distributed import Client, as_completed

    owned: list = []
    if client is None:
        if scheduler is not None:
            client = Client(scheduler, timeout=30)
        else:
            cluster = local_cluster(workers or os.cpu_count() or 1)
            owned.append(cluster)
            client = Client(cluster)
        owned.insert(0, client)
    try:
        try:
            client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS_S)
        except TimeoutError:
            raise StudyError(
                f"no Dask worker joined the scheduler {client.scheduler.address} within "
                f"{WAIT_FOR_WORKERS_S:g} s: start some with `dask worker ADDRESS`"
            ) from None
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        base = client.scatter(spec.base, broadcast=True)  # once per worker, not once per point
        queue = deque(todo)
        inflight: dict = {}
        ac = as_completed()
        timing = {"seconds": 0.0, "points": 0, "ok_tasks": 0, "failed_tasks": 0}

        def size() -> int:
            if batch is not None:
                return batch
            if not timing["points"]:
                return 1
            mean = max(timing["seconds"] / timing["points"], 1e-4)
            return max(1, min(int(TASK_SECONDS / mean), MAX_BATCH, len(queue) // (2 * n_workers)))

        def submit() -> None:
            if queue:
                chunk = [queue.popleft() for _ in range(min(size(), len(queue)))]
                future = client.submit(_run_points, base, chunk, spec.options, pure=False)
                inflight[future] = chunk
                ac.add(future)

        def collect(future) -> None:
            chunk = inflight.pop(future)
            if future.status == "finished":
                results = future.result()
                timing["ok_tasks"] += 1
            else:  # a lost worker, a task the workers cannot even unpickle (another version of core?)
                results = _failed_rows(chunk, _future_message(future))
                timing["failed_tasks"] += 1
            for row in results:
                timing["seconds"] += float(row.get("wall_time_s") or 0.0)
                timing["points"] += 1
                finished(row)

        for _ in range(TASKS_PER_WORKER * n_workers):
            submit()
        while inflight:
            if stop():
                for future in [f for f in inflight if f.status == "finished"]:
                    collect(future)  # keep what finished
                client.cancel(list(inflight))
                break
            if not ac.has_ready():
                time.sleep(0.01)
                continue
            for future in ac.next_batch(block=False):
                collect(future)
                if not timing["ok_tasks"] and timing["failed_tasks"] >= 3:
                    client.cancel(list(inflight))
                    raise StudyError(
                        f"the cluster cannot run the study's tasks: {_future_message(future)} — is "
                        "the same Feeder Market installed on every worker?"
                    )
                if not stop():
                    submit()
        return n_workers
    finally:
        for thing in owned:
            try:
                thing.close()
            except Exception as err:  # closing must not hide the study's own outcome
                log.debug("closing %s: %s", thing, err)


def _future_message(future) -> str:
    """What went wrong with a Dask future, in one line."""
    err = future.exception() if future.status == "error" else future.status
    return f"{type(err).__name__}: {err}" if isinstance(err, BaseException) else str(err)
