"""Automations, builds, deployments, metric-trigger evaluations and key/value state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from qwak_auto.state.base import AutomationRecord, BuildRecord, DeploymentRecord, EvaluationRecord
from qwak_auto.state.columns import BUILD_COLUMNS, DEPLOYMENT_COLUMNS, EVALUATION_COLUMNS
from qwak_auto.state.sql import SqlBase, upsert_sql


class RecordStore(SqlBase):
    """Plain records: upserts by key, newest-first listings."""

    # -- automations ---------------------------------------------------------------------
    def upsert_automation(
        self, *, name: str, model_id: str, spec_hash: str, file: str, enabled: bool, now: datetime
    ) -> AutomationRecord:
        ts = self._ts_in(now)
        with self._lock, self._transaction(write=True) as tx:
            tx.run(
                "INSERT INTO automations"
                " (name, model_id, spec_hash, file, enabled, first_seen, last_seen)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET"
                " model_id = excluded.model_id, spec_hash = excluded.spec_hash,"
                " file = excluded.file, enabled = excluded.enabled, last_seen = excluded.last_seen",
                name,
                model_id,
                spec_hash,
                file,
                enabled,
                ts,
                ts,
            )
            row = tx.one("SELECT * FROM automations WHERE name = ?", name)
        assert row is not None
        return self._automation(row)

    def automations(self) -> Sequence[AutomationRecord]:
        with self._lock, self._transaction(write=False) as tx:
            rows = tx.rows("SELECT * FROM automations ORDER BY name")
        return tuple(self._automation(r) for r in rows)

    def automation(self, name: str) -> AutomationRecord | None:
        with self._lock, self._transaction(write=False) as tx:
            row = tx.one("SELECT * FROM automations WHERE name = ?", name)
        return self._automation(row) if row else None

    def _automation(self, row: Mapping[str, Any]) -> AutomationRecord:
        return AutomationRecord(**self._decoded(row, enabled=bool))

    # -- builds --------------------------------------------------------------------------
    def save_build(self, build: BuildRecord) -> None:
        values = self._encoded(build, BUILD_COLUMNS, commit_sha=build.commit)
        with self._lock, self._transaction(write=True) as tx:
            tx.run(upsert_sql("builds", BUILD_COLUMNS, "build_id"), *values)

    def build(self, build_id: str) -> BuildRecord | None:
        with self._lock, self._transaction(write=False) as tx:
            row = tx.one(f"SELECT {BUILD_COLUMNS} FROM builds WHERE build_id = ?", build_id)
        return self._build(row) if row else None

    def builds(self, model_id: str | None = None, limit: int = 20) -> Sequence[BuildRecord]:
        select = f"SELECT {BUILD_COLUMNS} FROM builds"
        rows = self._newest(select, {"model_id": model_id}, "started_at DESC, seq DESC", limit)
        return tuple(self._build(r) for r in rows)

    def _build(self, r: Mapping[str, Any]) -> BuildRecord:
        fields = self._decoded(r)
        return BuildRecord(commit=fields.pop("commit_sha"), **fields)

    # -- deployments ---------------------------------------------------------------------
    def save_deployment(self, deployment: DeploymentRecord) -> None:
        values = self._encoded(deployment, DEPLOYMENT_COLUMNS)
        with self._lock, self._transaction(write=True) as tx:
            tx.run(upsert_sql("deployments", DEPLOYMENT_COLUMNS, "deployment_id"), *values)

    def deployments(
        self,
        model_id: str | None = None,
        environment: str | None = None,
        variation: str | None = None,
        status: str | None = None,
        limit: int = 50,
    ) -> Sequence[DeploymentRecord]:
        where = {
            "model_id": model_id,
            "environment": environment,
            "variation": variation,
            "status": status,
        }
        select = f"SELECT {DEPLOYMENT_COLUMNS} FROM deployments"
        rows = self._newest(select, where, "created_at DESC, seq DESC", limit)
        return tuple(self._deployment(r) for r in rows)

    def serving(self, model_id: str, environment: str, variation: str) -> DeploymentRecord | None:
        found = self.deployments(model_id, environment, variation, status="serving", limit=1)
        return found[0] if found else None

    def _deployment(self, r: Mapping[str, Any]) -> DeploymentRecord:
        return DeploymentRecord(**self._decoded(r))

    # -- evaluations ---------------------------------------------------------------------
    def record_evaluation(self, evaluation: EvaluationRecord) -> None:
        e = evaluation
        with self._lock, self._transaction(write=True) as tx:
            tx.run(
                f"INSERT INTO evaluations ({EVALUATION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                e.automation,
                self._ts_in(e.evaluated_at),
                None if e.value is None else float(e.value),
                bool(e.breached),
                bool(e.fired),
                e.reason,
                e.sql,
            )

    def evaluations(self, automation: str, limit: int = 20) -> Sequence[EvaluationRecord]:
        select = f"SELECT {EVALUATION_COLUMNS} FROM evaluations"
        rows = self._newest(
            select, {"automation": automation}, "evaluated_at DESC, seq DESC", limit
        )
        return tuple(self._evaluation(r) for r in rows)

    def _evaluation(self, r: Mapping[str, Any]) -> EvaluationRecord:
        fields = self._decoded(r, value=_number, breached=bool, fired=bool)
        return EvaluationRecord(sql=fields.pop("sql_text"), **fields)

    # -- key/value -----------------------------------------------------------------------
    def get_value(self, scope: str, key: str) -> Any:
        with self._lock, self._transaction(write=False) as tx:
            row = tx.one("SELECT value FROM kv WHERE scope = ? AND key = ?", scope, key)
        return None if row is None else self._json_out(row["value"])

    def set_value(self, scope: str, key: str, value: Any) -> None:
        with self._lock, self._transaction(write=True) as tx:
            tx.run(
                "INSERT INTO kv (scope, key, value) VALUES (?, ?, ?)"
                " ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value",
                scope,
                key,
                self._json_in(value),
            )

    def values(self, scope: str) -> Mapping[str, Any]:
        with self._lock, self._transaction(write=False) as tx:
            rows = tx.rows("SELECT key, value FROM kv WHERE scope = ? ORDER BY key", scope)
        return {str(r["key"]): self._json_out(r["value"]) for r in rows}

    def delete_value(self, scope: str, key: str) -> None:
        with self._lock, self._transaction(write=True) as tx:
            tx.run("DELETE FROM kv WHERE scope = ? AND key = ?", scope, key)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)
