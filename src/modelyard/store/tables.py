"""SQLAlchemy table definitions; no behaviour. Migrations in ``migrations/`` create them."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKeyConstraint,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
)

metadata = MetaData()

teams = Table(
    "teams", metadata,
    Column("name", String(63), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

api_keys = Table(
    "api_keys", metadata,
    Column("id", String(32), primary_key=True),
    Column("prefix", String(16), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False),
    Column("name", String(128), nullable=False),
    Column("team", String(63), nullable=False),
    Column("role", String(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
    # 0002_tenancy
    Column("scopes", String(64), nullable=False, server_default="inference,management"),
    Column("deployments", Text, nullable=False, server_default=""),
    Column("user_name", String(63)),
    Column("created_by", String(128), nullable=False, server_default=""),
)

models = Table(
    "models", metadata,
    Column("name", String(63), primary_key=True),
    Column("team", String(63), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(128), nullable=False),
)

model_versions = Table(
    "model_versions", metadata,
    Column("model", String(63), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("digest", String(80), nullable=False),
    Column("framework", String(32), nullable=False),
    Column("task", String(32), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("artifact_name", String(255), nullable=False),
    Column("tags", Text, nullable=False, default="{}"),
    Column("input_schema", Text),
    Column("output_schema", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(128), nullable=False),
    ForeignKeyConstraint(["model"], ["models.name"], ondelete="CASCADE"),
)

aliases = Table(
    "aliases", metadata,
    Column("model", String(63), primary_key=True),
    Column("name", String(63), primary_key=True),
    Column("version", Integer, nullable=False),
    ForeignKeyConstraint(["model", "version"], ["model_versions.model", "model_versions.version"],
                         ondelete="CASCADE"),
)

deployments = Table(
    "deployments", metadata,
    Column("name", String(63), primary_key=True),
    Column("team", String(63), nullable=False),
    Column("environment", String(16), nullable=False),
    Column("desired_replicas", Integer, nullable=False),
    Column("current_revision", Integer, nullable=False),
    Column("deleting", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False, default=1),
)

revisions = Table(
    "revisions", metadata,
    Column("deployment", String(63), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("model", String(63), nullable=False),
    Column("model_version", Integer, nullable=False),
    Column("alias", String(63)),
    Column("framework", String(32), nullable=False),
    Column("digest", String(80), nullable=False),
    Column("artifact_name", String(255), nullable=False),
    Column("max_batch_size", Integer),
    Column("max_batch_delay_ms", Float),
    Column("instances", Integer),
    Column("compile", Boolean, nullable=False, server_default=false()),
    Column("engine", String(16)),
    Column("engine_settings", Text),
    Column("resources", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("message", Text, nullable=False, default=""),
    Column("replicas", Integer),  # 0003_rollouts
    ForeignKeyConstraint(["deployment"], ["deployments.name"], ondelete="CASCADE"),
)

replicas = Table(
    "replicas", metadata,
    Column("id", String(80), primary_key=True),
    Column("deployment", String(63), nullable=False, index=True),
    Column("revision", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("state_since", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("node", String(63)),
    Column("pid", Integer),
    Column("port", Integer),
    Column("token", String(64)),
    Column("restart_count", Integer, nullable=False, default=0),
    Column("next_restart_at", DateTime(timezone=True)),
    Column("reason", Text, nullable=False, default=""),
    Column("version", Integer, nullable=False, default=1),
    Column("allocation", Text),
)


# 0002_tenancy: users (team memberships) and the hash-chained audit log.
users = Table(
    "users", metadata,
    Column("name", String(63), primary_key=True),
    Column("team", String(63), primary_key=True),
    Column("role", String(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    ForeignKeyConstraint(["team"], ["teams.name"], ondelete="CASCADE"),
)

audit_events = Table(
    "audit_events", metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("time", DateTime(timezone=True), nullable=False, index=True),
    Column("actor", String(128), nullable=False, index=True),
    Column("team", String(63), nullable=False, index=True),
    Column("action", String(64), nullable=False, index=True),
    Column("target", String(255), nullable=False, index=True),
    Column("outcome", String(16), nullable=False),
    Column("before_digest", String(80)),
    Column("after_digest", String(80)),
    Column("request_id", String(64), nullable=False),
    Column("source", String(64), nullable=False),
    Column("details", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# One row (id 1): the last sequence number and hash. Appends lock it first, which
# serializes them on both SQLite and PostgreSQL, and it exposes a cut-off tail.
audit_head = Table(
    "audit_head", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)


# rollouts (migration 0003_rollouts): rollouts, their history and recorded validations

rollouts = Table(
    "rollouts", metadata,
    Column("id", String(40), primary_key=True),
    Column("deployment", String(63), nullable=False, index=True),
    Column("stable_revision", Integer, nullable=False),
    Column("candidate_revision", Integer, nullable=False),
    Column("strategy", String(16), nullable=False),
    Column("steps", String(255), nullable=False),
    Column("step_interval_s", Float, nullable=False),
    Column("max_error_rate_increase", Float, nullable=False),
    Column("max_p95_ratio", Float, nullable=False),
    Column("latency_slack_s", Float, nullable=False),
    Column("min_requests", Integer, nullable=False),
    Column("shadow_percent", Integer, nullable=False),
    Column("max_surge", Integer, nullable=False),
    Column("max_unavailable", Integer, nullable=False),
    Column("keep_old_s", Float, nullable=False),
    Column("state", String(16), nullable=False),
    Column("state_since", DateTime(timezone=True), nullable=False),
    Column("step_index", Integer, nullable=False),
    Column("step_started_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("message", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("version", Integer, nullable=False),
    ForeignKeyConstraint(["deployment"], ["deployments.name"], ondelete="CASCADE"),
)

rollout_history = Table(
    "rollout_history", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("deployment", String(63), nullable=False, index=True),
    Column("rollout_id", String(40)),
    Column("revision", Integer),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("message", Text, nullable=False),
    Column("figures", Text),
    ForeignKeyConstraint(["deployment"], ["deployments.name"], ondelete="CASCADE"),
)

revision_validations = Table(
    "revision_validations", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("deployment", String(63), nullable=False, index=True),
    Column("revision", Integer, nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("summary", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("recorded_by", String(128), nullable=False),
    Column("figures", Text),  # 0009_validation_figures: JSON of a validation run
    Column("command", Text),
    ForeignKeyConstraint(["deployment", "revision"], ["revisions.deployment", "revisions.number"],
                         ondelete="CASCADE"),
)


# usage metering (migration 0007_usage): one row per request, replica time per hour bucket

usage_records = Table(
    "usage_records", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("time", DateTime(timezone=True), nullable=False, index=True),
    Column("team", String(63), nullable=False, index=True),
    Column("key_id", String(32), nullable=False),
    Column("deployment", String(63), nullable=False, index=True),
    Column("revision", Integer),
    Column("model", String(63), nullable=False),
    Column("model_version", Integer),
    Column("status", Integer, nullable=False),
    Column("latency_s", Float, nullable=False),
    Column("prompt_tokens", Integer, nullable=False),
    Column("completion_tokens", Integer, nullable=False),
    Column("request_id", String(64), nullable=False),
)

resource_usage = Table(
    "resource_usage", metadata,
    Column("replica_id", String(80), primary_key=True),
    Column("bucket", DateTime(timezone=True), primary_key=True),
    Column("team", String(63), nullable=False, index=True),
    Column("deployment", String(63), nullable=False, index=True),
    Column("revision", Integer, nullable=False),
    Column("model", String(63), nullable=False),
    Column("model_version", Integer),
    Column("gpu_model", String(63), nullable=False),
    Column("gpus", Integer, nullable=False),
    Column("cpu_seconds", Float, nullable=False),
    Column("gpu_seconds", Float, nullable=False),
    Column("accrued_until", DateTime(timezone=True), nullable=False),
)

# budgets (migration 0008_budgets): one per team; ``alerted_period`` = the period whose soft
# limit already raised its alert event
budgets = Table(
    "budgets", metadata,
    Column("team", String(63), primary_key=True),
    Column("soft", Float, nullable=False),
    Column("hard", Float, nullable=False),
    Column("period", String(16), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", String(128), nullable=False),
    Column("alerted_period", String(32), nullable=False, server_default=""),
)

# drift (migration 0010_drift): sampled rows, reference data per model version, latest verdict

drift_samples = Table(
    "drift_samples", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("time", DateTime(timezone=True), nullable=False),
    Column("deployment", String(63), nullable=False, index=True),
    Column("revision", Integer),
    Column("features", Text, nullable=False),
    Column("prediction", Float),
)

drift_references = Table(
    "drift_references", metadata,
    Column("model", String(63), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("columns", Text, nullable=False),
    Column("rows", Text, nullable=False),
    Column("predictions", Text, nullable=False),
    Column("source", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_sample_id", BigInteger),
)

drift_status = Table(
    "drift_status", metadata,
    Column("deployment", String(63), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("drifted", Boolean, nullable=False),
    Column("report", Text, nullable=False),
)

# scheduling (migrations 0010_nodes, 0011_resources_quotas): inventory and team quotas

nodes = Table(
    "nodes", metadata,
    Column("name", String(63), primary_key=True),
    Column("source", String(16), nullable=False),
    Column("cpu_milli", Integer, nullable=False),
    Column("memory_mib", Integer, nullable=False),
    Column("gpus", Text, nullable=False, default="[]"),
    Column("labels", Text, nullable=False, default="{}"),
    Column("taints", Text, nullable=False, default="[]"),
    Column("cordoned", Boolean, nullable=False, default=False),
    Column("draining", Boolean, nullable=False, default=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

quotas = Table(
    "quotas", metadata,
    Column("team", String(63), primary_key=True),
    Column("gpu_model", String(32), primary_key=True),
    Column("guaranteed_milli", Integer, nullable=False),
    Column("borrow_limit_milli", Integer, nullable=False),
)

external_deployments = Table(
    "external_deployments", metadata,
    Column("name", String(63), primary_key=True),
    Column("team", String(63), nullable=False),
    Column("environment", String(16), nullable=False),
    Column("urls", Text, nullable=False),  # newline-separated
    Column("upstream_key_env", String(64), nullable=False, server_default=""),
    Column("health_path", String(200), nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("connect_timeout_s", Float, nullable=False, server_default="0"),
    Column("read_timeout_s", Float, nullable=False, server_default="0"),
)
