"""TransformXml through ProcessorRunner; cases from NiFi's TestTransformXml."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from flowyard.processors.lookup_services import SimpleKeyValueLookupService
from flowyard.processors.transform_xml import StylesheetCache, TransformXml
from flowyard.runtime.sdk.testing import ProcessorRunner

MATH_XML = b"""<?xml version="1.0"?>
<doc>
  <n1>5</n1>
  <n2>2</n2>
  <div>-5</div>
  <mod>2</mod>
</doc>"""

MATH_XSL = (
    '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" '
    'xmlns:xs="http://www.w3.org/2001/XMLSchema">'
    '<xsl:param name="header" /><xsl:template match="doc">'
    '<HTML><H1><xsl:value-of select="$header"/></H1><HR/>'
    '<P>Should say "1": <xsl:value-of select="5 mod 2"/></P>'
    '<P>Should say "1": <xsl:value-of select="n1 mod n2"/></P>'
    '<P>Should say "-1": <xsl:value-of select="div mod mod"/></P>'
    '<P><xsl:value-of select="div or ((mod)) | or"/></P>'
    "</HTML></xsl:template></xsl:stylesheet>"
)
# libxslt's HTML serialization (NiFi's Saxon writes <!DOCTYPE HTML> and indents by three spaces)
MATH_HTML = (
    '<HTML xmlns:xs="http://www.w3.org/2001/XMLSchema">\n<H1>Test for mod</H1>\n<HR>\n'
    '<P>Should say "1": 1</P>\n<P>Should say "1": 1</P>\n<P>Should say "-1": -1</P>\n<P>true</P>\n</HTML>\n'
)

PARAMETER_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<data>
    <item>Some data</item>
</data>
"""
DECLARED_PARAMETER_XSL = """<?xml version="1.0" encoding="UTF-8"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
    <xsl:param name="customParam" select="'From XSLT'" />
    <xsl:template match="/">
        <root>
            <message>
                Value Selected: <xsl:value-of select="$customParam"/>
            </message>
        </root>
    </xsl:template>
</xsl:stylesheet>
"""
UNDECLARED_PARAMETER_XSL = DECLARED_PARAMETER_XSL.replace(
    """    <xsl:param name="customParam" select="'From XSLT'" />\n""", ""
)
DOC_NODE_XSL = (
    '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" '
    'xmlns:xs="http://www.w3.org/2001/XMLSchema"><xsl:template match="/doc"><doc/></xsl:template>'
    "</xsl:stylesheet>"
)


XslWriter = Callable[..., str]


@pytest.fixture
def xsl(tmp_path: Path) -> XslWriter:
    """Writes a stylesheet (text, optional file name) under tmp_path and returns its path."""

    def write(text: str, name: str = "transform.xsl") -> str:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    return write


def runner(properties: dict[str, str]) -> ProcessorRunner:
    r = ProcessorRunner(TransformXml)
    for name, value in properties.items():
        r.set_property(name, value)
    return r


def with_lookup(properties: dict[str, str], entries: dict[str, str]) -> ProcessorRunner:
    r = runner({})
    r.add_controller_service("lookup", SimpleKeyValueLookupService, entries)
    r.enable_controller_service("lookup")
    r.set_property("XSLT Lookup", "lookup")
    for name, value in properties.items():
        r.set_property(name, value)
    return r


def test_stylesheet_not_found_is_invalid() -> None:
    runner({"XSLT Document": "/no/path/to/math.xsl"}).assert_not_valid()


def test_non_xml_content(xsl: XslWriter) -> None:
    r = runner({"XSLT Document": xsl(MATH_XSL)})
    r.enqueue(b"not xml")
    r.run()
    r.assert_all_transferred("failure", 1)
    r.flowfiles_for("failure")[0].assert_content_equals("not xml")
    assert r.bulletins


@pytest.mark.parametrize("cache_size", ["10", "0"])
def test_transform_math(xsl: XslWriter, cache_size: str) -> None:
    r = runner({"XSLT Document": xsl(MATH_XSL), "header": "Test for mod", "Cache Size": cache_size})
    r.enqueue(MATH_XML)
    r.run()
    r.assert_all_transferred("success", 1)
    r.flowfiles_for("success")[0].assert_content_equals(MATH_HTML)


def test_transform_expression_language(xsl: XslWriter) -> None:
    r = runner({"XSLT Document": "${xslt.path}", "header": "${title}"})
    r.enqueue(MATH_XML, {"xslt.path": xsl(MATH_XSL), "title": "Test for mod"})
    r.run()
    r.flowfiles_for("success")[0].assert_content_equals(MATH_HTML)


def test_both_sources_are_invalid(xsl: XslWriter) -> None:
    r = with_lookup({"XSLT Document": xsl(MATH_XSL), "XSLT Lookup Key": "k"}, {"key1": "value1"})
    assert any("Exactly one of" in str(result) for result in r.validation_results())


def test_no_source_is_invalid() -> None:
    runner({"Cache Size": "0"}).assert_not_valid()


def test_lookup_without_key_is_invalid() -> None:
    r = with_lookup({}, {"key1": "value1"})
    assert [result.subject for result in r.validation_results()] == ["XSLT Lookup Key"]


@pytest.mark.parametrize("cache_size", ["10", "0"])
def test_transform_with_lookup(cache_size: str) -> None:
    r = with_lookup({"XSLT Lookup Key": "${xslt}", "header": "Test for mod", "Cache Size": cache_size},
                    {"math": MATH_XSL})
    r.enqueue(MATH_XML, {"xslt": "math"})
    r.run()
    r.assert_all_transferred("success", 1)
    r.flowfiles_for("success")[0].assert_content_equals(MATH_HTML)


def test_xslt_not_found_in_lookup() -> None:
    r = with_lookup({"XSLT Lookup Key": "${xslt}"}, {})
    r.enqueue(MATH_XML, {"xslt": "math"})
    r.run()
    r.assert_all_transferred("failure", 1)
    assert "not found" in r.bulletins[0][1]


def test_legacy_names_load() -> None:
    r = runner({"XSLT file name": "/x.xsl", "indent-output": "false", "cache-size": "3",
                "cache-ttl-after-last-access": "5 secs", "secure-processing": "false"})
    assert r.context.properties == {
        "xslt-document": "/x.xsl", "xslt-lookup": None, "xslt-lookup-key": None, "indent": "false",
        "secure-processing": "false", "cache-size": "3", "cache-duration": "5 secs",
    }


def test_parameter_declared_and_set(xsl: XslWriter) -> None:
    r = runner({"XSLT Document": xsl(DECLARED_PARAMETER_XSL), "customParam": "From NIFI"})
    r.enqueue(PARAMETER_XML)
    r.run()
    r.assert_all_transferred("success", 1)
    r.flowfiles_for("success")[0].assert_content_equals(
        '<?xml version="1.0" encoding="UTF-8"?>\n<root>\n   <message>\n'
        "                Value Selected: From NIFI</message>\n</root>\n"
    )


def test_parameter_with_quotes_is_a_string(xsl: XslWriter) -> None:
    r = runner({"XSLT Document": xsl(DECLARED_PARAMETER_XSL), "customParam": "it's \"x\"", "Indent": "false"})
    r.enqueue(PARAMETER_XML)
    r.run()
    assert "Value Selected: it's \"x\"</message>" in r.flowfiles_for("success")[0].content.decode()


def test_parameter_set_but_not_declared(xsl: XslWriter) -> None:
    stylesheet = UNDECLARED_PARAMETER_XSL.replace('<xsl:value-of select="$customParam"/>', "")
    r = runner({"XSLT Document": xsl(stylesheet), "customParam": "From NIFI"})
    r.enqueue(PARAMETER_XML)
    r.run()
    r.assert_all_transferred("success", 1)


def test_parameter_not_declared_but_used(xsl: XslWriter) -> None:
    r = runner({"XSLT Document": xsl(UNDECLARED_PARAMETER_XSL), "customParam": "From NIFI"})
    r.enqueue(PARAMETER_XML)
    r.run()
    r.assert_all_transferred("failure", 1)
    assert "customParam" in r.bulletins[0][1]


def test_doctype_with_external_dtd_is_not_loaded(xsl: XslWriter) -> None:
    r = runner({"XSLT Document": xsl(DOC_NODE_XSL), "Indent": "false"})
    r.enqueue('<!DOCTYPE doc SYSTEM "doc.dtd"><doc></doc>')
    r.run()
    r.assert_all_transferred("success", 1)
    r.flowfiles_for("success")[0].assert_content_equals(
        '<?xml version="1.0" encoding="UTF-8"?><doc xmlns:xs="http://www.w3.org/2001/XMLSchema"/>'
    )


@pytest.mark.parametrize("secure", ["true", "false"])
def test_external_entity_in_the_document_fails(xsl: XslWriter, secure: str) -> None:
    r = runner({"XSLT Document": xsl(DOC_NODE_XSL), "Indent": "false", "Secure Processing": secure})
    r.enqueue('<!DOCTYPE doc [<!ENTITY uri SYSTEM "http://127.0.0.1" >]><doc>&uri;</doc>')
    r.run()
    r.assert_all_transferred("failure", 1)
    assert "external entity" in r.bulletins[0][1]


def test_billion_laughs_fails(xsl: XslWriter) -> None:
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    r = runner({"XSLT Document": xsl(DOC_NODE_XSL)})
    r.enqueue(f'<!DOCTYPE doc [<!ENTITY l0 "lol">{laughs}]><doc>&l9;</doc>')
    r.run()
    r.assert_all_transferred("failure", 1)
    assert "billion laughs" in r.bulletins[0][1]


def test_internal_entities_are_expanded(xsl: XslWriter) -> None:
    stylesheet = DOC_NODE_XSL.replace("<doc/>", '<doc><xsl:value-of select="."/></doc>')
    r = runner({"XSLT Document": xsl(stylesheet), "Indent": "false"})
    r.enqueue('<!DOCTYPE doc [<!ENTITY who "world">]><doc>hello &who;</doc>')
    r.run()
    assert r.flowfiles_for("success")[0].content.decode().endswith(">hello world</doc>")


@pytest.mark.integration
@pytest.mark.parametrize("target", ["http://127.0.0.1:{port}/x.xml", "file://{secret}"])
def test_document_function_is_denied(xsl: XslWriter, tmp_path: Path, target: str) -> None:
    secret = tmp_path / "secret.xml"
    secret.write_text("<secret>TOP-SECRET</secret>")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.setblocking(False)
        url = target.format(port=listener.getsockname()[1], secret=secret)
        stylesheet = DOC_NODE_XSL.replace("<doc/>", f"<doc><xsl:copy-of select=\"document('{url}')\"/></doc>")
        r = runner({"XSLT Document": xsl(stylesheet)})
        r.enqueue("<doc/>")
        r.run()
        r.assert_all_transferred("failure", 1)
        assert "TOP-SECRET" not in r.bulletins[0][1]
        with pytest.raises(BlockingIOError):
            listener.accept()


def test_include_of_another_file_is_refused(xsl: XslWriter) -> None:
    included = xsl(DOC_NODE_XSL, "included.xsl")
    stylesheet = (
        '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">'
        f'<xsl:include href="{included}"/></xsl:stylesheet>'
    )
    r = runner({"XSLT Document": xsl(stylesheet)})
    r.enqueue("<doc/>")
    r.run()
    r.assert_all_transferred("failure", 1)


def test_non_matching_end_tag_in_stylesheet(xsl: XslWriter) -> None:
    r = runner({"XSLT Document": xsl(MATH_XSL.replace("</HTML></xsl:template>", "</HTML></xsl:templat>"))})
    r.enqueue(MATH_XML)
    r.run()
    r.assert_all_transferred("failure", 1)
    assert "templat" in r.bulletins[0][1]


def test_message_terminate_fails_and_message_continue_succeeds(xsl: XslWriter) -> None:
    body = '<xsl:template match="/"><xsl:message terminate="{t}">stop here</xsl:message><r/></xsl:template>'
    stylesheet = '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">{}</xsl:stylesheet>'
    r = runner({"XSLT Document": xsl(stylesheet.format(body.format(t="yes")), "a.xsl")})
    r.enqueue("<doc/>")
    r.run()
    r.assert_all_transferred("failure", 1)
    assert "stop here" in r.bulletins[0][1]
    r = runner({"XSLT Document": xsl(stylesheet.format(body.format(t="no")), "b.xsl"), "Indent": "false"})
    r.enqueue("<doc/>")
    r.run()
    r.assert_all_transferred("success", 1)
    r.flowfiles_for("success")[0].assert_content_equals('<?xml version="1.0" encoding="UTF-8"?><r/>')
    assert not r.bulletins


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ('<xsl:output method="text"/>', b"v=1"),
        ('<xsl:output omit-xml-declaration="yes"/>', b"<r>v=1</r>\n"),
        ('<xsl:output encoding="ISO-8859-1"/>', b'<?xml version="1.0" encoding="ISO-8859-1"?>\n<r>v=1</r>\n'),
    ],
)
def test_xsl_output_is_honoured(xsl: XslWriter, output: str, expected: bytes) -> None:
    stylesheet = (
        f'<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">{output}'
        '<xsl:template match="/"><r>v=<xsl:value-of select="/a"/></r></xsl:template></xsl:stylesheet>'
    )
    r = runner({"XSLT Document": xsl(stylesheet)})
    r.enqueue("<a>1</a>")
    r.run()
    r.flowfiles_for("success")[0].assert_content_equals(expected)


def test_a_changed_file_is_read_again_after_the_cache_duration(xsl: XslWriter) -> None:
    stylesheet = '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">' \
        '<xsl:output method="text"/><xsl:template match="/">{}</xsl:template></xsl:stylesheet>'
    path = xsl(stylesheet.format("one"))
    r = runner({"XSLT Document": path, "Cache Duration": "10 secs"})
    r.enqueue("<a/>")
    r.run(stop_on_finish=False)
    Path(path).write_text(stylesheet.format("two"))
    r.enqueue("<a/>")
    r.run(stop_on_finish=False, initialize=False)
    r.clock.advance(11)
    r.enqueue("<a/>")
    r.run(initialize=False)
    assert [ff.content for ff in r.flowfiles_for("success")] == [b"one", b"one", b"two"]


def test_cache_evicts_the_least_recently_used() -> None:
    stylesheet = (
        b'<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">'
        b'<xsl:template match="/"><r/></xsl:template></xsl:stylesheet>'
    )
    loads: list[str] = []

    def loader(name: str) -> Callable[[], bytes]:
        def load() -> bytes:
            loads.append(name)
            return stylesheet

        return load

    cache = StylesheetCache(2, 0)
    for name in ["a", "b", "a", "c", "b", "a"]:
        cache.get(("file", name, False), loader(name), 0)
    assert loads == ["a", "b", "c", "b", "a"]
    cache.get(("file", "a", True), loader("a"), 0)
    assert loads[-1] == "a" and len(loads) == 6  # the indent is part of the key
    assert len(cache) == 2
    assert len(StylesheetCache(0, 0)) == 0


def test_html_output_without_indent(xsl: XslWriter) -> None:
    r = runner({"XSLT Document": xsl(MATH_XSL), "header": "Test for mod", "Indent": "false"})
    r.enqueue(MATH_XML)
    r.run()
    r.flowfiles_for("success")[0].assert_content_equals(MATH_HTML.replace(">\n<", "><"))


def test_a_document_that_is_not_a_stylesheet_fails(xsl: XslWriter) -> None:
    r = runner({"XSLT Document": xsl("<not-a-stylesheet/>")})
    r.enqueue("<doc/>")
    r.run()
    r.assert_all_transferred("failure", 1)
    assert "not an XSLT stylesheet" in r.bulletins[0][1]


def test_a_simplified_stylesheet_works(xsl: XslWriter) -> None:
    stylesheet = '<r xsl:version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"><xsl:value-of select="/a"/></r>'
    r = runner({"XSLT Document": xsl(stylesheet), "Indent": "false"})
    r.enqueue("<a>1</a>")
    r.run()
    r.flowfiles_for("success")[0].assert_content_equals('<?xml version="1.0" encoding="UTF-8"?><r>1</r>')
