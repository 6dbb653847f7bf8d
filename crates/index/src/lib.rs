//! The full-text index (tantivy) of analysed documents: schema, the one writer, readers,
//! search in our own query language ([`query`]) with highlighted snippets, cursor paging and
//! cluster collapsing ([`DocIndex::search`]), facets and date histograms
//! ([`DocIndex::aggregate`]), and streamed export to CSV and JSON ([`DocIndex::export`]).
//!
//! Contract:
//! * Chinese text is tokenized by the analyzer's jieba tokenizer (registered as
//!   [`TOKENIZER`], followed by a lowercaser) at index and at query time; token offsets are
//!   byte offsets, so snippets highlight exactly;
//! * one [`IndexWriter`] per index directory: tantivy's lock file refuses a second one and
//!   [`IndexError::Locked`] says so plainly; any number of [`DocIndex`] readers may search
//!   beside it and see each commit (in-process readers reload on commit);
//! * [`IndexWriter::upsert`] deletes the document's id term and adds it again, so writing the
//!   same document twice leaves one copy once committed;
//! * nothing is visible to readers, nor durable, until [`IndexWriter::commit`] returns;
//! * an index written with another schema ([`SCHEMA_VERSION`]) is refused by
//!   [`DocIndex::open`] with [`IndexError::Schema`]; [`DocIndex::open_for_rebuild`] replaces
//!   it by an empty one for `yuqing reindex`;
//! * search, aggregation and export read sort keys, filters and counts from fast fields only;
//!   stored documents are opened only for the hits returned.

mod agg;
mod collect;
mod export;
pub mod query;
mod schema;
mod search;

use std::path::{Path, PathBuf};

use tantivy::directory::MmapDirectory;
use tantivy::directory::error::LockError;
use tantivy::tokenizer::{LowerCaser, TextAnalyzer};
use tantivy::{Index, IndexReader, ReloadPolicy, TantivyDocument, TantivyError, Term};
use yuqing_model::Document;
use yuqing_text::JiebaTokenizer;

pub use agg::{
    AUTO_HOUR_MAX_HOURS, AggOptions, Aggregations, Bucket, DEFAULT_FACET_TOP, FacetCount, Facets,
    Interval, MAX_DAY_BUCKETS, MAX_HOUR_BUCKETS,
};
pub use export::{
    CSV_COLUMNS, CsvWriter, DEFAULT_EXPORT_BATCH, Export, ExportOptions, JsonFormat, JsonWriter,
    write_csv, write_json,
};
pub use query::{QueryError, QueryErrorKind};
pub use schema::{Fields, cluster_hash};
pub use search::{Hit, SearchOptions, SearchResults, Snippet, SortOrder};

/// Version of the index schema, for the record: bumped with every change to `schema.rs`.
/// tantivy keeps the schema itself in `meta.json` and [`DocIndex::open`] compares it, so an
/// index from an older version is refused with [`IndexError::Schema`] rather than misread.
///
/// * 1: first schema;
/// * 2: `id` is a fast field (cursor paging and tie-breaks); `cluster_hash` (collapse).
pub const SCHEMA_VERSION: u32 = 2;

/// Name under which the jieba analyzer is registered.
pub const TOKENIZER: &str = "jieba";

/// Errors of the index.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// Another process holds the writer lock.
    #[error(
        "index at {0} is locked by another writer (is `yuqing run` or `yuqing demo` already running on this data directory?)"
    )]
    Locked(PathBuf),
    /// The query did not parse (or a page cursor is not valid): what and where.
    #[error("invalid query: {0}")]
    Query(#[from] QueryError),
    /// An export could not be written.
    #[error("export: {0}")]
    Write(#[from] std::io::Error),
    /// The index was created with another schema.
    #[error(
        "index at {path} has an incompatible schema ({reason}); run `yuqing reindex` to rebuild it from the store"
    )]
    Schema {
        /// The directory.
        path: PathBuf,
        /// What differs.
        reason: String,
    },
    /// Anything else tantivy reports.
    #[error("index: {0}")]
    Tantivy(#[from] TantivyError),
    /// The directory could not be created or opened.
    #[error("cannot open index directory {path}: {reason}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// Result alias.
pub type Result<T> = std::result::Result<T, IndexError>;

/// An opened index: schema fields and a reader.
pub struct DocIndex {
    index: Index,
    fields: Fields,
    reader: IndexReader,
    path: PathBuf,
}

impl DocIndex {
    /// Open the index in `dir`, creating it if it does not exist.
    pub fn open(dir: &Path, tokenizer: JiebaTokenizer) -> Result<DocIndex> {
        std::fs::create_dir_all(dir).map_err(|e| IndexError::Io {
            path: dir.to_path_buf(),
            reason: e.to_string(),
        })?;
        let mmap = MmapDirectory::open(dir).map_err(|e| IndexError::Io {
            path: dir.to_path_buf(),
            reason: e.to_string(),
        })?;
        let (schema, fields) = schema::build();
        let index = Index::open_or_create(mmap, schema).map_err(|e| match e {
            TantivyError::SchemaError(reason) => IndexError::Schema {
                path: dir.to_path_buf(),
                reason,
            },
            e => IndexError::Tantivy(e),
        })?;
        index.tokenizers().register(
            TOKENIZER,
            TextAnalyzer::builder(tokenizer).filter(LowerCaser).build(),
        );
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::OnCommitWithDelay)
            .try_into()?;
        Ok(DocIndex {
            index,
            fields,
            reader,
            path: dir.to_path_buf(),
        })
    }

    /// Open the index in `dir` for a full rebuild: like [`DocIndex::open`], but an index with
    /// another schema is replaced by an empty one instead of refused (its documents are gone;
    /// rebuild them from the store). Fails with [`IndexError::Locked`] while a writer is open.
    pub fn open_for_rebuild(dir: &Path, tokenizer: JiebaTokenizer) -> Result<DocIndex> {
        match DocIndex::open(dir, tokenizer.clone()) {
            Err(IndexError::Schema { .. }) => {}
            other => return other,
        }
        let io = |e: &dyn std::fmt::Display| IndexError::Io {
            path: dir.to_path_buf(),
            reason: e.to_string(),
        };
        let mmap = MmapDirectory::open(dir).map_err(|e| io(&e))?;
        // Hold the old index's writer lock while replacing it, so a running daemon is not
        // pulled out from under.
        let old = Index::open(mmap.clone())?;
        let _lock = old
            .writer_with_num_threads::<TantivyDocument>(1, 15_000_000)
            .map_err(|e| match e {
                TantivyError::LockFailure(LockError::LockBusy, _) => {
                    IndexError::Locked(dir.to_path_buf())
                }
                e => IndexError::Tantivy(e),
            })?;
        let (schema, _) = schema::build();
        Index::create(mmap, schema, tantivy::IndexSettings::default())?;
        drop(_lock);
        DocIndex::open(dir, tokenizer)
    }

    /// The schema's fields.
    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// Take the writer. Fails with [`IndexError::Locked`] when another writer exists.
    pub fn writer(&self, threads: usize, memory_bytes: usize) -> Result<IndexWriter> {
        let writer = self
            .index
            .writer_with_num_threads::<TantivyDocument>(threads.max(1), memory_bytes)
            .map_err(|e| match e {
                TantivyError::LockFailure(LockError::LockBusy, _) => {
                    IndexError::Locked(self.path.clone())
                }
                e => IndexError::Tantivy(e),
            })?;
        Ok(IndexWriter {
            writer,
            fields: self.fields.clone(),
        })
    }

    /// Make the last commit visible now (readers also reload by themselves shortly after).
    pub fn reload(&self) -> Result<()> {
        Ok(self.reader.reload()?)
    }

    /// Number of searchable documents.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Number of segments searched (each adds a small fixed cost to every search).
    pub fn num_segments(&self) -> usize {
        self.reader.searcher().segment_readers().len()
    }

    /// Whether a document with this id is searchable.
    pub fn contains(&self, id: &str) -> Result<bool> {
        let searcher = self.reader.searcher();
        let term = Term::from_field_text(self.fields.id, id);
        Ok(searcher.doc_freq(&term)? > 0)
    }
}

/// The single writer of an index.
pub struct IndexWriter {
    writer: tantivy::IndexWriter<TantivyDocument>,
    fields: Fields,
}

impl IndexWriter {
    /// Replace any document with the same id by this one (visible after commit).
    pub fn upsert(&mut self, doc: &Document) -> Result<()> {
        self.writer
            .delete_term(Term::from_field_text(self.fields.id, doc.raw.id.as_str()));
        self.writer.add_document(self.fields.to_tantivy(doc))?;
        Ok(())
    }

    /// Delete every document (for a full reindex; visible after commit).
    pub fn delete_all(&mut self) -> Result<()> {
        self.writer.delete_all_documents()?;
        Ok(())
    }

    /// Make everything written so far durable and visible.
    pub fn commit(&mut self) -> Result<()> {
        self.writer.commit()?;
        Ok(())
    }

    /// Wait for background segment merges to finish, then release the writer (its lock).
    pub fn wait_merging_threads(self) -> Result<()> {
        self.writer.wait_merging_threads()?;
        Ok(())
    }

    /// Drop everything written since the last commit.
    pub fn rollback(&mut self) -> Result<()> {
        self.writer.rollback()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
