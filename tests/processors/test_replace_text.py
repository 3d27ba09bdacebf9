"""ReplaceText, with the cases of NiFi's TestReplaceText."""

from __future__ import annotations

import pytest

from flowyard.processors.replace_text import ReplaceText
from flowyard.runtime.sdk import InvalidComponentError
from flowyard.runtime.sdk.testing import ProcessorRunner

HELLO = "Hello, World!"
STRATEGY = "Replacement Strategy"
SEARCH = "Search Value"
REPLACEMENT = "Replacement Value"
MODE = "Evaluation Mode"
LINES = "Line-by-Line Evaluation Mode"
ENTIRE = "Entire text"
LINE = "Line-by-Line"


def run(properties: dict[str, str], content: bytes | str, attributes: dict[str, str] | None = None,
        ) -> ProcessorRunner:
    r = ProcessorRunner(ReplaceText)
    for name, value in properties.items():
        r.set_property(name, value)
    r.enqueue(content, attributes or {})
    r.run()
    return r


def output(r: ProcessorRunner, relationship: str = "success") -> str:
    r.assert_all_transferred(relationship, 1)
    return r.flowfiles_for(relationship)[0].content.decode()


# (properties, content, attributes, expected) — success cases from TestReplaceText.
CASES = [
    pytest.param({SEARCH: "Me, ${search.value}", REPLACEMENT: '"Replacement"', MODE: ENTIRE,
                  STRATEGY: "Literal Replace"}, "Me, you, and the other", {"search.value": "you, and"},
                 '"Replacement" the other', id="literal-el-search-entire"),
    pytest.param({SEARCH: "Me, you,", REPLACEMENT: "With ${replacement.value}", MODE: ENTIRE,
                  STRATEGY: "Literal Replace"}, "Me, you, and the other", {"replacement.value": "us"},
                 "With us and the other", id="literal-el-replacement-entire"),
    pytest.param({SEARCH: "Me, ${search.value}", REPLACEMENT: '"Replacement"', MODE: LINE,
                  STRATEGY: "Literal Replace"}, "Me, you, and the other", {"search.value": "you, and"},
                 '"Replacement" the other', id="literal-el-search-lines"),
    pytest.param({SEARCH: "Me, you,", REPLACEMENT: "With ${replacement.value}", MODE: LINE,
                  STRATEGY: "Literal Replace"}, "Me, you, and the other", {"replacement.value": "us"},
                 "With us and the other", id="literal-el-replacement-lines"),
    pytest.param({SEARCH: '"([a-z]+?)":"(.*?)"', REPLACEMENT: "\"${'$1':toUpper()}\":\"$2\"", MODE: LINE},
                 '{"name":"Smith","middle":"nifi","firstname":"John"}', {},
                 '{"NAME":"Smith","MIDDLE":"nifi","FIRSTNAME":"John"}', id="iterative-regex-el-groups-lines"),
    pytest.param({}, HELLO, {}, HELLO, id="defaults-leave-content"),
    pytest.param({SEARCH: '"([a-z]+?)":"(.*?)"', REPLACEMENT: "\"${'$1':toUpper()}\":\"$2\""},
                 '{"name":"Smith","middle":"nifi","firstname":"John"}', {},
                 '{"NAME":"Smith","MIDDLE":"nifi","FIRSTNAME":"John"}', id="iterative-regex-el-groups"),
    pytest.param({SEARCH: "ell", REPLACEMENT: "lle"}, HELLO, {}, "Hlleo, World!", id="simple"),
    pytest.param({SEARCH: "(?s:^.*$)", REPLACEMENT: "a\\$b"}, "a$a,b,c,d", {}, "a\\$b", id="escaped-dollar"),
    pytest.param({SEARCH: "(?s:^.*$)", REPLACEMENT: "a$b"}, "a$a,b,c,d", {}, "a$b", id="unescaped-dollar"),
    pytest.param({REPLACEMENT: "TEST", STRATEGY: "Prepend"}, HELLO, {}, "TESTHello, World!", id="prepend"),
    pytest.param({REPLACEMENT: "_", STRATEGY: "Prepend"}, "hello\nthere\nmadam", {}, "_hello\n_there\n_madam",
                 id="prepend-lines"),
    pytest.param({REPLACEMENT: "_", STRATEGY: "Prepend", LINES: "First-Line"}, "hello\nthere\nmadam", {},
                 "_hello\nthere\nmadam", id="prepend-first-line"),
    pytest.param({REPLACEMENT: "_", STRATEGY: "Prepend", LINES: "Last-Line"}, "hello\nthere\nmadam", {},
                 "hello\nthere\n_madam", id="prepend-last-line"),
    pytest.param({REPLACEMENT: "_", STRATEGY: "Prepend", LINES: "Except-First-Line"}, "hello\nthere\nmadam", {},
                 "hello\n_there\n_madam", id="prepend-except-first"),
    pytest.param({REPLACEMENT: "_", STRATEGY: "Prepend", LINES: "Except-Last-Line"}, "hello\nthere\nmadam", {},
                 "_hello\n_there\nmadam", id="prepend-except-last"),
    pytest.param({REPLACEMENT: "TEST", STRATEGY: "Append"}, HELLO, {}, "Hello, World!TEST", id="append"),
    pytest.param({REPLACEMENT: "!", STRATEGY: "Append"}, "hello\rthere\rsir", {}, "hello!\rthere!\rsir!",
                 id="append-cr"),
    pytest.param({REPLACEMENT: "!", STRATEGY: "Append", LINES: "First-Line"}, "hello\rthere\rsir", {},
                 "hello!\rthere\rsir", id="append-first-cr"),
    pytest.param({REPLACEMENT: "!", STRATEGY: "Append", LINES: "Except-First-Line"}, "hello\rthere\rsir", {},
                 "hello\rthere!\rsir!", id="append-except-first-cr"),
    pytest.param({REPLACEMENT: "!", STRATEGY: "Append", LINES: "Last-Line"}, "hello\rthere\rsir", {},
                 "hello\rthere\rsir!", id="append-last-cr"),
    pytest.param({REPLACEMENT: "!", STRATEGY: "Append", LINES: "Except-Last-Line"}, "hello\rthere\rsir", {},
                 "hello!\rthere!\rsir", id="append-except-last-cr"),
    pytest.param({REPLACEMENT: "!", STRATEGY: "Append"}, "hello\nthere\nsir", {}, "hello!\nthere!\nsir!",
                 id="append-lf"),
    pytest.param({REPLACEMENT: "!", STRATEGY: "Append"}, "hello\r\nthere\r\nsir", {}, "hello!\r\nthere!\r\nsir!",
                 id="append-crlf"),
    pytest.param({REPLACEMENT: "!", STRATEGY: "Append", LINES: "First-Line"}, "hello\r\nthere\r\nsir", {},
                 "hello!\r\nthere\r\nsir", id="append-first-crlf"),
    pytest.param({REPLACEMENT: "!", STRATEGY: "Append", LINES: "Last-Line"}, "hello\r\nthere\r\nsir", {},
                 "hello\r\nthere\r\nsir!", id="append-last-crlf"),
    pytest.param({REPLACEMENT: "!", STRATEGY: "Append", LINES: "Except-First-Line"}, "hello\r\nthere\r\nsir", {},
                 "hello\r\nthere!\r\nsir!", id="append-except-first-crlf"),
    pytest.param({REPLACEMENT: "!", STRATEGY: "Append", LINES: "Except-Last-Line"}, "hello\r\nthere\r\nsir", {},
                 "hello!\r\nthere!\r\nsir", id="append-except-last-crlf"),
    pytest.param({REPLACEMENT: "TEST", STRATEGY: "Append"}, "Hello \rWorld \r", {}, "Hello TEST\rWorld TEST\r",
                 id="append-endline-cr"),
    pytest.param({REPLACEMENT: "TEST", STRATEGY: "Append"}, "Hello \r\nWorld \r\n", {},
                 "Hello TEST\r\nWorld TEST\r\n", id="append-endline-crlf"),
    pytest.param({SEARCH: "ell", REPLACEMENT: "lle", STRATEGY: "Literal Replace"}, HELLO, {}, "Hlleo, World!",
                 id="literal-simple"),
    pytest.param({SEARCH: "ell", REPLACEMENT: "[$1]", STRATEGY: "Literal Replace"}, HELLO, {}, "H[$1]o, World!",
                 id="literal-back-reference-is-literal"),
    pytest.param({SEARCH: ".ell.", REPLACEMENT: "test", STRATEGY: "Literal Replace"}, "H.ell.o, World! .ell.", {},
                 "Htesto, World! test", id="literal-dots"),
    pytest.param({SEARCH: ".ell.", REPLACEMENT: "test", STRATEGY: "Literal Replace"},
                 "H.ell.o, World! .ell. \n .ell. .ell.", {}, "Htesto, World! test \n test test", id="literal-lines"),
    pytest.param({SEARCH: "(ell)", REPLACEMENT: "[$1]"}, HELLO, {}, "H[ell]o, World!", id="back-reference"),
    pytest.param({SEARCH: "(ell)", REPLACEMENT: "$123"}, HELLO, {}, "Hell23o, World!", id="back-ref-digits"),
    pytest.param({SEARCH: "ell", REPLACEMENT: "$0123"}, HELLO, {}, "Hell123o, World!", id="group-zero-digits"),
    pytest.param({SEARCH: "${replaceKey}", REPLACEMENT: "GoodBye"}, HELLO, {"replaceKey": "H.*o"}, HELLO,
                 id="search-el-is-literal"),
    pytest.param({SEARCH: "(ell)", REPLACEMENT: "[${abc}]"}, HELLO, {"abc": "$1"}, "H[$1]o, World!",
                 id="replacement-el-is-escaped"),
    pytest.param({SEARCH: "${replaceKey}", REPLACEMENT: "${replaceValue}"}, HELLO,
                 {"replaceKey": "Hello", "replaceValue": "Good-bye"}, "Good-bye, World!", id="regex-el"),
    pytest.param({SEARCH: "(ell)", REPLACEMENT: "$1$2"}, HELLO, {}, "Hell$2o, World!", id="too-large-index"),
    pytest.param({SEARCH: "(ell)", REPLACEMENT: "$d"}, HELLO, {}, "H$do, World!", id="invalid-reference"),
    pytest.param({SEARCH: "(ell)", REPLACEMENT: "\\$1"}, HELLO, {}, "H$1o, World!", id="escaping-dollar"),
    pytest.param({SEARCH: "(ell)", REPLACEMENT: ""}, HELLO, {}, "Ho, World!", id="empty-replacement"),
    pytest.param({SEARCH: "Z", REPLACEMENT: "Morning"}, HELLO, {}, HELLO, id="no-match"),
    pytest.param({SEARCH: "l", REPLACEMENT: "R"}, HELLO, {}, "HeRRo, WorRd!", id="multiple-matches"),
    pytest.param({SEARCH: ".*", REPLACEMENT: "${abc}"}, HELLO, {"abc": "Good"}, "Good", id="attribute-to-content"),
    pytest.param({SEARCH: ".*", REPLACEMENT: "${abc}", "Maximum Buffer Size": "1 b"}, HELLO, {"abc": "Good"},
                 "Good", id="dot-star-ignores-buffer"),
    pytest.param({SEARCH: "(?s)(^.*)", MODE: ENTIRE,
                  REPLACEMENT: "attribute header\n\n${filename}\n\ndata header\n\n$1\n\nfooter"},
                 "Hello\nWorld!", {"filename": "abc.txt"},
                 "attribute header\n\nabc.txt\n\ndata header\n\nHello\nWorld!\n\nfooter", id="existing-content"),
    pytest.param({SEARCH: ".+", REPLACEMENT: "{ ${filename} }"}, "Hello", {"filename": "abc.txt"}, "{ abc.txt }",
                 id="curly-braces"),
    pytest.param({REPLACEMENT: "default-replacement-value"}, "original-text", {}, "default-replacement-value",
                 id="default-regex"),
    pytest.param({REPLACEMENT: "default-replacement-value", MODE: ENTIRE},
                 "original-text-line-1\noriginal-text-line-2", {}, "default-replacement-value",
                 id="default-regex-multiline"),
    pytest.param({SEARCH: ".*", REPLACEMENT: "${abc}"}, "<<<HEADER>>>\r\n<<BODY>>\r\n<<<FOOTER>>>\r",
                 {"abc": "Good"}, "Good\r\nGood\r\nGood\r", id="attribute-to-content-windows"),
    pytest.param({SEARCH: "(?s)(^.*)", REPLACEMENT: "attribute header\n\n${filename}\n\ndata header\n\n$1\n\nfooter\n"},
                 "Hello\nWorld!", {"filename": "abc.txt"},
                 "attribute header\n\nabc.txt\n\ndata header\n\nHello\n\n\nfooter\n"
                 "attribute header\n\nabc.txt\n\ndata header\n\nWorld!\n\nfooter\n", id="existing-content-lines"),
    pytest.param({SEARCH: "(.*?),(.*?),(\\d+.*)",
                  REPLACEMENT: "$1,$2,${ '$3':toDate('ddMMMyyyy'):format('yyyy/MM/dd') }"},
                 "2006,10-01-2004,10may2004\n2007,15-05-2006,10jun2005\r\n2009,8-8-2008,10aug2008", {},
                 "2006,10-01-2004,2004/05/10\n2007,15-05-2006,2005/06/10\r\n2009,8-8-2008,2008/08/10",
                 id="group-in-expression-crlf"),
    pytest.param({SEARCH: "(.*)/(.*?).jpg", REPLACEMENT: "$1/${ '$2':substring(0,1) }.png"},
                 "1,2,3,https://123.jpg,email@mydomain.com\n3,2,1,https://321.jpg,other.email@mydomain.com", {},
                 "1,2,3,https://1.png,email@mydomain.com\n3,2,1,https://3.png,other.email@mydomain.com",
                 id="group-in-expression-2"),
    pytest.param({MODE: ENTIRE, STRATEGY: "Always Replace", SEARCH: "not there", REPLACEMENT: "${filename}"},
                 "Hello\nWorld!", {"filename": "abc.txt"}, "abc.txt", id="always-replace-entire"),
    pytest.param({STRATEGY: "Always Replace", SEARCH: "not there", REPLACEMENT: "${filename}"},
                 "Hello\nWorld!\r\ntoday!\n", {"filename": "abc.txt"}, "abc.txt\nabc.txt\r\nabc.txt\n",
                 id="always-replace-lines"),
    pytest.param({SEARCH: "(?s:^.*$)", REPLACEMENT: "${'$1':toUpper()}", MODE: ENTIRE}, "testing\n123", {}, "",
                 id="el-group-that-does-not-exist"),
    pytest.param({SEARCH: "(?s)(^.*$)", REPLACEMENT: "${'$1':toUpper()}", MODE: ENTIRE}, "testing\n123", {},
                 "TESTING\n123", id="el-group"),
    pytest.param({SEARCH: "(?s)(^.*$)", REPLACEMENT: "${'$1':toUpper()}", MODE: ENTIRE}, "wo$rd", {}, "WO$RD",
                 id="el-group-with-dollar"),
    pytest.param({SEARCH: "(?s)(^.*$)", REPLACEMENT: "${'$1':toUpper()}", MODE: ENTIRE}, "wo$1rd", {}, "WO$1RD",
                 id="el-group-with-back-reference"),
    pytest.param({SEARCH: "(?s)(^.*$)", REPLACEMENT: "${'$1':toUpper()}", MODE: ENTIRE}, "wo$1r$2d", {},
                 "WO$1R$2D", id="el-group-with-back-references"),
    pytest.param({STRATEGY: "Surround", "Text to Prepend": "<pre>", "Text to Append": "<post>", MODE: ENTIRE},
                 "Hello\nThere\nHow are you\nToday?", {}, "<pre>Hello\nThere\nHow are you\nToday?<post>",
                 id="surround-entire"),
    pytest.param({STRATEGY: "Surround", "Text to Prepend": "<pre>", "Text to Append": "<post>"},
                 "Hello\nThere\nHow are you\nToday?", {},
                 "<pre>Hello<post>\n<pre>There<post>\n<pre>How are you<post>\n<pre>Today?<post>",
                 id="surround-lines"),
    pytest.param({SEARCH: "odo", REPLACEMENT: "ood"}, "", {}, "", id="empty-content-lines"),
    pytest.param({REPLACEMENT: "", MODE: ENTIRE, "Maximum Buffer Size": "1 b"}, "abc", {}, "",
                 id="default-regex-empty-replacement-is-always-replace"),
    pytest.param({REPLACEMENT: "x", MODE: ENTIRE}, "", {}, "x", id="empty-content-entire-text"),
    pytest.param({SEARCH: "(?<first>\\w+) (?<last>\\w+)", REPLACEMENT: "${last} ${first}|$2 $1"},
                 "John Smith", {}, " |Smith John", id="named-groups-are-expressions-first"),
    pytest.param({SEARCH: "^(\\w+)$", REPLACEMENT: "[$1]"}, "ab\r\ncd\r\n", {}, "[ab]\r\n[cd]\r\n",
                 id="dollar-before-crlf"),
    pytest.param({SEARCH: "é", REPLACEMENT: "e", "Character Set": "ISO-8859-1"}, "café".encode("latin-1"), {},
                 "cafe", id="latin-1"),
]


# NiFi's TestReplaceTextLineByLine/testFile.txt (193 characters, no final line ending); the expected
# files of NiFi's line-by-line tests are this text with the edit each case names.
TEST_FILE = "<<<HEADER>>>\n" + "Fodo DODO cujo Pojo\nBlue Dew clue hew\nGrampa Riley Huey\n" * 3 + "<<<FOOTER>>>"
HEADER, FOOTER = "<<<HEADER>>>", "<<<FOOTER>>>"
BODY = TEST_FILE[len(HEADER):-len(FOOTER)]


def _each_line(fn: object) -> str:
    assert callable(fn)
    return "\n".join(fn(line) for line in TEST_FILE.split("\n"))


LINE_FILE_CASES = [
    pytest.param({SEARCH: "odo", REPLACEMENT: "ood"}, {}, TEST_FILE.replace("Fodo", "Food"), id="file-simple"),
    pytest.param({STRATEGY: "Prepend", REPLACEMENT: "TEST "}, {}, _each_line(lambda s: "TEST " + s),
                 id="file-prepend"),
    pytest.param({STRATEGY: "Append", REPLACEMENT: " TEST"}, {}, _each_line(lambda s: s + " TEST"),
                 id="file-append"),
    pytest.param({SEARCH: "odo", REPLACEMENT: "ood", STRATEGY: "Literal Replace"}, {},
                 TEST_FILE.replace("Fodo", "Food"), id="file-literal"),
    pytest.param({SEARCH: "jo", REPLACEMENT: "[$1]", STRATEGY: "Literal Replace"}, {},
                 TEST_FILE.replace("cujo Pojo", "cu[$1] Po[$1]"), id="file-literal-back-reference"),
    pytest.param({SEARCH: "(DODO)", REPLACEMENT: "[$1]"}, {}, TEST_FILE.replace("DODO", "[DODO]"),
                 id="file-back-reference"),
    pytest.param({SEARCH: "(jo)", REPLACEMENT: "[${abc}]"}, {"abc": "$1"},
                 TEST_FILE.replace("cujo Pojo", "cu[$1] Po[$1]"), id="file-el-is-escaped"),
    pytest.param({SEARCH: "${replaceKey}", REPLACEMENT: "${replaceValue}"},
                 {"replaceKey": "Riley", "replaceValue": "Spider"}, TEST_FILE.replace("Riley", "Spider"),
                 id="file-regex-el"),
    pytest.param({SEARCH: "${replaceKey}", REPLACEMENT: "${replaceValue}"},
                 {"replaceKey": "R.*y", "replaceValue": "Spider"}, TEST_FILE, id="file-regex-el-is-escaped"),
    pytest.param({SEARCH: "(lu)", REPLACEMENT: "$1$2"}, {},
                 TEST_FILE.replace("Blue Dew clue", "Blu$2e Dew clu$2e"), id="file-too-large-index"),
    pytest.param({SEARCH: "(H)", REPLACEMENT: "$1$2", LINES: "First-Line"}, {},
                 "<<<H$2EADER>>>" + BODY + FOOTER, id="file-too-large-index-first-line"),
    pytest.param({SEARCH: "(O)", REPLACEMENT: "$1$2", LINES: "Last-Line"}, {},
                 HEADER + BODY + "<<<FO$2O$2TER>>>", id="file-too-large-index-last-line"),
    pytest.param({SEARCH: "(H)", REPLACEMENT: "$1$2", LINES: "Except-First-Line"}, {},
                 HEADER + BODY.replace("Huey", "H$2uey") + FOOTER, id="file-too-large-index-except-first"),
    pytest.param({SEARCH: "(O)", REPLACEMENT: "$1$2", LINES: "Except-Last-Line"}, {},
                 HEADER + BODY.replace("DODO", "DO$2DO$2") + FOOTER, id="file-too-large-index-except-last"),
    pytest.param({SEARCH: "H", REPLACEMENT: "[$1]", STRATEGY: "Literal Replace", LINES: "First-Line"}, {},
                 "<<<[$1]EADER>>>" + BODY + FOOTER, id="file-literal-first-line"),
    pytest.param({SEARCH: "H", REPLACEMENT: "[$1]", STRATEGY: "Literal Replace", LINES: "Except-First-Line"}, {},
                 HEADER + BODY.replace("Huey", "[$1]uey") + FOOTER, id="file-literal-except-first"),
    pytest.param({SEARCH: "O", REPLACEMENT: "[$1]", STRATEGY: "Literal Replace", LINES: "Last-Line"}, {},
                 HEADER + BODY + "<<<F[$1][$1]TER>>>", id="file-literal-last-line"),
    pytest.param({SEARCH: "O", REPLACEMENT: "[$1]", STRATEGY: "Literal Replace", LINES: "Except-Last-Line"}, {},
                 HEADER + BODY.replace("DODO", "D[$1]D[$1]") + FOOTER, id="file-literal-except-last"),
    pytest.param({SEARCH: "(ew)", REPLACEMENT: "$d"}, {}, TEST_FILE.replace("Dew", "D$d").replace("hew", "h$d"),
                 id="file-invalid-reference"),
    pytest.param({SEARCH: "(DO)", REPLACEMENT: "\\$1"}, {}, TEST_FILE.replace("DODO", "$1$1"),
                 id="file-escaping-dollar"),
    pytest.param({SEARCH: "(jo)", REPLACEMENT: ""}, {}, TEST_FILE.replace("cujo Pojo", "cu Po"),
                 id="file-empty-replacement"),
    pytest.param({SEARCH: "Z", REPLACEMENT: "Morning"}, {}, TEST_FILE, id="file-no-match"),
    pytest.param({SEARCH: "l", REPLACEMENT: "R"}, {}, TEST_FILE.replace("l", "R"), id="file-multiple-matches"),
    pytest.param({SEARCH: ".*", REPLACEMENT: "${abc}"}, {"abc": "Good"}, "\n".join(["Good"] * 11),
                 id="file-attribute-to-content"),
]


@pytest.mark.parametrize(("properties", "attributes", "expected"), LINE_FILE_CASES)
def test_nifi_line_by_line_file(properties: dict[str, str], attributes: dict[str, str], expected: str) -> None:
    assert len(TEST_FILE) == 193
    assert output(run({MODE: LINE, **properties}, TEST_FILE, attributes)) == expected


def test_problematic_case_line_by_line() -> None:
    r = run({SEARCH: ".*", REPLACEMENT: "${filename}\t${now():format(\"yyyy/MM/dd'T'HHmmss'Z'\")}\t${fileSize}\n"},
            TEST_FILE, {"filename": "abc.txt"})
    text = output(r)
    assert text.startswith("abc.txt\t") and text.endswith("193\n")
    assert text.count("abc.txt\t") == 11


def test_literal_without_match_then_with_matches() -> None:
    r = ProcessorRunner(ReplaceText)
    r.set_property(SEARCH, ".ell.")
    r.set_property(REPLACEMENT, "test")
    r.set_property(STRATEGY, "Literal Replace")
    r.enqueue(HELLO)
    r.run()
    r.enqueue("H.ell.o, World! .ell.")
    r.run()
    assert [f.content.decode() for f in r.flowfiles_for("success")] == [HELLO, "Htesto, World! test"]


def test_empty_run_then_defaults_leave_content() -> None:
    r = ProcessorRunner(ReplaceText)
    r.run()
    r.enqueue(HELLO)
    r.run()
    assert output(r) == HELLO


@pytest.mark.parametrize(("properties", "content", "attributes", "expected"), CASES)
def test_replacements(properties: dict[str, str], content: str | bytes, attributes: dict[str, str],
                      expected: str) -> None:
    assert output(run(properties, content, attributes)) == expected


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("Line1: ${var1}\nLine2: ${var2}", "Line1: foo\nLine2: bar"),
        ("Line1: $${var1}\nLine2: $${var2}", "Line1: ${var1}\nLine2: ${var2}"),
        ("Line1: ${}\nLine2: ${}", "Line1: ${}\nLine2: ${}"),
        ("${missing} ${missing:-fallback} ${nested}", "${missing} fallback foo!"),
    ],
)
@pytest.mark.parametrize("mode", [ENTIRE, LINE])
def test_substitute_variables(content: str, expected: str, mode: str) -> None:
    attributes = {"var1": "foo", "var2": "bar", "nested": "${var1}!"}
    r = run({STRATEGY: "Substitute Variables", MODE: mode}, content, attributes)
    assert output(r) == expected


def test_substitute_variables_missing_values_stay() -> None:
    r = run({STRATEGY: "Substitute Variables", MODE: ENTIRE}, "Line1: ${var1}\nLine2: ${var2}")
    assert output(r) == "Line1: ${var1}\nLine2: ${var2}"


def test_substitute_variables_cycle_goes_to_failure() -> None:
    r = run({STRATEGY: "Substitute Variables", MODE: ENTIRE}, "${a}", {"a": "${b}", "b": "${a}"})
    assert output(r, "failure") == "${a}"


def test_problematic_case_with_now_and_file_size() -> None:
    r = run({SEARCH: ".*", REPLACEMENT: "${filename}\t${now():format(\"yyyy/MM/dd'T'HHmmss'Z'\")}\t${fileSize}\n"},
            HELLO, {"filename": "abc.txt"})
    text = output(r)
    assert text.startswith("abc.txt\t") and text.endswith("13\n")


@pytest.mark.parametrize(
    ("properties", "content"),
    [
        pytest.param({SEARCH: "[123]", "Maximum Buffer Size": "1 b", REPLACEMENT: "${abc}", MODE: ENTIRE}, HELLO,
                     id="too-large"),
        pytest.param({SEARCH: "[123]", "Maximum Buffer Size": "5 kb", REPLACEMENT: "${abc}"}, "x" * 11_000,
                     id="line-too-large"),
        pytest.param({SEARCH: "[123]", "Maximum Buffer Size": "10000 b", REPLACEMENT: "x"}, "y" * 9000 + "\n",
                     id="line-needs-buffer-growth"),
        pytest.param({MODE: ENTIRE, SEARCH: ".*", REPLACEMENT: '${date:toDate("yyyy/MM/dd")}'}, "hi",
                     id="invalid-expression"),
        pytest.param({SEARCH: "(?s:^.*$)", REPLACEMENT: "$1", MODE: ENTIRE}, "testing\n123", id="no-group-1"),
        pytest.param({SEARCH: "ell", REPLACEMENT: "x"}, b"\xff\xfe bad utf-8 ell", id="undecodable"),
    ],
)
def test_failures_keep_the_content(properties: dict[str, str], content: str | bytes) -> None:
    r = run(properties, content, {"date": "12", "re": "(unclosed"})
    r.assert_all_transferred("failure", 1)
    original = content.encode() if isinstance(content, str) else content
    r.flowfiles_for("failure")[0].assert_content_equals(original)
    assert r.bulletins


def test_search_value_from_an_attribute_is_literal_so_it_cannot_be_invalid() -> None:
    r = run({SEARCH: "${re}", REPLACEMENT: "x"}, "a(unclosed", {"re": "(unclosed"})
    assert output(r) == "ax"


def test_line_of_8192_characters_fits_any_buffer() -> None:
    r = run({SEARCH: "a", REPLACEMENT: "b", "Maximum Buffer Size": "1 b"}, "a" * 8000 + "\n" + "a")
    assert output(r) == "b" * 8000 + "\nb"


def test_large_content_streams_line_by_line() -> None:
    line = "alpha beta gamma\r\n"
    content = line * 300_000  # > 4 MiB: the streaming path
    r = run({SEARCH: "beta", REPLACEMENT: "BETA", "Maximum Buffer Size": "100 MB"}, content)
    out = output(r)
    assert out == content.replace("beta", "BETA")


@pytest.mark.parametrize("strategy", ["Prepend", "Append"])
def test_prepend_and_append_entire_text_keep_any_bytes(strategy: str) -> None:
    data = b"\xff\x00binary"
    r = run({STRATEGY: strategy, REPLACEMENT: "<>", MODE: ENTIRE, "Maximum Buffer Size": "1 b"}, data)
    r.assert_all_transferred("success", 1)
    expected = b"<>" + data if strategy == "Prepend" else data + b"<>"
    r.flowfiles_for("success")[0].assert_content_equals(expected)


def test_configuration_validity_follows_nifi() -> None:
    r = ProcessorRunner(ReplaceText)
    r.set_property(SEARCH, "(?<!\\),*")
    r.set_property(REPLACEMENT, "hello")
    r.set_property(MODE, ENTIRE)
    r.assert_not_valid()
    (problem,) = r.validation_results()
    assert problem.subject == SEARCH and "position" in problem.explanation
    r.set_property(STRATEGY, "Literal Replace")
    r.assert_valid()
    r.enqueue("(?<!\\),*")
    r.run()
    assert output(r) == "hello"
    r.set_property(SEARCH, "")
    r.assert_not_valid()
    for strategy in ("Append", "Prepend", "Always Replace"):
        r.set_property(STRATEGY, strategy)
        r.assert_valid()


def test_invalid_configuration_refuses_to_run() -> None:
    r = ProcessorRunner(ReplaceText)
    r.set_property(SEARCH, "a{")
    with pytest.raises(InvalidComponentError):
        r.run()


def test_surround_requires_both_texts() -> None:
    r = ProcessorRunner(ReplaceText)
    r.set_property(STRATEGY, "Surround")
    subjects = {res.subject for res in r.validation_results()}
    assert subjects == {"Text to Prepend", "Text to Append"}


def test_legacy_search_value_name_is_accepted() -> None:
    r = run({"Regular Expression": "ell", REPLACEMENT: "ELL"}, HELLO)
    assert output(r) == "HELLO, World!"[:1] + "ELLo, World!"


def test_processes_many_flowfiles_per_session() -> None:
    r = ProcessorRunner(ReplaceText)
    r.set_property(SEARCH, "(\\d+)")
    r.set_property(REPLACEMENT, "<$1>")
    r.enqueue_many([(f"n{i}", {}) for i in range(60)])
    r.run()
    assert [f.content for f in r.flowfiles_for("success")] == [f"n<{i}>".encode() for i in range(50)]
    r.run()
    r.assert_transferred("success", 60)


@pytest.mark.parametrize(
    ("search", "attributes", "content", "expected"),
    [
        # A lone expression: its result is quoted, as NiFi's decorator does.
        ("${filename:substringBefore('.')}", {"filename": "a.b.csv"}, "xa.bc", "xZ.bc"),
        ("${pattern}", {"pattern": "a.c"}, "abc a.c", "abc Z"),
        # Text and expressions: the attribute values are quoted.
        ("(\\d+)-${sep}", {"sep": "."}, "1-. 2-x", "Z 2-x"),
    ],
)
def test_expression_results_in_the_search_value_are_literal(search: str, attributes: dict[str, str],
                                                            content: str, expected: str) -> None:
    assert output(run({SEARCH: search, REPLACEMENT: "Z"}, content, attributes)) == expected


def test_expression_results_in_the_replacement_are_not_back_references() -> None:
    r = run({SEARCH: "(b)", REPLACEMENT: "${'$1':append('$1')}", MODE: ENTIRE}, "abc")
    assert output(r) == "ab$1c"
