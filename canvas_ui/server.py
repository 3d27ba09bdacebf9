"""Serving the HTTP API: the engine and hypercorn in one ``trio.run``
(``run_app``), and the checks ``flowyard serve`` makes before it opens the data
directory (``check_tls_files``, ``listen_socket``), so a refused start touches
nothing and leaves the directory free for the next attempt. The composition
root (``bootstrap.serve``) opens the directory and builds the app in between.
"""

from __future__ import annotations

import errno
import functools
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import trio
from hypercorn.config import Config
from hypercorn.trio import serve as hypercorn_serve

from flowyard.runtime.sdk import ConfigurationError

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from flowyard.canvas_ui.auth import AuthManager
    from flowyard.runtime.service import FlowService

__all__ = ["AddressInUseError", "check_tls_files", "run_app"]


class AddressInUseError(ConfigurationError):
    """Another process already listens on ``host:port``. Nothing was touched."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(f"cannot listen on {host}:{port}: the port is already in use (by another program or "
                         "another flowyard); choose another port with --port")
        self.host = host
        self.port = port


def check_tls_files(certfile: Path | None, keyfile: Path | None) -> bool:
    """Whether TLS is asked for: False when neither file is given, True when both
    are readable PEM files holding a certificate (chain) and its unencrypted
    private key. Raises ``ConfigurationError`` naming the option and the file
    otherwise (one given without the other, unreadable, not PEM, a passphrase-
    protected key, a key that does not belong to the certificate)."""
    if certfile is None and keyfile is None:
        return False
    if keyfile is None:
        raise ConfigurationError("--certfile needs --keyfile: TLS needs both the certificate and its private key")
    if certfile is None:
        raise ConfigurationError("--keyfile needs --certfile: TLS needs both the certificate and its private key")
    # cryptography's X.509 and PEM loaders load only when TLS is asked for.
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    cert_pem, key_pem = _read(certfile, "--certfile"), _read(keyfile, "--keyfile")
    try:
        certificate = x509.load_pem_x509_certificates(cert_pem)[0]
    except ValueError:
        raise ConfigurationError(f"--certfile {certfile} holds no PEM certificate "
                                 "(expected a -----BEGIN CERTIFICATE----- block)") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except TypeError:
        # Loading it later would make OpenSSL prompt for the passphrase on the terminal.
        raise ConfigurationError(f"--keyfile {keyfile} is protected by a passphrase; flowyard needs the key "
                                 "unencrypted (keep the file readable only by its owner)") from None
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigurationError(f"--keyfile {keyfile} holds no PEM private key "
                                 "(expected a -----BEGIN ... PRIVATE KEY----- block)") from None
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if (key.public_key().public_bytes(serialization.Encoding.DER, public)
            != certificate.public_key().public_bytes(serialization.Encoding.DER, public)):
        raise ConfigurationError(f"--keyfile {keyfile} is not the private key of the certificate in "
                                 f"--certfile {certfile}")
    return True


def _read(path: Path, option: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the {option} file {path}: {exc.strerror or exc}") from None


def listen_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (not yet listening), so that a taken port
    is reported before anything else happens and port 0 yields the port served."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                              flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise ConfigurationError(f"--host {host!r} is not an address to listen on: {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    try:
        # As hypercorn does: a restart may reuse a port whose old connections linger in TIME_WAIT.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise AddressInUseError(host, port) from None
        raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


async def run_app(
    app: Starlette,
    service: FlowService,
    auth: AuthManager,
    sock: socket.socket,
    *,
    tls_files: tuple[Path, Path] | None,
    out: TextIO,
    stopping: trio.Event,
    companion: Companion | None = None,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run ``service``'s engine and serve ``app`` on ``sock`` (bound, not yet
    listening; hypercorn adopts and closes it) until ``stopping`` is set, then
    stop both; the caller closes the service. ``tls_files``: the certificate and
    key files to speak HTTPS with (already checked by ``check_tls_files``), or
    None. Reports the bound URLs and how to log in on ``out`` and to
    ``task_status``. ``companion`` (the node's cluster parts) is started once
    the engine runs, before the API listens, and cancelled after the API has
    stopped and before the engine stops."""
    config = Config()
    if tls_files is not None:
        config.certfile, config.keyfile = map(str, tls_files)
    config.graceful_timeout = 1.0
    config.accesslog = None
    config.loglevel = "WARNING"  # its "Running on" line would repeat ours; errors still show
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        companion_scope = trio.CancelScope()
        if companion is not None:
            await nursery.start(_run_companion, companion, companion_scope)
        # hypercorn adopts the bound socket (and closes it); detached, ours no longer owns it.
        config.bind = [f"fd://{sock.detach()}"]
        binds = await nursery.start(functools.partial(hypercorn_serve, app, config,  # type: ignore[arg-type]
                                                      shutdown_trigger=stop.wait))
        out.write(f"flowyard serving {', '.join(binds)} (data in {service.data_dir}). Ctrl-C stops.\n")
        change = f"flowyard set-credentials --data-dir {service.data_dir}"
        if auth.generated_password:
            out.write(f"log in as {auth.username!r} with password {auth.generated_password!r} "
                      f"(generated at this first start and shown only now; change it with: {change})\n")
        else:
            out.write(f"log in as {auth.username!r} (forgot the password? set a new one with: {change})\n")
        out.flush()
        task_status.started(list(binds))
        await stopping.wait()
        stop.set()
        companion_scope.cancel()
        service.request_stop()


#: Something that runs beside the engine and the API (started with ``nursery.start``).
Companion = Callable[..., Awaitable[Any]]


async def _run_companion(companion: Companion, scope: trio.CancelScope, *,
                         task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    with scope:
        async with trio.open_nursery() as nursery:
            await nursery.start(companion)
            task_status.started()
