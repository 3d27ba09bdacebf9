"""Every example of NiFi's Expression Language Guide, through the public API.

The examples (tests/runtime/expression/data/el_guide_examples.json) record the
guide's expected result; where the guide is wrong, ``expected_actual`` or
``corrected_expression`` hold what NiFi really does. Results that depend on
the clock, the host or randomness are checked against a pattern, a range or a
set of allowed values instead. Function families also test their examples in
their own modules; this file makes sure none is forgotten.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from flowyard.runtime import expression

EXAMPLES = json.loads((Path(__file__).parent / "data" / "el_guide_examples.json").read_text())


def _zone(example: dict[str, Any]) -> str:
    """The guide's dates are written for US Eastern time, except where the
    example's notes say it assumes UTC."""
    return "UTC" if "zone UTC" in (example.get("notes") or "") else "America/New_York"


def _case(example: dict[str, Any]) -> Any:
    return pytest.param(example, id=f"{example['id']}-{example['function']}")


@pytest.mark.parametrize("example", [_case(e) for e in EXAMPLES])
def test_guide_example(example: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", _zone(example))
    time.tzset()
    try:
        _check(example)
    finally:
        monkeypatch.undo()
        time.tzset()


def _check(example: dict[str, Any]) -> None:
    text = example.get("corrected_expression") or example["expression"]
    attributes = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (example.get("attributes") or {}).items()}
    context = example.get("context") or {}
    state = context.get("state") if isinstance(context, dict) else None
    if example.get("expect_error"):
        with pytest.raises(expression.ExpressionError):
            expression.evaluate(text, attributes, state=state)
        return
    expected = example.get("expected_actual", example.get("expected"))
    checks = [k for k in ("expected_one_of", "expected_range", "expected_pattern", "expected_epoch_millis")
              if example.get(k) is not None]
    if expected is None and not checks:
        pytest.skip(f"no fixed result: {example.get('notes', '')[:80]}")
    if "nextInt" in text:
        pytest.skip("nextInt() counts per process; tested in test_fn_core")
    got = expression.evaluate(text, attributes, state=state)
    if example.get("expected_epoch_millis") is not None:
        typed = expression.evaluate_typed(text, attributes, state=state)
        value = typed.value
        ms = getattr(value, "ms", None)
        if ms is None and hasattr(value, "ns"):
            ms = value.ns // 1_000_000  # type: ignore[union-attr]
        assert ms == example["expected_epoch_millis"]
    elif example.get("expected_one_of") is not None:
        assert got in [str(v) for v in example["expected_one_of"]]
    elif example.get("expected_range") is not None:
        low, high = example["expected_range"]
        assert low <= float(got) <= high
    elif example.get("expected_pattern") is not None:
        assert re.fullmatch(example["expected_pattern"], got), got
    else:
        assert got == str(expected)
