"""Home Assistant MQTT discovery: the retained `config` messages that make a device per camera,
a presence binary sensor per known person, a sensor and an image entity for the last unknown
visitor, and a count of the people present.

Pure functions of names and topics (no I/O), checked in tests against Home Assistant's
documented discovery schema: https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery
(topic `<discovery_prefix>/<component>/[<node_id>/]<object_id>/config`, node and object ids of
[a-zA-Z0-9_-]; the binary_sensor, sensor and image platforms' options).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Any

from ... import __version__

COMPONENTS = ("binary_sensor", "sensor", "image")
ORIGIN = {"name": "facetrack", "sw": __version__}


def slug(text: str, fallback: str) -> str:
    """A topic level from a name: lower case letters, digits and `_` (accents dropped), else
    `fallback` (a name of no Latin letters); never a level MQTT reserves (+, #, /)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    out = re.sub(r"[^a-z0-9]+", "_", plain.lower()).strip("_")
    return out[:64] or fallback


def node_id(camera: str) -> str:
    """The camera's node id: [a-zA-Z0-9_-], unique per camera name (a hash where the name
    has letters the id cannot hold)."""
    s = slug(camera, "")
    if not s or s != camera:
        s = f"{s}_{hashlib.sha1(camera.encode()).hexdigest()[:6]}".strip("_")
    return f"facetrack_{s}"


def device(camera: str) -> dict[str, Any]:
    return {"identifiers": [node_id(camera)], "name": camera, "manufacturer": "facetrack",
            "model": "face tracking camera", "sw_version": __version__}


def availability(prefix: str, camera: str) -> dict[str, Any]:
    """Available while this camera runs and its stream is up: its availability topic is the last
    will of the process that runs it (retained), so it says `offline` however facetrack ends."""
    return {"availability": [{"topic": f"{prefix}/{camera_topic(camera)}/availability"}],
            "availability_mode": "latest", "payload_available": "online", "payload_not_available": "offline"}


def camera_topic(camera: str) -> str:
    """A camera's level in topics: its name, with the characters MQTT reserves replaced."""
    out = re.sub(r"[+#/\x00]", "_", camera).strip()
    return out or "camera"


def config_topic(discovery: str, component: str, camera: str, object_id: str) -> str:
    return f"{discovery}/{component}/{node_id(camera)}/{object_id}/config"


def _entity(prefix: str, camera: str, name: str, object_id: str, **options: Any) -> dict[str, Any]:
    """One entity of the camera's device: its own `options` between its name and unique id and
    what every entity shares (the device, the origin, the camera's availability)."""
    return {"name": name, "unique_id": f"{node_id(camera)}_{object_id}", **options, "device": device(camera),
            "origin": ORIGIN, **availability(prefix, camera)}


def _json_state(state_topic: str, value: str) -> dict[str, Any]:
    """A state read from a JSON payload (`value_json.<value>`), the payload also as attributes."""
    return {"state_topic": state_topic, "value_template": f"{{{{ value_json.{value} }}}}",
            "json_attributes_topic": state_topic}


def presence_config(prefix: str, camera: str, person_id: int, name: str, state_topic: str) -> dict[str, Any]:
    """The binary sensor of one known person on one camera: ON while they are present."""
    return _entity(prefix, camera, name, f"person_{person_id}", **_json_state(state_topic, "state"),
                   payload_on="ON", payload_off="OFF", device_class="occupancy", icon="mdi:face-recognition")


def unknown_config(prefix: str, camera: str, state_topic: str) -> dict[str, Any]:
    """A sensor holding the last unknown visitor's automatic name, with the event as attributes."""
    return _entity(prefix, camera, "Last unknown visitor", "last_unknown", **_json_state(state_topic, "person"),
                   icon="mdi:account-question")


def unknown_face_config(prefix: str, camera: str, image_topic: str) -> dict[str, Any]:
    """An image entity: the last unknown visitor's best face (a JPEG)."""
    return _entity(prefix, camera, "Last unknown visitor face", "last_unknown_face", image_topic=image_topic,
                   content_type="image/jpeg")


def people_config(prefix: str, camera: str, state_topic: str) -> dict[str, Any]:
    """A sensor counting the faces labelled now, with who they are as attributes."""
    return _entity(prefix, camera, "People present", "people", **_json_state(state_topic, "count"),
                   state_class="measurement", icon="mdi:account-group")
