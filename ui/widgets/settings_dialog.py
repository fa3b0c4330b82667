"""Settings the user tunes most: match threshold, detector, upsampling and the gallery (a file, or
a PostgreSQL URL that several machines share)."""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from tracker.config import Config, gallery_location, redact
from tracker.detect import REGISTRY
from tracker.errors import FacetrackError

GALLERY_MIN_W = 320
GALLERY_MAX_W = 720


class SettingsDialog(QDialog):
    def __init__(self, cfg: Config, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.cfg = cfg
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.2, 1.0)
        self.threshold.setSingleStep(0.01)
        self.threshold.setDecimals(2)
        self.threshold.setValue(cfg.threshold)
        self.threshold.setToolTip("Largest face distance that still counts as the same person. "
                                  "Lower: fewer strangers matched, more faces left unknown. Default 0.60.")
        self.detector = QComboBox()
        self.detector.addItems(list(REGISTRY))
        self.detector.setCurrentText(cfg.detector)
        self.detector.setToolTip("\n".join(f"{e.name}: {e.summary}" for e in REGISTRY.values()))
        for i, entry in enumerate(REGISTRY.values()):
            self.detector.setItemData(i, entry.summary, Qt.ItemDataRole.ToolTipRole)
        self.upsample = QSpinBox()
        self.upsample.setRange(0, 3)
        self.upsample.setValue(cfg.upsample)
        self.upsample.setToolTip("hog and cnn: each step finds faces half as large, at about 4x the detection cost "
                                 "(centerface searches frames at a fixed size and ignores it).")
        self.gallery = QLineEdit(str(cfg.gallery))
        # The whole path in view (up to a sane width), its end visible when it is longer still.
        text_w = self.gallery.fontMetrics().horizontalAdvance(str(cfg.gallery)) + 24
        self.gallery.setMinimumWidth(min(GALLERY_MAX_W, max(GALLERY_MIN_W, text_w)))
        self.gallery.setCursorPosition(len(str(cfg.gallery)))
        self.gallery.setToolTip(redact(str(cfg.gallery)))  # a URL's password: not in a tooltip
        self.gallery.textChanged.connect(lambda text: self.gallery.setToolTip(redact(text)))
        self.gallery.setPlaceholderText("a gallery file, or postgresql://user@host/db to share one")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.gallery, 1)
        row.addWidget(browse)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #c0392b")
        form = QFormLayout(self)
        # A sentence of help under each setting, in view (the tooltips say more).
        self.help: dict[str, QLabel] = {}
        for label, field, text in (
                ("Match threshold", self.threshold,
                 "How alike two faces must be to be one person. Lower it if strangers get someone's name; "
                 "raise it if known people stay unnamed (default 0.60)."),
                ("Detector", self.detector,
                 "What finds the faces in each frame: centerface sees turned heads and small faces, fast; "
                 "hog is dlib's classic; cnn is dlib's, for a CUDA build."),
                ("Upsampling", self.upsample,
                 "hog and cnn only: look for faces half as large per step, at about 4x the time."),
                ("Gallery", row,
                 "Where the people you name are kept: a file (private to you), or a PostgreSQL database that "
                 "several machines share.")):
            form.addRow(label, field)
            note = QLabel(text)
            note.setWordWrap(True)
            note.setStyleSheet("color: palette(placeholder-text); font-size: 11px")
            form.addRow("", note)
            self.help[label] = note
        form.addRow(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Gallery file", self.gallery.text(),
                                              "Galleries (*.sqlite3 *.db);;All files (*)",
                                              options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.gallery.setText(path)

    def result_config(self) -> Config:
        """The edited settings; a FacetrackError says what is wrong."""
        text = self.gallery.text().strip()
        if not text:
            raise FacetrackError("give a gallery: a file, or a postgresql:// URL")
        return self.cfg.replace(threshold=round(self.threshold.value(), 3), detector=self.detector.currentText(),
                                upsample=self.upsample.value(), gallery=gallery_location(text))

    def accept(self) -> None:
        try:
            self.cfg = self.result_config()
        except FacetrackError as exc:
            self.error.setText(str(exc))
            return
        super().accept()
