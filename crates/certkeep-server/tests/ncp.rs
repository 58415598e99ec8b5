//! The NCP Certificate Manager front door over real HTTP: API Gateway signature v2
//! authentication, its error dialect, and getPaidCertificates over the fixture inventory.

mod common;
mod ncp_common;

use aws_lc_rs::hmac;
use base64::{Engine, engine::general_purpose::STANDARD};
use common::{NOW, TestServer};
use ncp_common::{Resp, get, json_ok, now_ms, send, signed};
use serde_json::{Value, json};

const PAID: &str = "/api/v2/certificate/getPaidCertificates";
const INVALID: &str = r#"{"error":{"errorCode":"200","message":"Authentication Failed","details":"Invalid authentication information."}}"#;
const MISSING: &str = r#"{"error":{"errorCode":"200","message":"Authentication Failed","details":"Authentication information are missing."}}"#;
const NOT_FOUND: &str =
    r#"{"error":{"errorCode":"300","message":"Not Found Exception","details":"URL not found."}}"#;
const NONE_FOUND: &str =
    r#"{"returnCode":"2200","returnMessage":"No certificate was found.","totalCount":0,"orders":[]}"#;

fn order_ids(v: &Value) -> Vec<i64> {
    v["orders"].as_array().unwrap().iter().map(|o| o["orderId"].as_str().unwrap().parse().unwrap()).collect()
}

/// Asserts a gateway error: status, exact body, content type and origin.
fn assert_gateway(resp: &Resp, status: u16, body: &str) {
    assert_eq!((resp.0, resp.2.as_str()), (status, body));
    assert_eq!(resp.1["content-type"], "application/json;charset=UTF-8");
    assert_eq!(resp.1["x-ncp-apigw-response-origin"], "APIGW");
}

#[tokio::test]
async fn signature_v2_and_v1_headers_are_both_accepted() {
    let s = TestServer::start().await;
    let (a, k) = (&s.fx.ncp_access_key, &s.fx.ncp_secret_key);
    for header in ["x-ncp-apigw-signature-v2", "x-ncp-apigw-signature-v1"] {
        let target = format!("{PAID}?page=1&pageSize=20");
        let resp = send(&s, reqwest::Method::GET, &target, &signed(&target, now_ms(), a, k, header)).await;
        assert_eq!(resp.0, 200, "{header}: {}", resp.2);
        let v: Value = serde_json::from_str(&resp.2).unwrap();
        assert_eq!((v["returnCode"].as_str(), v["returnMessage"].as_str()), (Some("0"), Some("Success")));
    }
}

#[tokio::test]
async fn wrong_secret_unknown_key_and_revoked_key_are_refused() {
    let s = TestServer::start().await;
    let a = s.fx.ncp_access_key.clone();
    let v2 = "x-ncp-apigw-signature-v2";
    let wrong_secret = signed(PAID, now_ms(), &a, "not-the-secret", v2);
    assert_gateway(&send(&s, reqwest::Method::GET, PAID, &wrong_secret).await, 401, INVALID);
    // Another tenant's secret with this access key.
    let crossed = signed(PAID, now_ms(), &a, &s.fx.other_ncp_secret_key, v2);
    assert_gateway(&send(&s, reqwest::Method::GET, PAID, &crossed).await, 401, INVALID);
    let unknown = signed(PAID, now_ms(), "UNKNOWNACCESSKEY0000", &s.fx.ncp_secret_key, v2);
    assert_gateway(&send(&s, reqwest::Method::GET, PAID, &unknown).await, 401, INVALID);

    assert!(s.store.revoke_ncp_key(&a, NOW).unwrap());
    assert!(!s.store.revoke_ncp_key(&a, NOW).unwrap());
    assert_gateway(&get(&s, PAID).await, 401, INVALID);
}

#[tokio::test]
async fn timestamps_five_minutes_or_more_away_are_refused_either_way() {
    let s = TestServer::start().await;
    let (a, k) = (s.fx.ncp_access_key.clone(), s.fx.ncp_secret_key.clone());
    let five = 5 * 60 * 1000;
    for (offset, ok) in [(0, true), (-five + 1, true), (five - 1, true), (-five, false), (five, false)] {
        let headers = signed(PAID, now_ms() + offset, &a, &k, "x-ncp-apigw-signature-v2");
        let resp = send(&s, reqwest::Method::GET, PAID, &headers).await;
        if ok {
            assert_eq!(resp.0, 200, "offset {offset}: {}", resp.2);
        } else {
            assert_gateway(&resp, 401, INVALID);
        }
    }
    // Not milliseconds: the signature covers the same text, still refused.
    for stamp in ["abc", "-1", "1.78e12", "+1780272000000", "99999999999999999999999"] {
        let headers = vec![
            ("x-ncp-apigw-timestamp", stamp.to_owned()),
            ("x-ncp-iam-access-key", a.clone()),
            (
                "x-ncp-apigw-signature-v2",
                STANDARD.encode(hmac::sign(
                    &hmac::Key::new(hmac::HMAC_SHA256, k.as_bytes()),
                    format!("GET {PAID}\n{stamp}\n{a}").as_bytes(),
                )),
            ),
        ];
        assert_gateway(&send(&s, reqwest::Method::GET, PAID, &headers).await, 401, INVALID);
    }
}

#[tokio::test]
async fn a_tampered_query_or_path_breaks_the_signature() {
    let s = TestServer::start().await;
    let (a, k) = (s.fx.ncp_access_key.clone(), s.fx.ncp_secret_key.clone());
    let v2 = "x-ncp-apigw-signature-v2";
    let headers = signed(&format!("{PAID}?page=1&pageSize=1"), now_ms(), &a, &k, v2);
    for target in [format!("{PAID}?page=2&pageSize=1"), format!("{PAID}?pageSize=1&page=1"), PAID.to_owned()]
    {
        assert_gateway(&send(&s, reqwest::Method::GET, &target, &headers).await, 401, INVALID);
    }
    // Signed exactly as sent (percent-encoded), not decoded.
    let encoded = format!("{PAID}?certificateName=www%2Ealpha%2Ecom");
    let ok = send(&s, reqwest::Method::GET, &encoded, &signed(&encoded, now_ms(), &a, &k, v2)).await;
    assert_eq!(ok.0, 200, "{}", ok.2);
    let decoded = signed(&format!("{PAID}?certificateName=www.alpha.com"), now_ms(), &a, &k, v2);
    assert_gateway(&send(&s, reqwest::Method::GET, &encoded, &decoded).await, 401, INVALID);
}

#[tokio::test]
async fn each_missing_or_blank_header_is_reported_as_missing() {
    let s = TestServer::start().await;
    let full = signed(PAID, now_ms(), &s.fx.ncp_access_key, &s.fx.ncp_secret_key, "x-ncp-apigw-signature-v2");
    for i in 0..full.len() {
        let mut without = full.clone();
        without.remove(i);
        assert_gateway(&send(&s, reqwest::Method::GET, PAID, &without).await, 401, MISSING);
        let mut blank = full.clone();
        blank[i].1 = " ".into();
        assert_gateway(&send(&s, reqwest::Method::GET, PAID, &blank).await, 401, MISSING);
    }
    assert_gateway(&send(&s, reqwest::Method::GET, PAID, &[]).await, 401, MISSING);
}

#[tokio::test]
async fn garbage_headers_are_refused_without_harm() {
    let s = TestServer::start().await;
    let a = s.fx.ncp_access_key.clone();
    let base = signed(PAID, now_ms(), &a, &s.fx.ncp_secret_key, "x-ncp-apigw-signature-v2");
    for (i, garbage) in [(2, "not base64!"), (2, "===="), (1, &*"A".repeat(5000)), (0, "0x1F")] {
        let mut headers = base.clone();
        headers[i].1 = garbage.to_owned();
        assert_gateway(&send(&s, reqwest::Method::GET, PAID, &headers).await, 401, INVALID);
    }
    // Bytes that are not visible ASCII.
    let raw = s
        .raw(&format!(
            "GET {PAID} HTTP/1.1\r\nHost: x\r\nx-ncp-apigw-timestamp: {}\r\nx-ncp-iam-access-key: {a}\r\n\
             x-ncp-apigw-signature-v2: \u{e9}\u{e9}\r\nConnection: close\r\n\r\n",
            now_ms()
        ))
        .await;
    assert!(raw.starts_with("HTTP/1.1 401"), "{raw}");
    assert!(raw.ends_with(INVALID), "{raw}");
}

#[tokio::test]
async fn unknown_routes_and_methods_are_not_found_with_or_without_credentials() {
    let s = TestServer::start().await;
    for target in
        ["/api/v2/certificate/nope", "/api/v3/x", "/api", "/api/v2/certificate/getPaidCertificates/1"]
    {
        assert_gateway(&send(&s, reqwest::Method::GET, target, &[]).await, 404, NOT_FOUND);
        assert_gateway(&get(&s, target).await, 404, NOT_FOUND);
    }
    let headers =
        signed(PAID, now_ms(), &s.fx.ncp_access_key, &s.fx.ncp_secret_key, "x-ncp-apigw-signature-v2");
    assert_gateway(&send(&s, reqwest::Method::POST, PAID, &headers).await, 404, NOT_FOUND);
    assert_gateway(&send(&s, reqwest::Method::DELETE, PAID, &headers).await, 404, NOT_FOUND);
}

#[tokio::test]
async fn a_path_segment_that_does_not_decode_is_not_found_in_ncp_shape() {
    let s = TestServer::start().await;
    for target in ["/api/v2/certificate/exportCertificate/%FF/chain", "/api/v2/certificate/orders/%FF%FE"] {
        let resp = get(&s, target).await;
        assert_gateway(&resp, 404, NOT_FOUND);
        assert!(!resp.2.contains("errors"), "{target}: {}", resp.2);
    }
}

#[tokio::test]
async fn rate_limit_answers_the_gateway_429() {
    let s = TestServer::start_with(vec!["2/60".parse().unwrap()]).await;
    assert_eq!(get(&s, PAID).await.0, 200);
    assert_eq!(get(&s, PAID).await.0, 200);
    assert_gateway(
        &get(&s, PAID).await,
        429,
        r#"{"error":{"errorCode":"420","message":"Rate Limited","details":"Rate limit exceeded."}}"#,
    );
}

#[tokio::test]
async fn only_paid_dv_and_ov_orders_of_the_account_are_listed_with_ncp_statuses() {
    let s = TestServer::start().await;
    let fx = s.fx.clone();
    let v = json_ok(&s, PAID).await;
    let expected = vec![fx.issued, fx.expired, fx.renewal, fx.pending, fx.revoked, fx.with_duplicates];
    assert_eq!(order_ids(&v), expected, "EV, private and other tenants' orders are not paid certificates");
    assert_eq!(v["totalCount"], 6);
    let by_order = |id: i64| {
        v["orders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["orderId"].as_str().and_then(|s| s.parse().ok()) == Some(id))
            .unwrap()["certificates"]
            .as_array()
            .unwrap()
            .clone()
    };
    let status = |c: &Value| {
        (c["statusCode"].as_str().unwrap().to_owned(), c["statusName"].as_str().unwrap().to_owned())
    };
    let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    assert_eq!(status(&by_order(fx.issued)[0]), pair("1", "Normal"));
    assert_eq!(status(&by_order(fx.expired)[0]), pair("-2", "Expire"));
    assert_eq!(status(&by_order(fx.pending)[0]), pair("0", "Ongoing"));
    assert_eq!(status(&by_order(fx.revoked)[0]), pair("-5", "Revoke"));
    let dups = by_order(fx.with_duplicates);
    let kinds: Vec<_> = dups.iter().map(|c| (c["issueType"].as_str().unwrap(), status(c).1)).collect();
    assert_eq!(
        kinds,
        [("ORIGINAL", "Normal".into()), ("DUPLICATE", "Normal".into()), ("DUPLICATE", "Ongoing".into())],
        "the archived duplicate is left out"
    );
    assert_eq!(by_order(fx.expired)[0]["certificateType"], "NCP_PAID_DV_01");
    assert_eq!(by_order(fx.pending)[0]["notAfter"], Value::Null);

    let other = send(
        &s,
        reqwest::Method::GET,
        PAID,
        &signed(
            PAID,
            now_ms(),
            &fx.other_ncp_access_key,
            &fx.other_ncp_secret_key,
            "x-ncp-apigw-signature-v2",
        ),
    )
    .await;
    let other: Value = serde_json::from_str(&other.2).unwrap();
    assert_eq!(order_ids(&other), [fx.other_tenant_order]);
    assert_eq!(other["orders"][0]["certificates"][0]["memberNo"], fx.other_account.to_string());
}

#[tokio::test]
async fn a_certificate_reads_exactly_like_the_seed() {
    let s = TestServer::start().await;
    let fx = s.fx.clone();
    let v = json_ok(&s, &format!("{PAID}?certificateName=www.alpha.com")).await;
    let cc = s.json(&format!("/order/certificate/{}", fx.issued)).await;
    let c = &cc["certificate"];
    let expected = json!({
        "returnCode": "0",
        "returnMessage": "Success",
        "totalCount": 1,
        "orders": [{
            "orderId": fx.issued.to_string(),
            "certificates": [{
                "certificateNo": c["id"],
                "certificateName": "www.alpha.com",
                "memberNo": fx.account.to_string(),
                "commonName": "www.alpha.com",
                "dnsName": "www.alpha.com,alpha.com,api.alpha.com",
                "statusCode": "1",
                "statusName": "Normal",
                "certificateType": "NCP_PAID_OV_01",
                "certificateTypeCode": "NCP_PAID_OV_01",
                "domainCode": "PUB",
                "updateDate": "2026-01-10 21:00:00(UTC+09:00)",
                "orderId": fx.issued.to_string(),
                "issueType": "ORIGINAL",
                "subjectDN": "cn=www.alpha.com,o=Epigyne Unwieldiness llc,l=Minneapolis,s=Minnesota,c=US",
                "registDate": "2026-01-10 21:00:00(UTC+09:00)",
                "notAfter": "2027-01-10 21:00:00(UTC+09:00)",
                "notBefore": "2026-01-10 21:00:00(UTC+09:00)",
                "issueDate": "2026-01-10 21:00:00(UTC+09:00)",
                "serialNumber": c["serial_number"],
            }],
        }],
    });
    assert_eq!(v, expected);
    let keys: Vec<_> = v["orders"][0]["certificates"][0].as_object().unwrap().keys().cloned().collect();
    let expected_keys: Vec<_> =
        expected["orders"][0]["certificates"][0].as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, expected_keys, "field order follows the seed");
}

#[tokio::test]
async fn every_certcentral_order_reads_the_same_through_ncp() {
    let s = TestServer::start().await;
    let v = json_ok(&s, PAID).await;
    for order in v["orders"].as_array().unwrap() {
        let id = order["orderId"].as_str().unwrap();
        let cc = s.json(&format!("/order/certificate/{id}")).await;
        let current = &cc["certificate"];
        let ncp = order["certificates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["certificateNo"] == current["id"])
            .unwrap_or_else(|| panic!("order {id}: current certificate missing"));
        assert_eq!(ncp["orderId"], cc["id"].to_string());
        assert_eq!(ncp["commonName"], current["common_name"]);
        assert_eq!(ncp["serialNumber"], current.get("serial_number").cloned().unwrap_or(Value::Null));
        if let Some(till) = current["valid_till"].as_str() {
            // CertCentral shows the UTC date; NCP the time in +09:00.
            let utc = time::OffsetDateTime::parse(
                &ncp["notAfter"].as_str().unwrap().replace("(UTC+09:00)", "+09:00").replace(' ', "T"),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap()
            .to_offset(time::UtcOffset::UTC);
            assert_eq!(utc.date().to_string(), till);
        }
    }
}

#[tokio::test]
async fn paging_is_by_order_and_total_count_is_exact() {
    let s = TestServer::start().await;
    let all = order_ids(&json_ok(&s, PAID).await);
    assert_eq!(all.len(), 6);
    assert_eq!(order_ids(&json_ok(&s, &format!("{PAID}?pageSize=0")).await), all);
    let mut paged = Vec::new();
    for page in 1..=3 {
        let v = json_ok(&s, &format!("{PAID}?page={page}&pageSize=4")).await;
        assert_eq!(v["totalCount"], 6);
        paged.extend(order_ids(&v));
    }
    assert_eq!(paged, all);
    let past = json_ok(&s, &format!("{PAID}?page=3&pageSize=4")).await;
    assert_eq!((past["returnCode"].as_str(), past["orders"].as_array().unwrap().len()), (Some("0"), 0));
    assert_eq!(order_ids(&json_ok(&s, &format!("{PAID}?page=2&pageSize=5")).await), &all[5..]);
    assert_eq!(
        order_ids(&json_ok(&s, &format!("{PAID}?page=2147483647&pageSize=2147483647")).await),
        Vec::<i64>::new()
    );
}

#[tokio::test]
async fn certificate_name_filters_case_insensitively_and_finds_nothing_elsewhere() {
    let s = TestServer::start().await;
    let fx = s.fx.clone();
    let v = json_ok(&s, &format!("{PAID}?certificateName=OLD.BETA.NET")).await;
    assert_eq!(order_ids(&v), [fx.expired, fx.renewal]);
    assert_eq!(v["totalCount"], 2);
    for name in ["nope.example", "secret.other.com", "intranet.zeta.corp", "ev.alpha.com", "alpha.com"] {
        let (status, _, body) = get(&s, &format!("{PAID}?certificateName={name}")).await;
        assert_eq!((status, body.as_str()), (200, NONE_FOUND), "{name}");
    }
}

#[tokio::test]
async fn bad_parameters_answer_service_errors() {
    let s = TestServer::start().await;
    for (query, message) in [
        ("page=0", "page must be an integer from 1 to 2147483647."),
        ("page=abc", "page must be an integer from 1 to 2147483647."),
        ("pageSize=-1", "pageSize must be an integer from 0 to 2147483647."),
        ("pageSize=99999999999999999999", "pageSize must be an integer from 0 to 2147483647."),
    ] {
        let resp = get(&s, &format!("{PAID}?{query}")).await;
        let body = format!(r#"{{"returnCode":"2000","returnMessage":"{message}"}}"#);
        assert_eq!((resp.0, resp.2.as_str()), (400, body.as_str()), "{query}");
        assert_eq!(resp.1["x-ncp-apigw-response-origin"], "ENDPOINT");
        assert_eq!(resp.1["content-type"], "application/json;charset=UTF-8");
    }
}

#[tokio::test]
async fn certificate_types_and_chain_export() {
    let s = TestServer::start().await;
    let v = json_ok(&s, "/api/v2/certificate/certificateTypes").await;
    assert_eq!(v["returnCode"], "0");
    let codes: Vec<&str> = v["certificatetype"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["certificateTypeCode"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["NCP_PAID_OV_01", "NCP_PAID_DV_01"]);
    assert_eq!(v["certificatetype"][1]["validationLevel"], "Domain Validation Certificate");
    assert_eq!(v["totalCount"], 2);

    // The chain of a paid certificate of the account, as three PEM blocks.
    let info = s.json(&format!("/order/certificate/{}", s.fx.issued)).await;
    let cert_no = info["certificate"]["id"].as_i64().unwrap();
    let v = json_ok(&s, &format!("/api/v2/certificate/exportCertificate/{cert_no}/chain")).await;
    assert_eq!(
        (v["returnCode"].as_str(), v["subjectCommonName"].as_str()),
        (Some("0"), Some("www.alpha.com"))
    );
    for field in ["certificate", "subCaCertificate", "rootCaCertificate"] {
        let pem = v[field].as_str().unwrap();
        assert!(
            pem.starts_with("-----BEGIN CERTIFICATE-----") && pem.ends_with("-----END CERTIFICATE-----\n"),
            "{field}"
        );
    }
    // Unknown, pending, non-paid (private) or another tenant's: 2200.
    let pending =
        s.json(&format!("/order/certificate/{}", s.fx.pending)).await["certificate"]["id"].as_i64().unwrap();
    let private =
        s.json(&format!("/order/certificate/{}", s.fx.reissued)).await["certificate"]["id"].as_i64().unwrap();
    let (_, _, body) = s
        .get(Some(&s.fx.other_tenant_key.clone()), &format!("/order/certificate/{}", s.fx.other_tenant_order))
        .await;
    let foreign = serde_json::from_str::<Value>(&body).unwrap()["certificate"]["id"].as_i64().unwrap();
    for no in [pending.to_string(), private.to_string(), foreign.to_string(), "999999".into(), "abc".into()] {
        let (status, _, body) = get(&s, &format!("/api/v2/certificate/exportCertificate/{no}/chain")).await;
        assert_eq!(status, 200, "{no}: {body}");
        assert!(body.contains("\"returnCode\":\"2200\""), "{no}: {body}");
    }
}
