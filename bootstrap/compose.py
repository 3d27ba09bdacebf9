"""The composition root: what a data directory is opened into.

Everything that puts flowyard's parts together lives here, above the web API
and the runtime (the import contracts in pyproject.toml keep it that way):
the processor catalogue (``discover``: the entry points), the repositories of
a data directory, the engine over them, the flow service and the web
application. The command line (``bootstrap.cli``) and tests call these
functions; nothing under ``runtime/`` or ``canvas_ui/`` builds the pieces it
is handed.

    with open_engine(flow_path, data_dir) as engine:   # flowyard run
        ...
    with build(data_dir, Options(...)) as app:          # flowyard serve, without listening
        app.web, app.service, app.auth
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from flowyard.bootstrap.cluster_options import ClusterOptions
from flowyard.runtime.datadir import protect
from flowyard.runtime.engine import Engine
from flowyard.runtime.flow import FlowDef, load_flow
from flowyard.runtime.registry import discover
from flowyard.runtime.repository import Repositories
from flowyard.runtime.sdk import ConfigurationError
from flowyard.runtime.service import FLOW_FILE, FlowNotSavedError, FlowService

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from flowyard.bootstrap.cluster import ClusterParts
    from flowyard.canvas_ui.auth import AuthManager

__all__ = ["App", "Options", "build", "open_engine", "open_service"]


@contextlib.contextmanager
def open_engine(flow_path: Path, data_dir: Path, *, durability: str = "os",
                engine_options: Mapping[str, Any] | None = None) -> Iterator[Engine]:
    """An ``Engine`` running nothing yet, for the flow file ``flow_path`` (read
    as it is, never written) over the repositories of ``data_dir``, with every
    installed processor and controller service type. ``engine_options`` are
    ``Engine`` keyword arguments (disk guard, provenance retention, freeze_heap).
    The repositories close on leaving the block.

    Raises ``FlowDefinitionError`` for a flow that cannot be read (before the
    data directory is touched) and ``DataDirectoryInUseError`` /
    ``RepositoryError`` when the repositories cannot be opened."""
    flow = load_flow(flow_path)
    catalogue = discover()
    repositories = Repositories.open(data_dir / "repository", durability=durability)
    try:
        protect(data_dir)  # once the directory is ours (the repository's lock is held)
        yield Engine(flow, repositories, registry=catalogue.processors,
                     service_types=catalogue.controller_services, source=str(flow_path),
                     **dict(engine_options or {}))
    finally:
        repositories.close()


def open_service(data_dir: str | Path, *, initial_flow: str | Path | None = None, durability: str = "os",
                 engine_options: Mapping[str, Any] | None = None) -> FlowService:
    """Open the data directory into a ``FlowService`` with every installed
    processor and controller service type; ``close`` it to release the directory.
    The flow is ``DATA/flow.json``; if there is none yet, ``initial_flow`` (or an
    empty flow) is copied there first. Raises ``DataDirectoryInUseError`` /
    ``FlowDefinitionError`` before touching anything else, and
    ``ConfigurationError`` when the flow file cannot be written (the
    repositories are closed again)."""
    return _open_service(data_dir, initial_flow=initial_flow, durability=durability, engine_options=engine_options)


def _open_service(data_dir: str | Path, *, initial_flow: str | Path | None = None, durability: str = "os",
                  engine_options: Mapping[str, Any] | None = None,
                  locked: Callable[[], None] | None = None) -> FlowService:
    """``open_service``, calling ``locked()`` once the data directory is this
    process's (its repository's lock held) and before the service is built."""
    data = Path(data_dir)
    catalogue = discover()
    flow_path = data / FLOW_FILE
    if flow_path.exists():
        flow = load_flow(flow_path)
    elif initial_flow is not None:
        flow = load_flow(initial_flow)
    else:
        flow = FlowDef()
    repositories = Repositories.open(data / "repository", durability=durability)
    try:
        protect(data)  # once the directory is ours (the repository's lock is held)
        if locked is not None:
            locked()
        service = FlowService(flow, repositories, data, catalogue.processors,
                              service_types=catalogue.controller_services, engine_options=engine_options)
        try:
            service.save_now()  # encrypts sensitive values that arrived in plain text
        except FlowNotSavedError as exc:
            raise ConfigurationError(f"cannot write {flow_path}: {exc}") from None
        return service
    except BaseException:
        repositories.close()
        raise


@dataclass(frozen=True)
class Options:
    """How ``build`` opens a data directory: what ``flowyard serve`` takes from its
    command line, except where it listens.

    ``initial_flow``: copied into ``DATA/flow.json`` when there is none yet;
    ``durability``: ``"os"`` or ``"sync"``; ``engine_options``: ``Engine`` keyword
    arguments; ``host``/``allowed_hosts``: the ``Host`` names the web app answers
    to (``HostPolicy``); ``certfile``/``keyfile``: both or neither, served over
    HTTPS (the app adds HSTS and a Secure cookie)."""

    initial_flow: Path | None = None
    durability: str = "os"
    engine_options: Mapping[str, Any] = field(default_factory=dict)
    host: str = "127.0.0.1"
    allowed_hosts: tuple[str, ...] = ()
    certfile: Path | None = None
    keyfile: Path | None = None
    #: The cluster to join (None: a single node).
    cluster: ClusterOptions | None = None

    def serve_arguments(self) -> dict[str, Any]:
        """The same options as keyword arguments of ``bootstrap.serve.serve``."""
        return {"initial_flow": self.initial_flow, "durability": self.durability,
                "engine_options": dict(self.engine_options), "host": self.host,
                "allowed_hosts": self.allowed_hosts, "certfile": self.certfile, "keyfile": self.keyfile,
                "cluster": self.cluster}


@dataclass
class App:
    """A data directory opened for serving: the flow service (its engine and
    repositories inside), the credentials and the ASGI application over them.
    Nothing runs yet (``service.run`` runs the engine) and nothing listens.
    ``close`` (or leaving the ``with`` block) releases the data directory."""

    data_dir: Path
    service: FlowService
    auth: AuthManager
    web: Starlette
    #: The node's cluster parts, to run beside the engine (None: a single node).
    cluster: ClusterParts | None = None

    def close(self) -> None:
        self.service.close()

    def __enter__(self) -> App:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def build(data_dir: Path, options: Options | None = None, *, api_url: str = "") -> App:
    """Open ``data_dir`` (its flow, repositories, credentials, encryption key)
    into an ``App``. Checks what the options and the credentials file can get
    wrong first: ``ConfigurationError`` (a bad TLS file, damaged credentials) or,
    from the service, ``FlowDefinitionError`` / ``DataDirectoryInUseError`` leave
    the directory as it was. The first build generates the login password
    (``app.auth.generated_password``) unless FLOWYARD_USERNAME/FLOWYARD_PASSWORD
    are set. With ``options.cluster`` the node's cluster parts are wired in
    (``bootstrap.cluster.wire``; ``api_url``: where this node's API is
    reached, shown to the other nodes) and ``app.cluster`` runs them."""
    # The web stack loads only for the commands that serve (run and el start without it).
    from flowyard.canvas_ui.app import create_app
    from flowyard.canvas_ui.auth import AuthManager, check_credentials
    from flowyard.canvas_ui.guard import HostPolicy
    from flowyard.canvas_ui.server import check_tls_files

    options = options or Options()
    tls = check_tls_files(options.certfile, options.keyfile)
    hosts = HostPolicy(options.host, options.allowed_hosts)
    check_credentials(data_dir)
    credentials = _Credentials(data_dir, AuthManager)
    try:
        service = _open_service(data_dir, initial_flow=options.initial_flow, durability=options.durability,
                                engine_options=options.engine_options, locked=credentials.start)
    except BaseException:
        credentials.undo()
        raise
    try:
        parts = None
        if options.cluster is not None:
            from flowyard.bootstrap.cluster import wire

            parts = wire(service, options.cluster, api_url)
        auth = credentials.result()
        web = create_app(service, auth, hosts=hosts, tls=tls, cluster=parts.view if parts is not None else None)
        return App(data_dir, service, auth, web, parts)
    except BaseException:
        credentials.undo()
        service.close()
        raise


class _Credentials:
    """``AuthManager(data_dir)`` on a thread of its own, started once the data
    directory is ours: hashing a password (argon2, ~0.1 s of native code that
    releases the GIL) then overlaps building the service instead of following
    it. ``undo`` (the start failed) waits for it and puts the credentials file
    back as it was, so that a refused start still leaves the directory as it
    found it (and a generated password nobody saw is not left behind)."""

    def __init__(self, data_dir: Path, manager: Callable[[Path], AuthManager]) -> None:
        from flowyard.canvas_ui.auth import CREDENTIALS_FILE

        self._data_dir = data_dir
        self._manager = manager
        self._path = data_dir / CREDENTIALS_FILE
        self._before: bytes | None = None
        self._thread: threading.Thread | None = None
        self._auth: AuthManager | None = None
        self._error: BaseException | None = None

    def start(self) -> None:
        self._before = self._path.read_bytes() if self._path.exists() else None
        self._thread = threading.Thread(target=self._run, name="flowyard-credentials", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._auth = self._manager(self._data_dir)
        except BaseException as exc:  # handed to the caller of result(), which raises it
            self._error = exc

    def result(self) -> AuthManager:
        """The manager (built here if ``start`` was not called); raises what building it raised."""
        if self._thread is None:
            return self._manager(self._data_dir)
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._auth is not None
        return self._auth

    def undo(self) -> None:
        if self._thread is None:
            return
        self._thread.join()
        if self._before is None:
            self._path.unlink(missing_ok=True)
            return
        tmp = self._path.with_suffix(".restore")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(self._before)
        os.replace(tmp, self._path)
