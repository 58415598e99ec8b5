//! OCSP responder logic (RFC 6960) without transport: parses an `OCSPRequest` and builds a
//! `BasicOCSPResponse` signed directly by the issuing CA.

use aws_lc_rs::digest::{self, SHA1_FOR_LEGACY_USE_ONLY, SHA256};
use rcgen::{SignatureAlgorithm, SigningKey};
use time::{Duration, OffsetDateTime};
use x509_parser::certificate::X509Certificate;
use yasna::models::{GeneralizedTime, ObjectIdentifier};
use yasna::{ASN1Error, ASN1ErrorKind, ASN1Result, BERReader, BERReaderSeq, DERWriter, Tag};

use crate::encoding;
use crate::profile;
use crate::revocation::{OcspStatus, RevocationReason};

/// id-sha1, the hash of CertIDs OpenSSL sends by default.
const OID_SHA1: &[u64] = &[1, 3, 14, 3, 2, 26];
/// id-sha256.
const OID_SHA256: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 2, 1];
/// id-pkix-ocsp-basic: the type of a `BasicOCSPResponse`.
const OID_OCSP_BASIC: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 1, 1];
/// id-pkix-ocsp-nonce.
const OID_OCSP_NONCE: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 1, 2];
/// ecdsa-with-SHA256.
const OID_ECDSA_SHA256: &[u64] = &[1, 2, 840, 10045, 4, 3, 2];
/// ecdsa-with-SHA384.
const OID_ECDSA_SHA384: &[u64] = &[1, 2, 840, 10045, 4, 3, 3];
/// sha256WithRSAEncryption.
const OID_RSA_SHA256: &[u64] = &[1, 2, 840, 113549, 1, 1, 11];
/// How long a response may be cached: the nextUpdate of each answer is this much later.
const RESPONSE_VALIDITY: Duration = Duration::days(1);

/// `OCSPResponseStatus` values this responder produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResponseStatus {
    Successful = 0,
    MalformedRequest = 1,
    InternalError = 2,
}

/// What names the issuing CA in a CertID: its subject and its public key.
#[derive(Debug, Clone)]
pub(crate) struct IssuerIdentity {
    /// DER of the issuer's subject `Name`.
    name_der: Vec<u8>,
    /// The issuer's `subjectPublicKey` BIT STRING contents.
    key_bits: Vec<u8>,
}

impl IssuerIdentity {
    /// The identity of `cert` as the issuer of the certificates asked about.
    pub(crate) fn of(cert: &X509Certificate<'_>) -> Self {
        Self {
            name_der: cert.subject().as_raw().to_vec(),
            key_bits: cert.public_key().subject_public_key.data.to_vec(),
        }
    }

    /// True if the CertID hashes name this issuer.
    fn issued(&self, id: &CertId) -> bool {
        let algorithm = if id.hash_algorithm == ObjectIdentifier::from_slice(OID_SHA1) {
            &SHA1_FOR_LEGACY_USE_ONLY
        } else if id.hash_algorithm == ObjectIdentifier::from_slice(OID_SHA256) {
            &SHA256
        } else {
            return false;
        };
        digest::digest(algorithm, &self.name_der).as_ref() == id.issuer_name_hash.as_slice()
            && digest::digest(algorithm, &self.key_bits).as_ref() == id.issuer_key_hash.as_slice()
    }

    /// `KeyHash` of the responder ID: SHA-1 of the public key bits.
    fn key_hash(&self) -> Vec<u8> {
        digest::digest(&SHA1_FOR_LEGACY_USE_ONLY, &self.key_bits).as_ref().to_vec()
    }
}

/// One `CertID` of a request.
struct CertId {
    /// The CertID exactly as received, echoed in the answer.
    der: Vec<u8>,
    hash_algorithm: ObjectIdentifier,
    issuer_name_hash: Vec<u8>,
    issuer_key_hash: Vec<u8>,
    /// Serial number as upper-case hex of its magnitude; `None` if negative.
    serial: Option<String>,
}

/// The parts of an `OCSPRequest` the responder uses.
struct OcspRequest {
    cert_ids: Vec<CertId>,
    /// `extnValue` of the nonce extension, echoed in the response.
    nonce: Option<Vec<u8>>,
}

/// One answer of a response.
struct SingleResponse {
    cert_id: Vec<u8>,
    status: OcspStatus,
}

/// Answers a DER `OCSPRequest`; see [`crate::CertificateAuthority::ocsp_response`].
pub(crate) fn respond(
    issuer: &IssuerIdentity,
    key: &impl SigningKey,
    request_der: &[u8],
    now: OffsetDateTime,
    lookup: &mut dyn FnMut(&str) -> OcspStatus,
) -> Vec<u8> {
    let Ok(request) = yasna::parse_der(request_der, parse_request) else {
        return response(ResponseStatus::MalformedRequest, None);
    };
    if request.cert_ids.is_empty() {
        return response(ResponseStatus::MalformedRequest, None);
    }
    let answers = request
        .cert_ids
        .into_iter()
        .map(|id| {
            let status = match &id.serial {
                Some(serial) if issuer.issued(&id) => lookup(serial),
                _ => OcspStatus::Unknown,
            };
            SingleResponse { cert_id: id.der, status }
        })
        .collect::<Vec<_>>();
    match basic_response(issuer, key, &answers, request.nonce.as_deref(), now) {
        Some(basic) => response(ResponseStatus::Successful, Some(&basic)),
        None => response(ResponseStatus::InternalError, None),
    }
}

// --- Request parsing ---

/// `OCSPRequest ::= SEQUENCE { tbsRequest, optionalSignature [0] EXPLICIT Signature OPTIONAL }`.
///
/// A request signature is not checked: the responder answers anyone.
fn parse_request(reader: BERReader<'_, '_>) -> ASN1Result<OcspRequest> {
    reader.read_sequence(|reader| {
        let request = reader.next().read_sequence(parse_tbs_request)?;
        skip_optional_tagged(reader, 0)?;
        Ok(request)
    })
}

/// `TBSRequest ::= SEQUENCE { version [0] DEFAULT v1, requestorName [1] OPTIONAL,
/// requestList SEQUENCE OF Request, requestExtensions [2] EXPLICIT Extensions OPTIONAL }`.
fn parse_tbs_request(reader: &mut BERReaderSeq<'_, '_>) -> ASN1Result<OcspRequest> {
    let version = reader.read_optional(|reader| reader.read_tagged(Tag::context(0), |r| r.read_u8()))?;
    if version.is_some_and(|v| v != 0) {
        return Err(ASN1Error::new(ASN1ErrorKind::Invalid));
    }
    skip_optional_tagged(reader, 1)?;
    let mut cert_ids = Vec::new();
    reader.next().read_sequence_of(|reader| {
        cert_ids.push(parse_single_request(reader)?);
        Ok(())
    })?;
    let extensions = reader.read_optional(|reader| reader.read_tagged(Tag::context(2), parse_extensions))?;
    let nonce = extensions
        .unwrap_or_default()
        .into_iter()
        .find_map(|(oid, value)| (oid == ObjectIdentifier::from_slice(OID_OCSP_NONCE)).then_some(value));
    Ok(OcspRequest { cert_ids, nonce })
}

/// `Request ::= SEQUENCE { reqCert CertID, singleRequestExtensions [0] EXPLICIT OPTIONAL }`.
fn parse_single_request(reader: BERReader<'_, '_>) -> ASN1Result<CertId> {
    reader.read_sequence(|reader| {
        let cert_id = parse_cert_id(reader.next())?;
        skip_optional_tagged(reader, 0)?;
        Ok(cert_id)
    })
}

/// `CertID ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, issuerNameHash OCTET STRING,
/// issuerKeyHash OCTET STRING, serialNumber INTEGER }`.
fn parse_cert_id(reader: BERReader<'_, '_>) -> ASN1Result<CertId> {
    let (mut cert_id, der) = reader.read_with_buffer(|reader| {
        reader.read_sequence(|reader| {
            let hash_algorithm = reader.next().read_sequence(|reader| {
                let oid = reader.next().read_oid()?;
                reader.read_optional(|reader| reader.read_der())?;
                Ok(oid)
            })?;
            let issuer_name_hash = reader.next().read_bytes()?;
            let issuer_key_hash = reader.next().read_bytes()?;
            let (serial, non_negative) = reader.next().read_bigint_bytes()?;
            Ok(CertId {
                der: Vec::new(),
                hash_algorithm,
                issuer_name_hash,
                issuer_key_hash,
                serial: non_negative.then(|| serial_hex(&serial)),
            })
        })
    })?;
    cert_id.der = der.to_vec();
    Ok(cert_id)
}

/// Upper-case hex of a non-negative INTEGER's content octets, without the sign octet.
fn serial_hex(content: &[u8]) -> String {
    let magnitude = match content {
        [0, rest @ ..] if !rest.is_empty() => rest,
        _ => content,
    };
    encoding::hex_upper(magnitude)
}

/// `Extensions ::= SEQUENCE OF SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE,
/// extnValue OCTET STRING }`, as `(extnID, extnValue)` pairs.
fn parse_extensions(reader: BERReader<'_, '_>) -> ASN1Result<Vec<(ObjectIdentifier, Vec<u8>)>> {
    reader.collect_sequence_of(|reader| {
        reader.read_sequence(|reader| {
            let oid = reader.next().read_oid()?;
            reader.read_optional(|reader| reader.read_bool())?;
            Ok((oid, reader.next().read_bytes()?))
        })
    })
}

/// Skips an optional `[tag] EXPLICIT` element this responder does not use.
fn skip_optional_tagged(reader: &mut BERReaderSeq<'_, '_>, tag: u64) -> ASN1Result<()> {
    reader.read_optional(|reader| reader.read_tagged(Tag::context(tag), |r| r.read_der()))?;
    Ok(())
}

// --- Response building ---

/// `OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED,
/// responseBytes [0] EXPLICIT SEQUENCE { responseType OID, response OCTET STRING } OPTIONAL }`.
fn response(status: ResponseStatus, basic: Option<&[u8]>) -> Vec<u8> {
    yasna::construct_der(|writer| {
        writer.write_sequence(|writer| {
            writer.next().write_enum(status as i64);
            if let Some(basic) = basic {
                writer.next().write_tagged(Tag::context(0), |writer| {
                    writer.write_sequence(|writer| {
                        writer.next().write_oid(&ObjectIdentifier::from_slice(OID_OCSP_BASIC));
                        writer.next().write_bytes(basic);
                    });
                });
            }
        });
    })
}

/// `BasicOCSPResponse ::= SEQUENCE { tbsResponseData, signatureAlgorithm, signature BIT STRING }`,
/// or `None` if it cannot be produced (unencodable times, unsupported key, signing failure).
fn basic_response(
    issuer: &IssuerIdentity,
    key: &impl SigningKey,
    answers: &[SingleResponse],
    nonce: Option<&[u8]>,
    now: OffsetDateTime,
) -> Option<Vec<u8>> {
    let signature_algorithm = signature_algorithm(key.algorithm())?;
    let this_update = generalized_time(now)?;
    let next_update = generalized_time(now.checked_add(RESPONSE_VALIDITY)?)?;
    let statuses = answers.iter().map(|answer| encoded_status(answer.status)).collect::<Option<Vec<_>>>()?;

    let tbs = yasna::construct_der(|writer| {
        writer.write_sequence(|writer| {
            // version v1 is the DEFAULT and therefore omitted.
            // responderID byKey [2] EXPLICIT KeyHash.
            writer.next().write_tagged(Tag::context(2), |writer| writer.write_bytes(&issuer.key_hash()));
            writer.next().write_generalized_time(&this_update);
            writer.next().write_sequence_of(|writer| {
                for (answer, status) in answers.iter().zip(&statuses) {
                    write_single_response(writer.next(), &answer.cert_id, status, &this_update, &next_update);
                }
            });
            if let Some(nonce) = nonce {
                writer.next().write_tagged(Tag::context(1), |writer| write_nonce_extension(writer, nonce));
            }
        });
    });
    let signature = key.sign(&tbs).ok()?;
    Some(yasna::construct_der(|writer| {
        writer.write_sequence(|writer| {
            writer.next().write_der(&tbs);
            write_algorithm_identifier(writer.next(), signature_algorithm);
            writer.next().write_bitvec_bytes(&signature, signature.len() * 8);
        });
    }))
}

/// A `CertStatus` with its times already converted for encoding.
enum EncodedStatus {
    Good,
    Revoked { at: GeneralizedTime, reason: Option<u8> },
    Unknown,
}

fn encoded_status(status: OcspStatus) -> Option<EncodedStatus> {
    Some(match status {
        OcspStatus::Good => EncodedStatus::Good,
        OcspStatus::Unknown => EncodedStatus::Unknown,
        OcspStatus::Revoked { at, reason } => EncodedStatus::Revoked {
            at: generalized_time(at)?,
            // As in CRLs, the unspecified reason is left out (RFC 5280 section 5.3.1).
            reason: (reason != RevocationReason::Unspecified).then(|| reason.code()),
        },
    })
}

/// `SingleResponse ::= SEQUENCE { certID, certStatus, thisUpdate GeneralizedTime,
/// nextUpdate [0] EXPLICIT GeneralizedTime OPTIONAL }`.
fn write_single_response(
    writer: DERWriter<'_>,
    cert_id: &[u8],
    status: &EncodedStatus,
    this_update: &GeneralizedTime,
    next_update: &GeneralizedTime,
) {
    writer.write_sequence(|writer| {
        writer.next().write_der(cert_id);
        write_cert_status(writer.next(), status);
        writer.next().write_generalized_time(this_update);
        writer.next().write_tagged(Tag::context(0), |writer| writer.write_generalized_time(next_update));
    });
}

/// `CertStatus ::= CHOICE { good [0] IMPLICIT NULL, revoked [1] IMPLICIT RevokedInfo,
/// unknown [2] IMPLICIT NULL }` with `RevokedInfo ::= SEQUENCE { revocationTime GeneralizedTime,
/// revocationReason [0] EXPLICIT CRLReason OPTIONAL }`.
fn write_cert_status(writer: DERWriter<'_>, status: &EncodedStatus) {
    match status {
        EncodedStatus::Good => writer.write_tagged_implicit(Tag::context(0), |writer| writer.write_null()),
        EncodedStatus::Unknown => writer.write_tagged_implicit(Tag::context(2), |writer| writer.write_null()),
        EncodedStatus::Revoked { at, reason } => writer.write_tagged_implicit(Tag::context(1), |writer| {
            writer.write_sequence(|writer| {
                writer.next().write_generalized_time(at);
                if let Some(code) = reason {
                    writer.next().write_tagged(Tag::context(0), |writer| writer.write_enum(i64::from(*code)));
                }
            });
        }),
    }
}

/// `Extensions` holding only the nonce extension with `value` as its extnValue.
fn write_nonce_extension(writer: DERWriter<'_>, value: &[u8]) {
    writer.write_sequence_of(|writer| {
        writer.next().write_sequence(|writer| {
            writer.next().write_oid(&ObjectIdentifier::from_slice(OID_OCSP_NONCE));
            writer.next().write_bytes(value);
        });
    });
}

/// The signature `AlgorithmIdentifier` (OID, whether parameters are NULL) for the CA key.
fn signature_algorithm(algorithm: &SignatureAlgorithm) -> Option<(&'static [u64], bool)> {
    if algorithm == &rcgen::PKCS_ECDSA_P256_SHA256 {
        Some((OID_ECDSA_SHA256, false))
    } else if algorithm == &rcgen::PKCS_ECDSA_P384_SHA384 {
        Some((OID_ECDSA_SHA384, false))
    } else if algorithm == &rcgen::PKCS_RSA_SHA256 {
        Some((OID_RSA_SHA256, true))
    } else {
        None
    }
}

fn write_algorithm_identifier(writer: DERWriter<'_>, (oid, null_parameters): (&[u64], bool)) {
    writer.write_sequence(|writer| {
        writer.next().write_oid(&ObjectIdentifier::from_slice(oid));
        if null_parameters {
            writer.next().write_null();
        }
    });
}

/// A GeneralizedTime in whole UTC seconds, if the year can be encoded.
fn generalized_time(value: OffsetDateTime) -> Option<GeneralizedTime> {
    profile::certificate_time(value).ok().map(GeneralizedTime::from_datetime)
}

#[cfg(test)]
mod tests {
    use rcgen::KeyPair;

    use super::*;

    #[test]
    fn serial_hex_drops_only_the_sign_octet() {
        assert_eq!(serial_hex(&[0x00, 0x80, 0x01]), "8001");
        assert_eq!(serial_hex(&[0x7f, 0x00]), "7F00");
        assert_eq!(serial_hex(&[0x00]), "00");
    }

    #[test]
    fn garbage_and_empty_requests_are_malformed() {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let issuer = IssuerIdentity { name_der: vec![0x30, 0x00], key_bits: vec![1, 2, 3] };
        let malformed = response(ResponseStatus::MalformedRequest, None);
        assert_eq!(malformed, vec![0x30, 0x03, 0x0a, 0x01, 0x01]);
        let mut lookup = |_: &str| -> OcspStatus { panic!("no lookup expected") };
        // OCSPRequest { TBSRequest { requestList {} } }
        let empty = [0x30, 0x04, 0x30, 0x02, 0x30, 0x00];
        for request in [&b""[..], b"garbage", &[0x30, 0x80], &empty] {
            assert_eq!(respond(&issuer, &key, request, OffsetDateTime::now_utc(), &mut lookup), malformed);
        }
    }

    #[test]
    fn unencodable_times_give_no_basic_response() {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let issuer = IssuerIdentity { name_der: vec![0x30, 0x00], key_bits: vec![1, 2, 3] };
        let answer = |status| [SingleResponse { cert_id: vec![0x30, 0x00], status }];
        let now = OffsetDateTime::now_utc();
        assert!(basic_response(&issuer, &key, &answer(OcspStatus::Good), None, now).is_some());
        // nextUpdate would fall after year 9999.
        let late = time::macros::datetime!(9999-12-31 12:00 UTC);
        assert!(basic_response(&issuer, &key, &answer(OcspStatus::Good), None, late).is_none());
        let revoked = OcspStatus::Revoked {
            at: time::macros::datetime!(-0001-06-01 0:00 UTC),
            reason: RevocationReason::Superseded,
        };
        assert!(basic_response(&issuer, &key, &answer(revoked), None, now).is_none());
        assert_eq!(response(ResponseStatus::InternalError, None), vec![0x30, 0x03, 0x0a, 0x01, 0x02]);
    }
}
