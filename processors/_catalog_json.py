"""The json family of the standard library. JSON: EvaluateJsonPath, SplitJson, FlattenJson, AttributesToJSON,
AttributesToCSV, ValidateJson, JoltTransformJSON.

One owner per family: add each class here once it is complete, and its
type name and module to the lazy ``PROCESSORS`` or ``CONTROLLER_SERVICES``
table of ``flowyard.processors`` (a test pins the tables to the families).
"""

from __future__ import annotations

from flowyard.processors.attributes_to_csv import AttributesToCSV
from flowyard.processors.attributes_to_json import AttributesToJSON
from flowyard.processors.evaluate_json_path import EvaluateJsonPath
from flowyard.processors.flatten_json import FlattenJson
from flowyard.processors.jolt_transform_json import JoltTransformJSON
from flowyard.processors.json_schema_registry import StandardJsonSchemaRegistry
from flowyard.processors.split_json import SplitJson
from flowyard.processors.validate_json import ValidateJson
from flowyard.runtime.sdk import ControllerService, Processor

__all__ = ["PROCESSORS", "SERVICES"]

PROCESSORS: tuple[type[Processor], ...] = (
    EvaluateJsonPath, SplitJson, AttributesToJSON, AttributesToCSV, FlattenJson, ValidateJson, JoltTransformJSON,
)
SERVICES: tuple[type[ControllerService], ...] = (StandardJsonSchemaRegistry,)
