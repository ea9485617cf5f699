//! `ledger.daml` settings: defaults, validation with errors naming the path, and URLs and secrets never shown.

use super::*;

fn parse(yaml_as_json: serde_json::Value) -> Result<DamlSettings, String> {
    serde_json::from_value::<DamlSettings>(yaml_as_json).map_err(|e| e.to_string())
}

#[test]
fn defaults_and_all_keys() {
    let minimal = parse(serde_json::json!({"url": "http://127.0.0.1:6865", "user_id": "gateway"}))
        .expect("minimal settings");
    assert_eq!(minimal.call_timeout_ms, 30_000);
    assert_eq!(minimal.call_timeout(), Duration::from_secs(30));
    assert!(minimal.token_file.is_none() && minimal.tls.is_none() && minimal.read_as.is_empty());
    assert!(!minimal.uses_tls());
    minimal.validate().expect("valid");

    let full = parse(serde_json::json!({
        "url": "https://participant.example.com:443",
        "user_id": "gateway",
        "token_file": "/run/secrets/ledger.jwt",
        "tls": {"ca_file": "/etc/ca.pem", "cert_file": "/etc/client.pem", "key_file": "/etc/client.key"},
        "call_timeout_ms": 5000,
        "read_as": ["Auditor::1220"]
    }))
    .expect("full settings");
    assert!(full.uses_tls());
    full.validate().expect("valid");
}

#[test]
fn unknown_keys_are_refused() {
    let e = parse(serde_json::json!({"url": "http://h:1", "user_id": "u", "token": "secret"}))
        .expect_err("unknown key");
    assert!(e.contains("unknown field `token`"), "{e}");
    let e = parse(serde_json::json!({"url": "https://h:1", "user_id": "u", "tls": {"ca": "x"}}))
        .expect_err("unknown tls key");
    assert!(e.contains("unknown field `ca`"), "{e}");
    let e = parse(serde_json::json!({"url": "http://h:1"})).expect_err("missing user");
    assert!(e.contains("user_id"), "{e}");
}

fn refused(settings: &DamlSettings) -> String {
    settings.validate().expect_err("refused").to_string()
}

#[test]
fn validation_names_the_path_and_the_expected_form() {
    for url in [
        "",
        "127.0.0.1:6865",
        "ftp://h:1",
        "http://",
        "grpc://h:1",
        "http:///x",
    ] {
        let e = refused(&DamlSettings::new(url, "u"));
        assert!(
            e.starts_with("ledger.daml.url: expected http://… or https://…"),
            "{url:?}: {e}"
        );
    }
    let e = refused(&DamlSettings::new("http://h:1", " "));
    assert!(e.starts_with("ledger.daml.user_id: "), "{e}");

    let mut s = DamlSettings::new("http://h:1", "u");
    s.call_timeout_ms = 0;
    assert!(refused(&s).starts_with("ledger.daml.call_timeout_ms: expected milliseconds"));

    let mut s = DamlSettings::new("http://h:1", "u");
    s.read_as = vec!["Auditor".into(), "".into()];
    assert!(refused(&s).starts_with("ledger.daml.read_as[1]: "));

    let mut s = DamlSettings::new("http://h:1", "u");
    s.token_file = Some(PathBuf::new());
    assert!(refused(&s).starts_with("ledger.daml.token_file: "));

    let mut s = DamlSettings::new("http://h:1", "u");
    s.tls = Some(TlsSettings::default());
    assert!(refused(&s).starts_with("ledger.daml.tls: TLS options need an https:// url"));

    let mut s = DamlSettings::new("https://h:1", "u");
    s.tls = Some(TlsSettings {
        cert_file: Some("/c.pem".into()),
        ..TlsSettings::default()
    });
    assert!(refused(&s).starts_with("ledger.daml.tls.key_file: "));
    s.tls = Some(TlsSettings {
        key_file: Some("/c.key".into()),
        ..TlsSettings::default()
    });
    assert!(refused(&s).starts_with("ledger.daml.tls.cert_file: "));
}

#[test]
fn urls_are_shown_without_userinfo() {
    for (url, shown) in [
        (
            "https://participant.example.com:443",
            "https://participant.example.com:443",
        ),
        (
            "https://gw:Tr0ub4dor@participant.example.com:443",
            "https://participant.example.com:443",
        ),
        ("http://gw@127.0.0.1:6865", "http://127.0.0.1:6865"),
        ("http://gw:p@ss@host", "http://host"),
        ("http://gw:pa/ss?#@host:1", "http://host:1"),
        ("http://[::1]:6865", "http://[::1]:6865"),
        ("http://gw:secret@[::1]:6865", "http://[::1]:6865"),
        (
            "https://gw:secret@[2001:db8::7]:443",
            "https://[2001:db8::7]:443",
        ),
        ("127.0.0.1:6865", "127.0.0.1:6865"),
        ("gw:secret@127.0.0.1:6865", "127.0.0.1:6865"),
        ("", ""),
    ] {
        assert_eq!(url_without_userinfo(url), shown, "{url:?}");
    }
}

#[test]
fn userinfo_in_the_url_is_refused_without_being_shown() {
    for url in [
        "https://gw:Tr0ub4dor@participant.example.com:443",
        "http://gw:Tr0ub4dor@127.0.0.1:6865",
        "http://gw:Tr0ub4dor/x@127.0.0.1:6865",
        "gw:Tr0ub4dor@127.0.0.1:6865",
    ] {
        let e = refused(&DamlSettings::new(url, "u"));
        assert!(
            e.starts_with("ledger.daml.url: expected no user:password@ in the URL"),
            "{url:?}: {e}"
        );
        assert!(e.contains("ledger.daml.token_file"), "{e}");
        assert!(!e.contains("Tr0ub4dor"), "{e}");
    }
}

#[test]
fn debug_output_shows_the_url_without_userinfo() {
    let mut s = DamlSettings::new(
        "https://gw:Tr0ub4dor@participant.example.com:443",
        "gateway",
    );
    s.token_file = Some("/run/secrets/ledger.jwt".into());
    s.tls = Some(TlsSettings {
        ca_file: Some("/etc/ledger-ca.pem".into()),
        ..TlsSettings::default()
    });
    s.read_as = vec!["Auditor::1220".into()];
    for text in [format!("{s:?}"), format!("{s:#?}")] {
        assert!(!text.contains("Tr0ub4dor"), "{text}");
        for shown in [
            "https://participant.example.com:443",
            "gateway",
            "/run/secrets/ledger.jwt",
            "/etc/ledger-ca.pem",
            "30000",
            "Auditor::1220",
        ] {
            assert!(text.contains(shown), "{shown} missing from {text}");
        }
    }
}

#[test]
fn a_token_over_plaintext_http_is_refused_unless_the_host_is_loopback() {
    let with_token = |url: &str| {
        let mut s = DamlSettings::new(url, "gateway");
        s.token_file = Some("/run/secrets/ledger.jwt".into());
        s
    };
    for url in [
        "http://ledger.example.com:5001",
        "http://10.0.0.7:6865",
        "http://128.0.0.1:6865",
        "http://[2001:db8::7]:6865",
        "http://localhost.example.com:6865",
    ] {
        let e = refused(&with_token(url));
        assert!(
            e.starts_with(&format!("ledger.daml.url: refusing plaintext \"{url}\"")),
            "{url}: {e}"
        );
        assert!(e.contains("ledger.daml.token_file"), "{e}");
        assert!(e.contains("clear text"), "{e}");
        assert!(e.contains("https://"), "{e}");
    }
    for url in [
        "http://127.0.0.1:6865",
        "http://127.8.9.10:6865",
        "http://localhost:6865",
        "http://LOCALHOST:6865",
        "http://[::1]:6865",
        "https://ledger.example.com:5001",
        "https://10.0.0.7:6865",
    ] {
        with_token(url)
            .validate()
            .unwrap_or_else(|e| panic!("{url}: {e}"));
    }
    // Without a token there is no secret on the wire to protect.
    DamlSettings::new("http://ledger.example.com:5001", "gateway")
        .validate()
        .expect("plaintext without a token");
}
