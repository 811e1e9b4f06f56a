"""Serve the dashboard with gunicorn (the model server's stack), in this process."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qwak_auto.errors import UsageError
from qwak_auto.ui.app import Dashboard


def check_address(host: str, port: int) -> None:
    """Fail at once, with the reason, when nothing can listen there (gunicorn would retry for
    five seconds and exit with log lines only)."""
    import socket

    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            "choose another --port (or --host), or stop what listens there",
        ) from None


def serve(
    app: Dashboard,
    host: str,
    port: int,
    workers: int = 1,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Serve until stopped. ``on_ready`` runs once gunicorn listens (the banner: never
    printed for a server that could not bind)."""
    from gunicorn.app.base import BaseApplication

    check_address(host, port)

    def when_ready(_server: Any) -> None:
        if on_ready is not None:
            on_ready()

    class _App(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            settings: dict[str, Any] = {
                "bind": f"{host}:{port}",
                "workers": workers,
                "worker_class": "gthread",
                "threads": 4,
                "timeout": 30,
                "accesslog": "-",
                # gunicorn >= 24 would open a control socket in ~/.gunicorn: nothing is
                # written outside AUTO_HOME.
                "control_socket_disable": True,
                "when_ready": when_ready,
            }
            for key, value in settings.items():
                if key in self.cfg.settings:  # older gunicorn lacks some settings
                    self.cfg.set(key, value)

        def load(self) -> Dashboard:
            return app

    _App().run()
