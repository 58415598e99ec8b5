//! What signs for the CA: certificates, CRLs and OCSP responses all go through a [`Signer`].
//! The one implementation today is a key held in memory, read from the CA's key file; a
//! PKCS#11 token (HSM) can implement the trait without the CA changing.

use rcgen::{KeyPair, PublicKeyData, SignatureAlgorithm, SigningKey};

/// A private key operation of the issuing CA.
pub trait Signer: Send + Sync {
    /// The signature algorithm it signs with.
    fn algorithm(&self) -> &'static SignatureAlgorithm;
    /// The public key as the CA certificate holds it (the subjectPublicKey bits).
    fn public_key(&self) -> &[u8];
    /// Signs `message` with [`Signer::algorithm`].
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rcgen::Error>;
}

/// A key read from a key file.
impl Signer for KeyPair {
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        PublicKeyData::algorithm(self)
    }

    fn public_key(&self) -> &[u8] {
        self.der_bytes()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        SigningKey::sign(self, message)
    }
}

/// A [`Signer`] as rcgen signs with it.
pub(crate) struct BoxedSigner(pub(crate) Box<dyn Signer>);

impl PublicKeyData for BoxedSigner {
    fn der_bytes(&self) -> &[u8] {
        self.0.public_key()
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.0.algorithm()
    }
}

impl SigningKey for BoxedSigner {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.0.sign(msg)
    }
}
