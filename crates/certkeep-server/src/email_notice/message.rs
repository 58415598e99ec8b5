//! The message of one expiry notice: who it is from and to, a subject naming the certificate
//! and its days to expiry, and a plain-text body saying what expires when and how to renew it.

use certkeep_core::{notice::days_to_expiry, store::EmailNotice};
use lettre::{
    Message,
    message::{Mailbox, header::ContentType},
};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

/// The notice `n` from `from` as of `now`; renewals are placed at `public_url`. `Err` says why
/// it cannot be written (a recipient that is not an address).
pub fn build(
    n: &EmailNotice,
    from: &Mailbox,
    public_url: &str,
    now: OffsetDateTime,
) -> Result<Message, String> {
    let to: Mailbox = n
        .recipient
        .parse()
        .map_err(|e| format!("the recipient {:?} is not an e-mail address: {e}", n.recipient))?;
    let when = expiry(days_to_expiry(n.valid_till, now));
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(format!("Certificate {} {when}", n.common_name))
        .header(ContentType::TEXT_PLAIN)
        .body(body(n, &when, public_url))
        .map_err(|e| format!("the notice of certificate {}: {e}", n.certificate_id))
}

/// "expires in 30 days", "expired 7 days ago", for whole `days` to expiry.
fn expiry(days: i64) -> String {
    match days {
        1 => "expires in 1 day".into(),
        d if d > 1 => format!("expires in {d} days"),
        0 => "expires within a day".into(),
        -1 => "expired 1 day ago".into(),
        d => format!("expired {} days ago", -d),
    }
}

/// The body, in short ASCII lines (so that it travels as 7-bit text): names, order, expiry and
/// the renewal request.
fn body(n: &EmailNotice, when: &str, public_url: &str) -> String {
    let expires = n.valid_till.format(&Rfc3339).unwrap_or_else(|_| n.valid_till.to_string());
    let mut names: Vec<&str> = n.dns_names.iter().map(String::as_str).collect();
    if names.is_empty() {
        names.push(&n.common_name);
    }
    let names: String = names.iter().map(|name| format!("  {name}\n")).collect();
    let base = public_url.trim_end_matches('/');
    format!(
        "The certificate for {cn} {when}.\n\
         \n\
         Common name: {cn}\n\
         Subject alternative names:\n{names}\
         Order: {order}\n\
         Certificate: {certificate}\n\
         Expires: {expires}\n\
         \n\
         To renew it, order it again as a renewal with a new CSR:\n\
         \x20 POST {base}/services/v2/order/certificate/{product}\n\
         \x20 with \"renewal_of_order_id\": {order}\n\
         or let the ACME client that ordered it renew it.\n\
         \n\
         certkeep sends this notice once for each notice window\n\
         (days before expiry) the certificate reaches.\n",
        cn = n.common_name,
        order = n.order_id,
        certificate = n.certificate_id,
        product = n.product_name_id,
    )
}

#[cfg(test)]
mod tests {
    use time::{Duration, macros::datetime};

    use super::*;

    fn notice(recipient: &str, dns_names: &[&str]) -> EmailNotice {
        EmailNotice {
            certificate_id: 41,
            window_days: 30,
            recipient: recipient.into(),
            order_id: 7,
            product_name_id: "ssl_plus".into(),
            common_name: "www.alpha.test".into(),
            dns_names: dns_names.iter().map(|s| s.to_string()).collect(),
            valid_till: datetime!(2027-01-06 12:00 UTC),
            attempts: 1,
        }
    }

    fn text(m: &Message) -> String {
        String::from_utf8(m.formatted()).unwrap()
    }

    #[test]
    fn a_notice_names_the_certificate_its_expiry_and_how_to_renew() {
        let from: Mailbox = "certkeep <notices@certkeep.test>".parse().unwrap();
        let n = notice("alice@alpha.test", &["www.alpha.test", "alpha.test"]);
        let now = n.valid_till - Duration::hours(30 * 24 + 5);
        let m = build(&n, &from, "https://ca.test:8443/", now).unwrap();
        let t = text(&m);
        assert!(t.contains("From: certkeep <notices@certkeep.test>\r\n"), "{t}");
        assert!(t.contains("To: alice@alpha.test\r\n"), "{t}");
        assert!(t.contains("Subject: Certificate www.alpha.test expires in 30 days\r\n"), "{t}");
        assert!(t.contains("Content-Type: text/plain; charset=utf-8\r\n"), "{t}");
        assert!(t.contains("Content-Transfer-Encoding: 7bit\r\n"), "{t}");
        for line in [
            "The certificate for www.alpha.test expires in 30 days.",
            "Subject alternative names:\r\n  www.alpha.test\r\n  alpha.test\r\n",
            "Order: 7\r\n",
            "Expires: 2027-01-06T12:00:00Z\r\n",
            "POST https://ca.test:8443/services/v2/order/certificate/ssl_plus\r\n",
            "\"renewal_of_order_id\": 7\r\n",
        ] {
            assert!(t.contains(line), "{line:?} in {t}");
        }
        let envelope = m.envelope();
        assert_eq!(envelope.to().iter().map(ToString::to_string).collect::<Vec<_>>(), ["alice@alpha.test"]);
        assert_eq!(envelope.from().map(ToString::to_string).as_deref(), Some("notices@certkeep.test"));
    }

    #[test]
    fn the_subject_counts_whole_days_before_and_after_expiry() {
        assert_eq!(expiry(90), "expires in 90 days");
        assert_eq!(expiry(1), "expires in 1 day");
        assert_eq!(expiry(0), "expires within a day");
        assert_eq!(expiry(-1), "expired 1 day ago");
        assert_eq!(expiry(-7), "expired 7 days ago");
        let from: Mailbox = "notices@certkeep.test".parse().unwrap();
        let n = notice("ops@alpha.test", &[]);
        let m = build(&n, &from, "http://127.0.0.1:1", n.valid_till + Duration::days(7)).unwrap();
        let t = text(&m);
        assert!(t.contains("Subject: Certificate www.alpha.test expired 7 days ago\r\n"), "{t}");
        assert!(
            t.contains("Subject alternative names:\r\n  www.alpha.test\r\n"),
            "the common name stands in: {t}"
        );
    }

    #[test]
    fn a_recipient_that_is_no_address_is_refused_not_sent() {
        let from: Mailbox = "notices@certkeep.test".parse().unwrap();
        let n = notice("not an address", &[]);
        let e = build(&n, &from, "http://127.0.0.1:1", n.valid_till).unwrap_err();
        assert!(e.contains("\"not an address\" is not an e-mail address"), "{e}");
    }
}
