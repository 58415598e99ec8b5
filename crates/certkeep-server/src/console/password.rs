//! Console passwords: argon2id hashes in PHC string form (`$argon2id$v=19$m=19456,t=2,p=1$...`),
//! with the argon2 crate's default (OWASP-recommended) cost.

use argon2::{
    Argon2,
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
};
use certkeep_core::credentials::random_bytes;

/// The shortest password `set-password` accepts.
pub const MIN_CHARS: usize = 12;
/// The longest password hashed at all (longer ones are refused before any work is done).
pub const MAX_BYTES: usize = 1024;

/// Why a password is not accepted, or `Ok` when it is.
pub fn check_strength(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_CHARS {
        return Err(format!("the password must have at least {MIN_CHARS} characters"));
    }
    if password.len() > MAX_BYTES {
        return Err(format!("the password must have at most {MAX_BYTES} bytes"));
    }
    Ok(())
}

/// The argon2id hash of `password` with a fresh random salt.
pub fn hash(password: &str) -> Result<String, String> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches the stored `phc` hash. With no hash (an unknown user) it spends
/// the same work on a fixed hash, so that the answer's timing does not tell which users exist.
pub fn verify(password: &str, phc: Option<&str>) -> bool {
    static UNKNOWN_USER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if password.len() > MAX_BYTES {
        return false;
    }
    let unknown = UNKNOWN_USER.get_or_init(|| hash("no user has this password").unwrap_or_default());
    let Ok(parsed) = PasswordHash::new(phc.unwrap_or(unknown)) else { return false };
    Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok() && phc.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only_and_is_salted() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify("correct horse battery", Some(&h)));
        assert!(!verify("correct horse batterY", Some(&h)));
        assert_ne!(h, hash("correct horse battery").unwrap());
        assert!(!verify("no user has this password", None), "an unknown user never signs in");
        assert!(!verify("x", Some("not a hash")));
    }

    #[test]
    fn short_and_huge_passwords_are_refused() {
        assert!(check_strength("short").is_err());
        assert!(check_strength(&"a".repeat(MAX_BYTES + 1)).is_err());
        assert!(check_strength("twelve chars").is_ok());
    }
}
