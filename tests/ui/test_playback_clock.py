"""PlaybackClock: when a file's frames are due, which late ones are dropped, and when it says behind."""

from __future__ import annotations

from ui.session.clock import BEHIND_HOLD_S, RESET_LATE_S, SKIP_LATE_S, SKIP_MAX_S, PlaybackClock


def test_frames_are_due_at_their_media_time_from_the_first_one() -> None:
    c = PlaybackClock()
    assert c.due(0.0) is None and not c.should_skip(0.0, 100.0)  # not started: nothing is late
    assert c.shown(10.0, 100.0) == 100.0  # the first frame starts the clock
    assert c.due(11.0) == 101.0
    assert c.shown(10.5, 100.2) == 100.5  # early: wait until due
    assert c.late == 0.0 and not c.behind(100.2)


def test_late_frames_are_dropped_to_keep_time_and_it_says_behind() -> None:
    c = PlaybackClock()
    c.shown(0.0, 0.0)
    assert not c.should_skip(1.0, 1.0 + SKIP_LATE_S - 0.01)  # a little late: processed
    assert c.should_skip(1.0, 1.0 + SKIP_LATE_S + 0.01) and c.skipped == 1
    assert c.behind(1.3) and not c.behind(1.3 + BEHIND_HOLD_S + 0.1)
    assert c.shown(2.0, 2.1) == 2.1 and abs(c.late - 0.1) < 1e-9  # shown at once when late
    # Hopelessly late (reading itself cannot keep up): the clock restarts rather than skip everything.
    assert not c.should_skip(3.0, 3.0 + SKIP_MAX_S + 0.5)
    assert c.due(3.0) == 3.0 + SKIP_MAX_S + 0.5


def test_without_dropping_it_plays_every_frame_late_and_restarts_the_clock() -> None:
    c = PlaybackClock(drop=False)
    c.shown(0.0, 0.0)
    assert not c.should_skip(1.0, 5.0)  # recording: never dropped
    assert c.shown(1.0, 1.0 + RESET_LATE_S + 0.1) == 1.0 + RESET_LATE_S + 0.1
    assert c.due(2.0) == 2.0 + RESET_LATE_S + 0.1  # follows from the late frame on


def test_reset_after_a_pause_or_a_seek() -> None:
    c = PlaybackClock()
    c.shown(0.0, 0.0)
    c.reset()
    assert c.due(5.0) is None and not c.should_skip(5.0, 50.0)
    assert c.shown(5.0, 50.0) == 50.0
