-- Analysis: analysts' corrections and near-duplicate clusters.

-- One correction per document (the latest replaces the earlier one).
CREATE TABLE IF NOT EXISTS corrections (
    doc_id         TEXT PRIMARY KEY,
    label          TEXT,
    false_mentions TEXT NOT NULL,     -- JSON list of entity ids
    by_user        TEXT NOT NULL,
    note           TEXT,
    at             TEXT NOT NULL
);

-- Near-duplicate clusters. `id` is the id of the cluster's first stored document;
-- first_source/first_seen describe its earliest document (publication, else fetch time).
CREATE TABLE IF NOT EXISTS clusters (
    id           TEXT PRIMARY KEY,
    first_source TEXT NOT NULL,
    first_seen   TEXT NOT NULL,
    size         INTEGER NOT NULL
);

-- Each document's SimHash and cluster; band0..band3 are its four 16-bit bands, so every
-- document within Hamming distance 3 shares at least one band value (pigeonhole).
CREATE TABLE IF NOT EXISTS doc_simhash (
    doc_id     TEXT PRIMARY KEY,
    simhash    INTEGER NOT NULL,      -- the u64 as a signed i64
    cluster_id TEXT NOT NULL,
    band0      INTEGER NOT NULL,
    band1      INTEGER NOT NULL,
    band2      INTEGER NOT NULL,
    band3      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS doc_simhash_band0 ON doc_simhash (band0);
CREATE INDEX IF NOT EXISTS doc_simhash_band1 ON doc_simhash (band1);
CREATE INDEX IF NOT EXISTS doc_simhash_band2 ON doc_simhash (band2);
CREATE INDEX IF NOT EXISTS doc_simhash_band3 ON doc_simhash (band3);
CREATE INDEX IF NOT EXISTS doc_simhash_cluster ON doc_simhash (cluster_id);
