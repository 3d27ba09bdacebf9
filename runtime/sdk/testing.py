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

The runner runs the production trigger path: a ``ProcessorNode`` (the
engine's) on a ``TestHost`` with in-memory repositories, the production
session and committer. So a flowfile that is neither transferred nor removed
fails here exactly as in a running flow, and what a trigger raises is handled
as the engine handles it (rollback, penalty, bulletin, administrative yield,
unreadable content sent to failure; see ``flowyard.runtime.engine._node``).
Services go through the production validation and lifecycle too: an invalid
service cannot be enabled, a processor naming a missing, disabled or
unsuitable service is invalid, and a service cannot be disabled while the
processor that uses it is scheduled. Time is a mock clock (``runner.clock``)
that moves when a test advances it, and by ``trigger_cost`` per ``on_trigger``
call within a run duration (``run(run_duration="25 ms")``). Every
relationship is captured in its own queue; none is auto-terminated unless the
test says so.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeVar

import outcome
import trio

from flowyard.runtime.engine._cluster_state import ClusterStateStore
from flowyard.runtime.engine._committer import Committer, PendingCommit
from flowyard.runtime.engine._component import ConfiguredProcessor
from flowyard.runtime.engine._host import Bulletin, committing_session
from flowyard.runtime.engine._node import ProcessorNode
from flowyard.runtime.engine._queue import FlowFileQueue
from flowyard.runtime.engine._service_node import ConfiguredControllerService, ControllerServiceRegistry
from flowyard.runtime.engine._session import Routing, StandardProcessSession
from flowyard.runtime.flow import ProcessorDef
from flowyard.runtime.repository import Repositories
from flowyard.runtime.sdk._errors import ConfigurationError, InvalidComponentError, ProcessingError
from flowyard.runtime.sdk._flowfile import FlowFile
from flowyard.runtime.sdk._processor import Processor
from flowyard.runtime.sdk._properties import Evaluator, ValidationResult
from flowyard.runtime.sdk._provenance import ProvenanceEvent, ProvenanceEventType
from flowyard.runtime.sdk._service import ControllerService
from flowyard.runtime.sdk._testing_mock import MockClock, MockFlowFile
from flowyard.runtime.sdk._units import parse_duration

__all__ = ["MockClock", "MockFlowFile", "ProcessorRunner", "TestHost"]

#: Levels that become bulletins (the engine's default bulletin level, WARN).
_BULLETIN_LEVELS = ("WARN", "WARNING", "ERROR")

T = TypeVar("T")


class _OutputQueue(FlowFileQueue):
    """A captured relationship's queue, which a test can mark full (unavailable)."""

    unavailable = False

    def is_full(self) -> bool:
        """Full when marked unavailable, else by its thresholds (none)."""
        return self.unavailable or super().is_full()


class _Disk:
    """The test host's disk: never short of space."""

    paused = False


class TestHost:
    """The engine's side of a processor node, for one processor run in isolation
    (a ``NodeHost``): in-memory repositories written through the production
    ``Committer``, a mock clock, and bulletins kept for the test to read.

    ``run`` executes one piece of async work in a trio run on the mock clock,
    with the committer's task beside it (as the engine runs its nodes)."""

    __test__ = False  # not a pytest test class

    def __init__(self, repositories: Repositories, clock: MockClock,
                 state_reader: Callable[[str], tuple[int, dict[str, str]]], *,
                 max_threads: int = 8, grace_seconds: float = 10.0) -> None:
        self.repositories = repositories
        self.mock_clock = clock
        self.state_reader = state_reader
        self.grace_seconds = grace_seconds
        self.thread_limiter = trio.CapacityLimiter(max_threads)
        self.disk = _Disk()
        self.cluster_state: ClusterStateStore | None = None  # a single node: state in the repository
        self.committer = Committer(repositories, clock)
        self.bulletins: collections.deque[Bulletin] = collections.deque(maxlen=1000)
        self.bulletin_count = 0
        #: Writes that failed for want of space (the engine pauses processing then).
        self.storage_full_errors: list[BaseException] = []

    def clock(self) -> int:
        return self.mock_clock()

    def clock_seconds(self) -> float:
        return self.mock_clock.seconds()

    def new_session(self, node: ProcessorNode, early: list[PendingCommit]) -> StandardProcessSession:
        return committing_session(node.routing, self.repositories, self.clock, self.committer, early,
                                  self.state_reader)

    def storage_full(self, error: BaseException) -> None:
        self.storage_full_errors.append(error)

    def bulletin(self, component_id: str, name: str, level: str, message: str) -> None:
        """Keep a bulletin of a component that is not a node (a controller service) at WARN and above."""
        if level in _BULLETIN_LEVELS:
            self.bulletins.append(Bulletin(self.clock(), component_id, name, level, message))
            self.bulletin_count += 1

    def run(self, work: Callable[[], Awaitable[T]]) -> T:
        """``await work()`` on the mock clock beside the committer's task; return its result
        or raise its exception (as is, not in an exception group)."""
        async def main() -> outcome.Outcome[T]:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self.committer.run)
                result = await outcome.acapture(work)
                nursery.cancel_scope.cancel()  # the committer writes what is pending first
            return result

        return trio.run(main, clock=self.mock_clock.trio_clock).unwrap()


class ProcessorRunner:
    """Configure, feed and run one processor; inspect what it did.

    ``run`` triggers a real ``ProcessorNode`` (the engine's) on a ``TestHost``:
    the outcome of a trigger — commit, rollback and penalty, bulletin,
    administrative yield, unreadable content sent to failure — is the engine's.
    """

    def __init__(
        self,
        processor_type: type[Processor],
        *,
        evaluator: Evaluator | None = None,
        parameters: Mapping[str, str] | None = None,
        expression_language: bool = True,
        component_id: str = "test-processor",
        repositories: Repositories | None = None,
    ) -> None:
        """``evaluator`` defaults to NiFi's Expression Language with ``parameters``
        (as in the engine); ``expression_language=False`` takes values literally.
        ``repositories`` default to in-memory ones."""
        self.processor_type = processor_type
        self.component_id = component_id
        self.clock = MockClock()
        self.repositories = repositories or Repositories.in_memory()
        #: Seconds each ``on_trigger`` call moves the clock on while a run duration is set,
        #: so that the run duration ends after a known number of calls. Without a run
        #: duration the clock stands still during ``run`` (times a test sets stay exact).
        self.trigger_cost = 0.001
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
        self._node: ProcessorNode | None = None
        self.has_input_connection = processor_type.spec.input_requirement.value != "INPUT_FORBIDDEN"
        #: Triggers after which the processor yielded (asked to, or administratively after an error).
        self.yield_count = 0
        #: Why triggers failed, in order (``ProcessingError`` and anything else).
        self.errors: list[BaseException] = []
        #: The controller services added to this runner (all visible to the processor).
        self.services = ControllerServiceRegistry()
        self._service_setup: dict[str, tuple[type[ControllerService] | ControllerService, str | None,
                                             dict[str, str | None]]] = {}

    @property
    def repositories(self) -> Repositories:
        """Where flowfiles, content, provenance and state are kept (and the node commits to)."""
        return self.host.repositories

    @repositories.setter
    def repositories(self, repositories: Repositories) -> None:
        """Use other repositories (before anything is enqueued): a new host on them."""
        #: What the node runs on; ``host.bulletins`` holds the bulletins as the engine has them.
        self.host = TestHost(repositories, self.clock, lambda component_id: self._read_state(component_id))

    @property
    def bulletins(self) -> list[tuple[str, str]]:
        """(level, message) of every bulletin so far (WARN and above, as the engine keeps them)."""
        return [(b.level, b.message) for b in self.host.bulletins]

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
                evaluator=self._evaluator, bulletins=self._node_bulletin,
                clock=self.clock, parameters=self._parameters, services=self.services,
            )
            definition = ProcessorDef(identifier=self.component_id, type=self._configured.type_name)
            self._node = ProcessorNode(definition, self._configured)
            self._node.after_on_trigger = self._charge
            self._scheduled = False
        return self._configured

    def _node_bulletin(self, level: str, message: str) -> None:
        if self._node is not None:
            self._node.bulletin(self.host, level, message)

    def _charge(self) -> None:
        if self.trigger_cost > 0 and self._node is not None and self._node.run_duration > 0:
            self.clock.advance(self.trigger_cost)

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
        label = name or service.type_name

        def sink(level: str, message: str) -> None:
            self.host.bulletin(service_id, label, level, message)

        node = ConfiguredControllerService(
            service, component_id=service_id, name=name, properties=properties, evaluator=self._evaluator,
            parameters=self._parameters, clock=self.clock, services=self.services, bulletins=sink,
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

    def _commit(self, session: StandardProcessSession) -> None:
        """Commit ``session`` through the host's committer (raises ``ProcessingError`` if not written)."""
        prepared = session.prepare_commit()
        self.host.run(lambda: self.host.committer.commit(prepared))

    @property
    def queue_size(self) -> int:
        """Flowfiles still on the input queue (including penalized ones)."""
        return self._input.count

    def input_flowfiles(self) -> list[MockFlowFile]:
        """The flowfiles still on the input queue, in order."""
        return [self._mock(ff) for ff in self._input.listing(1 << 30)]

    # -- running --------------------------------------------------------------------

    def _wire(self, configured: ConfiguredProcessor) -> ProcessorNode:
        """Connect the node: the input queue, one captured queue per relationship that
        is not auto-terminated. Raises ``InvalidComponentError`` if it is not valid."""
        node = self._node
        assert node is not None
        names = configured.relationship_names
        for name in names:
            if name not in self._outputs and name not in self._auto_terminated:
                qid = self.repositories.flowfiles.queue_id(f"out:{name}")
                queue = _OutputQueue(f"out:{name}", qid, object_threshold=0, size_threshold=0,
                                     swap_threshold=1 << 62)
                queue.unavailable = name in self._unavailable
                self._outputs[name] = queue
        node.inputs = [self._input] if self.has_input_connection else []
        node.outputs = {n: [q] for n, q in self._outputs.items() if n in names and n not in self._auto_terminated}
        node.set_routing(tuple(sorted(self._auto_terminated & set(names))))
        if node.validation:
            raise InvalidComponentError(configured.name, node.validation)
        return node

    def run(self, iterations: int = 1, *, stop_on_finish: bool = True, initialize: bool = True,
            raise_errors: bool = True, run_duration: str = "0 ms") -> None:
        """Trigger the processor ``iterations`` times as the engine does (``ProcessorNode.trigger``).

        Calls ``on_scheduled`` first (if ``initialize`` and not yet scheduled)
        and ``on_stopped`` last (if ``stop_on_finish``). Raises
        ``InvalidComponentError`` if the configuration is invalid. Each trigger
        calls ``on_trigger`` again in the same session while ``run_duration``
        lasts (each call moves the clock on by ``trigger_cost``), then commits.
        Whatever a trigger raises is handled as in the engine (see
        ``flowyard.runtime.engine._node``: a ``ProcessingError`` rolls back and
        penalizes the input with a WARNING bulletin; anything else also yields
        the processor for 30 s with an ERROR bulletin) and recorded in
        ``errors``; an error other than a ``ProcessingError`` is then raised
        (unless ``raise_errors`` is False). The runner triggers the processor
        even while it is yielding or back-pressured (as NiFi's TestRunner does);
        ``yield_count`` counts the triggers after which it yielded.
        """
        configured = self._configure()
        node = self._wire(configured)
        node.run_duration = parse_duration(run_duration)
        processor, context = configured.processor, configured.context
        host = self.host

        async def work() -> None:
            node.bind_context()
            if initialize and not self._scheduled:
                await node._call(host, processor.on_scheduled, context)
                self._scheduled = True
            node.running = True
            try:
                for _ in range(iterations):
                    node.yield_until = -math.inf
                    await node.trigger(host)
                    if node.yield_until > -math.inf:
                        self.yield_count += 1
                    error = node.last_error
                    if error is not None:
                        self.errors.append(error)
                        if raise_errors and not isinstance(error, ProcessingError):
                            raise error
            finally:
                node.running = False
                if stop_on_finish and self._scheduled:
                    self._scheduled = False
                    await node._call(host, processor.on_stopped, context)

        host.run(work)

    def stop(self) -> None:
        """Call ``on_stopped`` if the processor is scheduled (after ``run(stop_on_finish=False)``)."""
        if self._scheduled:
            configured = self._configure()
            node = self._node
            assert node is not None
            self._scheduled = False
            self.host.run(lambda: node._call(self.host, configured.processor.on_stopped, configured.context))

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
