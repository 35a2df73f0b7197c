"""The "Market" dock: what to compute (mechanism, network, fairness rule, k, outside option, period) and whether it
is computing."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QSizePolicy,
    QSlider,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.market import (
    FAIRNESS_CHOICES,
    FAIRNESS_LABELS,
    MECHANISM_LABELS,
    MECHANISM_NAMES,
    NETWORK_CHOICES,
    NETWORK_LABELS,
    MarketSettings,
    default_grid,
    fairness_refusal,
    network_refusal,
)
from core.scenario import Scenario
from gui.presenting import muted

LARGE_SCENARIO = 300  # prosumers: above this the slow diagnostics start switched off
PLAY_INTERVAL_MS = 800  # playing: the shortest time a period stays on screen

PLAY_TIP = (
    "Play: step through the periods, wrapping at the end of the horizon — each one once its result is on "
    "screen, at most one step every {s:.1f} s (Space on the slider, or Ctrl+Space)"
)
PAUSE_TIP = "Pause the playback (Space on the slider, or Ctrl+Space)"

GRID_CHOICES = (
    (
        "auto",
        "Automatic (tariffs; wholesale with a network)",
        "The tariffs on a copper plate; with a network model the substation's wholesale price, the DLMP's "
        "energy part (the chapter's setting, and the command line's default)",
    ),
    (
        "tariffs",
        "Tariffs (retail import / feed-in)",
        "Without the local market each prosumer buys at the retail import tariff and sells at the feed-in tariff",
    ),
    (
        "wholesale",
        "Wholesale price",
        "The community imports and exports at the substation's wholesale price (no retail margin)",
    ),
)


NETWORK_TIPS = {
    "none": "A copper plate: the feeder is ignored and every bus pays the same price",
    "lindistflow": "LinDistFlow: voltage limits, line ratings and losses (iterated loss factors); every bus gets "
    "its DLMP = energy + loss + congestion + voltage",
    "ac": "The LinDistFlow clearing, then checked (and its voltage limits corrected) with the exact AC power "
    "flow; the AC voltages are shown beside the linear ones",
    "dc": "DC: line ratings on real power only — no losses, no voltages (the transmission habit; it misleads "
    "on a distribution feeder)",
}
NETWORK_TIP = (
    "The feeder model of the welfare clearing: with one, every bus gets its own price (DLMP), "
    "split into energy, loss, congestion and voltage parts"
)
FAIRNESS_TIPS = {
    "efficiency": "Efficiency: the welfare clearing itself — the largest total gain Σ U_i, every kWh at the "
    "uniform price λ*",
    "proportional": "Proportional fairness: max Σ ln U_i (the Nash bargaining solution over the outside options)",
    "maxmin": "Max-min (Rawlsian): max min U_i — the worst-off participant as well off as possible",
}
FAIRNESS_TIP = (
    "How the welfare clearing shares its gain: U_i = participant i's gain over its outside option (the "
    "grid at the tariffs), in the scenario's currency over the whole horizon. The Fairness panel compares "
    "the rule with the efficient allocation."
)
FAIRNESS_AUCTION_TIP = (
    "Fairness rules allocate over the welfare clearing's feasible set: the {mech} has its own "
    "allocation, so the rule is set to efficiency. Choose the welfare-maximising clearing to use "
    "a fairness rule."
)
FAIRNESS_NETWORK_TIP = (
    "Fairness rules are computed on the copper plate with the tariffs as the outside option: with "
    "a network model the rule is set to efficiency and the Fairness panel shows the envy audit "
    "under the DLMPs."
)
FAIRNESS_WHOLESALE_TIP = (
    "Fairness rules measure gains over the tariffs (the outside option): with the wholesale "
    "price as the outside option the rule is set to efficiency. Choose the tariffs or "
    "“Automatic” to use a fairness rule."
)
TRANSFERS_TIP = (
    "With lump-sum transfers the rules split the total gain equally (U_i = G/n) by side payments "
    "that sum to zero — budget balanced — as far as the tariff band allows: nobody buys a kWh below the "
    "feed-in price or sells one above retail; where equal gains do not fit, the rule also re-dispatches "
    "and fairness has a price. Without, every kWh settles at the market price with no side payments "
    "and — with the grid absorbing imbalances — the rules return the efficient gains."
)
LEXICOGRAPHIC_TIP = (
    "Lexicographic max-min: once the worst-off gain is as high as it can be, raise the next worst, "
    "and so on (max-min only; with lump-sum transfers every gain is already equal)"
)

NETWORK_AUCTION_TIP = (
    "The network model applies to the welfare-maximising clearing only: the {mech} clears "
    "the bids and asks without the feeder, so the network is set to none. Choose the "
    "welfare-maximising clearing to use a network model."
)


class MarketControls(QWidget):
    """Mechanism, network, k, outside option and period; emits ``settingsChanged`` on every change.

    ``periodChanged`` is emitted first when only the period moved: views of a
    result that holds every period (the network's buses and lines) follow it
    at once, before the new clearing arrives.
    """

    settingsChanged = Signal(object)  # MarketSettings
    periodChanged = Signal(int)
    networkChanged = Signal(str)
    notice = Signal(str)  # a choice the controls made for the user (a network dropped by an auction…)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._labels: list[str] = ["00:00"]
        self._periods = 1
        self._network_before_auction: str | None = None  # the model an auction set aside, given back after it
        self._fairness_allowed = True

        self.mechanism = QComboBox(self)
        for name in MECHANISM_NAMES:
            self.mechanism.addItem(MECHANISM_LABELS[name], name)
        self.mechanism.setToolTip(
            "How the market clears: the welfare-maximising clearing (price = the balance constraint's shadow "
            "price λ) or one of the double auctions on the prosumers' bids and asks"
        )
        self.network = QComboBox(self)
        for name in NETWORK_CHOICES:
            self.network.addItem(NETWORK_LABELS[name], name)
            self.network.setItemData(self.network.count() - 1, NETWORK_TIPS.get(name, ""), Qt.ItemDataRole.ToolTipRole)
        self.network.setToolTip(NETWORK_TIP)
        self.fairness = QComboBox(self)
        for name in FAIRNESS_CHOICES:
            self.fairness.addItem(FAIRNESS_LABELS[name], name)
            self.fairness.setItemData(
                self.fairness.count() - 1, FAIRNESS_TIPS.get(name, ""), Qt.ItemDataRole.ToolTipRole
            )
        self.fairness.setToolTip(FAIRNESS_TIP)
        self.transfers = QCheckBox("Lump-sum transfers", self)
        self.transfers.setChecked(True)
        self.transfers.setToolTip(TRANSFERS_TIP)
        self.lexicographic = QCheckBox("Lexicographic", self)
        self.lexicographic.setChecked(False)
        self.lexicographic.setToolTip(LEXICOGRAPHIC_TIP)
        fair_checks = QHBoxLayout()
        fair_checks.setContentsMargins(0, 0, 0, 0)
        fair_checks.addWidget(self.transfers)
        fair_checks.addWidget(self.lexicographic)
        fair_checks.addStretch(1)
        self.k = QDoubleSpinBox(self)
        self.k.setRange(0.0, 1.0)
        self.k.setSingleStep(0.05)
        self.k.setDecimals(2)
        self.k.setValue(0.5)
        self.k.setToolTip(
            "k-pricing of the uniform-price auction: price = k·high + (1 − k)·low end of the clearing interval "
            "(0.5: midpoint). Only the uniform-price auction uses k."
        )
        self.grid = QComboBox(self)
        for key, label, tip in GRID_CHOICES:
            self.grid.addItem(label, key)
            self.grid.setItemData(self.grid.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.grid.setToolTip("The outside option: what a prosumer gets from the grid without the local market")

        self.period = QSlider(Qt.Orientation.Horizontal, self)
        self.period.setRange(0, 0)
        self.period.setPageStep(1)
        self.period.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.period.setToolTip("The period shown on the curves and audited for the mechanism properties")
        # playing: step the period once the current one's result arrived and the interval has passed
        self.play = QToolButton(self)
        self.play.setCheckable(True)
        self.play.setAutoRaise(True)
        self._playing = False
        self._waiting = False  # a step was taken; its result has not arrived yet
        self._busy = False
        self.play_timer = QTimer(self)
        self.play_timer.setSingleShot(True)
        self.play_timer.setInterval(PLAY_INTERVAL_MS)
        self.play_timer.timeout.connect(self._play_step)
        self.play.toggled.connect(self._play_toggled)
        QShortcut(
            QKeySequence(Qt.Key.Key_Space), self.period, self.toggle_play, context=Qt.ShortcutContext.WidgetShortcut
        )
        QShortcut(QKeySequence("Ctrl+Space"), self, self.toggle_play, context=Qt.ShortcutContext.WindowShortcut)
        self._show_play_state()
        self.clock = QLabel(self)
        self.clock.setMinimumWidth(110)
        self.clock.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        period_row = QHBoxLayout()
        period_row.setContentsMargins(0, 0, 0, 0)
        period_row.addWidget(self.play)
        period_row.addWidget(self.period, 1)
        period_row.addWidget(self.clock)

        self.audit = QCheckBox("Audit mechanisms", self)
        self.audit.setChecked(True)
        self.audit.setToolTip(
            "Compare the auctions on the period's bids: individual rationality, budget balance, efficiency and "
            "incentive compatibility (a search for profitable misreports — slow with thousands of bids; "
            f"off by default above {LARGE_SCENARIO} prosumers)"
        )
        self.iterate = QCheckBox("Price iteration", self)
        self.iterate.setChecked(True)
        self.iterate.setToolTip(
            "Also run the auctioneer's price iteration (tâtonnement) of the welfare clearing; "
            f"off by default above {LARGE_SCENARIO} prosumers"
        )
        self.compare = QCheckBox("Compare", self)
        self.compare.setChecked(True)
        self.compare.setToolTip(
            "Run the other mechanisms' days too and compare them on one scale (Compare mechanisms): every auction "
            "over the whole day, and the welfare clearing; VCG re-clears the market once per trader, slow with "
            f"thousands of prosumers (off by default above {LARGE_SCENARIO})"
        )
        checks = QHBoxLayout()
        checks.setContentsMargins(0, 0, 0, 0)
        checks.addWidget(self.audit)
        checks.addWidget(self.iterate)
        checks.addWidget(self.compare)
        checks.addStretch(1)
        self._large: bool | None = None

        self.bar = QProgressBar(self)
        self.bar.setRange(0, 100)
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(8)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        # its room stays when hidden: the bar coming and going must not resize the docks and the feeder
        # (a re-fit of the 1,000-bus feeder on every clearing)
        policy.setRetainSizeWhenHidden(True)
        self.bar.setSizePolicy(policy)
        self.state = QLabel("Not computed yet", self)
        self.state.setWordWrap(True)
        self.state.setToolTip(
            "The market is recomputed on a worker thread after every change; "
            "the panels keep the last result until the new one arrives"
        )

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setVerticalSpacing(4)
        mech_row = QHBoxLayout()
        mech_row.setContentsMargins(0, 0, 0, 0)
        mech_row.addWidget(self.mechanism, 1)
        self.k_label = QLabel("k", self)
        self.k_label.setToolTip(self.k.toolTip())
        mech_row.addWidget(self.k_label)
        mech_row.addWidget(self.k)
        form.addRow("Mechanism", mech_row)
        form.addRow("Network", self.network)
        form.addRow("Fairness", self.fairness)
        form.addRow("", fair_checks)
        form.addRow("Outside option", self.grid)
        form.addRow("Period", period_row)
        form.addRow("Diagnostics", checks)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.addLayout(form)
        lay.addWidget(self.bar)
        lay.addWidget(self.state)
        lay.addStretch(1)
        self.bar.setVisible(False)

        self.mechanism.currentIndexChanged.connect(self._changed)
        self.network.currentIndexChanged.connect(self._network_changed)
        self.fairness.currentIndexChanged.connect(self._changed)
        self.transfers.toggled.connect(self._changed)
        self.lexicographic.toggled.connect(self._changed)
        self.k.valueChanged.connect(self._changed)
        self.grid.currentIndexChanged.connect(self._changed)
        self.period.valueChanged.connect(self._period_changed)
        self.audit.toggled.connect(self._changed)
        self.compare.toggled.connect(self._changed)
        self.iterate.toggled.connect(self._changed)
        self._sync()

    # --- values -------------------------------------------------------------------------
    def settings(self) -> MarketSettings:
        mechanism = self.mechanism.currentData()
        grid = self.grid.currentData()
        return MarketSettings(
            mechanism=mechanism,
            period=self.period.value(),
            k=round(self.k.value(), 4),
            grid=None if grid == "auto" else grid,
            audit=self.audit.isChecked(),
            tatonnement=self.iterate.isChecked(),
            compare=self.compare.isChecked(),
            network=self.network.currentData() if mechanism == "welfare" else "none",
            fairness=self.fairness.currentData() if self._fairness_allowed else "efficiency",
            fairness_transfers=self.transfers.isChecked(),
            lexicographic=self.lexicographic.isChecked()
            and self._fairness_allowed
            and self.fairness.currentData() == "maxmin",
        )

    def show_settings(self, settings: MarketSettings) -> None:
        """Show ``settings`` (the window's :class:`gui.state.MarketState`: after an undo, a study point, a row of
        Compare) without asking for them again."""
        widgets = (self.mechanism, self.network, self.fairness, self.transfers, self.lexicographic, self.k)
        widgets += (self.grid, self.period, self.audit, self.compare, self.iterate)
        blocked = [w.blockSignals(True) for w in widgets]
        try:
            self.mechanism.setCurrentIndex(self.mechanism.findData(settings.mechanism))
            self.network.setCurrentIndex(self.network.findData(settings.network))
            self.fairness.setCurrentIndex(self.fairness.findData(settings.fairness))
            self.transfers.setChecked(settings.fairness_transfers)
            self.lexicographic.setChecked(settings.lexicographic)
            self.k.setValue(settings.k)
            self.grid.setCurrentIndex(self.grid.findData("auto" if settings.grid is None else settings.grid))
            if settings.period is not None and 0 <= settings.period < self._periods:
                self.period.setValue(settings.period)
            self.audit.setChecked(settings.audit)
            self.compare.setChecked(settings.compare)
            self.iterate.setChecked(settings.tatonnement)
        finally:
            for w, was in zip(widgets, blocked, strict=True):
                w.blockSignals(was)
        if settings.mechanism == "welfare":
            self._network_before_auction = None  # the welfare clearing shown as it is: nothing to give back
        self._sync()

    def set_mechanism(self, name: str) -> None:
        self.mechanism.setCurrentIndex(self.mechanism.findData(name))

    def set_network(self, name: str) -> None:
        """Choose the network model (only the welfare clearing takes one)."""
        self.network.setCurrentIndex(self.network.findData(name))

    def set_fairness(self, rule: str) -> None:
        """Choose the fairness rule (only the welfare clearing on the copper plate, with the tariffs, takes one)."""
        self.fairness.setCurrentIndex(self.fairness.findData(rule))

    def set_grid(self, key: str | None) -> None:
        """``tariffs``, ``wholesale`` or ``None``/``auto`` (the tariffs, or the wholesale price with a network)."""
        self.grid.setCurrentIndex(self.grid.findData("auto" if key is None else key))

    def set_scenario(self, s: Scenario) -> None:
        """Fit the period slider to the scenario's horizon (keeping the period when it still exists)."""
        self._labels = s.horizon.labels()
        self._periods = s.periods
        self.period.blockSignals(True)
        self.period.setRange(0, max(s.periods - 1, 0))
        self.period.setTickInterval(max(1, s.periods // 8))
        self.period.blockSignals(False)
        self.period.setEnabled(s.periods > 1)
        self.play.setEnabled(s.periods > 1)
        if s.periods <= 1:
            self.pause()
        large = len(s.prosumers) > LARGE_SCENARIO
        if large != self._large:  # a change of size class resets the slow diagnostics to their default
            self._large = large
            for box in (self.audit, self.iterate, self.compare):
                box.blockSignals(True)
                box.setChecked(not large)
                box.blockSignals(False)
        self._sync()

    # --- the computing indicator --------------------------------------------------------
    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.bar.setVisible(busy)
        if busy:
            self.bar.setValue(0)
            self.state.setText("Computing…")
            muted(self.state, "#555")

    def set_progress(self, fraction: float, text: str) -> None:
        self.bar.setValue(round(100 * max(0.0, min(1.0, fraction))))
        self.state.setText(f"Computing… {text}" if text else "Computing…")

    def set_solved(self, seconds: float | None, what: str = "") -> None:
        self.state.setStyleSheet("")
        t = "" if seconds is None else f" in {seconds:.2f} s"
        self.state.setText(f"Solved{t}{' · ' + what if what else ''}")
        self.result_arrived()

    def set_failed(self, message: str) -> None:
        self.state.setStyleSheet("color: #b00020;")
        self.state.setText(f"⚠ {message}\n(showing the last result)")
        self.pause()  # playing on would only repeat the failure

    # --- playing through the periods ----------------------------------------------------------
    def is_playing(self) -> bool:
        return self._playing

    def start_playing(self) -> None:
        if self._periods > 1:
            self.play.setChecked(True)

    def pause(self) -> None:
        self.play.setChecked(False)

    def toggle_play(self) -> None:
        if self._playing:
            self.pause()
        else:
            self.start_playing()

    def result_arrived(self) -> None:
        """The newest result is on the panels (called by :meth:`set_solved`): playing may step on."""
        self._waiting = False
        self._play_step()

    def _play_toggled(self, on: bool) -> None:
        self._playing = on and self._periods > 1
        if on and not self._playing:
            self.play.blockSignals(True)
            self.play.setChecked(False)
            self.play.blockSignals(False)
        self._waiting = self._playing and self._busy  # the current period's result is still on its way
        if self._playing:
            self.play_timer.start()  # the current period stays on screen for one interval first
        else:
            self.play_timer.stop()
        self._show_play_state()

    def _play_step(self) -> None:
        """Step once the current period's result arrived and the interval has passed; never queue clearings."""
        if not self._playing or self._waiting or self._busy or self.play_timer.isActive():
            return
        if self._periods <= 1:
            self.pause()
            return
        self._waiting = True
        self.play_timer.start()
        self.period.setValue((self.period.value() + 1) % self._periods)

    def _show_play_state(self) -> None:
        # the style's own icons: a font may lack "⏸" (DejaVu draws an empty box)
        icon = QStyle.StandardPixmap.SP_MediaPause if self._playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play.setIcon(self.style().standardIcon(icon))
        self.play.setToolTip(PAUSE_TIP if self._playing else PLAY_TIP.format(s=PLAY_INTERVAL_MS / 1000))
        self.play.setAccessibleName("Pause" if self._playing else "Play")

    # --- internals --------------------------------------------------------------------------
    def _sync(self) -> None:
        mech = self.mechanism.currentData()
        welfare = network_refusal(mech) is None  # only the welfare clearing takes a network (core's rule)
        self.k.setEnabled(mech == "uniform")
        self.k_label.setEnabled(mech == "uniform")
        if not welfare and self.network.currentData() != "none":
            self._network_before_auction = self.network.currentData()
            self.network.blockSignals(True)  # an auction clears without the feeder
            self.network.setCurrentIndex(self.network.findData("none"))
            self.network.blockSignals(False)
            self.networkChanged.emit("none")
            self.notice.emit(
                f"The {MECHANISM_LABELS.get(mech, mech).lower()} clears the bids without the feeder: "
                "network model set to None (the welfare clearing takes it back)"
            )
        elif welfare and self._network_before_auction:
            previous, self._network_before_auction = self._network_before_auction, None
            self.network.blockSignals(True)
            self.network.setCurrentIndex(self.network.findData(previous))
            self.network.blockSignals(False)
            self.networkChanged.emit(previous)
            self.notice.emit(f"Network model {NETWORK_LABELS.get(previous, previous)} again, as before the auction")
        self.network.setEnabled(welfare)
        self.network.setToolTip(
            NETWORK_TIP if welfare else NETWORK_AUCTION_TIP.format(mech=MECHANISM_LABELS.get(mech, mech).lower())
        )
        copper = self.network.currentData() == "none"
        self._sync_fairness(mech, welfare, copper)
        self.iterate.setEnabled(welfare and copper)
        self.iterate.setToolTip(
            "Also run the auctioneer's price iteration (tâtonnement) of the welfare clearing; "
            f"off by default above {LARGE_SCENARIO} prosumers"
            if copper
            else "The price iteration runs on the copper plate only: with a network model the prices are the "
            "DLMPs of the network-constrained clearing"
        )
        t = self.period.value()
        label = self._labels[t] if 0 <= t < len(self._labels) else str(t)
        self.clock.setText(f"{label}  ({t + 1}/{self._periods})")

    def _sync_fairness(self, mech: str, welfare: bool, copper: bool) -> None:
        """The fairness rule needs the welfare clearing on the copper plate with the tariffs as outside option
        (core's rule, :func:`core.market.fairness_refusal`; the tips say it in the dashboard's words)."""
        network = self.network.currentData() if welfare else "none"
        grid = self.grid.currentData()
        why = None
        if fairness_refusal(mech, network, default_grid(network) if grid == "auto" else grid) is not None:
            if network_refusal(mech) is not None:
                why = FAIRNESS_AUCTION_TIP.format(mech=MECHANISM_LABELS.get(mech, mech).lower())
            elif not copper:
                why = FAIRNESS_NETWORK_TIP
            else:
                why = FAIRNESS_WHOLESALE_TIP
        if why is not None and self.fairness.currentData() != "efficiency":
            self.fairness.blockSignals(True)  # forced, not chosen: no second clearing for it
            self.fairness.setCurrentIndex(self.fairness.findData("efficiency"))
            self.fairness.blockSignals(False)
        self._fairness_allowed = why is None
        self.fairness.setEnabled(why is None)
        self.fairness.setToolTip(FAIRNESS_TIP if why is None else why)
        self.transfers.setEnabled(why is None)
        self.transfers.setToolTip(TRANSFERS_TIP if why is None else why)
        maxmin = why is None and self.fairness.currentData() == "maxmin"
        self.lexicographic.setEnabled(maxmin)
        self.lexicographic.setToolTip(LEXICOGRAPHIC_TIP if why is None else why)

    def _changed(self, *_args) -> None:
        self._sync()
        self.settingsChanged.emit(self.settings())

    def _network_changed(self, *_args) -> None:
        self.networkChanged.emit(self.network.currentData())
        self._changed()

    def _period_changed(self, value: int) -> None:
        self._sync()
        self.periodChanged.emit(value)
        self.settingsChanged.emit(self.settings())
