"""The window's workspaces: named arrangements of the docks (Edit · Market · Feeder prices · Fairness & power ·
Studies), switched from the toolbar or Ctrl+1…5, each remembered as the user left it (QSettings).

A workspace shows the docks of one task around the feeder, its plots large: the editors only in *Edit*, the
market's plots in *Market*, the DLMPs across the width in *Feeder prices*. Its default arrangement is written
below (areas, tab groups, shares of the window); once the user moves a dock, the workspace keeps that instead, until
View ▸ Restore default layout. Any dock can still be opened from the View menu into any workspace.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence

from gui.window.constants import LAYOUT_VERSION

LEFT, RIGHT, BOTTOM = (
    Qt.DockWidgetArea.LeftDockWidgetArea,
    Qt.DockWidgetArea.RightDockWidgetArea,
    Qt.DockWidgetArea.BottomDockWidgetArea,
)


@dataclass(frozen=True)
class Workspace:
    """A default arrangement: per area, groups of docks (a group is tabbed, its first dock in front), stacked
    (left, right) or side by side (bottom); the areas' shares of the window's width and height."""

    key: str
    title: str
    tip: str
    left: tuple[tuple[str, ...], ...] = ()
    right: tuple[tuple[str, ...], ...] = ()
    bottom: tuple[tuple[str, ...], ...] = ()
    left_share: float = 0.27  # of the window's width
    right_share: float = 0.22
    bottom_share: float = 0.42  # of the window's height
    stack: dict[str, float] = field(default_factory=dict)  # a stacked group's share of its column (first dock key)
    main: tuple[str, ...] = ()  # the docks of its main plots: at least 220 px high at 1366×768 (tested)

    @property
    def name(self) -> str:
        """The title as read (the action's "&&" is one "&")."""
        return self.title.replace("&&", "&")

    def docks(self) -> list[str]:
        return [key for area in (self.left, self.right, self.bottom) for group in area for key in group]


WORKSPACES: tuple[Workspace, ...] = (
    Workspace(
        "edit",
        "Edit",
        "Draw the feeder and its prosumers: the tables of prosumers, lines and buses, the scenario, the edit history",
        left=(("market",),),
        right=(("inspector",), ("scenario", "history")),
        bottom=(("prosumers", "lines", "buses"),),
        bottom_share=0.40,
    ),
    Workspace(
        "market",
        "Market",
        "The clearing: supply and demand, prices over the day, what each prosumer gets, the mechanisms compared",
        left=(("market",), ("inspector",)),
        right=(("curves", "day_prices", "iteration"),),
        bottom=(("agents",), ("compare", "properties")),
        right_share=0.40,
        stack={"market": 0.62},
        bottom_share=0.36,
        main=("curves",),
    ),
    Workspace(
        "prices",
        "Feeder prices",
        "The feeder's prices: every bus's DLMP and its parts, the day's band of prices and the worst voltage",
        left=(("market",), ("inspector",)),
        right=(("day_prices",),),
        bottom=(("dlmp",),),
        right_share=0.46,
        stack={"market": 0.62},
        bottom_share=0.40,
        main=("dlmp",),
    ),
    Workspace(
        "fairness",
        "Fairness && power",
        "Who gains: the fairness rules compared, market power (HHI, Lerner, pivotal sellers), Nash equilibria",
        left=(("market",),),
        bottom=(("fairness",), ("market_power", "nash")),
        bottom_share=0.60,
        main=("fairness", "market_power"),
    ),
    Workspace(
        "studies",
        "Studies",
        "Scenario studies: a grid of settings and draws run in the background, their table and plots",
        left=(("market",),),
        bottom=(("studies",),),
        bottom_share=0.62,
        main=("studies",),
    ),
)
BY_KEY = {w.key: w for w in WORKSPACES}
DEFAULT_WORKSPACE = "market"


class WorkspacesMixin:
    """Methods of :class:`gui.main_window.MainWindow` (workspaces)."""

    def _build_workspaces(self) -> None:
        """The toolbar's workspace switcher (one checkable action each, Ctrl+1…5)."""
        self.workspace = DEFAULT_WORKSPACE
        self.workspace_group = QActionGroup(self)
        self.workspace_actions: dict[str, QAction] = {}
        tb = self.workspace_bar = self.addToolBar("Workspaces")
        tb.setObjectName("toolbar_workspaces")
        for n, w in enumerate(WORKSPACES, start=1):
            act = QAction(w.title, self)  # ("&&": a literal ampersand, not a mnemonic)
            act.setCheckable(True)
            act.setShortcut(QKeySequence(f"Ctrl+{n}"))
            act.setToolTip(f"{w.name} workspace (Ctrl+{n}): {w.tip}")
            act.setStatusTip(w.tip)
            act.triggered.connect(lambda _checked=False, key=w.key: self.show_workspace(key))
            self.workspace_group.addAction(act)
            self.workspace_actions[w.key] = act
            tb.addAction(act)
        self.workspace_actions[self.workspace].setChecked(True)
        menu = self.view_menu.addMenu("&Workspace")
        menu.addActions(list(self.workspace_actions.values()))
        self.view_menu.insertMenu(self.act_default_layout, menu)

    def show_workspace(self, key: str) -> None:
        """Switch to workspace ``key``: this one's arrangement is remembered, that one's restored (or its
        default)."""
        if key not in BY_KEY:
            raise ValueError(f"no workspace {key!r}: choose one of {', '.join(BY_KEY)}")
        if self._presentation is not None:
            self.leave_presentation()
        if key != self.workspace:
            self._remember_workspace()
        self.workspace = key
        self.workspace_actions[key].setChecked(True)
        self.settings.setValue("workspace/current", key)
        self._lay_out_workspace()
        self.statusBar().showMessage(f"{BY_KEY[key].name}: {BY_KEY[key].tip}", 6000)

    def _remember_workspace(self) -> None:
        if self._presentation is None:
            self.settings.setValue(f"workspace/{self.workspace}", self.saveState(LAYOUT_VERSION))

    def restore_default_layout(self) -> None:
        """The current workspace as it comes (View ▸ Restore default layout): its saved arrangement is forgotten."""
        if self._presentation is not None:
            self.leave_presentation()
        self.settings.remove(f"workspace/{self.workspace}")
        self.arrange_workspace(BY_KEY[self.workspace])
        self.toolbar.show()
        self.workspace_bar.show()

    def arrange_workspace(self, w: Workspace) -> None:
        """Lay the docks out as ``w`` says (hiding the others) and size the areas by its shares."""
        wanted = set(w.docks())
        for key, dock in self.docks.items():
            if key not in wanted:
                dock.hide()
            dock.setFloating(False)
        for area, groups, orientation in (
            (LEFT, w.left, Qt.Orientation.Vertical),
            (RIGHT, w.right, Qt.Orientation.Vertical),
            (BOTTOM, w.bottom, Qt.Orientation.Horizontal),
        ):
            for group in groups:
                first = self.docks[group[0]]
                self.addDockWidget(area, first, orientation)
                first.show()
                for key in group[1:]:
                    self.tabifyDockWidget(first, self.docks[key])
                    self.docks[key].show()
                first.raise_()
        self._size_workspace(w)

    def _size_workspace(self, w: Workspace) -> None:
        width, height = self.width(), self.height()
        if w.left and w.right:
            self.resizeDocks(
                [self.docks[w.left[0][0]], self.docks[w.right[0][0]]],
                [round(w.left_share * width), round(w.right_share * width)],
                Qt.Orientation.Horizontal,
            )
        elif w.left:
            self.resizeDocks([self.docks[w.left[0][0]]], [round(w.left_share * width)], Qt.Orientation.Horizontal)
        if w.bottom:
            self.resizeDocks([self.docks[w.bottom[0][0]]], [round(w.bottom_share * height)], Qt.Orientation.Vertical)
            if len(w.bottom) > 1:  # side by side, equal shares
                firsts = [self.docks[g[0]] for g in w.bottom]
                self.resizeDocks(firsts, [round(width / len(firsts))] * len(firsts), Qt.Orientation.Horizontal)
        for column in (w.left, w.right):
            if len(column) > 1:
                rest = height * (1.0 - (w.bottom_share if w.bottom else 0.0))
                first = w.stack.get(column[0][0], 1.0 / len(column))
                sizes = [round(first * rest)] + [round((1.0 - first) * rest / (len(column) - 1))] * (len(column) - 1)
                self.resizeDocks([self.docks[g[0]] for g in column], sizes, Qt.Orientation.Vertical)

    def _restore_workspace(self) -> None:
        """At start: the workspace the user left, as they left it (or its default)."""
        key = str(self.settings.value("workspace/current", DEFAULT_WORKSPACE))
        self.workspace = key if key in BY_KEY else DEFAULT_WORKSPACE
        self.workspace_actions[self.workspace].setChecked(True)
        self._lay_out_workspace()

    def _lay_out_workspace(self) -> None:
        """The current workspace as the user left it (QSettings), else as it comes."""
        saved = self.settings.value(f"workspace/{self.workspace}")
        if not (isinstance(saved, QByteArray) and self.restoreState(saved, LAYOUT_VERSION)):
            self.arrange_workspace(BY_KEY[self.workspace])
