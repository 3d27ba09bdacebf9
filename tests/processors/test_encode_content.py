"""EncodeContent, with the cases of NiFi's TestEncodeContent."""

from __future__ import annotations

import base64
import os

import pytest

from flowyard.processors.encode_content import EncodeContent, decode, encode
from flowyard.runtime.sdk.testing import ProcessorRunner

LOREM_IPSUM = (b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore "
               b"et dolore magna aliqua.")


def run(mode: str, encoding: str, content: bytes | str, *, lines: str = "MULTIPLE_LINES",
        length: str = "76") -> ProcessorRunner:
    r = ProcessorRunner(EncodeContent)
    r.set_property("Mode", mode)
    r.set_property("Encoding", encoding)
    r.set_property("Line Output Mode", lines)
    r.set_property("Encoded Line Length", length)
    r.enqueue(content)
    r.run()
    return r


def output(r: ProcessorRunner) -> bytes:
    r.assert_all_transferred("success", 1)
    return r.flowfiles_for("success")[0].content


BASE64 = [("hello", "aGVsbG8=\n"), ("foo", "Zm9v\n"), ("你好", "5L2g5aW9\n"),
          ("Здравствуйте", "0JfQtNGA0LDQstGB0YLQstGD0LnRgtC1\n"),
          ("!@#$%^&*()_+{}:\"<>?[];',./~`-=", "IUAjJCVeJiooKV8re306Ijw+P1tdOycsLi9+YC09\n")]
BASE32 = [("hello", "NBSWY3DP\n"), ("foo", "MZXW6===\n"), ("你好", "4S62BZNFXU======\n"),
          ("Здравствуйте", "2CL5BNGRQDILBUFS2GA5DAWQWLIYHUFZ2GBNBNI=\n")]
HEX = [("hello", "68656C6C6F"), ("foo", "666F6F"), ("你好", "E4BDA0E5A5BD"),
       ("Здравствуйте", "D097D0B4D180D0B0D0B2D181D182D0B2D183D0B9D182D0B5")]
CASES = [("base64", *c) for c in BASE64] + [("base32", *c) for c in BASE32] + [("hex", *c) for c in HEX]


@pytest.mark.parametrize(("encoding", "plain", "encoded"), CASES)
def test_encode_and_decode(encoding: str, plain: str, encoded: str) -> None:
    assert output(run("Encode", encoding, plain)) == encoded.encode()
    assert output(run("Decode", encoding, encoded)) == plain.encode()


@pytest.mark.parametrize(
    ("encoding", "lines", "length", "expected"),
    [
        ("base64", "MULTIPLE_LINES", "76",
         "TG9yZW0gaXBzdW0gZG9sb3Igc2l0IGFtZXQsIGNvbnNlY3RldHVyIGFkaXBpc2NpbmcgZWxpdCwg\n"
         "c2VkIGRvIGVpdXNtb2QgdGVtcG9yIGluY2lkaWR1bnQgdXQgbGFib3JlIGV0IGRvbG9yZSBtYWdu\nYSBhbGlxdWEu\n"),
        ("base64", "SINGLE_LINE", "2",
         "TG9yZW0gaXBzdW0gZG9sb3Igc2l0IGFtZXQsIGNvbnNlY3RldHVyIGFkaXBpc2NpbmcgZWxpdCwg"
         "c2VkIGRvIGVpdXNtb2QgdGVtcG9yIGluY2lkaWR1bnQgdXQgbGFib3JlIGV0IGRvbG9yZSBtYWdu"
         "YSBhbGlxdWEu"),
        ("base64", "MULTIPLE_LINES", "80",
         "TG9yZW0gaXBzdW0gZG9sb3Igc2l0IGFtZXQsIGNvbnNlY3RldHVyIGFkaXBpc2NpbmcgZWxpdCwgc2Vk\n"
         "IGRvIGVpdXNtb2QgdGVtcG9yIGluY2lkaWR1bnQgdXQgbGFib3JlIGV0IGRvbG9yZSBtYWduYSBhbGlx\ndWEu\n"),
        ("base32", "SINGLE_LINE", "76",
         "JRXXEZLNEBUXA43VNUQGI33MN5ZCA43JOQQGC3LFOQWCAY3PNZZWKY3UMV2HK4RAMFSGS4DJONRWS3THEBSWY2LUF"
         "QQHGZLEEBSG6IDFNF2XG3LPMQQHIZLNOBXXEIDJNZRWSZDJMR2W45BAOV2CA3DBMJXXEZJAMV2CAZDPNRXXEZJANVQWO3TBEBQWY2LROVQS4==="),
        ("base32", "MULTIPLE_LINES", "76",
         "JRXXEZLNEBUXA43VNUQGI33MN5ZCA43JOQQGC3LFOQWCAY3PNZZWKY3UMV2HK4RAMFSGS4DJ\n"
         "ONRWS3THEBSWY2LUFQQHGZLEEBSG6IDFNF2XG3LPMQQHIZLNOBXXEIDJNZRWSZDJMR2W45BA\n"
         "OV2CA3DBMJXXEZJAMV2CAZDPNRXXEZJANVQWO3TBEBQWY2LROVQS4===\n"),
        ("base32", "MULTIPLE_LINES", "80",
         "JRXXEZLNEBUXA43VNUQGI33MN5ZCA43JOQQGC3LFOQWCAY3PNZZWKY3UMV2HK4RAMFSGS4DJONRWS3TH\n"
         "EBSWY2LUFQQHGZLEEBSG6IDFNF2XG3LPMQQHIZLNOBXXEIDJNZRWSZDJMR2W45BAOV2CA3DBMJXXEZJA\n"
         "MV2CAZDPNRXXEZJANVQWO3TBEBQWY2LROVQS4===\n"),
        ("base64", "MULTIPLE_LINES", "3", base64.b64encode(LOREM_IPSUM).decode()),
        ("base64", "MULTIPLE_LINES", "${len}",
         "".join(base64.b64encode(LOREM_IPSUM).decode()[i:i + 40] + "\n" for i in range(0, 164, 40))),
    ],
)
def test_line_output(encoding: str, lines: str, length: str, expected: str) -> None:
    r = ProcessorRunner(EncodeContent)
    r.set_property("Encoding", encoding)
    r.set_property("Line Output Mode", lines)
    r.set_property("Encoded Line Length", length)
    r.enqueue(LOREM_IPSUM, {"len": "42"})
    r.run()
    assert output(r) == expected.encode()


@pytest.mark.parametrize("encoding", ["base64", "base32", "hex"])
def test_empty_content(encoding: str) -> None:
    assert output(run("Encode", encoding, b"")) == b""
    assert output(run("Decode", encoding, b"")) == b""


@pytest.mark.parametrize("encoding", ["base64", "base32", "hex"])
@pytest.mark.parametrize("lines", ["SINGLE_LINE", "MULTIPLE_LINES"])
def test_round_trip_large(encoding: str, lines: str) -> None:
    data = os.urandom(300_001)
    encoded = output(run("Encode", encoding, data, lines=lines))
    assert output(run("Decode", encoding, encoded)) == data


@pytest.mark.parametrize(
    ("encoding", "content"),
    [
        ("base64", "four@@@@multiple"),
        ("base64", "Hello, World!"),
        ("base32", "Hello, World!"),
        ("base32", "NBSWY3D1"),
        ("hex", "Hello, World!"),
        ("hex", "ABC"),
        ("hex", "AB CD"),
        ("hex", "AB\n"),
    ],
)
def test_decode_failure(encoding: str, content: str) -> None:
    r = run("Decode", encoding, content)
    r.assert_all_transferred("failure", 1)
    failed = r.flowfiles_for("failure")[0]
    failed.assert_content_equals(content)
    assert failed.attributes["encodecontent.error"]
    assert r.bulletins


@pytest.mark.parametrize(
    ("encoding", "content", "expected"),
    [
        ("base64", "aGVs\nbG8=\n", b"hello"),
        ("base64", " aGVsbG8 ", b"hello"),
        ("base64", "aGVsbG8=garbage", b"hello"),
        ("base64", "QQ", b"A"),
        ("base64", "QUJDR", b"ABC"),
        ("base64", "-_-_", base64.b64decode("+/+/")),
        ("base32", "nbswy3dp", b"hello"),
        ("base32", "MZXW6", b"foo"),
        ("hex", "68656c6c6f", b"hello"),
    ],
)
def test_lenient_decoding(encoding: str, content: str, expected: bytes) -> None:
    assert output(run("Decode", encoding, content)) == expected


def test_streaming_helpers_agree_across_chunk_sizes() -> None:
    data = os.urandom(10_000)
    for size in (1, 7, 4096):
        chunks = [data[i:i + size] for i in range(0, len(data), size)]
        for encoding in ("base64", "base32", "hex"):
            encoded = b"".join(encode(chunks, encoding, 64))
            pieces = [encoded[i:i + size] for i in range(0, len(encoded), size)]
            assert b"".join(decode(pieces, encoding)) == data


def test_line_length_from_an_attribute_must_be_positive() -> None:
    r = ProcessorRunner(EncodeContent)
    r.set_property("Line Output Mode", "MULTIPLE_LINES")
    r.set_property("Encoded Line Length", "${len}")
    r.enqueue(b"abc", {"len": "0"})
    r.run()
    r.assert_all_transferred("failure", 1)


def test_line_settings_only_matter_when_encoding_base64_or_base32() -> None:
    r = ProcessorRunner(EncodeContent)
    r.set_property("Encoded Line Length", "0")
    r.assert_valid()  # Single Line (the default) ignores it
    r.set_property("Line Output Mode", "MULTIPLE_LINES")
    r.assert_not_valid()
    r.set_property("Encoding", "hex")
    r.assert_valid()
    r.set_property("Mode", "Decode")
    r.set_property("Encoding", "base64")
    r.assert_valid()
