//! Sealing of secrets at rest (NCP secret keys, EAB HMAC keys, registered private keys):
//! AES-256-GCM under one server key that lives in a file of the data directory.

use std::{
    fs, io,
    io::Write,
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
};

use aws_lc_rs::{
    aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    rand,
};

const KEY_LEN: usize = 32;

/// The server's sealing key. Sealed values are `nonce || ciphertext || tag`; a context string
/// (e.g. the access key a secret belongs to) is authenticated with them, so a sealed value
/// copied to another record does not open.
pub struct SealingKey(LessSafeKey);

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey(..)")
    }
}

impl SealingKey {
    /// A key from 32 raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != KEY_LEN {
            return None;
        }
        UnboundKey::new(&AES_256_GCM, bytes).ok().map(|k| Self(LessSafeKey::new(k)))
    }

    /// A fresh random key (for tests and in-memory setups).
    pub fn generate() -> Self {
        Self::from_bytes(&random_key()).expect("32-byte key")
    }

    /// Reads the key file at `path`, creating it (mode 0600, 32 random bytes) if it does not
    /// exist. Creation is atomic: concurrent starts end up with the same key.
    pub fn load_or_create(path: &Path) -> io::Result<Self> {
        match fs::read(path) {
            Ok(bytes) => return Self::from_file_bytes(path, &bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        // Write a complete temporary file, then link it into place: the link fails if
        // another process won the race, and nobody ever reads a half-written key.
        let mut name = path.file_name().unwrap_or_default().to_owned();
        name.push(format!(".{}.tmp", std::process::id()));
        let temporary = path.with_file_name(name);
        let written = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)
            .and_then(|mut f| f.write_all(&random_key()).and_then(|()| f.sync_all()));
        let linked = written.and_then(|()| match fs::hard_link(&temporary, path) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(e),
            _ => Ok(()),
        });
        let _ = fs::remove_file(&temporary);
        linked?;
        Self::from_file_bytes(path, &fs::read(path)?)
    }

    /// Reads the existing key file at `path`.
    pub fn load(path: &Path) -> io::Result<Self> {
        Self::from_file_bytes(path, &fs::read(path)?)
    }

    /// Creates the key file `path` with a new random key (mode 0600, on disk before this
    /// returns); fails if the file exists.
    pub fn create_new(path: &Path) -> io::Result<Self> {
        let key = random_key();
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .and_then(|mut f| f.write_all(&key).and_then(|()| f.sync_all()))?;
        sync_directory(path)?;
        Self::from_file_bytes(path, &key)
    }

    fn from_file_bytes(path: &Path, bytes: &[u8]) -> io::Result<Self> {
        Self::from_bytes(bytes).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is not a {KEY_LEN}-byte sealing key", PathBuf::from(path).display()),
            )
        })
    }

    /// Encrypts `plaintext`, binding it to `context`.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce).expect("system RNG failed");
        let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + AES_256_GCM.tag_len());
        out.extend_from_slice(&nonce);
        let mut body = plaintext.to_vec();
        self.0
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(context), &mut body)
            .expect("AES-GCM sealing of a small value");
        out.extend_from_slice(&body);
        out
    }

    /// Decrypts a value sealed with this key and `context`; `None` if it was altered, sealed
    /// under another key or for another context.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Option<Vec<u8>> {
        let (nonce, body) = sealed.split_at_checked(NONCE_LEN)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut body = body.to_vec();
        let plain = self.0.open_in_place(nonce, Aad::from(context), &mut body).ok()?;
        Some(plain.to_vec())
    }
}

/// Makes the entries of `path`'s directory (a new or renamed file) durable.
pub fn sync_directory(path: &Path) -> io::Result<()> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => fs::File::open(dir)?.sync_all(),
        None => fs::File::open(".")?.sync_all(),
    }
}

/// A value the inventory keeps sealed, with what it is bound to.
#[derive(Debug, Clone, Copy)]
pub enum SealedSecret<'a> {
    /// An NCP secret key, bound to its access key.
    NcpSecretKey {
        /// The access key.
        access_key: &'a str,
        /// The sealed secret.
        sealed: &'a [u8],
    },
    /// An EAB HMAC key, bound to its key id.
    EabHmacKey {
        /// The key id.
        kid: &'a str,
        /// The sealed HMAC key.
        sealed: &'a [u8],
    },
    /// A private key registered through NCP, bound to its certificate.
    NcpPrivateKey {
        /// The certificate.
        certificate_id: crate::Id,
        /// The sealed private key (PEM).
        sealed: &'a [u8],
    },
    /// A webhook's shared secret, bound to its account.
    WebhookSecret {
        /// The account.
        account_id: crate::Id,
        /// The sealed secret.
        sealed: &'a [u8],
    },
}

impl SealedSecret<'_> {
    /// The sealed bytes.
    pub fn sealed(&self) -> &[u8] {
        match self {
            Self::NcpSecretKey { sealed, .. }
            | Self::EabHmacKey { sealed, .. }
            | Self::NcpPrivateKey { sealed, .. }
            | Self::WebhookSecret { sealed, .. } => sealed,
        }
    }

    /// The context it is sealed with.
    pub fn context(&self) -> Vec<u8> {
        match self {
            Self::NcpSecretKey { access_key, .. } => access_key.as_bytes().to_vec(),
            Self::EabHmacKey { kid, .. } => crate::partner::hmac_key_context(kid),
            Self::NcpPrivateKey { certificate_id, .. } => crate::ncp::private_key_context(*certificate_id),
            Self::WebhookSecret { account_id, .. } => crate::webhook::secret_context(*account_id),
        }
    }

    /// What it is, for messages (names no secret).
    pub fn describe(&self) -> String {
        match self {
            Self::NcpSecretKey { access_key, .. } => format!("the secret of NCP access key {access_key}"),
            Self::EabHmacKey { kid, .. } => format!("the HMAC key of EAB credential {kid}"),
            Self::NcpPrivateKey { certificate_id, .. } => {
                format!("the private key registered for certificate {certificate_id}")
            }
            Self::WebhookSecret { account_id, .. } => format!("the webhook secret of account {account_id}"),
        }
    }
}

fn random_key() -> [u8; KEY_LEN] {
    let mut key = [0u8; KEY_LEN];
    rand::fill(&mut key).expect("system RNG failed");
    key
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn seals_and_opens_only_with_the_same_key_and_context() {
        let key = SealingKey::generate();
        let sealed = key.seal(b"secret", b"AK1");
        assert_ne!(&sealed[NONCE_LEN..], b"secret");
        assert_ne!(key.seal(b"secret", b"AK1"), sealed, "fresh nonce every time");
        assert_eq!(key.open(&sealed, b"AK1").unwrap(), b"secret");
        assert_eq!(key.open(&sealed, b"AK2"), None);
        assert_eq!(SealingKey::generate().open(&sealed, b"AK1"), None);
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(key.open(&tampered, b"AK1"), None);
        assert_eq!(key.open(&sealed[..5], b"AK1"), None);
    }

    #[test]
    fn key_file_is_private_created_once_and_validated() {
        let dir = std::env::temp_dir().join(format!("certkeep-seal-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("sealing.key");
        let _ = fs::remove_file(&path);
        let a = SealingKey::load_or_create(&path).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let sealed = a.seal(b"x", b"");
        let b = SealingKey::load_or_create(&path).unwrap();
        assert_eq!(b.open(&sealed, b"").unwrap(), b"x");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1, "no temporary file left");
        fs::write(&path, b"short").unwrap();
        assert!(SealingKey::load_or_create(&path).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_new_key_file_is_private_never_overwritten_and_loads_back() {
        let dir = std::env::temp_dir().join(format!("certkeep-seal-new-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("sealing.key.next");
        let _ = fs::remove_file(&path);
        assert_eq!(SealingKey::load(&path).unwrap_err().kind(), io::ErrorKind::NotFound);
        let created = SealingKey::create_new(&path).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let sealed = created.seal(b"x", b"c");
        assert_eq!(SealingKey::create_new(&path).unwrap_err().kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(SealingKey::load(&path).unwrap().open(&sealed, b"c").unwrap(), b"x");
        fs::remove_dir_all(&dir).unwrap();
    }
}
