"""TailFile's properties (NiFi 2's names and keys): the tailing mode and the files to
tail, rolled-over files, where reading starts, where state lives, lookup of files in
multiple-files mode, and line and buffer settings.
"""

from __future__ import annotations

from flowyard.processors._common import boolean_property
from flowyard.runtime.sdk import AllowableValue, ExpressionScope, PropertyDependency, PropertySpec, validators

SINGLE_FILE = "Single file"
MULTIPLE_FILES = "Multiple files"
BEGINNING_OF_TIME = "Beginning of Time"
BEGINNING_OF_FILE = "Beginning of File"
CURRENT_TIME = "Current Time"

TAILING_MODE = PropertySpec(
    key="tailing-mode",
    display_name="Tailing Mode",
    description=(
        "Whether one named file is tailed, or every file in the Base Directory whose path matches a regular expression "
        "(Base Directory is then required)."
    ),
    required=True,
    default=SINGLE_FILE,
    allowed_values=(
        AllowableValue(SINGLE_FILE, SINGLE_FILE,
                       "Files to Tail names one file, which may be absent when the processor starts."),
        AllowableValue(MULTIPLE_FILES, MULTIPLE_FILES,
                       "Files to Tail is a regular expression; the files in Base Directory that match it are tailed."),
    ),
    aliases=("tail-mode", "Tailing mode"),
)
FILES_TO_TAIL = PropertySpec(
    key="files-to-tail",
    display_name="Files to Tail",
    description=(
        "Single file mode: the path of the file. Multiple files mode: a regular expression that must match the whole "
        "path of a file relative to the Base Directory (with Recursive Lookup, e.g. 'app/[^/]*\\.log')."
    ),
    required=True,
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.ENVIRONMENT,
    aliases=("File to Tail", "File(s) to Tail"),
)
ROLLING_FILENAME_PATTERN = PropertySpec(
    key="rolling-filename-pattern",
    display_name="Rolling Filename Pattern",
    description=(
        "A glob (* and ?) naming the files a tailed file is renamed to when it rolls over, looked for in the same "
        "directory; ${filename} stands for the tailed file's name without its extension. It lets the processor read "
        "what was written before a rollover, even one that happened while it was stopped. One pattern serves all "
        "tailed files."
    ),
    validator=validators.NON_EMPTY,
)
POST_ROLLOVER_TAIL_PERIOD = PropertySpec(
    key="post-rollover-tail-period",
    display_name="Post-Rollover Tail Period",
    description=(
        "After a rollover, the rolled file is still followed until it has gone this long without changing, so a writer "
        "can flush what it had buffered. Until then the new file is not read."
    ),
    default="0 sec",
    validator=validators.TIME_PERIOD,
)
BASE_DIRECTORY = PropertySpec(
    key="base-directory",
    display_name="Base Directory",
    description="The directory searched for files to tail; required in Multiple files mode.",
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.ENVIRONMENT,
    aliases=("tail-base-directory", "Base directory"),
)
INITIAL_START_POSITION = PropertySpec(
    key="initial-start-position",
    display_name="Initial Start Position",
    description=(
        "Where reading starts the first time a file is tailed. Later runs always go on from where the last one stopped."
    ),
    required=True,
    default=BEGINNING_OF_FILE,
    allowed_values=(
        AllowableValue(BEGINNING_OF_TIME, BEGINNING_OF_TIME,
                       "Read the rolled-over files (oldest first) matching the Rolling Filename Pattern, then the file "
                       "itself."),
        AllowableValue(BEGINNING_OF_FILE, BEGINNING_OF_FILE,
                       "Read the file from its first byte; rolled-over files are skipped."),
        AllowableValue(CURRENT_TIME, CURRENT_TIME,
                       "Read only what is written from now on; existing and rolled-over data is skipped."),
    ),
)
STATE_LOCATION = PropertySpec(
    key="state-location",
    display_name="State Location",
    description=(
        "Where the read positions are kept: per node, or shared by the cluster (for a file every node sees, tailed "
        "on the primary node only)."
    ),
    required=True,
    default="Local",
    allowed_values=(
        AllowableValue("Local", "Local", "Positions are kept per node: each node tails its own file."),
        AllowableValue("Remote", "Remote",
                       "Positions are shared by the cluster, so a new primary node can go on where the previous one "
                       "stopped."),
    ),
    aliases=("File Location",),
)
RECURSIVE_LOOKUP = boolean_property(
    "recursive-lookup", "Recursive Lookup",
    "Multiple files mode: whether subdirectories of the Base Directory are searched too.",
    "false",
    aliases=("tailfile-recursive-lookup", "Recursive lookup"),
)
LOOKUP_FREQUENCY = PropertySpec(
    key="lookup-frequency",
    display_name="Lookup Frequency",
    description=(
        "Multiple files mode: the shortest time between two listings of the Base Directory."
    ),
    default="10 minutes",
    validator=validators.TIME_PERIOD,
    aliases=("tailfile-lookup-frequency", "Lookup frequency"),
)
MAXIMUM_AGE = PropertySpec(
    key="maximum-age",
    display_name="Maximum Age",
    description=(
        "Multiple files mode: files not modified for this long are no longer tailed. Too short a value can read lines "
        "twice from a file that is written to only rarely."
    ),
    default="24 hours",
    validator=validators.TIME_PERIOD,
    aliases=("tailfile-maximum-age", "Maximum age"),
)
REREAD_ON_NUL = PropertySpec(
    key="reread-on-nul",
    display_name="Reread on NUL Encountered",
    description=(
        "When true, reading stops at a NUL byte and is tried again later, for file systems (such as NFS) that can show "
        "NULs before the real data arrives. A file with genuine NUL bytes then never gets past them."
    ),
    default="false",
    allowed_values=(AllowableValue("true"), AllowableValue("false")),
    aliases=("reread-on-nul", "Reread when NUL encountered"),
)
LINE_START_PATTERN = PropertySpec(
    key="line-start-pattern",
    display_name="Line Start Pattern",
    description=(
        "A regular expression (Python syntax) that marks the first line of a message: a matching line and the lines "
        "after it, up to the next match, stay together, so multi-line messages are not split. The data must be UTF-8."
    ),
    validator=validators.REGEX,
    dependencies=(PropertyDependency(TAILING_MODE.key, (SINGLE_FILE,)),),
)
PREALLOCATED_BUFFER_SIZE = PropertySpec(
    key="preallocated-buffer-size",
    display_name="Preallocated Buffer Size",
    description="The size of the pieces files are read in.",
    required=True,
    default="65536 B",
    validator=validators.DATA_SIZE,
    aliases=("pre-allocated-buffer-size", "Pre-Allocated Buffer Size"),
)
MAX_BUFFER_SIZE = PropertySpec(
    key="max-buffer-size",
    display_name="Max Buffer Size",
    description=(
        "With a Line Start Pattern: the most data held while waiting for the next message to start. Past it, what is "
        "held is sent as it is, even if that splits a message."
    ),
    required=True,
    default="64 KB",
    validator=validators.DATA_SIZE,
    dependencies=(PropertyDependency(LINE_START_PATTERN.key),),
)
