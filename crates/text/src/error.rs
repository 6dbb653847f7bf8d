//! The crate's one error type: everything that can go wrong while loading the analyzer.

use std::path::{Path, PathBuf};

/// Why [`Analyzer::load`](crate::Analyzer::load) failed. Every variant names the file (or the
/// entity, or the option) and the reason, so the message alone is enough to fix the config.
///
/// No variant is transient: retrying without changing a file or the options fails again.
#[derive(Debug, thiserror::Error)]
pub enum TextError {
    /// A dictionary or lexicon file could not be read (missing, unreadable, not UTF-8).
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A line of a jieba user dictionary is malformed.
    #[error("{path}:{line}: {reason}")]
    Dict {
        /// The dictionary file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with the line.
        reason: String,
    },
    /// A line of the learned sentiment model file is malformed (line 0: the whole file).
    #[error("{path}:{line}: {reason}")]
    Model {
        /// The model file.
        path: PathBuf,
        /// 1-based line number; 0 when the problem is not one line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The sentiment lexicon is not valid TOML or does not have the expected shape.
    #[error("{path}: {source}")]
    LexiconSyntax {
        /// The lexicon file.
        path: PathBuf,
        /// The TOML error (it names the line, column and key).
        source: Box<toml::de::Error>,
    },
    /// The sentiment lexicon parsed but a value is not acceptable.
    #[error("{path}: key `{key}`: {reason}")]
    Lexicon {
        /// The lexicon file.
        path: PathBuf,
        /// The offending key, as `table.key`.
        key: String,
        /// What was expected.
        reason: String,
    },
    /// A watched entity cannot be matched as configured.
    #[error("entity `{entity_id}`: {reason}")]
    Entity {
        /// The entity's id.
        entity_id: String,
        /// What is wrong (an empty alias, for example).
        reason: String,
    },
    /// The entity matcher could not be built (too many or too long aliases).
    #[error("cannot build the entity matcher: {reason}")]
    Matcher {
        /// What aho-corasick reported.
        reason: String,
    },
    /// An [`AnalyzerOptions`](crate::AnalyzerOptions) value is out of range.
    #[error("analyzer option `{option}`: {reason}")]
    Option {
        /// The option's name.
        option: &'static str,
        /// What was expected.
        reason: String,
    },
}

/// Read a dictionary, lexicon, rules or model file whole; the error names the file.
pub(crate) fn read_file(path: &Path) -> Result<String, TextError> {
    std::fs::read_to_string(path).map_err(|source| TextError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Parse a lexicon or rules file's TOML into its shape; the error names the file (and the
/// TOML error its line, column and key).
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(
    text: &str,
    path: &Path,
) -> Result<T, TextError> {
    toml::from_str(text).map_err(|e| TextError::LexiconSyntax {
        path: path.to_path_buf(),
        source: Box::new(e),
    })
}
