"""SplitXml through ProcessorRunner; cases from NiFi's TestSplitXml and its resources."""

from __future__ import annotations

import pytest
from lxml import etree

from flowyard.processors.split_xml import SplitXml
from flowyard.runtime.sdk import InvalidComponentError, ProvenanceEventType
from flowyard.runtime.sdk.testing import ProcessorRunner

_NODE = """    <node xmlns="http://namespace/1">
        <subNode1>
            <value>Hello</value>
        </subNode1>
        <subNode2>
            <value>World</value>
        </subNode2>
    </node>
"""
BUNDLE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<bundle xmlns="http://namespace/1">\n'
    '    <node>\n        <subNode1 attribute="d&amp;b">\n            <value>Hello &amp; Goodbye</value>\n'
    "        </subNode1>\n        <subNode2>\n            <value>World</value>\n        </subNode2>\n    </node>\n"
    + _NODE * 5 + "</bundle>"
).encode()

NAMESPACE = b"""<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment -->
<bundle xmlns:foo="http://namespace/1">
    <node>
        <foo:subNode1 attribute="d&amp;b">
            <value>Hello &amp; Goodbye</value>
        </foo:subNode1>
        <foo:subNode2 xmlns:goo="http://namespace/2">
            <goo:value>World</goo:value>
        </foo:subNode2>
    </node>
</bundle>
"""
NAMESPACE_SPLIT_1 = (
    '<?xml version="1.0" encoding="UTF-8"?><value xmlns:foo="http://namespace/1">Hello &amp; Goodbye</value>'
)
NAMESPACE_SPLIT_2 = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<goo:value xmlns:foo="http://namespace/1" xmlns:goo="http://namespace/2">World</goo:value>'
)


def run(content: bytes, depth: str | None = None, attributes: dict[str, str] | None = None) -> ProcessorRunner:
    r = ProcessorRunner(SplitXml)
    if depth is not None:
        r.set_property("Split Depth", depth)
    r.enqueue(content, attributes or {})
    r.run()
    return r


def _well_formed(r: ProcessorRunner, relationship: str) -> None:
    for ff in r.flowfiles_for(relationship):
        etree.fromstring(ff.content)


@pytest.mark.parametrize("depth", ["0", "-1", "x", ""])
def test_depth_must_be_positive(depth: str) -> None:
    r = ProcessorRunner(SplitXml)
    r.set_property("Split Depth", depth)
    r.enqueue(BUNDLE)
    with pytest.raises(InvalidComponentError):
        r.run()


def test_depth_of_1() -> None:
    r = run(BUNDLE, attributes={"filename": "test.xml"})
    r.assert_transferred("original", 1)
    original = r.flowfiles_for("original")[0]
    original.assert_attribute_exists("fragment.identifier")
    original.assert_attribute_equals("fragment.count", "6")
    original.assert_content_equals(BUNDLE)
    splits = r.flowfiles_for("split")
    assert len(splits) == 6
    for index, split in enumerate(splits):
        split.assert_attribute_equals("fragment.index", str(index))
        split.assert_attribute_equals("fragment.count", "6")
        split.assert_attribute_equals("segment.original.filename", "test.xml")
        split.assert_attribute_equals("fragment.identifier", original.attributes["fragment.identifier"])
        split.assert_attribute_equals("filename", "test.xml")
    _well_formed(r, "split")
    assert splits[0].content.decode().startswith(
        '<?xml version="1.0" encoding="UTF-8"?><node xmlns="http://namespace/1">\n'
        '        <subNode1 attribute="d&amp;b">'
    )


@pytest.mark.parametrize(("depth", "count"), [("2", 12), ("3", 12), ("4", 0), ("40", 0)])
def test_deeper_splits(depth: str, count: int) -> None:
    r = run(BUNDLE, depth)
    r.assert_transferred("split", count)
    original = r.flowfiles_for("original")[0]
    original.assert_attribute_equals("fragment.count", str(count) if count else None)
    original.assert_attribute_exists("fragment.identifier")
    _well_formed(r, "split")


def test_namespace_declarations() -> None:
    r = run(NAMESPACE, "3")
    r.flowfiles_for("original")[0].assert_attribute_equals("fragment.count", "2")
    first, second = r.flowfiles_for("split")
    first.assert_content_equals(NAMESPACE_SPLIT_1)
    second.assert_content_equals(NAMESPACE_SPLIT_2)


def test_nested_namespace_declarations_are_kept() -> None:
    r = run(NAMESPACE, "2")
    second = r.flowfiles_for("split")[1].content.decode()
    assert "<goo:value>World</goo:value>" in second and 'xmlns:goo="http://namespace/2"' in second
    _well_formed(r, "split")


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (b"<r><a/></r>", "<a></a>"),
        (b"<r><a x='1' y=\"it's\">t</a></r>", '<a x="1" y="it&apos;s">t</a>'),
        (b"<r><a>&lt;&amp;&gt;\"'</a></r>", "<a>&lt;&amp;&gt;&quot;&apos;</a>"),
        (b"<r><a><![CDATA[<b>]]></a></r>", "<a>&lt;b&gt;</a>"),
        (b"<r><a>x<!-- c -->y<?pi z?>w</a></r>", "<a>xyw</a>"),
        (b"<r>text<a>1</a>tail</r>", "<a>1</a>"),
        (b'<r xmlns:x="urn:x"><a x:k="v"/></r>', '<a x:k="v" xmlns:x="urn:x"></a>'),
        (b'<r><a xml:lang="en"/></r>', '<a xml:lang="en"></a>'),
        ("<r><a>é€</a></r>".encode(), "<a>é€</a>"),
        ('<?xml version="1.0" encoding="ISO-8859-1"?><r><a>\xe9</a></r>'.encode("latin-1"), "<a>é</a>"),
    ],
)
def test_serialization_as_nifi(document: bytes, expected: str) -> None:
    r = run(document)
    (split,) = r.flowfiles_for("split")
    split.assert_content_equals('<?xml version="1.0" encoding="UTF-8"?>' + expected)


@pytest.mark.parametrize(
    "content",
    [b"", b"not xml", b"<r><a>1</a><b>", b"<r><a>1</a></r><extra/>",
     b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r><a>&x;</a></r>'],
    ids=["empty", "text", "truncated", "two-roots", "xxe"],
)
def test_bad_input_goes_to_failure_without_splits(content: bytes) -> None:
    r = run(content)
    r.assert_all_transferred("failure", 1)
    r.flowfiles_for("failure")[0].assert_content_equals(content)
    assert r.bulletins and "cannot split" in r.bulletins[0][1]
    assert not r.provenance_events(ProvenanceEventType.FORK)


def test_forks_are_recorded() -> None:
    r = run(b"<r><a/><b/><c/></r>")
    assert len(r.flowfiles_for("split")) == 3
    forks = r.provenance_events(ProvenanceEventType.FORK)
    assert sum(len(e.child_uuids) for e in forks) == 3


def test_a_large_document_streams() -> None:
    items = b"".join(b"<item id='%d'>%d</item>" % (i, i) for i in range(5000))
    r = run(b"<items>" + items + b"</items>")
    splits = r.flowfiles_for("split")
    assert len(splits) == 5000
    splits[4999].assert_content_equals('<?xml version="1.0" encoding="UTF-8"?><item id="4999">4999</item>')
