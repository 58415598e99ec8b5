//! The operator console: users' password sign-in and the server-side sessions it opens.

use time::OffsetDateTime;

use super::StoreResult;
use crate::{AccessRole, ApiKeyRole, Id, Scope};

/// A user's console sign-in as stored: the password's PHC string (argon2id) and the role the
/// console grants, with the same meaning as an API key's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleLogin {
    /// The user.
    pub user_id: Id,
    /// `$argon2id$...`: never the password.
    pub password_hash: String,
    /// What the user may do in the console ([`ApiKeyRole::ViewOnly`]: look, never act).
    pub role: ApiKeyRole,
}

/// A session about to be opened; only the hash of its token is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConsoleSession {
    /// SHA-256 of the cookie's token.
    pub token_hash: Vec<u8>,
    /// Who signed in.
    pub user_id: Id,
    /// The token every form of the session carries back (CSRF).
    pub csrf_token: String,
    /// When it was opened.
    pub created_at: OffsetDateTime,
    /// When it stops being accepted.
    pub expires_at: OffsetDateTime,
}

/// An open session and everything a page needs to know about who is signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    /// The user.
    pub user_id: Id,
    /// Their login name.
    pub username: String,
    /// Their container (the root of what they see, unless they are at the account's root).
    pub container_id: Id,
    /// The console role of their sign-in.
    pub role: ApiKeyRole,
    /// Their access role.
    pub access_role: AccessRole,
    /// What they may see: the same subtree their API keys see.
    pub scope: Scope,
    /// The session's CSRF token.
    pub csrf_token: String,
    /// When the session ends.
    pub expires_at: OffsetDateTime,
}

/// Persistence of console sign-ins and sessions; sessions live in the database so that every
/// replica accepts them and signing out ends them everywhere.
pub trait ConsoleStore: Send + Sync {
    /// Sets (or replaces) a user's console password hash and role; false when no such user.
    fn set_console_login(&self, login: &ConsoleLogin, now: OffsetDateTime) -> StoreResult<bool>;
    /// The sign-in of the user with this login name, if they have a console password.
    fn console_login(&self, username: &str) -> StoreResult<Option<ConsoleLogin>>;
    /// Opens a session, and forgets sessions that expired before its creation.
    fn create_console_session(&self, session: &NewConsoleSession) -> StoreResult<()>;
    /// The session with this token hash, unless it has expired at `now` or its user lost
    /// their console sign-in.
    fn console_session(&self, token_hash: &[u8], now: OffsetDateTime) -> StoreResult<Option<ConsoleSession>>;
    /// Ends a session; false when there was none.
    fn delete_console_session(&self, token_hash: &[u8]) -> StoreResult<bool>;
}
