"""Compare mechanisms and the storage's day on screen (issue 12): the panels show core's numbers, one scale."""

from __future__ import annotations

import numpy as np
import pytest

from core.units import fmt_number
from tests.gui.waiting import TIMEOUT_MS, result_where


def complete(window, qtbot, mechanism: str | None = None):
    return result_where(
        window,
        qtbot,
        lambda r: (
            not r.pending and r.mechanisms is not None and (mechanism is None or r.settings.mechanism == mechanism)
        ),
    )


def test_compare_shows_the_five_days_on_one_scale_and_a_click_switches(teaching, qtbot):
    result = complete(teaching, qtbot)
    panel = teaching.compare
    assert panel.isEnabled() and panel.result is result
    m = result.mechanisms.set_index("mechanism")
    # the chapter's example: the same two trades under every mechanism but trade reduction's, worth
    # (12 − 5) + (10 − 7) = 10 ¢ at the true values; VCG pays 2 ¢ more than it collects
    assert panel.value("vcg", "welfare") == fmt_number(m.loc["vcg", "welfare"], 2) == "10.00"
    assert panel.value("vcg", "platform_surplus") == "−2.00 deficit"
    assert panel.value("uniform", "platform_surplus") == "0 (balanced)"
    assert panel.value("welfare", "efficiency") == "100.0"
    assert panel.value("pay_as_bid", "ir_violations") == "none"
    panel.show_period.setChecked(True)
    assert panel.value("uniform", "period_price_per_kwh") == "8.5"
    assert panel.value("vcg", "period_price_per_kwh") == "–"  # no single price: each pays its own
    assert panel.value("welfare", "max_ic_gain") == "no bids"
    # a click on VCG's column shows VCG in the dashboard
    with qtbot.waitSignal(teaching.runner.finished, timeout=TIMEOUT_MS) as blocker:
        panel.view.horizontalHeader().sectionClicked.emit(panel.model.column_of("vcg"))
    assert blocker.args[0].settings.mechanism == "vcg"
    assert teaching.market_controls.settings().mechanism == "vcg"
    vcg = complete(teaching, qtbot, "vcg")
    from PySide6.QtCore import Qt

    header = panel.model.headerData(panel.model.column_of("vcg"), Qt.Orientation.Horizontal)
    assert header.startswith("▸")  # the mechanism shown
    assert vcg.summary["platform_surplus"] == pytest.approx(-2.0)


def test_a_storage_shows_its_day_of_charge(window, qtbot):
    result = complete(window, qtbot)
    panel = window.agent_results
    row = list(result.agents.agent).index("bat7")
    index = panel.proxy.mapFromSource(panel.model.index(row, 0))
    panel.view.setCurrentIndex(index)
    assert panel.soc_plot.isVisible()
    x, y = panel.soc_line.getData()
    soc = result.agent_periods[result.agent_periods.agent == "bat7"].soc_kwh.to_numpy()
    assert y == pytest.approx(soc) and len(x) == 24
    assert np.all(y >= -1e-9) and np.all(y <= 200.0 + 1e-9)  # within its 200 kWh
    assert panel.soc_cap.value() == pytest.approx(200.0)
    # a household has no storage: no plot, no sparkline
    home = list(result.agents.agent).index("c2")
    panel.view.setCurrentIndex(panel.proxy.mapFromSource(panel.model.index(home, 0)))
    assert not panel.soc_plot.isVisible() and panel.soc_of(home) is None
    assert panel.soc_of(row) is not None
