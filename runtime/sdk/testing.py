"""``ProcessorRunner``: run one processor in isolation, like NiFi's TestRunner.

    runner = ProcessorRunner(UpdateAttribute)
    runner.set_property("color", "blue")
    runner.enqueue(b"hello", {"filename": "a.txt"})
    runner.run()
    runner.assert_all_transferred("success", 1)
    runner.flowfiles_for("success")[0].assert_attribute_equals("color", "blue")

Controller services are added and enabled as in nifi-mock's TestRunner; the
processor's property names the service by its id::

    runner = ProcessorRunner(LookupAttribute)
    runner.add_controller_service("lookup", SimpleKeyValueLookupService, {"color": "blue"})
    runner.enable_controller_service("lookup")
    runner.set_property("Lookup Service", "lookup")

The runner uses the production session and repositories (in memory), so a
flowfile that is neither transferred nor removed fails here exactly as in a
running flow. Services go through the production validation and lifecycle
too: an invalid service cannot be enabled, a processor naming a missing,
disabled or unsuitable service is invalid, and a service cannot be disabled
while the processor that uses it is scheduled. Time is a mock clock (``runner.clock``) that only moves when a
test advances it. Every relationship is captured in its own queue; none is
auto-terminated unless the test says so.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterable, Mapping
from typing import Any

import trio

from flowyard.runtime.engine._component import ConfiguredProcessor
from flowyard.runtime.engine._queue import FlowFileQueue
from flowyard.runtime.engine._service_node import ConfiguredControllerService, ControllerServiceRegistry
from flowyard.runtime.engine._session import Routing, StandardProcessSession
from flowyard.runtime.repository import Repositories
from flowyard.runtime.sdk._errors import ConfigurationError, InvalidComponentError, ProcessingError
from flowyard.runtime.sdk._flowfile import FlowFile
from flowyard.runtime.sdk._processor import Processor
from flowyard.runtime.sdk._properties import Evaluator, ValidationResult
from flowyard.runtime.sdk._provenance import ProvenanceEvent, ProvenanceEventType
from flowyard.runtime.sdk._service import ControllerService

__all__ = ["MockClock", "MockFlowFile", "ProcessorRunner"]

_START_MS = 1_700_000_000_000


class MockClock:
    """Milliseconds since the epoch that move only when told to."""

    def __init__(self, start_ms: int = _START_MS) -> None:
        self.now_ms = start_ms

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``."""
        self.now_ms += int(seconds * 1000)


class _OutputQueue(FlowFileQueue):
    """A captured relationship's queue, which a test can mark full (unavailable)."""

    unavailable = False

    def is_full(self) -> bool:
        """Full when marked unavailable, else by its thresholds (none)."""
        return self.unavailable or super().is_full()


class MockFlowFile:
    """A flowfile as a test sees it: attributes plus content bytes."""

    def __init__(self, flowfile: FlowFile, content: bytes) -> None:
        self.flowfile = flowfile
        self.attributes: dict[str, str] = dict(flowfile.attributes)
        self.content = content

    @property
    def size(self) -> int:
        """Content size in bytes."""
        return len(self.content)

    def is_penalized(self, now_ms: int) -> bool:
        """Whether the flowfile is penalized at ``now_ms``."""
        return self.flowfile.is_penalized(now_ms)

    def assert_attribute_equals(self, key: str, value: str | None) -> None:
        """Fail unless attribute ``key`` is ``value`` (None: absent)."""
        actual = self.attributes.get(key)
        assert actual == value, f"attribute {key!r} is {actual!r}, expected {value!r}"

    def assert_attribute_exists(self, key: str) -> None:
        """Fail unless attribute ``key`` is present."""
        assert key in self.attributes, f"attribute {key!r} missing; present: {sorted(self.attributes)}"

    def assert_content_equals(self, expected: bytes | str) -> None:
        """Fail unless the content is ``expected`` (str is UTF-8 encoded)."""
        data = expected.encode() if isinstance(expected, str) else expected
        assert self.content == data, f"content is {self.content[:200]!r}, expected {data[:200]!r}"

    def __repr__(self) -> str:
        return f"MockFlowFile({self.attributes.get('filename')!r}, size={self.size})"


class ProcessorRunner:
    """Configure, feed and run one processor; inspect what it did."""

    def __init__(
        self,
        processor_type: type[Processor],
        *,
        evaluator: Evaluator | None = None,
        parameters: Mapping[str, str] | None = None,
        expression_language: bool = True,
        component_id: str = "test-processor",
    ) -> None:
        """``evaluator`` defaults to NiFi's Expression Language with ``parameters``
        (as in the engine); ``expression_language=False`` takes values literally."""
        self.processor_type = processor_type
        self.component_id = component_id
        self.clock = MockClock()
        self.repositories = Repositories.in_memory()
        if evaluator is None and expression_language:
            from flowyard.runtime import expression

            evaluator = expression.evaluator(parameters)
        self._evaluator = evaluator
        self._parameters = dict(parameters or {}) if evaluator is not None else None
        self._properties: dict[str, str | None] = {}
        self._auto_terminated: set[str] = set()
        self._unavailable: set[str] = set()
        self._input = FlowFileQueue("input", self.repositories.flowfiles.queue_id("input"),
                                    object_threshold=0, size_threshold=0, swap_threshold=1 << 62)
        self._outputs: dict[str, FlowFileQueue] = {}
        self._scheduled = False
        self._configured: ConfiguredProcessor | None = None
        self.has_input_connection = processor_type.spec.input_requirement.value != "INPUT_FORBIDDEN"
        self.yield_count = 0
        self.errors: list[BaseException] = []
        self.bulletins: list[tuple[str, str]] = []
        #: The controller services added to this runner (all visible to the processor).
        self.services = ControllerServiceRegistry()
        self._service_setup: dict[str, tuple[type[ControllerService] | ControllerService, str | None,
                                             dict[str, str | None]]] = {}

    def _bulletin(self, level: str, message: str) -> None:
        """Messages at WARNING and above become bulletins (the engine's default bulletin level)."""
        if level in ("WARNING", "ERROR"):
            self.bulletins.append((level, message))

    # -- configuration --------------------------------------------------------------

    def set_property(self, name: str, value: str | None) -> None:
        """Set a property by key, display name or alias (or a dynamic name); None unsets it."""
        self._properties[name] = value
        self._configured = None

    def remove_property(self, name: str) -> None:
        """Unset a property."""
        self.set_property(name, None)

    def set_relationship_unavailable(self, relationship: str) -> None:
        """Back-pressure ``relationship`` (NiFi's ``setRelationshipUnavailable``):
        ``session.available_relationships()`` leaves it out until
        ``set_relationship_available``. The runner still triggers the processor."""
        self._set_availability(relationship, available=False)

    def set_relationship_available(self, relationship: str) -> None:
        """Undo ``set_relationship_unavailable``."""
        self._set_availability(relationship, available=True)

    def _available(self, names: tuple[str, ...]) -> frozenset[str]:
        return frozenset(name for name in names if name not in self._unavailable)

    def _set_availability(self, relationship: str, *, available: bool) -> None:
        if available:
            self._unavailable.discard(relationship)
        else:
            self._unavailable.add(relationship)
        queue = self._outputs.get(relationship)
        if isinstance(queue, _OutputQueue):
            queue.unavailable = not available

    def auto_terminate(self, *relationships: str) -> None:
        """Drop flowfiles routed to ``relationships`` (DROP events) instead of capturing them."""
        self._auto_terminated.update(relationships)
        self._configured = None

    def _configure(self) -> ConfiguredProcessor:
        if self._configured is None:
            self._configured = ConfiguredProcessor(
                self.processor_type, component_id=self.component_id, properties=self._properties,
                evaluator=self._evaluator, bulletins=self._bulletin,
                clock=self.clock, parameters=self._parameters, services=self.services,
            )
            self._scheduled = False
        return self._configured

    @property
    def context(self) -> Any:
        """The ProcessContext the processor sees."""
        return self._configure().context

    @property
    def processor(self) -> Processor:
        """The processor instance."""
        return self._configure().processor

    def validation_results(self) -> list[ValidationResult]:
        """Everything wrong with the configuration (relationships are not checked)."""
        return self._configure().validation_results(has_input=self.has_input_connection)

    def assert_valid(self) -> None:
        """Fail with the validation results unless the configuration is valid."""
        results = self.validation_results()
        assert not results, "processor is not valid: " + "; ".join(map(str, results))

    def assert_not_valid(self) -> None:
        """Fail unless the configuration is invalid."""
        assert self.validation_results(), "processor is valid, expected it not to be"

    # -- controller services ------------------------------------------------------------

    def add_controller_service(
        self,
        service_id: str,
        service: type[ControllerService] | ControllerService,
        properties: Mapping[str, str | None] | None = None,
        *,
        name: str | None = None,
    ) -> ControllerService:
        """Add a controller service (a class, or an instance to use as is), disabled,
        and return its instance. ``properties`` are named like a processor's (key,
        display name, alias or dynamic name). Raises ``ConfigurationError`` for a
        property the service does not know, or when ``service_id`` is taken by an
        enabled service."""
        self._service_setup[service_id] = (service, name, dict(properties or {}))
        return self._build_service(service_id).service

    def _build_service(self, service_id: str) -> ConfiguredControllerService:
        service, name, properties = self._service_setup[service_id]
        node = ConfiguredControllerService(
            service, component_id=service_id, name=name, properties=properties, evaluator=self._evaluator,
            parameters=self._parameters, clock=self.clock, services=self.services,
            bulletins=self._bulletin,
        )
        self.services.add(node)
        return node

    def set_controller_service_property(self, service_id: str, name: str, value: str | None) -> None:
        """Set (None: unset) one property of a disabled service. Raises
        ``ConfigurationError`` while the service is enabled, ``KeyError`` for an unknown id."""
        node = self.services.node(service_id)
        if node.enabled:
            raise ConfigurationError(
                f"controller service {node.label} is enabled; disable it before changing its configuration")
        # the instance is kept across reconfigurations, as NiFi keeps one per service
        _, label, properties = self._service_setup[service_id]
        self._service_setup[service_id] = (node.service, label, {**properties, name: value})
        self._build_service(service_id)

    def enable_controller_service(self, service_id: str) -> None:
        """Validate the service and call its ``on_enabled``. Raises
        ``InvalidComponentError`` naming each invalid property, or
        ``FlowyardError`` when ``on_enabled`` fails; the service then stays disabled."""
        self.services.enable(service_id)

    def disable_controller_service(self, service_id: str) -> None:
        """Call the service's ``on_disabled``. Raises ``ConfigurationError`` while the
        processor is scheduled (``run(stop_on_finish=False)``) and uses the
        service, or while an enabled service names it — as the engine would."""
        if self._scheduled and self._configured is not None \
                and service_id in self._configured.referenced_services().values():
            raise ConfigurationError(
                f"controller service {service_id!r} is used by the scheduled processor; stop it first (stop())")
        self.services.disable(service_id)

    def remove_controller_service(self, service_id: str) -> None:
        """Remove a disabled service. Raises ``ConfigurationError`` while it is enabled."""
        self.services.remove(service_id)
        del self._service_setup[service_id]

    def controller_service(self, service_id: str) -> ControllerService:
        """The instance of the service ``service_id`` (enabled or not)."""
        return self.services.node(service_id).service

    def controller_service_validation_results(self, service_id: str) -> list[ValidationResult]:
        """Everything that keeps the service from being enabled."""
        return self.services.node(service_id).validation_results()

    # -- input ----------------------------------------------------------------------

    def enqueue(self, content: bytes | str = b"", attributes: Mapping[str, str] | None = None) -> None:
        """Put one flowfile with ``content`` and ``attributes`` on the input queue."""
        self.enqueue_many([(content, attributes or {})])

    def enqueue_many(self, items: Iterable[tuple[bytes | str, Mapping[str, str]]]) -> None:
        """Put several flowfiles on the input queue in order."""
        routing = Routing("test-source", "TestSource", destinations={"success": [self._input]})
        session = StandardProcessSession(routing, self.repositories, self.clock)
        for content, attributes in items:
            ff = session.create()
            data = content.encode() if isinstance(content, str) else content
            if data:
                ff = session.write(ff, data)
            if attributes:
                ff = session.put_attributes(ff, {k: v for k, v in attributes.items() if k != "uuid"})
            session.transfer(ff, "success")
        self._commit(session)

    @property
    def queue_size(self) -> int:
        """Flowfiles still on the input queue (including penalized ones)."""
        return self._input.count

    def input_flowfiles(self) -> list[MockFlowFile]:
        """The flowfiles still on the input queue, in order."""
        return [self._mock(ff) for ff in self._input.listing(1 << 30)]

    # -- running --------------------------------------------------------------------

    def _routing(self, configured: ConfiguredProcessor) -> Routing:
        for name in configured.relationship_names:
            if name not in self._outputs and name not in self._auto_terminated:
                qid = self.repositories.flowfiles.queue_id(f"out:{name}")
                queue = _OutputQueue(f"out:{name}", qid, object_threshold=0, size_threshold=0,
                                     swap_threshold=1 << 62)
                queue.unavailable = name in self._unavailable
                self._outputs[name] = queue
        return Routing(
            self.component_id, configured.type_name,
            inputs=[self._input],
            destinations={n: [q] for n, q in self._outputs.items() if n in configured.relationship_names},
            auto_terminated=self._auto_terminated & set(configured.relationship_names),
            penalty_ms=int(configured.penalty_seconds * 1000),
        )

    def _commit(self, session: StandardProcessSession) -> None:
        prepared = session.prepare_commit()
        now = self.clock()
        rejected = self.repositories.write([prepared.transaction], now)
        if rejected:
            prepared.abort(None)
            raise ProcessingError("component state changed concurrently; session rolled back")
        prepared.apply(now)

    def _call(self, fn: Any, *args: Any) -> Any:
        if inspect.iscoroutinefunction(fn):
            async def main() -> Any:
                return await fn(*args)
            return trio.run(main)
        return fn(*args)

    def run(self, iterations: int = 1, *, stop_on_finish: bool = True, initialize: bool = True,
            raise_errors: bool = True) -> None:
        """Trigger the processor ``iterations`` times, committing after each like the engine.

        Calls ``on_scheduled`` first (if ``initialize`` and not yet scheduled)
        and ``on_stopped`` last (if ``stop_on_finish``). Raises
        ``InvalidComponentError`` if the configuration is invalid. A
        ``ProcessingError`` rolls the session back and penalizes its input,
        as in production, and is recorded in ``errors``; any other exception
        also rolls back and counts a yield, then is raised (unless
        ``raise_errors`` is False, when it is only recorded).
        """
        configured = self._configure()
        results = configured.validation_results(has_input=self.has_input_connection)
        if results:
            raise InvalidComponentError(configured.name, results)
        routing = self._routing(configured)
        processor, context = configured.processor, configured.context
        context.has_incoming_connection = self.has_input_connection
        context.relationship_availability = functools.partial(self._available, configured.relationship_names)
        if initialize and not self._scheduled:
            self._call(processor.on_scheduled, context)
            self._scheduled = True
        try:
            for _ in range(iterations):
                context.yield_requested = False
                session = StandardProcessSession(
                    routing, self.repositories, self.clock,
                    state_reader=self._read_state, commit_hook=self._commit,
                )
                try:
                    self._call(processor.on_trigger, context, session)
                    self._commit(session)
                except ProcessingError as exc:
                    session.rollback(penalize=True)
                    self.errors.append(exc)
                    continue
                except Exception as exc:
                    session.rollback(penalize=True)
                    self.errors.append(exc)
                    self.yield_count += 1
                    self.bulletins.append(("ERROR", f"{configured.name} failed to process session: {exc}"))
                    if raise_errors:
                        raise
                    continue
                if context.yield_requested:
                    self.yield_count += 1
        finally:
            if stop_on_finish and self._scheduled:
                self._call(processor.on_stopped, context)
                self._scheduled = False

    def stop(self) -> None:
        """Call ``on_stopped`` if the processor is scheduled (after ``run(stop_on_finish=False)``)."""
        if self._scheduled:
            configured = self._configure()
            self._call(configured.processor.on_stopped, configured.context)
            self._scheduled = False

    def _read_state(self, component_id: str) -> tuple[int, dict[str, str]]:
        state = self.repositories.state.get(component_id)
        return state.version, dict(state.values)

    # -- inspection -----------------------------------------------------------------

    def _mock(self, ff: FlowFile) -> MockFlowFile:
        content = self.repositories.content.read_bytes(ff.claim) if ff.claim is not None else b""
        return MockFlowFile(ff, content)

    def flowfiles_for(self, relationship: str) -> list[MockFlowFile]:
        """Flowfiles routed to ``relationship`` so far, in order."""
        queue = self._outputs.get(relationship)
        if queue is None:
            return []
        return [self._mock(ff) for ff in sorted(queue.listing(1 << 30), key=lambda f: f[7])]

    def assert_transferred(self, relationship: str, count: int) -> None:
        """Fail unless exactly ``count`` flowfiles went to ``relationship``."""
        n = len(self.flowfiles_for(relationship))
        assert n == count, f"{n} flowfile(s) transferred to {relationship!r}, expected {count}"

    def assert_all_transferred(self, relationship: str, count: int | None = None) -> None:
        """Fail unless every output flowfile went to ``relationship`` (and there are ``count``)."""
        elsewhere = {name: q.count for name, q in self._outputs.items() if name != relationship and q.count}
        assert not elsewhere, f"flowfiles went elsewhere than {relationship!r}: {elsewhere}"
        if count is not None:
            self.assert_transferred(relationship, count)

    def assert_queue_empty(self) -> None:
        """Fail unless the input queue is empty."""
        assert self._input.count == 0, f"{self._input.count} flowfile(s) still on the input queue"

    def clear_transfer_state(self) -> None:
        """Forget what was transferred so far."""
        for queue in self._outputs.values():
            taken, _ = queue.poll(1 << 30, 1 << 62)
            queue.acknowledge(taken)

    @property
    def penalized_count(self) -> int:
        """Flowfiles on the input queue that are penalized now."""
        return self._input.status().penalized

    def provenance_events(self, event_type: ProvenanceEventType | None = None) -> list[ProvenanceEvent]:
        """Provenance events the processor produced (not the runner's enqueues), in order."""
        return [
            e for e in self.repositories.provenance.events()
            if e.component_id == self.component_id and (event_type is None or e.event_type == event_type)
        ]

    def state(self) -> dict[str, str]:
        """The processor's component state."""
        return dict(self.repositories.state.get(self.component_id).values)
