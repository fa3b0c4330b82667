"""Home Assistant's MQTT discovery schema, as documented (integrations/mqtt, binary_sensor.mqtt,
sensor.mqtt, image.mqtt), to check facetrack's discovery messages against."""

from __future__ import annotations

import re
from typing import Any

_COMMON: dict[str, Any] = {
    "name": str, "unique_id": str, "object_id": str, "icon": str, "device": dict, "origin": dict,
    "availability": list, "availability_mode": str, "availability_topic": str, "availability_template": str,
    "payload_available": str, "payload_not_available": str, "json_attributes_topic": str,
    "json_attributes_template": str, "entity_category": str, "enabled_by_default": bool, "qos": int,
    "encoding": str, "entity_picture": str,
}
_PLATFORMS: dict[str, tuple[dict[str, Any], set[str]]] = {
    "binary_sensor": ({"state_topic": str, "value_template": str, "payload_on": str, "payload_off": str,
                       "device_class": str, "expire_after": int, "force_update": bool, "off_delay": int},
                      {"state_topic"}),
    "sensor": ({"state_topic": str, "value_template": str, "device_class": str, "state_class": str,
                "unit_of_measurement": str, "expire_after": int, "force_update": bool,
                "suggested_display_precision": int, "last_reset_value_template": str, "options": list},
               {"state_topic"}),
    "image": ({"image_topic": str, "url_topic": str, "content_type": str, "image_encoding": str,
               "url_template": str}, set()),
}
_DEVICE = {"identifiers": list, "connections": list, "name": str, "manufacturer": str, "model": str,
           "sw_version": str, "hw_version": str, "suggested_area": str, "via_device": str, "configuration_url": str,
           "serial_number": str, "model_id": str}
_BINARY_CLASSES = {"battery", "battery_charging", "carbon_monoxide", "cold", "connectivity", "door", "garage_door",
                   "gas", "heat", "light", "lock", "moisture", "motion", "moving", "occupancy", "opening", "plug",
                   "power", "presence", "problem", "running", "safety", "smoke", "sound", "tamper", "update",
                   "vibration", "window"}
_TOPIC = re.compile(r"^(?P<component>[a-z_]+)/(?:(?P<node>[a-zA-Z0-9_-]+)/)?(?P<object>[a-zA-Z0-9_-]+)/config$")


def check_discovery(topic: str, payload: dict[str, Any], discovery: str = "homeassistant") -> None:
    """Fails where Home Assistant's documented schema would refuse the message."""
    assert topic.startswith(discovery + "/"), topic
    m = _TOPIC.match(topic[len(discovery) + 1:])
    assert m, topic
    component = m["component"]
    assert component in _PLATFORMS, component
    options, required = _PLATFORMS[component]
    allowed = {**_COMMON, **options}
    unknown = set(payload) - set(allowed)
    assert not unknown, f"{topic}: options Home Assistant does not know: {unknown}"
    assert required <= set(payload), f"{topic}: missing {required - set(payload)}"
    for key, kind in allowed.items():
        if key in payload:
            assert isinstance(payload[key], kind), (topic, key, payload[key])
    if component == "image":
        assert ("image_topic" in payload) != ("url_topic" in payload)  # exactly one
        assert payload.get("content_type", "image/jpeg").startswith("image/")
    if component == "binary_sensor" and "device_class" in payload:
        assert payload["device_class"] in _BINARY_CLASSES
    # A device needs a unique_id on its entity, and identifiers or connections.
    if "device" in payload:
        assert "unique_id" in payload
        dev = payload["device"]
        assert set(dev) <= set(_DEVICE) and ("identifiers" in dev or "connections" in dev), dev
    assert payload.get("availability_mode", "latest") in ("all", "any", "latest")
    for a in payload.get("availability", []):
        assert set(a) <= {"topic", "payload_available", "payload_not_available", "value_template"} and "topic" in a
        assert not any(c in a["topic"] for c in "+#")
    for key in ("state_topic", "json_attributes_topic", "image_topic"):
        if key in payload:
            assert payload[key] and not any(c in payload[key] for c in "+#"), (key, payload[key])
    assert set(payload.get("origin", {})) <= {"name", "sw", "sw_version", "url", "support_url"}


