"""SampleRecord through ProcessorRunner with the CSV services."""

from __future__ import annotations

import pytest

from flowyard.processors.csv_record_services import CSVReader, CSVRecordSetWriter
from flowyard.processors.json_record_services import JsonTreeReader
from flowyard.processors.sample_record import SampleRecord, parse_range
from flowyard.runtime.sdk.testing import ProcessorRunner

CSV = "n\n" + "".join(f"{i}\n" for i in range(1, 21))


def runner(strategy: str, reader: type = CSVReader, **props: str) -> ProcessorRunner:
    r = ProcessorRunner(SampleRecord)
    r.add_controller_service("reader", reader)
    r.add_controller_service("writer", CSVRecordSetWriter)
    r.enable_controller_service("reader")
    r.enable_controller_service("writer")
    r.set_property("Record Reader", "reader")
    r.set_property("Record Writer", "writer")
    r.set_property("Sampling Strategy", strategy)
    for name, value in props.items():
        r.set_property(name.replace("_", " "), value)
    return r


def sampled(r: ProcessorRunner) -> list[int]:
    r.assert_transferred("success", 1)
    return [int(line) for line in r.flowfiles_for("success")[0].content.decode().splitlines()[1:]]


def test_interval_takes_every_nth_record() -> None:
    r = runner("interval", Sampling_Interval="5")
    r.enqueue(CSV)
    r.run()
    assert sampled(r) == [5, 10, 15, 20]
    out = r.flowfiles_for("success")[0]
    out.assert_attribute_equals("record.count", "4")
    out.assert_attribute_equals("mime.type", "text/csv")
    r.flowfiles_for("original")[0].assert_content_equals(CSV)


def test_range_takes_the_numbered_records() -> None:
    r = runner("Range Sampling", Sampling_Range="3,6-8,18-")
    r.enqueue(CSV)
    r.run()
    assert sampled(r) == [3, 6, 7, 8, 18, 19, 20]
    assert parse_range("-2, 5") == [(1, 2), (5, 5)]
    for bad in ("", "a", "0", "5-2", "1,,2"):
        with pytest.raises(ValueError):
            parse_range(bad)


def test_probabilistic_with_a_seed_is_repeatable_and_roughly_right() -> None:
    big = "n\n" + "".join(f"{i}\n" for i in range(1, 2001))
    r = runner("probabilistic", Sampling_Probability="25", Random_Seed="42")
    r.enqueue(big)
    r.enqueue(big)
    r.run(2)
    first, second = (ff.content for ff in r.flowfiles_for("success"))
    assert first == second
    count = int(r.flowfiles_for("success")[0].attributes["record.count"])
    assert 400 < count < 600
    r = runner("probabilistic", Sampling_Probability="0")
    r.enqueue(CSV)
    r.run()
    assert sampled(r) == []
    r = runner("probabilistic", Sampling_Probability="100")
    r.enqueue(CSV)
    r.run()
    assert sampled(r) == list(range(1, 21))


def test_reservoir_keeps_k_records_in_input_order() -> None:
    r = runner("reservoir", Reservoir_Size="5", Random_Seed="7")
    r.enqueue(CSV)
    r.enqueue(CSV)
    r.run(2)
    samples = [[int(x) for x in ff.content.decode().splitlines()[1:]] for ff in r.flowfiles_for("success")]
    assert samples[0] == samples[1]
    assert len(samples[0]) == 5 and samples[0] == sorted(samples[0]) and set(samples[0]) <= set(range(1, 21))
    r = runner("reservoir", Reservoir_Size="50")
    r.enqueue(CSV)
    r.run()
    assert sampled(r) == list(range(1, 21))


def test_reservoir_is_uniform_enough() -> None:
    counts = [0] * 10
    for seed in range(300):
        r = runner("reservoir", Reservoir_Size="2", Random_Seed=str(seed))
        r.enqueue("n\n" + "".join(f"{i}\n" for i in range(10)))
        r.run()
        for value in sampled(r):
            counts[value] += 1
    assert all(30 < c < 95 for c in counts), counts  # 60 expected each


def test_bad_values_from_attributes_and_bad_records_go_to_failure() -> None:
    r = runner("interval", Sampling_Interval="${n}")
    r.enqueue(CSV, {"n": "0"})
    r.enqueue(CSV, {"n": "3"})
    r.run(2)
    failed = r.flowfiles_for("failure")
    assert len(failed) == 1 and "Sampling Interval" in failed[0].attributes["record.error.message"]
    failed[0].assert_content_equals(CSV)
    assert sampled(r) == [3, 6, 9, 12, 15, 18]

    r = runner("range", reader=JsonTreeReader, Sampling_Range="1")
    r.enqueue('[{"n": 1}, {"n": ')
    r.run()
    r.assert_transferred("success", 0)
    assert r.flowfiles_for("failure")[0].attributes["record.error.message"]


def test_invalid_literal_values_are_refused_at_configuration() -> None:
    runner("range", Sampling_Range="5-2").assert_not_valid()
    runner("probabilistic", Sampling_Probability="150").assert_not_valid()
    runner("reservoir", Reservoir_Size="10", Random_Seed="x").assert_not_valid()
    runner("interval", Sampling_Interval="0").assert_not_valid()
