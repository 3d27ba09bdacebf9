"""RecordPath parsing and evaluation; many cases follow NiFi's TestRecordPath."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from flowyard.processors._records import DataType, RecordField, RecordFieldType, RecordSchema
from flowyard.processors._records._recordpath import RecordPath, with_added_fields

T = RecordFieldType
ACCOUNT = RecordSchema((RecordField("id", T.INT.data_type()), RecordField("balance", T.DOUBLE.data_type())))
ADDRESS = RecordSchema((RecordField("city", T.STRING.data_type()), RecordField("state", T.STRING.data_type()),
                        RecordField("zip", T.STRING.data_type())))
SCHEMA = RecordSchema((
    RecordField("id", T.INT.data_type()),
    RecordField("name", T.STRING.data_type()),
    RecordField("missing", T.LONG.data_type()),
    RecordField("mainAccount", DataType.record(ACCOUNT)),
    RecordField("accounts", DataType.array(DataType.record(ACCOUNT))),
    RecordField("numbers", DataType.array(T.INT.data_type())),
    RecordField("attributes", DataType.map(T.STRING.data_type())),
    RecordField("addresses", DataType.array(DataType.record(ADDRESS))),
))


def record() -> dict[str, Any]:
    return {
        "id": 48, "name": "John Doe",
        "mainAccount": {"id": 1, "balance": 123.45},
        "accounts": [{"id": 6, "balance": 10.0}, {"id": 9, "balance": 48.02}],
        "numbers": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        "attributes": {"city": "New York", "state": "NY"},
        "addresses": [{"city": "New York", "state": "NY", "zip": "10020"},
                      {"city": "Jersey City", "state": "NJ", "zip": "07304"}],
    }


def values(path: str, rec: dict[str, Any] | None = None, schema: RecordSchema | None = SCHEMA) -> list[Any]:
    return RecordPath.compile(path).values(record() if rec is None else rec, schema)


def first(path: str, rec: dict[str, Any] | None = None, schema: RecordSchema | None = SCHEMA) -> Any:
    found = values(path, rec, schema)
    assert found, f"{path} selected nothing"
    return found[0]


# -- navigation ------------------------------------------------------------------------------------


def test_child_fields_and_their_parents() -> None:
    rec = record()
    ev = RecordPath.compile("/mainAccount/balance").evaluate(rec, SCHEMA)
    (fv,) = ev.fields
    assert fv.value == 123.45 and fv.name == "balance" and fv.data_type == T.DOUBLE.data_type()
    assert fv.parent_record() is rec["mainAccount"]
    assert first("/id") == 48 and first("/name") == "John Doe"


def test_root_is_the_record_itself() -> None:
    rec = record()
    (fv,) = RecordPath.compile("/").evaluate(rec, SCHEMA).fields
    assert fv.value is rec and fv.parent is None


def test_wildcard_child_follows_the_schema_order_and_updates() -> None:
    rec = record()
    fields = RecordPath.compile("/mainAccount/*").evaluate(rec, SCHEMA).fields
    assert [(f.name, f.value) for f in fields] == [("id", 1), ("balance", 123.45)]
    for fv in RecordPath.compile("/mainAccount/*[. > 100]").evaluate(rec, SCHEMA).fields:
        fv.update_value(122.44)
    assert rec["mainAccount"] == {"id": 1, "balance": 122.44}


def test_wildcard_with_an_index_selects_array_elements() -> None:
    rec = {"id": 48, "accounts": [{"id": 1, "balance": 1.0}]}
    fields = RecordPath.compile("/*[0]").evaluate(rec, SCHEMA).fields
    assert [f.name for f in fields] == ["accounts"]
    assert fields[0].parent_record() is rec and fields[0].array_index == 0
    fields[0].update_value({"id": 1, "balance": 122.44})
    assert rec["accounts"] == [{"id": 1, "balance": 122.44}]


def test_descendants_and_parent() -> None:
    assert values("//id") == [48, 1, 6, 9]
    rec = record()
    parents = RecordPath.compile("//id/..").evaluate(rec, SCHEMA).fields
    assert [p.value for p in parents][:2] == [rec, rec["mainAccount"]]
    assert values("//zip") == ["10020", "07304"]
    assert len(values("//*")) > 10


def test_array_indices_ranges_and_lists() -> None:
    assert first("/numbers[0]") == 0
    assert first("/numbers[-1]") == 9
    assert values("/numbers[0..2]") == [0, 1, 2]
    assert values("/numbers[0, 2, 4]") == [0, 2, 4]
    assert values("/numbers[-3..-1]") == [7, 8, 9]
    assert values("/numbers[1..2, 8..-1]") == [1, 2, 8, 9]
    assert values("/numbers[20]") == []
    assert values("/numbers[*]") == list(range(10))
    assert values("/accounts[1]/id") == [9]
    assert values("/name[0]") == []  # not an array


def test_map_keys() -> None:
    assert first("/attributes['city']") == "New York"
    assert first("/attributes/.['city']") == "New York"
    assert values("/attributes['city', 'state']") == ["New York", "NY"]
    assert sorted(values("/attributes[*]")) == ["NY", "New York"]
    rec = record()
    (fv,) = RecordPath.compile("/attributes['city']").evaluate(rec, SCHEMA).fields
    assert fv.name == "attributes" and fv.map_key == "city" and fv.parent_record() is rec
    fv.update_value("Boston")
    assert rec["attributes"]["city"] == "Boston"
    (new,) = RecordPath.compile("/attributes['country']").evaluate(rec, SCHEMA).fields
    assert new.value is None
    new.update_value("US")
    assert rec["attributes"]["country"] == "US"


def test_update_array_elements() -> None:
    rec = record()
    for fv in RecordPath.compile("/numbers[0..1]").evaluate(rec, SCHEMA).fields:
        fv.update_value(8)
    assert rec["numbers"][:3] == [8, 8, 2]


# -- predicates ------------------------------------------------------------------------------------------


def test_predicates_select_only_fields_that_have_the_relative_path() -> None:
    rec = {"name": "John", "address": {"city": "SF", "state": "CA", "zip": "12345"},
           "details": {"position": "Dev", "preferredState": "CA"}}
    fields = RecordPath.compile("/*[./state != 'NY']").evaluate(rec).fields
    assert [f.name for f in fields] == ["address"]
    assert values("/*[./state != 'NY']/zip", rec, None) == ["12345"]
    assert [f.name for f in RecordPath.compile("/*[./state = /details/preferredState]").evaluate(rec).fields] == [
        "address"]


def test_relative_paths_and_current_steps() -> None:
    rec = record()
    fields = RecordPath.compile("/mainAccount/././balance/.").evaluate(rec, SCHEMA).fields
    assert [f.value for f in fields] == [123.45]
    fields[0].update_value(123.44)
    assert rec["mainAccount"]["balance"] == 123.44
    evaluation = RecordPath.compile("/name").evaluate(rec, SCHEMA)
    (same,) = RecordPath.compile(".").evaluate(rec, SCHEMA, context=evaluation.fields[0]).fields
    same.update_value("Jane Doe")
    assert rec["name"] == "Jane Doe"
    assert values("/accounts[0..-1][./balance > 100]/id", {"accounts": [{"id": 1, "balance": 10000.0},
                                                                      {"id": 2, "balance": 48.02}]}) == [1]
    assert values("/numbers[0..-1][. < /id]", {"id": 48, "numbers": [0, 1, 2]}) == [0, 1, 2]
    assert values("/id[. > /numbers[-1]]", {"id": 48, "numbers": [0, 1, 2]}) == [48]
    assert values("/numbers[0..-1][. = 4]", {"numbers": [1, 2, 3, 4, 4, 4, 5]}) == [4, 4, 4]
    assert values("/numbers[3,6, -1, -2]") == [3, 6, 9, 8]
    assert values("/numbers[0, 2, 4..7, 9]") == [0, 2, 4, 5, 6, 7, 9]
    assert values("/numbers[-1..-1]") == [9]
    assert values("/xx[1,2,3]") == []


def test_predicates_compare_relative_paths_literals_and_numbers() -> None:
    assert values("/addresses[*][./state = 'NY']/city") == ["New York"]
    assert values("/addresses[./state = 'NY']") == []  # the predicate applies to the array itself
    assert values("/addresses[*][./state != 'NY']/zip") == ["07304"]
    assert values("/numbers[*][. > 6]") == [7, 8, 9]
    assert values("/numbers[*][. >= 6]") == [6, 7, 8, 9]
    assert values("/numbers[*][. < 2]") == [0, 1]
    assert values("/numbers[*][. <= 1]") == [0, 1]
    assert values("/id[. = 48]") == [48]
    assert values("/id[. = '48']") == [48]
    assert values("/name[. = /name]") == ["John Doe"]
    assert values("/name[../id = 48]") == ["John Doe"]
    assert values("/name[../id = 47]") == []
    assert values("/addresses[*][./zip = /addresses[1]/zip]/city") == ["Jersey City"]
    assert values("/name[. > 5]") == []  # text is not a number


def test_filter_functions() -> None:
    assert first("/name[contains(., 'o')]") == "John Doe"
    assert values("/name[contains(., 'x')]") == []
    assert values("/name[startsWith(., 'John')]") == ["John Doe"]
    assert values("/name[endsWith(., 'Doe')]") == ["John Doe"]
    assert values("/name[endsWith(., 'John')]") == []
    assert values("/name[matchesRegex(., 'John D')]") == []
    assert values("/name[matchesRegex(., '[John Doe]{8}')]") == ["John Doe"]
    assert values("/name[containsRegex(., 'n D')]") == ["John Doe"]
    assert values("/name[not(contains(., 'x'))]") == ["John Doe"]
    assert values("/name[not(. = 'John Doe')]") == []
    assert values("/name[not(. = 'Jane Doe')]") == ["John Doe"]
    assert values("/name[startsWith(., '')]") == ["John Doe"]
    assert values("/name[contains(., /id)]", {"name": "John Doe 48", "id": 48}, None) == ["John Doe 48"]
    assert values("/name[isEmpty(../missing)]") == ["John Doe"]
    assert values("/name[isEmpty(../id)]") == []
    assert values("/name[isBlank(../missing)]", {"name": "x", "missing": "   "}, None) == ["x"]
    assert values("/name[contains(substringAfter(., 'o'), 'h')]") == ["John Doe"]
    assert values("/name[substring(., 1, 2) = 'o']") == ["John Doe"]
    rec = {"a": "", "b": "  ", "c": None, "d": "x"}
    assert values("/*[isEmpty(.)]", rec, None) == ["", None]
    assert values("/*[isBlank(.)]", rec, None) == ["", "  ", None]
    assert values("isEmpty(/a)", rec, None) == [True]
    assert values("//*[startsWith(fieldName(.), 'na')]") == ["John Doe"]


# -- functions ----------------------------------------------------------------------------------------------


def test_predicates_as_paths_give_booleans() -> None:
    rec = {"id": 48, "name": None}
    assert values("isEmpty( /name )", rec, None) == [True]
    assert values("isEmpty( /id )", rec, None) == [False]
    assert values("/id = 48", rec, None) == [True]
    assert values("/id > 48", rec, None) == [False]
    assert values("not(/id = 48)", rec, None) == [False]


def test_substring_functions() -> None:
    assert first("substring(/name, 0, 4)") == "John"
    assert first("substring(/name, 0, -5)") == "John"
    assert first("substring(/name, 1000, 1005)") == ""
    assert first("substring(/name, 4, 3)") == ""
    assert first("substring(/name, 0, 10000)") == "John Doe"
    assert first("substring(/name, -50, -1)") == ""
    assert first("substring(/name, -4, -1)") == "Doe"
    assert first("substring(/name, 'x', 2)") == ""
    assert values("substring(/missing, 0, 2)") == []  # a null gives nothing
    assert first("substringBefore(/name, ' ')") == "John"
    assert first("substringBefore(/name, 'X')") == "John Doe"
    assert first("substringAfter(/name, 'o')") == "hn Doe"
    assert first("substringBeforeLast(/name, 'o')") == "John D"
    assert first("substringAfterLast(/name, 'o')") == "e"
    assert first("substringAfterLast(/name, 'X')") == "John Doe"
    assert first("substringAfter(/name, '')") == "John Doe"
    assert first("substringAfter(/name, 'oh')") == "n Doe"
    assert first("substringBeforeLast(/name, '')") == "John Doe"


def test_replace_functions() -> None:
    assert first("replace(/name, 'ohn', 'ane')") == "Jane Doe"
    assert first("replace(/name, 'Doe', /id)") == "John 48"
    assert first("replace(/id, 48, 23)") == "23"
    assert values("/name[replace(../id, 48, 18) = 18]") == ["John Doe"]
    assert first("replaceRegex(/name, '[JD]', '')") == "ohn oe"
    assert first("replaceRegex(/name, '([JD])', '$1x')") == "Jxohn Dxoe"
    assert first("replaceRegex(/name, '(?<hello>[JD])', '${hello}x')") == "Jxohn Dxoe"
    assert first("replaceRegex(/name, '[\\s]', '\\n')") == "John\nDoe"
    assert first("replaceRegex(/name, '\\\\', '/')", {"name": "John\\Doe"}) == "John/Doe"
    assert first("replaceRegex(/name, '\\'', '\"')", {"name": "'J'"}) == '"J"'
    assert first("replaceRegex(replaceRegex(/name, '\\[', '('), '\\]', ')')", {"name": "J[o]hn"}) == "J(o)hn"
    assert first("replaceNull(/missing, /id)") == 48
    assert first("replaceNull(/missing, 14)") == 14
    assert first("replaceNull(/id, 14)") == 48


def test_text_functions() -> None:
    rec = {"firstName": "John", "middleName": "Smith", "lastName": "Doe", "pad": "  x  "}
    assert first("concat(/firstName, ' ', /lastName, ': ', 48)", rec, None) == "John Doe: 48"
    assert first("toUpperCase(concat(/firstName, ' ', /middleName))", rec, None) == "JOHN SMITH"
    assert first("toLowerCase(/lastName)", rec, None) == "doe"
    assert first("toLowerCase(/notDefined)", rec, None) == ""
    assert first("trim(/pad)", rec, None) == "x"
    assert first("padLeft(/firstName, 6)", rec, None) == "__John"
    assert first("padLeft(/firstName, 7, '@')", rec, None) == "@@@John"
    assert first("padRight(/firstName, 7, 'ab')", rec, None) == "Johnaba"
    assert first("padLeft(/firstName, 2)", rec, None) == "John"
    assert first("padLeft(/firstName, -10)", rec, None) == "John"
    assert first("padLeft(/e, 4, '@')", {"e": ""}, None) == "@@@@"
    assert values("padLeft(/n, 4, '@')", {"n": None}, None) == [None]
    assert first("padLeft(/firstName, 6, 'aVeryLongPadding')", rec, None) == "aVJohn"
    assert first("padRight(/firstName, 13, 'few')", rec, None) == "Johnfewfewfew"
    assert first("fieldName(/firstName)", rec, None) == "firstName"
    assert first("count(/*)", rec, None) == 4
    assert first("count(/numbers[*][. > 4])") == 5
    assert first("coalesce(/missing, /nothing, /name)") == "John Doe"
    assert values("coalesce(/missing)") == []
    assert first("join(', ', /numbers[0..2], /name)") == "0, 1, 2, John Doe"
    assert first("join('-', /numbers)") == "0-1-2-3-4-5-6-7-8-9"


def test_uuid_hash_and_base64() -> None:
    generated = first("uuid()")
    assert len(generated) == 36 and generated != first("uuid()")
    rec = {"n": "identifier", "ns": "11111111-1111-1111-1111-111111111111"}
    assert first("uuid5(/n)", rec, None) == "485f3c34-2c6c-50a3-9904-63233467b96a"  # NiFi's Uuid5UtilTest
    assert first("uuid5(/n, /ns)", rec, None) == "c9b54096-3890-53cc-b375-af7e7ec5e59f"
    with pytest.raises(ValueError, match="not a UUID"):
        values("uuid5(/n, /n)", rec, None)
    assert first("hash(/name, 'SHA-256')") == hashlib.sha256(b"John Doe").hexdigest()
    assert first("hash(/name, 'MD5')") == hashlib.md5(b"John Doe").hexdigest()
    assert first("hash(/n, 'SHA-1')", {"n": "John"}, None) == "5753a498f025464d72e088a9d5d6e872592d5f91"
    with pytest.raises(ValueError, match="unsupported algorithm"):
        values("hash(/name, 'NOPE')")
    assert first("base64Encode(/name)") == base64.b64encode(b"John Doe").decode()
    assert first("base64Decode(base64Encode(/name))") == "John Doe"
    assert first("base64Encode(/b)", {"b": b"xyz"}, None) == base64.b64encode(b"xyz")
    with pytest.raises(ValueError, match="not Base64"):
        values("base64Decode(/name)")


def test_json_functions() -> None:
    assert first("escapeJson(/name)") == '"John Doe"'
    assert json.loads(first("escapeJson(/mainAccount)")) == {"id": 1, "balance": 123.45}
    rec = {"json": '{"a": 1, "b": [1, 2]}'}
    assert first("unescapeJson(/json)", rec, None) == {"a": 1, "b": [1, 2]}
    assert first("unescapeJson(/j)", {"j": '"John"'}, None) == "John"
    assert first("unescapeJson(/j)", {"j": "30"}, None) == 30
    nested = {"person": {"firstName": "John", "age": 30, "nicknames": ["J", "Johnny"],
                         "addresses": [{"address_1": "123 Somewhere Street"}]}}
    assert first("escapeJson(/person)", nested, None) == (
        '{"firstName":"John","age":30,"nicknames":["J","Johnny"],"addresses":[{"address_1":"123 Somewhere Street"}]}')
    assert first("escapeJson(/person/age)", nested, None) == "30"
    with pytest.raises(ValueError, match="needs text"):
        values("unescapeJson(/person/age)", nested, None)
    with pytest.raises(ValueError, match="not JSON"):
        values("unescapeJson(/name)")


def test_dates() -> None:
    rec = {"date": "2017-10-20T11:00:00Z", "name": "John Doe", "epoch": 1508457600000}
    parsed = first("toDate(/date, \"yyyy-MM-dd'T'HH:mm:ss'Z'\")", rec, None)
    assert parsed == datetime(2017, 10, 20, 11, 0, 0)
    zoned = first("toDate(/date, \"yyyy-MM-dd'T'HH:mm:ss'Z'\", 'GMT+8:00')", rec, None)
    assert zoned == datetime(2017, 10, 20, 3, 0, tzinfo=UTC)
    assert first("toDate(/name, 'yyyy-MM-dd')", rec, None) == "John Doe"  # does not match: unchanged
    assert first("toDate(/epoch, 'yyyy-MM-dd')", rec, None) == 1508457600000  # not text: unchanged
    assert first("format(toDate(/date, \"yyyy-MM-dd'T'HH:mm:ss'Z'\"), 'yyyy-MM-dd')", rec, None) == "2017-10-20"
    assert first("format(toDate(/date, \"yyyy-MM-dd'T'HH:mm:ss'Z'\"), 'yyyy-MM-dd HH:mm', 'GMT+8:00')",
                 rec, None) == "2017-10-20 19:00"
    assert first("format(/epoch, 'yyyy-MM-dd')", rec, None) == "2017-10-20"
    assert first("format(/epoch, 'yyyy-MM-dd HH:mm:ss', 'GMT+8:00')", rec, None) == "2017-10-20 08:00:00"
    assert first("format(/epoch, 'INVALID')", rec, None) == 1508457600000
    assert first("format(/name, 'yyyy-MM')", rec, None) == "John Doe"
    assert first("format(/d, 'dd/MM/yyyy')", {"d": date(2020, 1, 2)}, None) == "02/01/2020"


def test_to_string_and_to_bytes() -> None:
    rec = {"bytes": "Hello World!".encode("utf-16"), "s": "Hello World!"}
    assert first("toString(/bytes, 'UTF-16')", rec, None) == "Hello World!"
    assert first("toBytes(/s, 'UTF-16LE')", rec, None) == "Hello World!".encode("utf-16-le")
    with pytest.raises(ValueError, match="unknown character set"):
        values("toString(/bytes, 'NOT A REAL CHARSET')", rec, None)


def test_anchored_map_record_and_array_constructors() -> None:
    assert values("anchored(/mainAccount, concat(/id, '-', /balance))") == ["1-123.45"]
    assert first("mapOf('n', /name, 'i', /id)") == {"n": "John Doe", "i": "48"}
    made = RecordPath.compile("recordOf('n', /name, 'i', /id)").evaluate(record(), SCHEMA).fields[0]
    assert made.value == {"n": "John Doe", "i": 48}
    assert made.data_type is not None and made.data_type.schema is not None
    assert made.data_type.schema.field_names == ["n", "i"]
    assert first("arrayOf(/id, /mainAccount/id, 'x')") == [48, 1, "x"]


# -- updates and new fields ------------------------------------------------------------------------------------


def test_updating_a_field_the_record_lacks_adds_it_and_reports_the_schema_change() -> None:
    rec = {"id": 1, "mainAccount": {"id": 2, "balance": 3.0}}
    ev = RecordPath.compile("/mainAccount/currency").evaluate(rec, SCHEMA)
    (fv,) = ev.fields
    assert fv.value is None and fv.updatable
    fv.update_value("EUR")
    assert rec["mainAccount"]["currency"] == "EUR"
    (where, added), = ev.schema_updates
    assert where == ("mainAccount",) and added.name == "currency"
    widened = with_added_fields(SCHEMA, ev.schema_updates)
    account = widened.field("mainAccount")
    assert account is not None and account.data_type.schema is not None
    assert account.data_type.schema.field_names == ["id", "balance", "currency"]
    top = RecordPath.compile("/extra").evaluate(rec, SCHEMA)
    top.fields[0].update_value(5)
    assert with_added_fields(SCHEMA, top.schema_updates).field_names[-1] == "extra"


def test_updates_are_coerced_to_the_fields_type() -> None:
    rec = {"id": 1}
    RecordPath.compile("/id").evaluate(rec, SCHEMA).fields[0].update_value("42")
    assert rec["id"] == 42
    with pytest.raises(ValueError):
        RecordPath.compile("/id").evaluate(rec, SCHEMA).fields[0].update_value("forty")


def test_computed_values_cannot_be_updated() -> None:
    (fv,) = RecordPath.compile("toUpperCase(/name)").evaluate(record(), SCHEMA).fields
    assert not fv.updatable
    with pytest.raises(ValueError, match="cannot be updated"):
        fv.update_value("x")


def test_records_without_a_schema() -> None:
    rec = {"a": {"b": [1, 2, {"c": "x"}]}, "m": None}
    assert values("/a/b[2]/c", rec, None) == ["x"]
    assert values("//c", rec, None) == ["x"]
    assert values("/a/b[0..1]", rec, None) == [1, 2]
    assert values("/m/x", rec, None) == []


# -- errors ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "message"), [
    ("", "empty"),
    ("name", "expected '\\('"),
    ("/a[", "expected"),
    ("/a[0", "expected ']'"),
    ("/a[./b = 'x'", "expected ']'"),
    ("/a/'unclosed", "not closed"),
    ("nosuch(/a)", "unknown function 'nosuch'"),
    ("substring(/a, 1)", "takes 3 arguments; found 2"),
    ("/name[substring(., 1, 2)]", "must be a comparison"),
    ("/a)", "unexpected"),
    ("/a/", "expected a field name"),
    ("'lit'", "must start with"),
])
def test_invalid_paths_say_where(path: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        RecordPath.compile(path)
    assert "invalid RecordPath" in str(info.value) and "position" in str(info.value)


def test_hostile_paths_and_records_give_clear_errors() -> None:
    with pytest.raises(ValueError, match="nested too deeply"):
        RecordPath.compile("concat(" * 5000 + "/a" + ")" * 5000)
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(5000):
        node["a"] = {}
        node = node["a"]
    with pytest.raises(ValueError, match="nested too deeply"):
        RecordPath.compile("//zzz").evaluate(deep)
    assert values("/a/a/a", deep, None) == [{"a": deep["a"]["a"]["a"]["a"]}]


def test_quoted_field_names_and_whitespace() -> None:
    rec = {"first name": "Ann", "b": {"c d": 1}}
    assert values("/'first name'", rec, None) == ["Ann"]
    assert values("/b/\"c d\"", rec, None) == [1]
    assert values("concat( /'first name' , '!' )", rec, None) == ["Ann!"]
