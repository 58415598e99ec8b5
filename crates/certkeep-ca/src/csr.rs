//! Parsing, verification and generation of PKCS#10 certificate signing requests.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;

use crate::encoding::{self, CSR_LABEL, PRIVATE_KEY_LABEL};
use crate::error::{CaError, CsrError};
use crate::keys::{KeyAlgorithm, PublicKeyInfo};

/// Largest CSR text accepted by [`parse_csr`].
const MAX_CSR_INPUT: usize = 64 * 1024;
/// Largest DER CSR accepted by [`parse_csr_der`]: what the largest text decodes to.
const MAX_CSR_DER: usize = MAX_CSR_INPUT / 4 * 3;
/// Legacy PEM label some tools (e.g. Windows, old Java keytool) still emit.
const LEGACY_CSR_LABEL: &str = "NEW CERTIFICATE REQUEST";

/// A parsed, signature-verified CSR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Csr {
    /// The requested subject public key.
    pub public_key: PublicKeyInfo,
    /// The first common name of the subject, if any.
    pub common_name: Option<String>,
    /// DNS names (and IP addresses, as text) from the requested subjectAltName extension.
    pub dns_names: Vec<String>,
    /// The request re-encoded as PEM with a `CERTIFICATE REQUEST` label, 64-column lines
    /// and a trailing newline.
    pub pem: String,
}

/// Parses and verifies a CSR.
///
/// Accepts PEM (`CERTIFICATE REQUEST` or `NEW CERTIFICATE REQUEST` labels, any line breaks
/// including none) or bare base64 DER. The self-signature is verified. Accepted keys are
/// RSA 2048..=8192 bits (a multiple of 8, odd exponent of at least 65537), ECDSA
/// P-256/P-384/P-521 and Ed25519 (see [`PublicKeyInfo::check_public_tls`]). Input above 64 KiB is rejected.
pub fn parse_csr(input: &str) -> Result<Csr, CsrError> {
    if input.len() > MAX_CSR_INPUT {
        return Err(CsrError::Unparseable);
    }
    let der = decode_csr_text(input).ok_or(CsrError::Unparseable)?;
    parse_csr_der(&der)
}

/// Parses and verifies a DER CSR, as [`parse_csr`] does its text (ACME sends DER).
pub fn parse_csr_der(der: &[u8]) -> Result<Csr, CsrError> {
    if der.len() > MAX_CSR_DER {
        return Err(CsrError::Unparseable);
    }
    let (rest, request) = X509CertificationRequest::from_der(der).map_err(|_| CsrError::Unparseable)?;
    if !rest.is_empty() {
        return Err(CsrError::Unparseable);
    }
    let info = &request.certification_request_info;
    // Key checks come first so that a weak key is reported as such, not as a bad signature.
    let public_key = PublicKeyInfo::from_spki(&info.subject_pki)?;
    request.verify_signature().map_err(|_| CsrError::BadSignature)?;

    let common_name = info.subject.iter_common_name().find_map(|cn| cn.as_str().ok()).map(str::to_owned);
    let dns_names = request
        .requested_extensions()
        .into_iter()
        .flatten()
        .filter_map(|ext| match ext {
            ParsedExtension::SubjectAlternativeName(san) => Some(&san.general_names),
            _ => None,
        })
        .flatten()
        .filter_map(general_name_text)
        .collect();

    Ok(Csr { public_key, common_name, dns_names, pem: encoding::encode_pem(CSR_LABEL, der) })
}

/// Extracts the DER bytes from PEM or bare base64 text.
fn decode_csr_text(input: &str) -> Option<Vec<u8>> {
    let body = if input.contains("-----BEGIN ") {
        let block = encoding::find_pem_block(input)?;
        if block.label != CSR_LABEL && block.label != LEGACY_CSR_LABEL {
            return None;
        }
        block.body
    } else {
        input
    };
    encoding::decode_base64(body)
}

/// Textual form of a DNS name or IP address SAN entry.
fn general_name_text(name: &GeneralName<'_>) -> Option<String> {
    match name {
        GeneralName::DNSName(dns) => Some((*dns).to_owned()),
        GeneralName::IPAddress(bytes) => {
            let ip = match *bytes {
                [a, b, c, d] => IpAddr::V4(Ipv4Addr::new(*a, *b, *c, *d)),
                octets => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(octets).ok()?)),
            };
            Some(ip.to_string())
        }
        _ => None,
    }
}

/// A key pair that signs CSRs; one key may sign several (demo data reuses RSA keys, which
/// are slow to generate).
pub struct CsrKey(KeyPair);

impl CsrKey {
    /// Generates a fresh key pair.
    pub fn generate(alg: KeyAlgorithm) -> Result<Self, CaError> {
        alg.generate().map(Self)
    }

    /// The private key as PKCS#8 PEM.
    pub fn private_key_pem(&self) -> String {
        encoding::encode_pem(PRIVATE_KEY_LABEL, self.0.serialized_der())
    }

    /// A CSR (PEM) for the names, signed by this key. `dns_names` that parse as IP addresses
    /// become IP address SANs; no SAN extension is requested when `dns_names` is empty.
    pub fn csr(&self, common_name: &str, dns_names: &[String]) -> Result<String, CaError> {
        if common_name.trim().is_empty() {
            return Err(CaError::invalid("the common name is empty"));
        }
        let mut params = CertificateParams::new(dns_names.to_vec()).map_err(CaError::invalid)?;
        let mut subject = DistinguishedName::new();
        subject.push(DnType::CommonName, common_name);
        params.distinguished_name = subject;
        let csr = params.serialize_request(&self.0).map_err(CaError::crypto)?;
        Ok(encoding::encode_pem(CSR_LABEL, csr.der()))
    }
}

/// Generates a fresh key pair and a CSR for the names (for demo data and tests).
///
/// Returns `(private key as PKCS#8 PEM, CSR PEM)`; see [`CsrKey::csr`] for the names.
pub fn generate_csr(
    alg: KeyAlgorithm,
    common_name: &str,
    dns_names: &[String],
) -> Result<(String, String), CaError> {
    if common_name.trim().is_empty() {
        return Err(CaError::invalid("the common name is empty"));
    }
    let key = CsrKey::generate(alg)?;
    let csr = key.csr(common_name, dns_names)?;
    Ok((key.private_key_pem(), csr))
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;
    use crate::keys::KeyType;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn body_of(pem: &str) -> String {
        pem.lines().filter(|l| !l.starts_with("-----")).collect()
    }

    #[test]
    fn parses_generated_ecdsa_csr() {
        for (alg, bits) in [(KeyAlgorithm::EcdsaP256, 256), (KeyAlgorithm::EcdsaP384, 384)] {
            let (key, pem) = generate_csr(alg, "example.com", &names(&["example.com", "www.example.com"]))
                .expect("generate");
            assert!(key.starts_with("-----BEGIN PRIVATE KEY-----\n"));
            let csr = parse_csr(&pem).expect("parse");
            assert_eq!(csr.public_key.key_type(), KeyType::Ec);
            assert_eq!(csr.public_key.key_size(), bits);
            assert_eq!(csr.common_name.as_deref(), Some("example.com"));
            assert_eq!(csr.dns_names, names(&["example.com", "www.example.com"]));
            assert_eq!(csr.pem, pem);
            assert!(csr.pem.ends_with("-----END CERTIFICATE REQUEST-----\n"));
        }
    }

    #[test]
    fn parses_generated_rsa_csr() {
        let (_, pem) = generate_csr(KeyAlgorithm::Rsa2048, "rsa.example", &[]).expect("generate");
        let csr = parse_csr(&pem).expect("parse");
        assert_eq!(csr.public_key.key_type(), KeyType::Rsa);
        assert_eq!(csr.public_key.key_size(), 2048);
        assert_eq!(csr.common_name.as_deref(), Some("rsa.example"));
        assert!(csr.dns_names.is_empty());
    }

    #[test]
    fn ip_sans_are_reported_as_text() {
        let (_, pem) =
            generate_csr(KeyAlgorithm::EcdsaP256, "host", &names(&["host.internal", "10.0.0.1", "::1"]))
                .expect("generate");
        let csr = parse_csr(&pem).expect("parse");
        assert_eq!(csr.dns_names, names(&["host.internal", "10.0.0.1", "::1"]));
    }

    #[test]
    fn accepts_alternative_encodings() {
        let (_, pem) = generate_csr(KeyAlgorithm::EcdsaP256, "alt.example", &[]).expect("gen");
        let expected = parse_csr(&pem).expect("parse");
        let body = body_of(&pem);

        let variants = [
            // Bare base64, one line.
            body.clone(),
            // Bare base64 with odd line breaks and surrounding whitespace.
            format!("\n  {}\r\n{}  \n", &body[..10], &body[10..]),
            // CRLF line endings.
            pem.replace('\n', "\r\n"),
            // No line breaks at all.
            pem.replace('\n', ""),
            // Legacy label.
            pem.replace("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"),
            // Leading text such as `openssl req -text` output.
            format!("Certificate Request:\n    Data: ...\n{pem}"),
        ];
        for variant in variants {
            let csr = parse_csr(&variant).unwrap_or_else(|e| panic!("{variant:?}: {e}"));
            assert_eq!(csr, expected);
        }
    }

    #[test]
    fn rejects_garbage_and_truncation() {
        let (_, pem) = generate_csr(KeyAlgorithm::EcdsaP256, "t.example", &[]).expect("gen");
        let body = body_of(&pem);
        let garbage = [
            String::new(),
            "   ".into(),
            "hello world".into(),
            "-----BEGIN CERTIFICATE REQUEST-----".into(),
            "-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----".into(),
            pem.replace("CERTIFICATE REQUEST", "CERTIFICATE"),
            pem.replace("END CERTIFICATE REQUEST", "END OTHER"),
            "\u{0}\u{ff}é∑".into(),
            "A".repeat(MAX_CSR_INPUT + 1),
            format!("{body}{body}"),
        ];
        for input in garbage {
            assert_eq!(parse_csr(&input), Err(CsrError::Unparseable), "{input:?}");
        }
        for cut in (1..body.len()).step_by(7) {
            let truncated = &body[..cut];
            assert!(parse_csr(truncated).is_err(), "truncated at {cut}");
        }
        let der = encoding::decode_base64(&body).expect("der");
        for cut in 0..der.len() {
            let truncated = encoding::encode_pem(CSR_LABEL, &der[..cut]);
            assert!(parse_csr(&truncated).is_err(), "DER truncated at {cut}");
        }
    }

    #[test]
    fn tampered_signature_is_rejected() {
        let (_, pem) = generate_csr(KeyAlgorithm::EcdsaP256, "sig.example", &[]).expect("gen");
        let der = encoding::decode_base64(&body_of(&pem)).expect("der");

        // Flip a byte inside the signed CN ("sig.example" -> "sIg.example").
        let pos = der.windows(3).position(|w| w == b"sig").expect("CN in DER");
        let mut tampered = der.clone();
        tampered[pos + 1] = b'I';
        let result = parse_csr(&encoding::encode_pem(CSR_LABEL, &tampered));
        assert_eq!(result, Err(CsrError::BadSignature));

        // Flip the last byte of the signature itself.
        let mut tampered = der;
        let last = tampered.len() - 1;
        tampered[last] ^= 0x01;
        let result = parse_csr(&encoding::encode_pem(CSR_LABEL, &tampered));
        assert!(matches!(result, Err(CsrError::BadSignature | CsrError::Unparseable)), "{result:?}");
    }

    /// A CSR with a 1024-bit RSA key and `CN=x`, made with
    /// `openssl req -new -newkey rsa:1024 -nodes -subj /CN=x -keyout /dev/null`.
    const RSA_1024_CSR: &str = "-----BEGIN CERTIFICATE REQUEST-----
MIIBSzCBtQIBADAMMQowCAYDVQQDDAF4MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCB
iQKBgQD6B4PTGRVxUSX5kjKr+ysUrhetq7eKbL+GP7AO+GNIwvvF/+AIufzmwPOM
nDkeZAViZOvyCZMZplthinu60uY1uvsdj1Kg8uv9sCei1Ei0JMrQxJAGjsB8SZqY
riuM/hFmJKCmPvsmOUoHtqqkf6vs7r0HvKIfXtVjDk7qGlQ3PwIDAQABoAAwDQYJ
KoZIhvcNAQELBQADgYEA3xARjmby46I3tHSBeKLzord6z2sCP1q3g7db/DW3xfb5
pXhf3mC2kR8LTzvx8wj0c0JTJmceSO9F7pp8MNUwrJ08DSMGyOmSSRVTBv9lySDs
qUha/JqkvVrnj8tCwMBLzKgdB87FVYfF41XHTE3rRNJVQaeptgfftVBstn119XQ=
-----END CERTIFICATE REQUEST-----
";

    #[test]
    fn rsa_1024_is_weak() {
        let result = parse_csr(RSA_1024_CSR);
        assert!(matches!(result, Err(CsrError::WeakKey(_))), "{result:?}");
    }

    #[test]
    fn openssl_generated_csrs_are_accepted_or_rejected_by_key() {
        /// Expected key type and size; `None` when the key must be rejected as unsupported.
        type Expected = Option<(KeyType, u32)>;
        let cases: [(&[&str], Expected); 4] = [
            (&["-newkey", "rsa:3072"], Some((KeyType::Rsa, 3072))),
            (&["-newkey", "ed25519"], Some((KeyType::Ed25519, 256))),
            (&["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"], Some((KeyType::Ec, 384))),
            (&["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp256k1"], None),
        ];
        for (args, expected) in cases {
            let output = Command::new("openssl")
                .args(["req", "-new", "-nodes", "-subj", "/CN=openssl.example"])
                .args(["-addext", "subjectAltName=DNS:a.example,DNS:b.example"])
                .args(["-keyout", "/dev/null"])
                .args(args)
                .output()
                .expect("run openssl");
            assert!(output.status.success(), "{args:?}: {output:?}");
            let pem = String::from_utf8(output.stdout).expect("utf8");
            match expected {
                Some((key_type, bits)) => {
                    let csr = parse_csr(&pem).unwrap_or_else(|e| panic!("{args:?}: {e}"));
                    assert_eq!(csr.public_key.key_type(), key_type);
                    assert_eq!(csr.public_key.key_size(), bits);
                    assert_eq!(csr.common_name.as_deref(), Some("openssl.example"));
                    assert_eq!(csr.dns_names, names(&["a.example", "b.example"]));
                }
                None => assert!(matches!(parse_csr(&pem), Err(CsrError::UnsupportedKey(_))), "{args:?}"),
            }
        }
    }

    #[test]
    fn generate_rejects_bad_input() {
        assert!(generate_csr(KeyAlgorithm::EcdsaP256, " ", &[]).is_err());
        assert!(generate_csr(KeyAlgorithm::EcdsaP256, "x", &names(&["bücher.example"])).is_err());
    }
}
