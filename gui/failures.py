"""One readable line for a failed computation (no Qt: also used in the clearing process)."""

from __future__ import annotations

from core.errors import ClearingError, ScenarioError


def describe_failure(err: BaseException) -> str:
    """One readable line for a failed clearing (no traceback)."""
    if isinstance(err, ScenarioError):
        text = err.problems[0].describe() if err.problems else str(err)
        return f"invalid scenario: {text}"
    if isinstance(err, ClearingError):
        text = str(err) or err.status
    elif isinstance(err, ValueError):
        text = str(err)
    else:
        text = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[0] if lines else type(err).__name__
