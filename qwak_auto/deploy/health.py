"""The health of a recorded deployment, in one word or a short phrase, for `auto status`."""

from __future__ import annotations

from qwak_auto.state.base import DeploymentRecord


def health(record: DeploymentRecord) -> str:
    """``healthy``, ``not ready``, ``down: <why>``, the record's status when it does not
    serve, or ``unknown`` for deployers that are not checked from here."""
    if record.status != "serving":
        return record.status
    if record.deployer != "local":
        return "unknown"
    from qwak_auto.deploy import processes

    port = record.detail.get("port")
    if not isinstance(port, int):
        return "down: no address recorded"
    pid = record.detail.get("pid")
    if isinstance(pid, int) and not processes.alive(pid):
        return "down: the model server is not running"
    container = record.detail.get("container")
    if isinstance(container, str) and record.detail.get("container_id"):
        import os

        from qwak_auto.deploy import containers

        running, _ = containers.state(container, os.environ)
        if running not in ("running", "unknown"):
            return f"down: the model server container is {running}"
    try:
        status, _ = processes.http_json(port, "GET", "/ready", timeout=2.0)
    except OSError:
        return f"down: nothing answers at 127.0.0.1:{port}"
    if status == 200:
        return "healthy"
    if status == 503:
        return "not ready"
    return f"unhealthy: /ready answered HTTP {status}"
