"""CryptographicHashContent and CryptographicHashAttribute, with NiFi's test cases."""

from __future__ import annotations

import hashlib

import pytest

from flowyard.processors._content_hashing import ALGORITHMS, new_hasher
from flowyard.processors.cryptographic_hash_attribute import CryptographicHashAttribute, hash_text
from flowyard.processors.cryptographic_hash_content import CryptographicHashContent
from flowyard.runtime.sdk import resolve_properties
from flowyard.runtime.sdk.testing import ProcessorRunner

REFERENCE = {
    "MD5": hashlib.md5, "SHA-1": hashlib.sha1, "SHA-224": hashlib.sha224, "SHA-256": hashlib.sha256,
    "SHA-384": hashlib.sha384, "SHA-512": hashlib.sha512,
    "SHA-512/224": lambda d: hashlib.new("sha512_224", d), "SHA-512/256": lambda d: hashlib.new("sha512_256", d),
    "SHA3-224": hashlib.sha3_224, "SHA3-256": hashlib.sha3_256, "SHA3-384": hashlib.sha3_384,
    "SHA3-512": hashlib.sha3_512,
    **{f"BLAKE2-{bits}": (lambda d, bits=bits: hashlib.blake2b(d, digest_size=bits // 8))
       for bits in (160, 256, 384, 512)},
}


def expected(algorithm: str, data: bytes) -> str:
    if algorithm == "MD2":
        hasher = new_hasher("MD2")
        hasher.update(data)
        return hasher.hexdigest()
    return REFERENCE[algorithm](data).hexdigest()  # type: ignore[no-untyped-call]


@pytest.mark.parametrize(
    ("data", "digest"),
    [(b"", "8350e5a3e24c153df2275c9f80692773"), (b"abc", "da853b0d3f88d99b30283a69e6ded6bb"),
     (b"a" * 16, None), (b"message digest", "ab4f496bfb2a530b219ff33031fe06b0"),
     (b"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
      "d5976f79d83d3a0dc9806c3c66f3efd8")],
)
def test_md2_vectors(data: bytes, digest: str | None) -> None:
    whole = new_hasher("MD2")
    whole.update(data)
    pieces = new_hasher("MD2")
    for i in range(0, len(data), 7):
        pieces.update(data[i:i + 7])
    assert whole.hexdigest() == pieces.hexdigest()
    if digest is not None:
        assert whole.hexdigest() == digest


def test_nifi_algorithm_names() -> None:
    assert list(ALGORITHMS) == [
        "MD2", "MD5", "SHA-1", "SHA-224", "SHA-256", "SHA-384", "SHA-512", "SHA-512/224", "SHA-512/256",
        "SHA3-224", "SHA3-256", "SHA3-384", "SHA3-512", "BLAKE2-160", "BLAKE2-256", "BLAKE2-384", "BLAKE2-512"]


# -- content ---------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_hash_content(algorithm: str) -> None:
    content = b"apachenifi" * 1000
    r = ProcessorRunner(CryptographicHashContent)
    r.set_property("Hash Algorithm", algorithm)
    r.enqueue(content)
    r.run()
    r.assert_all_transferred("success", 1)
    out = r.flowfiles_for("success")[0]
    out.assert_attribute_equals(f"content_{algorithm}", expected(algorithm, content))
    out.assert_content_equals(content)


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_nifi_content_hash_ignores_size_attribute_and_overwrites_old_hash(algorithm: str) -> None:
    content = b"apachenifi "
    r = ProcessorRunner(CryptographicHashContent)
    r.set_property("Hash Algorithm", algorithm)
    r.enqueue(content, {"size": "0", f"content_{algorithm}": "OLD VALUE"})
    r.run()
    r.assert_all_transferred("success", 1)
    r.flowfiles_for("success")[0].assert_attribute_equals(f"content_{algorithm}", expected(algorithm, content))


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_nifi_empty_content_per_algorithm(algorithm: str) -> None:
    for fail, relationship in (("false", "success"), ("true", "failure")):
        r = ProcessorRunner(CryptographicHashContent)
        r.set_property("Hash Algorithm", algorithm)
        r.set_property("Fail if the content is empty", fail)
        r.enqueue(b"", {"size": "0"})
        r.run()
        r.assert_all_transferred(relationship, 1)
        got = r.flowfiles_for(relationship)[0].attributes.get(f"content_{algorithm}")
        assert got == (expected(algorithm, b"") if fail == "false" else None)


def test_default_is_sha256_and_empty_content_is_hashed() -> None:
    r = ProcessorRunner(CryptographicHashContent)
    r.enqueue(b"")
    r.run()
    r.flowfiles_for("success")[0].assert_attribute_equals(
        "content_SHA-256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")


def test_empty_content_fails_when_asked() -> None:
    r = ProcessorRunner(CryptographicHashContent)
    r.set_property("fail_when_empty", "true")
    r.enqueue(b"")
    r.enqueue(b"x")
    r.run()
    r.assert_transferred("failure", 1)
    r.assert_transferred("success", 1)
    assert "content_SHA-256" not in r.flowfiles_for("failure")[0].attributes


def test_large_content_streams() -> None:
    content = bytes(range(256)) * 40_000
    r = ProcessorRunner(CryptographicHashContent)
    r.set_property("hash_algorithm", "SHA-512")
    r.enqueue(content)
    r.run()
    r.flowfiles_for("success")[0].assert_attribute_equals("content_SHA-512", hashlib.sha512(content).hexdigest())


def test_unknown_algorithm_is_invalid() -> None:
    r = ProcessorRunner(CryptographicHashContent)
    r.set_property("Hash Algorithm", "SHA-999")
    r.assert_not_valid()


@pytest.mark.parametrize(("legacy", "key"), [("fail_when_empty", "fail-when-content-empty"),
                                             ("hash_algorithm", "hash-algorithm")])
def test_legacy_names(legacy: str, key: str) -> None:
    spec = CryptographicHashContent.spec
    value = "true" if key.startswith("fail") else "MD5"
    static, _ = resolve_properties(spec.properties, {legacy: value}, None)
    assert static[key] == value


# -- attributes -------------------------------------------------------------------


def attribute_runner(dynamic: dict[str, str], **properties: str) -> ProcessorRunner:
    r = ProcessorRunner(CryptographicHashAttribute)
    for name, value in {**properties, **dynamic}.items():
        r.set_property(name, value)
    return r


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_hash_present_attributes(algorithm: str) -> None:
    attributes = {"username": "alopresto", "date": "2024-01-02 03:04:05.678 +0000"}
    r = attribute_runner({k: f"{k}_{algorithm}" for k in attributes}, **{"Hash Algorithm": algorithm})
    r.enqueue(b"", attributes)
    r.run()
    r.assert_all_transferred("success", 1)
    out = r.flowfiles_for("success")[0]
    for name, value in attributes.items():
        out.assert_attribute_equals(f"{name}_{algorithm}", expected(algorithm, value.encode()))


def test_empty_value_is_hashed_and_missing_one_skipped() -> None:
    r = attribute_runner({"username": "username_MD5", "date": "date_MD5"}, **{"Hash Algorithm": "MD5"})
    r.enqueue(b"", {"username": ""})
    r.run()
    out = r.flowfiles_for("success")[0]
    out.assert_attribute_equals("username_MD5", hashlib.md5(b"").hexdigest())
    out.assert_attribute_equals("date_MD5", None)


def test_prohibited_missing_attribute_fails() -> None:
    r = attribute_runner({"username": "u", "date": "d"}, **{"Missing attribute policy": "PROHIBIT"})
    r.enqueue(b"", {"username": ""})
    r.run()
    r.assert_all_transferred("failure", 1)
    assert "u" not in r.flowfiles_for("failure")[0].attributes


@pytest.mark.parametrize(("fail", "relationship"), [("true", "failure"), ("false", "success")])
def test_no_attribute_present(fail: str, relationship: str) -> None:
    r = attribute_runner({"username": "u"}, **{"Fail when no attributes present": fail})
    r.enqueue(b"", {"other": "x"})
    r.run()
    r.assert_all_transferred(relationship, 1)
    assert "u" not in r.flowfiles_for(relationship)[0].attributes


def test_no_dynamic_property_fails_by_default_as_nifi() -> None:
    r = attribute_runner({})
    r.enqueue(b"", {"username": "x"})
    r.run()
    r.assert_all_transferred("failure", 1)


def test_derived_core_attributes_are_not_attributes() -> None:
    r = attribute_runner({"fileSize": "h"}, **{"Fail when no attributes present": "false"})
    r.enqueue(b"abc")
    r.run()
    assert "h" not in r.flowfiles_for("success")[0].attributes


@pytest.mark.parametrize(
    ("charset", "digest"),
    [("UTF-8", "a968b5ec1d52449963dcc517789baaaf"), ("UTF-16", "b8413d18f7e64042bb0322a1cd61eba2"),
     ("UTF-16BE", "b8413d18f7e64042bb0322a1cd61eba2"), ("UTF-16LE", "91c3b67f9f8ae77156f21f271cc09121")],
)
def test_character_sets(charset: str, digest: str) -> None:
    assert hash_text("MD5", "apachenifi", charset) == digest
    r = attribute_runner({"test_attribute": "test_attribute_MD5"}, **{"Hash Algorithm": "MD5",
                                                                      "Character Set": charset})
    r.enqueue(b"", {"test_attribute": "apachenifi"})
    r.run()
    r.flowfiles_for("success")[0].assert_attribute_equals("test_attribute_MD5", digest)


def test_unmappable_characters_become_question_marks() -> None:
    assert hash_text("MD5", "é", "US-ASCII") == hashlib.md5(b"?").hexdigest()


def test_invalid_configuration() -> None:
    r = attribute_runner({"a": "  "})
    r.assert_not_valid()
    r = attribute_runner({"a": "b"}, **{"Character Set": "EBCDIC"})
    r.assert_not_valid()
    r = attribute_runner({"a": "b"}, character_set="UTF-16LE", missing_attr_policy="PROHIBIT")
    r.assert_valid()
