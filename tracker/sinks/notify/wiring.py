"""The event outputs built from the configuration: for `run`, and for each camera of
`run --parallel` / `run --ray` (the JSONL file, the MQTT broker, webhooks)."""


from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .events import Happenings

if TYPE_CHECKING:
    from ...config import Config
    from ..results import EventOutput, EventSink
    from .mqtt import MqttLink, MqttTarget

def mqtt_target(cfg: Config) -> MqttTarget | None:
    if not cfg.mqtt.strip():
        return None
    from .mqtt import MqttTarget, paho

    target = MqttTarget.parse(cfg.mqtt, cfg.mqtt_password)
    paho()  # installed? (one line naming the extra, before anything starts)
    return target


def check(cfg: Config) -> None:
    """The MQTT URL and webhook URLs, read before anything starts: a mistake is one line."""
    from .webhook import check_url

    mqtt_target(cfg)
    for url in cfg.webhook:
        check_url(url)


def open_link(cfg: Config, role: str, will: str | None = None, check: bool = True) -> MqttLink | None:
    """A connection to the configured broker (None without --mqtt). Its last will sets `will`
    (default: facetrack's own availability) offline. `check`: wait for the broker to answer
    and raise one clear line if it cannot be reached or refuses."""
    target = mqtt_target(cfg)
    if target is None:
        return None
    from .mqtt import MqttLink

    return MqttLink(target, will or f"{target.prefix}/availability", role, cfg.event_queue).start(check)


def camera_will(cfg: Config, camera: str) -> str | None:
    """A camera's availability topic (a camera process's last will)."""
    target = mqtt_target(cfg)
    if target is None:
        return None
    from .mqtt_camera import topics

    return topics(target.prefix, camera)["availability"]


def event_sink(cfg: Config, camera: str, gallery: Any, files: Sequence[EventOutput] = (),
               link: MqttLink | None = None, own_link: bool = False) -> EventSink | None:
    """One camera's events to `files` (EventLines), the MQTT link and the configured webhooks;
    None when there is nowhere to send them."""
    from ..results import EventSink

    outputs: list[EventOutput] = list(files)
    if link is not None:
        from .mqtt_camera import MqttCamera

        outputs.append(MqttCamera(link, camera, gallery.people, own_link=own_link))
    if cfg.webhook:
        from .webhook import WebhookOutput

        outputs += [WebhookOutput(url, {"camera": camera}, cfg.event_queue) for url in cfg.webhook]
    if not outputs:
        if own_link and link is not None:
            link.close()
        return None

    def created(pid: int) -> float | None:
        p = gallery.person(pid)
        return None if p is None else float(p.created)

    pictures = link is not None or bool(cfg.webhook)
    return EventSink(outputs, Happenings(left_after=cfg.left_after, visit_gap=cfg.visit_gap,
                                         announce_after=cfg.announce_after, min_quality=cfg.min_quality,
                                         faces=pictures, created=created))
