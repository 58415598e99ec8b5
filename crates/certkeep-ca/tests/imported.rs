//! Certificates and keys that come from elsewhere: parsing a PEM certificate and checking that
//! a private key belongs to it.

use certkeep_ca::{
    CertificateAuthority, ImportError, KeyAlgorithm, LeafRequest, Validation, certificate_blocks,
    certificate_pem, check_private_key, generate_csr, parse_certificate_pem, parse_csr,
};
use time::macros::datetime;

/// (CA, private key PEM, leaf DER) for `www.example.org` + `example.org`.
fn leaf(alg: KeyAlgorithm) -> (tempfile::TempDir, CertificateAuthority, String, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let ca = CertificateAuthority::create(
        dir.path(),
        KeyAlgorithm::EcdsaP256,
        "Else",
        datetime!(2026-01-01 0:00 UTC),
    )
    .unwrap();
    let dns = vec!["www.example.org".to_owned(), "example.org".to_owned()];
    let (key, csr) = generate_csr(alg, "www.example.org", &dns).unwrap();
    let public_key = parse_csr(&csr).unwrap().public_key;
    let cert = ca
        .issue(&LeafRequest {
            public_key: &public_key,
            common_name: "www.example.org",
            dns_names: &dns,
            organization: None,
            validation: Validation::Dv,
            client_auth: false,
            not_before: datetime!(2026-02-01 0:00 UTC),
            not_after: datetime!(2026-05-01 0:00 UTC),
            crl_url: None,
            ocsp_url: None,
            ca_issuers_url: None,
        })
        .unwrap();
    (dir, ca, key, cert.der)
}

#[test]
fn a_pem_certificate_gives_the_inventory_facts() {
    let (_dir, _ca, _, der) = leaf(KeyAlgorithm::EcdsaP256);
    let parsed = parse_certificate_pem(&certificate_pem(&der)).unwrap();
    assert_eq!(parsed.der, der);
    assert_eq!(parsed.common_name.as_deref(), Some("www.example.org"));
    assert_eq!(parsed.dns_names, ["www.example.org", "example.org"]);
    assert_eq!(
        (parsed.not_before, parsed.not_after),
        (datetime!(2026-02-01 0:00 UTC), datetime!(2026-05-01 0:00 UTC))
    );
    assert_eq!(parsed.key_size, 256);
    assert_eq!(parsed.thumbprint.len(), 40);
    assert!(parsed.serial_number.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase()));
}

#[test]
fn anything_but_one_certificate_is_unparseable() {
    let (_dir, ca, _, der) = leaf(KeyAlgorithm::EcdsaP256);
    let two = format!("{}{}", certificate_pem(&der), certificate_pem(ca.root_der()));
    assert_eq!(certificate_blocks(&two).unwrap().len(), 2);
    for bad in ["", "junk", &two, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"] {
        assert_eq!(parse_certificate_pem(bad), Err(ImportError::Unparseable), "{bad}");
    }
    let broken = certificate_pem(&der[..der.len() - 1]);
    assert_eq!(parse_certificate_pem(&broken), Err(ImportError::Unparseable));
}

#[test]
fn only_the_certificates_own_key_matches() {
    for alg in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::EcdsaP384, KeyAlgorithm::Rsa2048] {
        let (_dir, _ca, key, der) = leaf(alg);
        assert_eq!(check_private_key(&key, &der), Ok(()));
        let (other, _) = generate_csr(alg, "www.example.org", &[]).unwrap();
        assert_eq!(check_private_key(&other, &der), Err(ImportError::KeyMismatch));
        assert_eq!(check_private_key("not a key", &der), Err(ImportError::Unparseable));
        assert_eq!(check_private_key(&key, b"not a certificate"), Err(ImportError::Unparseable));
    }
}
