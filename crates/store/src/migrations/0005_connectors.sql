-- Connector state beyond checkpoints and health (crates/store/src/connectors.rs).

-- Customer-feedback records pushed over HTTP (POST /api/v1/inbound/{source}) or queued by
-- `yuqing import` beside a running daemon. A row stays until the pipeline has committed the
-- documents it became: the source's checkpoint (`sources.etag = 'inbound:<seq>'`) advances in
-- the same transaction as those documents, and rows at or below it are purged afterwards.
-- AUTOINCREMENT: a sequence number is never reused, so the cursor never skips a record.
CREATE TABLE inbound_queue (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id   TEXT NOT NULL,
    record_json TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX inbound_queue_source ON inbound_queue (source_id, seq);

-- Inbound sources and the SHA-256 of their bearer token (NULL: only console API tokens of an
-- analyst or admin may push), registered by the daemon from the connector files.
CREATE TABLE inbound_sources (
    source_id  TEXT PRIMARY KEY,
    token_hash TEXT,
    updated_at TEXT NOT NULL
);

-- The scheduler's view of each source: current (adaptive) interval, gaps, item counts and the
-- timing of new items, from which `stale` is derived at read time.
CREATE TABLE connector_state (
    source_id        TEXT PRIMARY KEY,
    interval_secs    REAL NOT NULL,
    polls_total      INTEGER NOT NULL DEFAULT 0,
    items_total      INTEGER NOT NULL DEFAULT 0,
    new_items_total  INTEGER NOT NULL DEFAULT 0,
    gaps_total       INTEGER NOT NULL DEFAULT 0,
    last_gap_at      TEXT,
    last_new_item_at TEXT,
    usual_gap_secs   REAL,
    stale_factor     REAL NOT NULL DEFAULT 0,
    updated_at       TEXT NOT NULL
);

-- Failed polls by error class.
CREATE TABLE connector_errors (
    source_id TEXT NOT NULL,
    class     TEXT NOT NULL,
    count     INTEGER NOT NULL,
    PRIMARY KEY (source_id, class)
) WITHOUT ROWID;
