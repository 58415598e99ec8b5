//! The two-tier certificate authority: on-disk layout, loading and leaf issuance.

use std::fmt;
use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rcgen::{DistinguishedName, DnType, DnValue, Issuer, KeyIdMethod, KeyPair};
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
use x509_parser::oid_registry::OID_PKIX_ACCESS_DESCRIPTOR_CA_ISSUERS;
use x509_parser::prelude::FromDer;

use crate::encoding::{self, CERTIFICATE_LABEL};
use crate::error::CaError;
use crate::key_file;
use crate::keys::{KeyAlgorithm, PublicKeyInfo, SubjectKey};
use crate::ocsp::{self, IssuerIdentity};
use crate::profile::RootUrls;
use crate::profile::{self, LeafRequest};
use crate::revocation::{self, OcspStatus, RevokedEntry};
use crate::signer::{BoxedSigner, Signer};

/// Root certificate file name.
const ROOT_CERT_FILE: &str = "root.crt.pem";
/// Root private key file name.
const ROOT_KEY_FILE: &str = "root.key.pem";
/// Intermediate certificate file name.
const INTERMEDIATE_CERT_FILE: &str = "intermediate.crt.pem";
/// Intermediate private key file name.
const INTERMEDIATE_KEY_FILE: &str = "intermediate.key.pem";
/// All files of a CA directory.
const CA_FILES: [&str; 4] = [ROOT_CERT_FILE, ROOT_KEY_FILE, INTERMEDIATE_CERT_FILE, INTERMEDIATE_KEY_FILE];
/// Validity of the root certificate.
const ROOT_VALIDITY_YEARS: i32 = 20;
/// Validity of the intermediate certificate.
const INTERMEDIATE_VALIDITY_YEARS: i32 = 10;
/// Country of the CA subjects [`CertificateAuthority::create`] writes.
const DEFAULT_COUNTRY: &str = "US";

/// A certificate issued by [`CertificateAuthority::issue`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCertificate {
    /// The certificate in DER.
    pub der: Vec<u8>,
    /// Serial number as upper-case hex without separators (32 digits).
    pub serial_number: String,
    /// SHA-1 of the DER as upper-case hex (40 digits).
    pub thumbprint: String,
    /// Start of validity as encoded (UTC, whole seconds).
    pub not_before: OffsetDateTime,
    /// End of validity as encoded (UTC, whole seconds).
    pub not_after: OffsetDateTime,
}

impl IssuedCertificate {
    /// The certificate as PEM, ending right after `-----END CERTIFICATE-----\n`.
    pub fn pem(&self) -> String {
        encoding::encode_pem(CERTIFICATE_LABEL, &self.der)
    }
}

/// A root CA plus an issuing intermediate CA whose key signs leaves.
pub struct CertificateAuthority {
    root_pem: String,
    root_der: Vec<u8>,
    root_common_name: String,
    intermediate_pem: String,
    intermediate_der: Vec<u8>,
    intermediate_common_name: String,
    key_algorithm: KeyAlgorithm,
    /// Identifier of the intermediate key, for the AKI of CRLs (the intermediate's SKI).
    intermediate_key_id: KeyIdMethod,
    /// Identifier of the root key, for the AKI of the root's CRL.
    root_key_id: KeyIdMethod,
    /// The root, which signs only its CRL (of the CA certificates it issued) while serving.
    root_issuer: Issuer<'static, BoxedSigner>,
    /// How OCSP CertIDs name the intermediate.
    ocsp_identity: IssuerIdentity,
    issuer: Issuer<'static, BoxedSigner>,
}

impl fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("root_common_name", &self.root_common_name)
            .field("intermediate_common_name", &self.intermediate_common_name)
            .field("key_algorithm", &self.key_algorithm)
            .finish_non_exhaustive()
    }
}

/// PEM text of one CA file together with where it lives, for error messages.
struct CaFile {
    path: PathBuf,
    pem: String,
}

impl CaFile {
    fn read(dir: &Path, name: &str) -> Result<Self, CaError> {
        let path = dir.join(name);
        let pem = fs::read_to_string(&path).map_err(|e| CaError::io(&path, e))?;
        Ok(Self { path, pem })
    }

    fn der(&self, label: &str) -> Result<Vec<u8>, CaError> {
        encoding::find_pem_block(&self.pem)
            .filter(|block| block.label == label)
            .and_then(|block| encoding::decode_base64(block.body))
            .ok_or_else(|| CaError::corrupt(&self.path, format!("expected a PEM {label}")))
    }

    fn key_pair(&self, passphrase: Option<&[u8]>) -> Result<KeyPair, CaError> {
        let der = key_file::decode(&self.path, &self.pem, passphrase)?;
        KeyPair::try_from(der).map_err(|e| CaError::corrupt(&self.path, e))
    }
}

impl CertificateAuthority {
    /// Creates a self-signed root and an intermediate signed by it, and writes
    /// `root.crt.pem`, `root.key.pem`, `intermediate.crt.pem` and `intermediate.key.pem`
    /// to `dir` (created with mode 0700 if missing; key files are created with mode 0600).
    ///
    /// Subjects are `C=US, O={name}, CN={name} Root CA` and `C=US, O={name}, CN={name}
    /// Issuing CA` (see [`CertificateAuthority::create_protected`] for another country).
    /// The root is valid for 20 years from `not_before`, the intermediate for 10 years.
    /// Fails without writing anything if any of the files already exists.
    pub fn create(
        dir: &Path,
        alg: KeyAlgorithm,
        name: &str,
        not_before: OffsetDateTime,
    ) -> Result<Self, CaError> {
        Self::create_protected(dir, alg, (name, DEFAULT_COUNTRY), not_before, None, None)
    }

    /// Like [`CertificateAuthority::create`], for the organization `name` in `country` (two
    /// letters), with the key files encrypted under `passphrase` (encrypted PKCS#8) when there
    /// is one. The intermediate names the root's `urls` (CRL, certificate) when they are known;
    /// otherwise [`CertificateAuthority::refresh_intermediate`] adds them once they are.
    pub fn create_protected(
        dir: &Path,
        alg: KeyAlgorithm,
        (name, country): (&str, &str),
        not_before: OffsetDateTime,
        passphrase: Option<&[u8]>,
        urls: Option<&RootUrls>,
    ) -> Result<Self, CaError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(CaError::invalid("the CA name is empty"));
        }
        if let Some(existing) = CA_FILES.iter().map(|f| dir.join(f)).find(|p| p.exists()) {
            return Err(CaError::AlreadyExists(existing));
        }
        let not_before = profile::certificate_time(not_before)?;

        let root_key = alg.generate()?;
        let root_params = profile::root_params(
            profile::ca_subject(country, name, &format!("{name} Root CA"))?,
            not_before,
            profile::add_years(not_before, ROOT_VALIDITY_YEARS)?,
        )?;
        let root_cert = root_params.self_signed(&root_key).map_err(CaError::crypto)?;
        let root_issuer = Issuer::new(root_params, root_key);

        let intermediate_key = alg.generate()?;
        let intermediate_cert = profile::intermediate_params(
            profile::ca_subject(country, name, &format!("{name} Issuing CA"))?,
            not_before,
            profile::add_years(not_before, INTERMEDIATE_VALIDITY_YEARS)?,
            urls,
        )?
        .signed_by(&intermediate_key, &root_issuer)
        .map_err(CaError::crypto)?;

        let files = [
            (ROOT_CERT_FILE, encoding::encode_pem(CERTIFICATE_LABEL, root_cert.der())),
            (ROOT_KEY_FILE, key_file::encode(root_issuer.key().serialized_der(), passphrase)?),
            (INTERMEDIATE_CERT_FILE, encoding::encode_pem(CERTIFICATE_LABEL, intermediate_cert.der())),
            (INTERMEDIATE_KEY_FILE, key_file::encode(intermediate_key.serialized_der(), passphrase)?),
        ]
        .map(|(file, pem)| CaFile { path: dir.join(file), pem });

        DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|e| CaError::io(dir, e))?;
        let [root_cert, root_key, intermediate_cert, intermediate_key_file] = &files;
        write_new_file(root_key, 0o600)?;
        write_new_file(intermediate_key_file, 0o600)?;
        write_new_file(root_cert, 0o644)?;
        write_new_file(intermediate_cert, 0o644)?;
        let root_key = files[1].key_pair(passphrase)?;
        Self::from_parts(&files, Box::new(root_key), Box::new(intermediate_key))
    }

    /// Gives the intermediate of `dir` the profile of a dedicated TLS hierarchy naming the
    /// root's URLs ([`RootUrls`]), when its certificate lacks any of it (CAs made by earlier
    /// versions, or URLs that moved): the root certifies the same key and subject again, with
    /// the same key identifier, so every certificate the intermediate signed still chains. The
    /// new certificate is valid from `now` until the old one's end; the old one is kept beside
    /// it as `intermediate-<serial>.crt.pem`. Returns whether it wrote a new certificate.
    pub fn refresh_intermediate(
        dir: &Path,
        passphrase: Option<&[u8]>,
        urls: &RootUrls,
        now: OffsetDateTime,
    ) -> Result<bool, CaError> {
        let file = CaFile::read(dir, INTERMEDIATE_CERT_FILE)?;
        let der = file.der(CERTIFICATE_LABEL)?;
        let current = parse_certificate(&file.path, &der)?;
        if has_tls_profile(&current, urls) {
            return Ok(false);
        }
        check_private(&dir.join(ROOT_KEY_FILE))?;
        let root = CaFile::read(dir, ROOT_CERT_FILE)?;
        let root_key = CaFile::read(dir, ROOT_KEY_FILE)?.key_pair(passphrase)?;
        let corrupt = |reason: &str| CaError::corrupt(&file.path, reason);
        let key = PublicKeyInfo::from_spki(current.public_key()).map_err(|e| corrupt(&e.to_string()))?;
        let ski = subject_key_identifier(&current).ok_or_else(|| corrupt("no subject key identifier"))?;
        let mut params = profile::intermediate_params(
            subject_of(&current).ok_or_else(|| corrupt("subject attributes rcgen cannot copy"))?,
            profile::certificate_time(now)?,
            current.validity().not_after.to_datetime(),
            Some(urls),
        )?;
        params.key_identifier_method = KeyIdMethod::PreSpecified(ski.to_vec());
        let issuer =
            Issuer::from_ca_cert_pem(&root.pem, root_key).map_err(|e| CaError::corrupt(&root.path, e))?;
        let renewed = params.signed_by(&SubjectKey(&key), &issuer).map_err(CaError::crypto)?;
        let kept = dir.join(format!("intermediate-{}.crt.pem", encoding::hex_upper(current.raw_serial())));
        fs::copy(&file.path, &kept).map_err(|e| CaError::io(&kept, e))?;
        let next = CaFile {
            path: dir.join("intermediate.crt.pem.next"),
            pem: encoding::encode_pem(CERTIFICATE_LABEL, renewed.der()),
        };
        let _ = fs::remove_file(&next.path);
        write_new_file(&next, 0o644)?;
        fs::rename(&next.path, &file.path).map_err(|e| CaError::io(&file.path, e))?;
        Ok(true)
    }

    /// Loads a CA written by [`CertificateAuthority::create`].
    ///
    /// Fails if a file is missing or corrupt, if a key does not match its certificate, if
    /// the intermediate is not signed by the root, or if a key file is accessible by group
    /// or other users.
    pub fn load(dir: &Path) -> Result<Self, CaError> {
        Self::load_protected(dir, None)
    }

    /// Like [`CertificateAuthority::load`], decrypting passphrase-protected key files.
    pub fn load_protected(dir: &Path, passphrase: Option<&[u8]>) -> Result<Self, CaError> {
        for key_file in [ROOT_KEY_FILE, INTERMEDIATE_KEY_FILE] {
            check_private(&dir.join(key_file))?;
        }
        let files = [
            CaFile::read(dir, ROOT_CERT_FILE)?,
            CaFile::read(dir, ROOT_KEY_FILE)?,
            CaFile::read(dir, INTERMEDIATE_CERT_FILE)?,
            CaFile::read(dir, INTERMEDIATE_KEY_FILE)?,
        ];
        let root_key = files[1].key_pair(passphrase)?;
        let intermediate_key = files[3].key_pair(passphrase)?;
        Self::from_parts(&files, Box::new(root_key), Box::new(intermediate_key))
    }

    /// True if `dir` holds any CA file, i.e. it should be loaded rather than created.
    pub fn exists(dir: &Path) -> bool {
        CA_FILES.iter().any(|file| dir.join(file).exists())
    }

    /// Builds the CA from its files (in [`CA_FILES`] order), the root key and the signer of
    /// the intermediate, checking that keys match certificates and that the root signed the
    /// intermediate.
    fn from_parts(
        files: &[CaFile; 4],
        root_key: Box<dyn Signer>,
        intermediate_key: Box<dyn Signer>,
    ) -> Result<Self, CaError> {
        let [root_file, root_key_file, intermediate_file, intermediate_key_file] = files;
        let root_der = root_file.der(CERTIFICATE_LABEL)?;
        let intermediate_der = intermediate_file.der(CERTIFICATE_LABEL)?;
        let root = parse_certificate(&root_file.path, &root_der)?;
        let intermediate = parse_certificate(&intermediate_file.path, &intermediate_der)?;
        check_key_matches(&root_key_file.path, &*root_key, &root)?;
        check_key_matches(&intermediate_key_file.path, &*intermediate_key, &intermediate)?;

        let corrupt = |reason: &str| CaError::corrupt(&intermediate_file.path, reason);
        root.verify_signature(None)
            .map_err(|_| CaError::corrupt(&root_file.path, "root is not validly self-signed"))?;
        intermediate
            .verify_signature(Some(root.public_key()))
            .map_err(|_| corrupt("intermediate is not signed by the root"))?;
        let key_algorithm = PublicKeyInfo::from_spki(intermediate.public_key())
            .ok()
            .and_then(|key| KeyAlgorithm::from_public_key(&key))
            .ok_or_else(|| corrupt("unsupported intermediate key algorithm"))?;
        // rcgen copies the subject into leaf issuer fields; it only handles single-valued RDNs.
        if intermediate.subject().iter().any(|rdn| rdn.iter().count() != 1) {
            return Err(corrupt("multi-valued RDN in the intermediate subject"));
        }
        let root_common_name = common_name(&root)
            .ok_or_else(|| CaError::corrupt(&root_file.path, "root certificate has no common name"))?;
        let intermediate_common_name =
            common_name(&intermediate).ok_or_else(|| corrupt("intermediate has no common name"))?;

        let intermediate_key_id = subject_key_identifier(&intermediate)
            .map_or(KeyIdMethod::Sha256, |ski| KeyIdMethod::PreSpecified(ski.to_vec()));
        let ocsp_identity = IssuerIdentity::of(&intermediate);

        let root_key_id = subject_key_identifier(&root)
            .map_or(KeyIdMethod::Sha256, |ski| KeyIdMethod::PreSpecified(ski.to_vec()));
        let root_pem = encoding::encode_pem(CERTIFICATE_LABEL, &root_der);
        let root_issuer = Issuer::from_ca_cert_pem(&root_pem, BoxedSigner(root_key))
            .map_err(|e| CaError::corrupt(&root_file.path, e))?;
        let intermediate_pem = encoding::encode_pem(CERTIFICATE_LABEL, &intermediate_der);
        let issuer = Issuer::from_ca_cert_pem(&intermediate_pem, BoxedSigner(intermediate_key))
            .map_err(|e| CaError::corrupt(&intermediate_file.path, e))?;
        Ok(Self {
            root_pem,
            root_der,
            root_key_id,
            root_issuer,
            root_common_name,
            intermediate_pem,
            intermediate_der,
            intermediate_common_name,
            key_algorithm,
            intermediate_key_id,
            ocsp_identity,
            issuer,
        })
    }

    /// The root certificate as PEM.
    pub fn root_pem(&self) -> &str {
        &self.root_pem
    }

    /// The intermediate certificate as PEM.
    pub fn intermediate_pem(&self) -> &str {
        &self.intermediate_pem
    }

    /// The root certificate as DER.
    pub fn root_der(&self) -> &[u8] {
        &self.root_der
    }

    /// The intermediate certificate as DER.
    pub fn intermediate_der(&self) -> &[u8] {
        &self.intermediate_der
    }

    /// Common name of the root, e.g. `Example Root CA`.
    pub fn root_common_name(&self) -> &str {
        &self.root_common_name
    }

    /// Common name of the intermediate, e.g. `Example Issuing CA`.
    pub fn intermediate_common_name(&self) -> &str {
        &self.intermediate_common_name
    }

    /// Hash of the CA's signature algorithm as CertCentral names it: `sha256` for P-256
    /// and RSA, `sha384` for P-384.
    pub fn signature_hash(&self) -> &'static str {
        match self.key_algorithm {
            KeyAlgorithm::EcdsaP384 => "sha384",
            KeyAlgorithm::EcdsaP256
            | KeyAlgorithm::Rsa2048
            | KeyAlgorithm::Rsa3072
            | KeyAlgorithm::Rsa4096 => "sha256",
        }
    }

    /// The key algorithm of the CA keys.
    pub fn key_algorithm(&self) -> KeyAlgorithm {
        self.key_algorithm
    }

    /// A DV certificate for `host` (its common name and only SAN; an IP address becomes an IP
    /// SAN) to a fresh P-256 key, valid from an hour ago for a day, naming no CRL, OCSP or CA
    /// issuers URL: its chain (leaf, then the intermediate) and key, in PEM. What a local HTTPS
    /// endpoint that trusts this CA's clients serves (webhook receivers of tests and the bench).
    pub fn issue_local_tls(&self, host: &str) -> Result<(String, String), CaError> {
        let (key, csr) = crate::generate_csr(KeyAlgorithm::EcdsaP256, host, &[])?;
        let csr = crate::parse_csr(&csr).map_err(|e| CaError::invalid(e.to_string()))?;
        let now = OffsetDateTime::now_utc();
        let leaf = self.issue(&LeafRequest {
            public_key: &csr.public_key,
            common_name: host,
            dns_names: &[],
            organization: None,
            validation: profile::Validation::Dv,
            client_auth: false,
            not_before: now - time::Duration::hours(1),
            not_after: now + time::Duration::days(1),
            crl_url: None,
            ocsp_url: None,
            ca_issuers_url: None,
        })?;
        Ok((format!("{}{}", leaf.pem(), self.intermediate_pem()), key))
    }

    /// Issues a leaf certificate signed by the intermediate. Safe to call concurrently.
    pub fn issue(&self, req: &LeafRequest<'_>) -> Result<IssuedCertificate, CaError> {
        let not_before = profile::certificate_time(req.not_before)?;
        let not_after = profile::certificate_time(req.not_after)?;
        let serial = profile::random_serial()?;
        let params = profile::leaf_params(req, &serial, not_before, not_after)?;
        let certificate =
            params.signed_by(&SubjectKey(req.public_key), &self.issuer).map_err(CaError::crypto)?;
        let der = certificate.der().to_vec();
        Ok(IssuedCertificate {
            serial_number: encoding::hex_upper(&serial),
            thumbprint: encoding::sha1_thumbprint(&der),
            der,
            not_before,
            not_after,
        })
    }

    /// A DER CRL signed by the intermediate, listing `revoked` (certificates it issued).
    ///
    /// The CRL carries the authority key identifier of the intermediate, the CRL number and,
    /// for each entry, its reason code (omitted for [`RevocationReason::Unspecified`] as RFC
    /// 5280 recommends). Times are truncated to whole seconds; `next_update` must be later
    /// than `this_update`. Invalid serial hex gives [`CaError::InvalidRequest`].
    ///
    /// [`RevocationReason::Unspecified`]: crate::RevocationReason::Unspecified
    pub fn crl(
        &self,
        revoked: &[RevokedEntry],
        this_update: OffsetDateTime,
        next_update: OffsetDateTime,
        crl_number: u64,
    ) -> Result<Vec<u8>, CaError> {
        let params = revocation::crl_params(
            revoked,
            this_update,
            next_update,
            crl_number,
            self.intermediate_key_id.clone(),
        )?;
        let crl = params.signed_by(&self.issuer).map_err(CaError::crypto)?;
        Ok(crl.der().to_vec())
    }

    /// A DER CRL signed by the root listing no revoked CA certificate (the root certified only
    /// the intermediate, which is in force): what the intermediate's CRL distribution point
    /// names. Times as for [`CertificateAuthority::crl`].
    pub fn root_crl(
        &self,
        this_update: OffsetDateTime,
        next_update: OffsetDateTime,
        crl_number: u64,
    ) -> Result<Vec<u8>, CaError> {
        let params =
            revocation::crl_params(&[], this_update, next_update, crl_number, self.root_key_id.clone())?;
        let crl = params.signed_by(&self.root_issuer).map_err(CaError::crypto)?;
        Ok(crl.der().to_vec())
    }

    /// Answers a DER OCSP request (RFC 6960) about certificates issued by the intermediate.
    ///
    /// Always returns a DER `OCSPResponse`: `malformedRequest` if the request cannot be
    /// parsed, `internalError` if no signed response can be produced (e.g. `now` cannot be
    /// encoded), otherwise `successful` with a `BasicOCSPResponse` signed by the intermediate
    /// key (responder ID by key hash, no certificates included). Each CertID (SHA-1 or
    /// SHA-256) naming the intermediate is answered with `lookup(serial)`, the serial being
    /// upper-case hex as in [`IssuedCertificate::serial_number`]; CertIDs naming another
    /// issuer are answered `unknown` without calling `lookup`. `thisUpdate` and `producedAt`
    /// are `now`, `nextUpdate` is one day later; a request nonce is echoed.
    pub fn ocsp_response(
        &self,
        request_der: &[u8],
        now: OffsetDateTime,
        lookup: &mut dyn FnMut(&str) -> OcspStatus,
    ) -> Vec<u8> {
        ocsp::respond(&self.ocsp_identity, self.issuer.key(), request_der, now, lookup)
    }
}

/// Creates the file (which must not exist yet) with `mode` and writes its PEM.
fn write_new_file(file: &CaFile, mode: u32) -> Result<(), CaError> {
    let path = &file.path;
    let mut handle = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| CaError::io(path, e))?;
    handle.write_all(file.pem.as_bytes()).and_then(|()| handle.sync_all()).map_err(|e| CaError::io(path, e))
}

/// Rejects key files readable or writable by group or other users.
fn check_private(path: &Path) -> Result<(), CaError> {
    let mode = fs::metadata(path).map_err(|e| CaError::io(path, e))?.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(CaError::InsecurePermissions { path: path.to_path_buf(), mode });
    }
    Ok(())
}

fn parse_certificate<'a>(path: &Path, der: &'a [u8]) -> Result<X509Certificate<'a>, CaError> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        _ => Err(CaError::corrupt(path, "invalid certificate")),
    }
}

/// Fails unless `key` is the private key of `cert`.
fn check_key_matches(key_path: &Path, key: &dyn Signer, cert: &X509Certificate<'_>) -> Result<(), CaError> {
    let cert_key: &[u8] = &cert.public_key().subject_public_key.data;
    if key.public_key() != cert_key {
        return Err(CaError::corrupt(key_path, "private key does not match its certificate"));
    }
    Ok(())
}

fn subject_key_identifier<'a>(cert: &'a X509Certificate<'_>) -> Option<&'a [u8]> {
    cert.extensions().iter().find_map(|ext| match ext.parsed_extension() {
        ParsedExtension::SubjectKeyIdentifier(ski) => Some(ski.0),
        _ => None,
    })
}

fn common_name(cert: &X509Certificate<'_>) -> Option<String> {
    cert.subject().iter_common_name().find_map(|cn| cn.as_str().ok()).map(str::to_owned)
}

/// Whether a CA certificate has the TLS issuing-CA profile naming these root URLs: serverAuth
/// only, certificate policies, the root's CRL and certificate.
fn has_tls_profile(cert: &X509Certificate<'_>, urls: &RootUrls) -> bool {
    let eku = cert.extended_key_usage().ok().flatten().map(|e| e.value.clone());
    let server_auth_only =
        eku.is_some_and(|e| e.server_auth && !e.client_auth && !e.any && e.other.is_empty());
    let mut policies = false;
    let mut crl = Vec::new();
    let mut ca_issuers = Vec::new();
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::CertificatePolicies(_) => policies = true,
            ParsedExtension::CRLDistributionPoints(points) => {
                for point in points.iter() {
                    if let Some(DistributionPointName::FullName(names)) = &point.distribution_point {
                        crl.extend(names.iter().filter_map(uri));
                    }
                }
            }
            ParsedExtension::AuthorityInfoAccess(access) => ca_issuers.extend(
                access
                    .accessdescs
                    .iter()
                    .filter(|d| d.access_method == OID_PKIX_ACCESS_DESCRIPTOR_CA_ISSUERS)
                    .filter_map(|d| uri(&d.access_location)),
            ),
            _ => {}
        }
    }
    server_auth_only && policies && crl == [urls.crl.as_str()] && ca_issuers == [urls.certificate.as_str()]
}

fn uri<'a>(name: &GeneralName<'a>) -> Option<&'a str> {
    match name {
        GeneralName::URI(uri) => Some(uri),
        _ => None,
    }
}

/// The subject as rcgen writes it again, attribute by attribute with its string type; `None`
/// for a multi-valued RDN or a string type other than PrintableString and UTF8String.
fn subject_of(cert: &X509Certificate<'_>) -> Option<DistinguishedName> {
    let mut subject = DistinguishedName::new();
    for rdn in cert.subject().iter() {
        let mut attributes = rdn.iter();
        let (attribute, None) = (attributes.next()?, attributes.next()) else { return None };
        let oid: Vec<u64> = attribute.attr_type().iter()?.collect();
        let text = std::str::from_utf8(attribute.attr_value().data).ok()?;
        let value = match attribute.attr_value().header.tag() {
            Tag::PrintableString => DnValue::PrintableString(text.try_into().ok()?),
            Tag::Utf8String => DnValue::Utf8String(text.to_owned()),
            _ => return None,
        };
        subject.push(DnType::from_oid(&oid), value);
    }
    Some(subject)
}
