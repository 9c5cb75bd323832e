"""The PostgreSQL schema as numbered migrations, applied in order at open under an advisory lock.

Why numbered: several replicas share one database and may run different releases during a rolling
restart, so the schema moves forward in small steps, each applied exactly once (recorded in
`ccb_migrations`), never edited once released. Append a new step; never change an old one.
Times are epoch seconds (`double precision`) from the store's injected clock, as on SQLite, so
retry schedules and windows stay testable.
"""

from __future__ import annotations

MIGRATIONS: tuple[tuple[int, str], ...] = (
    (
        1,
        """
CREATE TABLE meta (
    name  text PRIMARY KEY,
    value bytea NOT NULL
);
CREATE TABLE counters (
    name  text PRIMARY KEY,
    value bigint NOT NULL
);
INSERT INTO counters(name, value) VALUES ('subscriptions_version', 0);
CREATE TABLE events (
    seq             bigserial PRIMARY KEY,
    id              text NOT NULL UNIQUE,
    type            text NOT NULL,
    source          text NOT NULL,
    time            text NOT NULL,
    data            text NOT NULL,
    dialect         text NOT NULL,
    correlation_id  text NOT NULL,
    received_at     text NOT NULL,
    received_ts     double precision NOT NULL,
    idempotency_key text,
    metadata        text NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX events_idempotency ON events(idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX events_received ON events(received_ts);
CREATE TABLE subscriptions (
    id          text PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    doc         text NOT NULL,
    created_ts  double precision NOT NULL,
    updated_ts  double precision NOT NULL
);
CREATE TABLE deliveries (
    id              bigserial PRIMARY KEY,
    event_id        text NOT NULL,
    subscription_id text NOT NULL,
    endpoint_url    text NOT NULL,
    endpoint_type   text NOT NULL,
    kind            text NOT NULL DEFAULT 'event',
    state           text NOT NULL DEFAULT 'pending',
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at double precision NOT NULL,
    lease_owner     text,
    lease_until     double precision,
    last_status     integer,
    last_error      text,
    payload         text,
    created_ts      double precision NOT NULL,
    updated_ts      double precision NOT NULL,
    dead_ts         double precision
);
-- what a lease scans: pending rows by due time (leased ones are few: at most the dispatchers' slots)
CREATE INDEX deliveries_due ON deliveries(next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_subscription ON deliveries(subscription_id, state);
CREATE INDEX deliveries_event ON deliveries(event_id);
CREATE INDEX deliveries_dead ON deliveries(dead_ts) WHERE state = 'dead';
CREATE INDEX deliveries_settled ON deliveries(updated_ts) WHERE state IN ('delivered', 'cancelled');
CREATE TABLE idempotency (
    scope      text NOT NULL,
    key        text NOT NULL,
    body_hash  text NOT NULL,
    status     integer NOT NULL,
    response   text NOT NULL,
    created_ts double precision NOT NULL,
    PRIMARY KEY (scope, key)
);
""",
    ),
    (
        20,
        """
-- every attempt of a delivery, written in the settlement's transaction; gone with its delivery
CREATE TABLE delivery_attempts (
    id            bigserial PRIMARY KEY,
    delivery_id   bigint NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
    attempt       integer NOT NULL,
    at            double precision NOT NULL,
    endpoint_url  text NOT NULL,
    endpoint_type text NOT NULL,
    outcome       text NOT NULL,
    status        integer,
    latency_ms    double precision,
    response_body text,
    error         text,
    error_class   text
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts(delivery_id);
-- one subscription's deliveries, newest first (the deliveries route pages by id)
CREATE INDEX deliveries_subscription_id ON deliveries(subscription_id, id);
CREATE TABLE replay_jobs (
    id          text PRIMARY KEY,
    spec        text NOT NULL,
    state       text NOT NULL,
    total       bigint NOT NULL,
    scanned     bigint NOT NULL DEFAULT 0,
    matched     bigint NOT NULL DEFAULT 0,
    enqueued    bigint NOT NULL DEFAULT 0,
    skipped     bigint NOT NULL DEFAULT 0,
    position    bigint NOT NULL DEFAULT 0,
    lease_owner text,
    lease_until double precision,
    error       text,
    created_ts  double precision NOT NULL,
    updated_ts  double precision NOT NULL,
    finished_ts double precision
);
-- what a replay job queued: at most one delivery per (job, event, subscription, endpoint)
CREATE TABLE replay_marks (
    job_id          text NOT NULL REFERENCES replay_jobs(id) ON DELETE CASCADE,
    event_id        text NOT NULL,
    subscription_id text NOT NULL,
    endpoint_url    text NOT NULL,
    PRIMARY KEY (job_id, event_id, subscription_id, endpoint_url)
);
""",
    ),
    (
        40,
        """
-- the last state told to the registry per subscription (core.registry); a row goes with its subscription
CREATE TABLE registry_states (
    subscription_id text PRIMARY KEY,
    state           text NOT NULL,
    changed_ts      double precision NOT NULL
);
""",
    ),
    (
        30,
        """
-- each endpoint's circuit breaker (`core.endpoint_health.HealthRecord` as JSON), and the rate
-- limiters' theoretical arrival times (`core.endpoint_health.rate_slot`)
CREATE TABLE endpoint_health (
    subscription_id text NOT NULL,
    url             text NOT NULL,
    doc             text NOT NULL,
    updated_ts      double precision NOT NULL,
    PRIMARY KEY (subscription_id, url)
);
CREATE TABLE rate_slots (
    key text PRIMARY KEY,
    tat double precision NOT NULL
);
""",
    ),
    (
        10,
        """
-- one row per connector name: the lease that lets one replica run it, and its last status
CREATE TABLE connector_leases (
    name       text PRIMARY KEY,
    owner      text,
    expires_at double precision,
    status     text NOT NULL DEFAULT '{}',
    updated_ts double precision NOT NULL
);
""",
    ),
    (
        50,
        """
-- `RateLimits`: each key's theoretical arrival time (`core.rate_limit`); a tat in the past is the
-- same as no row
CREATE TABLE rate_tokens (
    key text PRIMARY KEY,
    tat double precision NOT NULL
);
""",
    ),
)

# kept in version order, whatever order the steps were written in
MIGRATIONS = tuple(sorted(MIGRATIONS))
