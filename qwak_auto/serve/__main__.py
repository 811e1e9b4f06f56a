"""``python -m qwak_auto.serve``: serve one built model with gunicorn.

Runs in the build environment (stdlib, pandas, numpy, cloudpickle, gunicorn only). Exit
status 2 for bad options; a model that cannot be loaded makes gunicorn halt with status 3
("Worker failed to boot"), its traceback on stderr.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qwak_auto.serve.app import ServeApp, Settings, build_app
from qwak_auto.serve.worker import prepare_process

WORKER_BOOT_ERROR = 3  # gunicorn's arbiter halts when a worker exits with this status


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m qwak_auto.serve", description=__doc__)
    p.add_argument("--artifact", required=True, type=Path, help="the build's artifact directory")
    p.add_argument("--bind", default="127.0.0.1:8000", help="HOST:PORT to listen on")
    p.add_argument("--workers", type=int, default=2, help="number_of_http_server_workers")
    p.add_argument("--threads", type=int, default=1, help="threads per worker (gthread)")
    p.add_argument("--timeout-ms", type=int, default=5000, help="http_request_timeout_ms")
    p.add_argument("--max-batch-size", type=int, default=1, help="rows per request (413 above)")
    p.add_argument("--model-id", required=True)
    p.add_argument("--variation", default="default")
    p.add_argument("--build-id", default="")
    p.add_argument("--environment", default="")
    p.add_argument("--predictions-dir", type=Path, default=None, help="<home>/predictions")
    p.add_argument("--sample-rate", type=float, default=1.0, help="share of requests logged")
    p.add_argument("--rotate-records", type=int, default=1000, help="lines per log segment")
    p.add_argument("--rotate-seconds", type=float, default=60.0, help="seconds per log segment")
    p.add_argument("--daemon", action="store_true", help="daemonise (daemon_mode)")
    p.add_argument("--pid-file", type=Path, default=None)
    p.add_argument(
        "--log-file", type=Path, default=None, help="gunicorn's error log (default stderr)"
    )
    p.add_argument(
        "--api-keys-file",
        type=Path,
        default=None,
        help="a file (mode 600) of API keys, one a line: predictions then need "
        "`Authorization: Bearer <key>` (api_keys_secret)",
    )
    return p


def _check(args: argparse.Namespace, p: argparse.ArgumentParser) -> None:
    if not (args.artifact / "model.pkl").is_file():
        p.error(f"--artifact {args.artifact}: no model.pkl in it (is it a build's artifact?)")
    for name in ("workers", "threads", "timeout_ms", "max_batch_size", "rotate_records"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if not 0.0 <= args.sample_rate <= 1.0:
        p.error("--sample-rate must be between 0 and 1")
    if args.daemon and args.pid_file is None:
        p.error("--daemon needs --pid-file (so status and stop can find the server)")
    host, _, port = args.bind.rpartition(":")
    if not host or not port.isdigit():
        p.error(f"--bind {args.bind!r}: expected HOST:PORT")


def _worker_failed(error: str) -> None:
    last = error.strip().splitlines()[-1] if error.strip() else "unknown error"
    # The last line is what the deployer shows as the reason.
    sys.stderr.write(f"{error}\nauto-serve: cannot load the model: {last}\n")
    sys.stderr.flush()
    os._exit(WORKER_BOOT_ERROR)


def _api_keys(args: argparse.Namespace, p: argparse.ArgumentParser) -> tuple[str, ...]:
    if args.api_keys_file is None:
        return ()
    from qwak_auto.serve.auth import KeysError, read_keys

    try:
        return read_keys(args.api_keys_file)
    except KeysError as exc:
        p.error(f"--api-keys-file {args.api_keys_file}: {exc}")
    raise AssertionError("unreachable")  # p.error exits


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    _check(args, p)
    api_keys = _api_keys(args, p)
    artifact = args.artifact.resolve()
    state_dir = Path(tempfile.mkdtemp(prefix="auto-serve-"))
    settings = Settings(
        artifact=artifact,
        model_id=args.model_id,
        variation=args.variation,
        build_id=args.build_id,
        environment=args.environment,
        workers=args.workers,
        timeout_ms=args.timeout_ms,
        max_batch_size=args.max_batch_size,
        predictions_dir=args.predictions_dir.resolve() if args.predictions_dir else None,
        sample_rate=args.sample_rate,
        rotate_records=args.rotate_records,
        rotate_seconds=args.rotate_seconds,
        state_dir=state_dir,
        api_keys=api_keys,
    )
    prepare_process(artifact)
    seconds = args.timeout_ms / 1000.0
    options: dict[str, Any] = {
        "bind": [args.bind],
        "workers": args.workers,
        "worker_class": "gthread",
        "threads": args.threads,
        # The worker heartbeat: a slow predict runs on its own thread (answered 504), so the
        # worker stays alive; this only catches a worker that is truly stuck.
        "timeout": max(30, int(seconds * 2) + 10),
        "graceful_timeout": max(10, int(seconds) + 5),
        "keepalive": 5,
        "backlog": 2048,
        "accesslog": None,
        "errorlog": str(args.log_file) if args.log_file else "-",
        "loglevel": "info",
        "proc_name": f"auto-serve {args.model_id}/{args.variation} {args.build_id}".strip(),
        "pidfile": str(args.pid_file.resolve()) if args.pid_file else None,
        "chdir": str(Path.cwd()),
        "worker_exit": _worker_exit,
        # gunicorn >= 24 opens a control socket at one fixed path per user: two servers
        # (old and new build during a swap) would fight over it.
        "control_socket_disable": True,
        "on_exit": lambda _server: shutil.rmtree(state_dir, ignore_errors=True),
    }
    from gunicorn.errors import HaltServer

    try:
        _Server(settings, options, daemon=args.daemon).run()
    except HaltServer as exc:
        # When two workers fail to boot together, the second failure is raised while the
        # arbiter halts for the first and escapes it: keep gunicorn's exit status anyway.
        sys.stderr.write(f"auto-serve stopped: {exc.reason}\n")
        return int(exc.exit_status or 1)
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)
    return 0


_apps: list[ServeApp] = []


def _worker_exit(_server: Any, _worker: Any) -> None:
    for app in _apps:
        app.close()


def _server_class() -> type:
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):  # type: ignore[misc]
        def __init__(self, settings: Settings, options: dict[str, Any], *, daemon: bool) -> None:
            self.settings = settings
            self.options = options
            self.daemon = daemon
            super().__init__()

        def load_config(self) -> None:
            for key, value in self.options.items():
                if value is not None and key in self.cfg.settings:
                    self.cfg.set(key, value)

        def load(self) -> ServeApp:
            app = build_app(self.settings, _worker_failed)
            _apps.append(app)
            return app

        def run(self) -> None:
            if self.daemon:
                from gunicorn import util

                from qwak_auto.platform.private import restrict_umask

                # Keep stderr: it is the deployment's log file (the pid file finds us).
                util.daemonize(enable_stdio_inheritance=True)
                # daemonize sets the umask to 022: the prediction logs are private again.
                restrict_umask()
            super().run()

    return Server


def _Server(settings: Settings, options: dict[str, Any], *, daemon: bool) -> Any:
    return _server_class()(settings, options, daemon=daemon)


if __name__ == "__main__":
    from qwak_auto.platform.private import restrict_umask

    restrict_umask()  # what it writes in the home is private (issue 14)
    sys.exit(main())
