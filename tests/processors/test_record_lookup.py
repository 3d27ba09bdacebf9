"""LookupRecord with SimpleKeyValueLookupService, the CSV lookup services and
DatabaseRecordLookupService (against the machine's real PostgreSQL)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import psycopg
import pytest

from flowyard.processors import csv_lookup_services
from flowyard.processors.csv_lookup_services import CSVRecordLookupService, SimpleCsvFileLookupService
from flowyard.processors.dbcp_connection_pool import DBCPConnectionPool
from flowyard.processors.json_record_services import JsonRecordSetWriter, JsonTreeReader
from flowyard.processors.lookup_record import LookupRecord
from flowyard.processors.lookup_services import (
    DatabaseRecordLookupService,
    LookupFailureError,
    SchemaRecord,
    SimpleKeyValueLookupService,
)
from flowyard.runtime.sdk import ControllerService
from flowyard.runtime.sdk.testing import ProcessorRunner

PEOPLE = [
    {"name": "John", "zip": "10020", "address": {"street": "5th Ave"}},
    {"name": "Jane", "zip": "02108", "address": {"street": "Beacon St"}},
    {"name": "Jake", "zip": "99999", "address": {"street": "Nowhere"}},
]


def runner(service: type[ControllerService], service_props: Mapping[str, str],
           props: Mapping[str, str]) -> ProcessorRunner:
    r = ProcessorRunner(LookupRecord)
    for sid, cls, cprops in (("reader", JsonTreeReader, {}), ("writer", JsonRecordSetWriter, {}),
                             ("lookup", service, dict(service_props))):
        r.add_controller_service(sid, cls, cprops)
        r.enable_controller_service(sid)
    r.set_property("Record Reader", "reader")
    r.set_property("Record Writer", "writer")
    r.set_property("Lookup Service", "lookup")
    for name, value in props.items():
        r.set_property(name, value)
    return r


def outputs(r: ProcessorRunner, relationship: str) -> list[dict[str, Any]]:
    ffs = r.flowfiles_for(relationship)
    assert len(ffs) <= 1
    if not ffs:
        return []
    out: list[dict[str, Any]] = json.loads(ffs[0].content)
    ffs[0].assert_attribute_equals("record.count", str(len(out)))
    ffs[0].assert_attribute_equals("mime.type", "application/json")
    return out


CITIES = {"10020": "New York", "02108": "Boston"}


def test_key_value_lookup_into_a_new_field_routes_to_success() -> None:
    r = runner(SimpleKeyValueLookupService, CITIES, {"key": "/zip", "Result RecordPath": "/city"})
    r.enqueue(json.dumps(PEOPLE))
    r.run()
    r.assert_all_transferred("success", 1)
    out = outputs(r, "success")
    assert [o.get("city") for o in out] == ["New York", "Boston", None]
    assert list(out[0]) == ["name", "zip", "address", "city"]


def test_matched_and_unmatched() -> None:
    r = runner(SimpleKeyValueLookupService, CITIES, {"key": "/zip", "Result RecordPath": "/address/city",
                                                     "Routing Strategy": "route-to-matched-unmatched"})
    r.enqueue(json.dumps(PEOPLE))
    r.run()
    assert [o["address"]["city"] for o in outputs(r, "matched")] == ["New York", "Boston"]
    assert [o["name"] for o in outputs(r, "unmatched")] == ["Jake"]
    assert outputs(r, "unmatched")[0]["address"].get("city") is None
    assert {rel.name for rel in LookupRecord.relationships_for({}, {"routing-strategy": "route-to-matched-unmatched"})
            } == {"matched", "unmatched", "failure"}


def test_a_path_that_selects_nothing_or_null_is_unmatched() -> None:
    r = runner(SimpleKeyValueLookupService, CITIES, {"key": "/nozip", "Result RecordPath": "/city",
                                                     "Routing Strategy": "route-to-matched-unmatched"})
    r.enqueue(json.dumps(PEOPLE[:1]))
    r.run()
    assert len(outputs(r, "unmatched")) == 1 and not r.flowfiles_for("matched")


def test_without_a_result_path_records_are_only_routed() -> None:
    r = runner(SimpleKeyValueLookupService, CITIES, {"key": "/zip", "Routing Strategy": "route-to-matched-unmatched"})
    r.enqueue(json.dumps(PEOPLE))
    r.run()
    assert outputs(r, "matched") == PEOPLE[:2]


def test_replace_existing_values() -> None:
    r = runner(SimpleKeyValueLookupService, {"John": "JOHN", "Jane": "JANE"},
               {"name": "/name", "Record Update Strategy": "replace-existing-values"})
    r.enqueue(json.dumps(PEOPLE))
    r.run()
    assert [o["name"] for o in outputs(r, "success")] == ["JOHN", "JANE", "Jake"]


def test_replace_existing_values_in_arrays_and_missing_fields() -> None:
    data = [{"locales": [{"language": "fr", "region": "FR"}, {"language": "en", "region": "ZZ"}]},
            {"locales": []}]
    r = runner(SimpleKeyValueLookupService, {"fr": "French", "en": "English", "FR": "France"},
               {"lang": "/locales[*]/language", "region": "/locales[*]/region", "foo": "/foo/foo",
                "Record Update Strategy": "replace-existing-values",
                "Routing Strategy": "route-to-matched-unmatched"})
    assert not r.validation_results()
    r.enqueue(json.dumps(data))
    r.run()
    assert outputs(r, "unmatched") == [{"locales": [{"language": "French", "region": "France"},
                                                    {"language": "English", "region": "ZZ"}]}]
    assert outputs(r, "matched") == [{"locales": []}]  # nothing to look up counts as a match, as in NiFi


def test_root_record_path_enriches_each_nested_record() -> None:
    data = [{"id": 1, "items": [{"zip": "10020"}, {"zip": "02108"}]}, {"id": 2, "items": [{"zip": "10020"},
                                                                                         {"zip": "0"}]}]
    r = runner(SimpleKeyValueLookupService, CITIES, {"key": "/zip", "Result RecordPath": "/city",
                                                     "Root Record Path": "/items",
                                                     "Routing Strategy": "route-to-matched-unmatched"})
    r.enqueue(json.dumps(data))
    r.run()
    matched = outputs(r, "matched")
    assert matched == [{"id": 1, "items": [{"zip": "10020", "city": "New York"}, {"zip": "02108", "city": "Boston"}]}]
    unmatched = outputs(r, "unmatched")
    assert unmatched[0]["items"][0]["city"] == "New York" and unmatched[0]["items"][1].get("city") is None


FILESET = {"fileSet": {"id": "11223344", "source": "external", "files": [
    {"filename": "file1.txt", "size": 4810}, {"filename": "file2.pdf", "size": 47203782},
    {"filename": "unknown-file.unk", "size": 278102}]}}
MIME = {"file1.txt": "text/plain", "file2.pdf": "application/pdf", "file3.jpg": "image/jpeg"}


@pytest.mark.parametrize("root", ["/fileSet/files[*]", "/fileSet/files"])
def test_root_record_path_as_nifi_tests_it(root: str) -> None:
    r = runner(SimpleKeyValueLookupService, MIME, {"Root Record Path": root, "Result RecordPath": "/mimeType",
                                                   "key": "/filename"})
    r.enqueue(json.dumps(FILESET))
    r.run()
    (out,) = outputs(r, "success")
    assert [f.get("mimeType", "absent") for f in out["fileSet"]["files"]] == [
        "text/plain", "application/pdf", None]
    none_match = {"fileSet": {**FILESET["fileSet"], "files": [{"filename": "abc.abc", "size": 1}]}}
    r = runner(SimpleKeyValueLookupService, MIME, {"Root Record Path": root, "Result RecordPath": "/mimeType",
                                                   "key": "/filename",
                                                   "Routing Strategy": "route-to-matched-unmatched"})
    r.enqueue(json.dumps(none_match))
    r.run()
    (out,) = outputs(r, "unmatched")
    assert out["fileSet"]["files"] == [{"filename": "abc.abc", "size": 1}]  # no match: the schema is unchanged


def test_invalid_configuration() -> None:
    r = runner(SimpleKeyValueLookupService, CITIES, {"zip": "/zip"})
    assert any("requires the coordinate 'key'" in str(p) for p in r.validation_results())
    r = runner(SimpleKeyValueLookupService, CITIES, {"key": "/zip["})
    assert any("invalid RecordPath" in str(p) for p in r.validation_results())
    r = runner(SimpleKeyValueLookupService, CITIES, {})
    assert any("at least one user-defined property" in str(p) for p in r.validation_results())


def test_unreadable_records_and_bad_paths_fail() -> None:
    r = runner(SimpleKeyValueLookupService, CITIES, {"key": "/zip", "Result RecordPath": "${p}"})
    r.enqueue(json.dumps(PEOPLE), {"p": "/x["})
    r.enqueue("{oops")
    r.run(2)
    r.assert_all_transferred("failure", 2)
    messages = [ff.attributes["record.error.message"] for ff in r.flowfiles_for("failure")]
    assert "invalid RecordPath" in messages[0] and messages[1]


# -- CSV services ----------------------------------------------------------------------------------------


@pytest.fixture
def zips(tmp_path: Path) -> Path:
    path = tmp_path / "zips.csv"
    path.write_text("zip,city,state\n10020,New York,NY\n02108, Boston ,MA\n", encoding="utf-8")
    return path


def test_simple_csv_file_lookup(zips: Path) -> None:
    r = runner(SimpleCsvFileLookupService, {"CSV File": str(zips), "Lookup Key Column": "zip",
                                            "Lookup Value Column": "city"},
               {"key": "/zip", "Result RecordPath": "/city"})
    r.enqueue(json.dumps(PEOPLE))
    r.run()
    assert [o.get("city") for o in outputs(r, "success")] == ["New York", "Boston", None]


def test_csv_record_lookup_inserts_a_record_or_its_fields(zips: Path) -> None:
    props = {"CSV File": str(zips), "Lookup Key Column": "zip"}
    r = runner(CSVRecordLookupService, props, {"key": "/zip", "Result RecordPath": "/place"})
    r.enqueue(json.dumps(PEOPLE[:2]))
    r.run()
    assert [o["place"] for o in outputs(r, "success")] == [{"city": "New York", "state": "NY"},
                                                         {"city": "Boston", "state": "MA"}]
    r = runner(CSVRecordLookupService, props, {"key": "/zip", "Result RecordPath": "/address",
                                               "Record Result Contents": "record-fields"})
    r.enqueue(json.dumps(PEOPLE))
    r.run()
    assert [o["address"] for o in outputs(r, "success")] == [
        {"street": "5th Ave", "city": "New York", "state": "NY"},
        {"street": "Beacon St", "city": "Boston", "state": "MA"},
        {"street": "Nowhere", "city": None, "state": None}]


def test_record_fields_into_the_root_record(zips: Path) -> None:
    r = runner(CSVRecordLookupService, {"CSV File": str(zips), "Lookup Key Column": "zip"},
               {"key": "/zip", "Result RecordPath": "/", "Record Result Contents": "record-fields"})
    r.enqueue(json.dumps([{"zip": "10020", "state": "old"}, {"zip": "nope", "state": "kept"}]))
    r.run()
    assert outputs(r, "success") == [{"zip": "10020", "state": "NY", "city": "New York"},
                                     {"zip": "nope", "state": "kept", "city": None}]


def test_csv_formats_duplicates_and_reload(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "t.tsv"
    path.write_text("k\tv\na\t1\na\t2\n", encoding="utf-8")
    runner_ = ProcessorRunner(LookupRecord)
    service = runner_.add_controller_service("s", SimpleCsvFileLookupService, {
        "CSV File": str(path), "Lookup Key Column": "k", "Lookup Value Column": "v", "CSV Format": "tdf"})
    runner_.enable_controller_service("s")
    assert isinstance(service, SimpleCsvFileLookupService)
    assert service.lookup({"key": "a"}) == "2"  # the last duplicate wins
    assert service.lookup({"key": " "}) is None
    monkeypatch.setattr(csv_lookup_services, "WATCH_INTERVAL", 0.0)
    path.write_text("k\tv\na\t3\n", encoding="utf-8")
    os.utime(path, (1, 1))
    assert service.lookup({"key": "a"}) == "3"
    strict = ProcessorRunner(LookupRecord)
    strict.add_controller_service("s", SimpleCsvFileLookupService, {
        "CSV File": str(path.with_name("dup.csv")), "Lookup Key Column": "k", "Lookup Value Column": "v",
        "Ignore Duplicates": "false"})
    path.with_name("dup.csv").write_text("k,v\na,1\na,2\n", encoding="utf-8")
    with pytest.raises(Exception, match="duplicate lookup key 'a' on line 3"):
        strict.enable_controller_service("s")


def test_a_reload_that_fails_keeps_the_previous_table_and_its_columns(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "t.csv"
    path.write_text("key,a\nk1,x\n", encoding="utf-8")
    r = runner(CSVRecordLookupService, {"CSV File": str(path), "Lookup Key Column": "key",
                                        "Ignore Duplicates": "false"}, {"key": "/k", "Result RecordPath": "/v"})
    monkeypatch.setattr(csv_lookup_services, "WATCH_INTERVAL", 0.0)
    path.write_text("key,b,c\nk1,1,2\nk1,3,4\n", encoding="utf-8")  # new columns, and a duplicate key
    os.utime(path, (1, 1))
    for _ in range(3):
        r.enqueue('[{"k": "k1"}]')
    r.run(3)
    [failed] = r.flowfiles_for("failure")  # the reload's failure is reported once
    assert "duplicate lookup key 'k1'" in failed.attributes["record.error.message"]
    values = [json.loads(ff.content)[0]["v"] for ff in r.flowfiles_for("success")]
    assert values == [{"a": "x"}, {"a": "x"}], "old rows with old columns"


def test_lookup_caching_tells_one_from_true_and_one_point_zero() -> None:
    from flowyard.processors.lookup_record import _hashable

    assert len({_hashable(1), _hashable(1.0), _hashable(True)}) == 3
    assert _hashable({"k": [1, True]}) != _hashable({"k": [True, 1]})


def test_csv_custom_format(tmp_path: Path) -> None:
    path = tmp_path / "semi.csv"
    path.write_text("# a comment\nk;v\n# another\n'a;b'; x \nc;'y;z'\n", encoding="utf-8")
    r = ProcessorRunner(LookupRecord)
    service = r.add_controller_service("s", SimpleCsvFileLookupService, {
        "CSV File": str(path), "Lookup Key Column": "k", "Lookup Value Column": "v", "Value Separator": ";",
        "Quote Character": "'", "Comment Marker": "#"})
    r.enable_controller_service("s")
    assert isinstance(service, SimpleCsvFileLookupService)
    assert service.lookup({"key": "c"}) == "y;z"
    assert service.lookup({"key": "a;b"}) == "x"  # quoted separator, value trimmed
    assert service.lookup({"key": "# another"}) is None
    bad = ProcessorRunner(LookupRecord)
    bad.add_controller_service("s", SimpleCsvFileLookupService, {
        "CSV File": str(path), "Lookup Key Column": "k", "Lookup Value Column": "v", "Value Separator": ";;"})
    assert any("not a single character" in str(p) for p in bad.controller_service_validation_results("s"))


def test_csv_missing_column_or_file_fails_enabling(zips: Path) -> None:
    r = ProcessorRunner(LookupRecord)
    r.add_controller_service("s", CSVRecordLookupService, {"CSV File": str(zips), "Lookup Key Column": "nope"})
    with pytest.raises(Exception, match="no column 'nope'"):
        r.enable_controller_service("s")
    r.add_controller_service("t", CSVRecordLookupService, {"CSV File": str(zips) + ".x", "Lookup Key Column": "k"})
    with pytest.raises(Exception, match="cannot read the CSV file"):
        r.enable_controller_service("t")


# -- database ------------------------------------------------------------------------------------------------

PG = {"Database Connection URL": "jdbc:postgresql://127.0.0.1:5432/test",
      "Database Driver Class Name": "org.postgresql.Driver", "Database User": "postgres"}


@pytest.fixture
def table() -> Iterator[str]:
    name = f"lookup_{uuid.uuid4().hex[:12]}"
    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {name} (zip text PRIMARY KEY, city text, population integer, "
                     "area numeric(8,2), founded date)")
        conn.execute(f"INSERT INTO {name} VALUES ('10020', 'New York', 8000000, 783.80, '1624-01-01'), "
                     "('02108', 'Boston', 650000, 232.10, NULL)")
        try:
            yield name
        finally:
            conn.execute(f"DROP TABLE {name}")


_RUNNERS: list[ProcessorRunner] = []


@pytest.fixture(autouse=True)
def _close_pools() -> Iterator[None]:
    yield
    while _RUNNERS:
        r = _RUNNERS.pop()
        for sid in ("lookup", "db"):
            if r.services.node(sid).enabled:
                r.disable_controller_service(sid)


def db_runner(table: str, props: Mapping[str, str], service_props: Mapping[str, str] | None = None,
              ) -> ProcessorRunner:
    r = ProcessorRunner(LookupRecord)
    _RUNNERS.append(r)
    r.add_controller_service("db", DBCPConnectionPool, PG)
    r.enable_controller_service("db")
    for sid, cls, cprops in (("reader", JsonTreeReader, {}), ("writer", JsonRecordSetWriter, {}),
                             ("lookup", DatabaseRecordLookupService, {
                                 "Database Connection Pooling Service": "db", "Table Name": table,
                                 "Lookup Key Column": "zip", **(service_props or {})})):
        r.add_controller_service(sid, cls, cprops)
        r.enable_controller_service(sid)
    r.set_property("Record Reader", "reader")
    r.set_property("Record Writer", "writer")
    r.set_property("Lookup Service", "lookup")
    for name, value in props.items():
        r.set_property(name, value)
    return r


def test_database_record_lookup(table: str) -> None:
    r = db_runner(table, {"key": "/zip", "Result RecordPath": "/place",
                          "Routing Strategy": "route-to-matched-unmatched"},
                  {"Lookup Value Columns": "city, population, founded"})
    r.enqueue(json.dumps(PEOPLE))
    r.run()
    matched = outputs(r, "matched")
    assert [o["place"] for o in matched] == [
        {"city": "New York", "population": 8000000, "founded": "1624-01-01"},
        {"city": "Boston", "population": 650000, "founded": None}]
    assert [o["name"] for o in outputs(r, "unmatched")] == ["Jake"]


def test_database_service_types_cache_and_errors(table: str) -> None:
    r = db_runner(table, {"key": "/zip"}, {"Cache Size": "10"})
    service = r.controller_service("lookup")
    assert isinstance(service, DatabaseRecordLookupService)
    found = service.lookup({"key": "10020"})
    assert isinstance(found, SchemaRecord)
    assert found.values["population"] == 8000000 and str(found.values["area"]) == "783.80"
    assert found.schema.field_names == ["zip", "city", "population", "area", "founded"]
    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True) as conn:
        conn.execute(f"UPDATE {table} SET city = 'Gotham' WHERE zip = '10020'")
    cached = service.lookup({"key": "10020"})
    assert cached is not None and cached.values["city"] == "New York"  # from the cache
    assert service.lookup({"key": "nope"}) is None
    assert service.lookup({"key": "  "}) is None
    bad = db_runner(table + "_missing", {"key": "/zip", "Result RecordPath": "/place"})
    bad.enqueue(json.dumps(PEOPLE[:1]))
    bad.run()
    bad.assert_all_transferred("failure", 1)
    assert "failed" in bad.flowfiles_for("failure")[0].attributes["record.error.message"]
    with pytest.raises(LookupFailureError):
        bad_service = bad.controller_service("lookup")
        assert isinstance(bad_service, DatabaseRecordLookupService)
        bad_service.lookup({"key": "1"})


def test_database_cache_expires_and_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from flowyard.processors import lookup_services

    now = [1000.0]
    monkeypatch.setattr(lookup_services.time, "monotonic", lambda: now[0])
    cache = lookup_services._Cache(2, 5.0)
    first = SchemaRecord({"a": 1}, lookup_services.RecordSchema(()))
    cache.put("a", first)
    cache.put("b", first)
    assert cache.get("a") is first
    cache.put("c", first)  # "b" was used least recently
    assert cache.get("b") is None and cache.get("a") is first
    now[0] += 6.0
    assert cache.get("a") is None and cache.get("c") is None
    assert lookup_services._Cache(0, None).get("a") is None


def test_database_service_refuses_names_that_are_not_identifiers(table: str) -> None:
    r = ProcessorRunner(LookupRecord)
    _RUNNERS.append(r)
    r.add_controller_service("db", DBCPConnectionPool, PG)
    r.enable_controller_service("db")
    r.add_controller_service("lookup", DatabaseRecordLookupService, {
        "Database Connection Pooling Service": "db", "Table Name": f"{table}; DROP TABLE x",
        "Lookup Key Column": "zip"})
    with pytest.raises(Exception, match="not an SQL name"):
        r.enable_controller_service("lookup")
