//! One error type for the whole toolkit: every variant names the file or field at fault.

use std::path::{Path, PathBuf};

/// Result alias used throughout mrixai.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong, each variant naming what it is about.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O failure on a named path.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file exists but its content is not what was expected.
    #[error("{path}: {msg}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        msg: String,
    },
    /// A configuration field has an impossible value.
    #[error("config field `{field}`: {msg}")]
    Config {
        /// Dotted field name, e.g. `lesion.area_fraction`.
        field: String,
        /// Why it is impossible.
        msg: String,
    },
    /// An array has the wrong shape.
    #[error("{what}: expected shape {expected}, got {got:?}")]
    Shape {
        /// Which array.
        what: String,
        /// Description of the expected shape.
        expected: String,
        /// The shape found.
        got: Vec<usize>,
    },
    /// An array contains NaN or infinite values.
    #[error("{what}: contains {count} non-finite value(s) (NaN or Inf)")]
    NonFinite {
        /// Which array.
        what: String,
        /// How many values are non-finite.
        count: usize,
    },
    /// Any other invalid input, described in words.
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }
    /// An [`Error::Format`] for `path`.
    pub fn format(path: impl AsRef<Path>, msg: impl Into<String>) -> Self {
        Error::Format {
            path: path.as_ref().to_path_buf(),
            msg: msg.into(),
        }
    }
    /// An [`Error::Config`] for `field`.
    pub fn config(field: impl Into<String>, msg: impl Into<String>) -> Self {
        Error::Config {
            field: field.into(),
            msg: msg.into(),
        }
    }
    /// An [`Error::Shape`] for array `what`.
    pub fn shape(what: impl Into<String>, expected: impl Into<String>, got: &[usize]) -> Self {
        Error::Shape {
            what: what.into(),
            expected: expected.into(),
            got: got.to_vec(),
        }
    }
    /// An [`Error::Invalid`] with a message.
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::Invalid(msg.into())
    }
}

/// Fails with [`Error::NonFinite`] if any value of `values` is NaN or infinite.
pub fn ensure_finite<'a>(what: &str, values: impl IntoIterator<Item = &'a f32>) -> Result<()> {
    let count = values.into_iter().filter(|v| !v.is_finite()).count();
    if count > 0 {
        return Err(Error::NonFinite {
            what: what.to_string(),
            count,
        });
    }
    Ok(())
}
