//! CA creation, on-disk layout, loading, and chain validation with OpenSSL.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use certkeep_ca::{
    CaError, CertificateAuthority, KeyAlgorithm, LeafRequest, RootUrls, Validation, generate_csr, parse_csr,
};
use time::OffsetDateTime;
use time::macros::datetime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::FromDer;

const NOT_BEFORE: OffsetDateTime = datetime!(2024-02-29 08:00 UTC);

fn mode(path: &Path) -> u32 {
    fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

fn issue_leaf(ca: &CertificateAuthority, key_alg: KeyAlgorithm) -> certkeep_ca::IssuedCertificate {
    let (_, csr_pem) = generate_csr(key_alg, "leaf.example", &["www.leaf.example".to_string()]).expect("CSR");
    let csr = parse_csr(&csr_pem).expect("parse CSR");
    let now = OffsetDateTime::now_utc();
    ca.issue(&LeafRequest {
        public_key: &csr.public_key,
        common_name: "leaf.example",
        dns_names: &csr.dns_names,
        organization: None,
        validation: Validation::Dv,
        client_auth: false,
        not_before: now - time::Duration::hours(1),
        not_after: now + time::Duration::days(90),
        crl_url: None,
        ocsp_url: None,
        ca_issuers_url: None,
    })
    .expect("issue")
}

/// Checks the CA extensions of a root or intermediate certificate.
/// basicConstraints, keyUsage (digitalSignature only on the intermediate, which signs OCSP
/// responses), SKI and AKI (the root names its own key).
fn check_ca_certificate(der: &[u8], path_len: Option<u32>) {
    let (_, x509) = X509Certificate::from_der(der).expect("parse CA cert");
    let bc = x509.basic_constraints().expect("ok").expect("BC");
    assert!(bc.critical && bc.value.ca);
    assert_eq!(bc.value.path_len_constraint, path_len);
    let ku = x509.key_usage().expect("ok").expect("KU");
    assert!(ku.critical);
    assert!(ku.value.key_cert_sign() && ku.value.crl_sign());
    assert_eq!(ku.value.digital_signature(), path_len.is_some());
    let mut ski = false;
    let mut aki = false;
    for ext in x509.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(_) => ski = true,
            ParsedExtension::AuthorityKeyIdentifier(_) => aki = true,
            _ => {}
        }
    }
    assert!(ski && aki, "SKI and AKI");
}

#[test]
fn create_writes_private_files_and_load_round_trips() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("ca");
    assert!(!CertificateAuthority::exists(&dir));

    let ca = CertificateAuthority::create(&dir, KeyAlgorithm::EcdsaP256, "Acme", NOT_BEFORE).expect("create");
    assert!(CertificateAuthority::exists(&dir));
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("root.key.pem")), 0o600);
    assert_eq!(mode(&dir.join("intermediate.key.pem")), 0o600);
    for key in ["root.key.pem", "intermediate.key.pem"] {
        let text = fs::read_to_string(dir.join(key)).expect("read key");
        assert!(text.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{key}");
    }
    assert_eq!(fs::read_to_string(dir.join("root.crt.pem")).expect("read"), ca.root_pem());
    assert_eq!(fs::read_to_string(dir.join("intermediate.crt.pem")).expect("read"), ca.intermediate_pem());

    assert_eq!(ca.root_common_name(), "Acme Root CA");
    assert_eq!(ca.intermediate_common_name(), "Acme Issuing CA");
    assert_eq!(ca.key_algorithm(), KeyAlgorithm::EcdsaP256);
    assert_eq!(ca.signature_hash(), "sha256");

    // Validity: 20 and 10 years (leap day maps to 28 February).
    let (_, root) = X509Certificate::from_der(ca.root_der()).expect("root");
    assert_eq!(root.subject().to_string(), "C=US, O=Acme, CN=Acme Root CA");
    assert_eq!(root.validity().not_before.to_datetime(), NOT_BEFORE);
    assert_eq!(root.validity().not_after.to_datetime(), datetime!(2044-02-28 08:00 UTC));
    let (_, intermediate) = X509Certificate::from_der(ca.intermediate_der()).expect("int");
    assert_eq!(intermediate.subject().to_string(), "C=US, O=Acme, CN=Acme Issuing CA");
    assert_eq!(intermediate.issuer(), root.subject());
    assert_eq!(intermediate.validity().not_after.to_datetime(), datetime!(2034-02-28 08:00 UTC));
    check_ca_certificate(ca.root_der(), None);
    check_ca_certificate(ca.intermediate_der(), Some(0));

    let loaded = CertificateAuthority::load(&dir).expect("load");
    assert_eq!(loaded.root_der(), ca.root_der());
    assert_eq!(loaded.intermediate_der(), ca.intermediate_der());
    assert_eq!(loaded.root_pem(), ca.root_pem());
    assert_eq!(loaded.intermediate_common_name(), "Acme Issuing CA");
    assert_eq!(loaded.key_algorithm(), KeyAlgorithm::EcdsaP256);

    let leaf = issue_leaf(&loaded, KeyAlgorithm::EcdsaP256);
    let (_, x509) = X509Certificate::from_der(&leaf.der).expect("leaf");
    x509.verify_signature(Some(intermediate.public_key())).expect("leaf signed by the intermediate");
}

#[test]
fn create_refuses_to_overwrite() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    // An existing empty directory is fine.
    CertificateAuthority::create(dir, KeyAlgorithm::EcdsaP256, "One", NOT_BEFORE).expect("create");
    let root_before = fs::read(dir.join("root.crt.pem")).expect("read");
    let result = CertificateAuthority::create(dir, KeyAlgorithm::EcdsaP256, "Two", NOT_BEFORE);
    assert!(matches!(result, Err(CaError::AlreadyExists(_))), "{result:?}");
    assert_eq!(fs::read(dir.join("root.crt.pem")).expect("read"), root_before);

    // A single leftover file also blocks creation, and counts as an existing CA.
    let other = tempfile::tempdir().expect("tempdir");
    fs::write(other.path().join("intermediate.key.pem"), "x").expect("write");
    assert!(CertificateAuthority::exists(other.path()));
    let result = CertificateAuthority::create(other.path(), KeyAlgorithm::EcdsaP256, "X", NOT_BEFORE);
    assert!(matches!(result, Err(CaError::AlreadyExists(_))), "{result:?}");
    assert!(!other.path().join("root.crt.pem").exists());
}

#[test]
fn load_rejects_insecure_missing_and_corrupt_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("ca");
    CertificateAuthority::create(&dir, KeyAlgorithm::EcdsaP256, "Acme", NOT_BEFORE).expect("create");
    CertificateAuthority::load(&dir).expect("load");

    let key = dir.join("intermediate.key.pem");
    fs::set_permissions(&key, fs::Permissions::from_mode(0o640)).expect("chmod");
    let result = CertificateAuthority::load(&dir);
    assert!(matches!(result, Err(CaError::InsecurePermissions { mode: 0o640, .. })), "{result:?}");
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).expect("chmod");

    // Swapping in another CA's intermediate key is detected.
    let other = tmp.path().join("other");
    CertificateAuthority::create(&other, KeyAlgorithm::EcdsaP256, "Other", NOT_BEFORE).expect("create other");
    let original = fs::read(&key).expect("read");
    fs::write(&key, fs::read(other.join("intermediate.key.pem")).expect("read")).expect("write");
    let result = CertificateAuthority::load(&dir);
    assert!(matches!(result, Err(CaError::Corrupt { .. })), "{result:?}");
    fs::write(&key, &original).expect("restore");

    // An intermediate from another root breaks the chain.
    let cert = dir.join("intermediate.crt.pem");
    let original_cert = fs::read(&cert).expect("read");
    fs::copy(other.join("intermediate.crt.pem"), &cert).expect("copy");
    let result = CertificateAuthority::load(&dir);
    assert!(matches!(result, Err(CaError::Corrupt { .. })), "{result:?}");

    // Garbage certificate.
    fs::write(&cert, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").expect("write");
    let result = CertificateAuthority::load(&dir);
    assert!(matches!(result, Err(CaError::Corrupt { .. })), "{result:?}");
    fs::write(&cert, &original_cert).expect("restore");
    CertificateAuthority::load(&dir).expect("load after restore");

    // Missing file.
    fs::remove_file(dir.join("root.crt.pem")).expect("remove");
    let result = CertificateAuthority::load(&dir);
    assert!(matches!(result, Err(CaError::Io { .. })), "{result:?}");
    assert!(CertificateAuthority::load(&tmp.path().join("nope")).is_err());
}

/// `openssl verify` of `leaf.pem` in `dir` as a TLS server certificate, strictly, through
/// `intermediate.crt.pem` to `root.crt.pem`.
fn verify_leaf(dir: &Path) -> std::process::Output {
    openssl(
        &[
            "verify",
            "-purpose",
            "sslserver",
            "-x509_strict",
            "-CAfile",
            "root.crt.pem",
            "-untrusted",
            "intermediate.crt.pem",
            "leaf.pem",
        ],
        dir,
    )
}

fn openssl(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new("openssl").args(args).current_dir(dir).output().expect("run openssl")
}

/// Writes root, intermediate and a fresh leaf, then validates the chain with OpenSSL.
fn verify_chain_with_openssl(ca_alg: KeyAlgorithm, leaf_alg: KeyAlgorithm) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("ca");
    CertificateAuthority::create(&dir, ca_alg, "Chain Test", OffsetDateTime::now_utc()).expect("create");
    let ca = CertificateAuthority::load(&dir).expect("load");
    let leaf = issue_leaf(&ca, leaf_alg);
    fs::write(dir.join("leaf.pem"), leaf.pem()).expect("write leaf");

    let output = verify_leaf(&dir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("leaf.pem: OK"),
        "{ca_alg} CA / {leaf_alg} leaf: {output:?}"
    );

    // Sanity check that verification can fail: the leaf alone does not chain to the root.
    let output = openssl(&["verify", "-CAfile", "root.crt.pem", "leaf.pem"], &dir);
    assert!(!output.status.success());

    for file in ["root.crt.pem", "intermediate.crt.pem", "leaf.pem"] {
        let output = openssl(&["x509", "-noout", "-text", "-in", file], &dir);
        assert!(output.status.success(), "{file}: {output:?}");
        let text = String::from_utf8_lossy(&output.stdout);
        if file == "leaf.pem" {
            assert!(text.contains("DNS:leaf.example, DNS:www.leaf.example"), "{text}");
            assert!(text.contains("2.23.140.1.2.1"), "{text}");
            assert!(text.contains("TLS Web Server Authentication"), "{text}");
            let serial = leaf.serial_number.to_ascii_lowercase();
            let openssl_serial: String = text
                .lines()
                .skip_while(|l| !l.contains("Serial Number:"))
                .nth(1)
                .expect("serial line")
                .trim()
                .replace(':', "");
            assert_eq!(openssl_serial, serial);
        }
    }

    let output = openssl(&["x509", "-noout", "-fingerprint", "-sha1", "-in", "leaf.pem"], &dir);
    let fingerprint = String::from_utf8_lossy(&output.stdout).replace(':', "");
    assert!(fingerprint.contains(&leaf.thumbprint), "{fingerprint}");
}

#[test]
fn openssl_verifies_ecdsa_p256_chain() {
    verify_chain_with_openssl(KeyAlgorithm::EcdsaP256, KeyAlgorithm::EcdsaP256);
}

#[test]
fn openssl_verifies_rsa_2048_chain() {
    verify_chain_with_openssl(KeyAlgorithm::Rsa2048, KeyAlgorithm::Rsa2048);
}

#[test]
fn openssl_verifies_ecdsa_p384_chain_with_rsa_leaf() {
    verify_chain_with_openssl(KeyAlgorithm::EcdsaP384, KeyAlgorithm::Rsa2048);
    let tmp = tempfile::tempdir().expect("tempdir");
    let ca =
        CertificateAuthority::create(tmp.path(), KeyAlgorithm::EcdsaP384, "P", NOT_BEFORE).expect("create");
    assert_eq!(ca.signature_hash(), "sha384");
}

#[test]
fn passphrase_protected_keys_are_encrypted_pkcs8_that_openssl_reads() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("ca");
    let created = CertificateAuthority::create_protected(
        &dir,
        KeyAlgorithm::EcdsaP256,
        ("Locked", "US"),
        NOT_BEFORE,
        Some(b"correct horse"),
        None,
    )
    .expect("create");
    for key in ["root.key.pem", "intermediate.key.pem"] {
        let pem = fs::read_to_string(dir.join(key)).unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"), "{key}: {pem}");
        assert_eq!(mode(&dir.join(key)), 0o600);
        fs::write(tmp.path().join("pass"), "correct horse").unwrap();
        let out = Command::new("openssl")
            .args(["pkey", "-noout", "-passin"])
            .arg(format!("file:{}", tmp.path().join("pass").display()))
            .arg("-in")
            .arg(dir.join(key))
            .output()
            .expect("openssl");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let message = |e: CaError| e.to_string();
    assert!(message(CertificateAuthority::load(&dir).unwrap_err()).contains("passphrase-protected"));
    let wrong = CertificateAuthority::load_protected(&dir, Some(b"wrong")).unwrap_err();
    assert!(message(wrong).contains("wrong CA passphrase"));
    let loaded = CertificateAuthority::load_protected(&dir, Some(b"correct horse")).expect("load");
    assert_eq!(loaded.intermediate_der(), created.intermediate_der());
    issue_leaf(&loaded, KeyAlgorithm::EcdsaP256);
}

#[test]
fn refreshing_the_intermediate_names_the_root_urls_and_keeps_every_leaf_chaining() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("ca");
    let now = OffsetDateTime::now_utc();
    CertificateAuthority::create(&dir, KeyAlgorithm::EcdsaP256, "Refresh", now).expect("create");
    let before = CertificateAuthority::load(&dir).expect("load");
    let leaf = issue_leaf(&before, KeyAlgorithm::EcdsaP256);
    fs::write(dir.join("leaf.pem"), leaf.pem()).expect("write leaf");
    let urls = |host: &str| RootUrls {
        crl: format!("http://{host}/pki/root.crl"),
        certificate: format!("http://{host}/pki/root.crt"),
    };

    // A new CA's intermediate names no root URLs yet: the first refresh certifies it again.
    assert!(
        CertificateAuthority::refresh_intermediate(&dir, None, &urls("pki.example.org"), now)
            .expect("refresh")
    );
    assert!(
        !CertificateAuthority::refresh_intermediate(&dir, None, &urls("pki.example.org"), now)
            .expect("again")
    );
    let after = CertificateAuthority::load(&dir).expect("load the refreshed CA");
    assert_ne!(after.intermediate_der(), before.intermediate_der());
    let (_, old) = X509Certificate::from_der(before.intermediate_der()).expect("old");
    let (_, new) = X509Certificate::from_der(after.intermediate_der()).expect("new");
    assert_eq!(new.subject(), old.subject());
    assert_eq!(new.public_key().raw, old.public_key().raw);
    let text =
        String::from_utf8(openssl(&["x509", "-noout", "-text", "-in", "intermediate.crt.pem"], &dir).stdout)
            .expect("text");
    for wanted in [
        "URI:http://pki.example.org/pki/root.crl",
        "CA Issuers - URI:http://pki.example.org/pki/root.crt",
        "TLS Web Server Authentication",
        "X509v3 Any Policy",
    ] {
        assert!(text.contains(wanted), "{wanted}: {text}");
    }
    // The leaf signed before the refresh chains through the new certificate; the old one is kept.
    let output = verify_leaf(&dir);
    assert!(output.status.success(), "{output:?}");
    let kept = format!("intermediate-{}.crt.pem", hex(old.raw_serial()));
    assert_eq!(fs::read_to_string(dir.join(kept)).expect("old certificate kept"), before.intermediate_pem());

    // URLs that move are written again.
    assert!(
        CertificateAuthority::refresh_intermediate(&dir, None, &urls("ca.example.net"), now).expect("moved")
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}
