"""The xml family's parser rules: no DOCTYPE unless allowed, no external entity
or DTD ever fetched, entity bombs refused."""

from __future__ import annotations

import contextlib
import io
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from flowyard.processors._safe_xml import (
    UnsafeXmlError,
    XmlSyntaxError,
    has_doctype,
    iterparse,
    parse,
    parse_stylesheet,
)

_LAUGHS = "".join(
    f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(2, 10)
)
BILLION_LAUGHS = (
    f'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol1 "lol">{_LAUGHS}]><lolz>&lol9;</lolz>'
).encode()
QUADRATIC = (
    f'<!DOCTYPE q [<!ENTITY a "{"x" * 50_000}">]><q>{"&a;" * 50_000}</q>'
).encode()
ENTITY_LOOP = b'<!DOCTYPE l [<!ENTITY a "x&b;"><!ENTITY b "&a;">]><l>&a;</l>'


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text("TOP-SECRET-CONTENT")
    return path


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A listening socket that records whether anything connected to it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    yield sock
    sock.close()


def _nobody_connected(sock: socket.socket) -> bool:
    try:
        conn, _ = sock.accept()
    except BlockingIOError:
        return True
    conn.close()
    return False


@pytest.mark.parametrize("allow_dtd", [False, True])
@pytest.mark.parametrize("document", [BILLION_LAUGHS, QUADRATIC, ENTITY_LOOP], ids=["laughs", "quadratic", "loop"])
def test_entity_bombs_are_refused(document: bytes, allow_dtd: bool) -> None:
    with pytest.raises(UnsafeXmlError) as caught:
        parse(document, allow_dtd=allow_dtd)
    reason = caught.value.reason
    assert ("DOCTYPE" in reason) if not allow_dtd else ("entity expansion refused" in reason)


def test_xxe_file_entity_is_refused_and_never_read(secret_file: Path) -> None:
    document = f'<!DOCTYPE f [<!ENTITY x SYSTEM "file://{secret_file}">]><f>&x;</f>'.encode()
    with pytest.raises(UnsafeXmlError, match="DOCTYPE"):
        parse(document)
    with pytest.raises(UnsafeXmlError, match="external entity 'x'") as caught:
        parse(document, allow_dtd=True)
    assert "TOP-SECRET" not in str(caught.value)


def test_etc_passwd_entity_is_refused() -> None:
    document = b'<?xml version="1.0"?><!DOCTYPE f [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><f>&xxe;</f>'
    with pytest.raises(UnsafeXmlError, match="external entity 'xxe'"):
        parse(document, allow_dtd=True)


@pytest.mark.integration
@pytest.mark.parametrize(
    "template",
    [
        '<!DOCTYPE f [<!ENTITY x SYSTEM "http://127.0.0.1:{port}/x">]><f>&x;</f>',
        '<!DOCTYPE f [<!ENTITY % p SYSTEM "http://127.0.0.1:{port}/p.dtd"> %p;]><f/>',
        '<!DOCTYPE f SYSTEM "http://127.0.0.1:{port}/f.dtd"><f/>',
        '<f xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="http://127.0.0.1:{port}/i"/></f>',
    ],
    ids=["general-entity", "parameter-entity", "external-dtd", "xinclude"],
)
@pytest.mark.parametrize("allow_dtd", [False, True])
def test_network_entities_are_never_fetched(listener: socket.socket, template: str, allow_dtd: bool) -> None:
    document = template.format(port=listener.getsockname()[1]).encode()
    try:
        tree = parse(document, allow_dtd=allow_dtd)
    except ValueError:
        pass
    else:
        # only XInclude parses (it is not processed): the include stays an element
        assert "include" in tree.getroot()[0].tag
    assert _nobody_connected(listener)


@pytest.mark.integration
@pytest.mark.parametrize("function", ["document('http://127.0.0.1:{port}/d')", "document('file://{secret}')"])
def test_xslt_document_function_is_denied(listener: socket.socket, secret_file: Path, function: str) -> None:
    call = function.format(port=listener.getsockname()[1], secret=secret_file)
    stylesheet = parse_stylesheet(
        f'<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">'
        f'<xsl:template match="/"><r><xsl:copy-of select="{call}"/></r></xsl:template></xsl:stylesheet>'.encode()
    )
    with pytest.raises(etree.XSLTApplyError, match="denied"):
        stylesheet(parse(b"<a/>"))
    assert _nobody_connected(listener)


def test_xslt_include_of_a_file_is_denied(secret_file: Path) -> None:
    included = secret_file.with_suffix(".xsl")
    included.write_text(
        '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"/>'
    )
    with pytest.raises(ValueError, match="refused to load"):
        parse_stylesheet(
            f'<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">'
            f'<xsl:include href="file://{included}"/></xsl:stylesheet>'.encode()
        )


def test_internal_entities_expand_when_dtds_are_allowed() -> None:
    tree = parse(b'<!DOCTYPE a [<!ENTITY who "world">]><a>hello &who;</a>', allow_dtd=True)
    assert tree.getroot().text == "hello world"


def test_an_internal_subset_without_entities_is_accepted_when_allowed() -> None:
    document = b'<?xml version="1.0"?>\n<!DOCTYPE a [<!ELEMENT a (#PCDATA)>]>\n<a>x</a>'
    assert parse(document, allow_dtd=True).getroot().text == "x"
    with pytest.raises(UnsafeXmlError):
        parse(document)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"<a/>", False),
        (b'<?xml version="1.0"?>\n<!-- <!DOCTYPE x> -->\n<a/>', False),
        (b'<?xml version="1.0"?>\n<!-- c --><?pi x?>\n <!DOCTYPE a><a/>', True),
        ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a><a/>'.encode("utf-16"), True),
        ("\ufeff<!DOCTYPE a><a/>".encode(), True),
        (b"<a><!DOCTYPE inside/></a>", False),
    ],
)
def test_doctype_is_found_in_the_prolog(head: bytes, expected: bool) -> None:
    assert has_doctype(head) is expected


@pytest.mark.parametrize("document", [b"", b"<a>", b"<a></b>", b"not xml", b"<a/><b/>"])
def test_malformed_documents_raise_syntax_errors(document: bytes) -> None:
    with pytest.raises(XmlSyntaxError, match="not well-formed"):
        parse(document)


def test_iterparse_refuses_a_doctype_and_streams_otherwise() -> None:
    with pytest.raises(UnsafeXmlError):
        list(iterparse(io.BytesIO(BILLION_LAUGHS)))
    events = [(event, element.tag) for event, element in iterparse(io.BytesIO(b"<a><b/></a>"))]
    assert events == [("start", "a"), ("start", "b"), ("end", "b"), ("end", "a")]
    with pytest.raises(XmlSyntaxError):
        list(iterparse(io.BytesIO(b"<a><b></a>")))


@pytest.mark.parametrize(
    "document", [b"<a>" * 300 + b"</a>" * 300, b"<a>" + b"x" * (11 * 1024 * 1024) + b"</a>"], ids=["deep", "huge-text"]
)
def test_documents_beyond_the_parser_limits_are_refused(document: bytes) -> None:
    with pytest.raises(UnsafeXmlError, match="exceeds the parser's limits"):
        parse(document)
    with pytest.raises(UnsafeXmlError, match="exceeds the parser's limits"):
        list(iterparse(io.BytesIO(document)))


class _FifoWatch:
    """Detects a reader opening a FIFO: opening it for writing without
    blocking succeeds only while someone has it open for reading (and that
    open unblocks the reader, so a parser that opened it cannot hang)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.opened = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: nobody reads it
                self._stop.wait(0.001)
                continue
            self.opened.set()
            os.close(fd)

    def __enter__(self) -> _FifoWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


@pytest.mark.parametrize("allow_dtd", [False, True])
@pytest.mark.parametrize("kind", ["entity", "parameter-entity", "external-dtd"])
def test_a_local_file_is_never_opened(tmp_path: Path, allow_dtd: bool, kind: str) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    document = {
        "entity": f'<!DOCTYPE f [<!ENTITY x SYSTEM "file://{fifo}">]><f>&x;</f>',
        "parameter-entity": f'<!DOCTYPE f [<!ENTITY % p SYSTEM "file://{fifo}"> %p;]><f/>',
        "external-dtd": f'<!DOCTYPE f SYSTEM "file://{fifo}"><f/>',
    }[kind].encode()
    with _FifoWatch(fifo) as watch, pytest.raises(ValueError):
        parse(document, allow_dtd=allow_dtd)
    assert not watch.opened.is_set()


def test_the_fifo_watch_sees_a_parser_that_does_read_files(tmp_path: Path) -> None:
    """The check above can fail: an unprotected parser opens the file."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    unsafe = etree.XMLParser(resolve_entities=True, load_dtd=True, no_network=True)
    with _FifoWatch(fifo) as watch, contextlib.suppress(etree.XMLSyntaxError):
        etree.fromstring(f'<!DOCTYPE f [<!ENTITY x SYSTEM "file://{fifo}">]><f>&x;</f>'.encode(), unsafe)
    assert watch.opened.is_set()
