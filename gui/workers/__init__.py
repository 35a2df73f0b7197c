"""The dashboard's background work: one worker-process design, and the market, Nash and study runners on it.

* :mod:`gui.workers.protocol` — the worker's side (no Qt): run a job, serve a process;
* :mod:`gui.workers.process` — the dashboard's side (no Qt): :class:`~gui.workers.process.WorkerProcess`,
  :class:`~gui.workers.process.ThreadWorker`;
* :mod:`gui.workers.jobs` — the jobs (no Qt): the clearing, the Nash search, a study;
* :mod:`gui.workers.runner` — :class:`~gui.workers.runner.Runner`, the Qt base of the runners:
  generations, superseding, busy, shutdown;
* :mod:`gui.workers.market`, :mod:`gui.workers.nash`, :mod:`gui.workers.studies` — the three runners.

This package's ``__init__`` imports nothing: a worker process unpickling a job imports
:mod:`gui.workers.jobs` without Qt.
"""
