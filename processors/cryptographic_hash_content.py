"""CryptographicHashContent: hash the content into a ``content_<algorithm>`` attribute."""

from __future__ import annotations

from flowyard.processors._common import boolean_property
from flowyard.processors._content_hashing import DEFAULT_ALGORITHM, algorithm_values, new_hasher
from flowyard.runtime.sdk import (
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    Relationship,
    validators,
)

__all__ = ["CryptographicHashContent"]

_BATCH = 20

FAILURE = Relationship("failure", "FlowFiles with empty content, when Fail When Content Empty is true.")
SUCCESS = Relationship("success", "FlowFiles with the hash attribute added.")

FAIL_WHEN_EMPTY = boolean_property(
    "fail-when-content-empty", "Fail When Content Empty",
    "Whether a FlowFile with no content goes to failure instead of being hashed.",
    "false",
    aliases=("fail_when_empty", "Fail if the content is empty"),
)
HASH_ALGORITHM = PropertySpec(
    key="hash-algorithm",
    display_name="Hash Algorithm",
    description=(
        "The hash function. MD2, MD5 and SHA-1 are only there for old systems; choose a SHA-2, SHA-3 or "
        "BLAKE2 one where you can."
    ),
    required=True,
    default=DEFAULT_ALGORITHM,
    allowed_values=algorithm_values(),
    validator=validators.NON_EMPTY,
    aliases=("hash_algorithm",),
)


class CryptographicHashContent(Processor):
    """Hashes the content with Hash Algorithm and writes the lower-case
    hexadecimal digest to ``content_<algorithm>`` (e.g. ``content_SHA-256``),
    as NiFi's CryptographicHashContent.

    The content is streamed through the hash, off the event loop. BLAKE2-n
    is BLAKE2b with an n-bit digest (as BouncyCastle's Blake2bDigest in
    NiFi). Empty content is hashed too, unless Fail When Content Empty sends
    it to ``failure``. MD2 is computed in pure Python and is slow (a few MB/s).

    Differences from NiFi: none known.
    """

    spec = ProcessorSpec(
        description=(
            "Hashes the content of FlowFiles and writes the hash, in hexadecimal, to an attribute named after the "
            "algorithm."
        ),
        tags=("content", "hash", "sha", "blake2", "md5", "cryptography"),
        properties=(FAIL_WHEN_EMPTY, HASH_ALGORITHM),
        relationships=(FAILURE, SUCCESS),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=(("content_<algorithm>", "The hash of the content, e.g. content_SHA-256."),),
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Hash a batch of FlowFiles."""
        algorithm = context.property(HASH_ALGORITHM).as_str()
        fail_when_empty = context.property(FAIL_WHEN_EMPTY).as_bool()
        for ff in session.get_batch(_BATCH):
            if ff.size == 0 and fail_when_empty:
                context.logger.info(f"routing {ff!r} to failure because its content is empty")
                session.transfer(ff, FAILURE)
                continue
            hasher = new_hasher(algorithm)
            for chunk in session.iter_content(ff):
                hasher.update(chunk)
            session.transfer(session.put_attribute(ff, f"content_{algorithm}", hasher.hexdigest()), SUCCESS)
