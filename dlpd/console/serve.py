"""Serving the console with uvicorn (the only importer of uvicorn).

``proxy_headers=False``: X-Forwarded-* from a client would let it choose the address the
login throttle counts and the scheme the Origin check compares. ``server_header=False``
(no version banner); ``log_config=None`` (uvicorn's records go through dlpd's JSON
logging, configured by the CLI, instead of uvicorn's own text format).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import uvicorn

from dlpd.config import Settings
from dlpd.console.app import build_app, is_loopback
from dlpd.errors import ConfigError
from dlpd.store.db import Engine


def check_listen(settings: Settings, listen: str, uds: Path | None) -> None:
    """ConfigError when the console would serve plain HTTP beyond this machine."""
    if uds is not None:
        return
    host = listen.rpartition(":")[0]
    if not is_loopback(host) and settings.console.tls_cert is None:
        raise ConfigError(
            "console.listen", f"{listen!r} is not a loopback address: set console.tls_cert "
            "and console.tls_key to serve HTTPS there, or serve on console.uds behind a "
            "TLS reverse proxy")


class _Server(uvicorn.Server):
    """uvicorn's server, telling its caller the URL once the socket listens."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[str], None]) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.should_exit:
            return
        config = self.config
        if config.uds:
            self._on_ready(f"unix:{config.uds}")
            return
        port = config.port
        for server in self.servers:
            for sock in server.sockets:
                port = sock.getsockname()[1]
        scheme = "https" if config.ssl_certfile else "http"
        host = f"[{config.host}]" if ":" in config.host else config.host
        self._on_ready(f"{scheme}://{host}:{port}/")


def serve(settings: Settings, engine: Engine, *, listen: str, uds: Path | None,
          on_ready: Callable[[str], None]) -> None:
    """Serve until SIGINT or SIGTERM (uvicorn's handlers end it gracefully)."""
    check_listen(settings, listen, uds)
    host, _, port = listen.rpartition(":")
    tls = settings.console
    config = uvicorn.Config(
        build_app(settings, engine), host=host.strip("[]"), port=int(port),
        uds=str(uds) if uds else None, proxy_headers=False, server_header=False,
        date_header=True, log_config=None, access_log=False, lifespan="off",
        ssl_certfile=str(tls.tls_cert) if tls.tls_cert else None,
        ssl_keyfile=str(tls.tls_key) if tls.tls_key else None,
    )
    _Server(config, on_ready).run()
