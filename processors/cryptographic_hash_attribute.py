"""CryptographicHashAttribute: hash attribute values into other attributes."""

from __future__ import annotations

from flowyard.processors._common import boolean_property
from flowyard.processors._content_hashing import CHARACTER_SETS, DEFAULT_ALGORITHM, algorithm_values, new_hasher
from flowyard.runtime.sdk import (
    AllowableValue,
    DynamicPropertySpec,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    Relationship,
    validators,
)

__all__ = ["CryptographicHashAttribute", "hash_text"]

_BATCH = 100
ALLOW, PROHIBIT = "ALLOW", "PROHIBIT"

SUCCESS = Relationship("success", "FlowFiles with the hashes of their attributes added.")
FAILURE = Relationship("failure", "FlowFiles lacking attributes to hash, when the two policy properties say "
                                  "so.")

CHARACTER_SET = PropertySpec(
    key="character-set",
    display_name="Character Set",
    description="The character set that turns attribute values into the bytes that are hashed.",
    required=True,
    default="UTF-8",
    allowed_values=CHARACTER_SETS,
    validator=validators.CHARACTER_SET,
    aliases=("character_set",),
)
FAIL_WHEN_EMPTY = boolean_property(
    "fail-when-no-attributes-present", "Fail when no attributes present",
    "Whether a FlowFile that has none of the attributes to hash goes to failure (true) or to success unchanged "
    "(false).",
    "true",
    aliases=("fail_when_empty",),
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
MISSING_ATTRIBUTE_POLICY = PropertySpec(
    key="missing-attribute-policy",
    display_name="Missing attribute policy",
    description="Whether a FlowFile that has some, but not all, of the attributes to hash goes to failure.",
    required=True,
    default=ALLOW,
    allowed_values=(
        AllowableValue(ALLOW, "Allow missing attributes",
                       "The attributes that are there are hashed; the FlowFile goes to success."),
        AllowableValue(PROHIBIT, "Fail if missing attributes",
                       "The FlowFile goes to failure unhashed."),
    ),
    validator=validators.NON_EMPTY,
    aliases=("missing_attr_policy",),
)


def hash_text(algorithm: str, value: str, charset: str) -> str:
    """NiFi's HashService.hashValue: ``value`` encoded in ``charset`` (UTF-16
    as UTF-16BE, without a byte-order mark; unmappable characters as '?'),
    hashed, as lower-case hexadecimal."""
    codec = "utf-16-be" if charset.upper().replace("_", "-") == "UTF-16" else charset
    hasher = new_hasher(algorithm)
    hasher.update(value.encode(codec, errors="replace"))
    return hasher.hexdigest()


class CryptographicHashAttribute(Processor):
    """For each dynamic property, hashes the value of the attribute named by
    the property's name and writes the lower-case hexadecimal digest to the
    attribute named by its value, as NiFi's CryptographicHashAttribute.

    When none of the attributes is present the FlowFile goes to ``failure``
    if Fail when no attributes present is true (also when no dynamic property
    is configured, as in NiFi), else to ``success`` unchanged. When only some
    are present, 'Fail if missing attributes' sends it to ``failure``; 'Allow
    missing attributes' hashes those present. An empty value is hashed (it is
    present). Values are encoded with Character Set first; UTF-16 means
    UTF-16BE without a byte-order mark, as NiFi's HashService does.

    Differences from NiFi: none known.
    """

    blocking = False
    spec = ProcessorSpec(
        description="Hashes the values of chosen attributes of FlowFiles and writes each hash, in hexadecimal, "
                    "to another attribute.",
        tags=("attributes", "hash", "md5", "sha", "keccak", "blake2", "cryptography"),
        properties=(CHARACTER_SET, FAIL_WHEN_EMPTY, HASH_ALGORITHM, MISSING_ATTRIBUTE_POLICY),
        relationships=(SUCCESS, FAILURE),
        dynamic_properties=DynamicPropertySpec(
            name_description="A FlowFile attribute to hash",
            value_description="The name of the attribute the hash is written to",
            validator=validators.NON_EMPTY,
        ),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=(("<value of a dynamic property>", "The hash of the attribute named by the property."),),
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Hash the attributes of a batch of FlowFiles."""
        charset = context.property(CHARACTER_SET).as_str()
        algorithm = context.property(HASH_ALGORITHM).as_str()
        fail_when_empty = context.property(FAIL_WHEN_EMPTY).as_bool()
        prohibit_partial = context.property(MISSING_ATTRIBUTE_POLICY).as_str() == PROHIBIT
        targets = {name: (value.raw or "") for name, value in context.dynamic_properties.items()}
        for ff in session.get_batch(_BATCH):
            present = {name: value for name in sorted(targets) if (value := ff.get_attribute(name)) is not None}
            if not present and fail_when_empty:
                context.logger.info(f"routing {ff!r} to failure: none of {sorted(targets)} is present")
                session.transfer(ff, FAILURE)
                continue
            if len(present) != len(targets) and prohibit_partial:
                missing = sorted(set(targets) - set(present))
                context.logger.info(f"routing {ff!r} to failure: missing attributes {missing}")
                session.transfer(ff, FAILURE)
                continue
            hashes = {targets[name]: hash_text(algorithm, value, charset) for name, value in present.items()}
            session.transfer(session.put_attributes(ff, hashes), SUCCESS)
