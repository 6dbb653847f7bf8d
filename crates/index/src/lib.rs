//! The full-text index (tantivy) of analysed documents: schema, the one writer, readers and
//! search with highlighted snippets.
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
//! * nothing is visible to readers, nor durable, until [`IndexWriter::commit`] returns.

mod schema;
mod search;

use std::path::{Path, PathBuf};

use tantivy::directory::MmapDirectory;
use tantivy::directory::error::LockError;
use tantivy::tokenizer::{LowerCaser, TextAnalyzer};
use tantivy::{Index, IndexReader, ReloadPolicy, TantivyDocument, TantivyError, Term};
use yuqing_model::Document;
use yuqing_text::JiebaTokenizer;

pub use schema::Fields;
pub use search::{Hit, SearchOptions, SearchResults, Snippet, SortOrder};

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
    /// The query did not parse.
    #[error("invalid query: {0}")]
    Query(String),
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

    /// Drop everything written since the last commit.
    pub fn rollback(&mut self) -> Result<()> {
        self.writer.rollback()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
