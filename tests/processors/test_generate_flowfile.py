from __future__ import annotations

import types
from collections.abc import Mapping

import pytest

from flowyard.processors.generate_flowfile import _CHUNK, _TEXT_ALPHABET, GenerateFlowFile, _random_chunks
from flowyard.runtime.sdk import InvalidComponentError, ProcessingError, ProvenanceEventType
from flowyard.runtime.sdk.testing import ProcessorRunner


def runner(properties: Mapping[str, str] | None = None) -> ProcessorRunner:
    r = ProcessorRunner(GenerateFlowFile)
    for name, value in (properties or {}).items():
        r.set_property(name, value)
    return r


def test_defaults_create_one_empty_flowfile_with_a_create_event() -> None:
    r = runner()
    r.assert_valid()
    r.run()
    r.assert_all_transferred("success", 1)
    assert r.flowfiles_for("success")[0].content == b""
    events = r.provenance_events()
    assert [e.event_type for e in events] == [ProvenanceEventType.CREATE]


@pytest.mark.parametrize(
    ("properties", "count", "size"),
    [
        ({"Batch Size": "5"}, 5, 0),
        ({"File Size": "10 B"}, 1, 10),
        ({"File Size": "1 KB", "Batch Size": "3"}, 3, 1024),
        ({"file-size": "2 KB", "data-format": "Binary"}, 1, 2048),
    ],
)
def test_batch_size_and_file_size(properties: dict[str, str], count: int, size: int) -> None:
    r = runner(properties)
    r.run()
    out = r.flowfiles_for("success")
    assert len(out) == count
    assert all(ff.size == size for ff in out)


def test_text_data_uses_printable_characters_only() -> None:
    r = runner({"File Size": "4 KB", "Data Format": "Text"})
    r.run()
    content = r.flowfiles_for("success")[0].content
    assert set(content) <= set(_TEXT_ALPHABET)


@pytest.mark.parametrize(("unique", "all_same"), [("false", True), ("true", False)])
def test_unique_flowfiles(unique: str, all_same: bool) -> None:
    r = runner({"File Size": "64 B", "Batch Size": "4", "Unique FlowFiles": unique})
    r.run()
    contents = {ff.content for ff in r.flowfiles_for("success")}
    assert (len(contents) == 1) is all_same


@pytest.mark.parametrize("unique", ["false", "true"])
def test_large_content_is_streamed_in_chunks(unique: str) -> None:
    r = runner({"File Size": "3 MB", "Batch Size": "2", "Unique FlowFiles": unique, "Data Format": "Binary"})
    r.run()
    out = r.flowfiles_for("success")
    assert [ff.size for ff in out] == [3 << 20, 3 << 20]
    assert (out[0].content == out[1].content) is (unique == "false")


def test_shared_large_content_is_an_iterator_not_one_bytes_object() -> None:
    processor = GenerateFlowFile()
    content = processor._shared_content(3 * _CHUNK + 5, text=True)
    assert isinstance(content, types.GeneratorType)
    pieces = list(content)
    assert [len(p) for p in pieces] == [_CHUNK, _CHUNK, _CHUNK, 5]
    again = processor._shared_content(3 * _CHUNK + 5, text=True)
    assert isinstance(again, types.GeneratorType)
    assert b"".join(pieces) == b"".join(again)


def test_random_chunks_are_reproducible_from_a_seed() -> None:
    assert list(_random_chunks(100, False, 7)) == list(_random_chunks(100, False, 7))
    assert list(_random_chunks(100, False, 7)) != list(_random_chunks(100, False, 8))


@pytest.mark.parametrize(
    ("text", "charset", "expected"),
    [
        ("hello", "UTF-8", b"hello"),
        ("héllo", "UTF-8", "héllo".encode()),
        ("héllo", "ISO-8859-1", "héllo".encode("latin-1")),
        ("hi", "UTF-16-LE", "hi".encode("utf-16-le")),
    ],
)
def test_custom_text_ignores_file_size(text: str, charset: str, expected: bytes) -> None:
    r = runner({"Custom Text": text, "Character Set": charset, "File Size": "1 KB", "Batch Size": "2"})
    r.run()
    assert [ff.content for ff in r.flowfiles_for("success")] == [expected, expected]


def test_custom_text_accepts_the_nifi_1_name() -> None:
    r = runner({"generate-ff-custom-text": "legacy"})
    r.run()
    r.flowfiles_for("success")[0].assert_content_equals("legacy")


def test_mime_type_and_dynamic_properties_become_attributes() -> None:
    r = runner({"Mime Type": "text/plain", "greeting": "hello", "team": "blue"})
    r.run()
    ff = r.flowfiles_for("success")[0]
    ff.assert_attribute_equals("mime.type", "text/plain")
    ff.assert_attribute_equals("greeting", "hello")
    ff.assert_attribute_equals("team", "blue")
    ff.assert_attribute_exists("uuid")


def test_expression_language_plugs_in_through_evaluate() -> None:
    r = ProcessorRunner(GenerateFlowFile, evaluator=lambda text, attrs: text.replace("${who}", "world"))
    r.set_property("Custom Text", "hello ${who}")
    r.set_property("target", "${who}")
    r.run()
    ff = r.flowfiles_for("success")[0]
    ff.assert_content_equals("hello world")
    ff.assert_attribute_equals("target", "world")


def test_environment_scope_never_sees_flowfile_attributes() -> None:
    seen: list[object] = []

    def recording(text: str, attributes: object) -> str:
        seen.append(attributes)
        return text

    r = ProcessorRunner(GenerateFlowFile, evaluator=recording)
    r.set_property("File Size", "10 B")
    r.set_property("Custom Text", "$text")  # "$": the evaluator is asked
    r.run()
    assert seen and all(a is None for a in seen)


@pytest.mark.parametrize(
    ("properties", "subject"),
    [
        ({"Batch Size": "0"}, "Batch Size"),
        ({"Batch Size": "many"}, "Batch Size"),
        ({"File Size": "big"}, "File Size"),
        ({"Data Format": "Hex"}, "Data Format"),
        ({"Unique FlowFiles": "maybe"}, "Unique FlowFiles"),
        ({"Character Set": "no-such-charset"}, "Character Set"),
        ({"Custom Text": "   "}, "Custom Text"),
        ({"Mime Type": ""}, "Mime Type"),
        ({"Custom Text": "x", "Unique FlowFiles": "true"}, "Custom Text"),
        ({"Custom Text": "x", "Data Format": "Binary"}, "Custom Text"),
    ],
)
def test_invalid_configurations(properties: dict[str, str], subject: str) -> None:
    r = runner(properties)
    assert subject in [result.subject for result in r.validation_results()]
    with pytest.raises(InvalidComponentError):
        r.run()


def test_input_is_forbidden() -> None:
    r = runner()
    r.has_input_connection = True
    assert [res.subject for res in r.validation_results()] == ["Upstream Connections"]


def test_default_schedule_is_one_minute() -> None:
    assert GenerateFlowFile.spec.scheduling.period == "1 min"


class RecordingSession:
    """Just enough of a session to see what GenerateFlowFile hands to ``write``."""

    def __init__(self) -> None:
        self.written: list[object] = []
        self.transferred = 0

    def create(self) -> object:
        return object()

    def write(self, ff: object, data: object) -> object:
        self.written.append(data)
        return ff

    def put_attributes(self, ff: object, attributes: object) -> object:
        return ff

    def transfer(self, ff: object, relationship: object) -> None:
        self.transferred += 1


@pytest.mark.parametrize("unique", ["true", "false"])
def test_large_content_reaches_the_session_as_an_iterator(unique: str) -> None:
    r = runner({"File Size": "5 GB", "Unique FlowFiles": unique, "Batch Size": "2"})
    session = RecordingSession()
    r.processor.on_trigger(r.context, session)  # type: ignore[arg-type]
    assert session.transferred == 2
    assert all(isinstance(data, types.GeneratorType) for data in session.written)
    first = session.written[0]
    assert isinstance(first, types.GeneratorType)
    assert len(next(first)) == _CHUNK  # generated lazily, a chunk at a time


@pytest.mark.parametrize(
    ("properties", "named"),
    [
        ({"Custom Text": "${literal(1):divide(0)}"}, "Custom Text"),
        ({"File Size": "${literal(1):divide(0)}"}, "File Size"),
        ({"File Size": "${literal('lots')}"}, "File Size"),
        ({"extra": "${literal(1):divide(0)}"}, "'extra'"),
    ],
)
def test_a_failing_expression_is_a_processing_error_naming_the_property(
    properties: dict[str, str], named: str
) -> None:
    """It used to escape as a bare ExpressionError naming no property (NiFi: ProcessException)."""
    r = runner(properties)
    r.run()
    r.assert_transferred("success", 0)
    (error,) = r.errors
    assert type(error) is ProcessingError and named in str(error)


def test_custom_text_the_character_set_cannot_hold_becomes_question_marks() -> None:
    """As Java's String.getBytes(charset); it used to raise UnicodeEncodeError."""
    r = runner({"Custom Text": "héllo ✓", "Character Set": "US-ASCII"})
    r.run()
    r.flowfiles_for("success")[0].assert_content_equals(b"h?llo ?")
