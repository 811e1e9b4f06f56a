"""Serve the dashboard with gunicorn (the model server's stack), in this process."""

from __future__ import annotations

from typing import Any

from qwak_auto.ui.app import Dashboard


def serve(app: Dashboard, host: str, port: int, workers: int = 1) -> None:
    from gunicorn.app.base import BaseApplication

    class _App(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            settings: dict[str, Any] = {
                "bind": f"{host}:{port}",
                "workers": workers,
                "worker_class": "gthread",
                "threads": 4,
                "timeout": 30,
                "accesslog": "-",
            }
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self) -> Dashboard:
            return app

    _App().run()
