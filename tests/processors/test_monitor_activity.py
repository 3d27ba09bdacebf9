"""MonitorActivity through ProcessorRunner on the mock clock; cases after NiFi's TestMonitorActivity."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from flowyard.processors.monitor_activity import STATE_KEY, MonitorActivity
from flowyard.runtime.sdk.testing import ProcessorRunner


def runner(properties: Mapping[str, str]) -> ProcessorRunner:
    r = ProcessorRunner(MonitorActivity)
    r.set_property("Threshold Duration", "100 millis")
    for name, value in properties.items():
        r.set_property(name, value)
    return r


def step(r: ProcessorRunner, seconds: float = 0.0, content: bytes | None = None,
         attributes: Mapping[str, str] | None = None) -> dict[str, int]:
    """Advance the clock, optionally enqueue, trigger once (staying scheduled); counts per relationship."""
    r.clock.advance(seconds)
    if content is not None:
        r.enqueue(content, attributes or {})
    r.run(stop_on_finish=False, initialize=True)
    counts = {name: len(r.flowfiles_for(name)) for name in ("success", "inactive", "activity.restored")}
    return counts


def test_first_message_and_restore() -> None:
    r = runner({"Inactivity Message": "idle ${inactivityDurationMillis}",
                "Activity Restored Message": "back after ${inactivityDurationMillis}"})
    assert step(r, content=b"1") == {"success": 1, "inactive": 0, "activity.restored": 0}
    assert step(r, 0.05) == {"success": 1, "inactive": 0, "activity.restored": 0}
    assert step(r, 0.06) == {"success": 1, "inactive": 1, "activity.restored": 0}
    inactive = r.flowfiles_for("inactive")[0]
    start = r.clock.now_ms - 110
    inactive.assert_attribute_equals("inactivityStartMillis", str(start))
    inactive.assert_attribute_equals("inactivityDurationMillis", "110")
    inactive.assert_content_equals("idle 110")
    assert r.state() == {STATE_KEY: str(start)}
    assert step(r, 1.0) == {"success": 1, "inactive": 1, "activity.restored": 0}  # not continually
    assert step(r, 0.0, content=b"2", attributes={"k": "v"}) == {"success": 2, "inactive": 1, "activity.restored": 1}
    restored = r.flowfiles_for("activity.restored")[0]
    restored.assert_attribute_equals("inactivityStartMillis", str(start))
    restored.assert_attribute_equals("inactivityDurationMillis", "1110")
    restored.assert_content_equals("back after 1110")
    assert "k" not in restored.attributes  # Copy Attributes is false
    assert r.state() == {}
    r.stop()


def test_continually_send_messages() -> None:
    r = runner({"Continually Send Messages": "true"})
    step(r, content=b"1")
    counts = [step(r, 0.1)["inactive"] for _ in range(3)]
    assert counts == [1, 2, 3]
    assert step(r, 0.05)["inactive"] == 3  # not before another threshold
    r.stop()


def test_inactive_from_the_start_without_any_flowfile() -> None:
    r = runner({})
    assert step(r)["inactive"] == 0
    assert step(r, 0.1)["inactive"] == 1
    assert r.yield_count == 2  # nothing to pass on: it yields
    r.stop()


def test_wait_for_activity() -> None:
    r = runner({"Wait for Activity": "true"})
    assert step(r, 0.5)["inactive"] == 0
    step(r, 0.0, content=b"1")
    assert step(r, 0.2)["inactive"] == 1
    r.stop()


def test_copy_attributes() -> None:
    r = runner({"Copy Attributes": "true"})
    step(r, content=b"1")
    step(r, 0.2)
    step(r, 0.0, content=b"2", attributes={"key": "value", "key2": "value2"})
    restored = r.flowfiles_for("activity.restored")[0]
    restored.assert_attribute_equals("key", "value")
    restored.assert_attribute_equals("key2", "value2")
    source_uuid = r.flowfiles_for("success")[1].attributes["uuid"]
    assert restored.attributes["uuid"] != source_uuid
    r.stop()


@pytest.mark.parametrize(("reset", "inactive_after_restart"), [("true", 1), ("false", 0)])
def test_reset_state_on_restart(reset: str, inactive_after_restart: int) -> None:
    r = runner({"Reset State on Restart": reset, "Threshold Duration": "1 sec"})
    step(r, content=b"1")
    assert step(r, 1.5)["inactive"] == 1
    r.stop()
    r.clear_transfer_state()
    r.clock.advance(0.1)
    r.run(stop_on_finish=False)  # a restart with nothing queued
    # reset: active again until a new threshold passes; kept: still inactive, no second indicator
    assert len(r.flowfiles_for("inactive")) == 0
    step(r, 1.1)
    assert len(r.flowfiles_for("inactive")) == inactive_after_restart
    step(r, 0.0, content=b"2")
    assert len(r.flowfiles_for("activity.restored")) == 1
    r.stop()


def test_cluster_scope_warns_and_watches_the_node() -> None:
    r = runner({"Monitoring Scope": "cluster", "Reporting Node": "primary"})
    step(r)
    step(r, 0.2)
    assert len(r.flowfiles_for("inactive")) == 1
    assert any("cluster" in message for _, message in r.bulletins)
    r.stop()


def test_default_messages_evaluate() -> None:
    r = ProcessorRunner(MonitorActivity)
    r.set_property("Threshold Duration", "1 min")
    step(r, content=b"1")
    step(r, 180)
    text = r.flowfiles_for("inactive")[0].content.decode()
    assert text.startswith("Lacking activity as of time: ") and text.endswith("inactive for 3 minutes")
    r.stop()


@pytest.mark.parametrize(("name", "value"), [("Threshold Duration", "soon"), ("Inactivity Message", " "),
                                             ("Monitoring Scope", "galaxy")])
def test_invalid_configuration(name: str, value: str) -> None:
    runner({name: value}).assert_not_valid()


def test_reporting_node_only_matters_with_cluster_scope() -> None:
    runner({"Reporting Node": "nobody"}).assert_valid()
    runner({"Monitoring Scope": "cluster", "Reporting Node": "nobody"}).assert_not_valid()
