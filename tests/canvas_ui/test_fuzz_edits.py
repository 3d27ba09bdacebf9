"""Fuzzing the flow-editing API and group import on a real server (issue 10).

Hypothesis draws requests for ``flowyard serve``: components of every kind
created, changed and deleted with values from the valid and the invalid space
(extreme, negative, fractional and wrong-typed numbers, unicode, control
characters, long texts, unknown types and states, stale revisions), run
states, undo and redo, and group imports of generated flow files, deep (to the
nesting limit and beyond) and large (thousands of components, within the 1 MiB
body limit). Two properties:

* no answer is a 5xx: bad input is refused with a 4xx;
* the flow the server shows is the flow it saved: ``GET /api/flow`` (live-only
  fields left out) equals ``DATA/flow.json`` read with ``load_flow`` (secrets
  decrypted, then masked as the API masks them), and equals ``GET /api/flow``
  after a restart on the same data directory.

``test_edit_sequences`` runs each example on a fresh server in this process
(stopped by cancellation, as the other in-process tests do);
``test_generated_imports`` imports every example into one ``flowyard serve``
process, stopped with SIGTERM and started again at the end.

Runs are derandomized and keep no example database, so CI sees the same
examples every time. ``FLOWYARD_FUZZ_EXAMPLES=N`` explores N random examples
per test instead (for a longer local hunt).

Lone UTF-16 surrogates (``"\\ud800"`` in the JSON text) are among the odd
texts: they used to pass the parser and then fail to encode (500 at login, 503
on every edit that saved one); the parser now refuses them with a 400.
"""

from __future__ import annotations

import functools
import io
import itertools
import json
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowyard.bootstrap.serve import serve
from flowyard.canvas_ui.app import PLURALS
from flowyard.runtime.flow import (
    BULLETIN_LEVELS,
    COMPONENT_KINDS,
    MAX_GROUP_DEPTH,
    PRIORITIZERS,
    SCHEDULED_STATES,
    SERVICE_STATES,
)
from flowyard.runtime.registry import discover_controller_services, discover_processors

from flow_checks import (
    MASK,
    PASSWORD,
    SEED_FLOW,
    TEST_PROCESSORS,
    USER,
    client_for,
    definition,
    difference,
    saved_definition,
    start_server,
    stop_server,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GROUP_LISTS = tuple(key for _, key in COMPONENT_KINDS.values())
KINDS = tuple(PLURALS)
RUN_STATES = ("RUNNING", "STOPPED", "DISABLED", "ENABLED", "RUN_ONCE")

EXPLORE = int(os.environ.get("FLOWYARD_FUZZ_EXAMPLES", "0"))


def fuzz_settings(examples: int) -> settings:
    return settings(max_examples=EXPLORE or examples, deadline=None, derandomize=not EXPLORE, database=None,
                    print_blob=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.large_base_example, HealthCheck.filter_too_much])


# -- the types the fuzzer configures ---------------------------------------------------

#: Processor types whose work stays small whatever they are configured with (no files
#: read or written, no thread or loop held); their property values are drawn per key.
SAFE_PROCESSORS = ("GenerateFlowFile", "UpdateAttribute", "RouteOnAttribute", "LogAttribute", "LogMessage",
                   "ControlRate", "RetryFlowFile", "DetectDuplicate", "LookupAttribute",
                   "FetchDistributedMapCache", "PutDistributedMapCache", "Secretive")
_PROCESSOR_CLASSES = discover_processors({"FLOWYARD_PROCESSOR_MODULES": TEST_PROCESSORS})
_SERVICE_CLASSES = discover_controller_services()
#: Per type: the names a property may be given by (keys and display names).
PROPERTY_NAMES = {t: sorted({n for p in _PROCESSOR_CLASSES[t].spec.properties for n in (p.key, p.display_name)})
                  for t in SAFE_PROCESSORS}
RELATIONSHIPS = {t: [r.name for r in _PROCESSOR_CLASSES[t].spec.relationships] for t in SAFE_PROCESSORS}
SERVICE_TYPES = tuple(sorted(_SERVICE_CLASSES))
SERVICE_PROPERTY_NAMES = {t: sorted({n for p in _SERVICE_CLASSES[t].spec.properties for n in (p.key, p.display_name)})
                          for t in SERVICE_TYPES}
#: Properties whose value decides how much a running processor makes: kept small here
#: (a batch of 10^19 flowfiles of a terabyte each is a resource question, not this test's).
BOUNDED_VALUES = {
    "file-size": ["0 B", "10 B", "1 KB", "-1 B", "lots", "", "1.5 B", "1e3 B", "${size}"],
    "batch-size": ["1", "5", "0", "-1", "x", "1.5", ""],
}


# -- values, valid and not -------------------------------------------------------------
#
# Every field of a body has a valid strategy and an invalid one. Most bodies are
# valid (so the flow grows and the edits that follow act on something); the
# others get one or two invalid fields (``BAD``), so each refusal is about one thing.
# Every choice lists the usual, valid case first: Hypothesis starts from the
# simplest choices (the first element, zero, False) and shrinks towards them.

def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of the strategies, each ``weight`` times as likely as a weight of 1."""
    table = [i for i, (weight, _) in enumerate(choices) for _ in range(weight)]
    return st.sampled_from(table).flatmap(lambda i: choices[i][1])


#: How many fields of a body are given invalid values.
BAD = st.sampled_from([0, 0, 0, 0, 0, 1, 1, 1, 2])

ODD_TEXT = ["", " ", "\t", "x", "Ünïcödé ñame", "日本語のフロー", "😀🚀", "\u202egnp.exe", "a\x00b", "\x1b[31mred",
            "\x7f", "a/b", "a?b#c%d", "..\\..", "line\r\nbreak", "${filename}", "${", "}", "#{plain}", "#{",
            "#{'a b'}", "${#{plain}:toUpper()}", "#{secret}", MASK, "null", "-1", "NaN", "1e999",
            "<script>alert(1)</script>", "' OR 1=1 --", "\ufeffbom", "\u0301", "\U0010ffff", "\ud800",
            "a\udfffb"]
WRONG_TYPES = st.sampled_from([None, True, False, 0, -1, 1.5, [], [1], {}, {"a": 1}, ["x"], 10**25, -(10**25),
                               1e308, -1e308, 5e-324, float("nan"), float("inf")])
WORDS = st.text("abcdefghijklmnopqrstuvwxyz ._-", min_size=1, max_size=16).filter(str.strip)


def texts() -> st.SearchStrategy[str]:
    """Text of every sort (odd, random, up to the 1,000 characters of a name)."""
    return weighted((3, WORDS), (2, st.sampled_from(ODD_TEXT)), (2, st.text(max_size=12)),
                    (1, st.builds(lambda n, ch: ch * n, st.sampled_from([199, 200, 201, 999, 1000]),
                                  st.sampled_from(["x", "é", "😀"]))))


def too_long() -> st.SearchStrategy[str]:
    return st.builds(lambda n, ch: ch * n, st.sampled_from([1001, 5000, 100_000]), st.sampled_from(["x", "ü"]))


def names() -> st.SearchStrategy[Any]:
    """A component's name: valid is non-blank text."""
    return weighted((6, WORDS), (3, texts().filter(lambda t: t.strip() != "")))


def bad_names() -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from(["", " ", "\t\n"]), too_long(), WRONG_TYPES)


INTEGERS_BAD = st.sampled_from([-1, -(10**9), -(2**63), 2**63, 10**12, 10**19, 10**9 + 1, 1024**5 + 1, 1.5, 1e300,
                                -0.5, "1", "", "lots", True, None, [], {}])
DURATIONS = st.sampled_from(["0 sec", "1 sec", "30 sec", "100 millis", "1 min", "5 sec", "2 hr", "1 day", "366 days",
                             "52 weeks", "0.5 sec", "  1 sec  ", "1 SEC", "5 nanos", "2 µs", "25 ms"])
DURATIONS_BAD = st.one_of(st.sampled_from(["367 days", "53 weeks", "1e3 sec", "-1 sec", "1 parsec", "sec", "", "9" * 30
                                           + " ns", "9" * 5000 + " sec", "1 fortnight", "1,5 sec", "∞ sec"]),
                          WRONG_TYPES)
CRONS = st.sampled_from(["* * * * * ?", "0 * * * * ?", "0 0 12 * * ?", "0 0 12 ? * MON-FRI", "0/10 * * * * ?"])
CRONS_BAD = st.sampled_from(["0 0 0 31 2 ?", "0 0 0 30 2 ?", "61 * * * * ?", "garbage", "", "0 0 0 29 2 ? 2101",
                             "0/0 * * * * ?", "* * * * *", "1 sec"])
SIZES_OK = st.sampled_from(["0 B", "1 B", "1 KB", "10 MB", "1 GB", "1 TB", "1024 TB", "1.5 GB", "0.0001 B"])
SIZES_BAD = st.one_of(st.sampled_from(["1025 TB", "-1 B", "1e3 B", "x", "", "9" * 30 + " TB", "1 PB", "1 XB"]),
                      WRONG_TYPES)


def coordinates() -> st.SearchStrategy[Any]:
    return weighted((4, st.floats(-1e5, 1e5)), (1, st.integers(-(10**9), 10**9)),
                    (1, st.sampled_from([1e9, -1e9, -0.0, 1e-300, 5e-324, 10**9])))


POSITIONS = st.fixed_dictionaries({"x": coordinates(), "y": coordinates()})
POSITIONS_BAD = st.one_of(
    st.fixed_dictionaries({"x": st.sampled_from([1e9 + 1, 1e10, -1e12, 10**15, "1", None, True]), "y": coordinates()}),
    st.just({"x": 1}), st.just({"x": 1, "y": 2, "z": 3}), WRONG_TYPES)
COLOURS = st.sampled_from(["#fff7d6", "#abc", "#11223344", "lightyellow", "rgb(1, 2, 3)", "hsla(1, 2%, 3%, 0.5)"])
COLOURS_BAD = st.one_of(st.sampled_from(["url(http://evil.example/x.png)", "red; background: url(x)", "expression(1)",
                                         "#12345", "10000px", "-1px", "", "var(--x)"]), WRONG_TYPES)
FONT_SIZES = st.sampled_from(["14px", "1.5em", "9999px", "100%", "12pt", "1.25rem"])


@dataclass(frozen=True)
class Field:
    """How to give one field of a body: a valid value, and an invalid one."""

    valid: st.SearchStrategy[Any]
    invalid: st.SearchStrategy[Any]


def text_field() -> Field:
    return Field(texts(), st.one_of(WRONG_TYPES, st.just("x" * 1_000_001)))


def name_field() -> Field:
    return Field(names(), bad_names())


def choice_field(values: tuple[str, ...]) -> Field:
    near = [v.lower() for v in values] + [f" {values[0]} ", "", "PAUSED"]
    return Field(st.sampled_from(values), st.one_of(st.sampled_from(near), WRONG_TYPES))


def number_field(low: int, high: int) -> Field:
    return Field(weighted((3, st.integers(low, min(high, 10_000))), (1, st.sampled_from([low, high]))),
                 st.one_of(INTEGERS_BAD, st.sampled_from([low - 1, high + 1])))


@st.composite
def bodies(draw: st.DrawFn, fields: dict[str, Field], *, required: tuple[str, ...] = (),
           bad: int | None = None) -> dict[str, Any]:
    """A body with ``required`` fields and some of the others, all valid, then
    ``bad`` of them (drawn from ``BAD`` when None) given an invalid value."""
    body = {k: draw(fields[k].valid) for k in required}
    body.update(draw(st.fixed_dictionaries({}, optional={k: f.valid for k, f in fields.items()
                                                         if k not in required})))
    for _ in range(draw(BAD) if bad is None else bad):
        key = draw(st.sampled_from(sorted(fields)))
        body[key] = draw(fields[key].invalid)
    return body


# -- what the flow holds now -------------------------------------------------------------

@dataclass
class Snapshot:
    """What a request may name, read from ``GET /api/flow``."""

    root: str
    #: kind -> [(identifier, revision)], the root group left out.
    components: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    #: Every group (the root first) with how deep it is.
    groups: list[tuple[str, int]] = field(default_factory=list)
    #: Per group: what a connection of it may join.
    ends: dict[str, list[str]] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    contexts: list[str] = field(default_factory=list)
    parameters: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    services: list[str] = field(default_factory=list)
    #: The group holding each component.
    owner: dict[str, str] = field(default_factory=dict)
    root_revision: int = 0

    @classmethod
    def of(cls, flow: dict[str, Any]) -> Snapshot:
        root = flow["rootGroup"]
        snap = cls(root["identifier"], {k: [] for k in KINDS}, root_revision=root["revision"])
        for ctx in flow["parameterContexts"]:
            snap.components["parameter-context"].append((ctx["identifier"], ctx["revision"]))
            snap.contexts.append(ctx["identifier"])
            snap.parameters[ctx["identifier"]] = ctx["parameters"]

        def visit(group: dict[str, Any], depth: int) -> None:
            snap.groups.append((group["identifier"], depth))
            ends = [c["identifier"] for key in ("processors", "funnels", "inputPorts", "outputPorts")
                    for c in group[key]]
            ends += [p["identifier"] for child in group["processGroups"] for key in ("inputPorts", "outputPorts")
                     for p in child[key]]
            snap.ends[group["identifier"]] = ends
            for kind, (_, key) in COMPONENT_KINDS.items():
                for c in group[key]:
                    snap.components[kind].append((c["identifier"], c["revision"]))
                    snap.owner[c["identifier"]] = group["identifier"]
                    if "type" in c:
                        snap.types[c["identifier"]] = c["type"]
                    if kind == "controller-service":
                        snap.services.append(c["identifier"])
            for child in group["processGroups"]:
                visit(child, depth + 1)
        visit(root, 0)
        return snap

    def every_id(self) -> list[str]:
        return [self.root, *(ident for items in self.components.values() for ident, _ in items)]


# -- talking to the server ---------------------------------------------------------------

def shown(content: bytes | None) -> str:
    if content is None:
        return ""
    text = content.decode("utf-8", "replace")
    return text if len(text) <= 4000 else f"{text[:4000]}... ({len(text):,} characters)"


@dataclass(frozen=True)
class Request:
    """One request to send: a JSON ``body`` (ASCII-escaped or not), or ``raw`` bytes."""

    method: str
    path: str
    body: Any = None
    raw: bytes | None = None
    ascii_only: bool = True

    def content(self) -> bytes | None:
        if self.raw is not None:
            return self.raw
        if self.body is None:
            return None
        try:
            return json.dumps(self.body, ensure_ascii=self.ascii_only).encode()
        except UnicodeEncodeError:  # a lone surrogate: only a JSON \u escape carries it
            return json.dumps(self.body).encode()


@dataclass
class Api:
    """An authenticated client that checks every answer and keeps a log of the
    exchange: the reproduction when an answer is a 5xx."""

    client: httpx.AsyncClient
    log: list[str]
    headers: dict[str, str] = field(default_factory=dict)

    async def login(self) -> None:
        answer = await self.client.post("/api/login", json={"username": USER, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        self.client.cookies.clear()
        self.headers = {"Authorization": f"Bearer {answer.json()['token']}"}

    async def send(self, request: Request) -> httpx.Response:
        method, path, content = request.method, request.path, request.content()
        headers = {**self.headers, "Content-Type": "application/json"} if content is not None else self.headers
        answer = await self.client.request(method, path, content=content, headers=headers)
        self.log.append(f"{method} {path} {shown(content)}\n  -> {answer.status_code} {answer.text[:500]}")
        assert answer.status_code < 500, "a server error; the requests, oldest first:\n" + "\n".join(self.log)
        return answer

    async def flow(self) -> dict[str, Any]:
        answer = await self.send(Request("GET", "/api/flow"))
        assert answer.status_code == 200
        flow: dict[str, Any] = answer.json()
        return flow


@contextmanager
def server_environment() -> Iterator[None]:
    """The credentials and the test processors (``Secretive`` has a sensitive property)."""
    keys = ("FLOWYARD_USERNAME", "FLOWYARD_PASSWORD", "FLOWYARD_PROCESSOR_MODULES")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update(FLOWYARD_USERNAME=USER, FLOWYARD_PASSWORD=PASSWORD, FLOWYARD_PROCESSOR_MODULES=TEST_PROCESSORS)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@asynccontextmanager
async def api_server(data_dir: Path, log: list[str], initial: Path | None = None) -> AsyncIterator[Api]:
    """``serve`` on port 0 in this process, logged in; stopped on the way out."""
    os.environ["FLOWYARD_PASSWORD"] = PASSWORD  # serve takes it out of the environment once read
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(functools.partial(serve, data_dir, port=0, initial_flow=initial,
                                                      out=io.StringIO()))
        async with httpx.AsyncClient(base_url=binds[0], timeout=120) as client:
            api = Api(client, log)
            await api.login()
            yield api
        nursery.cancel_scope.cancel()


# -- request bodies -------------------------------------------------------------------------

def identifier_field(snap: Snapshot | None) -> Field:
    """A new component's identifier: fresh (usually), or taken, odd, too long, wrong-typed."""
    taken = snap.every_id() if snap else ["root"]
    return Field(weighted((3, st.uuids().map(str)), (1, st.text("abcdefghij0123456789-", min_size=3, max_size=12))),
                 st.one_of(st.sampled_from(taken), st.sampled_from(["", " ", "a/b", "a?b", "a#b", "100%", "a\\b",
                                                                    "a\nb", "x" * 201]), WRONG_TYPES))


def property_field(names: list[str], values: dict[str, st.SearchStrategy[Any]], dynamic: bool) -> Field:
    """Properties by key or display name (and dynamic ones where the type takes them)."""
    known = st.sampled_from(names) if names else WORDS
    name = weighted((4, known), (1 if dynamic else 0, WORDS)) if dynamic else known
    pairs = name.flatmap(lambda n: st.tuples(st.just(n), values.get(n, st.one_of(WORDS, st.none()))))
    odd_pairs = st.tuples(st.one_of(texts(), st.just("x" * 1001)), st.one_of(texts(), WRONG_TYPES))
    return Field(st.lists(pairs, max_size=4).map(dict),
                 st.one_of(st.lists(odd_pairs, min_size=1, max_size=3).map(dict), WRONG_TYPES))


def spec_values(spec: Any, snap: Snapshot | None) -> dict[str, st.SearchStrategy[Any]]:
    """Plausible values for each property of a type's spec, by key and display name."""
    services = st.sampled_from(snap.services) if snap and snap.services else st.just("svc")
    found: dict[str, st.SearchStrategy[Any]] = {}
    for prop in spec.properties:
        if prop.key in BOUNDED_VALUES:
            value: st.SearchStrategy[Any] = st.sampled_from(BOUNDED_VALUES[prop.key])
        elif prop.identifies_controller_service:
            value = weighted((3, services), (1, WORDS))
        elif prop.allowed_values:
            value = weighted((4, st.sampled_from([a.value for a in prop.allowed_values])), (1, texts()))
        else:
            value = weighted((2, st.just(prop.default) if prop.default is not None else WORDS), (1, texts()),
                             (1, st.sampled_from(["${filename}", "#{plain}", "10", "1 sec", "true"])),
                             (1, st.none()))
        found[prop.key] = found[prop.display_name] = value
    return found


def processor_fields(type_name: str, snap: Snapshot | None) -> dict[str, Field]:
    cls = _PROCESSOR_CLASSES.get(type_name)
    relationships = RELATIONSHIPS.get(type_name, ["success"])
    return {
        "identifier": identifier_field(snap), "name": name_field(), "position": Field(POSITIONS, POSITIONS_BAD),
        "properties": property_field(PROPERTY_NAMES.get(type_name, []),
                                     spec_values(cls.spec, snap) if cls else {},
                                     bool(cls and cls.spec.dynamic_properties)),
        "schedulingStrategy": choice_field(("TIMER_DRIVEN", "TIMER_DRIVEN", "EVENT_DRIVEN")),
        "schedulingPeriod": Field(st.sampled_from(["0 sec", "1 sec", "100 millis", "5 sec"]),
                                  st.one_of(DURATIONS_BAD, CRONS)),
        "concurrentlySchedulableTaskCount": number_field(1, 100),
        "runDuration": Field(st.sampled_from(["0 ms", "25 ms", "2 sec", "60 sec"]),
                             st.one_of(st.sampled_from(["61 sec", "1 hr"]), DURATIONS_BAD)),
        "penaltyDuration": Field(DURATIONS, DURATIONS_BAD), "yieldDuration": Field(DURATIONS, DURATIONS_BAD),
        "autoTerminatedRelationships": Field(st.lists(st.sampled_from(relationships), max_size=3, unique=True),
                                             st.one_of(st.lists(texts(), min_size=1, max_size=2), WRONG_TYPES)),
        "scheduledState": choice_field(SCHEDULED_STATES), "comments": text_field(),
        "bulletinLevel": choice_field(BULLETIN_LEVELS),
    }


@st.composite
def processor_body(draw: st.DrawFn, snap: Snapshot | None, type_name: str | None = None, *,
                   bad: int | None = None) -> dict[str, Any]:
    """A processor: a known type (mostly), or an unknown, NiFi-named or wrong-typed one.
    ``bad``: how many fields are invalid (drawn when None; 0 keeps the type and cron valid too)."""
    chosen: Any = type_name or draw(weighted(
        (12, st.sampled_from(SAFE_PROCESSORS)),
        (0 if bad == 0 else 1, st.sampled_from(["NoSuchProcessor", "org.apache.nifi.processors.standard.LogAttribute",
                                                "", " LogAttribute", "HangInThread\x00"])),
        (0 if bad == 0 else 1, WRONG_TYPES)))
    body = draw(bodies(processor_fields(str(chosen), snap), bad=bad))
    if bad == 0 or draw(st.sampled_from([True] * 9 + [False])):
        body["type"] = chosen
    if draw(st.sampled_from([False] * 4 + [True])):  # cron-driven, with a Quartz expression (valid or not)
        body["schedulingStrategy"] = "CRON_DRIVEN"
        body["schedulingPeriod"] = draw(CRONS if bad == 0 else weighted((3, CRONS), (1, CRONS_BAD)))
    return body


@st.composite
def connection_body(draw: st.DrawFn, snap: Snapshot, group: str, *, ends: bool = True) -> dict[str, Any]:
    """A connection of ``group``: its ends (when ``ends``) among what the group may join, mostly."""
    options = snap.ends.get(group) or ["nowhere"]
    end = Field(st.sampled_from(options).map(lambda i: {"id": i}),
                st.one_of(st.sampled_from(snap.every_id()).map(lambda i: {"id": i}),
                          st.just({"id": "nowhere"}), st.just({}), WRONG_TYPES))
    known = sorted({r for rels in RELATIONSHIPS.values() for r in rels})
    fields = {
        "identifier": identifier_field(snap), "name": Field(texts(), st.one_of(too_long(), WRONG_TYPES)),
        "selectedRelationships": Field(st.lists(st.sampled_from(["success", "success", *known]), min_size=1,
                                                max_size=3, unique=True),
                                       st.one_of(st.just([]), st.lists(texts(), min_size=1, max_size=2), WRONG_TYPES)),
        "backPressureObjectThreshold": number_field(0, 1_000_000_000),
        "backPressureDataSizeThreshold": Field(SIZES_OK, SIZES_BAD),
        "flowFileExpiration": Field(DURATIONS, DURATIONS_BAD),
        "prioritizers": Field(st.lists(st.sampled_from(PRIORITIZERS), max_size=4, unique=True),
                              st.one_of(st.lists(texts(), min_size=1, max_size=2), WRONG_TYPES)),
        "bends": Field(st.lists(POSITIONS, max_size=3),
                       st.one_of(st.lists(POSITIONS_BAD, min_size=1, max_size=2), st.sampled_from([1001]).map(
                           lambda n: [{"x": 1, "y": 2}] * n), WRONG_TYPES)),
    }
    if ends:
        fields["source"] = fields["destination"] = end
    return draw(bodies(fields, required=("source", "destination", "selectedRelationships") if ends else ()))


def port_body(snap: Snapshot | None, *, bad: int | None = None) -> st.SearchStrategy[dict[str, Any]]:
    return bodies(bad=bad, fields={"identifier": identifier_field(snap), "name": name_field(),
                   "position": Field(POSITIONS, POSITIONS_BAD), "scheduledState": choice_field(SCHEDULED_STATES),
                   "comments": text_field()})


def funnel_body(snap: Snapshot | None, *, bad: int | None = None) -> st.SearchStrategy[dict[str, Any]]:
    return bodies(bad=bad, fields={"identifier": identifier_field(snap), "position": Field(POSITIONS, POSITIONS_BAD)})


def label_body(snap: Snapshot | None, *, bad: int | None = None) -> st.SearchStrategy[dict[str, Any]]:
    style = st.fixed_dictionaries({}, optional={"background-color": COLOURS, "color": COLOURS,
                                                "font-size": FONT_SIZES})
    bad_style = st.one_of(st.fixed_dictionaries({"background-color": COLOURS_BAD}),
                          st.fixed_dictionaries({"font-size": COLOURS_BAD}),
                          st.dictionaries(texts(), COLOURS, min_size=1, max_size=2), WRONG_TYPES)
    size = Field(weighted((3, st.floats(1, 5000)), (1, st.sampled_from([1e-9, 1e9, 150]))),
                 st.one_of(st.sampled_from([0, -1, 1e9 + 1, 1e300, "150"]), WRONG_TYPES))
    return bodies(bad=bad, fields={"identifier": identifier_field(snap), "label": Field(texts(), WRONG_TYPES),
                   "position": Field(POSITIONS, POSITIONS_BAD), "width": size, "height": size,
                   "style": Field(style, bad_style)})


@st.composite
def service_body(draw: st.DrawFn, snap: Snapshot | None, type_name: str | None = None, *,
                 bad: int | None = None) -> dict[str, Any]:
    odd = 0 if bad == 0 else 1
    chosen: Any = type_name or draw(weighted((8, st.sampled_from(SERVICE_TYPES)),
                                             (odd, st.sampled_from(["NoSuchService", ""])), (odd, WRONG_TYPES)))
    cls = _SERVICE_CLASSES.get(str(chosen))
    body = draw(bodies(bad=bad, fields={
        "identifier": identifier_field(snap), "name": name_field(), "comments": text_field(),
        "properties": property_field(SERVICE_PROPERTY_NAMES.get(str(chosen), []),
                                     spec_values(cls.spec, snap) if cls else {}, False),
        "scheduledState": choice_field(SERVICE_STATES)}))
    if bad == 0 or draw(st.sampled_from([True] * 9 + [False])):
        body["type"] = chosen
    return body


PARAMETER_NAMES = st.one_of(st.sampled_from(["plain", "secret", "a b", "x.y-z_1"]),
                            st.text("abcXYZ019 ._-", min_size=1, max_size=10))


def parameter_context_body(snap: Snapshot | None, existing: list[dict[str, Any]] | None = None, *,
                           bad: int | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """A parameter context; for an update, its ``existing`` parameters kept, changed,
    sent back masked or with their sensitivity flipped (refused)."""
    fresh = bodies({"name": Field(PARAMETER_NAMES, st.one_of(st.sampled_from(["", "a{b}", "ä", "a\nb", "#{x}"]),
                                                             too_long(), WRONG_TYPES)),
                    "value": Field(st.one_of(texts(), st.none()), WRONG_TYPES),
                    "sensitive": Field(st.booleans(), st.sampled_from(["true", 1, None])),
                    "description": text_field()}, required=("name",), bad=0 if bad == 0 else None)
    parameter = fresh
    if existing:
        kept = st.sampled_from(existing).map(dict)
        changed = st.tuples(st.sampled_from(existing), texts()).map(lambda pv: {**pv[0], "value": pv[1]})
        masked = st.sampled_from(existing).map(lambda p: {**p, "value": MASK})
        flipped = st.sampled_from(existing).map(lambda p: {**p, "sensitive": not p["sensitive"]})
        parameter = weighted((2, fresh), (3, kept), (2, changed), (2, masked), (1, flipped))
    parameters = weighted((6, st.lists(parameter, max_size=4, unique_by=lambda p: repr(p["name"]))),
                          (0 if bad == 0 else 1, st.lists(parameter, min_size=2, max_size=3)))  # a name twice?
    bad_parameters = st.one_of(st.lists(WRONG_TYPES, min_size=1, max_size=2), WRONG_TYPES)
    return bodies(bad=bad, required=() if existing else ("name",), fields={
        "identifier": identifier_field(snap), "name": name_field(), "description": text_field(),
        "parameters": Field(parameters, bad_parameters)})


class Names:
    """Identifiers for one generated document: short and unique."""

    def __init__(self, prefix: str) -> None:
        self.prefix, self.count = prefix, 0

    def __call__(self) -> str:
        self.count += 1
        return f"{self.prefix}{self.count}"


@st.composite
def group_doc(draw: st.DrawFn, ids: Names, *, depth: int, size: str, contexts: list[str],
              detailed: bool = True) -> dict[str, Any]:
    """A process group's JSON with ``depth`` levels of groups below it. ``size``:
    ``tiny`` (a few components of each kind, drawn), ``medium`` (200 processors)
    or ``large`` (3,000 processors and 2,999 connections, about 500 KB).
    ``detailed``: draw the components (else plain ones, for deep chains). Every
    field is valid (``spoil`` makes some invalid)."""
    group: dict[str, Any] = {"identifier": ids()}
    if detailed:
        group["name"] = draw(names())
    parts: list[dict[str, Any]] = []  # the drawn components, where ``bad`` goes
    processors: list[dict[str, Any]] = []
    connections: list[dict[str, Any]] = []
    if size != "tiny":
        count = 200 if size == "medium" else 3000
        processors = [{"identifier": ids(), "type": "LogAttribute", "scheduledState": "STOPPED"}
                      for _ in range(count)]
        processors[-1]["autoTerminatedRelationships"] = ["success"]
        connections = [{"identifier": ids(), "source": {"id": a["identifier"]},
                        "destination": {"id": b["identifier"]}, "selectedRelationships": ["success"]}
                       for a, b in itertools.pairwise(processors)]
    elif detailed:
        processors = [draw(processor_body(None, bad=0)) for _ in range(draw(st.integers(0, 3)))]
        parts += processors
    else:
        processors = [{"identifier": ids(), "type": "UpdateAttribute", "autoTerminatedRelationships": ["success"]}]
    group["processors"] = processors
    if detailed:
        group["funnels"] = [draw(funnel_body(None, bad=0)) for _ in range(draw(st.integers(0, 2)))]
        group["inputPorts"] = [draw(port_body(None, bad=0)) for _ in range(draw(st.integers(0, 2)))]
        group["outputPorts"] = [draw(port_body(None, bad=0)) for _ in range(draw(st.integers(0, 2)))]
        group["labels"] = [draw(label_body(None, bad=0)) for _ in range(draw(st.integers(0, 1)))]
        group["controllerServices"] = [draw(service_body(None, bad=0)) for _ in range(draw(st.integers(0, 1)))]
        for key in ("funnels", "inputPorts", "outputPorts", "labels", "controllerServices"):
            parts += group[key]
        if contexts and draw(st.booleans()):
            group["parameterContext"] = {"id": draw(st.sampled_from(contexts))}
    for part in parts:  # identifiers unique within the document (``spoil`` may duplicate one)
        part["identifier"] = ids()
    if depth > 0:
        # Contents drawn for shallow nesting only: a chain 50 deep of drawn groups is more than a draw holds.
        group["processGroups"] = [draw(group_doc(ids, depth=depth - 1, size="tiny", contexts=contexts,
                                                 detailed=detailed and depth <= 4))]
    if detailed and size == "tiny":
        def idents(items: list[dict[str, Any]]) -> list[str]:
            return [c["identifier"] for c in items]
        children = group.get("processGroups", [])
        sources = idents(processors) + idents(group["funnels"]) + idents(group["inputPorts"]) + [
            i for child in children for i in idents(child.get("outputPorts", []))]
        destinations = idents(processors) + idents(group["funnels"]) + idents(group["outputPorts"]) + [
            i for child in children for i in idents(child.get("inputPorts", []))]
        relationships = {p["identifier"]: RELATIONSHIPS.get(p.get("type"), ["success"]) for p in processors}
        if sources and destinations:
            for _ in range(draw(st.integers(0, 3))):
                source = draw(st.sampled_from(sources))
                connections.append({"identifier": ids(), "source": {"id": source},
                                    "destination": {"id": draw(st.sampled_from(destinations))},
                                    "selectedRelationships": [draw(st.sampled_from(
                                        relationships.get(source, ["success"])))]})
    group["connections"] = connections
    return group


def spoil(draw: st.DrawFn, doc: dict[str, Any], count: int) -> None:
    """Give ``count`` places of a flow document an invalid value (or a duplicate identifier)."""
    places: list[dict[str, Any]] = []
    stack = [doc["rootGroup"]]
    while stack:
        g = stack.pop()
        places.append(g)
        for key in GROUP_LISTS:
            if key == "processGroups":
                stack.extend(g.get(key, []))
            else:
                places.extend(g.get(key, []))
    places = places[:200]  # the drawn part of a document; not each of 3,000 processors
    for _ in range(count):
        place = draw(st.sampled_from(places))
        key = draw(st.sampled_from(sorted(place)))
        if key == "identifier":
            place[key] = draw(st.sampled_from(places))["identifier"]  # a duplicate (or itself: no change)
        else:
            place[key] = draw(st.one_of(WRONG_TYPES, bad_names(), DURATIONS_BAD, POSITIONS_BAD))


#: Group nesting below a generated document's top group: around the limit, and past it.
DEPTHS = st.sampled_from([0, 0, 0, 0, 1, 1, 2, 3, MAX_GROUP_DEPTH - 2, MAX_GROUP_DEPTH - 1, MAX_GROUP_DEPTH,
                          MAX_GROUP_DEPTH + 1, 48])
SIZES = st.sampled_from(["tiny"] * 10 + ["medium", "large"])


@st.composite
def flow_documents(draw: st.DrawFn, *, depth: int | None = None, size: str | None = None) -> dict[str, Any]:
    """A flowyard flow file, as an export would be; depth, size and how many of its
    fields are invalid drawn (unless given)."""
    ids = Names(draw(st.text("abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=3)) + "_")
    contexts = []
    for _ in range(draw(st.integers(0, 2))):
        ctx = draw(parameter_context_body(None, bad=0))
        ctx["identifier"] = ids()
        if any(c["name"] == ctx["name"] for c in contexts):
            ctx["name"] += f" {ctx['identifier']}"
        contexts.append(ctx)
    root = draw(group_doc(ids, depth=draw(DEPTHS) if depth is None else depth,
                          size=draw(SIZES) if size is None else size, contexts=[c["identifier"] for c in contexts]))
    doc = {"flowyardFlowVersion": 1, "parameterContexts": contexts, "rootGroup": root}
    spoil(draw, doc, draw(BAD))
    if draw(st.sampled_from([False] * 30 + [True])):
        doc["flowyardFlowVersion"] = draw(st.sampled_from([2, 0, "1", None, 1.0]))
    return doc


# -- the edit sequences --------------------------------------------------------------------------

OPERATIONS = st.sampled_from(["create"] * 6 + ["update"] * 6 + ["delete"] * 2 + ["run-state"] * 3 + [
    "selection", "service-state", "import", "import", "reimport", "history", "history", "junk", "burst"])
RUNNABLE = ("processor", "input-port", "output-port", "process-group")
#: The run states each runnable kind takes.
KIND_STATES = {"processor": RUN_STATES, "input-port": RUN_STATES[:4], "output-port": RUN_STATES[:4],
               "process-group": RUN_STATES[:4]}


def revisions(current: int) -> st.SearchStrategy[Any]:
    """The revision a change names: the current one, mostly."""
    return weighted((12, st.just(current)), (1, st.just(current + 1)), (1, st.just(max(current - 1, 0))),
                    (1, st.sampled_from([str(current), None, True, 1.0 * current, -1, 10**19])))


def states(allowed: tuple[str, ...]) -> st.SearchStrategy[Any]:
    return weighted((8, st.sampled_from(allowed)), (1, st.sampled_from(["running", "PAUSED", "", " RUNNING"])),
                    (1, WRONG_TYPES))


def groups_of(snap: Snapshot) -> st.SearchStrategy[str]:
    """A group: any, or the deepest (so that nesting reaches the limit)."""
    deepest = max(snap.groups, key=lambda g: g[1])[0]
    return weighted((3, st.sampled_from(snap.groups).map(lambda g: g[0])), (1, st.just(deepest)))


async def create(api: Api, data: st.DataObject, snap: Snapshot) -> Request:
    kind = data.draw(st.sampled_from(KINDS), label="kind")
    group = data.draw(weighted((3, groups_of(snap)), (1, st.none()),
                               (1, st.sampled_from([*snap.every_id(), "nope", 7, [], None]))), label="parent group")
    parent = group if isinstance(group, str) and group in snap.ends else snap.root
    body: dict[str, Any]
    if kind == "processor":
        body = data.draw(processor_body(snap))
    elif kind == "connection":
        body = data.draw(connection_body(snap, parent))
    elif kind == "funnel":
        body = data.draw(funnel_body(snap))
    elif kind in ("input-port", "output-port"):
        body = data.draw(port_body(snap))
    elif kind == "label":
        body = data.draw(label_body(snap))
    elif kind == "controller-service":
        body = data.draw(service_body(snap))
    elif kind == "process-group":  # with contents, nested
        ids = Names(data.draw(st.text("klmnopqrst", min_size=2, max_size=3), label="prefix") + "-")
        doc = {"rootGroup": data.draw(group_doc(ids, depth=data.draw(DEPTHS, label="depth"),
                                                size=data.draw(SIZES, label="size"), contexts=snap.contexts))}
        spoil(data.draw, doc, data.draw(BAD, label="bad"))
        body = doc["rootGroup"]
        body["parameterContext"] = data.draw(weighted(
            (3, st.sampled_from(snap.contexts or ["ctx"]).map(lambda c: {"id": c})), (1, st.none()),
            (1, st.sampled_from([{"id": "nope"}, {}, "ctx", 1]))), label="parameterContext")
        if data.draw(st.booleans(), label="identifier left to the server"):
            del body["identifier"]
    else:
        body = data.draw(parameter_context_body(snap))
    if group is not None:
        body["parentGroupId"] = group
    return Request("POST", f"/api/{PLURALS[kind]}", body, ascii_only=data.draw(st.booleans(), label="ascii"))


def existing(snap: Snapshot, kinds: tuple[str, ...] = KINDS) -> st.SearchStrategy[tuple[str, str, int]]:
    """(kind, identifier, revision) of a component there is, the root group included."""
    found = [(kind, ident, rev) for kind in kinds for ident, rev in snap.components[kind]]
    if "process-group" in kinds:
        found.append(("process-group", snap.root, snap.root_revision))
    return st.sampled_from(found)


def url_kind(kind: str, kinds: tuple[str, ...] = KINDS) -> st.SearchStrategy[str]:
    """``kind``, mostly; sometimes another (the URL names the wrong kind: 404)."""
    return weighted((15, st.just(kind)), (1, st.sampled_from(kinds)))


async def update(api: Api, data: st.DataObject, snap: Snapshot) -> Request:
    kind, ident, rev = data.draw(existing(snap), label="component")
    body: dict[str, Any]
    if kind == "processor":
        same = snap.types.get(ident, "LogAttribute")
        chosen = data.draw(weighted((15, st.just(same)), (1, st.sampled_from(SAFE_PROCESSORS))), label="type")
        body = data.draw(processor_body(snap, chosen))
    elif kind == "connection":  # its source cannot change; sending it (the same) is fine
        body = data.draw(connection_body(snap, snap.owner.get(ident, snap.root), ends=False))
        if data.draw(st.sampled_from([False] * 3 + [True]), label="new destination"):
            body["destination"] = {"id": data.draw(st.sampled_from(snap.ends.get(snap.owner.get(ident, ""))
                                                                   or ["nowhere"]))}
    elif kind == "funnel":
        body = data.draw(funnel_body(snap))
    elif kind in ("input-port", "output-port"):
        body = data.draw(port_body(snap))
    elif kind == "label":
        body = data.draw(label_body(snap))
    elif kind == "controller-service":
        body = data.draw(service_body(snap, snap.types.get(ident)))
    elif kind == "process-group":
        body = data.draw(bodies({
            "name": name_field(), "position": Field(POSITIONS, POSITIONS_BAD), "comments": text_field(),
            "parameterContext": Field(weighted((3, st.sampled_from(snap.contexts or ["ctx"]).map(lambda c: {"id": c})),
                                               (1, st.none())),
                                      st.sampled_from([{"id": "nope"}, {}, "ctx", 1])),
            "processors": Field(st.nothing(), st.just([]))}))
    else:
        body = data.draw(parameter_context_body(snap, snap.parameters.get(ident)))
    if kind != "process-group" and data.draw(st.sampled_from([True] * 6 + [False]), label="same identifier"):
        body.pop("identifier", None)  # else a new identifier: refused
    if data.draw(st.sampled_from([True] * 30 + [False]), label="with revision"):
        body["revision"] = data.draw(revisions(rev), label="revision")
    plural = PLURALS[data.draw(url_kind(kind), label="url kind")]
    return Request("PUT", f"/api/{plural}/{ident}", body, ascii_only=data.draw(st.booleans(), label="ascii"))


async def delete(api: Api, data: st.DataObject, snap: Snapshot) -> Request:
    kind, ident, rev = data.draw(existing(snap), label="component")
    revision = data.draw(weighted((8, st.just(str(rev))), (1, st.sampled_from(["", "x", "-1", "1.5", "9" * 30,
                                                                               str(rev + 1)]))), label="revision")
    drop = data.draw(st.sampled_from(["", "&drop=true", "&drop=false", "&drop=TRUE", "&drop=1"]), label="drop")
    plural = PLURALS[data.draw(url_kind(kind), label="url kind")]
    return Request("DELETE", f"/api/{plural}/{ident}?revision={revision}{drop}")


async def run_state(api: Api, data: st.DataObject, snap: Snapshot) -> Request:
    kind, ident, _ = data.draw(existing(snap, RUNNABLE), label="component")
    plural = PLURALS[data.draw(url_kind(kind, RUNNABLE), label="url kind")]
    return Request("PUT", f"/api/{plural}/{ident}/run-state",
                   {"state": data.draw(states(KIND_STATES[kind]), label="state")})


async def selection(api: Api, data: st.DataObject, snap: Snapshot) -> Request:
    chosen = data.draw(weighted((6, st.lists(st.sampled_from(snap.every_id()), max_size=6)),
                                (1, st.lists(texts(), max_size=2)), (1, WRONG_TYPES)), label="ids")
    return Request("PUT", "/api/run-state", {"ids": chosen, "state": data.draw(states(RUN_STATES[:4]), label="state")})


async def service_state(api: Api, data: st.DataObject, snap: Snapshot) -> Request:
    ident = data.draw(weighted((5, st.sampled_from(snap.services or ["svc"])), (1, st.sampled_from(snap.every_id()))),
                      label="service")
    body = data.draw(st.fixed_dictionaries({"state": states(SERVICE_STATES)},
                                           optional={"stopReferencing": weighted((4, st.booleans()),
                                                                                 (1, WRONG_TYPES))}))
    return Request("PUT", f"/api/controller-services/{ident}/state", body)


async def import_group(api: Api, data: st.DataObject, snap: Snapshot) -> Request:
    parent = data.draw(weighted((6, groups_of(snap)), (1, st.sampled_from(snap.every_id()))), label="parent")
    body: dict[str, Any] = {"flow": data.draw(weighted((12, flow_documents()), (1, WRONG_TYPES)), label="flow")}
    if data.draw(st.booleans(), label="with position"):
        body["position"] = data.draw(weighted((4, POSITIONS), (1, POSITIONS_BAD)), label="position")
    return Request("POST", f"/api/process-groups/{parent}/import", body)


async def reimport(api: Api, data: st.DataObject, snap: Snapshot) -> Request:
    """Export a group and import it again: an export is importable (where it fits)."""
    group = data.draw(st.sampled_from(snap.groups), label="exported group")[0]
    exported = await api.send(Request("GET", f"/api/process-groups/{group}/export"))
    assert exported.status_code == 200, exported.text
    parent = data.draw(groups_of(snap), label="parent")
    return Request("POST", f"/api/process-groups/{parent}/import", {"flow": exported.json()})


async def junk(api: Api, data: st.DataObject, snap: Snapshot) -> Request:
    """A body that is not the JSON object a route expects."""
    kind, ident, _ = data.draw(existing(snap), label="component")
    method, path = data.draw(st.sampled_from([
        ("POST", f"/api/{PLURALS[kind]}"), ("PUT", f"/api/{PLURALS[kind]}/{ident}"),
        ("PUT", f"/api/{PLURALS[kind]}/{ident}/run-state"), ("PUT", "/api/run-state"),
        ("POST", f"/api/process-groups/{snap.root}/import"), ("PUT", f"/api/controller-services/{ident}/state")]),
        label="route")
    raw = data.draw(st.one_of(st.sampled_from([b"[]", b"null", b"1", b'"x"', b"{", b"{}", b'{"revision": 0}',
                                               b'{"flow": null}', b'{"flow": []}', b"\xff\xfe", b"[[[]]]",
                                               b'{"revision": 0, "revision": 1}']),
                              WRONG_TYPES.map(lambda v: json.dumps(v).encode())), label="body")
    return Request(method, path, raw=raw)


async def history(api: Api, data: st.DataObject, snap: Snapshot) -> Request:
    return Request("POST", f"/api/{data.draw(st.sampled_from(['undo', 'undo', 'redo']), label='history')}")


STEPS = {"history": history, "create": create, "update": update, "delete": delete, "run-state": run_state,
         "selection": selection, "service-state": service_state, "import": import_group, "reimport": reimport,
         "junk": junk}


async def edit_then_restart(data: st.DataObject, tmp: Path) -> None:
    data_dir, initial = tmp / "data", tmp / "seed.json"
    initial.write_text(json.dumps(SEED_FLOW))
    log: list[str] = []
    with trio.fail_after(600):
        async with api_server(data_dir, log, initial) as api:
            for step in range(data.draw(st.integers(1, 12), label="steps")):
                snap = Snapshot.of(await api.flow())
                operation = data.draw(OPERATIONS, label=f"step {step}")
                if operation != "burst":
                    await api.send(await STEPS[operation](api, data, snap))
                    continue
                # a few requests at once, as a busy canvas sends them: edits are applied one at a time
                burst = [await STEPS[data.draw(st.sampled_from(sorted(set(STEPS) - {"reimport"})), label="burst")](
                    api, data, snap) for _ in range(data.draw(st.integers(2, 4), label="burst size"))]
                async with trio.open_nursery() as nursery:
                    for request in burst:
                        nursery.start_soon(api.send, request)
            live = definition(await api.flow())
            saved = saved_definition(data_dir)
        where = difference(live, saved)
        assert where is None, f"live flow != saved flow at {where}; the requests:\n" + "\n".join(log)
        async with api_server(data_dir, log) as api:
            restarted = definition(await api.flow())
        where = difference(live, restarted)
        assert where is None, f"flow before != after the restart at {where}; the requests:\n" + "\n".join(log)


@fuzz_settings(40)
@given(data=st.data())
def test_edit_sequences(data: st.DataObject) -> None:
    """Hypothesis's sequences of edits of every kind on a flow holding every kind:
    no 5xx, and the live flow is the saved flow, before and after a restart."""
    with server_environment(), tempfile.TemporaryDirectory() as tmp:
        trio.run(edit_then_restart, data, Path(tmp))


# -- imports on one long-running server, stopped with SIGTERM ---------------------------------

def import_into(client: httpx.Client, parent: str, flow: Any, log: list[str]) -> httpx.Response:
    content = json.dumps({"flow": flow}).encode()
    answer = client.post(f"/api/process-groups/{parent}/import", content=content,
                         headers={"Content-Type": "application/json"})
    log.append(f"POST /api/process-groups/{parent}/import {shown(content)}\n  -> {answer.status_code} "
               f"{answer.text[:500]}")
    assert answer.status_code < 500, "a server error; the imports, oldest first:\n" + "\n".join(log[-20:])
    return answer


def test_generated_imports(tmp_path: Path) -> None:
    """Generated flow files imported one after the other into one ``flowyard serve``
    (into the root group or the group imported last, so nesting adds up): no
    5xx; nesting to the limit is accepted and past it refused; then the server
    is stopped with SIGTERM: the flow it showed is what flow.json holds, and what
    it shows after a restart."""
    data_dir = tmp_path / "data"
    process, url = start_server(data_dir)
    log: list[str] = []
    try:
        with client_for(url) as client:
            root = client.get("/api/flow").json()["rootGroup"]["identifier"]
            parents = [root]

            def imports(flows: st.SearchStrategy[Any], examples: int, *, nested: bool = True) -> None:
                @fuzz_settings(examples)
                @given(flow=flows, into_last=st.booleans() if nested else st.just(False))
                def one_import(flow: Any, into_last: bool) -> None:
                    answer = import_into(client, parents[-1] if into_last else root, flow, log)
                    if answer.status_code == 201:
                        parents.append(answer.json()["identifier"])
                one_import()

            imports(flow_documents(), 30)
            for depth in (MAX_GROUP_DEPTH - 2, MAX_GROUP_DEPTH - 1, MAX_GROUP_DEPTH, 48):
                imports(flow_documents(depth=depth), 2, nested=False)
            for size in ("medium", "large"):
                imports(flow_documents(size=size), 2, nested=False)
            for depth, expected in ((MAX_GROUP_DEPTH - 1, 201), (MAX_GROUP_DEPTH, 400)):
                deep: dict[str, Any] = {"identifier": "top"}
                inner = deep
                for level in range(depth):
                    inner["processGroups"] = [{"identifier": f"g{level}"}]
                    inner = inner["processGroups"][0]
                answer = import_into(client, root, {"flowyardFlowVersion": 1, "rootGroup": deep}, log)
                assert answer.status_code == expected, answer.text
            large = {"flowyardFlowVersion": 1, "rootGroup": {"identifier": "big", "processors": [
                {"identifier": f"p{i}", "type": "LogAttribute", "scheduledState": "STOPPED"} for i in range(6000)]}}
            answer = import_into(client, root, large, log)
            assert answer.status_code == 201, answer.text
            live = definition(client.get("/api/flow").json())
        saved = saved_definition(data_dir)
    finally:
        output = stop_server(process)
    assert "Traceback" not in output, output[-3000:]
    where = difference(live, saved)
    assert where is None, f"live flow != saved flow at {where}"
    process, url = start_server(data_dir)
    try:
        with client_for(url) as client:
            restarted = definition(client.get("/api/flow").json())
    finally:
        stop_server(process)
    where = difference(live, restarted)
    assert where is None, f"flow before != after the restart at {where}"
