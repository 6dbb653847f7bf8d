-- Incidents (one event = one incident), their documents and audit trail, and the
-- notification outbox, written by crates/incidents in the same transaction as each change.

CREATE TABLE incidents (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    group_key         TEXT NOT NULL,
    rule_id           TEXT NOT NULL,
    rule_kind         TEXT NOT NULL,
    entity_id         TEXT NOT NULL,
    topic             TEXT,
    status            TEXT NOT NULL,
    severity          TEXT NOT NULL,
    title             TEXT NOT NULL,
    opened_at         TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    last_doc_at       TEXT NOT NULL,
    resolved_at       TEXT,
    acknowledged_at   TEXT,
    acknowledged_by   TEXT,
    assignee          TEXT,
    open_count        INTEGER NOT NULL DEFAULT 1,
    doc_count         INTEGER NOT NULL DEFAULT 0,
    peak              REAL NOT NULL DEFAULT 0,
    notified_at       TEXT,
    notified_docs     INTEGER NOT NULL DEFAULT 0,
    update_seq        INTEGER NOT NULL DEFAULT 0,
    unacked_escalated INTEGER NOT NULL DEFAULT 0,
    why_json          TEXT NOT NULL
);
CREATE INDEX incidents_group ON incidents (group_key, id);
CREATE INDEX incidents_status ON incidents (status, updated_at);

-- The documents attached to an incident, in time order: its propagation path.
CREATE TABLE incident_docs (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    doc_id      TEXT NOT NULL,
    source_id   TEXT NOT NULL,
    title       TEXT NOT NULL,
    url         TEXT,
    doc_at      TEXT NOT NULL,
    attached_at TEXT NOT NULL,
    terms       TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (incident_id, doc_id)
) WITHOUT ROWID;
CREATE INDEX incident_docs_doc ON incident_docs (doc_id);

-- Audit trail of every change.
CREATE TABLE incident_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    at          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    actor       TEXT,
    detail      TEXT NOT NULL
);
CREATE INDEX incident_events_incident ON incident_events (incident_id, id);

-- Notifications to deliver; payload is a JSON `Notification`. `dedup_key` makes every write
-- idempotent (INSERT OR IGNORE): replaying a batch never queues a message twice.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    channel         TEXT NOT NULL,
    dedup_key       TEXT NOT NULL UNIQUE,
    incident_id     INTEGER,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

-- The incident engine rebuilds its windows from recently fetched documents on start-up.
CREATE INDEX documents_fetched_at ON documents (fetched_at);
