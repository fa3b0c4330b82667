"""What the tests share: real servers on loopback (mqtt_broker, postgres, rtsp, streams), real
material (paths, synth: clips composited from real faces), fakes for the engine's protocols, and
the Qt window's fixtures (ui)."""
