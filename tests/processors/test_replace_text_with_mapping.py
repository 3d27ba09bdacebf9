"""ReplaceTextWithMapping, with the cases of NiFi's TestReplaceTextWithMapping."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flowyard.processors.replace_text_with_mapping import ReplaceTextWithMapping, parse_mapping
from flowyard.runtime.sdk.testing import ProcessorRunner

COLORS = "-roses- are -red-\nviolets are -blue-\nsomething else is -green-\nI'm not good at writing poems"
PLAIN = "roses are red\nviolets are blue\nsomething else is green\nI'm not good at writing poems"
FRUIT = "red\tapple\nblue\tblueberry\ngreen\tgrape\n"


def runner(tmp_path: Path, mapping: str, properties: dict[str, str] | None = None) -> ProcessorRunner:
    path = tmp_path / "mapping.txt"
    path.write_text(mapping, encoding="utf-8")
    r = ProcessorRunner(ReplaceTextWithMapping)
    r.set_property("Mapping File", str(path))
    for name, value in (properties or {}).items():
        r.set_property(name, value)
    return r


def replaced(r: ProcessorRunner, content: str | bytes, attributes: dict[str, str] | None = None) -> str:
    r.enqueue(content, attributes or {})
    r.run()
    r.assert_all_transferred("success", 1)
    return r.flowfiles_for("success")[0].content.decode()


GROUP_1 = {"Regular Expression": "-(.*?)-", "Matching Group": "1"}
WORDS_1 = {"Regular Expression": "(\\S+)", "Matching Group": "1"}

CASES = [
    pytest.param(FRUIT, {}, PLAIN,
                 "roses are apple\nviolets are blueberry\nsomething else is grape\nI'm not good at writing poems",
                 id="simple"),
    pytest.param(FRUIT, {}, "${foo} red ${baz}", "${foo} apple ${baz}", id="expression-like-text"),
    pytest.param(FRUIT, {"Regular Expression": "\\|(.*?)\\|", "Matching Group": "1"}, "${foo}|red|${baz}",
                 "${foo}|apple|${baz}", id="group-with-context"),
    pytest.param(FRUIT, {"Regular Expression": ".*\\|(.*?)\\|.*", "Matching Group": "1"}, "${foo}|red|${baz}",
                 "${foo}|apple|${baz}", id="group-inside-a-long-match"),
    pytest.param(FRUIT, GROUP_1, COLORS,
                 "-roses- are -apple-\nviolets are -blueberry-\nsomething else is -grape-\n"
                 "I'm not good at writing poems", id="matching-group-and-context"),
    pytest.param("red\t$1 apple\nblue\t$1 blueberry\ngreen\t$1 grape\n", WORDS_1, PLAIN,
                 "roses are red apple\nviolets are blue blueberry\nsomething else is green grape\n"
                 "I'm not good at writing poems", id="back-reference"),
    pytest.param("red\t$1$2 apple\nblue\t$1$2 blueberry\ngreen\t$1$2 grape\n", GROUP_1, COLORS,
                 "-roses- are -red$2 apple-\nviolets are -blue$2 blueberry-\nsomething else is -green$2 grape-\n"
                 "I'm not good at writing poems", id="too-large-back-reference"),
    pytest.param("red\t$0$1 apple\nblue\t$0$1 blueberry\ngreen\t$0$1 grape\n", {}, PLAIN,
                 "roses are red$1 apple\nviolets are blue$1 blueberry\nsomething else is green$1 grape\n"
                 "I'm not good at writing poems", id="too-large-back-reference-simple"),
    pytest.param("red\t$1$d apple\nblue\t$1$d blueberry\ngreen\t$1$d grape\n", WORDS_1, PLAIN,
                 "roses are red$d apple\nviolets are blue$d blueberry\nsomething else is green$d grape\n"
                 "I'm not good at writing poems", id="invalid-back-reference"),
    pytest.param("red\t\\$1 apple\nblue\t\\$1 blueberry\ngreen\t\\$1 grape\n", GROUP_1, COLORS,
                 "-roses- are -$1 apple-\nviolets are -$1 blueberry-\nsomething else is -$1 grape-\n"
                 "I'm not good at writing poems", id="escaped-dollar"),
    pytest.param("red\t\\$1 apple\nblue\t\\$1 blueberry\ngreen\t\\$1 grape\n", {}, PLAIN,
                 "roses are $1 apple\nviolets are $1 blueberry\nsomething else is $1 grape\n"
                 "I'm not good at writing poems", id="escaped-dollar-simple"),
    pytest.param("red\nblue\ngreen\n", {}, PLAIN,
                 "roses are \nviolets are \nsomething else is \nI'm not good at writing poems", id="blank-values"),
    pytest.param("red really red\nblue\tsuper blue\ngreen  ultra green  \n", {}, PLAIN,
                 "roses are really red\nviolets are super blue\nsomething else is ultra green\n"
                 "I'm not good at writing poems", id="space-in-values"),
    pytest.param("orange\tcarrot\n", GROUP_1, COLORS, COLORS, id="no-match"),
    pytest.param(FRUIT, {}, "a\\b red c\\", "a\\b apple c\\", id="unmapped-text-is-verbatim"),
    pytest.param(FRUIT, {"Regular Expression": "${word}"}, "red r.d", "red carrot",
                 id="expression-values-are-literal"),
]


@pytest.mark.parametrize(("mapping", "properties", "content", "expected"), CASES)
def test_replacements(tmp_path: Path, mapping: str, properties: dict[str, str], content: str,
                      expected: str) -> None:
    if "${word}" in properties.get("Regular Expression", ""):
        mapping = "r.d\tcarrot\n"
    assert replaced(runner(tmp_path, mapping, properties), content, {"word": "r.d"}) == expected


def test_mapping_given_as_text() -> None:
    r = ProcessorRunner(ReplaceTextWithMapping)
    r.set_property("Mapping File", FRUIT)
    r.enqueue(PLAIN)
    r.run()
    assert r.flowfiles_for("success")[0].content.decode().startswith("roses are apple")


def test_too_large_goes_to_failure(tmp_path: Path) -> None:
    r = runner(tmp_path, FRUIT, {"Regular Expression": "[123]", "Maximum Buffer Size": "1 b"})
    r.enqueue(COLORS, {"abc": "Good"})
    r.run()
    r.assert_all_transferred("failure", 1)
    r.flowfiles_for("failure")[0].assert_content_equals(COLORS)


def test_undecodable_content_goes_to_failure(tmp_path: Path) -> None:
    r = runner(tmp_path, FRUIT)
    r.enqueue(b"red \xff")
    r.run()
    r.assert_all_transferred("failure", 1)
    assert r.bulletins


def test_bad_mapping_value_goes_to_failure(tmp_path: Path) -> None:
    r = runner(tmp_path, "red\tends with a backslash\\\n")
    r.enqueue("red")
    r.run()
    r.assert_all_transferred("failure", 1)


@pytest.mark.parametrize(
    ("properties", "subject"),
    [
        ({"Regular Expression": "-(.*?)-", "Matching Group": "2"}, "Insufficient Matching Groups"),
        ({"Regular Expression": "(unclosed"}, "Regular Expression"),
        ({"Matching Group": "one"}, "Matching Group"),
        ({"Mapping File Refresh Interval": "soon"}, "Mapping File Refresh Interval"),
    ],
)
def test_invalid_configurations(tmp_path: Path, properties: dict[str, str], subject: str) -> None:
    r = runner(tmp_path, FRUIT, properties)
    assert subject in [res.subject for res in r.validation_results()]


def test_missing_mapping_file_is_invalid(tmp_path: Path) -> None:
    r = ProcessorRunner(ReplaceTextWithMapping)
    r.set_property("Mapping File", str(tmp_path / "nope.txt"))
    assert [res.subject for res in r.validation_results()] == ["Mapping File"]


def test_mapping_file_is_reread_after_the_refresh_interval(tmp_path: Path) -> None:
    r = runner(tmp_path, "red\tapple\n", {"Mapping File Refresh Interval": "60 sec"})
    path = tmp_path / "mapping.txt"

    def once() -> bytes:
        r.clear_transfer_state()
        r.enqueue("red")
        r.run(stop_on_finish=False)
        return r.flowfiles_for("success")[0].content

    assert once() == b"apple"
    path.write_text("red\tcherry\n", encoding="utf-8")
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 10))
    r.clock.advance(30)
    assert once() == b"apple"  # not due yet
    r.clock.advance(31)
    assert once() == b"cherry"
    r.stop()


def test_unreadable_mapping_keeps_content_and_reports(tmp_path: Path) -> None:
    r = runner(tmp_path, FRUIT)
    (tmp_path / "mapping.txt").write_bytes(b"red\t\xff\n")  # not UTF-8
    assert replaced(r, "red") == "red"
    assert any("Mapping file" in message for _, message in r.bulletins)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\tb\n", {"a": "b"}),
        ("  a   b  c \n", {"a": "b  c"}),
        ("a\n\n\t\nb\t\n", {"a": "", "b": ""}),
        ("k\r\nv\tw\r\n", {"k": "", "v": "w"}),
    ],
)
def test_parse_mapping(text: str, expected: dict[str, str]) -> None:
    assert parse_mapping(text) == expected
