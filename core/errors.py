"""Core's exceptions, one of each kind: bad input (:class:`ScenarioError`), an optimisation that cannot be solved
(:class:`ClearingError`) and a computation its caller stopped (:class:`Cancelled`).

A :class:`ScenarioError` always says *where*: the file (when there is one), the
field (a dotted path such as ``prosumers[3].asset.efficiency``) and the row (the
index of the record in its table, or the line of a CSV file). The GUI shows the
message as it is; the CLI prints it and exits non-zero.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario: where it is and what is wrong.

    ``field`` is a dotted path from the scenario root (``feeder.lines[2].r_ohm``);
    ``row`` is the 0-based index of the record in its table (``None`` for scalars)
    and ``row_id`` the record's id when it has one.
    """

    field: str
    message: str
    row: int | None = None
    row_id: str | None = None
    line: int | None = None  # 1-based line of a text file (a CSV row), when there is one

    def describe(self) -> str:
        where = f"line {self.line}, " if self.line is not None else ""
        where += f"field '{self.field}'" if self.field else ""
        if self.row_id is not None:
            where += f" (id '{self.row_id}')"
        return f"{where}: {self.message}" if where else self.message


class ScenarioError(ValueError):
    """Bad scenario input: names the file, the field and the row.

    ``problems`` lists every problem found (validation collects them all, so a
    user fixing a file sees everything at once); ``str(err)`` leads with the
    first and counts the rest.
    """

    def __init__(self, problems: list[Problem] | Problem | str, file: str | None = None):
        if isinstance(problems, str):
            problems = [Problem(field="", message=problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        self.file = file
        super().__init__(self._format())

    def with_file(self, file: str) -> ScenarioError:
        """The same problems, attributed to ``file``."""
        return ScenarioError(self.problems, file=file)

    @property
    def field(self) -> str:
        return self.problems[0].field if self.problems else ""

    @property
    def row(self) -> int | None:
        return self.problems[0].row if self.problems else None

    def _format(self) -> str:
        head = f"{self.file}: " if self.file else ""
        if not self.problems:
            return head + "invalid scenario"
        first = self.problems[0]
        text = first.describe()
        more = len(self.problems) - 1
        if more:
            text += f" (and {more} more problem{'s' if more > 1 else ''})"
        return head + text

    def report(self) -> str:
        """Every problem, one per line (for the CLI and the error dialog)."""
        head = f"{self.file}:\n" if self.file else ""
        lines = [f"  - {p.describe()}" for p in self.problems]
        return head + "\n".join(lines)


class ClearingError(RuntimeError):
    """The optimisation could not be solved: infeasible, unbounded or a solver failure.

    ``status`` is the solver's word for it (cvxpy's status, or ``"solver_error"``)."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status


class Cancelled(Exception):  # a control-flow signal, not an error
    """The caller asked a long computation to stop (its ``cancelled()`` callback returned True)."""
