"""``flowyard serve``: open a data directory (``compose.build``) and serve it
until SIGINT/SIGTERM.

Whatever the command line can get wrong (the address to listen on, the TLS
files, the credentials file) is checked before the data directory is opened, so
a refused start touches nothing and leaves the directory free for the next
attempt.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO

import trio

from flowyard.bootstrap.cluster_options import ClusterOptions
from flowyard.bootstrap.compose import Options, build
from flowyard.canvas_ui.server import listen_socket, run_app
from flowyard.runtime.shutdown import DEFAULT_GRACE_SECONDS, stop_signals

__all__ = ["serve"]


async def serve(
    data_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    initial_flow: Path | None = None,
    durability: str = "os",
    certfile: Path | None = None,
    keyfile: Path | None = None,
    engine_options: Mapping[str, Any] | None = None,
    allowed_hosts: Iterable[str] = (),
    cluster: ClusterOptions | None = None,
    stop_timeout: float = DEFAULT_GRACE_SECONDS,
    out: TextIO = sys.stdout,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Open the data directory, run the engine and the API until SIGINT/SIGTERM
    (or cancellation), then shut down cleanly. Reports the bound URLs.
    ``cluster``: join that cluster (docs/cluster.md); the node leaves it
    cleanly when it stops.

    With ``certfile`` and ``keyfile`` the API speaks HTTPS only. ``engine_options``
    go to the ``Engine`` (provenance retention limits). ``allowed_hosts``: names
    besides the loopback ones and ``host`` that clients may use in ``Host``.
    A stop that takes longer than ``stop_timeout`` seconds ends the process
    (``shutdown.EXIT_FORCED``). Raises ``ConfigurationError`` (address in use:
    ``AddressInUseError``, bad TLS files, damaged credentials) or
    ``RepositoryError`` (data directory in use) before touching the data directory.
    """
    options = Options(initial_flow=initial_flow, durability=durability, engine_options=dict(engine_options or {}),
                      host=host, allowed_hosts=tuple(allowed_hosts), certfile=certfile, keyfile=keyfile,
                      cluster=cluster)
    stopping = trio.Event()

    def on_signal(signum: int) -> None:
        out.write("stopping...\n")
        out.flush()
        stopping.set()

    tls_files = (certfile, keyfile) if certfile is not None and keyfile is not None else None
    # The port first: a taken one is reported before the data directory is opened.
    with (listen_socket(host, port) as sock, stop_signals(on_signal, grace=stop_timeout),
          build(data_dir, options, api_url=_url_of(sock, tls_files is not None)) as app):
        await run_app(app.web, app.service, app.auth, sock, tls_files=tls_files, out=out, stopping=stopping,
                      companion=app.cluster.run if app.cluster is not None else None, task_status=task_status)
    out.write("stopped cleanly\n")


def _url_of(sock: socket.socket, tls: bool) -> str:
    host, port = sock.getsockname()[:2]
    host = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{host}:{port}"
