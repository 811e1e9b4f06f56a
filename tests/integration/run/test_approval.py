"""Human approval before a deploy (issue 16), with real `auto` processes sharing one state
store (SQLite file, or PostgreSQL), the fake builder and deployer, and a real HTTP server
receiving the notifications."""

from __future__ import annotations

import collections
import json
import time
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from qwak_auto.state import open_url
from qwak_auto.state.base import ApprovalState, StateStore
from tests.integration.run.conftest import Runner, model_repo

NOW = "2026-05-01T12:00:00Z"


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    return ("127.0.0.1", 0)


def write_gated(
    folder: Path,
    name: str,
    hook: str,
    *,
    timeout: str = "1h",
    trigger: str = 'scheduled:\n    cron: "0 * * * *"',
    concurrency: str = "forbid",
) -> None:
    """An automation that waits for approval; its notifications go to ``hook``."""
    (folder / f"{name}.yaml").write_text(
        f"name: {name}\nmodel_id: {name}\nconcurrency: {concurrency}\n"
        f"trigger:\n  {trigger}\n"
        "action:\n  build_deploy:\n"
        "    requires_approval: true\n"
        f"    approval_timeout: {timeout}\n"
        f"    build_spec:\n      git_uri: {model_repo()}\n"
        "on_approval_needed:\n  slack: {webhook_secret: approval_slack}\n"
        f"  webhook: {{url: '{hook}/approval'}}\n"
        f"on_not_deployed:\n  webhook: {{url: '{hook}/not-deployed'}}\n"
        f"on_success:\n  webhook: {{url: '{hook}/success'}}\n"
    )


def _store(runner: Runner) -> StateStore:
    url = runner.env.get("AUTO_STATE_URL") or f"sqlite:///{runner.tmp_path / '.auto/state.db'}"
    return open_url(url)


def _json(proc: Any) -> dict[str, Any]:
    assert proc.returncode in (0, 1), proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def _bodies(server: HTTPServer, path: str) -> list[dict[str, Any]]:
    return [json.loads(req.get_data()) for req, _ in server.log if req.path == path]


def _serve(server: HTTPServer, runner: Runner) -> str:
    """The webhooks' and Slack's receiver (Slack's URL is held in a secret, as in production)."""
    for path in ("/approval", "/not-deployed", "/success", "/slack"):
        server.expect_request(path, method="POST").respond_with_data("ok")
    hook = server.url_for("").rstrip("/")
    runner.env["AUTO_SECRET_APPROVAL_SLACK"] = f"{hook}/slack"
    return hook


def _waiting_run(runner: Runner, folder: Path) -> str:
    first = runner.run("run", "--once", str(folder), "--now", NOW, "--format", "json")
    summary = _json(first)
    assert first.returncode == 0, first.stderr  # waiting is not a failure
    (run,) = summary["runs"]
    assert run["status"] == "awaiting_approval"
    return str(run["run_id"])


def test_waits_then_approve_deploys_once(
    runner: Runner, tmp_path: Path, httpserver: HTTPServer
) -> None:
    hook = _serve(httpserver, runner)
    folder = tmp_path / "automations"
    folder.mkdir()
    write_gated(folder, "churn", hook)
    run_id = _waiting_run(runner, folder)

    # The notification: a real HTTP server got the run id and the exact approve command.
    (body,) = _bodies(httpserver, "/approval")
    assert body["event"] == "approval_needed"
    assert body["run_id"] == run_id
    assert body["status"] == "awaiting_approval"
    assert body["approve_command"] == f"auto approve {run_id}"
    assert body["metric"] == "no deployment condition"
    assert body["expires_at"].endswith("Z")
    (slack,) = _bodies(httpserver, "/slack")
    assert slack["text"].startswith("✋ churn waits for approval to deploy")
    assert f"Approve: `auto approve {run_id}`" in json.dumps(slack["blocks"], ensure_ascii=False)

    # The runner that ran it is gone; 4 runners tick while it waits and do nothing to it.
    procs = [runner.start("run", "--once", str(folder), "--now", NOW) for _ in range(4)]
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    assert [rc for rc, _, _ in results] == [0] * 4, [err[-2000:] for _, _, err in results]
    store = _store(runner)
    try:
        run = store.run(run_id)
        assert run is not None
        assert run.status.value == "awaiting_approval"
        assert run.lease_expires_at is None  # nothing holds it
        approval = store.approval(run_id)
        assert approval is not None
        assert approval.state == ApprovalState.WAITING
        assert store.deployments("churn") == ()
    finally:
        store.close()
    assert runner.lines("deploy") == []
    assert len(runner.lines("done")) == 1  # built once, before it waited

    approved = runner.run("approve", run_id, "--comment", "looks good", "--by", "alice")
    assert approved.returncode == 0, approved.stderr
    assert f"approved run {run_id} of churn by alice: looks good" in approved.stdout
    assert "deploy" in approved.stdout  # the continued run's steps

    store = _store(runner)
    try:
        run = store.run(run_id)
        assert run is not None
        assert run.status.value == "succeeded"
        steps = [(s.name, s.status.value, s.reason) for s in store.steps(run_id)]
        (deployment,) = store.deployments("churn")
        assert deployment.run_id == run_id
        approval = store.approval(run_id)
        assert approval is not None
        assert (approval.decided_by, approval.comment) == ("alice", "looks good")
        assert approval.state == ApprovalState.CONTINUED
    finally:
        store.close()
    names = [name for name, _, _ in steps]
    assert names == ["source", "build", "condition", "approval", "notify", "deploy", "notify"]
    assert ("approval", "ok", "approved by alice: looks good") in steps
    assert len(runner.lines("deploy")) == 1
    assert len(_bodies(httpserver, "/success")) == 1

    # Once deployed, approving again or rejecting is refused (exit 1) with the state named.
    again = runner.run("approve", run_id)
    assert again.returncode == 1
    assert "continued by" in again.stderr
    assert "the run is succeeded" in again.stderr
    no = runner.run("reject", run_id[:10])
    assert no.returncode == 1
    assert "cannot reject run" in no.stderr
    assert len(runner.lines("deploy")) == 1


def test_approve_later_four_runners_deploy_once(
    runner: Runner, tmp_path: Path, httpserver: HTTPServer
) -> None:
    hook = _serve(httpserver, runner)
    folder = tmp_path / "automations"
    folder.mkdir()
    write_gated(folder, "churn", hook)
    run_id = _waiting_run(runner, folder)
    later = runner.run("approve", run_id, "--later", "--format", "json")
    assert later.returncode == 0, later.stderr
    data = json.loads(later.stdout)
    assert data["later"] is True
    assert data["run"]["status"] == "awaiting_approval"
    assert data["by"]  # the OS user
    assert runner.lines("deploy") == []

    procs = [
        runner.start("run", "--once", str(folder), "--now", NOW, "--format", "json")
        for _ in range(4)
    ]
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    assert [rc for rc, _, _ in results] == [0] * 4, [err[-2000:] for _, _, err in results]
    continued = [r for _, out, _ in results for r in json.loads(out)["runs"]]
    assert [(r["run_id"], r["status"]) for r in continued] == [(run_id, "succeeded")]
    deploys = collections.Counter(line[2] for line in runner.lines("deploy"))
    assert deploys == {run_id: 1}
    store = _store(runner)
    try:
        run = store.run(run_id)
        assert run is not None
        assert run.status.value == "succeeded"
    finally:
        store.close()


def test_reject_records_who_and_why(runner: Runner, tmp_path: Path, httpserver: HTTPServer) -> None:
    hook = _serve(httpserver, runner)
    folder = tmp_path / "automations"
    folder.mkdir()
    write_gated(folder, "churn", hook)
    run_id = _waiting_run(runner, folder)
    rejected = runner.run("reject", run_id, "--comment", "metrics look odd", "--by", "bob")
    assert rejected.returncode == 0, rejected.stderr
    assert "rejected run" in rejected.stdout
    store = _store(runner)
    try:
        run = store.run(run_id)
        assert run is not None
        assert run.status.value == "rejected"
        assert run.error == "rejected by bob: metrics look odd"
        approval = store.approval(run_id)
        assert approval is not None
        assert (approval.state, approval.decided_by, approval.comment) == (
            ApprovalState.REJECTED, "bob", "metrics look odd",
        )  # fmt: skip
        assert store.deployments("churn") == ()
    finally:
        store.close()
    (body,) = _bodies(httpserver, "/not-deployed")
    assert body["reason"] == "rejected by bob: metrics look odd"
    # A runner ticking afterwards does not deploy it; approving it now is refused.
    tick = runner.run("run", "--once", str(folder), "--now", NOW)
    assert tick.returncode == 0, tick.stderr
    refused = runner.run("approve", run_id)
    assert refused.returncode == 1
    assert "rejected by bob" in refused.stderr
    assert runner.lines("deploy") == []


def test_unknown_run_is_a_usage_error(sqlite_runner: Runner) -> None:
    for verb in ("approve", "reject"):
        proc = sqlite_runner.run(verb, "feedbeef0000")
        assert proc.returncode == 2, proc.stderr
        assert "no run 'feedbeef0000' is recorded" in proc.stderr
        assert "auto status" in proc.stderr  # the hint


def test_expired_run_is_not_deployed(
    sqlite_runner: Runner, tmp_path: Path, httpserver: HTTPServer
) -> None:
    hook = _serve(httpserver, sqlite_runner)
    folder = tmp_path / "automations"
    folder.mkdir()
    write_gated(folder, "churn", hook, timeout="2s")
    run_id = _waiting_run(sqlite_runner, folder)
    time.sleep(2.5)
    tick = sqlite_runner.run("run", "--once", str(folder), "--now", NOW, "--format", "json")
    assert tick.returncode == 0, tick.stderr  # expiring is not a failure
    store = _store(sqlite_runner)
    try:
        run = store.run(run_id)
        assert run is not None
        assert run.status.value == "expired"
        assert run.error.startswith("not approved within 2s")
    finally:
        store.close()
    (body,) = _bodies(httpserver, "/not-deployed")
    assert body["reason"].startswith("not approved within 2s")
    refused = sqlite_runner.run("approve", run_id)
    assert refused.returncode == 1
    assert "it expired at" in refused.stderr
    assert sqlite_runner.lines("deploy") == []


def test_approving_past_the_deadline_expires_it(
    sqlite_runner: Runner, tmp_path: Path, httpserver: HTTPServer
) -> None:
    """No runner ticked since the deadline: `auto approve` itself records the expiry."""
    hook = _serve(httpserver, sqlite_runner)
    folder = tmp_path / "automations"
    folder.mkdir()
    write_gated(folder, "churn", hook, timeout="1s")
    run_id = _waiting_run(sqlite_runner, folder)
    time.sleep(1.5)
    refused = sqlite_runner.run("approve", run_id)
    assert refused.returncode == 1
    assert f"cannot approve run {run_id}: it expired at" in refused.stderr
    store = _store(sqlite_runner)
    try:
        run = store.run(run_id)
        assert run is not None
        assert run.status.value == "expired"
    finally:
        store.close()
    assert sqlite_runner.lines("deploy") == []


def test_newer_run_supersedes_the_waiting_one(
    runner: Runner, tmp_path: Path, httpserver: HTTPServer
) -> None:
    hook = _serve(httpserver, runner)
    folder = tmp_path / "automations"
    folder.mkdir()
    write_gated(folder, "churn", hook, trigger="none: {}")
    first = runner.run("trigger", "churn", str(folder), "--format", "json")
    assert first.returncode == 0, first.stderr
    older = json.loads(first.stdout)["run_id"]
    second = runner.run("trigger", "churn", str(folder), "--format", "json")
    assert second.returncode == 0, second.stderr
    newer = json.loads(second.stdout)["run_id"]
    assert json.loads(second.stdout)["status"] == "awaiting_approval"

    refused = runner.run("approve", older)
    assert refused.returncode == 1
    assert f"superseded by the newer run {newer}" in refused.stderr
    assert f"auto approve {newer}" in refused.stderr  # the hint
    store = _store(runner)
    try:
        run = store.run(older)
        assert run is not None
        assert run.status.value == "superseded"
    finally:
        store.close()
    bodies = _bodies(httpserver, "/approval")
    assert [b["run_id"] for b in bodies] == [older, newer]
    assert bodies[1]["supersedes"] == [older]

    approved = runner.run("approve", newer)
    assert approved.returncode == 0, approved.stderr
    deploys = [line[2] for line in runner.lines("deploy")]
    assert deploys == [newer]
