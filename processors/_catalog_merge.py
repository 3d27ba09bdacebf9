"""The merge family of the standard library. Merging and packaging: MergeContent, UnpackContent, PackageFlowFile.

One owner per family: add each class here once it is complete;
``flowyard.processors`` joins every family into ``PROCESSORS`` and
``CONTROLLER_SERVICES``.
"""

from __future__ import annotations

from flowyard.processors.merge_content import MergeContent
from flowyard.processors.package_flowfile import PackageFlowFile
from flowyard.processors.unpack_content import UnpackContent
from flowyard.runtime.sdk import ControllerService, Processor

__all__ = ["PROCESSORS", "SERVICES"]

PROCESSORS: tuple[type[Processor], ...] = (MergeContent, PackageFlowFile, UnpackContent)
SERVICES: tuple[type[ControllerService], ...] = ()
