"""Mechanism properties: IR, IC (measured), budget balance and efficiency of every auction on the period."""

from __future__ import annotations

from html import escape

import pandas as pd
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.market import MECHANISM_LABELS, Diagnostic, MarketResult
from core.units import fmt_number, fmt_sig
from gui.frame_model import DataFrameModel
from gui.market_panels.style import BAD, GOOD, SELECTED, SHORT_MECHANISM, period_label

PROPERTY_COLUMNS = ("efficiency", "ir", "bb", "max_ic_gain")


class PropertiesPanel(QWidget):
    """The mechanisms compared on the chosen period's bids: who has which of IR, BB, efficiency, IC."""

    NEEDS = (Diagnostic.AUDIT,)  # the diagnostics its numbers come from

    EXPLANATION = (
        "<b>Myerson–Satterthwaite</b>: no mechanism can guarantee efficiency, individual rationality, "
        "budget balance and incentive compatibility together on every set of bids; red marks what each "
        "gives up on this period's bids."
    )

    def __init__(self, parent=None):
        super().__init__(parent)
        self.result: MarketResult | None = None
        self.title = QLabel("No market cleared yet", self)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setWordWrap(True)
        self.model = DataFrameModel(self)
        self.view = QTableView(self)
        self.view.setModel(self.model)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(24)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.explanation = QLabel(self.EXPLANATION, self)
        self.explanation.setWordWrap(True)
        self.explanation.setTextFormat(Qt.TextFormat.RichText)
        self.explanation.setToolTip(
            "Myerson & Satterthwaite (1983): for bilateral trade with private values, no mechanism is "
            "efficient, individually rational, (weakly) budget-balanced and Bayesian incentive-compatible. "
            "VCG buys efficiency, IR and IC with a deficit; uniform price balances the budget but rewards "
            "shading; trade reduction gives up a trade."
        )
        self.model.cell_brush = self._brush
        self.model.cell_text = self._text
        self.model.cell_tooltip = self._tooltip
        self._frame = pd.DataFrame()
        self._cmp = pd.DataFrame()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.title)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.explanation)

    def headers(self, cur: str) -> tuple[dict[str, str], dict[str, str]]:
        headers = {
            "name": "Mechanism",
            "traded_kwh": "Traded\n(kWh)",
            "welfare": f"Gains at\nthe bids ({cur})",
            "efficiency": "Efficient\n(%)",
            "platform_surplus": f"Platform\nsurplus ({cur})",
            "ir": "IR\n(agents)",
            "bb": "BB\n(budget)",
            "max_ic_gain": f"IC: max gain\nfrom lying ({cur})",
        }
        tips = {
            "name": "The clearing mechanism, run on the same truthful bids and asks of the period (as the day "
            "reaches it: storages bid from the charge the earlier periods left)",
            "traded_kwh": "Energy traded between prosumers in the period, kWh",
            "welfare": f"Gains from trade at the period's bids: Σ bid × kWh bought − Σ ask × kWh sold, {cur}. The "
            "bids are the prosumers' marginal values within the tariffs (a storage's: the value of its "
            "energy later); the day's welfare on one scale is in Compare mechanisms",
            "efficiency": "Efficiency on these bids: their gains over the most any allocation of them achieves, %",
            "platform_surplus": f"Platform surplus: Σ payments by buyers − Σ receipts of sellers, {cur}; "
            "negative = a deficit someone must fund",
            "ir": "Individual rationality: no agent ends worse off than by staying out "
            "(its utility ≥ 0 at its true values); red shows how many lose",
            "bb": "Budget balance (weak): the platform never pays in (platform surplus ≥ 0)",
            "max_ic_gain": f"Incentive compatibility, measured: the largest gain any agent gets by shading its bid or "
            f"ask (best misreport found), {cur}; 0 = nobody gains by lying",
        }
        return headers, tips

    def set_result(self, result: MarketResult) -> None:
        self.result = result
        cmp = result.comparison
        when = escape(period_label(result))
        if cmp is None or len(cmp) == 0:
            self._frame = pd.DataFrame()
            self.model.set_frame(self._frame)
            self.model.bold_row = None
            self.title.setText(
                f"<b>Mechanism properties</b> · {when}: not audited — tick "
                "<i>Audit mechanisms</i> in the Market dock to compare the auctions"
            )
            return
        frame = pd.DataFrame(
            {
                "name": [SHORT_MECHANISM.get(m, m) for m in cmp.mechanism],
                "traded_kwh": cmp.traded_kwh.to_numpy(float),
                "welfare": cmp.welfare.to_numpy(float),
                "efficiency": 100.0 * cmp.efficiency.to_numpy(float),
                "platform_surplus": cmp.platform_surplus.to_numpy(float),
                "ir": cmp.individually_rational.to_numpy(bool),
                "bb": cmp.budget_balanced.to_numpy(bool),
                "max_ic_gain": cmp.max_ic_gain.to_numpy(float),
            }
        )
        self._frame = frame
        self._cmp = cmp.reset_index(drop=True)
        headers, tips = self.headers(result.currency)
        chosen = result.settings.mechanism
        audited = "uniform" if chosen == "welfare" else chosen
        rows = [i for i, m in enumerate(self._cmp.mechanism) if m == audited]
        self.model.bold_row = rows[0] if rows else None
        self.model.set_frame(frame, headers, tips, decimals={"efficiency": 1})
        if chosen == "welfare":
            extra = " The welfare clearing is audited as the uniform-price auction on the same bids (row in bold)."
        else:
            extra = f" {escape(MECHANISM_LABELS.get(chosen, chosen))} is in bold."
        self.title.setText(f"<b>Mechanism properties</b> · {when} · truthful bids of the period.{extra}")
        lucky = [
            SHORT_MECHANISM.get(m, m)
            for r, m in enumerate(self._cmp.mechanism)
            if all(self._ok(r, k) for k in PROPERTY_COLUMNS)
        ]
        text = self.EXPLANATION
        if lucky:
            one = len(lucky) == 1
            text += (
                f" Here {' and '.join(lucky)} happen{'s' if one else ''} to have all four; on other bids "
                f"{'it' if one else 'they'} need not."
            )
        self.explanation.setText(text)
        self.view.resizeColumnsToContents()

    def row_of(self, mechanism: str) -> int:
        return list(self._cmp.mechanism).index(mechanism)

    def cell(self, mechanism: str, column: str) -> str:
        """The text shown for ``mechanism`` in ``column`` (for tests and reports)."""
        return self.model.index(self.row_of(mechanism), self.model.column_of(column)).data()

    def _ok(self, r: int, key: str) -> bool | None:
        cmp = self._cmp
        if key == "efficiency":
            return bool(cmp.efficiency.iat[r] >= 1.0 - 1e-6)
        if key == "ir":
            return bool(cmp.individually_rational.iat[r])
        if key == "bb":
            return bool(cmp.budget_balanced.iat[r])
        if key == "max_ic_gain":
            return bool(cmp.incentive_compatible.iat[r])
        return None

    def _brush(self, r: int, key: str):
        ok = self._ok(r, key)
        if ok is not None:
            return GOOD if ok else BAD
        if r == self.model.bold_row:
            return SELECTED
        return None

    def _text(self, r: int, key: str) -> str | None:
        cmp = self._cmp
        if key == "ir":
            n = int(cmp.ir_violations.iat[r])
            return "✓ none lose" if n == 0 else f"✗ {n} lose"
        if key == "bb":
            s = float(cmp.platform_surplus.iat[r])
            if not bool(cmp.budget_balanced.iat[r]):
                return "✗ deficit"
            return "✓ balanced" if abs(s) < 1e-9 else "✓ surplus"
        if key == "efficiency":
            return ("✓ " if self._ok(r, key) else "✗ ") + fmt_number(self._frame.efficiency.iat[r], 1)
        if key == "max_ic_gain":
            return ("✓ " if self._ok(r, key) else "✗ ") + fmt_number(self._frame.max_ic_gain.iat[r], 2)
        if key == "name" and r == self.model.bold_row:
            return "▸ " + str(self._frame.name.iat[r])
        return None

    def _tooltip(self, r: int, key: str) -> str | None:
        if key == "max_ic_gain":
            cmp = self._cmp
            g = float(cmp.max_ic_gain.iat[r])
            if g <= 1e-6:
                return "No agent gains by shading its bid or ask: truth-telling is a best reply"
            cur = self.result.currency if self.result else ""
            return f"Some agent gains {fmt_sig(g)} {cur} by misreporting: an incentive to lie"
        return None
