//! JSON Web Signatures as ACME uses them (RFC 7515 flattened JSON serialization, RFC 8555
//! §6.2): public keys (JWK, RFC 7517), their thumbprints (RFC 7638), signature checks with
//! aws-lc-rs, and the HS256 MAC of External Account Binding.

use aws_lc_rs::{hmac, signature};
use axum::http::StatusCode;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::Deserialize;
use serde_json::{Value, json};

use super::problem::Problem;

/// Signature algorithms accepted on ACME requests.
pub const ALGORITHMS: [&str; 4] = ["ES256", "ES384", "RS256", "EdDSA"];

/// `badSignatureAlgorithm` (400), listing the algorithms accepted.
pub fn unsupported_algorithm(detail: impl Into<String>) -> Problem {
    let mut p = Problem::new("badSignatureAlgorithm", StatusCode::BAD_REQUEST, detail);
    p.extra = Some(Box::new(("algorithms", json!(ALGORITHMS))));
    p
}

/// base64url without padding.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url (padding tolerated).
pub fn unb64(text: &str, what: &str) -> Result<Vec<u8>, Problem> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| Problem::malformed(format!("{what} is not base64url.")))
}

/// A flattened JWS as it arrives.
#[derive(Debug, Deserialize)]
pub struct Flattened {
    /// base64url protected header.
    pub protected: String,
    /// base64url payload (empty for POST-as-GET).
    pub payload: String,
    /// base64url signature.
    pub signature: String,
}

impl Flattened {
    /// Parses a request body.
    pub fn parse(body: &[u8]) -> Result<Self, Problem> {
        serde_json::from_slice(body).map_err(|_| {
            Problem::malformed("The request body is not a flattened JWS (protected, payload, signature).")
        })
    }

    /// Parses a JWS held in a JSON value (EAB, key change).
    pub fn from_value(v: &Value, what: &str) -> Result<Self, Problem> {
        serde_json::from_value(v.clone())
            .map_err(|_| Problem::malformed(format!("{what} is not a flattened JWS.")))
    }

    /// The signing input `protected.payload`.
    pub fn signing_input(&self) -> Vec<u8> {
        format!("{}.{}", self.protected, self.payload).into_bytes()
    }

    /// The decoded protected header. certkeep understands no JWS extension, so a header that
    /// names any as critical (`crit`, RFC 7515 §4.1.11) is refused, and so is the unencoded
    /// payload option `b64` (RFC 7797), which ACME forbids (RFC 8555 §6.2).
    pub fn header(&self) -> Result<Header, Problem> {
        let raw = unb64(&self.protected, "The protected header")?;
        let fields: serde_json::Map<String, Value> = serde_json::from_slice(&raw)
            .map_err(|_| Problem::malformed("The protected header is not a JSON object."))?;
        if fields.contains_key("crit") {
            return Err(Problem::malformed(
                "The protected header names critical extensions (crit) that certkeep does not understand.",
            ));
        }
        if fields.contains_key("b64") {
            return Err(Problem::malformed("The unencoded payload option (b64) is not allowed in ACME."));
        }
        serde_json::from_value(Value::Object(fields))
            .map_err(|_| Problem::malformed("The protected header is not a JSON object."))
    }

    /// The decoded payload.
    pub fn payload(&self) -> Result<Vec<u8>, Problem> {
        unb64(&self.payload, "The payload")
    }

    /// The decoded signature.
    pub fn signature(&self) -> Result<Vec<u8>, Problem> {
        unb64(&self.signature, "The signature")
    }
}

/// The protected header fields ACME uses.
#[derive(Debug, Deserialize)]
pub struct Header {
    /// Algorithm.
    pub alg: String,
    /// Anti-replay nonce.
    pub nonce: Option<String>,
    /// The URL the request was sent to.
    pub url: Option<String>,
    /// The signer's key (newAccount, revokeCert by certificate key, inner key-change JWS).
    pub jwk: Option<Value>,
    /// The signer's account URL (everything else), or the EAB key id.
    pub kid: Option<String>,
}

/// A public key that signs ACME requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Jwk {
    /// ECDSA P-256 or P-384: the curve name and the uncompressed point `04 || x || y`.
    Ec { crv: &'static str, x: Vec<u8>, y: Vec<u8> },
    /// RSA: modulus and exponent, big-endian without leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// Ed25519.
    Ed25519 { x: Vec<u8> },
}

fn member<'a>(v: &'a Value, name: &str) -> Result<&'a str, Problem> {
    v.get(name).and_then(Value::as_str).ok_or_else(|| Problem::malformed(format!("The JWK has no {name:?}.")))
}

fn strip_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros.min(bytes.len().saturating_sub(1)));
    bytes
}

impl Jwk {
    /// Parses and checks a JWK.
    pub fn parse(v: &Value) -> Result<Self, Problem> {
        let key = match member(v, "kty")? {
            "EC" => {
                let (crv, len) = match member(v, "crv")? {
                    "P-256" => ("P-256", 32),
                    "P-384" => ("P-384", 48),
                    other => {
                        return Err(Problem::bad_public_key(format!("Curve {other:?} is not supported.")));
                    }
                };
                let x = unb64(member(v, "x")?, "The JWK x")?;
                let y = unb64(member(v, "y")?, "The JWK y")?;
                if x.len() != len || y.len() != len {
                    return Err(Problem::bad_public_key("The EC key's coordinates have the wrong length."));
                }
                Jwk::Ec { crv, x, y }
            }
            "RSA" => {
                let n = strip_zeros(unb64(member(v, "n")?, "The JWK n")?);
                let e = strip_zeros(unb64(member(v, "e")?, "The JWK e")?);
                let bits = n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize);
                if !(2048..=8192).contains(&bits) {
                    return Err(Problem::bad_public_key(format!(
                        "RSA keys must have 2048 to 8192 bits, not {bits}."
                    )));
                }
                Jwk::Rsa { n, e }
            }
            "OKP" => {
                if member(v, "crv")? != "Ed25519" {
                    return Err(Problem::bad_public_key("Only Ed25519 OKP keys are supported."));
                }
                let x = unb64(member(v, "x")?, "The JWK x")?;
                if x.len() != 32 {
                    return Err(Problem::bad_public_key("An Ed25519 key has 32 bytes."));
                }
                Jwk::Ed25519 { x }
            }
            other => return Err(Problem::bad_public_key(format!("Key type {other:?} is not supported."))),
        };
        Ok(key)
    }

    /// The canonical JWK (only the required members).
    pub fn to_json(&self) -> Value {
        match self {
            Jwk::Ec { crv, x, y } => json!({"crv": crv, "kty": "EC", "x": b64(x), "y": b64(y)}),
            Jwk::Rsa { n, e } => json!({"e": b64(e), "kty": "RSA", "n": b64(n)}),
            Jwk::Ed25519 { x } => json!({"crv": "Ed25519", "kty": "OKP", "x": b64(x)}),
        }
    }

    /// The RFC 7638 thumbprint, base64url: SHA-256 over the required members in lexicographic
    /// order without whitespace (what `to_json` serialises, serde_json sorting keys).
    pub fn thumbprint(&self) -> String {
        let canonical = match self {
            Jwk::Ec { crv, x, y } => {
                format!(r#"{{"crv":"{crv}","kty":"EC","x":"{}","y":"{}"}}"#, b64(x), b64(y))
            }
            Jwk::Rsa { n, e } => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, b64(e), b64(n)),
            Jwk::Ed25519 { x } => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, b64(x)),
        };
        b64(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes()).as_ref())
    }

    /// Checks that `alg` is allowed and fits the key, then verifies `sig` over `msg`.
    pub fn verify(&self, alg: &str, msg: &[u8], sig: &[u8]) -> Result<(), Problem> {
        if !ALGORITHMS.contains(&alg) {
            return Err(unsupported_algorithm(format!("Algorithm {alg:?} is not accepted.")));
        }
        let ok = match (alg, self) {
            ("ES256", Jwk::Ec { crv: "P-256", x, y }) => {
                signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point(x, y))
                    .verify(msg, sig)
                    .is_ok()
            }
            ("ES384", Jwk::Ec { crv: "P-384", x, y }) => {
                signature::UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, point(x, y))
                    .verify(msg, sig)
                    .is_ok()
            }
            ("RS256", Jwk::Rsa { n, e }) => signature::RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, msg, sig)
                .is_ok(),
            ("EdDSA", Jwk::Ed25519 { x }) => {
                signature::UnparsedPublicKey::new(&signature::ED25519, x).verify(msg, sig).is_ok()
            }
            _ => {
                return Err(unsupported_algorithm(format!("Algorithm {alg:?} does not fit the key.")));
            }
        };
        if ok { Ok(()) } else { Err(Problem::malformed("JWS verification error: bad signature.")) }
    }

    /// Whether this is the key of a certificate's SubjectPublicKeyInfo (DER).
    pub fn matches_spki(&self, spki: &x509_parser::x509::SubjectPublicKeyInfo<'_>) -> bool {
        use x509_parser::public_key::PublicKey;
        match (self, spki.parsed()) {
            (Jwk::Ec { x, y, .. }, Ok(PublicKey::EC(p))) => p.data() == point(x, y).as_slice(),
            (Jwk::Rsa { n, e }, Ok(PublicKey::RSA(rsa))) => {
                strip_zeros(rsa.modulus.to_vec()) == *n && strip_zeros(rsa.exponent.to_vec()) == *e
            }
            (Jwk::Ed25519 { x }, _) => spki.subject_public_key.data.as_ref() == x.as_slice(),
            _ => false,
        }
    }
}

fn point(x: &[u8], y: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(1 + x.len() + y.len());
    p.push(4);
    p.extend_from_slice(x);
    p.extend_from_slice(y);
    p
}

/// Verifies an HS256 MAC with a raw key.
pub fn verify_hs256(key: &[u8], msg: &[u8], tag: &[u8]) -> bool {
    hmac::verify(&hmac::Key::new(hmac::HMAC_SHA256, key), msg, tag).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_thumbprint_example() {
        // RFC 7638 §3.1.
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(Jwk::parse(&jwk).unwrap().thumbprint(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn rejects_small_rsa_and_unknown_curves() {
        let small = json!({"kty": "RSA", "n": b64(&[0xc5; 128]), "e": "AQAB"});
        assert_eq!(Jwk::parse(&small).unwrap_err().kind, "badPublicKey");
        let curve = json!({"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA"});
        assert_eq!(Jwk::parse(&curve).unwrap_err().kind, "badPublicKey");
        assert_eq!(Jwk::parse(&json!({"kty": "oct", "k": "AA"})).unwrap_err().kind, "badPublicKey");
    }

    #[test]
    fn none_and_mac_algorithms_are_refused() {
        let key = Jwk::Ed25519 { x: vec![0; 32] };
        for alg in ["none", "HS256", "ES256"] {
            assert_eq!(key.verify(alg, b"m", b"s").unwrap_err().kind, "badSignatureAlgorithm", "{alg}");
        }
    }
}
