"""Analyze… in the desktop app, on the open video file: the action, progress in the status bar
(with a Cancel button), then the timeline under the video (ui/widgets/timeline.py), where a click seeks
the video; the appearances export as CSV or JSON.

The work runs in a child process (ui/session/analysis_job.py); its relay thread's callbacks become Qt
signals here, which reach the window queued, so nothing but the window's thread touches a widget.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt6.QtCore import QObject, Qt, pyqtBoundSignal, pyqtSignal
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import QFileDialog, QHBoxLayout, QProgressBar, QStyle, QToolButton, QWidget

from tracker.cli.analyze import GROUP_THRESHOLD
from tracker.sources.images import IMAGE_SUFFIXES

from .session.analysis_job import (
    THREAD_NAME,
    AnalysisJob,
    AnalysisResult,
    appearances_csv,
    appearances_json,
    load_result,
    save_result,
)
from .session.state import ENDED, IDLE, PAUSED, PLAYING, Stats
from .widgets.status_line import ElidedLabel
from .widgets.timeline import AnalysisPanel

if TYPE_CHECKING:  # app.py imports this module: the window's type only for the checker
    from .window import MainWindow

__all__ = ["THREAD_NAME", "AnalysisController", "AnalysisResult"]

log = logging.getLogger(__name__)

CLOSE_S = 2.0  # closing the window waits this long at most for the analysis to stop
OPEN_STATES = (PLAYING, PAUSED, ENDED)  # a file in one of these is "open" for Analyze…


class AnalysisController(QObject):
    """Analyze… for the window: the action, the status-bar progress, the panel, seeks and exports."""

    # Emitted on the analysis thread; Qt queues them to this object's (the window's) thread.
    _progressed = pyqtSignal(int, int, int, str)  # run, frames done, frames in all (0: unknown), phase
    _finished = pyqtSignal(int, object)  # run, AnalysisResult
    _failed = pyqtSignal(int, str)
    _cancelled = pyqtSignal(int)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.job: AnalysisJob | None = None
        self.result: AnalysisResult | None = None
        self._looked_up: set[str] = set()  # files whose kept analysis was looked for (once each)
        self.threshold = GROUP_THRESHOLD  # as `facetrack analyze` groups by default
        self._run = 0  # a stale run's late signals (cancelled, then restarted) are ignored
        self._closed = False
        self._cancelled_at = 0.0
        self._files: dict[str, bool] = {}  # source -> is a video file (checked once, not every poll)

        self.action = QAction("Analyze…", window)
        style = window.style()
        if style is not None:
            self.action.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_FileDialogContentsView))
        self.action.setShortcut(QKeySequence("Ctrl+Shift+A"))
        self.action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.action.setToolTip("Who appears when in the open video file: runs in the background, then shows "
                               "a timeline under the video (Ctrl+Shift+A)")
        self.action.setEnabled(False)
        self.action.triggered.connect(lambda _checked=False: self.start())
        window.addAction(self.action)

        self.panel = AnalysisPanel()
        self.timeline = self.panel.timeline
        self.timeline.seek_requested.connect(self.seek)
        self.panel.csv_button.clicked.connect(lambda: self.export_dialog("csv"))
        self.panel.json_button.clicked.connect(lambda: self.export_dialog("json"))

        # Status bar: what is being analysed, how far, and a way to stop it.
        self.status = QWidget()
        row = QHBoxLayout(self.status)
        row.setContentsMargins(0, 0, 0, 0)
        self.status_label = ElidedLabel()  # one line, cut with … when the status bar is narrow (tooltip: all)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setTextVisible(True)
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.setToolTip("Stop the analysis")
        self.cancel_button.clicked.connect(self.cancel)
        row.addWidget(self.status_label)
        row.addWidget(self.progress)
        row.addWidget(self.cancel_button)
        self.status.hide()
        sb = window.statusBar()
        assert sb is not None
        sb.addPermanentWidget(self.status)

        self._progressed.connect(self._on_progress)
        self._finished.connect(self._on_finished)
        self._failed.connect(self._on_failed)
        self._cancelled.connect(self._on_cancelled)

    # ------------------------------------------------------------------ state
    @property
    def running(self) -> bool:
        return self.job is not None and self.job.alive

    def _is_video_file(self, source: str) -> bool:
        if source not in self._files:
            path = Path(source).expanduser()
            self._files[source] = path.is_file() and path.suffix.lower() not in IMAGE_SUFFIXES
        return self._files[source]

    def current_file(self, st: Stats) -> str | None:
        """The video file the session has open, or None (nothing, a stream, photos)."""
        if st.state in OPEN_STATES and st.source and not st.live and self._is_video_file(st.source):
            return st.source
        return None

    def saved_folder(self) -> Path:
        """Where analyses are kept for the next start: beside the window's settings."""
        return Path(self.window.settings.fileName()).parent / "analyses"

    def follow(self, st: Stats) -> None:
        """From the window's stats poll: Analyze… only for an open video file, the playhead on the
        timeline; a file analysed before (and unchanged since) shows its timeline again."""
        current = self.current_file(st)
        self.action.setEnabled(not self.running and current is not None)
        if current is not None and not self.running and current not in self._looked_up and (
                self.result is None or self.result.spec != current):
            self._looked_up.add(current)
            saved = load_result(current, self.saved_folder())
            if saved is not None:
                self.result = saved
                self.panel.show_result(saved, room=self.window.height() // 4)
        res = self.result
        on_it = res is not None and st.source == res.spec and st.state != IDLE
        self.timeline.set_position(res.time_of(st.position) if res is not None and on_it else None)

    # ------------------------------------------------------------------ running
    def start(self, spec: str | None = None) -> None:
        """Analyse `spec`, or the open file; one analysis at a time."""
        if self._closed or self.running:
            return
        spec = spec or self.current_file(self.window.session.stats())
        if spec is None:
            self.window.messages.show_message("Analyze: open a video file first")
            return
        self._run += 1
        run = self._run
        cfg = self.window.cfg

        # These run on the analysis thread; a window already gone raises RuntimeError on emit.
        def emit(signal: pyqtBoundSignal, *args: object) -> None:
            try:
                signal.emit(run, *args)
            except RuntimeError:
                pass

        self.job = AnalysisJob(
            spec, cfg, self.threshold,
            on_progress=lambda done, total, phase: emit(self._progressed, done, total, phase),
            on_done=lambda result: emit(self._finished, result),
            on_error=lambda message: emit(self._failed, message),
            on_cancelled=lambda: emit(self._cancelled))
        self.action.setEnabled(False)
        self.status_label.setText(f"Analyzing {Path(spec).name}…")
        self.progress.setRange(0, 0)  # busy until the first frames are counted
        self.status.show()
        self.job.start()

    def cancel(self) -> None:
        if self.job is not None and not self.job.stopping:
            self.job.cancel()
            self._cancelled_at = time.monotonic()
            self.status_label.setText("Cancelling the analysis…")

    def close(self, timeout: float = CLOSE_S) -> bool:
        """The window is closing: stop the analysis; True when its thread ended within `timeout`
        of the cancel (the window cancels it first, then closes the session meanwhile)."""
        self._closed = True
        job = self.job
        if job is None:
            return True
        self.cancel()
        stopped = job.join(self._cancelled_at + timeout - time.monotonic())
        if not stopped:
            log.warning("the analysis did not stop within %.1f s", timeout)
        return stopped

    def _on_progress(self, run: int, done: int, total: int, phase: str) -> None:
        if run != self._run or self._closed or self.job is None or self.job.stopping:
            return
        name = Path(self.job.spec).name
        if phase == "grouping":
            self.status_label.setText(f"Analyzing {name}: grouping faces…")
            self.progress.setRange(0, 0)
            return
        self.status_label.setText(f"Analyzing {name}…")
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
            self.progress.setFormat("%v/%m frames")
        else:
            self.progress.setRange(0, 0)

    def _ended(self, run: int) -> bool:
        """Common to every end; False when the signal is stale."""
        if run != self._run or self._closed:
            return False
        if self.job is not None:
            # Its relay thread said its last word and is returning: a moment at most, after
            # which Analyze… is offered again at once rather than at the next stats poll.
            self.job.thread.join(0.5)
        self.status.hide()
        self.action.setEnabled(self.current_file(self.window.session.stats()) is not None)
        return True

    def follow_names(self, names: dict[int, str]) -> None:
        """People renamed (or named) since the analysis: its timeline, title and exports say the
        current names (`names`: gallery person id -> name, from the window's people snapshot).
        Someone since removed, and people the analysis found that the gallery does not hold,
        keep the analysis's own names."""
        res = self.result
        if res is None:
            return
        people = res.analysis.people
        renamed = [replace(p, name=names[p.person_id]) if p.person_id in names and names[p.person_id] != p.name
                   else p for p in people]
        if all(a is b for a, b in zip(renamed, people)):
            return
        self.result = replace(res, analysis=replace(res.analysis, people=renamed))
        self.panel.show_result(self.result, room=self.window.height() // 4)

    def _on_finished(self, run: int, result: AnalysisResult) -> None:
        if not self._ended(run):
            return
        self.result = result
        save_result(result, self.saved_folder())
        # The timeline takes at most about a quarter of the window: the video keeps its room.
        self.panel.show_result(result, room=self.window.height() // 4)
        people = result.analysis.people
        self._say(f"Analysis of {Path(result.spec).name}: {len(people)} "
                  f"{'person' if len(people) == 1 else 'people'} ({sum(p.known for p in people)} known)")
        self.follow(self.window.session.stats())

    def _on_failed(self, run: int, message: str) -> None:
        if self._ended(run):
            self.window.messages.show_message(f"The analysis failed: {message}")

    def _on_cancelled(self, run: int) -> None:
        if self._ended(run):
            self._say("Analysis cancelled")

    def _say(self, text: str) -> None:
        self.window.say(text, 6000)  # the status bar, and Messages

    # ------------------------------------------------------------------ seeking
    def seek(self, t: float) -> None:
        """A click on the timeline: that moment of the analysed file (reopened if another source plays)."""
        res = self.result
        if res is None:
            return
        index = res.frame_at(t)
        session = self.window.session
        st = session.stats()
        if st.source == res.spec and st.state in OPEN_STATES:
            session.seek(index)
        else:
            session.open(res.spec, index)
        self.timeline.set_position(res.time_of(index))  # at once; the poll confirms it

    # ------------------------------------------------------------------ export
    def export(self, path: Path, kind: str | None = None) -> bool:
        """The appearances to `path`, as CSV or JSON (`kind`, else from the suffix); errors are messages."""
        if self.result is None:
            return False
        kind = kind or ("json" if path.suffix.lower() == ".json" else "csv")
        text = appearances_json(self.result.analysis) if kind == "json" else appearances_csv(self.result.analysis)
        try:
            path.write_text(text, encoding="utf-8", newline="")
        except OSError as exc:
            self.window.messages.show_message(f"Cannot write {path}: {exc.strerror or exc}")
            return False
        self._say(f"Appearances saved to {path}")
        return True

    def export_dialog(self, kind: str) -> None:
        if self.result is None:
            return
        video = Path(self.result.spec)
        start = Path(str(self.window.settings.value("analysis/dir", str(video.parent))))
        suffix = f".{kind}"
        filters = "CSV (*.csv)" if kind == "csv" else "JSON (*.json)"
        name, _ = QFileDialog.getSaveFileName(self.window, "Export the appearances",
                                              str(start / f"{video.stem}-appearances{suffix}"), filters)
        if not name:
            return
        path = Path(name)
        if path.suffix.lower() != suffix:
            path = path.with_name(path.name + suffix)
        self.window.settings.setValue("analysis/dir", str(path.parent))
        self.export(path, kind)
