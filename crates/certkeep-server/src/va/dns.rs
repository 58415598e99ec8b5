//! A minimal DNS client (RFC 1035) over UDP for validation: TXT records for dns-01 and
//! dns-txt-token, CNAME records for dns-cname-token, A and AAAA records for the addresses
//! http-01 and http-token connect to when a resolver is configured.
//!
//! Why not hickory-resolver: validation needs two record types from one known server, and
//! hickory brings a large dependency tree (its own protocol stack, caches, DNSSEC) into every
//! build. A query is a 30-line packet and an answer a short parse; truncated answers (TC) are
//! reported as errors instead of retried over TCP.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    time::Duration,
};

use tokio::{net::UdpSocket, time::timeout};

/// Record type A.
pub const A: u16 = 1;
/// Record type CNAME.
pub const CNAME: u16 = 5;
/// Record type TXT.
pub const TXT: u16 = 16;
/// Record type AAAA.
pub const AAAA: u16 = 28;

/// Encodes a query for `name` and `qtype` with id `id` (recursion desired).
fn query_packet(id: u16, name: &str, qtype: u16) -> Result<Vec<u8>, String> {
    let mut p = Vec::with_capacity(64);
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.trim_end_matches('.').split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(format!("{name:?} is not a DNS name"));
        }
        p.push(label.len() as u8);
        p.extend_from_slice(label.as_bytes());
    }
    p.push(0);
    p.extend_from_slice(&qtype.to_be_bytes());
    p.extend_from_slice(&1u16.to_be_bytes());
    Ok(p)
}

/// Skips a (possibly compressed) name starting at `at`; returns the offset after it.
fn skip_name(msg: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *msg.get(at)? as usize;
        match len {
            0 => return Some(at + 1),
            l if l & 0xC0 == 0xC0 => return Some(at + 2),
            l => at += 1 + l,
        }
    }
}

/// Reads a (possibly compressed) name at `at` as dotted lower-case text; at most 16 pointers
/// are followed, so a looping message ends.
fn read_name(msg: &[u8], mut at: usize) -> Option<String> {
    let mut labels = Vec::new();
    for _ in 0..16 {
        loop {
            let len = *msg.get(at)? as usize;
            match len {
                0 => return Some(labels.join(".").to_ascii_lowercase()),
                l if l & 0xC0 == 0xC0 => {
                    at = ((l & 0x3F) << 8) | *msg.get(at + 1)? as usize;
                    break;
                }
                l => {
                    labels.push(String::from_utf8_lossy(msg.get(at + 1..at + 1 + l)?).into_owned());
                    at += 1 + l;
                }
            }
        }
    }
    None
}

fn u16_at(msg: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*msg.get(at)?, *msg.get(at + 1)?]))
}

/// The RDATA of every answer of type `qtype` in a response to query `id` (for CNAME: the
/// target name, decompressed, as text).
fn parse_answers(msg: &[u8], id: u16, qtype: u16) -> Result<Vec<Vec<u8>>, String> {
    let bad = || "malformed DNS response".to_owned();
    if u16_at(msg, 0) != Some(id) {
        return Err("DNS response id mismatch".into());
    }
    let flags = u16_at(msg, 2).ok_or_else(bad)?;
    if flags & 0x8000 == 0 {
        return Err(bad());
    }
    if flags & 0x0200 != 0 {
        return Err("DNS response truncated (TCP is not supported)".into());
    }
    match flags & 0x000F {
        0 => {}
        3 => return Ok(Vec::new()),
        rcode => return Err(format!("DNS server answered rcode {rcode}")),
    }
    let (questions, answers) = (u16_at(msg, 4).ok_or_else(bad)?, u16_at(msg, 6).ok_or_else(bad)?);
    let mut at = 12;
    for _ in 0..questions {
        at = skip_name(msg, at).ok_or_else(bad)? + 4;
    }
    let mut out = Vec::new();
    for _ in 0..answers {
        at = skip_name(msg, at).ok_or_else(bad)?;
        let rtype = u16_at(msg, at).ok_or_else(bad)?;
        let len = u16_at(msg, at + 8).ok_or_else(bad)? as usize;
        let data = msg.get(at + 10..at + 10 + len).ok_or_else(bad)?;
        if rtype == qtype && qtype == CNAME {
            out.push(read_name(msg, at + 10).ok_or_else(bad)?.into_bytes());
        } else if rtype == qtype {
            out.push(data.to_vec());
        }
        at += 10 + len;
    }
    Ok(out)
}

/// Sends one query to `server` (two tries, 5 s each) and returns the matching answers' RDATA.
pub async fn query(server: SocketAddr, name: &str, qtype: u16) -> Result<Vec<Vec<u8>>, String> {
    let mut raw = [0u8; 2];
    aws_lc_rs::rand::fill(&mut raw).map_err(|_| "random generator failed".to_owned())?;
    let id = u16::from_be_bytes(raw);
    let packet = query_packet(id, name, qtype)?;
    let local: SocketAddr =
        if server.is_ipv4() { (Ipv4Addr::UNSPECIFIED, 0).into() } else { (Ipv6Addr::UNSPECIFIED, 0).into() };
    let socket = UdpSocket::bind(local).await.map_err(|e| e.to_string())?;
    socket.connect(server).await.map_err(|e| format!("DNS server {server}: {e}"))?;
    let mut buf = vec![0u8; 4096];
    for _ in 0..2 {
        socket.send(&packet).await.map_err(|e| format!("DNS server {server}: {e}"))?;
        match timeout(Duration::from_secs(5), socket.recv(&mut buf)).await {
            Ok(Ok(n)) => return parse_answers(&buf[..n], id, qtype),
            Ok(Err(e)) => return Err(format!("DNS server {server}: {e}")),
            Err(_) => continue,
        }
    }
    Err(format!("DNS server {server} did not answer"))
}

/// The strings of TXT records (each record's character-strings concatenated).
pub fn txt_strings(records: &[Vec<u8>]) -> Vec<String> {
    records
        .iter()
        .map(|rdata| {
            let mut s = Vec::new();
            let mut at = 0;
            while let Some(&len) = rdata.get(at) {
                s.extend_from_slice(rdata.get(at + 1..at + 1 + len as usize).unwrap_or_default());
                at += 1 + len as usize;
            }
            String::from_utf8_lossy(&s).into_owned()
        })
        .collect()
}

/// The addresses of A and AAAA records.
pub fn addresses(a: &[Vec<u8>], aaaa: &[Vec<u8>]) -> Vec<IpAddr> {
    let v4 = a.iter().filter_map(|r| <[u8; 4]>::try_from(r.as_slice()).ok()).map(IpAddr::from);
    let v6 = aaaa.iter().filter_map(|r| <[u8; 16]>::try_from(r.as_slice()).ok()).map(IpAddr::from);
    v4.chain(v6).collect()
}

/// The first `nameserver` of `/etc/resolv.conf`, port 53.
pub fn system_server() -> Option<SocketAddr> {
    let conf = std::fs::read_to_string("/etc/resolv.conf").ok()?;
    conf.lines().find_map(|l| {
        let ip: IpAddr = l.trim().strip_prefix("nameserver")?.trim().parse().ok()?;
        Some(SocketAddr::new(ip, 53))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_txt_answer_with_compression() {
        let q = query_packet(0x1234, "_acme-challenge.example.com", TXT).unwrap();
        let mut r = q.clone();
        r[2] = 0x81;
        r[3] = 0x80;
        r[7] = 1;
        r.extend_from_slice(&[0xC0, 12, 0, 16, 0, 1, 0, 0, 0, 60, 0, 6, 2, b'h', b'i', 2, b'y', b'o']);
        let answers = parse_answers(&r, 0x1234, TXT).unwrap();
        assert_eq!(txt_strings(&answers), ["hiyo"]);
        assert!(parse_answers(&r, 0x9999, TXT).is_err());
        r[3] = 0x83;
        assert!(parse_answers(&r, 0x1234, TXT).unwrap().is_empty());
        r[3] = 0x80;
        assert!(parse_answers(&r[..r.len() - 3], 0x1234, TXT).is_err(), "cut answer");
        assert!(parse_answers(&r[..5], 0x1234, TXT).is_err(), "cut header");
    }

    #[test]
    fn parses_a_cname_answer_whose_target_points_into_the_question() {
        let q = query_packet(7, "_dnsauth.example.com", CNAME).unwrap();
        let mut r = q.clone();
        r[2] = 0x81;
        r[3] = 0x80;
        r[7] = 1;
        // Target "abc.dcv." followed by a pointer to "example.com" in the question (offset 21).
        r.extend_from_slice(&[
            0xC0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 10, 3, b'a', b'b', b'c', 3, b'D', b'c', b'v',
        ]);
        r.extend_from_slice(&[0xC0, 21]);
        assert_eq!(parse_answers(&r, 7, CNAME).unwrap(), [b"abc.dcv.example.com".to_vec()]);
        let mut looping = r.clone();
        let end = looping.len();
        looping[end - 1] = (end - 2) as u8;
        assert!(parse_answers(&looping, 7, CNAME).is_err(), "a pointer loop ends");
    }
}
