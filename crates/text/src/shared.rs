//! Replacing the analyzer while it is in use: dictionary, lexicon, model, rule or entity
//! changes without a restart.
//!
//! A [`SharedAnalyzer`] holds the current [`Analyzer`] behind an atomic pointer (`arc-swap`).
//! Readers take the current one with [`SharedAnalyzer::current`] (a lock-free load and an
//! `Arc` clone; never blocked, not even during a reload) and keep using it for as long as they
//! hold it, so one document is always analyzed by one configuration. [`SharedAnalyzer::reload`]
//! builds a complete new analyzer first (the slow part: jieba's dictionary, about a second in
//! release builds), off every reader's path, then swaps it in at once; if building fails, the
//! old analyzer stays and the error says which file is wrong. Analyses after a reload carry the
//! same [`ANALYZER_VERSION`](crate::ANALYZER_VERSION): a configuration change is not a code
//! change, so `yuqing reanalyze` (without `--outdated`) is what brings stored documents up to
//! date.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use arc_swap::ArcSwap;
use yuqing_model::Entity;

use crate::{Analyzer, AnalyzerOptions, JiebaTokenizer, TextError};

/// A file the analyzer read, and its modification time and length just before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileStamp {
    pub path: PathBuf,
    stamp: Option<(SystemTime, u64)>,
}

impl FileStamp {
    pub(crate) fn of(path: &Path) -> FileStamp {
        FileStamp {
            path: path.to_path_buf(),
            stamp: stamp(path),
        }
    }

    pub(crate) fn changed(&self) -> bool {
        stamp(&self.path) != self.stamp
    }
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// An [`Analyzer`] that can be replaced while threads use it. `Send + Sync`; share it in an
/// `Arc`. See the module docs for the guarantees.
///
/// ```no_run
/// # use yuqing_text::{AnalyzerOptions, SharedAnalyzer};
/// # fn main() -> Result<(), yuqing_text::TextError> {
/// # let (opts, entities) = (AnalyzerOptions::default(), Vec::new());
/// let shared = SharedAnalyzer::load(&opts, &entities)?;
/// // a worker, per document or per batch:
/// let analyzer = shared.current();
/// // on SIGHUP, or when `shared.current().changed_files()` is not empty:
/// match shared.reload(&opts, &entities) {
///     Ok(generation) => println!("analyzer reloaded (generation {generation})"),
///     Err(e) => eprintln!("analyzer not reloaded, the previous one stays: {e}"),
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct SharedAnalyzer {
    current: Arc<ArcSwap<Analyzer>>,
    generation: AtomicU64,
    /// Serializes reloads (never taken by readers).
    reloading: Mutex<()>,
}

impl SharedAnalyzer {
    /// Share an analyzer already loaded (generation 0).
    pub fn new(analyzer: Analyzer) -> SharedAnalyzer {
        SharedAnalyzer {
            current: Arc::new(ArcSwap::from_pointee(analyzer)),
            generation: AtomicU64::new(0),
            reloading: Mutex::new(()),
        }
    }

    /// [`Analyzer::load`], shared.
    pub fn load(opts: &AnalyzerOptions, entities: &[Entity]) -> Result<SharedAnalyzer, TextError> {
        Ok(SharedAnalyzer::new(Analyzer::load(opts, entities)?))
    }

    /// The current analyzer. Lock-free; the caller keeps this one until it drops it, even if a
    /// reload happens meanwhile.
    pub fn current(&self) -> Arc<Analyzer> {
        self.current.load_full()
    }

    /// Build a new analyzer from `opts` and `entities` (reading every file again) and make it
    /// the current one; returns the new generation. On error nothing changes: the previous
    /// analyzer stays current. Readers are never blocked; concurrent reloads run one at a time.
    pub fn reload(&self, opts: &AnalyzerOptions, entities: &[Entity]) -> Result<u64, TextError> {
        let _one_at_a_time = self
            .reloading
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let analyzer = Analyzer::load(opts, entities)?;
        Ok(self.swap_in(analyzer))
    }

    /// Make `analyzer` the current one; returns the new generation.
    pub fn replace(&self, analyzer: Analyzer) -> u64 {
        let _one_at_a_time = self
            .reloading
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.swap_in(analyzer)
    }

    fn swap_in(&self, analyzer: Analyzer) -> u64 {
        self.current.store(Arc::new(analyzer));
        self.generation.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// How many times the analyzer was replaced (0: the one it was created with).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// A tokenizer that always uses the *current* analyzer's dictionary, looked up once per
    /// text (unlike [`Analyzer::tokenizer`], which keeps one analyzer's). Text indexed before a
    /// reload keeps the tokens it was indexed with: re-index (`yuqing reanalyze`) after a
    /// dictionary change so that old documents match new query tokens.
    pub fn tokenizer(&self) -> JiebaTokenizer {
        JiebaTokenizer::live(Arc::clone(&self.current))
    }
}

impl From<Analyzer> for SharedAnalyzer {
    fn from(a: Analyzer) -> SharedAnalyzer {
        SharedAnalyzer::new(a)
    }
}
