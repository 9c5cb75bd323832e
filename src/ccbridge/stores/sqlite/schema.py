"""The SQLite schema. Deliveries are the transactional outbox: written with their event."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    type            TEXT NOT NULL,
    source          TEXT NOT NULL,
    time            TEXT NOT NULL,
    data            TEXT NOT NULL,
    dialect         TEXT NOT NULL,
    correlation_id  TEXT NOT NULL,
    received_at     TEXT NOT NULL,
    received_ts     REAL NOT NULL,
    idempotency_key TEXT,
    metadata        TEXT NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX IF NOT EXISTS events_idempotency ON events(idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE TABLE IF NOT EXISTS subscriptions (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    doc         TEXT NOT NULL,
    created_ts  REAL NOT NULL,
    updated_ts  REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    id              INTEGER PRIMARY KEY,
    event_id        TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    endpoint_url    TEXT NOT NULL,
    endpoint_type   TEXT NOT NULL,
    kind            TEXT NOT NULL DEFAULT 'event',
    state           TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    lease_owner     TEXT,
    lease_until     REAL,
    last_status     INTEGER,
    last_error      TEXT,
    payload         TEXT,
    created_ts      REAL NOT NULL,
    updated_ts      REAL NOT NULL,
    dead_ts         REAL
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries(next_attempt_at) WHERE state = 'pending';
-- what a lease scans: due, unleased rows only, so in-flight rows are never stepped over. It replaces
-- deliveries_ready, which left queue endpoints out while they had no transport; a file made then
-- loses the old index here.
DROP INDEX IF EXISTS deliveries_ready;
CREATE INDEX IF NOT EXISTS deliveries_unleased ON deliveries(next_attempt_at)
    WHERE state = 'pending' AND lease_until IS NULL;
-- leases by expiry, so expired ones (a crashed or stopped process) are found without a scan
CREATE INDEX IF NOT EXISTS deliveries_leased ON deliveries(lease_until) WHERE lease_until IS NOT NULL;
CREATE INDEX IF NOT EXISTS deliveries_subscription ON deliveries(subscription_id, state);
-- a message's attempts, and whether an old event is still referenced (history retention)
CREATE INDEX IF NOT EXISTS deliveries_event ON deliveries(event_id);
CREATE INDEX IF NOT EXISTS deliveries_dead ON deliveries(dead_ts) WHERE state = 'dead';
CREATE TABLE IF NOT EXISTS idempotency (
    scope      TEXT NOT NULL,
    key        TEXT NOT NULL,
    body_hash  TEXT NOT NULL,
    status     INTEGER NOT NULL,
    response   TEXT NOT NULL,
    created_ts REAL NOT NULL,
    PRIMARY KEY (scope, key)
);
"""

HISTORY_SCHEMA = """
-- every attempt of a delivery, written in the settlement's transaction; gone with its delivery
CREATE TABLE IF NOT EXISTS delivery_attempts (
    id            INTEGER PRIMARY KEY,
    delivery_id   INTEGER NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
    attempt       INTEGER NOT NULL,
    at            REAL NOT NULL,
    endpoint_url  TEXT NOT NULL,
    endpoint_type TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    status        INTEGER,
    latency_ms    REAL,
    response_body TEXT,
    error         TEXT,
    error_class   TEXT
);
CREATE INDEX IF NOT EXISTS delivery_attempts_delivery ON delivery_attempts(delivery_id);
-- one subscription's deliveries, newest first (the deliveries route pages by id)
CREATE INDEX IF NOT EXISTS deliveries_subscription_id ON deliveries(subscription_id, id);
CREATE TABLE IF NOT EXISTS replay_jobs (
    id          TEXT PRIMARY KEY,
    spec        TEXT NOT NULL,
    state       TEXT NOT NULL,
    total       INTEGER NOT NULL,
    scanned     INTEGER NOT NULL DEFAULT 0,
    matched     INTEGER NOT NULL DEFAULT 0,
    enqueued    INTEGER NOT NULL DEFAULT 0,
    skipped     INTEGER NOT NULL DEFAULT 0,
    position    INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until REAL,
    error       TEXT,
    created_ts  REAL NOT NULL,
    updated_ts  REAL NOT NULL,
    finished_ts REAL
);
-- what a replay job queued: at most one delivery per (job, event, subscription, endpoint)
CREATE TABLE IF NOT EXISTS replay_marks (
    job_id          TEXT NOT NULL REFERENCES replay_jobs(id) ON DELETE CASCADE,
    event_id        TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    endpoint_url    TEXT NOT NULL,
    PRIMARY KEY (job_id, event_id, subscription_id, endpoint_url)
) WITHOUT ROWID;
"""

REGISTRY_SCHEMA = """
-- the last state told to the registry per subscription (core.registry); a row goes with its subscription
CREATE TABLE IF NOT EXISTS registry_states (
    subscription_id TEXT PRIMARY KEY,
    state           TEXT NOT NULL,
    changed_ts      REAL NOT NULL
);
"""

HEALTH_SCHEMA = """
-- each endpoint's circuit breaker (`core.endpoint_health.HealthRecord` as JSON), and the rate
-- limiters' theoretical arrival times (`core.endpoint_health.rate_slot`)
CREATE TABLE IF NOT EXISTS endpoint_health (
    subscription_id TEXT NOT NULL,
    url             TEXT NOT NULL,
    doc             TEXT NOT NULL,
    updated_ts      REAL NOT NULL,
    PRIMARY KEY (subscription_id, url)
);
CREATE TABLE IF NOT EXISTS rate_slots (
    key TEXT PRIMARY KEY,
    tat REAL NOT NULL
);
"""

CONNECTOR_SCHEMA = """
-- one row per connector name: the lease that lets one process run it, and its last status
CREATE TABLE IF NOT EXISTS connector_leases (
    name       TEXT PRIMARY KEY,
    owner      TEXT,
    expires_at REAL,
    status     TEXT NOT NULL DEFAULT '{}',
    updated_ts REAL NOT NULL
);
"""

RATE_TOKENS_SCHEMA = """
-- `RateLimits`: each key's theoretical arrival time (`core.rate_limit`); a tat in the past is the
-- same as no row
CREATE TABLE IF NOT EXISTS rate_tokens (
    key TEXT PRIMARY KEY,
    tat REAL NOT NULL
);
"""
