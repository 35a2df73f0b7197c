"""The window's presentation mode, themes and default layout."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QApplication,
)

from gui.presenting import (
    THEMES,
    apply_theme,
    scale_plot_fonts,
)
from gui.window.constants import EDITING_DOCKS, PRESENTATION_FONT_SCALE

FULL_SCREEN_WAIT_MS = 400  # how long a window manager gets to grant full screen


class PresentationMixin:
    """Methods of :class:`gui.main_window.MainWindow` (presentation)."""

    # --- presenting ------------------------------------------------------------------------------
    def in_presentation(self) -> bool:
        return self._presentation is not None

    def toggle_presentation(self) -> None:
        if self._presentation is None:
            self.enter_presentation()
        else:
            self.leave_presentation()

    def enter_presentation(self) -> None:
        """Full screen, fonts ×1.4, the editing docks and the toolbar hidden."""
        if self._presentation is not None:
            return
        app = QApplication.instance()
        font = QFont(app.font())
        self._presentation = (self.saveState(), font, self.windowState(), self.geometry())
        for key in EDITING_DOCKS:
            self.docks[key].hide()
        self.toolbar.hide()
        big = QFont(font)
        if font.pointSizeF() > 0:
            big.setPointSizeF(font.pointSizeF() * PRESENTATION_FONT_SCALE)
        else:
            big.setPixelSize(round(font.pixelSize() * PRESENTATION_FONT_SCALE))
        app.setFont(big)
        scale_plot_fonts(self, PRESENTATION_FONT_SCALE)
        self.feeder.set_text_scale(PRESENTATION_FONT_SCALE)
        self.showFullScreen()
        QTimer.singleShot(FULL_SCREEN_WAIT_MS, self._full_screen_or_maximised)
        self.act_presentation.setChecked(True)
        self.act_leave_presentation.setEnabled(True)
        self.statusBar().showMessage("Presentation mode: Esc or F5 leaves", 5000)

    def _full_screen_or_maximised(self) -> None:
        """A window manager may refuse full screen (some tiling ones do): then maximised, and the workspace's
        docks sized again for the larger fonts, so that the plots keep their room instead of collapsing."""
        if self._presentation is None or self.isFullScreen():
            return
        self.showMaximized()
        from gui.window.workspaces import BY_KEY

        self._size_workspace(BY_KEY[self.workspace])
        self.statusBar().showMessage("Presentation mode: full screen was refused, so the window is maximised", 8000)

    def leave_presentation(self) -> None:
        """Back to the layout, window state and font from before."""
        if self._presentation is None:
            return
        state, font, window_state, geometry = self._presentation
        self._presentation = None
        QApplication.instance().setFont(font)
        scale_plot_fonts(self, None)
        self.feeder.set_text_scale(1.0)
        QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)  # the small fonts' minimum sizes, now
        self.setWindowState(window_state)
        if self.isVisible():
            if window_state & Qt.WindowState.WindowMaximized:
                self.showMaximized()
            else:
                self.showNormal()
        self.restoreState(state)

        def settle() -> None:  # once the smaller fonts reached every widget (posted events), the old size fits
            if self._presentation is None:
                QApplication.sendPostedEvents()
                if not self.windowState() & Qt.WindowState.WindowMaximized:
                    self.setGeometry(geometry)
                self.restoreState(state)

        QTimer.singleShot(0, settle)
        self.act_presentation.setChecked(False)
        self.act_leave_presentation.setEnabled(False)
        self.statusBar().clearMessage()

    def theme(self) -> str:
        return self._theme

    def set_theme(self, theme: str) -> None:
        """The light or dark theme (remembered)."""
        theme = theme if theme in THEMES else "light"
        previous, self._theme = getattr(self, "_theme", "light"), theme
        app = QApplication.instance()
        if app is not None:
            apply_theme(app, self, theme, self._light_palette, restyle_plots=theme == "dark" or previous != theme)
        self.feeder.set_dark(theme == "dark")
        self.act_themes[theme].setChecked(True)
        self.settings.setValue("view/theme", theme)
