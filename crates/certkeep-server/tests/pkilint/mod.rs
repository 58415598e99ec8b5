//! pkilint (DigiCert's linter, from PyPI) over what certkeep issues. `.ci/run` installs it; a
//! machine without it skips these checks, saying so, except under `CI=true`, where that fails.

use std::io::Write as _;
use std::process::Command;

/// Findings let stand, as (document, or `*` for any; code; why). The README's lint section lists
/// them too.
pub const ACCEPTED: &[(&str, &str, &str)] = &[
    (
        "*",
        "cabf.serverauth.dv.common_name_attribute_present",
        "BR 7.1.4.3: the CN is NOT RECOMMENDED, not forbidden; DigiCert still writes it and CertCentral's API is built on common_name",
    ),
    ("*", "cabf.serverauth.ov.common_name_attribute_present", "as for DV"),
    ("*", "cabf.ev_guidelines.common_name_attribute_present", "as for DV (EV Guidelines 7.1.4.2.2: MAY)"),
    (
        "private_ssl_wildcard",
        "pkix.invalid_domain_name_syntax",
        "RFC 5280 knows no wildcards: the PKIX linter reads *. as bad syntax (RFC 6125 defines them)",
    ),
];

/// What pkilint says of one document: `(severity, code)` at WARNING and above; `None` when
/// pkilint is not installed (outside CI).
pub fn lint(what: &str, tool: &str, args: &[&str], der: &[u8]) -> Option<Vec<(String, String)>> {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(der).unwrap();
    let path = file.path().to_str().unwrap().to_owned();
    let mut all = vec!["lint"];
    all.extend_from_slice(args);
    all.extend(["-s", "WARNING", "--document-format", "DER", &path]);
    let out = match Command::new(tool).args(&all).output() {
        Ok(out) => out,
        Err(e) => {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "{tool} is missing in CI: {e}");
            eprintln!("skipped: {tool} is not installed (pip install pkilint)");
            return None;
        }
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() || !text.is_empty(), "{tool}: {}", String::from_utf8_lossy(&out.stderr));
    let findings = text
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let (code, rest) = line.split_once(" (")?;
            let severity = rest.split(')').next()?;
            matches!(severity, "FATAL" | "ERROR" | "WARNING").then(|| (severity.to_owned(), code.to_owned()))
        })
        .filter(|(_, code)| {
            !ACCEPTED.iter().any(|(doc, accepted, _)| (*doc == "*" || *doc == what) && accepted == code)
        })
        .collect();
    Some(findings)
}

/// Lints each `(what, tool, args, der)` and fails with every finding of every document at once.
pub fn assert_clean(documents: &[(String, &str, Vec<&str>, Vec<u8>)]) {
    let mut failures = Vec::new();
    for (what, tool, args, der) in documents {
        let Some(findings) = lint(what, tool, args, der) else { return };
        for (severity, code) in findings {
            failures.push(format!("{what}: {code} ({severity})"));
        }
    }
    assert!(failures.is_empty(), "pkilint findings:\n{}", failures.join("\n"));
}
