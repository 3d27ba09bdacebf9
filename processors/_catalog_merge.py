"""The merge family of the standard library. Merging and packaging: MergeContent, UnpackContent, PackageFlowFile.

One owner per family: add each class here once it is complete, and its
type name and module to the lazy ``PROCESSORS`` or ``CONTROLLER_SERVICES``
table of ``flowyard.processors`` (a test pins the tables to the families).
"""

from __future__ import annotations

from flowyard.processors.merge_content import MergeContent
from flowyard.processors.package_flowfile import PackageFlowFile
from flowyard.processors.unpack_content import UnpackContent
from flowyard.runtime.sdk import ControllerService, Processor

__all__ = ["PROCESSORS", "SERVICES"]

PROCESSORS: tuple[type[Processor], ...] = (MergeContent, PackageFlowFile, UnpackContent)
SERVICES: tuple[type[ControllerService], ...] = ()
