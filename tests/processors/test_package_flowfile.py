"""PackageFlowFile: FlowFile Stream v3 packages, batching as NiFi 2 (TestPackageFlowFile)."""

from __future__ import annotations

import io

import pytest

from flowyard.processors._flowfile_v3 import FlowFileUnpackager
from flowyard.processors.package_flowfile import PackageFlowFile
from flowyard.runtime.sdk import ProvenanceEventType
from flowyard.runtime.sdk.testing import ProcessorRunner


def _unpack(data: bytes) -> list[tuple[dict[str, str], bytes]]:
    reader = FlowFileUnpackager(io.BytesIO(data))
    out = []
    while (header := reader.next_flowfile()) is not None:
        out.append((header[0], b"".join(reader.content())))
    return out


def test_one_flowfile_packaged_with_all_its_attributes() -> None:
    runner = ProcessorRunner(PackageFlowFile)
    runner.enqueue(b"Hello World!", {"filename": "a.txt", "color": "red"})
    original_uuid = runner.input_flowfiles()[0].attributes["uuid"]
    runner.run()
    runner.assert_transferred("success", 1)
    runner.assert_transferred("original", 1)
    packaged = runner.flowfiles_for("success")[0]
    packaged.assert_attribute_equals("mime.type", "application/flowfile-v3")
    [(attributes, content)] = _unpack(packaged.content)
    assert content == b"Hello World!"
    assert attributes["filename"] == "a.txt" and attributes["color"] == "red"
    assert attributes["uuid"] == original_uuid
    original = runner.flowfiles_for("original")[0]
    original.assert_content_equals(b"Hello World!")
    assert "mime.type" not in original.attributes


def test_package_is_byte_identical_to_nifis_layout() -> None:
    runner = ProcessorRunner(PackageFlowFile)
    runner.enqueue(b"Hello World!", {"filename": "f"})
    runner.run()
    data = runner.flowfiles_for("success")[0].content
    original = runner.flowfiles_for("original")[0].attributes
    expected = b"NiFiFF3" + len(original).to_bytes(2, "big")
    for key, value in original.items():
        expected += len(key.encode()).to_bytes(2, "big") + key.encode()
        expected += len(value.encode()).to_bytes(2, "big") + value.encode()
    expected += (12).to_bytes(8, "big") + b"Hello World!"
    assert data == expected


@pytest.mark.parametrize(
    ("batch_size", "content_size", "sizes", "expected_packages"),
    [
        ("1", "1 GB", [3, 3, 3], [1, 1, 1]),  # default: one package per trigger, three triggers
        ("10", "1 GB", [3, 3, 3], [3]),
        ("2", "1 GB", [3, 3, 3], [2, 1]),
        ("10", "5 B", [3, 3, 3], [1, 1, 1]),
        ("10", "6 B", [3, 3, 3], [2, 1]),
        ("10", "2 B", [10, 1, 1], [1, 2]),  # a FlowFile larger than the limit is packaged alone
    ],
)
def test_batching(batch_size: str, content_size: str, sizes: list[int], expected_packages: list[int]) -> None:
    runner = ProcessorRunner(PackageFlowFile)
    runner.set_property("Maximum Batch Size", batch_size)
    runner.set_property("Maximum Batch Content Size", content_size)
    runner.enqueue_many((b"x" * n, {"i": str(i)}) for i, n in enumerate(sizes))
    runner.run(len(sizes))
    packages = runner.flowfiles_for("success")
    assert [len(_unpack(p.content)) for p in packages] == expected_packages
    order = [a["i"] for p in packages for a, _ in _unpack(p.content)]
    assert order == [str(i) for i in range(len(sizes))]
    runner.assert_transferred("original", len(sizes))
    runner.assert_queue_empty()


def test_package_of_several_keeps_common_attributes_and_joins() -> None:
    runner = ProcessorRunner(PackageFlowFile)
    runner.set_property("max-batch-size", "5")  # NiFi's property name
    runner.enqueue_many([(b"a", {"shared": "s", "own": "1"}), (b"bb", {"shared": "s", "own": "2"})])
    runner.run()
    packaged = runner.flowfiles_for("success")[0]
    packaged.assert_attribute_equals("shared", "s")
    packaged.assert_attribute_equals("own", None)
    assert [(a["own"], c) for a, c in _unpack(packaged.content)] == [("1", b"a"), ("2", b"bb")]
    [join] = runner.provenance_events(ProvenanceEventType.JOIN)
    assert sorted(join.parent_uuids) == sorted(f.attributes["uuid"] for f in runner.flowfiles_for("original"))


def test_empty_content_and_empty_queue() -> None:
    runner = ProcessorRunner(PackageFlowFile)
    runner.run()
    runner.assert_transferred("success", 0)
    runner.enqueue(b"", {"k": ""})
    runner.run()
    [(attributes, content)] = _unpack(runner.flowfiles_for("success")[0].content)
    assert content == b"" and attributes["k"] == ""


@pytest.mark.parametrize("value", ["0", "10001", "x"])
def test_invalid_batch_size(value: str) -> None:
    runner = ProcessorRunner(PackageFlowFile)
    runner.set_property("Maximum Batch Size", value)
    runner.assert_not_valid()


# NiFi's TestPackageFlowFile
SAMPLE = b"Hello, World!"


def test_nifi_one_packages_exactly_its_attributes() -> None:
    runner = ProcessorRunner(PackageFlowFile)
    runner.enqueue(SAMPLE, {"filename": "test.txt", "mime.type": "text/plain", "myAttribute": "my value"})
    runner.run()
    runner.assert_transferred("success", 1)
    runner.assert_transferred("original", 1)
    packaged = runner.flowfiles_for("success")[0]
    packaged.assert_attribute_equals("mime.type", "application/flowfile-v3")
    [(attributes, content)] = _unpack(packaged.content)
    assert sorted(attributes) == ["filename", "mime.type", "myAttribute", "path", "uuid"]
    assert (attributes["filename"], attributes["mime.type"], attributes["myAttribute"]) == (
        "test.txt", "text/plain", "my value")
    assert content == SAMPLE


@pytest.mark.parametrize(
    ("batch_size", "content_size", "packaged"),
    [("10", None, 10), ("2", None, 2), ("10", f"{7 * len(SAMPLE)} B", 7)],
    ids=["many", "batch-size", "batch-content-size"],
)
def test_nifi_batches(batch_size: str, content_size: str | None, packaged: int) -> None:
    runner = ProcessorRunner(PackageFlowFile)
    runner.set_property("Maximum Batch Size", batch_size)
    if content_size is not None:
        runner.set_property("Maximum Batch Content Size", content_size)
    runner.enqueue_many([(SAMPLE, {"mime.type": "text/plain", "filename": f"{i}test.txt"}) for i in range(10)])
    runner.run()
    runner.assert_transferred("success", 1)
    runner.assert_transferred("original", packaged)
    assert runner.queue_size == 10 - packaged
    entries = _unpack(runner.flowfiles_for("success")[0].content)
    assert [(a["filename"], c) for a, c in entries] == [(f"{i}test.txt", SAMPLE) for i in range(packaged)]
    assert all(sorted(a) == ["filename", "mime.type", "path", "uuid"] for a, _ in entries)


def test_flowfiles_that_do_not_fit_keep_their_place_in_the_queue() -> None:
    runner = ProcessorRunner(PackageFlowFile)
    runner.set_property("Maximum Batch Size", "3")
    runner.set_property("Maximum Batch Content Size", "1 B")
    runner.enqueue_many([(b"x", {"i": str(i)}) for i in range(6)])
    runner.run(6)
    order = [a["i"] for p in runner.flowfiles_for("success") for a, _ in _unpack(p.content)]
    assert order == [str(i) for i in range(6)]
    assert len(runner.flowfiles_for("success")) == 6
