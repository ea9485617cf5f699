//! `POST /dead-letters/replay` and `GET /dead-letters` against the real RabbitMQ and the real binary: the HTTP
//! surface is read-only unless `http.admin_token_file` is set; with it, only a request carrying that token replays,
//! and a replay over HTTP moves letters exactly as `connector dead-letters replay` does — the 5030s of an outage
//! commit once it is over, the other letters stay in order.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::example_requests::{action, bodies, create, is_terminal, linear_id, request_id};
use support::gateway_harness::Harness;
use support::http_request::{HttpResponse, http_request};
use support::*;

const TOKEN: &str = "test-admin-token-0123456789abcdef";

async fn replay(h: &Harness, authorization: Option<&str>, body: &str) -> HttpResponse {
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(value) = authorization {
        headers.push(("Authorization", value));
    }
    http_request(
        h.http_port,
        "POST",
        "/dead-letters/replay",
        &headers,
        body.as_bytes(),
    )
    .await
    .expect("the gateway answers")
}

async fn dead_letters(h: &Harness, limit: usize) -> Value {
    let r = http_request(
        h.http_port,
        "GET",
        &format!("/dead-letters?limit={limit}"),
        &[],
        b"",
    )
    .await
    .expect("the gateway answers");
    assert_eq!(r.status, 200, "{r:?}");
    r.json()
}

fn ids_and_codes(letters: &Value) -> Vec<(Value, Value)> {
    letters["letters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["requestId"].clone(), l["errorCode"].clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_admin_token_file_the_http_surface_refuses_to_replay() {
    let h = Harness::new("http-replay-off", LedgerKind::Embedded).await;
    let config = h.config(gateway_harness::IN_MEMORY, "");
    let _gw = h.start(&config).await;
    h.broker
        .publish_all(&[br#"{"requestId":"bad-0","messageName":"NoSuchMessage"}"#.to_vec()])
        .await;
    wait_for_ready(&h.names.dead_letter_queue, 1).await;

    let refused = replay(&h, Some(&format!("Bearer {TOKEN}")), r#"{"all":true}"#).await;
    assert_eq!(refused.status, 403, "{refused:?}");
    assert!(
        refused.json()["error"]
            .as_str()
            .unwrap()
            .contains("http.admin_token_file"),
        "{refused:?}"
    );
    let listed = dead_letters(&h, 10).await;
    assert_eq!(listed["depth"], 1);
    assert_eq!(listed["replayEnabled"], false);
    assert_eq!(
        ids_and_codes(&listed),
        [(json!("bad-0"), json!(4000))],
        "{listed}"
    );
    h.broker.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_5030s_of_an_outage_are_replayed_over_http_with_the_admin_token_only() {
    let h = Harness::new("http-replay", LedgerKind::Embedded).await;
    let outage = "  embedded:\n    faults:\n      rules:\n        - { choice: TransferResponsibility, kind: transient }";
    let config = h.config(outage, "");
    h.enable_admin_token(&config, TOKEN);
    let mut gw = h.start(&config).await;
    let target = linear_id("hr-create");
    let mut messages = bodies(&[
        create("hr-create"),
        action(
            "hr-complete",
            &target,
            "TransferResponsibility",
            &[("newCounterparty", "Carrier")],
        ),
    ]);
    messages.push(b"not json at all".to_vec());
    h.broker.publish_all(&messages).await;
    wait_for_ready(&h.names.dead_letter_queue, 2).await;
    let capture = h.names.capture_queue.clone();
    h.broker
        .collect_until(&capture, Duration::from_secs(30), |g| {
            g.iter().filter(|c| is_terminal(c)).count() >= 2
        })
        .await;
    assert!(gw.terminate(), "SIGTERM: a clean stop");

    // The outage is over: the same gateway, state and journal, without the fault.
    let config = h.config("  embedded: {}", "");
    h.enable_admin_token(&config, TOKEN);
    let _gw = h.start(&config).await;
    let before = dead_letters(&h, 10).await;
    assert_eq!(before["replayEnabled"], true);
    assert_eq!(
        ids_and_codes(&before),
        [
            (json!("hr-complete"), json!(5030)),
            (Value::Null, json!(4000))
        ],
        "{before}"
    );

    for (authorization, why) in [
        (None, "no token"),
        (Some("Bearer not-the-token-0123456789"), "a wrong token"),
        (
            Some(&format!("Basic {TOKEN}") as &str),
            "not a bearer token",
        ),
        (
            Some(&format!("Bearer {TOKEN}x") as &str),
            "the token and more",
        ),
    ] {
        let refused = replay(&h, authorization, r#"{"codes":[5030]}"#).await;
        assert_eq!(refused.status, 401, "{why}: {refused:?}");
        assert_eq!(refused.header("www-authenticate"), Some("Bearer"), "{why}");
    }
    let bearer = format!("Bearer {TOKEN}");
    for (body, names) in [
        ("{}", "\"codes\", \"requestIds\" or \"all\""),
        (r#"{"codes":["5030"]}"#, "codes[0]"),
        (r#"{"code":[5030]}"#, "unknown field `code`"),
        ("[1", "expected"),
    ] {
        let refused = replay(&h, Some(&bearer), body).await;
        assert_eq!(refused.status, 400, "{body}: {refused:?}");
        let error = refused.json()["error"].as_str().unwrap().to_owned();
        assert!(error.contains(names), "{body}: {error}");
    }
    assert_eq!(
        ids_and_codes(&dead_letters(&h, 10).await),
        ids_and_codes(&before),
        "a refused replay moved nothing"
    );

    let dry = replay(&h, Some(&bearer), r#"{"codes":[5030],"dryRun":true}"#).await;
    assert_eq!(dry.status, 200, "{dry:?}");
    assert_eq!(dry.json()["summary"]["matched"], 1);
    assert_eq!(dry.json()["summary"]["moved"], 0);
    assert_eq!(
        dead_letters(&h, 10).await["depth"],
        2,
        "a dry run moves nothing"
    );

    let replayed = replay(&h, Some(&bearer), r#"{"codes":[5030]}"#).await;
    assert_eq!(replayed.status, 200, "{replayed:?}");
    let answer = replayed.json();
    assert_eq!(answer["letters"][0]["requestId"], "hr-complete");
    assert_eq!(answer["letters"][0]["action"], "replayed");
    assert_eq!(answer["summary"]["moved"], 1);
    assert_eq!(answer["summary"]["kept"], 1);

    let after = h
        .broker
        .collect_until(&capture, Duration::from_secs(30), |g| {
            g.iter().any(|c| {
                is_terminal(c)
                    && request_id(c).as_deref() == Some("hr-complete")
                    && c.json["status"] == "Committed"
            })
        })
        .await;
    let complete: Vec<_> = after
        .iter()
        .filter(|c| request_id(c).as_deref() == Some("hr-complete"))
        .collect();
    assert!(
        complete.iter().all(|c| c.json["status"] != "Failure"),
        "the replayed request commits once the outage is over, with no failure: {complete:?}"
    );
    assert_eq!(
        ids_and_codes(&dead_letters(&h, 10).await),
        [(Value::Null, json!(4000))],
        "the letter not chosen stays"
    );
    h.broker.cleanup().await;
}
