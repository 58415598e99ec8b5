//! Revocation: CRLs and OCSP responses, checked with x509-parser and OpenSSL.

use certkeep_ca::{
    CaError, CertificateAuthority, IssuedCertificate, KeyAlgorithm, LeafRequest, RevocationReason,
    RevokedEntry, Validation, generate_csr, parse_csr,
};
use std::path::Path;
use std::process::{Command, Output};

use time::OffsetDateTime;
use time::macros::datetime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

const CRL_URL: &str = "http://pki.example/issuing.crl";
const OCSP_URL: &str = "http://ocsp.pki.example";

fn new_ca(alg: KeyAlgorithm) -> (tempfile::TempDir, CertificateAuthority) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let now = OffsetDateTime::now_utc() - time::Duration::days(1);
    let ca = CertificateAuthority::create(&tmp.path().join("ca"), alg, "Revoke", now).expect("create CA");
    (tmp, ca)
}

fn issue(ca: &CertificateAuthority, common_name: &str) -> IssuedCertificate {
    let (_, csr_pem) = generate_csr(ca.key_algorithm(), common_name, &[]).expect("CSR");
    let csr = parse_csr(&csr_pem).expect("parse CSR");
    let now = OffsetDateTime::now_utc();
    ca.issue(&LeafRequest {
        public_key: &csr.public_key,
        common_name,
        dns_names: &[],
        organization: None,
        validation: Validation::Dv,
        not_before: now - time::Duration::hours(1),
        not_after: now + time::Duration::days(30),
        crl_url: Some(CRL_URL),
        ocsp_url: Some(OCSP_URL),
        ca_issuers_url: None,
    })
    .expect("issue")
}

fn openssl(args: &[&str], dir: &Path) -> Output {
    Command::new("openssl").args(args).current_dir(dir).output().expect("run openssl")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Writes the CA certificates and `files` (name, contents) to a fresh directory.
fn workdir(ca: &CertificateAuthority, files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("root.crt.pem"), ca.root_pem()).expect("write root");
    std::fs::write(dir.path().join("intermediate.crt.pem"), ca.intermediate_pem()).expect("write int");
    for (name, contents) in files {
        std::fs::write(dir.path().join(name), contents).expect("write file");
    }
    dir
}

/// The trimmed line following the first line containing `marker`.
fn line_after<'a>(text: &'a str, marker: &str) -> &'a str {
    text.lines().skip_while(|line| !line.contains(marker)).nth(1).unwrap_or_default().trim()
}

fn pem(label: &str, der: &[u8]) -> String {
    pem::encode(&pem::Pem::new(label, der))
}

fn revoked(serial: &str, reason: RevocationReason) -> RevokedEntry {
    RevokedEntry {
        serial_number: serial.to_owned(),
        revoked_at: datetime!(2025-05-01 12:00:00.7 UTC),
        reason,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[test]
fn crl_lists_revoked_serials_with_reasons() {
    for alg in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::Rsa2048] {
        let (_tmp, ca) = new_ca(alg);
        let entries = [
            revoked("7A0102030405060708090A0B0C0D0E0F", RevocationReason::KeyCompromise),
            revoked("01FF", RevocationReason::Unspecified),
            revoked("0a0b", RevocationReason::CessationOfOperation),
        ];
        let this_update = datetime!(2025-05-02 00:00:00.5 UTC);
        let next_update = datetime!(2025-05-09 00:00 UTC);
        let der = ca.crl(&entries, this_update, next_update, 42).expect("CRL");

        let (rest, crl) = CertificateRevocationList::from_der(&der).expect("parse CRL");
        assert!(rest.is_empty());
        let (_, intermediate) = X509Certificate::from_der(ca.intermediate_der()).expect("intermediate");
        assert_eq!(crl.issuer(), intermediate.subject());
        crl.verify_signature(intermediate.public_key()).expect("signed by the intermediate");
        let (_, root) = X509Certificate::from_der(ca.root_der()).expect("root");
        assert!(crl.verify_signature(root.public_key()).is_err(), "{alg}: not signed by the root");

        assert_eq!(crl.crl_number().map(|n| n.to_string()), Some("42".to_string()));
        assert_eq!(crl.last_update().to_datetime(), datetime!(2025-05-02 00:00 UTC));
        assert_eq!(crl.next_update().map(|t| t.to_datetime()), Some(next_update));

        let listed: Vec<(String, Option<u8>, OffsetDateTime)> = crl
            .iter_revoked_certificates()
            .map(|entry| {
                (
                    hex(entry.raw_serial()),
                    entry.reason_code().map(|(_, code)| code.0),
                    entry.revocation_date.to_datetime(),
                )
            })
            .collect();
        let at = datetime!(2025-05-01 12:00 UTC);
        assert_eq!(
            listed,
            vec![
                ("7A0102030405060708090A0B0C0D0E0F".to_string(), Some(1), at),
                ("01FF".to_string(), None, at),
                ("0A0B".to_string(), Some(5), at),
            ]
        );

        // The AKI is the intermediate's SKI.
        let ski = intermediate.extensions().iter().find_map(|ext| match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(ski) => Some(ski.0.to_vec()),
            _ => None,
        });
        let aki = crl.extensions().iter().find_map(|ext| match ext.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(aki) => aki.key_identifier.as_ref().map(|k| k.0.to_vec()),
            _ => None,
        });
        assert!(ski.is_some());
        assert_eq!(aki, ski);
    }
}

#[test]
fn empty_crl_and_invalid_input() {
    let (_tmp, ca) = new_ca(KeyAlgorithm::EcdsaP256);
    let now = OffsetDateTime::now_utc();
    let der = ca.crl(&[], now, now + time::Duration::days(1), 1).expect("empty CRL");
    let (_, crl) = CertificateRevocationList::from_der(&der).expect("parse");
    assert_eq!(crl.iter_revoked_certificates().count(), 0);

    for serial in ["", "XYZ0", "ABC", "0x12"] {
        let result =
            ca.crl(&[revoked(serial, RevocationReason::Superseded)], now, now + time::Duration::days(1), 2);
        assert!(matches!(result, Err(CaError::InvalidRequest(_))), "{serial:?}: {result:?}");
    }
    let result = ca.crl(&[], now, now, 3);
    assert!(matches!(result, Err(CaError::InvalidRequest(_))), "{result:?}");
}

/// Issues a good and a revoked leaf and checks URLs, CRL text and CRL-based verification.
fn openssl_checks_crl(alg: KeyAlgorithm) {
    let (_tmp, ca) = new_ca(alg);
    let good = issue(&ca, "good.example");
    let bad = issue(&ca, "revoked.example");
    let now = OffsetDateTime::now_utc();
    let entries = [RevokedEntry {
        serial_number: bad.serial_number.clone(),
        revoked_at: now - time::Duration::minutes(5),
        reason: RevocationReason::KeyCompromise,
    }];
    let crl =
        ca.crl(&entries, now - time::Duration::minutes(1), now + time::Duration::days(7), 7).expect("CRL");
    let crl_pem = pem("X509 CRL", &crl);
    let dir = workdir(
        &ca,
        &[
            ("good.pem", good.pem().as_bytes()),
            ("revoked.pem", bad.pem().as_bytes()),
            ("crl.der", &crl),
            ("crl.pem", crl_pem.as_bytes()),
        ],
    );
    let dir = dir.path();

    let text = stdout(&openssl(&["x509", "-noout", "-text", "-in", "good.pem"], dir));
    assert!(text.contains("X509v3 CRL Distribution Points"), "{text}");
    assert!(text.contains(&format!("URI:{CRL_URL}")), "{text}");
    assert!(text.contains("Authority Information Access"), "{text}");
    assert!(text.contains(&format!("OCSP - URI:{OCSP_URL}")), "{text}");
    assert!(!text.contains("CA Issuers"), "{text}");

    let output = openssl(&["crl", "-inform", "DER", "-in", "crl.der", "-noout", "-text"], dir);
    assert!(output.status.success(), "{output:?}");
    let text = stdout(&output);
    assert!(text.contains(&format!("Serial Number: {}", bad.serial_number)), "{text}");
    assert!(!text.contains(&good.serial_number), "{text}");
    assert!(text.contains("Key Compromise"), "{text}");
    assert_eq!(line_after(&text, "X509v3 CRL Number"), "7", "{text}");
    assert!(text.contains(&format!("Issuer: CN = {}, O = Revoke", ca.intermediate_common_name())), "{text}");

    let verify = |leaf: &str| {
        openssl(
            &[
                "verify",
                "-crl_check",
                "-CAfile",
                "root.crt.pem",
                "-untrusted",
                "intermediate.crt.pem",
                "-CRLfile",
                "crl.pem",
                leaf,
            ],
            dir,
        )
    };
    let output = verify("good.pem");
    assert!(output.status.success() && stdout(&output).contains("good.pem: OK"), "{alg}: {output:?}");
    let output = verify("revoked.pem");
    let all = format!("{}{}", stdout(&output), String::from_utf8_lossy(&output.stderr));
    assert!(!output.status.success() && all.contains("certificate revoked"), "{alg}: {all}");
}

#[test]
fn openssl_checks_crl_of_ecdsa_p256_ca() {
    openssl_checks_crl(KeyAlgorithm::EcdsaP256);
}

#[test]
fn openssl_checks_crl_of_rsa_2048_ca() {
    openssl_checks_crl(KeyAlgorithm::Rsa2048);
}
