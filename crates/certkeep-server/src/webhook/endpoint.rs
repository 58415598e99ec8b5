//! Where webhooks may post: `https://` URLs whose every address is public, unless the operator
//! allows loopback or private networks. Checked at registration and again at every delivery,
//! by the resolver the delivery client connects through (so a name that re-resolves to an
//! inner address between the two is still refused).

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use reqwest::{
    Url,
    dns::{Addrs, Name, Resolve, Resolving},
};

/// What an address reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// The internet.
    Public,
    /// This host (127.0.0.0/8, ::1).
    Loopback,
    /// A private, shared, link-local or unique-local network (10/8, 172.16/12, 192.168/16,
    /// 100.64/10, 169.254/16, fc00::/7, fe80::/10).
    Private,
    /// Nothing one can post to (unspecified, broadcast, multicast, documentation, reserved).
    Unusable,
}

/// The class of `ip` (an IPv4-mapped IPv6 address is classed as its IPv4 address).
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            if v4.is_loopback() {
                AddressClass::Loopback
            } else if v4.is_private() || v4.is_link_local() || (a == 100 && (64..128).contains(&b)) {
                AddressClass::Private
            } else if v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || a >= 240
            {
                AddressClass::Unusable
            } else {
                AddressClass::Public
            }
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                classify(IpAddr::V4(v4))
            } else if v6.is_loopback() {
                AddressClass::Loopback
            } else if v6.is_unique_local() || v6.is_unicast_link_local() {
                AddressClass::Private
            } else if v6.is_unspecified() || v6.is_multicast() {
                AddressClass::Unusable
            } else {
                AddressClass::Public
            }
        }
    }
}

/// Which addresses besides public ones a webhook may reach.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EndpointPolicy {
    /// This host (`serve --demo`, CI stand-ins).
    pub allow_loopback: bool,
    /// Private, shared and link-local networks (and loopback).
    pub allow_private: bool,
}

impl EndpointPolicy {
    /// Whether a webhook may post to `ip`.
    pub fn allows(self, ip: IpAddr) -> bool {
        match classify(ip) {
            AddressClass::Public => true,
            AddressClass::Loopback => self.allow_loopback || self.allow_private,
            AddressClass::Private => self.allow_private,
            AddressClass::Unusable => false,
        }
    }
}

/// Why an endpoint is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

/// Checks an endpoint's form: an absolute `https://` URL with a host and no credentials.
pub fn parse(endpoint: &str) -> Result<Url, Refused> {
    let url = Url::parse(endpoint.trim()).map_err(|e| Refused(format!("the endpoint is not a URL: {e}")))?;
    if url.scheme() != "https" {
        return Err(Refused("the endpoint must be an https:// URL".into()));
    }
    if url.host().is_none() || !url.username().is_empty() || url.password().is_some() {
        return Err(Refused("the endpoint must name a host, without credentials".into()));
    }
    Ok(url)
}

/// Resolves `url`'s host and checks every address against `policy`.
pub async fn check(url: &Url, policy: EndpointPolicy) -> Result<(), Refused> {
    let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| Refused(format!("the endpoint's host {host} does not resolve: {e}")))?
        .collect();
    allowed(host, addrs, policy).map(drop)
}

fn allowed(host: &str, addrs: Vec<SocketAddr>, policy: EndpointPolicy) -> Result<Vec<SocketAddr>, Refused> {
    if addrs.is_empty() {
        return Err(Refused(format!("the endpoint's host {host} has no address")));
    }
    match addrs.iter().find(|a| !policy.allows(a.ip())) {
        Some(a) => Err(Refused(format!(
            "the endpoint's host {host} resolves to {}, a {} address webhooks may not reach",
            a.ip(),
            match classify(a.ip()) {
                AddressClass::Loopback => "loopback",
                AddressClass::Private => "private or link-local",
                _ => "reserved",
            }
        ))),
        None => Ok(addrs),
    }
}

/// The delivery client's resolver: the system's, refusing names with any address `policy`
/// does not allow.
pub struct PolicyResolver(pub EndpointPolicy);

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let addrs = allowed(&host, addrs, policy).map_err(|Refused(m)| m)?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The resolver as the client builder takes it.
pub fn resolver(policy: EndpointPolicy) -> Arc<PolicyResolver> {
    Arc::new(PolicyResolver(policy))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(ip: &str) -> AddressClass {
        classify(ip.parse().unwrap())
    }

    #[test]
    fn addresses_are_classed_by_what_they_reach() {
        for ip in ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"] {
            assert_eq!(class(ip), AddressClass::Loopback, "{ip}");
        }
        for ip in [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "169.254.169.254",
            "fd00::1",
            "fc12::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert_eq!(class(ip), AddressClass::Private, "{ip}");
        }
        for ip in ["0.0.0.0", "255.255.255.255", "224.0.0.1", "192.0.2.1", "240.0.0.1", "::", "ff02::1"] {
            assert_eq!(class(ip), AddressClass::Unusable, "{ip}");
        }
        for ip in ["8.8.8.8", "172.32.0.1", "100.128.0.1", "216.168.240.1", "2001:4860:4860::8888"] {
            assert_eq!(class(ip), AddressClass::Public, "{ip}");
        }
    }

    #[test]
    fn the_policy_opens_loopback_and_private_networks_only_when_asked() {
        let (lo, private, public) =
            ("127.0.0.1".parse().unwrap(), "10.0.0.1".parse().unwrap(), "8.8.8.8".parse().unwrap());
        let closed = EndpointPolicy::default();
        assert!(!closed.allows(lo) && !closed.allows(private) && closed.allows(public));
        let demo = EndpointPolicy { allow_loopback: true, allow_private: false };
        assert!(demo.allows(lo) && !demo.allows(private));
        let open = EndpointPolicy { allow_loopback: false, allow_private: true };
        assert!(open.allows(lo) && open.allows(private));
        assert!(!open.allows("0.0.0.0".parse().unwrap()), "never the unspecified address");
    }

    #[test]
    fn endpoints_must_be_https_urls_with_a_host_and_no_credentials() {
        assert!(parse("https://hooks.example.com/certkeep").is_ok());
        for bad in [
            "http://hooks.example.com/",
            "hooks.example.com",
            "https://user:pw@hooks.example.com/",
            "ftp://x/",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_name_is_refused_when_any_of_its_addresses_is() {
        let addrs = |ips: &[&str]| ips.iter().map(|ip| SocketAddr::new(ip.parse().unwrap(), 443)).collect();
        let policy = EndpointPolicy::default();
        assert!(allowed("a", addrs(&["8.8.8.8"]), policy).is_ok());
        let mixed = allowed("a", addrs(&["8.8.8.8", "10.0.0.1"]), policy).unwrap_err();
        assert!(mixed.0.contains("10.0.0.1, a private"), "{mixed:?}");
        assert!(allowed("a", vec![], policy).is_err());
    }
}
