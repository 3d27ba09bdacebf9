"""The scheduling-period checks the flow reader takes from the layer that runs
schedules (issue 14): the flow model imports no cron library; the engine
registers the CRON_DRIVEN check when imported, and the reader reports its
message at the field wherever a processor is read."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from flowyard.runtime.flow import _json, component_from_dict, flow_from_dict, register_period_check
from flowyard.runtime.flow.edits import EditRefused, UpdateComponent, validate
from flowyard.runtime.sdk import FlowDefinitionError


def _flow(strategy: str, period: str) -> dict[str, Any]:
    return {"flowyardFlowVersion": 1, "rootGroup": {"identifier": "root", "processors": [
        {"identifier": "p", "type": "LogAttribute", "schedulingStrategy": strategy, "schedulingPeriod": period}]}}


def test_the_flow_model_alone_loads_no_cron_library_and_the_engine_registers_the_check() -> None:
    script = ("import sys; from flowyard.runtime.flow import _json, load_flow; "
              "assert 'croniter' not in sys.modules and 'flowyard.runtime.schedule' not in sys.modules; "
              "assert not _json._PERIOD_CHECKS; import flowyard.runtime.engine; "
              "assert list(_json._PERIOD_CHECKS) == ['CRON_DRIVEN']")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_a_bad_cron_period_is_refused_where_a_processor_is_read() -> None:
    import flowyard.runtime.engine  # noqa: F401  (registers the check)

    with pytest.raises(FlowDefinitionError) as err:
        flow_from_dict(_flow("CRON_DRIVEN", "0 0 25 * * ?"), source="f.json")
    assert err.value.where == "rootGroup.processors[0].schedulingPeriod"
    assert "cron expression '0 0 25 * * ?' is not valid" in err.value.reason
    with pytest.raises(FlowDefinitionError, match="has 5 fields; expected 6 or 7"):
        component_from_dict("processor", {"identifier": "p", "type": "T", "schedulingStrategy": "CRON_DRIVEN",
                                          "schedulingPeriod": "*/5 * * * *"})
    flow = flow_from_dict(_flow("CRON_DRIVEN", "0 */5 * * * ?"))
    with pytest.raises(EditRefused) as refused:
        validate(flow, UpdateComponent("p", {"scheduling_period": "never"}))
    assert refused.value.where == "changes.scheduling_period" and "cron expression 'never'" in refused.value.reason


def test_a_registered_check_is_used_for_its_strategy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_json, "_PERIOD_CHECKS", {})
    flow_from_dict(_flow("EVENT_DRIVEN", "whatever"))

    def check(period: str) -> None:
        if period != "ok":
            raise ValueError(f"period {period!r} is not ok")

    register_period_check("EVENT_DRIVEN", check)
    assert flow_from_dict(_flow("EVENT_DRIVEN", "ok")).processors[0].scheduling_period == "ok"
    with pytest.raises(FlowDefinitionError) as err:
        flow_from_dict(_flow("EVENT_DRIVEN", "whatever"))
    assert (err.value.where, err.value.reason) == ("rootGroup.processors[0].schedulingPeriod",
                                                   "period 'whatever' is not ok")
    with pytest.raises(ValueError, match="'TIMER_DRIVEN' is not a scheduling strategy whose period can be checked"):
        register_period_check("TIMER_DRIVEN", check)
