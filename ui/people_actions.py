"""The main window's people side: "Who is this?", "Not NAME", a person's page, Undo, enrolment
and drag and drop. The window (ui/window.py) holds one as `people_actions`; it owns the widgets
and the session used here.

Every command's outcome is visible: success in the status bar; a failure also in the status bar
(the session puts its reason on the message strip, which stays until dismissed)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PyQt6.QtCore import QPoint, QSize, Qt, QUrl
from PyQt6.QtGui import QDragEnterEvent, QDropEvent, QIcon, QPixmap
from PyQt6.QtWidgets import (
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from tracker.sources.images import IMAGE_SUFFIXES

from .session.people import PeopleCommands
from .widgets.face_dialogs import (
    PICK_CHOICE_PX,
    PICK_FACE_PX,
    UNNAMED_FACE_PX,
    FaceInputDialog,
    face_picture,
    looks_like_text,
    natural_key,
)
from .widgets.person_page import PersonPage
from .widgets.pictures import rgb_pixmap, thumbnail_icon

if TYPE_CHECKING:
    from .window import MainWindow

IMAGE_FILTER = "Images (" + " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES)) + ");;All files (*)"
DONE_MS = 6000  # how long a success stays in the status bar
FAILED_MS = 10000
UNDO_LABEL_CHARS = 32  # the toolbar's "Undo <step>" is shortened beyond this


class PeopleActions:
    """What the window does to people: naming faces, pages, undo, enrolment, backups, drops."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        # The last of each, kept for tests.
        self.face_menu_shown: QMenu | None = None
        self.unnamed_dialog: QDialog | None = None
        self.face_choice: QDialog | None = None

    @property
    def _commands(self) -> PeopleCommands:
        return self.window.session.people_commands

    def _said(self, fut: Future[Any], success: Callable[[Any], str], failure: str) -> None:
        """`fut`'s outcome in the status bar once the engine thread has run it."""
        self.window.run_command(fut, lambda f: self.window.outcome(f, success, failure))

    # ------------------------------------------------------------------ naming
    def _ask_person(self, title: str, prompt: str, current: str = "", picture: QPixmap | None = None) -> str | None:
        views = sorted(self.window.people.views, key=lambda v: natural_key(v.person.name))  # Person 2 before Person 10
        dialog = FaceInputDialog(self.window, picture)
        dialog.setWindowTitle(title)
        dialog.setLabelText(prompt)
        dialog.setComboBoxItems([v.person.name for v in views])
        box = dialog.findChild(QComboBox)
        if box is not None:  # each name with its face, as in the people list
            box.setIconSize(QSize(PICK_FACE_PX, PICK_FACE_PX))
            for i, v in enumerate(views):
                box.setItemIcon(i, thumbnail_icon(v))
        dialog.setComboBoxEditable(True)
        dialog.setTextValue(current)
        combo = dialog.findChild(QCompleter)
        if combo is not None:
            combo.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            # Completed in the field itself: one Enter takes the completed name and closes the dialog.
            combo.setCompletionMode(QCompleter.CompletionMode.InlineCompletion)
        with self.window.player.dialog_pause():
            accepted = dialog.exec()
        if not accepted:
            return None
        name = dialog.textValue().strip()
        return name or None

    def who_is_this(self, track_id: int, current: str) -> None:
        """A click on a face: name it, or say it is someone already in the gallery."""
        name = self._ask_person("Who is this?", "Name this face (a new name, or pick someone):", current,
                                self._face_of(track_id))
        if name is not None:
            self.name_face(track_id, name)

    def _face_of(self, track_id: int) -> QPixmap | None:
        """That track's face on the frame shown, for the question about it."""
        snap = self.window.session.latest()
        if snap is None:
            return None
        ids = [int(t) for t in snap.result.track_ids]
        if track_id not in ids:
            return None
        return face_picture(snap.frame.image, snap.result.boxes[ids.index(track_id)])

    def face_menu(self, track_id: int, name: str, pos: QPoint) -> None:
        """Right-click on a face: name it, or say it is not who it shows."""
        menu = QMenu(self.window)
        menu.addAction("Who is this?…", lambda: self.who_is_this(track_id, name))
        if name:
            menu.addAction(f"Not {name}", lambda: self.not_person(track_id, name))
        menu.popup(pos)
        self.face_menu_shown = menu  # kept for tests

    def name_face(self, track_id: int, name: str) -> None:
        self._said(self._commands.name_track(track_id, name), lambda person: f"This face is {person.name}",
                   f"Could not name that face {name}")

    def not_person(self, track_id: int, name: str) -> None:
        def said(r: Any) -> str:
            taught = (f"the {r.taken} sample(s) it taught {name} were taken back" if r.taken
                      else f"it had taught {name} nothing")
            return f"That face is not {name}: {taught}, and it stays apart from {name} (Ctrl+Z undoes this)"

        self.window.run_command(self._commands.reject_track(track_id),
                         lambda fut: self.window.outcome(fut, said, f"Could not take that face from {name}"))

    def open_person(self, name: str) -> PersonPage:
        """A person's page (double-click in the panel); one page per person."""
        page = next((p for p in self.window.findChildren(PersonPage) if p.name == name and not p.gone), None)
        if page is None:
            w = self.window
            page = PersonPage(w.session, name, w.run_command, w, w.player.show_sample)
            page.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        page.show()  # not modal: the video and the panel stay usable, and Ctrl+Z works from the page
        page.raise_()
        page.activateWindow()
        return page

    # ------------------------------------------------------------------ undo
    def undo(self) -> None:
        """Ctrl+Z: revert the newest change to people; the status bar says which."""
        def done(fut: Future[Any]) -> None:
            self.window.outcome(fut, lambda label: f"Undone: {label}" if label is not None else "Nothing to undo",
                         "Could not undo")
            if fut.exception() is None:
                self.show_undo_label()
                for page in self.window.findChildren(PersonPage):
                    page.reload()
        self.window.run_command(self._commands.undo(), done)

    def redo(self) -> None:
        """Ctrl+Shift+Z: make the newest undone change again; the status bar says which."""
        def done(fut: Future[Any]) -> None:
            self.window.outcome(fut, lambda label: f"Redone: {label}" if label is not None else "Nothing to redo",
                         "Could not redo")
            if fut.exception() is None:
                self.show_undo_label()
                for page in self.window.findChildren(PersonPage):
                    page.reload()
        self.window.run_command(self._commands.redo(), done)

    def show_undo_label(self) -> None:
        """The Undo action names the step it would revert. It stays enabled, so that Ctrl+Z pressed
        just after a change is never lost to a label not yet pulled; with nothing to undo it says so."""
        label = self._commands.can_undo()
        short = label if label is None or len(label) <= UNDO_LABEL_CHARS else label[:UNDO_LABEL_CHARS - 1] + "…"
        self.window.chrome.undo_action.setText(f"Undo {short}" if short else "Undo")
        self.window.chrome.undo_action.setToolTip(f"Undo {label} (Ctrl+Z)" if label else "Nothing to undo (Ctrl+Z)")
        again = self._commands.can_redo()
        short = again if again is None or len(again) <= UNDO_LABEL_CHARS else again[:UNDO_LABEL_CHARS - 1] + "…"
        self.window.chrome.redo_action.setText(f"Redo {short}" if short else "Redo")
        self.window.chrome.redo_action.setToolTip(f"Redo {again} (Ctrl+Shift+Z)" if again
                                           else "Nothing to redo (Ctrl+Shift+Z)")

    # ------------------------------------------------------------------ enrolment
    def enroll_dialog(self) -> None:
        with self.window.player.dialog_pause():
            paths, _ = QFileDialog.getOpenFileNames(self.window, "Photos of one person",
                                                    self.window.player.start_dir("enroll/dir"),
                                                    IMAGE_FILTER)
        if paths:
            self.window.settings.setValue("enroll/dir", str(Path(paths[0]).parent))
            self.enroll_paths([Path(p) for p in paths])

    def enroll_paths(self, paths: list[Path], name: str | None = None) -> None:
        if name is None:
            guess = paths[0].name if paths[0].is_dir() else ""
            what = (f"{len(paths)} photos or folders" if len(paths) > 1 else
                    "this folder of photos" if paths[0].is_dir() else "this photo")
            name = self._ask_person("Enrol", f"Whose face is in {what}?", guess)
            if name is None:
                return
        self._enroll(name, paths, {}, False)

    def _enroll(self, name: str, paths: list[Path], chosen: dict[Path, Any], force: bool) -> None:
        """Enrol, asking the user where the photos leave a doubt: which face of a photo of
        several, and whether photos that do not look like the others are this person."""
        self.window.say(f"Enrolling {name}…", 0)

        def done(fut: Future[Any]) -> None:
            report = fut.result() if fut.exception() is None else None
            if report is not None and report.person is None and report.ambiguous:
                picks = dict(chosen)
                for photo in report.ambiguous:
                    pick = self._pick_face(name, photo)
                    if pick is None:
                        self.window.say(f"Nothing enrolled for {name}: no face chosen in {photo.path.name}")
                        return
                    picks[photo.path] = photo.boxes[pick]
                self._enroll(name, paths, picks, force)
                return
            if report is not None and report.person is None and report.odd:
                listed = "\n".join(f"  {p.name} ({d:.2f} from the others)" for p, d in report.odd[:10])
                with self.window.player.dialog_pause():
                    answer = QMessageBox.question(
                        self.window, "Enrol", f"These photos do not look like the others, so they may not be {name}:\n"
                                       f"{listed}\n\nEnrol them as {name} anyway?")
                if answer == QMessageBox.StandardButton.Yes:
                    self._enroll(name, paths, chosen, True)
                else:
                    self.window.say(f"Nothing enrolled for {name}")
                return
            self.window.outcome(fut, enrolled, f"Nothing enrolled for {name}")

        def enrolled(report: Any) -> str:
            text = f"{report.person.name}: {len(report.enrolled)} photo(s) enrolled"
            if report.skipped:
                text += f", {len(report.skipped)} skipped (see the message)"
            return text

        self.window.run_command(self._commands.enroll(name, paths, chosen, force), done)

    # ------------------------------------------------------------------ naming in bulk
    def name_unnamed_dialog(self) -> None:
        """People > Name the unnamed…: every automatic identity, most seen first, with a few of its
        faces and a field for its name; the names given are applied as one undo step."""
        self.window.run_command(self._commands.unnamed(), self._show_unnamed)

    def _show_unnamed(self, fut: Future[Any]) -> None:
        if fut.exception() is not None:
            self.window.say(f"Could not list the unnamed people: {fut.exception()}", FAILED_MS)
            return
        rows = fut.result()
        if not rows:
            self.window.say("Everyone is named: there are no automatic identities")
            return
        dialog = QDialog(self.window)
        dialog.setWindowTitle("Name the unnamed")
        dialog.resize(560, 520)
        col = QVBoxLayout(dialog)
        col.addWidget(QLabel(f"{len(rows)} automatic identities, most seen first. Type a name for those you "
                             "know (an existing name merges them into that person); leave the others empty."))
        inner = QWidget()
        grid = QVBoxLayout(inner)
        fields: list[tuple[str, QLineEdit]] = []
        for name, count, thumbs in rows:
            row = QHBoxLayout()
            for img in thumbs:
                face = QLabel()
                smooth = Qt.TransformationMode.SmoothTransformation
                face.setPixmap(rgb_pixmap(img).scaledToHeight(UNNAMED_FACE_PX, smooth))
                row.addWidget(face)
            row.addWidget(QLabel(f"{name}\n{count} face(s)"), 1)
            field = QLineEdit()
            field.setPlaceholderText("name…")
            field.setObjectName(f"name-for:{name}")
            row.addWidget(field, 1)
            grid.addLayout(row)
            fields.append((name, field))
        grid.addStretch(1)
        area = QScrollArea()
        area.setWidget(inner)
        area.setWidgetResizable(True)
        col.addWidget(area, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(dialog.accept)
        buttons.rejected.connect(dialog.reject)
        col.addWidget(buttons)
        self.unnamed_dialog = dialog  # tests fill it in
        with self.window.player.dialog_pause():
            accepted = dialog.exec()
        given = [(name, f.text().strip()) for name, f in fields if f.text().strip()]
        if not accepted or not given:
            return
        self.window.run_command(self._commands.name_many(given), lambda fut: self.window.outcome(
            fut, lambda done: f"Named {len(done)}: " + "; ".join(done) + " (Ctrl+Z undoes it)",
            "Could not name them"))

    # ------------------------------------------------------------------ the gallery as a whole
    def backup_dialog(self) -> None:
        """File > Back up people…: the whole gallery into one file."""
        with self.window.player.dialog_pause():
            path, _ = QFileDialog.getSaveFileName(self.window, "Back up people",
                                                  self.window.player.start_dir("backup/dir"),
                                                  "Galleries (*.sqlite3);;All files (*)")
        if path:
            self.window.settings.setValue("backup/dir", str(Path(path).parent))
            self._said(self._commands.export_gallery(Path(path)), lambda n: f"Backed up {n} people to {path}",
                       "Nothing backed up")

    def import_dialog(self) -> None:
        """File > Import people…: the people of a backup added here (Ctrl+Z undoes it)."""
        with self.window.player.dialog_pause():
            path, _ = QFileDialog.getOpenFileName(self.window, "Import people",
                                                  self.window.player.start_dir("backup/dir"),
                                                  "Galleries (*.sqlite3 *.db);;All files (*)")
        if path:
            self._said(self._commands.import_gallery(Path(path)),
                       lambda pairs: f"Imported {len(pairs)} people from {Path(path).name} (Ctrl+Z undoes it)",
                       "Nothing imported")

    def prune_dialog(self) -> None:
        """File > Remove unseen identities…: automatic identities nobody named, unseen for N days."""
        with self.window.player.dialog_pause():
            days, ok = QInputDialog.getInt(self.window, "Remove unseen identities",
                                           "Remove automatic identities (nobody named them) not seen for this "
                                           "many days; named and enrolled people stay:", 30, 1, 100_000)
        if ok:
            self._said(self._commands.prune(float(days)),
                       lambda gone: f"Removed {len(gone)} automatic identities unseen for {days} days"
                       + (" (Ctrl+Z undoes it)" if gone else ""), "Nothing removed")

    def _pick_face(self, name: str, photo: Any) -> int | None:
        """Which of a photo's faces is `name`: a dialog of the faces, one button each; None if
        the user picks none."""
        dialog = QDialog(self.window)
        dialog.setWindowTitle("Which face?")
        col = QVBoxLayout(dialog)
        col.addWidget(QLabel(f"{photo.path.name} shows {len(photo.boxes)} faces. Which one is {name}?"))
        row = QHBoxLayout()
        picked: list[int] = []
        for i, chip in enumerate(photo.chips):
            button = QPushButton()
            button.setObjectName("face-choice")
            button.setIcon(QIcon(rgb_pixmap(chip)))
            button.setIconSize(QSize(PICK_CHOICE_PX, PICK_CHOICE_PX))
            button.setToolTip(f"face {i + 1}")

            def choose(_checked: bool = False, i: int = i) -> None:
                picked.append(i)
                dialog.accept()

            button.clicked.connect(choose)
            row.addWidget(button)
        col.addLayout(row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        buttons.rejected.connect(dialog.reject)
        col.addWidget(buttons)
        self.face_choice = dialog  # tests answer it
        with self.window.player.dialog_pause():
            dialog.exec()
        return picked[0] if picked else None

    # ------------------------------------------------------------------ drag and drop
    def accept_drag(self, event: QDragEnterEvent) -> None:
        mime = event.mimeData()
        if mime is not None and mime.hasUrls():
            # Always a copy: a file manager must never move (or delete) the user's file.
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()

    def drop(self, event: QDropEvent) -> None:
        mime = event.mimeData()
        if mime is None:
            return
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        self.handle_drop(list(mime.urls()))

    def handle_drop(self, urls: list[QUrl]) -> None:
        """Photos and folders enrol a person; a video, or a stream address, is opened. A file that
        is plainly no video (text) is refused with a message: the video playing goes on."""
        paths = [Path(u.toLocalFile()) for u in urls if u.isLocalFile()]
        remote = [u.toString() for u in urls if not u.isLocalFile()]
        photos = [p for p in paths if p.is_dir() or p.suffix.lower() in IMAGE_SUFFIXES]
        texts = [p for p in paths if p not in photos and looks_like_text(p)]
        if texts:
            self.window.messages.show_message(f"{texts[0].name}: not a video, photo or folder; nothing opened")
        videos = [str(p) for p in paths if p not in photos and p not in texts]
        if photos:
            self.enroll_paths(photos)
        elif videos or remote:
            first, *rest = videos + remote
            self.window.player.open_source(first, rest)

