//! The operator page at `GET /` in a real headless Chromium (Debian's `chromium` through `chromedriver`, installed
//! by `.ci/run`), against the real binary and RabbitMQ: the page loads with no console errors, shows the broker and
//! ledger connected, shows a request sent through RabbitMQ a moment earlier and clicks through to its lookup, finds
//! it with the lookup form (with scripts on, and with scripts off), refuses the replay action without the admin
//! token and replays with it, and never shows the token. A screenshot is saved under the test's output directory.

mod support;

use std::time::Duration;

use fantoccini::Locator;
use support::browser::{Chromedriver, console_entries, text_when};
use support::example_requests::{bodies, create, is_terminal, request_id};
use support::gateway_harness::Harness;
use support::http_request::http_request;
use support::*;

const TOKEN: &str = "page-admin-token-0123456789abcdef";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_page_in_a_real_browser() {
    let h = Harness::new("op-page", LedgerKind::Embedded).await;
    let config = h.config(gateway_harness::IN_MEMORY, "");
    h.enable_admin_token(&config, TOKEN);
    let gw = h.start(&config).await;
    let mut messages = bodies(&[create("page-create")]);
    messages.push(br#"{"requestId":"page-bad","messageName":"NoSuchMessage"}"#.to_vec());
    h.broker.publish_all(&messages).await;
    h.broker
        .collect_until(&h.names.capture_queue, Duration::from_secs(30), |g| {
            g.iter()
                .any(|c| is_terminal(c) && request_id(c).as_deref() == Some("page-create"))
        })
        .await;
    wait_for_ready(&h.names.dead_letter_queue, 1).await;

    let driver = Chromedriver::start().await;
    let browser = driver.browser(true).await;
    let page = format!("http://127.0.0.1:{}/", h.http_port);
    browser.goto(&page).await.unwrap();
    assert_eq!(browser.title().await.unwrap(), "Connector gateway");
    text_when(&browser, "readiness", Duration::from_secs(20), |t| {
        t == "Ready"
    })
    .await;
    assert_eq!(
        browser
            .find(Locator::Id("broker"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "connected"
    );
    assert_eq!(
        browser
            .find(Locator::Id("ledger"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "connected"
    );
    let recent = text_when(&browser, "recent-requests", Duration::from_secs(20), |t| {
        t.contains("page-create") && t.contains("page-bad")
    })
    .await;
    assert!(recent.contains("Committed"), "{recent}");
    assert!(
        recent.contains("4000"),
        "the dead-lettered request and its code: {recent}"
    );
    text_when(
        &browser,
        "dead-letter-depth",
        Duration::from_secs(20),
        |t| t == "1",
    )
    .await;
    text_when(&browser, "failures-by-code", Duration::from_secs(20), |t| {
        t.contains("4000")
    })
    .await;

    let caption = text_when(&browser, "activity-caption", Duration::from_secs(20), |t| {
        t.contains("last window")
    })
    .await;
    let overview = http_request(h.http_port, "GET", "/overview", &[], b"")
        .await
        .unwrap()
        .json();
    let windows = overview["activity"].as_array().unwrap();
    let total = |key: &str| {
        windows
            .iter()
            .map(|w| w[key].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(
        (total("answered"), total("failed")),
        (2, 1),
        "the chart's windows count the create and the dead-lettered request: {caption}"
    );
    assert!(
        browser
            .find(Locator::Css("#activity-chart polyline"))
            .await
            .is_ok(),
        "the chart draws the answered requests"
    );

    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("operator_page");
    std::fs::create_dir_all(&shots).unwrap();
    let screenshot = browser.screenshot().await.unwrap();
    assert!(screenshot.starts_with(b"\x89PNG"), "a PNG screenshot");
    std::fs::write(shots.join("operator-page.png"), &screenshot).unwrap();
    eprintln!("screenshot: {}", shots.join("operator-page.png").display());

    // Click through from the recent requests to the lookup.
    browser
        .find(Locator::LinkText("page-create"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let state = text_when(&browser, "lookup-state", Duration::from_secs(10), |t| {
        !t.is_empty()
    })
    .await;
    assert_eq!(state, "done");
    assert!(browser.source().await.unwrap().contains("Committed"));

    // The lookup form, typed into.
    browser.goto(&page).await.unwrap();
    let field = browser
        .find(Locator::Id("lookup-request-id"))
        .await
        .unwrap();
    field.send_keys("page-bad").await.unwrap();
    browser
        .find(Locator::Css("form[action='/lookup'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let state = text_when(&browser, "lookup-state", Duration::from_secs(10), |t| {
        !t.is_empty()
    })
    .await;
    assert_eq!(state, "dead_lettered");

    let errors: Vec<_> = console_entries(&browser)
        .await
        .into_iter()
        .filter(|e| e["level"] == "SEVERE")
        .collect();
    assert!(
        errors.is_empty(),
        "console errors while browsing: {errors:?}"
    );

    // The replay action: refused with a wrong token, done with the right one.
    browser.goto(&page).await.unwrap();
    text_when(
        &browser,
        "dead-letter-depth",
        Duration::from_secs(20),
        |t| t == "1",
    )
    .await;
    let token = browser.find(Locator::Id("replay-token")).await.unwrap();
    token.send_keys("not-the-admin-token-at-all").await.unwrap();
    browser
        .find(Locator::Id("replay-codes"))
        .await
        .unwrap()
        .send_keys("4000")
        .await
        .unwrap();
    browser
        .find(Locator::Id("replay-dry-run"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .find(Locator::Id("replay-button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    text_when(&browser, "replay-result", Duration::from_secs(20), |t| {
        t.starts_with("Refused (HTTP 401)")
    })
    .await;
    token.clear().await.unwrap();
    token.send_keys(TOKEN).await.unwrap();
    browser
        .find(Locator::Id("replay-button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    text_when(&browser, "replay-result", Duration::from_secs(30), |t| {
        t.starts_with("Replayed 1 letter(s)")
    })
    .await;
    assert_eq!(
        token.prop("value").await.unwrap().as_deref(),
        Some(""),
        "the token is not left in the page after the replay"
    );

    // No secret on the page or in what it reads, and nothing went wrong in the browser.
    let source = browser.source().await.unwrap();
    assert!(
        !source.contains(TOKEN),
        "the admin token is not on the page"
    );
    for path in ["/", "/overview", "/page/app.js", "/status"] {
        let body = http_request(h.http_port, "GET", path, &[], b"")
            .await
            .unwrap()
            .body;
        assert!(!body.contains(TOKEN), "{path} shows the admin token");
        assert!(
            !body.contains("guest:guest"),
            "{path} shows the broker password"
        );
    }
    // The refused replay's 401 is logged by the browser as a failed load; that one is expected, nothing else.
    let errors: Vec<_> = console_entries(&browser)
        .await
        .into_iter()
        .filter(|e| e["level"] == "SEVERE")
        .filter(|e| {
            let message = e["message"].as_str().unwrap_or_default();
            !(e["source"] == "network"
                && message.contains("/dead-letters/replay")
                && message.contains("401"))
        })
        .collect();
    assert!(
        errors.is_empty(),
        "console errors while replaying: {errors:?}"
    );
    browser.close().await.unwrap();

    // Scripts off: the lookup still works (a plain form and a page rendered by the gateway).
    let plain = driver.browser(false).await;
    plain.goto(&page).await.unwrap();
    // With scripts on, the badge changes within one poll; here it must keep the page's own text.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        plain
            .find(Locator::Id("readiness"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "Readiness: loading…",
        "this browser really runs no script"
    );
    plain
        .find(Locator::Id("lookup-request-id"))
        .await
        .unwrap()
        .send_keys("page-create")
        .await
        .unwrap();
    plain
        .find(Locator::Css("form[action='/lookup'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let state = text_when(&plain, "lookup-state", Duration::from_secs(10), |t| {
        !t.is_empty()
    })
    .await;
    assert_eq!(state, "done");
    plain.close().await.unwrap();
    drop(gw);
    h.broker.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lookup_page_escapes_what_a_sender_wrote_and_forbids_scripts_of_others() {
    let h = Harness::new("op-lookup", LedgerKind::Embedded).await;
    let config = h.config(gateway_harness::IN_MEMORY, "");
    let _gw = h.start(&config).await;
    let hostile = r#"<script>alert("x")</script>&"'/"#;
    h.broker
        .publish_all(&[serde_json::to_vec(&serde_json::json!({
            "requestId": hostile,
            "messageName": "NoSuchMessage",
        }))
        .unwrap()])
        .await;
    wait_for_ready(&h.names.dead_letter_queue, 1).await;
    let encoded: String = hostile.bytes().map(|b| format!("%{b:02X}")).collect();
    let page = http_request(
        h.http_port,
        "GET",
        &format!("/lookup?requestId={encoded}"),
        &[],
        b"",
    )
    .await
    .unwrap();
    assert_eq!(page.status, 200, "{page:?}");
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!page.body.contains("<script>alert"), "{}", page.body);
    assert!(
        page.body
            .contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&quot;&#39;/"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(r#"id="lookup-state">dead_lettered<"#),
        "{}",
        page.body
    );

    let unknown = http_request(h.http_port, "GET", "/lookup?requestId=never-sent", &[], b"")
        .await
        .unwrap();
    assert!(
        unknown.body.contains(r#"id="lookup-state">unknown<"#),
        "{}",
        unknown.body
    );
    let missing = http_request(h.http_port, "GET", "/lookup", &[], b"")
        .await
        .unwrap();
    assert_eq!(missing.status, 400, "{missing:?}");
    assert!(missing.body.contains("requestId"), "{}", missing.body);
    h.broker.cleanup().await;
}
