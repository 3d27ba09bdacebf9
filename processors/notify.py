"""Notify: add to a release signal in a map cache, for Wait."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flowyard.processors import _wait_notify
from flowyard.processors.map_cache import DISTRIBUTED_MAP_CACHE_CLIENT, DistributedMapCacheClient
from flowyard.runtime.sdk import (
    ExpressionScope,
    FlowFile,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    Relationship,
    validators,
)
from flowyard.runtime.sdk.javaregex import compile_java, java_regex_problem

__all__ = ["NOTIFIED", "Notify"]

NOTIFIED = "notified"
_JAVA_INT = re.compile(r"[+-]?[0-9]+")

SUCCESS = Relationship("success", "FlowFiles whose release signal was recorded in the cache (notified=true).")
FAILURE = Relationship(
    "failure",
    "FlowFiles whose Release Signal Identifier is empty or whose Signal Counter Delta is not an integer "
    "(notified=false).",
)

JAVA_REGEX = validators.Validator(
    "Java regular expression", "a regular expression in Java's syntax", lambda value: java_regex_problem(value)
)

DISTRIBUTED_CACHE_SERVICE = PropertySpec(
    key="distributed-cache-service",
    display_name="Distributed Cache Service",
    description="The map cache the release signals are written to, shared with the Wait processors.",
    required=True,
    identifies_controller_service=DISTRIBUTED_MAP_CACHE_CLIENT,
)
RELEASE_SIGNAL_IDENTIFIER = PropertySpec(
    key="release-signal-identifier",
    display_name="Release Signal Identifier",
    description="Evaluated against each FlowFile: the cache key of the release signal to notify.",
    required=True,
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
    aliases=("release-signal-id",),
)
SIGNAL_COUNTER_NAME = PropertySpec(
    key="signal-counter-name",
    display_name="Signal Counter Name",
    description=(
        "Evaluated against each FlowFile: the counter of the signal to change (e.g. success or failure), so "
        "Wait can count kinds of events apart; empty means 'default'."
    ),
    required=True,
    default=_wait_notify.DEFAULT_COUNT_NAME,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
SIGNAL_COUNTER_DELTA = PropertySpec(
    key="signal-counter-delta",
    display_name="Signal Counter Delta",
    description=(
        "Evaluated against each FlowFile: how much the counter grows. 0 clears the counter, which with Wait's "
        "Releasable FlowFile Count of 0 closes a gate that 1 opened."
    ),
    required=True,
    default="1",
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
SIGNAL_BUFFER_COUNT = PropertySpec(
    key="signal-buffer-count",
    display_name="Signal Buffer Count",
    description=(
        "How many FlowFiles are taken at once; their signals are grouped by identifier so the cache is written "
        "once per identifier."
    ),
    required=True,
    default="1",
    validator=validators.POSITIVE_INTEGER,
)
ATTRIBUTE_CACHE_REGEX = PropertySpec(
    key="attribute-cache-regex",
    display_name="Attribute Cache Regular Expression",
    description=(
        "Attributes whose whole name matches this (Java) regular expression are stored with the signal and "
        "copied to the FlowFiles Wait releases; uuid never is. Unset: no attribute is stored."
    ),
    validator=JAVA_REGEX,
)


@dataclass(slots=True)
class _Buffer:
    deltas: dict[str, int] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)
    flowfiles: list[FlowFile] = field(default_factory=list)

    def add(self, counter: str, delta: int) -> None:
        # as NiFi: a 0 clears what was buffered, later deltas add to it again
        self.deltas[counter] = 0 if delta == 0 else self.deltas.get(counter, 0) + delta


class Notify(Processor):
    """Adds Signal Counter Delta to the counter Signal Counter Name of the
    release signal stored in the map cache under each FlowFile's Release
    Signal Identifier, and stores the attributes matching Attribute Cache
    Regular Expression with it, so a Wait processor can release the
    FlowFiles waiting for that signal.

    The signal is stored as NiFi stores it (JSON with counts, attributes and
    releasableCount). Up to Signal Buffer Count FlowFiles are taken at once
    and their deltas summed per identifier and counter before the cache is
    written (a delta of 0 clears, as in NiFi), so one write serves many
    FlowFiles. Each write is a compare-and-set retried a few times, so
    concurrent Notify and Wait tasks never lose an update. FlowFiles go to
    success with ``notified`` true; an empty identifier or a delta that is
    not an integer sends a FlowFile to failure with ``notified`` false and an
    error logged. When the cache fails or keeps changing under us, the
    session is rolled back (FlowFiles return to the queue, penalized) — as
    in NiFi, signals written before the failure stay written.

    Differences from NiFi: the cache is flowyard's map cache API
    (``fetch``/``replace``, like NiFi's AtomicDistributedMapCacheClient); a
    cached value that is not a signal is an error (NiFi also reads the
    attribute format of its 1.x Notify); Java regular expressions are
    translated to Python's (see ``flowyard.runtime.sdk.javaregex``).
    """

    spec = ProcessorSpec(
        description=(
            "Records a release signal (an identifier with counters, and optionally attributes) in a map cache, where "
            "Wait processors look for it to release the FlowFiles waiting on it."
        ),
        tags=("map", "cache", "notify", "distributed", "signal", "release", "wait"),
        properties=(RELEASE_SIGNAL_IDENTIFIER, SIGNAL_COUNTER_NAME, SIGNAL_COUNTER_DELTA, SIGNAL_BUFFER_COUNT,
                    DISTRIBUTED_CACHE_SERVICE, ATTRIBUTE_CACHE_REGEX),
        relationships=(SUCCESS, FAILURE),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=((NOTIFIED, "'true' when the signal was recorded, 'false' when it could not be."),),
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Notify the signals of up to Signal Buffer Count FlowFiles."""
        batch = session.get_batch(context.property(SIGNAL_BUFFER_COUNT).as_int())
        if not batch:
            return
        regex_text = context.property(ATTRIBUTE_CACHE_REGEX).value
        regex = compile_java(regex_text).regex if regex_text else None
        buffers: dict[str, _Buffer] = {}
        for ff in batch:
            attributes = ff.attributes
            try:
                signal_id = context.property(RELEASE_SIGNAL_IDENTIFIER).evaluate(attributes).value or ""
                counter = context.property(SIGNAL_COUNTER_NAME).evaluate(attributes).value or ""
                delta_text = context.property(SIGNAL_COUNTER_DELTA).evaluate(attributes).value or ""
            except ValueError as exc:
                self._fail(context, session, ff, f"its properties cannot be evaluated: {exc}")
                continue
            if not signal_id.strip():
                self._fail(context, session, ff, "the Release Signal Identifier evaluated to an empty value")
                continue
            if not _JAVA_INT.fullmatch(delta_text) or not -(2**31) <= int(delta_text) < 2**31:
                self._fail(context, session, ff, f"the Signal Counter Delta {delta_text!r} is not an integer")
                continue
            buffer = buffers.setdefault(signal_id, _Buffer())
            if regex is not None:
                buffer.attributes.update(
                    {k: v for k, v in attributes.items() if k != "uuid" and regex.fullmatch(k)}
                )
            buffer.add(counter or _wait_notify.DEFAULT_COUNT_NAME, int(delta_text))
            buffer.flowfiles.append(ff)
        if not buffers:
            return
        cache = context.property(DISTRIBUTED_CACHE_SERVICE).as_controller_service(DistributedMapCacheClient)
        for signal_id, buffer in buffers.items():
            _wait_notify.notify(cache, signal_id, buffer.deltas, buffer.attributes)
            for ff in buffer.flowfiles:
                session.transfer(session.put_attribute(ff, NOTIFIED, "true"), SUCCESS)

    @staticmethod
    def _fail(context: ProcessContext, session: ProcessSession, ff: FlowFile, reason: str) -> None:
        context.logger.error(f"cannot notify for {ff!r}: {reason}; routing it to failure")
        session.transfer(session.put_attribute(ff, NOTIFIED, "false"), FAILURE)
