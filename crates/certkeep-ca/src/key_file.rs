//! CA key files: PKCS#8 PEM, encrypted (PBES2 with PBKDF2-SHA256 and AES-256-CBC, as
//! `openssl pkcs8 -topk8 -v2 aes256` writes them) when a passphrase protects them.

use std::path::Path;

use pkcs8::{EncryptedPrivateKeyInfo, PrivateKeyInfo, pkcs5::pbes2};

use crate::encoding::{self, PRIVATE_KEY_LABEL};
use crate::error::CaError;

/// PEM label of an encrypted PKCS#8 key.
const ENCRYPTED_LABEL: &str = "ENCRYPTED PRIVATE KEY";
/// PBKDF2-SHA256 iterations for new files (OWASP's 2023 figure).
const PBKDF2_ITERATIONS: u32 = 600_000;

/// The PEM file text of a PKCS#8 key, encrypted under `passphrase` when there is one.
pub(crate) fn encode(der: &[u8], passphrase: Option<&[u8]>) -> Result<String, CaError> {
    let Some(passphrase) = passphrase else {
        return Ok(encoding::encode_pem(PRIVATE_KEY_LABEL, der));
    };
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    for random in [&mut salt, &mut iv] {
        aws_lc_rs::rand::fill(random).map_err(|_| CaError::crypto("random generator"))?;
    }
    let params =
        pbes2::Parameters::pbkdf2_sha256_aes256cbc(PBKDF2_ITERATIONS, &salt, &iv).map_err(CaError::crypto)?;
    let info = PrivateKeyInfo::try_from(der).map_err(CaError::crypto)?;
    let encrypted = info.encrypt_with_params(params, passphrase).map_err(CaError::crypto)?;
    Ok(encoding::encode_pem(ENCRYPTED_LABEL, encrypted.as_bytes()))
}

/// The PKCS#8 DER of a key file, decrypted with `passphrase` when it is encrypted.
pub(crate) fn decode(path: &Path, pem: &str, passphrase: Option<&[u8]>) -> Result<Vec<u8>, CaError> {
    let block = encoding::find_pem_block(pem).ok_or_else(|| CaError::corrupt(path, "expected a PEM key"))?;
    let der = encoding::decode_base64(block.body).ok_or_else(|| CaError::corrupt(path, "invalid base64"))?;
    match (block.label, passphrase) {
        (PRIVATE_KEY_LABEL, _) => Ok(der),
        (ENCRYPTED_LABEL, None) => Err(CaError::invalid(format!(
            "{} is passphrase-protected: give the CA passphrase",
            path.display()
        ))),
        (ENCRYPTED_LABEL, Some(passphrase)) => {
            let info =
                EncryptedPrivateKeyInfo::try_from(der.as_slice()).map_err(|e| CaError::corrupt(path, e))?;
            let plain = info
                .decrypt(passphrase)
                .map_err(|_| CaError::invalid(format!("wrong CA passphrase for {}", path.display())))?;
            Ok(plain.as_bytes().to_vec())
        }
        (label, _) => Err(CaError::corrupt(path, format!("unexpected PEM {label}"))),
    }
}
