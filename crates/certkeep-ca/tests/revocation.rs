//! Revocation: CRLs and OCSP responses, checked with x509-parser and OpenSSL.

use certkeep_ca::{
    CaError, CertificateAuthority, IssuedCertificate, KeyAlgorithm, LeafRequest, OcspStatus,
    RevocationReason, RevokedEntry, Validation, generate_csr, parse_csr,
};
use std::cell::RefCell;
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
        client_auth: false,
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
    assert!(
        text.contains(&format!("Issuer: C = US, O = Revoke, CN = {}", ca.intermediate_common_name())),
        "{text}"
    );

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

/// Drives `openssl ocsp` against the responder of `ca` through files in `dir`.
struct OcspCheck<'a> {
    ca: &'a CertificateAuthority,
    dir: &'a Path,
}

impl OcspCheck<'_> {
    /// Creates `req.der` with `openssl ocsp`, with or without a nonce; `digest` (e.g.
    /// `["-sha256"]`) selects the CertID hash.
    fn request(&self, issuer: &str, leaf: &str, digest: &[&str], nonce: bool) -> Vec<u8> {
        let mut args = vec!["ocsp", if nonce { "-nonce" } else { "-no_nonce" }];
        args.extend_from_slice(digest);
        args.extend_from_slice(&["-issuer", issuer, "-cert", leaf, "-reqout", "req.der"]);
        let output = openssl(&args, self.dir);
        assert!(output.status.success(), "{output:?}");
        std::fs::read(self.dir.join("req.der")).expect("read request")
    }

    /// Answers `request` and writes the response to `resp.der`.
    fn answer(&self, request: &[u8], lookup: &mut dyn FnMut(&str) -> OcspStatus) -> Vec<u8> {
        let response = self.ca.ocsp_response(request, OffsetDateTime::now_utc(), lookup);
        std::fs::write(self.dir.join("resp.der"), &response).expect("write response");
        response
    }

    /// Checks `resp.der` with openssl, including its nonce against the one of `req.der`
    /// (`-no_nonce` only stops openssl from adding a nonce of its own); returns the success
    /// flag and stdout + stderr.
    fn verify(&self, issuer: &str, leaf: &str, digest: &[&str], trust: &[&str]) -> (bool, String) {
        let mut args = vec!["ocsp", "-reqin", "req.der", "-no_nonce", "-respin", "resp.der", "-resp_text"];
        args.extend_from_slice(digest);
        args.extend_from_slice(&["-issuer", issuer, "-cert", leaf]);
        args.extend_from_slice(trust);
        let output = openssl(&args, self.dir);
        let text = format!("{}{}", stdout(&output), String::from_utf8_lossy(&output.stderr));
        (output.status.success(), text)
    }
}

fn openssl_checks_ocsp(alg: KeyAlgorithm) {
    let (_tmp, ca) = new_ca(alg);
    let good = issue(&ca, "good.example");
    let bad = issue(&ca, "revoked.example");
    let revoked_at = OffsetDateTime::now_utc().replace_nanosecond(0).expect("ns") - time::Duration::hours(2);
    let (_other_tmp, other_ca) = new_ca(KeyAlgorithm::EcdsaP256);
    let foreign = issue(&other_ca, "foreign.example");
    let dir = workdir(
        &ca,
        &[
            ("good.pem", good.pem().as_bytes()),
            ("revoked.pem", bad.pem().as_bytes()),
            ("foreign.pem", foreign.pem().as_bytes()),
            ("other-intermediate.crt.pem", other_ca.intermediate_pem().as_bytes()),
        ],
    );
    let check = OcspCheck { ca: &ca, dir: dir.path() };
    let asked = RefCell::new(Vec::new());
    let mut lookup = |serial: &str| {
        asked.borrow_mut().push(serial.to_owned());
        if serial == bad.serial_number {
            OcspStatus::Revoked { at: revoked_at, reason: RevocationReason::KeyCompromise }
        } else if serial == good.serial_number {
            OcspStatus::Good
        } else {
            OcspStatus::Unknown
        }
    };
    let va = ["-VAfile", "intermediate.crt.pem", "-CAfile", "root.crt.pem"];
    let chain = ["-verify_other", "intermediate.crt.pem", "-CAfile", "root.crt.pem"];
    let issuer = "intermediate.crt.pem";

    for (leaf, expected) in [("good.pem", "good.pem: good"), ("revoked.pem", "revoked.pem: revoked")] {
        // (CertID hash, nonce, how openssl trusts the responder)
        for (digest, nonce, trust) in
            [(&[][..], false, &va[..]), (&[][..], true, &va[..]), (&["-sha256"][..], true, &chain[..])]
        {
            let context = format!("{alg} {leaf} {digest:?} nonce={nonce}");
            let request = check.request(issuer, leaf, digest, nonce);
            check.answer(&request, &mut lookup);
            let (ok, text) = check.verify(issuer, leaf, digest, trust);
            assert!(ok, "{context}: {text}");
            assert!(text.contains("Response verify OK"), "{context}: {text}");
            assert!(text.contains(expected), "{context}: {text}");
            assert!(text.contains("OCSP Response Status: successful (0x0)"), "{context}: {text}");
            // A missing nonce gives a warning, a different one "Nonce Verify error".
            assert_eq!(text.contains("OCSP Nonce"), nonce, "{context}: {text}");
            assert!(!text.to_lowercase().contains("nonce verify"), "{context}: {text}");
            assert!(!text.contains("WARNING"), "{context}: {text}");
            let hash = if digest.is_empty() { "sha1" } else { "sha256" };
            assert!(text.contains(&format!("Hash Algorithm: {hash}")), "{context}: {text}");
            if leaf == "revoked.pem" {
                assert!(text.contains("Reason: keyCompromise"), "{context}: {text}");
            }
        }
    }
    assert_eq!(asked.borrow().iter().filter(|s| **s == good.serial_number).count(), 3);
    assert_eq!(asked.borrow().iter().filter(|s| **s == bad.serial_number).count(), 3);

    // Tampering with the signature is detected by openssl.
    let request = check.request(issuer, "good.pem", &[], false);
    let mut response = check.answer(&request, &mut lookup);
    let last = response.len() - 1;
    response[last] ^= 0x01;
    std::fs::write(dir.path().join("resp.der"), &response).expect("write");
    let (ok, text) = check.verify(issuer, "good.pem", &[], &va);
    assert!(!ok && !text.contains("Response verify OK"), "{alg}: {text}");

    // Another CA's certificate is unknown, without a lookup.
    asked.borrow_mut().clear();
    let request = check.request("other-intermediate.crt.pem", "foreign.pem", &[], false);
    check.answer(&request, &mut lookup);
    let (_, text) = check.verify("other-intermediate.crt.pem", "foreign.pem", &[], &va);
    assert!(text.contains("foreign.pem: unknown"), "{alg}: {text}");
    assert!(text.contains("Response verify OK"), "{alg}: {text}");
    assert!(asked.borrow().is_empty(), "{asked:?}");

    // A response that cannot be encoded (nextUpdate after 9999) is an internal error.
    let late = datetime!(9999-12-31 12:00 UTC);
    assert_eq!(ca.ocsp_response(&request, late, &mut lookup), [0x30, 0x03, 0x0a, 0x01, 0x02]);

    // Garbage is a malformed request.
    let response = check.answer(b"not a request", &mut lookup);
    assert_eq!(response, [0x30, 0x03, 0x0a, 0x01, 0x01]);
    let output = openssl(&["ocsp", "-respin", "resp.der", "-resp_text", "-noverify"], dir.path());
    let text = format!("{}{}", stdout(&output), String::from_utf8_lossy(&output.stderr));
    assert!(text.contains("Responder Error: malformedrequest (1)"), "{text}");
    assert!(asked.borrow().is_empty(), "{asked:?}");
}

#[test]
fn openssl_checks_ocsp_of_ecdsa_p256_ca() {
    openssl_checks_ocsp(KeyAlgorithm::EcdsaP256);
}

#[test]
fn openssl_checks_ocsp_of_rsa_2048_ca() {
    openssl_checks_ocsp(KeyAlgorithm::Rsa2048);
}

#[test]
fn mangled_requests_never_panic_and_always_get_a_response() {
    let (_tmp, ca) = new_ca(KeyAlgorithm::EcdsaP256);
    let leaf = issue(&ca, "mangle.example");
    let dir = workdir(&ca, &[("leaf.pem", leaf.pem().as_bytes())]);
    let check = OcspCheck { ca: &ca, dir: dir.path() };
    let request = check.request("intermediate.crt.pem", "leaf.pem", &[], true);
    let now = OffsetDateTime::now_utc();
    let mut lookup = |_: &str| OcspStatus::Good;

    let mut statuses = std::collections::BTreeSet::new();
    let mut mangled: Vec<Vec<u8>> = (0..request.len()).map(|len| request[..len].to_vec()).collect();
    for index in 0..request.len() {
        for mask in [0x01, 0x80, 0xff] {
            let mut bytes = request.clone();
            bytes[index] ^= mask;
            mangled.push(bytes);
        }
    }
    for bytes in mangled {
        let response = ca.ocsp_response(&bytes, now, &mut lookup);
        // OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED, ... }
        let status = yasna::parse_der(&response, |reader| {
            reader.read_sequence(|reader| {
                let status = reader.next().read_enum()?;
                reader.read_optional(|reader| reader.read_der())?;
                Ok(status)
            })
        })
        .expect("response is DER");
        statuses.insert(status);
    }
    // Flipped hash or serial bits still parse (answered unknown or good); the rest is malformed.
    assert_eq!(statuses.into_iter().collect::<Vec<_>>(), vec![0, 1]);
}
