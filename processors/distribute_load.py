"""DistributeLoad: spread FlowFiles over numbered relationships by weight."""

from __future__ import annotations

import bisect
import itertools
import threading
from collections.abc import Collection, Iterable, Mapping, Sequence

from flowyard.runtime.sdk import (
    AllowableValue,
    DynamicPropertySpec,
    DynamicRelationshipSpec,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    Relationship,
    ValidationResult,
    validators,
)

__all__ = ["DistributeLoad", "Distributor", "relationship_weights"]

_BATCH = 100

RELATIONSHIP_ATTRIBUTE = "distribute.load.relationship"

ROUND_ROBIN = "round robin"
NEXT_AVAILABLE = "next available"
OVERFLOW = "overflow"

MAX_RELATIONSHIPS = 10_000
"""The most relationships a DistributeLoad may have (each is a connection on the canvas)."""

NUMBER_OF_RELATIONSHIPS = PropertySpec(
    key="number-of-relationships",
    display_name="Number of Relationships",
    description=f"How many relationships (named 1, 2, ...) the load is distributed over, at most {MAX_RELATIONSHIPS}.",
    required=True,
    default="1",
    validator=validators.integer_range(1, MAX_RELATIONSHIPS),
)
DISTRIBUTION_STRATEGY = PropertySpec(
    key="distribution-strategy",
    display_name="Distribution Strategy",
    description="How the load is distributed; relationship '1' comes first in the weighted order.",
    required=True,
    default=ROUND_ROBIN,
    allowed_values=(
        AllowableValue(
            ROUND_ROBIN, description="Relationships are chosen in turn, by weight; all of them must be available."
        ),
        AllowableValue(
            NEXT_AVAILABLE,
            description="Relationships are chosen in turn, by weight, skipping unavailable ones; at least one must "
            "be available.",
        ),
        AllowableValue(
            OVERFLOW,
            description="The first available relationship in weighted order, without further distribution; at "
            "least one must be available.",
        ),
    ),
)

_INVALID_NAME = "Property Name must be a positive integer between 1 and the number of relationships (inclusive)"


def _count(properties: Mapping[str, str | None]) -> int:
    """The configured number of relationships; 1 for a value validation refuses."""
    text = (properties.get(NUMBER_OF_RELATIONSHIPS.key) or "1").strip()
    if not text.isdigit() or len(text) > len(str(MAX_RELATIONSHIPS)):
        return 1
    return int(text) if 1 <= int(text) <= MAX_RELATIONSHIPS else 1


_MAX_WEIGHT = 2**31 - 1  # NiFi's weights are Java ints


def relationship_weights(count: int, weights: Mapping[str, str]) -> list[tuple[str, int]]:
    """Relationships '1'..``count`` in order with their weights (1 unless
    ``weights`` gives a usable one)."""
    weighted: list[tuple[str, int]] = []
    for number in range(1, count + 1):
        text = (weights.get(str(number)) or "1").strip()
        weight = int(text) if text.isdigit() and len(text) <= 10 else 1
        weighted.append((str(number), weight if 1 <= weight <= _MAX_WEIGHT else 1))
    return weighted


class Distributor:
    """NiFi's three strategies over relationships with weights.

    The weighted order repeats each relationship by its weight ('1' first):
    weights 2, 1 give 1, 1, 2, 1, 1, 2... It is walked by position, never
    built, so large weights cost nothing. ``choose(available)`` returns the
    relationship for the next FlowFile, or None when the strategy cannot
    route now (round robin needs every relationship available; the others
    need one). Thread-safe.
    """

    def __init__(self, strategy: str, weighted: Sequence[tuple[str, int]]) -> None:
        self.strategy = strategy
        self.weighted = tuple(weighted)
        self._names = [name for name, _ in self.weighted]
        self._ends = list(itertools.accumulate(weight for _, weight in self.weighted))
        self._total = self._ends[-1] if self._ends else 0
        self._position = 0
        self._lock = threading.Lock()

    def _at(self, position: int) -> tuple[int, str]:
        """The index and name of the relationship at a position of the weighted order."""
        index = bisect.bisect_right(self._ends, position % self._total)
        return index, self._names[index]

    def choose(self, available: Collection[str]) -> str | None:
        """The relationship for the next FlowFile, or None (roll back and yield)."""
        if not self._total:
            return None
        if self.strategy == OVERFLOW:
            return next((name for name in self._names if name in available), None)
        with self._lock:
            if self.strategy == ROUND_ROBIN:
                if not set(self._names) <= set(available):
                    return None
                _, name = self._at(self._position)
                self._position += 1
                return name
            # next available: NiFi steps one position at a time; skipping the
            # rest of an unavailable relationship's run reaches the same choice
            for _ in range(len(self._names)):
                index, name = self._at(self._position)
                if name in available:
                    self._position += 1
                    return name
                self._position += self._ends[index] - self._position % self._total
            return None


class DistributeLoad(Processor):
    """Distributes FlowFiles over the relationships '1' to 'Number of
    Relationships', each weighted 1 unless a dynamic property named by its
    number gives a weight (weight 3 means three FlowFiles in each turn).

    Strategies as NiFi's: round robin takes the weighted list in turn and
    needs every relationship available; next available takes it in turn,
    skipping unavailable relationships; overflow takes the first available
    relationship in weighted order. A relationship is available while none
    of its connections is full (back pressure); as NiFi's
    @TriggerWhenAnyDestinationAvailable, the processor runs while any
    relationship is available. When no relationship can be chosen the
    session is rolled back and the processor yields. Each FlowFile gets
    ``distribute.load.relationship`` and a ROUTE provenance event. The
    turn counter lives in the processor: it carries on across stop and
    start and begins again at '1' when flowyard restarts.

    Differences from NiFi: at most 10,000 relationships (NiFi accepts up to
    2147483647, more than it could build); round robin routes up to 100 FlowFiles per
    trigger (availability is checked once per trigger, so a connection can
    go past its back pressure threshold by that batch, as with any batch);
    next available and overflow route one FlowFile per trigger, as NiFi.
    """

    blocking = False
    spec = ProcessorSpec(
        description=(
            "Distributes FlowFiles to downstream relationships by a strategy (round robin, next available, "
            "overflow) and optional per-relationship weights."
        ),
        tags=("distribute", "load balance", "route", "round robin", "weighted"),
        properties=(NUMBER_OF_RELATIONSHIPS, DISTRIBUTION_STRATEGY),
        relationships=(Relationship("1", "FlowFiles routed to relationship 1."),),
        dynamic_properties=DynamicPropertySpec(
            name_description="A relationship number, from 1 to Number of Relationships",
            value_description="How many FlowFiles in a row that relationship gets (a positive whole number)",
            validator=validators.integer_range(1, _MAX_WEIGHT),
        ),
        dynamic_relationships=DynamicRelationshipSpec(
            "A number 1..<Number Of Relationships>: FlowFiles sent to this relationship per the Distribution "
            "Strategy."
        ),
        input_requirement=InputRequirement.REQUIRED,
        trigger_when_any_destination_available=True,
        writes_attributes=((RELATIONSHIP_ATTRIBUTE, "The relationship the FlowFile was routed to."),),
    )

    def __init__(self) -> None:
        self._distributor: Distributor | None = None
        self._lock = threading.Lock()

    @classmethod
    def relationships_for(
        cls, dynamic_properties: Mapping[str, str], properties: Mapping[str, str | None]
    ) -> tuple[Relationship, ...]:
        """'1' to 'Number of Relationships' (dynamic properties only weigh them)."""
        return tuple(
            Relationship(str(n), f"FlowFiles routed to relationship {n}.") for n in range(1, _count(properties) + 1)
        )

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """Each dynamic property must name a relationship that exists."""
        count = _count(context.properties)
        results = []
        for name in sorted(context.dynamic_properties):
            if not (name.isdigit() and 1 <= int(name) <= count):
                results.append(ValidationResult("Property Name", f"{name!r}: {_INVALID_NAME}", name))
        return results

    def on_scheduled(self, context: ProcessContext) -> None:
        """Build the weighted list; keep the turn counter when nothing changed."""
        strategy = context.property(DISTRIBUTION_STRATEGY).as_str()
        weights = {name: value.as_str() for name, value in context.dynamic_properties.items()}
        weighted = relationship_weights(context.property(NUMBER_OF_RELATIONSHIPS).as_int(), weights)
        with self._lock:
            current = self._distributor
            if current is None or current.strategy != strategy or current.weighted != tuple(weighted):
                self._distributor = Distributor(strategy, weighted)

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Route a batch of FlowFiles."""
        distributor = self._distributor
        if distributor is None:
            self.on_scheduled(context)
            distributor = self._distributor
            assert distributor is not None
        batch = session.get_batch(_BATCH if distributor.strategy == ROUND_ROBIN else 1)
        if not batch:
            return
        available = session.available_relationships()
        for ff in batch:
            name = distributor.choose(available)
            if name is None:
                session.rollback()
                context.yield_()
                return
            ff = session.put_attribute(ff, RELATIONSHIP_ATTRIBUTE, name)
            session.provenance.route(ff, name)
            session.transfer(ff, name)
