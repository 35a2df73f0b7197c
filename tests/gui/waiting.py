"""Waiting for the window's market, shared by the GUI tests."""

TIMEOUT_MS = 30000


def result_where(window, qtbot, predicate, timeout_ms: int = TIMEOUT_MS):
    """Wait until the window shows a result satisfying ``predicate`` and the runner is idle; return it."""
    qtbot.waitUntil(
        lambda: window.market_result is not None and predicate(window.market_result) and not window.runner.is_busy(),
        timeout=timeout_ms,
    )
    return window.market_result
