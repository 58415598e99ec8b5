//! Error types of the CA crate.

use std::fmt;
use std::path::PathBuf;

/// Why a certificate signing request was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsrError {
    /// The input is not a PEM or base64 encoded PKCS#10 request.
    Unparseable,
    /// The request's self-signature does not verify with its own public key.
    BadSignature,
    /// The public key type or curve is not accepted.
    UnsupportedKey(String),
    /// The public key is too weak (e.g. RSA below 2048 bits).
    WeakKey(String),
}

impl fmt::Display for CsrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unparseable => f.write_str("the CSR could not be parsed"),
            Self::BadSignature => f.write_str("the CSR signature is invalid"),
            Self::UnsupportedKey(detail) => write!(f, "unsupported CSR key: {detail}"),
            Self::WeakKey(detail) => write!(f, "the CSR key is too weak: {detail}"),
        }
    }
}

impl std::error::Error for CsrError {}

/// Errors of CA creation, loading and issuance.
#[derive(Debug)]
pub enum CaError {
    /// A file system operation failed on `path`.
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// `create` refused to overwrite an existing CA file.
    AlreadyExists(PathBuf),
    /// A private key file is accessible by group or other users.
    InsecurePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A CA file does not hold what it should (bad PEM, key mismatch, broken chain...).
    Corrupt {
        /// The offending file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A cryptographic or encoding operation failed.
    Crypto(String),
    /// The issuance or generation request is invalid.
    InvalidRequest(String),
}

impl CaError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, reason: impl fmt::Display) -> Self {
        Self::Corrupt { path: path.into(), reason: reason.to_string() }
    }

    pub(crate) fn crypto(err: impl fmt::Display) -> Self {
        Self::Crypto(err.to_string())
    }

    pub(crate) fn invalid(reason: impl fmt::Display) -> Self {
        Self::InvalidRequest(reason.to_string())
    }
}

impl fmt::Display for CaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Self::AlreadyExists(path) => {
                write!(f, "{}: refusing to overwrite existing CA file", path.display())
            }
            Self::InsecurePermissions { path, mode } => write!(
                f,
                "{}: private key is accessible by other users (mode {mode:04o}, expected 0600)",
                path.display()
            ),
            Self::Corrupt { path, reason } => write!(f, "{}: {reason}", path.display()),
            Self::Crypto(detail) => write!(f, "cryptographic operation failed: {detail}"),
            Self::InvalidRequest(detail) => write!(f, "invalid request: {detail}"),
        }
    }
}

impl std::error::Error for CaError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
