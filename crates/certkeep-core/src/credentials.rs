//! API key material: generation and the one-way hash that is all the store keeps.

use aws_lc_rs::{digest, rand};

/// Generates a new API key: 48 upper-case hex characters (192 bits of entropy).
pub fn generate_api_key() -> String {
    hex_upper(&random_bytes::<24>())
}

/// `N` bytes from the system's secure random generator (which cannot fail on a working OS).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::fill(&mut bytes).expect("system RNG failed");
    bytes
}

/// The SHA-256 of a presented key; keys are looked up by this hash and never stored in clear.
pub fn hash_api_key(key: &str) -> Vec<u8> {
    digest::digest(&digest::SHA256, key.as_bytes()).as_ref().to_vec()
}

/// SHA-1 of `data` (thumbprints and key identifiers, never for security).
pub fn sha1(data: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, data).as_ref().to_vec()
}

/// Upper-case hexadecimal without separators.
pub fn hex_upper(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0xF) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_hex() {
        let a = generate_api_key();
        let b = generate_api_key();
        assert_ne!(a, b);
        assert_eq!(a.len(), 48);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()));
    }

    #[test]
    fn hash_is_stable_and_distinct() {
        assert_eq!(hash_api_key("abc"), hash_api_key("abc"));
        assert_ne!(hash_api_key("abc"), hash_api_key("abd"));
        assert_eq!(hex_upper(&[0x0a, 0xff]), "0AFF");
    }
}
