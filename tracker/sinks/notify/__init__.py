"""Events told to the world: what happened (events.py) to a JSONL file (sinks.EventLines), an MQTT
broker with Home Assistant discovery (mqtt.py: the connection; mqtt_camera.py: the topics;
hass.py) and webhooks (webhook.py), each through a bounded queue (outbox.py) so that none of
them can hold up the frame loop.

wiring.py builds them from the configuration, for `run` and for each camera of
`run --parallel` / `run --ray`.
"""

from __future__ import annotations

from .events import EVENTS, Event, Happenings

__all__ = ["EVENTS", "Event", "Happenings"]
