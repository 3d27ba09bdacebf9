"""RetryFlowFile: the retry count read as NiFi reads it (a Java int), and NiFi's TestRetryFlowFile cases."""

from __future__ import annotations

import pytest

from flowyard.processors.retry_flowfile import RetryFlowFile, java_int
from flowyard.runtime.sdk.testing import ProcessorRunner

ME = "retry-1"


def retry(properties: dict[str, str] | None = None) -> ProcessorRunner:
    r = ProcessorRunner(RetryFlowFile, component_id=ME)
    for name, value in (properties or {}).items():
        r.set_property(name, value)
    return r


@pytest.mark.parametrize(
    ("text", "number"),
    [("0", 0), ("42", 42), (" 7\t", 7), ("+3", 3), ("-3", -3), ("2147483647", 2147483647),
     ("-2147483648", -(2**31)), ("2147483648", None), ("-2147483649", None), ("9" * 30, None), ("", None),
     ("1_000", None), ("1.0", None), ("0x10", None), ("NaN", None), ("+", None), ("1 2", None)],
)
def test_java_int(text: str, number: int | None) -> None:
    assert java_int(text) == number


@pytest.mark.parametrize(
    ("fail_on_overwrite", "relationship", "retries"),
    [("false", "retry", "1"), ("true", "failure", "2147483648")],
)
@pytest.mark.parametrize("count", ["2147483648", "9" * 30, "-2147483649"])
def test_a_count_beyond_a_java_int_is_not_a_number(fail_on_overwrite: str, relationship: str, retries: str,
                                                   count: str) -> None:
    """It used to be read as a Python int, so 2147483648 went to retries_exceeded; NiFi's
    Integer.valueOf throws: the count starts again at 1, or failure with Fail on Nonnumerical Overwrite."""
    r = retry({"Fail on Nonnumerical Overwrite": fail_on_overwrite})
    r.enqueue(b"x", {"flowfile.retries": count})
    r.run()
    r.assert_all_transferred(relationship, 1)
    r.flowfiles_for(relationship)[0].assert_attribute_equals(
        "flowfile.retries", count if relationship == "failure" else retries)
    assert not r.errors


@pytest.mark.parametrize("maximum", ["2147483648", "9" * 30, "NiFi", "1.5"])
def test_a_maximum_that_is_no_java_int_goes_to_failure(maximum: str) -> None:
    r = retry({"Maximum Retries": "${retry.max}"})
    r.enqueue(b"", {"retry.max": maximum, "flowfile.retries": "2"})
    r.run()
    r.assert_all_transferred("failure", 1)
    assert r.bulletins


def test_a_failing_maximum_expression_goes_to_failure() -> None:
    r = retry({"Maximum Retries": "${literal(1):divide(0)}"})
    r.enqueue(b"")
    r.run()
    r.assert_all_transferred("failure", 1)


# -- NiFi's TestRetryFlowFile -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("properties", "attributes", "count", "penalized"),
    [
        pytest.param({}, {}, "1", True, id="testNoRetryAttribute"),
        pytest.param({}, {"flowfile.retries": "2"}, "3", True, id="testRetryPenalize"),
        pytest.param({"Penalize Retries": "false"}, {"flowfile.retries": "2"}, "3", False, id="testRetryNoPenalize"),
        pytest.param({}, {"flowfile.retries": "ZZAaa"}, "1", True, id="testNoFailOnOverwrite"),
        pytest.param({"Reuse Mode": "warn"}, {"flowfile.retries": "2", "flowfile.retries.uuid": "1122334455"},
                     "1", True, id="testReuseWarn"),
        pytest.param({"Reuse Mode": "reset"}, {"flowfile.retries": "2", "flowfile.retries.uuid": "1122334455"},
                     "1", True, id="testReuseReset"),
        pytest.param({"Maximum Retries": "${retry.max}"}, {"retry.max": "3", "flowfile.retries": "2"}, "3", True,
                     id="testAlternativeAttributeMaxRetries"),
    ],
)
def test_nifi_retry(properties: dict[str, str], attributes: dict[str, str], count: str, penalized: bool) -> None:
    r = retry(properties)
    r.enqueue(b"", attributes)
    r.run()
    r.assert_all_transferred("retry", 1)
    out = r.flowfiles_for("retry")[0]
    out.assert_attribute_equals("flowfile.retries", count)
    out.assert_attribute_equals("flowfile.retries.uuid", ME)
    assert out.is_penalized(r.clock()) == penalized


@pytest.mark.parametrize(
    ("properties", "attributes"),
    [
        pytest.param({"Fail on Nonnumerical Overwrite": "true"}, {"flowfile.retries": "ZZAaa"},
                     id="testFailOnOverwrite"),
        pytest.param({"Reuse Mode": "fail"}, {"flowfile.retries": "2", "flowfile.retries.uuid": "1122334455"},
                     id="testReuseFail"),
        pytest.param({"Maximum Retries": "${retry.max}"}, {"retry.max": "NiFi", "flowfile.retries": "2"},
                     id="testInvalidAlternativeAttributeMaxRetries"),
    ],
)
def test_nifi_failure(properties: dict[str, str], attributes: dict[str, str]) -> None:
    r = retry(properties)
    r.enqueue(b"", attributes)
    r.run()
    r.assert_all_transferred("failure", 1)


def test_nifi_retries_exceeded() -> None:
    """testRetriesExceeded; the count and its owner are removed, blank dynamic values are not added."""
    r = retry()
    r.set_property("reason", "${uuid} exceeded retries")
    r.set_property("blank", "${missing}")
    r.enqueue(b"", {"flowfile.retries": "3", "flowfile.retries.uuid": ME})
    r.run()
    r.assert_all_transferred("retries_exceeded", 1)
    out = r.flowfiles_for("retries_exceeded")[0]
    assert out.attributes["reason"] == f"{out.attributes['uuid']} exceeded retries"
    for gone in ("flowfile.retries", "flowfile.retries.uuid", "blank"):
        out.assert_attribute_equals(gone, None)


def test_a_foreign_owner_without_a_count_is_reuse_and_a_blank_owner_is_not() -> None:
    r = retry()
    r.enqueue(b"", {"flowfile.retries.uuid": "someone-else"})
    r.enqueue(b"", {"flowfile.retries": "1", "flowfile.retries.uuid": " "})
    r.run(2)
    r.assert_transferred("failure", 1)
    r.assert_transferred("retry", 1)
    r.flowfiles_for("retry")[0].assert_attribute_equals("flowfile.retries", "2")
