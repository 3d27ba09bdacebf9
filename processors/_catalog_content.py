"""The content family of the standard library. Content: SplitText, SplitContent, SegmentContent, ModifyBytes,
ConvertCharacterSet, DuplicateFlowFile, EncodeContent, hashing, IdentifyMimeType, CompressContent.

One owner per family: add each class here once it is complete, and its
type name and module to the lazy ``PROCESSORS`` or ``CONTROLLER_SERVICES``
table of ``flowyard.processors`` (a test pins the tables to the families).
"""

from __future__ import annotations

from flowyard.processors.compress_content import CompressContent
from flowyard.processors.convert_character_set import ConvertCharacterSet
from flowyard.processors.cryptographic_hash_attribute import CryptographicHashAttribute
from flowyard.processors.cryptographic_hash_content import CryptographicHashContent
from flowyard.processors.duplicate_flow_file import DuplicateFlowFile
from flowyard.processors.encode_content import EncodeContent
from flowyard.processors.identify_mime_type import IdentifyMimeType
from flowyard.processors.modify_bytes import ModifyBytes
from flowyard.processors.segment_content import SegmentContent
from flowyard.processors.split_content import SplitContent
from flowyard.processors.split_text import SplitText
from flowyard.runtime.sdk import ControllerService, Processor

__all__ = ["PROCESSORS", "SERVICES"]

PROCESSORS: tuple[type[Processor], ...] = (
    SplitText, SplitContent, SegmentContent, DuplicateFlowFile, ModifyBytes, ConvertCharacterSet, EncodeContent,
    CryptographicHashContent, CryptographicHashAttribute, IdentifyMimeType, CompressContent,
)
SERVICES: tuple[type[ControllerService], ...] = ()
