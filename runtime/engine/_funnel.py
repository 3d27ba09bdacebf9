"""The funnel: an engine-internal component that passes everything on."""

from __future__ import annotations

from flowyard.runtime.sdk._context import ProcessContext
from flowyard.runtime.sdk._processor import InputRequirement, Processor, ProcessorSpec, Relationship
from flowyard.runtime.sdk._session import ProcessSession

__all__ = ["FUNNEL_RELATIONSHIP", "PASS_THROUGH", "Funnel", "InputPort", "OutputPort"]

FUNNEL_RELATIONSHIP = "success"


class Funnel(Processor):
    """Merges its incoming connections into its outgoing ones, in batches."""

    type_name = "Funnel"
    blocking = False
    spec = ProcessorSpec(
        description="Merges incoming connections; every flowfile goes to every outgoing connection.",
        relationships=(Relationship(FUNNEL_RELATIONSHIP, "Everything that enters the funnel"),),
        input_requirement=InputRequirement.REQUIRED,
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        session.transfer_all(session.get_batch(10_000), FUNNEL_RELATIONSHIP)


class InputPort(Funnel):
    """A process group's input port: passes what enters the group on to its connections."""

    type_name = "InputPort"


class OutputPort(Funnel):
    """A process group's output port: passes what leaves the group on to the parent's connections."""

    type_name = "OutputPort"


#: Engine-internal pass-through components, by type name.
PASS_THROUGH: dict[str, type[Funnel]] = {"Funnel": Funnel, "InputPort": InputPort, "OutputPort": OutputPort}
