//! tls-alpn-01 (RFC 8737): a TLS handshake with the name on port 443 (configurable), offering
//! only the ALPN protocol `acme-tls/1` with the name as SNI. The server must answer with a
//! self-signed certificate whose only subjectAltName is that dNSName and which carries the
//! critical id-pe-acmeIdentifier extension holding SHA-256 of the key authorization. The
//! handshake signature proves the server holds that certificate's key; no chain is checked.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use rustls::{
    DigitallySignedStruct, SignatureScheme,
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    crypto::{CryptoProvider, WebPkiSupportedAlgorithms, aws_lc_rs::default_provider},
    pki_types::{CertificateDer, ServerName, UnixTime},
};
use tokio::net::TcpStream;
use x509_parser::{extensions::GeneralName, prelude::*};

use super::problem::Problem;

/// The ALPN protocol of tls-alpn-01.
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// id-pe-acmeIdentifier (RFC 8737 §6.1).
const ACME_IDENTIFIER: &str = "1.3.6.1.5.5.7.1.31";

/// How long one connection attempt (connect and handshake) may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Validates `name` against the addresses it resolves to (the first that completes a handshake
/// decides).
pub async fn check(addrs: &[SocketAddr], name: &str, key_authorization: &str) -> Result<(), Problem> {
    let expected = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key_authorization.as_bytes());
    let mut last = None;
    for addr in addrs {
        match handshake(*addr, name).await {
            Ok(cert) => return check_certificate(&cert, name, expected.as_ref()),
            Err(p) => last = Some(p),
        }
    }
    Err(last.unwrap_or_else(|| Problem::validation("dns", format!("{name} has no address."))))
}

/// Connects with SNI `name` and ALPN `acme-tls/1`; returns the certificate the server
/// presented once the handshake (with its signature over the certificate's key) completed.
async fn handshake(addr: SocketAddr, name: &str) -> Result<CertificateDer<'static>, Problem> {
    let connection =
        |e: String| Problem::validation("connection", format!("tls-alpn-01 to {name} at {addr}: {e}"));
    let server_name = ServerName::try_from(name.to_owned()).map_err(|e| connection(e.to_string()))?;
    let verifier = Arc::new(Capture::new());
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| Problem::internal(format!("TLS configuration: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    config.alpn_protocols = vec![ACME_TLS_ALPN.to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let attempt = async {
        let tcp = TcpStream::connect(addr).await.map_err(|e| connection(e.to_string()))?;
        connector.connect(server_name, tcp).await.map_err(|e| connection(e.to_string()))
    };
    let tls = tokio::time::timeout(TIMEOUT, attempt).await.map_err(|_| connection("timed out".into()))??;
    if tls.get_ref().1.alpn_protocol() != Some(ACME_TLS_ALPN) {
        return Err(Problem::validation(
            "unauthorized",
            format!("{name} at {addr} did not negotiate the ALPN protocol acme-tls/1."),
        ));
    }
    verifier.certificate().ok_or_else(|| connection("no certificate was presented".into()))
}

/// Checks the presented certificate: exactly the dNSName `name`, and a critical
/// acmeIdentifier extension whose value is the DER OCTET STRING of `digest`.
fn check_certificate(der: &[u8], name: &str, digest: &[u8]) -> Result<(), Problem> {
    let bad =
        |detail: String| Problem::validation("unauthorized", format!("tls-alpn-01 for {name}: {detail}"));
    let (_, cert) =
        X509Certificate::from_der(der).map_err(|e| bad(format!("the certificate does not parse: {e}")))?;
    let sans: Vec<String> = match cert.subject_alternative_name() {
        Ok(Some(ext)) => ext
            .value
            .general_names
            .iter()
            .map(|n| match n {
                GeneralName::DNSName(d) => d.to_ascii_lowercase(),
                other => other.to_string(),
            })
            .collect(),
        Ok(None) => vec![],
        Err(e) => return Err(bad(format!("the subjectAltName does not parse: {e}"))),
    };
    if sans != [name.to_ascii_lowercase()] {
        return Err(bad(format!("the certificate names {sans:?}, not exactly [{name:?}].")));
    }
    let ext = cert
        .extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == ACME_IDENTIFIER)
        .ok_or_else(|| bad("the certificate has no acmeIdentifier extension.".into()))?;
    if !ext.critical {
        return Err(bad("the acmeIdentifier extension is not critical.".into()));
    }
    let mut expected = vec![0x04, digest.len() as u8];
    expected.extend_from_slice(digest);
    if ext.value != expected.as_slice() {
        return Err(Problem::validation(
            "incorrectResponse",
            format!("tls-alpn-01 for {name}: the acmeIdentifier is not SHA-256 of the key authorization."),
        ));
    }
    Ok(())
}

/// Accepts any certificate but keeps it for [`check_certificate`]; handshake signatures are
/// still verified against the certificate's key.
#[derive(Debug)]
struct Capture {
    certificate: Mutex<Option<CertificateDer<'static>>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl Capture {
    fn new() -> Self {
        let provider: CryptoProvider = default_provider();
        Self { certificate: Mutex::new(None), algorithms: provider.signature_verification_algorithms }
    }

    fn certificate(&self) -> Option<CertificateDer<'static>> {
        self.certificate.lock().ok()?.clone()
    }

    /// Verifies a handshake signature with the certificate's public key. rustls' own helpers
    /// parse the certificate with webpki, which refuses the critical acmeIdentifier extension.
    fn verify(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let bad = || rustls::Error::InvalidCertificate(rustls::CertificateError::BadSignature);
        let (_, parsed) = X509Certificate::from_der(cert).map_err(|_| bad())?;
        let key = &parsed.public_key().subject_public_key.data;
        let (_, candidates) =
            self.algorithms.mapping.iter().find(|(scheme, _)| *scheme == dss.scheme).ok_or_else(bad)?;
        candidates
            .iter()
            .find(|alg| alg.verify_signature(key, message, dss.signature()).is_ok())
            .map(|_| HandshakeSignatureValid::assertion())
            .ok_or_else(bad)
    }
}

impl ServerCertVerifier for Capture {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut slot = self.certificate.lock().map_err(|_| rustls::Error::General("poisoned".into()))?;
        *slot = Some(end_entity.clone().into_owned());
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verify(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verify(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use rcgen::{CertificateParams, CustomExtension, KeyPair};
    use rustls::{
        pki_types::PrivateKeyDer,
        server::{ClientHello, ResolvesServerCert},
        sign::CertifiedKey,
    };
    use tokio::io::AsyncReadExt;

    use super::*;

    const NAME: &str = "alpn.test";
    const KEY_AUTHORIZATION: &str = "token.thumbprint";

    fn digest(text: &str) -> Vec<u8> {
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes()).as_ref().to_vec()
    }

    /// A self-signed certificate for `sans` with `extension`.
    fn certificate(sans: &[&str], extension: Option<CustomExtension>) -> (CertificateDer<'static>, KeyPair) {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        params.custom_extensions.extend(extension);
        (params.self_signed(&key).unwrap().der().clone(), key)
    }

    /// A TLS server presenting `cert` (ALPN acme-tls/1 when `alpn`) to every connection.
    async fn serve(cert: CertificateDer<'static>, key: KeyPair, alpn: bool) -> SocketAddr {
        let provider = default_provider();
        let key = PrivateKeyDer::try_from(key.serialize_der()).unwrap();
        let signing_key = provider.key_provider.load_private_key(key).unwrap();
        // A resolver, not `with_single_cert`, which rejects the unknown critical extension.
        let resolver = Presents(Arc::new(CertifiedKey::new(vec![cert], signing_key)));
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(resolver));
        if alpn {
            config.alpn_protocols = vec![ACME_TLS_ALPN.to_vec()];
        }
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(mut tls) = acceptor.accept(tcp).await {
                        let _ = tls.read(&mut [0u8; 1]).await;
                    }
                });
            }
        });
        addr
    }

    #[derive(Debug)]
    struct Presents(Arc<CertifiedKey>);

    impl ResolvesServerCert for Presents {
        fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
            Some(self.0.clone())
        }
    }

    async fn validate(sans: &[&str], extension: Option<CustomExtension>, alpn: bool) -> Result<(), Problem> {
        let (cert, key) = certificate(sans, extension);
        let addr = serve(cert, key, alpn).await;
        check(&[addr], NAME, KEY_AUTHORIZATION).await
    }

    fn good() -> Option<CustomExtension> {
        Some(CustomExtension::new_acme_identifier(&digest(KEY_AUTHORIZATION)))
    }

    #[tokio::test]
    async fn accepts_the_right_certificate() {
        validate(&[NAME], good(), true).await.unwrap();
    }

    #[tokio::test]
    async fn rejects_a_wrong_digest() {
        let wrong = Some(CustomExtension::new_acme_identifier(&digest("other.thumbprint")));
        let p = validate(&[NAME], wrong, true).await.unwrap_err();
        assert!(p.to_json()["type"].as_str().unwrap().ends_with(":incorrectResponse"), "{}", p.detail);
        assert!(p.detail.contains("not SHA-256 of the key authorization"), "{}", p.detail);
    }

    #[tokio::test]
    async fn rejects_a_missing_extension() {
        let p = validate(&[NAME], None, true).await.unwrap_err();
        assert!(p.detail.contains("no acmeIdentifier extension"), "{}", p.detail);
    }

    #[tokio::test]
    async fn rejects_a_non_critical_extension() {
        let mut ext = good().unwrap();
        ext.set_criticality(false);
        let p = validate(&[NAME], Some(ext), true).await.unwrap_err();
        assert!(p.detail.contains("not critical"), "{}", p.detail);
    }

    #[tokio::test]
    async fn rejects_a_wrong_or_extra_san() {
        let p = validate(&["other.test"], good(), true).await.unwrap_err();
        assert!(p.detail.contains("not exactly"), "{}", p.detail);
        let p = validate(&[NAME, "www.alpn.test"], good(), true).await.unwrap_err();
        assert!(p.detail.contains("not exactly"), "{}", p.detail);
    }

    #[tokio::test]
    async fn rejects_a_server_without_the_alpn_protocol() {
        let p = validate(&[NAME], good(), false).await.unwrap_err();
        assert!(p.detail.contains("did not negotiate"), "{}", p.detail);
    }

    #[tokio::test]
    async fn reports_a_closed_port() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let p =
            check(&[SocketAddr::from(([127, 0, 0, 1], port))], NAME, KEY_AUTHORIZATION).await.unwrap_err();
        assert!(p.to_json()["type"].as_str().unwrap().ends_with(":connection"), "{}", p.detail);
    }
}
