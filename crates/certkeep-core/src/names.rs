//! DNS names as orders carry them: lower case, syntax-checked, wildcards only leftmost.

/// Why a name is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidName(pub String);

/// Normalises a DNS name (trimmed, lower case, no trailing dot, U-labels as A-labels) and
/// checks its syntax: labels of 1-63 letters, digits and hyphens (not at either end), at
/// least two labels, at most 253 characters, `*` only as the whole leftmost label, and every
/// `xn--` label a valid IDNA2008 A-label (UTS 46 processing; `xn--zz` is not).
pub fn normalize(name: &str) -> Result<String, InvalidName> {
    let bad = || InvalidName(name.to_owned());
    let n = name.trim().trim_end_matches('.').to_ascii_lowercase();
    let n = if n.is_ascii() && !n.contains("xn--") { n } else { to_a_labels(&n).ok_or_else(bad)? };
    if n.is_empty() || n.len() > 253 || !n.is_ascii() {
        return Err(bad());
    }
    let labels: Vec<&str> = n.split('.').collect();
    if labels.len() < 2 {
        return Err(bad());
    }
    for (i, label) in labels.iter().enumerate() {
        if i == 0 && *label == "*" {
            continue;
        }
        let ok = !label.is_empty()
            && label.len() <= 63
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(bad());
        }
    }
    if labels.len() == 2 && labels[0] == "*" {
        return Err(bad());
    }
    Ok(n)
}

/// The name with its U-labels converted and its A-labels checked, keeping a leading `*.`.
fn to_a_labels(name: &str) -> Option<String> {
    let (wildcard, rest) = match name.strip_prefix("*.") {
        Some(rest) => ("*.", rest),
        None => ("", name),
    };
    let ascii = idna::domain_to_ascii_strict(rest).ok()?;
    // UTS 46 maps some code points; an A-label must come back exactly as it was written.
    if rest.split('.').zip(ascii.split('.')).any(|(given, ours)| given.starts_with("xn--") && given != ours) {
        return None;
    }
    Some(format!("{wildcard}{ascii}"))
}

/// Whether `name` is a wildcard (`*.example.com`).
pub fn is_wildcard(name: &str) -> bool {
    name.starts_with("*.")
}

/// The name and its parent domains, most specific first, without the wildcard label:
/// `*.a.example.com` gives `a.example.com`, `example.com`, `com`.
pub fn with_parents(name: &str) -> impl Iterator<Item = &str> {
    let base = name.strip_prefix("*.").unwrap_or(name);
    std::iter::successors(Some(base), |n| n.split_once('.').map(|(_, rest)| rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_and_checks() {
        assert_eq!(normalize(" WWW.Example.COM. ").unwrap(), "www.example.com");
        assert_eq!(normalize("*.example.com").unwrap(), "*.example.com");
        for bad in ["", "com", "*.com", "a..b", "-a.com", "a-.com", "a.*.com", "a b.com", "a_b.com"] {
            assert!(normalize(bad).is_err(), "{bad}");
        }
        assert!(normalize(&format!("{}.com", "a".repeat(64))).is_err());
        assert!(normalize(&format!("{}.com", "a".repeat(63))).is_ok());
        assert_eq!(normalize("Bücher.example").unwrap(), "xn--bcher-kva.example");
        assert_eq!(normalize("*.xn--bcher-kva.example").unwrap(), "*.xn--bcher-kva.example");
        for bad in ["xn--zz.com", "xn--.com"] {
            assert!(normalize(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parents() {
        let p: Vec<&str> = with_parents("*.a.example.com").collect();
        assert_eq!(p, ["a.example.com", "example.com", "com"]);
    }
}
