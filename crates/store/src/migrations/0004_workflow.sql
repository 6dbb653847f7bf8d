-- The improvement workflow (crates/workflow): event reports, reviews, measures, complaint
-- cases, effect evaluations, conclusions, the audit trail of every edit, and the runs of
-- scheduled jobs (briefings). Each object is stored whole as JSON (`json`) with the columns
-- that queries filter on beside it; both are written together.

-- One event report per incident, drafted from its documents, then edited; refreshed_at is
-- when its facts were last drafted from the data.
CREATE TABLE workflow_reports (
    incident_id  INTEGER PRIMARY KEY REFERENCES incidents (id),
    json         TEXT NOT NULL,
    refreshed_at TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

-- One review (复盘) per incident.
CREATE TABLE workflow_reviews (
    incident_id INTEGER PRIMARY KEY REFERENCES incidents (id),
    status      TEXT NOT NULL,
    json        TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

-- Improvement measures.
CREATE TABLE workflow_measures (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id      INTEGER NOT NULL REFERENCES incidents (id),
    status           TEXT NOT NULL,
    category         TEXT NOT NULL,
    owner_department TEXT NOT NULL,
    deadline         TEXT NOT NULL,
    done_at          TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    json             TEXT NOT NULL
);
CREATE INDEX workflow_measures_incident ON workflow_measures (incident_id, id);
CREATE INDEX workflow_measures_status ON workflow_measures (status, deadline);

-- Complaint cases; at most one per source document (cases from monitored documents are
-- created idempotently with INSERT OR IGNORE).
CREATE TABLE workflow_cases (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    status      TEXT NOT NULL,
    entity_id   TEXT,
    incident_id INTEGER,
    source_doc  TEXT UNIQUE,
    assignee    TEXT,
    accepted_at TEXT NOT NULL,
    deadline    TEXT NOT NULL,
    answered_at TEXT,
    updated_at  TEXT NOT NULL,
    json        TEXT NOT NULL
);
CREATE INDEX workflow_cases_status ON workflow_cases (status, deadline);
CREATE INDEX workflow_cases_accepted ON workflow_cases (accepted_at);
CREATE INDEX workflow_cases_incident ON workflow_cases (incident_id);

-- Effect evaluations with their hand-entered inputs.
CREATE TABLE workflow_evaluations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER,
    measure_id  INTEGER,
    computed_at TEXT NOT NULL,
    json        TEXT NOT NULL
);
CREATE INDEX workflow_evaluations_incident ON workflow_evaluations (incident_id, id);
CREATE INDEX workflow_evaluations_measure ON workflow_evaluations (measure_id, id);

-- An incident's conclusion, citing an evaluation.
CREATE TABLE workflow_conclusions (
    incident_id INTEGER PRIMARY KEY REFERENCES incidents (id),
    json        TEXT NOT NULL
);

-- Audit trail: one row per changed field (who, when, what, old → new), written in the same
-- transaction as the change.
CREATE TABLE workflow_audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    object      TEXT NOT NULL,
    object_id   INTEGER NOT NULL,
    incident_id INTEGER,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    field       TEXT NOT NULL,
    old_value   TEXT,
    new_value   TEXT
);
CREATE INDEX workflow_audit_object ON workflow_audit (object, object_id, id);
CREATE INDEX workflow_audit_incident ON workflow_audit (incident_id, id);

-- Scheduled jobs (daily/weekly briefings): the last period each one ran for, written in the
-- same transaction as the notifications it queued, so a restart neither repeats nor skips it.
CREATE TABLE workflow_schedule (
    job         TEXT PRIMARY KEY,
    last_period TEXT NOT NULL,
    last_run_at TEXT NOT NULL
);
