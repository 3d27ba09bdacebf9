"""PackageFlowFile: FlowFile attributes and content into a FlowFile Stream v3 package."""

from __future__ import annotations

from collections.abc import Iterator

from flowyard.processors._flowfile_v3 import MIME_TYPE_V3, package
from flowyard.runtime.sdk import (
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

__all__ = ["PackageFlowFile"]

SUCCESS = Relationship("success", "The package made on each run.")
ORIGINAL = Relationship("original", "The FlowFiles that went into a package.")

BATCH_SIZE = PropertySpec(
    key="max-batch-size",
    display_name="Maximum Batch Size",
    description="The most FlowFiles one package holds (1 to 10,000).",
    required=True,
    default="1",
    validator=validators.integer_range(1, 10_000),
)
BATCH_CONTENT_SIZE = PropertySpec(
    key="maximum-batch-content-size",
    display_name="Maximum Batch Content Size",
    description="The most content, added up, one package holds; a FlowFile larger than this is packaged alone.",
    required=True,
    default="1 GB",
    validator=validators.DATA_SIZE,
)


class PackageFlowFile(Processor):
    """Packages FlowFiles, attributes and content, into one FlowFile in NiFi's
    FlowFile Stream v3 format (byte-compatible with NiFi's
    ``FlowFilePackagerV3``, so UnpackContent in NiFi or flowyard, or NiFi's
    ListenHTTP, restores the originals). The package gets
    ``mime.type = application/flowfile-v3`` and the attributes its inputs share
    (a JOIN provenance event names every input); the inputs go to 'original'.

    Each trigger writes one package: up to Maximum Batch Size FlowFiles and,
    after the first, only as many as keep the combined content within Maximum
    Batch Content Size (a FlowFile larger than the limit is packaged alone);
    the FlowFiles that do not fit stay queued, in order, for the next trigger,
    as NiFi's size filter leaves them. Content is streamed, never held whole
    in memory.

    Differences from NiFi: the FlowFiles that do not fit are taken, then
    given back to the front of the queue by a rollback before the batch is
    taken again (NiFi's filter never takes them).
    """

    spec = ProcessorSpec(
        description="Bundles FlowFiles, attributes and content, into one FlowFile in the FlowFile Stream v3 "
        "format, which UnpackContent (in flowyard or NiFi) turns back into the originals.",
        tags=("flowfile", "flowfile-stream", "flowfile-stream-v3", "package", "attributes", "archive", "merge"),
        properties=(BATCH_SIZE, BATCH_CONTENT_SIZE),
        relationships=(SUCCESS, ORIGINAL),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=(("mime.type", "application/flowfile-v3 on the package."),),
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Package up to Maximum Batch Size FlowFiles."""
        max_count = context.property(BATCH_SIZE).as_int()
        max_bytes = context.property(BATCH_CONTENT_SIZE).as_data_size()
        flowfiles = session.get_batch(max_count)
        if not flowfiles:
            return
        batch = next(_batches(flowfiles, max_bytes))
        if len(batch) < len(flowfiles):
            # As NiFi's size filter: those that do not fit stay queued, in their place, for the next
            # trigger. Giving all back (a rollback returns them to the front, in order) and taking
            # exactly the batch keeps the queue's order.
            session.rollback()
            flowfiles = session.get_batch(len(batch))
            if not flowfiles:
                return
            batch = next(_batches(flowfiles, max_bytes))
            session.transfer_all(flowfiles[len(batch):])  # only if another task took some meanwhile
        packaged = session.create(batch)
        packaged = session.write(packaged, _packages(session, batch))
        packaged = session.put_attribute(packaged, "mime.type", MIME_TYPE_V3)
        session.transfer(packaged, SUCCESS)
        session.transfer_all(batch, ORIGINAL)


def _batches(flowfiles: list[FlowFile], max_bytes: int) -> Iterator[list[FlowFile]]:
    """NiFi's size-based filter applied in order: the first FlowFile of a batch is
    always taken, each further one only while the total stays within ``max_bytes``."""
    batch: list[FlowFile] = []
    total = 0
    for ff in flowfiles:
        if batch and total + ff.size > max_bytes:
            yield batch
            batch, total = [], 0
        batch.append(ff)
        total += ff.size
    if batch:
        yield batch


def _packages(session: ProcessSession, batch: list[FlowFile]) -> Iterator[bytes]:
    for ff in batch:
        yield from package(ff.attributes, session.iter_content(ff), ff.size)
