//! Leaf issuance: the certificate profile as seen by an X.509 parser.

use std::sync::Arc;

use certkeep_ca::{
    CaError, CertificateAuthority, EvRegistration, IssuedCertificate, KeyAlgorithm, LeafRequest,
    PublicKeyInfo, SubjectOrganization, Validation, generate_csr, parse_csr,
};
use time::OffsetDateTime;
use time::macros::datetime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::{OID_X509_EXT_CERTIFICATE_POLICIES, Oid};
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Version;

const NOT_BEFORE: OffsetDateTime = datetime!(2025-03-01 10:20:30 UTC);
const NOT_AFTER: OffsetDateTime = datetime!(2026-03-01 10:20:30 UTC);

fn new_ca(alg: KeyAlgorithm) -> (tempfile::TempDir, CertificateAuthority) {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca_dir = dir.path().join("ca");
    let ca = CertificateAuthority::create(&ca_dir, alg, "Test", NOT_BEFORE).expect("create CA");
    (dir, ca)
}

fn subject_key(alg: KeyAlgorithm) -> PublicKeyInfo {
    let (_, pem) = generate_csr(alg, "key.example", &[]).expect("generate CSR");
    parse_csr(&pem).expect("parse CSR").public_key
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn request<'a>(
    key: &'a PublicKeyInfo,
    common_name: &'a str,
    dns_names: &'a [String],
    validation: Validation,
    organization: Option<&'a SubjectOrganization>,
) -> LeafRequest<'a> {
    LeafRequest {
        public_key: key,
        common_name,
        dns_names,
        organization,
        validation,
        client_auth: false,
        not_before: NOT_BEFORE,
        not_after: NOT_AFTER,
        crl_url: None,
        ocsp_url: None,
        ca_issuers_url: None,
    }
}

fn parse(cert: &IssuedCertificate) -> X509Certificate<'_> {
    let (rest, x509) = X509Certificate::from_der(&cert.der).expect("parse leaf");
    assert!(rest.is_empty());
    x509
}

fn policy_oids(x509: &X509Certificate<'_>) -> Vec<String> {
    let ext = x509
        .get_extension_unique(&OID_X509_EXT_CERTIFICATE_POLICIES)
        .expect("unique")
        .expect("certificatePolicies present");
    assert!(!ext.critical);
    match ext.parsed_extension() {
        ParsedExtension::CertificatePolicies(policies) => {
            policies.iter().map(|p| p.policy_id.to_id_string()).collect()
        }
        other => panic!("unexpected {other:?}"),
    }
}

fn san_strings(x509: &X509Certificate<'_>) -> Vec<String> {
    let san = x509.subject_alternative_name().expect("ok").expect("SAN");
    san.value
        .general_names
        .iter()
        .map(|name| match name {
            GeneralName::DNSName(dns) => format!("DNS:{dns}"),
            GeneralName::IPAddress(ip) => format!("IP:{ip:?}"),
            other => panic!("unexpected SAN {other:?}"),
        })
        .collect()
}

#[test]
fn dv_leaf_has_baseline_profile() {
    let (_dir, ca) = new_ca(KeyAlgorithm::EcdsaP256);
    let key = subject_key(KeyAlgorithm::EcdsaP256);
    let dns = names(&["www.example.com", "EXAMPLE.com", "api.example.com", "192.0.2.7"]);
    let issued = ca.issue(&request(&key, "example.com", &dns, Validation::Dv, None)).expect("issue");
    let x509 = parse(&issued);

    assert_eq!(x509.version(), X509Version::V3);

    // Serial: 16 bytes, positive, matches the reported string.
    let serial = x509.raw_serial();
    assert_eq!(serial.len(), 16);
    assert!(serial[0] & 0x80 == 0 && serial[0] != 0);
    let serial_hex: String = serial.iter().map(|b| format!("{b:02X}")).collect();
    assert_eq!(issued.serial_number, serial_hex);

    // Thumbprint: SHA-1 of the DER.
    let sha1 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &issued.der);
    let sha1_hex: String = sha1.as_ref().iter().map(|b| format!("{b:02X}")).collect();
    assert_eq!(issued.thumbprint, sha1_hex);
    assert_eq!(issued.thumbprint.len(), 40);

    // Validity.
    assert_eq!(x509.validity().not_before.to_datetime(), NOT_BEFORE);
    assert_eq!(x509.validity().not_after.to_datetime(), NOT_AFTER);
    assert_eq!(issued.not_before, NOT_BEFORE);
    assert_eq!(issued.not_after, NOT_AFTER);

    // Subject: CN only for DV; issuer is the intermediate.
    assert_eq!(x509.subject().to_string(), "CN=example.com");
    assert_eq!(x509.issuer().to_string(), "C=US, O=Test, CN=Test Issuing CA");

    // SAN: CN first, case-insensitive dedup, IP SAN.
    assert_eq!(
        san_strings(&x509),
        vec!["DNS:example.com", "DNS:www.example.com", "DNS:api.example.com", "IP:[192, 0, 2, 7]",]
    );

    // basicConstraints CA:FALSE, critical.
    let bc = x509.basic_constraints().expect("ok").expect("BC");
    assert!(bc.critical);
    assert!(!bc.value.ca);

    // keyUsage: digitalSignature only for EC keys, critical.
    let ku = x509.key_usage().expect("ok").expect("KU");
    assert!(ku.critical);
    assert!(ku.value.digital_signature());
    assert!(!ku.value.key_encipherment());
    assert!(!ku.value.key_cert_sign());

    // extendedKeyUsage: serverAuth only (Chrome Root Program 1.6), clientAuth only on request.
    let eku = x509.extended_key_usage().expect("ok").expect("EKU");
    assert!(eku.value.server_auth && !eku.value.client_auth);
    assert!(!eku.value.code_signing && !eku.value.any && eku.value.other.is_empty());
    let both = ca.issue(&LeafRequest {
        client_auth: true,
        ..request(&key, "www.example.com", &[], Validation::Dv, None)
    });
    let both = both.expect("issue with clientAuth");
    let both = parse(&both);
    let eku = both.extended_key_usage().expect("ok").expect("EKU");
    assert!(eku.value.server_auth && eku.value.client_auth);

    // Key identifiers: AKI matches the intermediate's SKI.
    let (_, intermediate) = X509Certificate::from_der(ca.intermediate_der()).expect("parse");
    let intermediate_ski = intermediate
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(ski) => Some(ski.0.to_vec()),
            _ => None,
        })
        .expect("intermediate SKI");
    let mut saw_ski = false;
    let mut aki = None;
    for ext in x509.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(_) => saw_ski = true,
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                aki = a.key_identifier.as_ref().map(|k| k.0.to_vec())
            }
            _ => {}
        }
    }
    // BR 7.1.2.7.6: no subject key identifier in public subscriber certificates.
    assert!(!saw_ski, "leaf SKI");
    assert_eq!(aki, Some(intermediate_ski));

    assert_eq!(policy_oids(&x509), vec!["2.23.140.1.2.1"]);

    // The leaf carries the requested key and is signed by the intermediate.
    assert_eq!(x509.public_key().raw, key.spki_der());
    x509.verify_signature(Some(intermediate.public_key())).expect("signed by the intermediate");

    let pem = issued.pem();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
    assert!(pem.ends_with("-----END CERTIFICATE-----\n"));
}

#[test]
fn private_leaves_keep_the_unit_and_carry_no_cabf_policy() {
    let (_dir, ca) = new_ca(KeyAlgorithm::EcdsaP256);
    let key = subject_key(KeyAlgorithm::EcdsaP256);
    let org = SubjectOrganization {
        name: "Example Corp".into(),
        units: vec!["Web Ops".into()],
        ..Default::default()
    };
    let issued =
        ca.issue(&request(&key, "host.internal", &[], Validation::Private, Some(&org))).expect("issue");
    let x509 = parse(&issued);
    assert_eq!(x509.subject().to_string(), "O=Example Corp, OU=Web Ops, CN=host.internal");
    assert!(x509.get_extension_unique(&OID_X509_EXT_CERTIFICATE_POLICIES).expect("unique").is_none());
    let bare = ca.issue(&request(&key, "host.internal", &[], Validation::Private, None)).expect("issue");
    assert_eq!(parse(&bare).subject().to_string(), "CN=host.internal");
}

#[test]
fn rsa_subject_keys_get_key_encipherment() {
    let (_dir, ca) = new_ca(KeyAlgorithm::EcdsaP256);
    let key = subject_key(KeyAlgorithm::Rsa2048);
    let issued = ca.issue(&request(&key, "rsa.example", &[], Validation::Dv, None)).expect("issue");
    let x509 = parse(&issued);
    let ku = x509.key_usage().expect("ok").expect("KU");
    assert!(ku.value.digital_signature() && ku.value.key_encipherment());
    assert_eq!(san_strings(&x509), vec!["DNS:rsa.example"]);
}

#[test]
fn ov_and_ev_subjects_and_policies() {
    let (_dir, ca) = new_ca(KeyAlgorithm::EcdsaP384);
    let key = subject_key(KeyAlgorithm::EcdsaP256);
    let org = SubjectOrganization {
        name: "Example Corp".into(),
        locality: "Springfield".into(),
        state: "Oregon".into(),
        country: "us".into(),
        units: vec!["Web Ops".into()],
        ev: Some(EvRegistration {
            business_category: "Private Organization".into(),
            jurisdiction_country: "us".into(),
            registration_number: "C1234567".into(),
        }),
    };
    for (validation, policy, ev) in [
        (Validation::Ov, "2.23.140.1.2.2", ""),
        (
            Validation::Ev,
            "2.23.140.1.1",
            ", businessCategory=Private Organization, msJurisdictionCountry=US, serialNumber=C1234567",
        ),
    ] {
        let issued = ca.issue(&request(&key, "org.example", &[], validation, Some(&org))).expect("issue");
        let x509 = parse(&issued);
        // No OU in public TLS subjects since ballot SC47; EV adds the registration.
        assert_eq!(
            x509.subject().to_string(),
            format!("C=US, ST=Oregon, L=Springfield, O=Example Corp{ev}, CN=org.example")
        );
        let org_names: Vec<_> =
            x509.subject().iter_organization().map(|o| o.as_str().expect("str")).collect();
        assert_eq!(org_names, vec!["Example Corp"]);
        assert_eq!(policy_oids(&x509), vec![policy]);
        // P-384 CA signs with ecdsa-with-SHA384.
        assert_eq!(x509.signature_algorithm.algorithm, Oid::from(&[1, 2, 840, 10045, 4, 3, 3]).expect("oid"));
    }

    // EV needs the registration number.
    let unregistered = SubjectOrganization { ev: None, ..org.clone() };
    assert!(ca.issue(&request(&key, "org.example", &[], Validation::Ev, Some(&unregistered))).is_err());

    // DV ignores the organization.
    let issued = ca.issue(&request(&key, "dv.example", &[], Validation::Dv, Some(&org))).expect("issue");
    assert_eq!(parse(&issued).subject().to_string(), "CN=dv.example");
}

#[test]
fn invalid_requests_are_rejected() {
    let (_dir, ca) = new_ca(KeyAlgorithm::EcdsaP256);
    let key = subject_key(KeyAlgorithm::EcdsaP256);
    let invalid = |req: LeafRequest<'_>| {
        let result = ca.issue(&req);
        assert!(matches!(result, Err(CaError::InvalidRequest(_))), "{result:?}");
    };

    invalid(request(&key, "", &[], Validation::Dv, None));
    invalid(request(&key, "  ", &[], Validation::Dv, None));
    invalid(request(&key, "ok.example", &[], Validation::Ov, None));
    invalid(request(&key, "ok.example", &names(&["bücher.example"]), Validation::Dv, None));
    let bad_country = SubjectOrganization { name: "Org".into(), country: "USA".into(), ..Default::default() };
    invalid(request(&key, "ok.example", &[], Validation::Ov, Some(&bad_country)));

    let mut req = request(&key, "ok.example", &[], Validation::Dv, None);
    req.not_after = req.not_before;
    invalid(req);
    req.not_after = req.not_before - time::Duration::days(1);
    invalid(req);
    // Sub-second differences vanish in the encoding, so they are rejected too.
    req.not_after = req.not_before + time::Duration::milliseconds(500);
    invalid(req);
}

#[test]
fn validity_is_normalized_to_utc_seconds() {
    let (_dir, ca) = new_ca(KeyAlgorithm::EcdsaP256);
    let key = subject_key(KeyAlgorithm::EcdsaP256);
    let mut req = request(&key, "t.example", &[], Validation::Dv, None);
    req.not_before = datetime!(2025-03-01 12:20:30.999 +02:00);
    req.not_after = datetime!(2060-01-01 00:00:00 UTC);
    let issued = ca.issue(&req).expect("issue");
    assert_eq!(issued.not_before, NOT_BEFORE);
    assert_eq!(issued.not_after, req.not_after);
    let x509 = parse(&issued);
    assert_eq!(x509.validity().not_before.to_datetime(), NOT_BEFORE);
    assert_eq!(x509.validity().not_after.to_datetime(), req.not_after);
}

#[test]
fn serials_are_unique_and_random() {
    let (_dir, ca) = new_ca(KeyAlgorithm::EcdsaP256);
    let key = subject_key(KeyAlgorithm::EcdsaP256);
    let mut serials = std::collections::HashSet::new();
    let mut first_bytes = std::collections::HashSet::new();
    for _ in 0..64 {
        let issued = ca.issue(&request(&key, "s.example", &[], Validation::Dv, None)).expect("issue");
        assert_eq!(issued.serial_number.len(), 32);
        first_bytes.insert(issued.serial_number[..2].to_string());
        assert!(serials.insert(issued.serial_number));
    }
    // With 64 random first bytes, seeing only a handful of values would mean no entropy.
    assert!(first_bytes.len() > 16, "{first_bytes:?}");
}

#[test]
fn issuing_is_thread_safe() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<CertificateAuthority>();

    let (_dir, ca) = new_ca(KeyAlgorithm::EcdsaP256);
    let ca = Arc::new(ca);
    let key = Arc::new(subject_key(KeyAlgorithm::EcdsaP256));
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let ca = Arc::clone(&ca);
            let key = Arc::clone(&key);
            std::thread::spawn(move || {
                let cn = format!("t{i}.example");
                (0..10)
                    .map(|_| {
                        ca.issue(&request(&key, &cn, &[], Validation::Dv, None)).expect("issue").serial_number
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all = std::collections::HashSet::new();
    for handle in handles {
        for serial in handle.join().expect("thread") {
            assert!(all.insert(serial));
        }
    }
    assert_eq!(all.len(), 40);
}

#[test]
fn revocation_urls_are_placed_in_the_leaf() {
    let (_dir, ca) = new_ca(KeyAlgorithm::EcdsaP256);
    let key = subject_key(KeyAlgorithm::EcdsaP256);
    let mut req = request(&key, "urls.example", &[], Validation::Dv, None);
    req.crl_url = Some("http://pki.example/crl/issuing.crl");
    req.ocsp_url = Some("http://ocsp.pki.example/");
    req.ca_issuers_url = Some("http://pki.example/issuing.crt");
    let issued = ca.issue(&req).expect("issue");
    let x509 = parse(&issued);

    let mut crl_uris = Vec::new();
    let mut access = Vec::new();
    for ext in x509.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::CRLDistributionPoints(points) => {
                assert!(!ext.critical);
                for point in points.iter() {
                    match &point.distribution_point {
                        Some(x509_parser::extensions::DistributionPointName::FullName(names)) => {
                            for name in names {
                                match name {
                                    GeneralName::URI(uri) => crl_uris.push(uri.to_string()),
                                    other => panic!("unexpected {other:?}"),
                                }
                            }
                        }
                        other => panic!("unexpected {other:?}"),
                    }
                }
            }
            ParsedExtension::AuthorityInfoAccess(aia) => {
                assert!(!ext.critical);
                for description in &aia.accessdescs {
                    match &description.access_location {
                        GeneralName::URI(uri) => {
                            access.push((description.access_method.to_id_string(), uri.to_string()))
                        }
                        other => panic!("unexpected {other:?}"),
                    }
                }
            }
            _ => {}
        }
    }
    assert_eq!(crl_uris, vec!["http://pki.example/crl/issuing.crl"]);
    assert_eq!(
        access,
        vec![
            ("1.3.6.1.5.5.7.48.1".to_string(), "http://ocsp.pki.example/".to_string()),
            ("1.3.6.1.5.5.7.48.2".to_string(), "http://pki.example/issuing.crt".to_string()),
        ]
    );

    // Without URLs neither extension is present.
    let plain = ca.issue(&request(&key, "plain.example", &[], Validation::Dv, None)).expect("issue");
    let plain = parse(&plain);
    assert!(plain.extensions().iter().all(|ext| !matches!(
        ext.parsed_extension(),
        ParsedExtension::CRLDistributionPoints(_) | ParsedExtension::AuthorityInfoAccess(_)
    )));

    // OCSP alone gives a single access description.
    let mut req = request(&key, "ocsp.example", &[], Validation::Dv, None);
    req.ocsp_url = Some("http://ocsp.pki.example/");
    let issued = ca.issue(&req).expect("issue");
    let aia = parse(&issued)
        .extensions()
        .iter()
        .find_map(|ext| match ext.parsed_extension() {
            ParsedExtension::AuthorityInfoAccess(aia) => Some(aia.accessdescs.len()),
            _ => None,
        })
        .expect("AIA");
    assert_eq!(aia, 1);
}

#[test]
fn invalid_revocation_urls_are_rejected() {
    let (_dir, ca) = new_ca(KeyAlgorithm::EcdsaP256);
    let key = subject_key(KeyAlgorithm::EcdsaP256);
    for url in [
        "",
        "pki.example/crl",
        "ftp://pki.example/crl",
        "http://",
        "http://pki.example/a b",
        "http://bücher.example/",
    ] {
        for field in 0..3 {
            let mut req = request(&key, "u.example", &[], Validation::Dv, None);
            match field {
                0 => req.crl_url = Some(url),
                1 => req.ocsp_url = Some(url),
                _ => req.ca_issuers_url = Some(url),
            }
            let result = ca.issue(&req);
            assert!(matches!(result, Err(CaError::InvalidRequest(_))), "{url:?}: {result:?}");
        }
    }
}
