"""The window's chrome: its actions (each with its keys and tooltip), the toolbar and the menus.
Every command is in a menu, so none hides behind a toolbar chevron; each action's shortcut also
works while the menus and the toolbar are hidden (full screen)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QAction, QIcon, QKeySequence
from PyQt6.QtWidgets import QMenu, QSlider, QStyle, QToolBar, QToolButton

from .widgets.actions import shortcut_keys, tooltip, undo_icon

if TYPE_CHECKING:
    from .window import MainWindow

WEBCAMS = 4  # indices offered in the webcam menu


class Chrome:
    def __init__(self, window: MainWindow) -> None:
        self.window = window

    def _action(self, text: str, slot: Callable[[], Any], shortcut: str | QKeySequence.StandardKey | None = None,
                icon: QStyle.StandardPixmap | None = None, tip: str = "") -> QAction:
        action = QAction(text, self.window)
        if icon is not None:
            style = self.window.style()
            assert style is not None
            action.setIcon(style.standardIcon(icon))
        keys = shortcut_keys(shortcut)
        if keys:
            action.setShortcuts(keys)
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setToolTip(tooltip(tip or text, keys))
        action.triggered.connect(lambda _checked=False: slot())
        self.window.addAction(action)  # its shortcut works while the menus and the toolbar are hidden (full screen)
        return action

    def build_actions(self) -> None:
        sp = QStyle.StandardPixmap
        a = self._action
        self.open_action = a("Open file…", self.window.player.open_file_dialog, QKeySequence.StandardKey.Open,
                             sp.SP_DialogOpenButton, "Open a video file")
        self.url_action = a("Stream…", self.window.player.open_url_dialog, "Ctrl+U", sp.SP_DriveNetIcon,
                            "Open an RTSP or HTTP stream")
        self.folder_action = a("Image folder…", self.window.player.open_folder_dialog, "Ctrl+Shift+O", sp.SP_DirIcon,
                               "Track faces in a folder of photos")
        self.webcam_actions = [a(f"Webcam {i}", functools.partial(self.window.player.open_source, str(i)),
                                 "Ctrl+Shift+W" if i == 0 else None) for i in range(WEBCAMS)]
        self.play_action = a("Play", self.window.player.toggle_pause, "Space", sp.SP_MediaPlay, "Play / pause")
        self.stop_action = a("Stop", self.window.player.stop, "Ctrl+.", sp.SP_MediaStop)
        self.fast_action = a("Fast", self.window.player.toggle_fast, "Ctrl+F", sp.SP_MediaSeekForward,
                             "Process files as fast as possible instead of at their own speed")
        self.fast_action.setCheckable(True)
        self.nav_actions = [
            a("Back 5 s", lambda: self.window.player.seek_by(-5.0), "Left"),
            a("Forward 5 s", lambda: self.window.player.seek_by(5.0), "Right"),
            a("Back 1 s", lambda: self.window.player.seek_by(-1.0), "Shift+Left"),
            a("Forward 1 s", lambda: self.window.player.seek_by(1.0), "Shift+Right"),
            a("Previous frame", lambda: self.window.player.step_frames(-1), ","),
            a("Next frame", lambda: self.window.player.step_frames(1), "."),
            a("Go to the start", self.window.player.seek_home, "Home"),
            a("Go to the end", self.window.player.seek_end, "End"),
        ]
        self.record_action = a("Record…", self.window.player.toggle_record, "Ctrl+R", sp.SP_DialogSaveButton,
                               "Record the annotated video to an MP4 file")
        self.record_action.setCheckable(True)
        self.fullscreen_action = a("Full screen", self.window.player.toggle_fullscreen, "F", sp.SP_TitleBarMaxButton,
                                   "The video alone, full screen (F or Esc leaves)")
        self.settings_action = a("Settings…", self.window.settings_dialog, QKeySequence.StandardKey.Preferences,
                                 sp.SP_FileDialogDetailedView)
        self.quit_action = a("Quit", self.window.close, QKeySequence.StandardKey.Quit)
        self.undo_action = a("Undo", self.window.people_actions.undo, QKeySequence.StandardKey.Undo, None,
                             tip="Undo the last change to people")
        # An undo arrow, not the media "back" triangle that reads as "previous" beside Play.
        self.undo_action.setIcon(QIcon.fromTheme("edit-undo", undo_icon()))
        # Ctrl+Z also works while a person's page has the focus (a text field keeps its own).
        self.undo_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.redo_action = a("Redo", self.window.people_actions.redo, QKeySequence.StandardKey.Redo,
                             tip="Make the last undone change again")
        self.redo_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.enroll_action = a("Enrol photos…", self.window.people_actions.enroll_dialog, "Ctrl+E")
        self.messages_action = a("Messages…", self.window.show_messages, "Ctrl+M", tip="Every message, with its time")
        self.unnamed_action = a("Name the unnamed…", self.window.people_actions.name_unnamed_dialog,
                                tip="Every automatic identity, most seen first, to name in one go")
        self.backup_action = a("Back up people…", self.window.people_actions.backup_dialog,
                               tip="The whole gallery into one file")
        self.import_action = a("Import people…", self.window.people_actions.import_dialog,
                               tip="Add the people of a backup (or another gallery file)")
        self.prune_action = a("Remove unseen identities…", self.window.people_actions.prune_dialog,
                              tip="Automatic identities nobody named, not seen for a number of days")
        self.shortcuts_action = a("Keyboard shortcuts", self.window.show_shortcuts, "F1")

    def build_toolbar(self) -> None:
        sp = QStyle.StandardPixmap
        bar = QToolBar("Source")
        bar.setObjectName("source-bar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.window.addToolBar(bar)
        webcam = QToolButton()
        webcam.setText("Webcam")
        style = self.window.style()
        assert style is not None
        webcam.setIcon(style.standardIcon(sp.SP_ComputerIcon))
        webcam.setToolTip("Open a webcam (Ctrl+Shift+W opens webcam 0)")
        webcam.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        webcam.setToolButtonStyle(bar.toolButtonStyle())
        bar.toolButtonStyleChanged.connect(webcam.setToolButtonStyle)
        menu = QMenu(webcam)
        for action in self.webcam_actions:
            menu.addAction(action)
        webcam.setMenu(menu)
        self.webcam_button = webcam
        for action in (self.open_action, self.url_action, self.folder_action):
            bar.addAction(action)
        bar.addWidget(webcam)
        bar.addSeparator()
        for action in (self.play_action, self.stop_action, self.fast_action):
            bar.addAction(action)
        self.seek = QSlider(Qt.Orientation.Horizontal)
        self.seek.setMinimumWidth(120)
        self.seek.setEnabled(False)
        self.seek.setToolTip("Seek (video files): Left/Right 5 s, Shift 1 s, comma/period one frame, Home/End")
        self.seek.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the arrow keys seek by time, not by slider steps
        self.seek.sliderReleased.connect(lambda: self.window.player.seek_to(self.seek.value()))
        self.seek.actionTriggered.connect(self.window.player.seek_clicked)
        bar.addWidget(self.seek)
        bar.addSeparator()
        for action in (self.window.analysis.action, self.record_action, self.fullscreen_action, self.settings_action):
            bar.addAction(action)
        bar.addSeparator()
        bar.addAction(self.undo_action)
        self.toolbar = bar

    def build_menus(self) -> None:
        """Every command is also in a menu, so none hides behind a toolbar chevron."""
        mb = self.window.menuBar()
        assert mb is not None
        people = self.window.people
        groups: list[tuple[str, list[QAction | None]]] = [
            ("&File", [self.open_action, self.url_action, self.folder_action, *self.webcam_actions, None,
                       self.record_action, self.window.analysis.action, None, self.backup_action, self.import_action,
                       self.prune_action, None, self.settings_action, None, self.quit_action]),
            ("&Playback", [self.play_action, self.stop_action, self.fast_action, None, *self.nav_actions]),
            ("P&eople", [self.undo_action, self.redo_action, None, people.open_action, people.rename_action,
                         people.merge_action, people.delete_key, None, self.unnamed_action, self.enroll_action]),
            ("&View", [self.fullscreen_action, self.messages_action]),
            ("&Help", [self.shortcuts_action]),
        ]
        for title, actions in groups:
            menu = mb.addMenu(title)
            assert menu is not None
            for action in actions:
                if action is None:
                    menu.addSeparator()
                else:
                    menu.addAction(action)
                if action is self.folder_action:  # File > Open recent, after the ways to open
                    self.recent_menu = QMenu("Open &recent", self.window)
                    self.recent_menu.aboutToShow.connect(lambda: self.window.player.fill_recent_menu(self.recent_menu))
                    self.window.player.fill_recent_menu(self.recent_menu)
                    menu.addMenu(self.recent_menu)
