"""The window's market results: requests to the runner, results handed to the panels, selection and feeder edits."""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from core.errors import ScenarioError
from core.market import MECHANISM_LABELS
from gui.window.constants import PANEL_BUDGET_MS, PROGRESSIVE_ABOVE

log = logging.getLogger(__name__)


class ResultsMixin:
    """Methods of :class:`gui.main_window.MainWindow` (results)."""

    # --- the market ------------------------------------------------------------------------
    def recompute(self) -> None:
        """Ask for the market of the current scenario and settings (cleared on a worker, never here)."""
        self.runner.request(self.doc.scenario, self.market_state.settings)

    def _on_settings(self, settings) -> None:
        """The market settings changed (a choice, or its undo): the controls show them and the market follows."""
        self.market_controls.show_settings(settings)
        self.clear_stale_warning()
        self.recompute()

    def clear_stale_warning(self) -> None:
        """A warning in the status bar ("⚠ …") is about the state before this change: its cause is gone."""
        if self.statusBar().currentMessage().startswith("⚠"):
            self.statusBar().clearMessage()

    def open_study_point(self, scenario, settings, description: str) -> None:
        """Show a study's point in the dashboard: its scenario and its market settings (mechanism, rule, network, k,
        period) as one undoable edit — Undo goes back to the project and the market it showed."""
        from gui.state import CompoundEdit

        def back() -> None:
            self.statusBar().showMessage("Back to the project and its market settings", 8000)

        text = f"Open study point ({description})"
        if settings.period is None:
            settings = replace(settings, period=self.market_state.period)
        edits = [self.doc.edit(scenario, text), self.market_state.edit(settings)]
        self.doc.undo_stack.push(CompoundEdit(text, edits, on_undo=back))
        self.statusBar().showMessage(f"Opened {description} — Undo (Ctrl+Z) goes back to the project", 15000)
        for key in ("curves", "agents"):
            self.docks[key].raise_()

    def _on_market_preview(self, result) -> None:
        """The market before (some of) its diagnostics: every panel that has its data now shows it; the panels
        waiting for a diagnostic (``result.pending``) keep the last result, greyed, until it comes."""
        waiting = self._waiting_panels(result)
        if self.runner.preview_index and self.market_result is not None:
            # the same request, one diagnostic more: only the panels it completes are drawn
            ready = [p for p in self._waiting_panels(self.market_result) if p not in waiting]
            self._show_result(result, ready, with_period_views=False)
            for panel in ready:
                self._set_updating(panel, False)
        else:
            self._show_result(result, [p for p in self.market_panels if p not in waiting], with_period_views=True)
        for panel in waiting:
            self._set_updating(panel, True)

    def _on_market_result(self, result) -> None:
        """The complete result; after a preview of the same request only the panels that waited are redrawn."""
        if self.runner.follows_preview and self.market_result is not None and self.market_result.pending:
            panels = [p for p in self.market_panels if p in self._waiting_panels(self.market_result)]
            self._show_result(result, panels, with_period_views=False)
        else:
            self._show_result(result, self.market_panels, with_period_views=True)
        for panel in self.market_panels:
            self._set_updating(panel, False)
        self.market_controls.set_solved(self.runner.last_seconds)
        caveat = result.summary.get("solver_warning")
        if caveat:  # an optimum the solver itself called inaccurate: said, not hidden (core.numerics)
            self.statusBar().showMessage(f"⚠ {caveat.splitlines()[0]}", 20000)
            log.warning("market result with a solver warning: %s", caveat)

    def _waiting_panels(self, result) -> list:
        """The panels whose numbers come from a diagnostic still pending in ``result``."""
        needs = {d: panel for panel in self.market_panels for d in getattr(panel, "NEEDS", ())}  # each panel says
        return list(dict.fromkeys(needs[d] for d in result.pending if d in needs))

    @staticmethod
    def _set_updating(panel, on: bool) -> None:
        """Grey a panel whose numbers belong to the last result while the new one's diagnostics come
        (the Market dock says what is being computed)."""
        if panel.isEnabled() == on:
            panel.setEnabled(not on)
            panel.setToolTip("Updating: computing this panel for the new result…" if on else "")

    def _show_result(self, result, panels, with_period_views: bool) -> None:
        """Hand ``result`` to ``panels`` (and the views that follow the period). On a big project
        (``PROGRESSIVE_ABOVE`` prosumer-periods) each panel is filled in its own turn of the event loop, a few per
        ``PANEL_BUDGET_MS``, so that the window keeps answering while thousands of rows are drawn."""
        self.market_result = result
        scenario = self.doc.scenario
        steps: dict = {panel: (lambda panel=panel: panel.set_result(result)) for panel in panels}
        if with_period_views:
            steps[self.nash] = lambda: self.nash.set_market(scenario, result)

            def at_period(view):
                period = self.market_controls.period.value()  # read when drawn: the slider may have moved
                view.set_result(result, period if 0 <= period < len(result.periods) else result.period)

            steps.update({view: (lambda view=view: at_period(view)) for view in self.period_views})
        if not self._progressive(scenario):
            for step in steps.values():
                step()
            return
        self._panel_steps.update(steps)  # a newer result's step for a panel replaces an older one
        self._panel_timer.start()

    def _progressive(self, scenario) -> bool:
        if self.progressive_panels is not None:
            return self.progressive_panels
        return len(scenario.prosumers) * scenario.periods > PROGRESSIVE_ABOVE

    def _drain_panel_steps(self) -> None:
        """Fill panels until the turn's budget is spent; a panel that took longer than what is left of the
        budget last time waits for the next turn (its drawing comes on top of the filling: two heavy panels in
        one turn blocked the window ~50 ms on 3,000 agents)."""
        start = time.perf_counter()
        cost = self.__dict__.setdefault("_panel_cost", {})  # panel → ms its last filling took
        first = True
        while self._panel_steps:
            panel = next(iter(self._panel_steps))
            spent = (time.perf_counter() - start) * 1000
            if not first and spent + cost.get(panel, 0.0) > PANEL_BUDGET_MS:
                break
            first = False
            t0 = time.perf_counter()
            self._panel_steps.pop(panel)()
            cost[panel] = (time.perf_counter() - t0) * 1000
        if self._panel_steps:
            self._panel_timer.start()

    def panels_settled(self) -> bool:
        """Whether every panel shows the last result handed out (nothing left to draw)."""
        return not self._panel_steps

    def _show_period(self, period: int) -> None:
        """The period slider moved: views of the whole result follow at once (the clearing comes after)."""
        if self.market_result is not None and 0 <= period < len(self.market_result.periods):
            for view in self.period_views:
                view.set_period(period)

    def _show_mechanism(self, mechanism: str) -> None:
        """A row of Compare mechanisms was clicked: the dashboard shows that mechanism (on the copper plate,
        where the auctions clear) — one undoable change."""
        current = self.market_state.settings
        if mechanism == current.mechanism:
            return
        changes: dict = {"mechanism": mechanism}
        if mechanism != "welfare":
            changes.update(network="none", fairness="efficiency", lexicographic=False)
        self.market_state.request(replace(current, **changes))
        self.statusBar().showMessage(f"Showing the {MECHANISM_LABELS.get(mechanism, mechanism).lower()}", 6000)

    def _on_network_chosen(self, network: str) -> None:
        """A network model was chosen: bring its DLMPs forward (the Feeder prices workspace, unless the DLMP panel
        is already on screen)."""
        if network != "none" and not self.docks["dlmp"].isVisible() and self._presentation is None:
            self.show_workspace("prices")
        elif network != "none":
            self.docks["dlmp"].raise_()

    def _on_market_failure(self, message: str) -> None:
        """Say why in the status bar and the controls; the panels keep the last result."""
        self.statusBar().showMessage(f"⚠ Market not cleared: {message}", 15000)
        self.market_controls.set_failed(message)

    # --- selection sync ------------------------------------------------------------------
    def _select_bus(self, bus: str | None, center: bool = False) -> None:
        self.feeder.select_bus(bus, center=center)
        self.inspector.show_bus(bus)
        self.dlmp.set_selected_bus(bus)

    def _on_bus_selected(self, bus: str | None) -> None:
        self.dlmp.set_selected_bus(bus)
        if bus is None:
            if self.feeder.selected_line() is None:
                self.inspector.show_bus(None)
            return
        self.inspector.show_bus(bus)
        self.prosumers.set_bus(bus)

    def _on_line_selected(self, line: str | None) -> None:
        self.inspector.show_line(line)

    def _on_line_picked(self, line_id: str) -> None:
        item = self.feeder.lines.get(line_id)
        if item is not None:
            self.feeder.scene().clearSelection()
            item.setSelected(True)

    def _on_prosumer_picked(self, p) -> None:
        if p is not None:
            self.prosumers.current_bus = p.bus
            self._select_bus(p.bus, center=True)

    # --- feeder edits -----------------------------------------------------------------------
    def add_bus(self) -> None:
        from core.scenario.edit import adding_bus

        s = self.doc.scenario
        parent = self.feeder.selected_bus() or s.feeder.substation.bus
        new, bus_id = adding_bus(s, parent)
        self.doc.apply(new, f"Add bus {bus_id} below {parent}")
        self._select_bus(bus_id, center=True)

    def remove_bus(self) -> None:
        from core.scenario.edit import removing_bus

        bus = self.feeder.selected_bus()
        if bus is None:
            self.statusBar().showMessage("Select a bus on the feeder first", 5000)
            return
        try:
            new = removing_bus(self.doc.scenario, bus)
        except ScenarioError as err:
            self._show_problem(err.problems[0].message)
            return
        self.doc.apply(new, f"Remove bus {bus}")
