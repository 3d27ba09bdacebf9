"""The public SDK: the only module a processor author imports.

    from flowyard.runtime.sdk import Processor, ProcessorSpec, PropertySpec, Relationship
    from flowyard.runtime.sdk import ControllerService, ControllerServiceSpec   # shared services

Everything here is re-exported from private modules; ``tests/runtime/sdk/
test_public_api.py`` pins the exact surface. The test kit lives in
``flowyard.runtime.sdk.testing``.
"""

from flowyard.runtime.sdk import validators
from flowyard.runtime.sdk._context import ComponentLog, ConfigurationContext, ProcessContext
from flowyard.runtime.sdk._errors import (
    ConfigurationError,
    ContentNotFoundError,
    DataDirectoryInUseError,
    FlowDefinitionError,
    FlowFileHandlingError,
    FlowyardError,
    InvalidComponentError,
    ProcessingError,
    RepositoryCorruptedError,
    RepositoryError,
    StorageFullError,
)
from flowyard.runtime.sdk._flowfile import ContentClaim, CoreAttributes, FlowFile, new_uuid, new_uuids
from flowyard.runtime.sdk._processor import (
    DynamicRelationshipSpec,
    InputRequirement,
    Processor,
    ProcessorSpec,
    Relationship,
    SchedulingDefaults,
)
from flowyard.runtime.sdk._properties import (
    AllowableValue,
    DynamicPropertySpec,
    ExpressionScope,
    PropertyDependency,
    PropertySpec,
    PropertyValue,
    PropertyValueError,
    UnknownPropertyError,
    ValidationResult,
    resolve_properties,
    validate_properties,
)
from flowyard.runtime.sdk._provenance import ProvenanceEvent, ProvenanceEventType
from flowyard.runtime.sdk._service import (
    ControllerService,
    ControllerServiceLookup,
    ControllerServiceSpec,
    validate_service_references,
)
from flowyard.runtime.sdk._session import ContentSource, ProcessSession, ProvenanceReporter
from flowyard.runtime.sdk._units import format_data_size, format_duration, parse_data_size, parse_duration

__all__ = [
    "AllowableValue",
    "ComponentLog",
    "ConfigurationContext",
    "ConfigurationError",
    "ContentClaim",
    "ContentNotFoundError",
    "ContentSource",
    "ControllerService",
    "ControllerServiceLookup",
    "ControllerServiceSpec",
    "CoreAttributes",
    "DataDirectoryInUseError",
    "DynamicPropertySpec",
    "DynamicRelationshipSpec",
    "ExpressionScope",
    "FlowDefinitionError",
    "FlowFile",
    "FlowFileHandlingError",
    "FlowyardError",
    "InputRequirement",
    "InvalidComponentError",
    "ProcessContext",
    "ProcessSession",
    "ProcessingError",
    "Processor",
    "ProcessorSpec",
    "PropertyDependency",
    "PropertySpec",
    "PropertyValue",
    "PropertyValueError",
    "ProvenanceEvent",
    "ProvenanceEventType",
    "ProvenanceReporter",
    "Relationship",
    "RepositoryCorruptedError",
    "RepositoryError",
    "SchedulingDefaults",
    "StorageFullError",
    "UnknownPropertyError",
    "ValidationResult",
    "format_data_size",
    "format_duration",
    "new_uuid",
    "new_uuids",
    "parse_data_size",
    "parse_duration",
    "resolve_properties",
    "validate_properties",
    "validate_service_references",
    "validators",
]
