-- Sources: configuration mirror, checkpoint (validators) and health.
CREATE TABLE sources (
    id                   TEXT PRIMARY KEY,
    name                 TEXT NOT NULL,
    kind                 TEXT NOT NULL,
    channel              TEXT NOT NULL,
    enabled              INTEGER NOT NULL,
    health               TEXT NOT NULL DEFAULT 'pending',
    etag                 TEXT,
    last_modified        TEXT,
    content_hash         TEXT,
    last_poll_at         TEXT,
    last_success_at      TEXT,
    last_error_at        TEXT,
    last_error_class     TEXT,
    last_error           TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    polls_total          INTEGER NOT NULL DEFAULT 0,
    errors_total         INTEGER NOT NULL DEFAULT 0,
    docs_total           INTEGER NOT NULL DEFAULT 0,
    updated_at           TEXT NOT NULL
);

-- Items a source has delivered and that are durably stored: the "seen ids" checkpoint.
CREATE TABLE source_items (
    source_id     TEXT NOT NULL,
    item_key      TEXT NOT NULL,
    doc_id        TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    first_seen_at TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    PRIMARY KEY (source_id, item_key)
) WITHOUT ROWID;

-- Document metadata plus the full analysed document as JSON (for reindex and detail views).
CREATE TABLE documents (
    id               TEXT PRIMARY KEY,
    source_id        TEXT NOT NULL,
    channel          TEXT NOT NULL,
    url              TEXT,
    title            TEXT NOT NULL,
    published_at     TEXT,
    fetched_at       TEXT NOT NULL,
    sentiment_score  REAL NOT NULL,
    sentiment_label  TEXT NOT NULL,
    entities         TEXT NOT NULL,
    analyzer_version INTEGER NOT NULL,
    doc_json         TEXT NOT NULL,
    first_stored_at  TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX documents_published_at ON documents (published_at);
CREATE INDEX documents_source_id ON documents (source_id);
