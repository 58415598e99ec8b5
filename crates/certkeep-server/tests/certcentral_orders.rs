//! CertCentral order endpoints over real HTTP: list (filters, sort, pagination, CSV), order
//! info by id / thumbprint / serial, duplicates and reissues.

mod common;

use common::{TestServer, assert_error};
use serde_json::Value;

fn sorted(mut v: Vec<i64>) -> Vec<i64> {
    v.sort();
    v
}

#[tokio::test]
async fn list_shape_matches_seed_001() {
    let s = TestServer::start().await;
    let fx = s.fx.clone();
    let v = s.json("/order/certificate").await;
    assert_eq!(v["page"], serde_json::json!({"total": 8, "limit": 0, "offset": 0}));
    let orders = v["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 8);
    // Default order: by id, ascending (creation order).
    let ids: Vec<i64> = orders.iter().map(|o| o["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, sorted(ids.clone()));

    let issued = orders.iter().find(|o| o["id"] == fx.issued).unwrap();
    let keys: Vec<&str> = issued.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "id",
            "certificate",
            "status",
            "is_renewed",
            "date_created",
            "organization",
            "validity_years",
            "disable_renewal_notifications",
            "container",
            "product",
            "has_duplicates",
            "product_name_id"
        ]
    );
    assert_eq!(issued["status"], "issued");
    assert_eq!(issued["date_created"], "2026-01-10T12:00:00+00:00");
    assert_eq!(issued["certificate"]["common_name"], "www.alpha.com");
    assert_eq!(issued["certificate"]["dns_names"], serde_json::json!(["alpha.com", "api.alpha.com"]));
    assert_eq!(issued["certificate"]["valid_till"], "2027-01-10");
    assert_eq!(issued["certificate"]["days_remaining"], 223);
    assert_eq!(issued["certificate"]["signature_hash"], "sha256");
    assert_eq!(issued["certificate"]["serial_number"].as_str().unwrap().len(), 32);
    assert_eq!(issued["certificate"]["thumbprint"].as_str().unwrap().len(), 40);
    assert_eq!(
        issued["organization"],
        serde_json::json!({"id": fx.org_epigyne, "name": "Epigyne Unwieldiness llc"})
    );
    assert_eq!(issued["container"], serde_json::json!({"id": fx.root, "name": "Acme"}));
    assert_eq!(
        issued["product"],
        serde_json::json!({"name_id": "ssl_plus", "name": "Standard SSL", "type": "ssl_certificate"})
    );
    assert_eq!(issued["validity_years"], 1);

    // Not issued: no expiry fields. No organization (DV): `[]` as in the seed.
    let pending = orders.iter().find(|o| o["id"] == fx.pending).unwrap();
    assert_eq!(pending["status"], "pending");
    assert!(pending["certificate"].get("valid_till").is_none());
    assert!(pending["certificate"].get("days_remaining").is_none());
    assert!(pending["certificate"].get("serial_number").is_none());
    let dv = orders.iter().find(|o| o["id"] == fx.renewal).unwrap();
    assert_eq!(dv["organization"], serde_json::json!([]));
    assert_eq!(dv["product"]["type"], "dv_ssl_certificate");
    // Expiry is derived from the clock.
    let expired = orders.iter().find(|o| o["id"] == fx.expired).unwrap();
    assert_eq!(expired["status"], "expired");
    assert_eq!(expired["certificate"]["days_remaining"], 0);
    assert_eq!(expired["is_renewed"], true);
    let dups = orders.iter().find(|o| o["id"] == fx.with_duplicates).unwrap();
    assert_eq!(dups["has_duplicates"], true);
    assert_eq!(issued["has_duplicates"], false);
}

#[tokio::test]
async fn every_documented_filter() {
    let s = TestServer::start().await;
    let fx = s.fx.clone();
    let all = [
        fx.issued,
        fx.expired,
        fx.renewal,
        fx.pending,
        fx.needs_approval,
        fx.revoked,
        fx.with_duplicates,
        fx.reissued,
    ];
    let issued_serial =
        s.json(&format!("/order/certificate/{}", fx.issued)).await["certificate"]["serial_number"]
            .as_str()
            .unwrap()
            .to_owned();
    let duplicate_cert_id = s.json(&format!("/order/certificate/{}/duplicate", fx.with_duplicates)).await
        ["certificates"][0]["id"]
        .as_i64()
        .unwrap();
    let cases: Vec<(String, Vec<i64>)> = vec![
        (format!("filters[id]={}", fx.pending), vec![fx.pending]),
        (
            format!("filters[id][0]={}&filters[id][1]={}", fx.pending, fx.revoked),
            vec![fx.pending, fx.revoked],
        ),
        // `issued` includes expired orders, as DigiCert documents.
        (
            "filters[status]=issued".into(),
            vec![fx.issued, fx.expired, fx.renewal, fx.with_duplicates, fx.reissued],
        ),
        ("filters[status]=expired".into(), vec![fx.expired]),
        ("filters[status]=pending".into(), vec![fx.pending]),
        ("filters[status]=needs_approval".into(), vec![fx.needs_approval]),
        ("filters[status]=revoked".into(), vec![fx.revoked]),
        ("filters[status]=canceled".into(), vec![]),
        ("filters[status][0]=pending&filters[status][1]=revoked".into(), vec![fx.pending, fx.revoked]),
        (format!("filters[organization_id]={}", fx.org_contoso), vec![fx.pending]),
        ("filters[product_name_id]=ssl_dv_geotrust".into(), vec![fx.expired, fx.renewal]),
        ("filters[valid_till]=2027-01-01...2027-01-31".into(), vec![fx.issued]),
        ("filters[valid_till]=<2026-01-01".into(), vec![fx.expired]),
        ("filters[valid_till]=>2027-02-10".into(), vec![fx.with_duplicates]),
        ("filters[valid_till]=2027-01-10".into(), vec![fx.issued]),
        (format!("filters[user_id]={}", fx.engineer_user), vec![fx.expired, fx.renewal, fx.pending]),
        ("filters[common_name]=WWW.alpha.com".into(), vec![fx.issued]),
        ("filters[domain_name]=api.alpha.com".into(), vec![fx.issued]),
        ("filters[domain_name]=old.beta.net".into(), vec![fx.expired, fx.renewal]),
        ("filters[date_created]=2026-05-01".into(), vec![fx.pending]),
        (
            "filters[date_created]=2026-05-01+00:00:00...2026-05-20+10:00:00".into(),
            vec![fx.pending, fx.needs_approval],
        ),
        ("filters[date_created]=<2025-01-01".into(), vec![fx.expired]),
        (format!("filters[container_id]={}", fx.marketing), vec![fx.with_duplicates]),
        (format!("filters[metadata_id]={}", fx.invoice_field), vec![fx.issued]),
        ("filters[is_renewed]=1".into(), vec![fx.expired]),
        ("filters[disable_renewal_notifications]=1".into(), vec![fx.with_duplicates]),
        ("filters[email]=alice@alpha.com".into(), vec![fx.issued]),
        (format!("filters[certificate_id]={duplicate_cert_id}"), vec![fx.with_duplicates]),
        ("filters[origin]=migrated".into(), vec![fx.revoked]),
        (format!("filters[serial_number]={issued_serial}"), vec![fx.issued]),
        (format!("filters[serial_number]={}", issued_serial.to_lowercase()), vec![fx.issued]),
        // Contains-search needs the URL-encoded percent sign; without it the match is exact.
        ("filters[search]=%25alpha".into(), vec![fx.issued, fx.needs_approval]),
        ("filters[search]=%25ALICE@".into(), vec![fx.issued]),
        ("filters[search]=%25ta".into(), vec![fx.expired, fx.renewal, fx.revoked, fx.reissued]),
        ("filters[search]=alpha".into(), vec![]),
        ("filters[search]=www.alpha.com".into(), vec![fx.issued]),
        // Filters combine with AND; percent-encoded keys work like raw ones.
        (
            "filters%5Bstatus%5D=issued&filters%5Bcontainer_id%5D=".to_owned() + &fx.root.to_string(),
            vec![fx.issued, fx.reissued],
        ),
        ("".into(), all.to_vec()),
    ];
    for (query, expected) in cases {
        let ids = s.ids(&format!("/order/certificate?{query}")).await;
        assert_eq!(sorted(ids), sorted(expected.clone()), "{query}");
        let total = s.json(&format!("/order/certificate?{query}")).await["page"]["total"].as_u64().unwrap();
        assert_eq!(total as usize, expected.len(), "{query}");
    }
    // A search counts its matches in the page's own pass; a page past them still counts them.
    let page = s.json("/order/certificate?filters[search]=%25ta&limit=2&offset=1").await;
    assert_eq!((page["orders"].as_array().unwrap().len(), page["page"]["total"].as_u64()), (2, Some(4)));
    let past = s.json("/order/certificate?filters[search]=%25ta&offset=10").await;
    assert_eq!((past["orders"].as_array().map(Vec::len), past["page"]["total"].as_u64()), (Some(0), Some(4)));
}

/// Keyfactor appends `filters[...]` and `>date` by string concatenation; its HTTP stack sends
/// `[`/`]` raw and `>` percent-encoded. (A raw `>`, `<` or `"` in a request line is refused by
/// the HTTP layer with 400, see the README.)
#[tokio::test]
async fn raw_brackets_and_encoded_comparison_operators() {
    let s = TestServer::start().await;
    let resp = s
        .raw(&format!(
            "GET /services/v2/order/certificate?filters[valid_till]=%3E2027-02-10&filters[container_id]={} HTTP/1.1\r\nHost: x\r\nX-DC-DEVKEY: {}\r\nConnection: close\r\n\r\n",
            s.fx.marketing, s.fx.admin_key
        ))
        .await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.contains(&format!("\"id\":{}", s.fx.with_duplicates)), "{resp}");
    assert!(resp.contains("\"total\":1"), "{resp}");
}

#[tokio::test]
async fn sorting() {
    let s = TestServer::start().await;
    let fx = s.fx.clone();
    let ids = s.ids("/order/certificate?sort=-date_created").await;
    assert_eq!(
        ids,
        vec![
            fx.needs_approval,
            fx.pending,
            fx.with_duplicates,
            fx.reissued,
            fx.renewal,
            fx.issued,
            fx.revoked,
            fx.expired
        ]
    );
    let ids = s.ids("/order/certificate?sort=date_created").await;
    assert_eq!(ids.first(), Some(&fx.expired));
    let v = s.json("/order/certificate?sort=common_name,-id").await;
    let names: Vec<&str> = v["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["certificate"]["common_name"].as_str().unwrap())
        .collect();
    let mut expected = names.clone();
    expected.sort();
    assert_eq!(names, expected);
    // Equal common names: the second key (-id) decides.
    let ids = s.ids("/order/certificate?sort=common_name,-id&filters[common_name]=old.beta.net").await;
    assert_eq!(ids, vec![fx.renewal, fx.expired]);
    let ids = s.ids("/order/certificate?sort=-valid_till&filters[status]=issued").await;
    assert_eq!(ids[0], fx.with_duplicates);
    for key in [
        "status",
        "product_name_id",
        "organization_id",
        "container_id",
        "user_id",
        "email",
        "is_renewed",
        "order_id",
    ] {
        let ids = s.ids(&format!("/order/certificate?sort=-{key}")).await;
        assert_eq!(ids.len(), 8, "{key}");
    }
    assert_error(
        &s.get(Some(&fx.admin_key), "/order/certificate?sort=price").await,
        400,
        "invalid_sort|price",
    );
    assert_error(
        &s.get(Some(&fx.admin_key), "/order/certificate?sort=id;DROP%20TABLE%20orders").await,
        400,
        "invalid_sort|id;DROP TABLE orders",
    );
}

#[tokio::test]
async fn pagination_is_exact_and_stable() {
    let s = TestServer::start().await;
    let key = s.fx.admin_key.clone();
    let all = s.ids("/order/certificate?sort=-date_created").await;
    // Walk the pages like JupiterOne and Venafi do.
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let v = s.json(&format!("/order/certificate?sort=-date_created&limit=3&offset={offset}")).await;
        assert_eq!(v["page"], serde_json::json!({"total": 8, "limit": 3, "offset": offset}));
        let page = v["orders"].as_array().unwrap();
        seen.extend(page.iter().map(|o| o["id"].as_i64().unwrap()));
        offset += page.len();
        if offset >= 8 {
            break;
        }
        assert_eq!(page.len(), 3);
    }
    assert_eq!(seen, all);
    // Past the end: an empty page with the exact total.
    let v = s.json("/order/certificate?offset=100&limit=5").await;
    assert_eq!(v["orders"], serde_json::json!([]));
    assert_eq!(v["page"], serde_json::json!({"total": 8, "limit": 5, "offset": 100}));
    // limit 0 is "no limit given": everything up to the maximum, echoed as 0.
    let v = s.json("/order/certificate?limit=0").await;
    assert_eq!(v["orders"].as_array().unwrap().len(), 8);
    assert_eq!(v["page"]["limit"], 0);
    assert_eq!(s.json("/order/certificate?limit=1000").await["orders"].as_array().unwrap().len(), 8);
    for (query, code) in [
        ("limit=1001", "invalid_limit"),
        ("limit=-1", "invalid_limit"),
        ("limit=ten", "invalid_limit"),
        ("limit=99999999999999999999999", "invalid_limit"),
        ("offset=-5", "invalid_offset"),
        ("offset=1e3", "invalid_offset"),
    ] {
        assert_error(&s.get(Some(&key), &format!("/order/certificate?{query}")).await, 400, code);
    }
}

#[tokio::test]
async fn bad_filters_answer_400_with_digicert_style_codes() {
    let s = TestServer::start().await;
    let key = s.fx.admin_key.clone();
    for (query, code) in [
        ("filters[colour]=red", "invalid_filter|colour"),
        ("filters[status]=lost", "invalid_filter_value|status"),
        ("filters[id]=abc", "invalid_filter_value|id"),
        ("filters[id]=1%20OR%201=1", "invalid_filter_value|id"),
        ("filters[id]=99999999999999999999", "invalid_filter_value|id"),
        ("filters[valid_till]=someday", "invalid_filter_value|valid_till"),
        ("filters[date_created]=2026-02-30", "invalid_filter_value|date_created"),
        ("filters[is_renewed]=yes", "invalid_filter_value|is_renewed"),
        ("filters[origin]=elsewhere", "invalid_filter_value|origin"),
        ("filters[search]=%25", "invalid_filter_value|search"),
        ("filters[common_name]=", "invalid_filter_value|common_name"),
    ] {
        assert_error(&s.get(Some(&key), &format!("/order/certificate?{query}")).await, 400, code);
    }
}

#[tokio::test]
async fn sql_metacharacters_are_only_data() {
    let s = TestServer::start().await;
    for value in [
        "x'%20OR%20'1'='1",
        "%22;DROP%20TABLE%20orders;--",
        "%25'%20OR%201=1--",
        "%25%22%22%22",
        "%25_",
        "%25%5C",
    ] {
        for filter in ["common_name", "email", "domain_name", "search", "product_name_id", "serial_number"] {
            let v = s.json(&format!("/order/certificate?filters[{filter}]={value}")).await;
            assert_eq!(v["page"]["total"], 0, "{filter}={value}");
        }
    }
    assert_eq!(s.json("/order/certificate").await["page"]["total"], 8);
}

#[tokio::test]
async fn csv_export_streams_every_matching_order() {
    let s = TestServer::start().await;
    let csv = |query: &'static str| {
        let req = s
            .client
            .get(format!("{}/services/v2/order/certificate{query}", s.base))
            .header("X-DC-DEVKEY", &s.fx.admin_key)
            .header("Accept", "text/csv");
        async move {
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), 200);
            assert_eq!(resp.headers()["content-type"], "text/csv");
            resp.text().await.unwrap()
        }
    };
    let body = csv("").await;
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines.len(), 9);
    assert!(lines[0].starts_with("\"order_id\",\"date_created\",\"container_id\""), "{}", lines[0]);
    assert!(lines.iter().all(|l| l.starts_with('"') && l.ends_with('"')));
    let row = lines.iter().find(|l| l.starts_with(&format!("\"{}\"", s.fx.issued))).unwrap();
    assert!(row.contains("\"2026-01-10 12:00:00\""), "{row}");
    assert!(row.contains("\"www.alpha.com\",\"alpha.com,api.alpha.com\""), "{row}");
    assert!(row.contains("\"issued\""), "{row}");
    // Filters and limits apply; the 1000 cap does not (a CSV is an export).
    assert_eq!(csv("?filters[status]=pending").await.lines().count(), 2);
    assert_eq!(csv("?limit=2&offset=1").await.lines().count(), 3);
    let body = csv("?filters[status]=expired").await;
    assert!(body.lines().nth(1).unwrap().contains("\"expired\""));
    // A bad query is still a JSON error.
    let resp = s
        .client
        .get(format!("{}/services/v2/order/certificate?sort=nope", s.base))
        .header("X-DC-DEVKEY", &s.fx.admin_key)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.headers()["content-type"], "application/json");
}

#[tokio::test]
async fn order_info_matches_seed_002() {
    let s = TestServer::start().await;
    let fx = s.fx.clone();
    let v = s.json(&format!("/order/certificate/{}", fx.issued)).await;
    assert_eq!(v["id"], fx.issued);
    assert_eq!(v["status"], "issued");
    assert_eq!(v["is_renewal"], false);
    assert_eq!(v["date_created"], "2026-01-10T12:00:00+00:00");
    let c = &v["certificate"];
    assert_eq!(c["common_name"], "www.alpha.com");
    assert_eq!(c["valid_from"], "2026-01-10");
    assert_eq!(c["valid_till"], "2027-01-10");
    assert_eq!(c["days_remaining"], 223);
    assert!(c["csr"].as_str().unwrap().starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
    assert_eq!(c["organization"], serde_json::json!({"id": fx.org_epigyne}));
    assert_eq!(c["server_platform"]["name"], "nginx");
    assert_eq!(c["key_size"], 256);
    assert_eq!(c["signature_hash"], "sha256");
    assert_eq!(c["ca_cert"]["id"], s.ca_id);
    assert_eq!(c["ca_cert"]["name"], "Test Issuing CA");
    assert_eq!(
        v["organization"],
        serde_json::json!({
            "id": fx.org_epigyne,
            "name": "Epigyne Unwieldiness llc",
            "assumed_name": "Epigyne Unwieldiness",
            "display_name": "Epigyne Unwieldiness llc (Epigyne Unwieldiness)",
            "city": "Minneapolis",
            "state": "Minnesota",
            "country": "us"
        })
    );
    assert_eq!(v["container"], serde_json::json!({"id": fx.root, "name": "Acme", "is_active": true}));
    assert_eq!(
        v["product"],
        serde_json::json!({
            "name_id": "ssl_plus",
            "name": "Standard SSL",
            "type": "ssl_certificate",
            "validation_type": "ov",
            "validation_name": "OV",
            "validation_description": "Normal Organization Validation",
            "csr_required": true
        })
    );
    assert_eq!(v["organization_contact"]["email"], "gia.booth@inbox.com");
    assert_eq!(v["technical_contact"], v["organization_contact"]);
    assert_eq!(v["user"]["id"], fx.admin_user);
    assert_eq!(v["requests"][0]["type"], "new_request");
    assert_eq!(v["requests"][0]["comments"], "Certificate comment.");
    assert_eq!(
        v["custom_fields"],
        serde_json::json!([{"metadata_id": fx.invoice_field, "label": "Invoice #", "value": "123456"}])
    );
    assert_eq!(v["order_valid_till"], "2027-01-10");
    assert_eq!(v["api_key"], serde_json::json!({"name": "ci", "key_type": "api_key"}));
    for key in ["auto_renew", "auto_reissue"] {
        assert_eq!(v[key], 0);
    }
    for key in [
        "disable_renewal_notifications",
        "disable_issuance_email",
        "is_out_of_contract",
        "is_guest_access_enabled",
    ] {
        assert_eq!(v[key], false, "{key}");
    }
    assert_eq!(v["payment_method"], "balance");
    assert_eq!(v["product_name_id"], "ssl_plus");

    // Pending: none of the issued-only fields.
    let v = s.json(&format!("/order/certificate/{}", fx.pending)).await;
    for key in ["thumbprint", "serial_number", "valid_from", "valid_till", "days_remaining", "date_issued"] {
        assert!(v["certificate"].get(key).is_none(), "{key}");
    }
    // Renewals link both ways; expiry is derived.
    let v = s.json(&format!("/order/certificate/{}", fx.expired)).await;
    assert_eq!((v["status"].as_str(), v["is_renewed"].as_bool()), (Some("expired"), Some(true)));
    assert_eq!(v["was_renewed_by_order_id"], fx.renewal);
    assert_eq!(v["organization"], serde_json::json!([]));
    let v = s.json(&format!("/order/certificate/{}", fx.renewal)).await;
    assert_eq!((v["is_renewal"].as_bool(), v["renewed_order_id"].as_i64()), (Some(true), Some(fx.expired)));
}

#[tokio::test]
async fn order_info_by_thumbprint_or_serial_of_the_primary_only() {
    let s = TestServer::start().await;
    let fx = s.fx.clone();
    let v = s.json(&format!("/order/certificate/{}", fx.with_duplicates)).await;
    let (thumb, serial) = (
        v["certificate"]["thumbprint"].as_str().unwrap(),
        v["certificate"]["serial_number"].as_str().unwrap(),
    );
    for reference in [thumb.to_owned(), serial.to_owned(), thumb.to_lowercase()] {
        assert_eq!(s.json(&format!("/order/certificate/{reference}")).await["id"], fx.with_duplicates);
    }
    let dup =
        &s.json(&format!("/order/certificate/{}/duplicate", fx.with_duplicates)).await["certificates"][0];
    for reference in [dup["thumbprint"].as_str().unwrap(), dup["serial_number"].as_str().unwrap()] {
        let resp = s.get(Some(&fx.admin_key), &format!("/order/certificate/{reference}")).await;
        assert_error(&resp, 404, "not_found|order");
    }
    // After a reissue the current certificate is the reissued one.
    let v = s.json(&format!("/order/certificate/{}", fx.reissued)).await;
    let reissues = s.json(&format!("/order/certificate/{}/reissue", fx.reissued)).await;
    assert_eq!(v["certificate"]["id"], reissues["certificates"][0]["id"]);
    assert_eq!(v["certificate"]["valid_from"], "2026-03-02");
    let serial = v["certificate"]["serial_number"].as_str().unwrap();
    assert_eq!(s.json(&format!("/order/certificate/{serial}")).await["id"], fx.reissued);
    // The other tenant's certificate is not reachable by thumbprint either.
    let (_, _, body) =
        s.get(Some(&fx.other_tenant_key), &format!("/order/certificate/{}", fx.other_tenant_order)).await;
    let other: Value = serde_json::from_str(&body).unwrap();
    let thumb = other["certificate"]["thumbprint"].as_str().unwrap();
    assert_error(
        &s.get(Some(&fx.admin_key), &format!("/order/certificate/{thumb}")).await,
        404,
        "not_found|order",
    );
    for bad in
        ["0", "99999999", "99999999999999999999999999", "abc-def", "%27%20OR%201=1", "-1", &"F".repeat(65)]
    {
        assert_error(
            &s.get(Some(&fx.admin_key), &format!("/order/certificate/{bad}")).await,
            404,
            "not_found|order",
        );
    }
}

#[tokio::test]
async fn duplicates_match_seed_003_and_hide_archived_by_default() {
    let s = TestServer::start().await;
    let fx = s.fx.clone();
    let v = s.json(&format!("/order/certificate/{}/duplicate", fx.with_duplicates)).await;
    let certs = v["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 2);
    let first = &certs[0];
    let keys: Vec<&str> = first.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "id",
            "thumbprint",
            "serial_number",
            "common_name",
            "dns_names",
            "status",
            "date_created",
            "valid_from",
            "valid_till",
            "days_remaining",
            "csr",
            "server_platform",
            "signature_hash",
            "key_size",
            "ca_cert_id",
            "sub_id",
            "public_id",
            "archived",
            "user_id",
            "firstname",
            "lastname"
        ]
    );
    assert_eq!(first["status"], "issued");
    assert_eq!(first["archived"], "0");
    assert_eq!(first["sub_id"], "1");
    assert_eq!(first["ca_cert_id"], s.ca_id);
    assert_eq!(first["date_created"], "2026-03-02T00:00:00+00:00");
    assert_eq!(first["firstname"], "Jan");
    let pending = &certs[1];
    assert_eq!(pending["status"], "pending");
    assert!(pending.get("serial_number").is_none());
    assert_eq!(pending["sub_id"], "3");

    for flag in ["true", "1"] {
        let v = s
            .json(&format!("/order/certificate/{}/duplicate?show_archived={flag}", fx.with_duplicates))
            .await;
        let certs = v["certificates"].as_array().unwrap();
        assert_eq!(certs.len(), 3);
        assert_eq!(certs[1]["archived"], "1");
    }
    let v = s.json(&format!("/order/certificate/{}/duplicate?show_archived=false", fx.with_duplicates)).await;
    assert_eq!(v["certificates"].as_array().unwrap().len(), 2);
    // No duplicates: an empty list, not an error.
    assert_eq!(
        s.json(&format!("/order/certificate/{}/duplicate", fx.issued)).await["certificates"],
        serde_json::json!([])
    );
    for bad in ["abc", "99999999", "99999999999999999999999"] {
        let resp = s.get(Some(&fx.admin_key), &format!("/order/certificate/{bad}/duplicate")).await;
        assert_error(&resp, 404, "not_found|order");
    }
}

#[tokio::test]
async fn reissues_list() {
    let s = TestServer::start().await;
    let fx = s.fx.clone();
    let v = s.json(&format!("/order/certificate/{}/reissue", fx.reissued)).await;
    let certs = v["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 1);
    assert_eq!(certs[0]["status"], "issued");
    assert_eq!(certs[0]["archived"], 0);
    assert_eq!(certs[0]["date_issued"], "2026-03-02T00:00:00+00:00");
    assert_eq!(certs[0]["email"], "admin@acme.test");
    assert_eq!(
        s.json(&format!("/order/certificate/{}/reissue", fx.issued)).await["certificates"],
        serde_json::json!([])
    );
}
