//! The state service's active contract set: filtered by party and template, rebuilt at past offsets, an unknown
//! template or an offset beyond the end refused.

use daml_ledger_api::error_id_of;
use daml_ledger_api::rejection::TEMPLATES_OR_INTERFACES_NOT_FOUND;

use super::*;

#[tokio::test]
async fn the_acs_is_filtered_by_party_and_template_and_rebuilt_at_past_offsets() {
    let fixture = Fixture::new();
    let first = fixture.create("c1", "Operator", "Carrier").await;
    let first_id = created(&first, 0).contract_id.clone();
    let moved = fixture.exercise("x1", &first_id, "Transfer").await;
    let successor_id = created(&moved, 1).contract_id.clone();
    let other = fixture.create("c2", "Operator", "Retailer").await;
    let other_id = created(&other, 0).contract_id.clone();

    let ids = |events: Vec<v2::CreatedEvent>| {
        events
            .into_iter()
            .map(|c| c.contract_id)
            .collect::<Vec<_>>()
    };
    let now = acs(&fixture, 3, event_format(&["Operator"]))
        .await
        .expect("acs");
    assert_eq!(ids(now), [successor_id.clone(), other_id.clone()]);
    let zero = acs(&fixture, 0, event_format(&["Operator"]))
        .await
        .expect("acs");
    assert_eq!(
        ids(zero),
        [successor_id.clone(), other_id.clone()],
        "0 means now"
    );
    let past = acs(&fixture, 1, event_format(&["Operator"]))
        .await
        .expect("acs");
    assert_eq!(ids(past), [first_id]);

    let carrier = acs(&fixture, 3, event_format(&["Carrier"]))
        .await
        .expect("acs");
    assert_eq!(carrier.len(), 1);
    assert_eq!(carrier[0].contract_id, successor_id);
    assert_eq!(carrier[0].witness_parties, ["Carrier"]);
    assert!(
        acs(&fixture, 3, event_format(&["Nobody"]))
            .await
            .expect("acs")
            .is_empty()
    );

    let any = v2::EventFormat {
        filters_by_party: Default::default(),
        filters_for_any_party: Some(v2::Filters::default()),
        verbose: false,
    };
    let everything = acs(&fixture, 3, any).await.expect("acs");
    assert_eq!(everything.len(), 2);
    assert_eq!(everything[1].witness_parties, ["Operator", "Retailer"]);
    assert!(
        everything[1]
            .create_arguments
            .as_ref()
            .expect("arguments")
            .fields
            .iter()
            .all(|f| f.label.is_empty()),
        "verbose = false drops labels"
    );

    let mut unknown = event_format(&["Operator"]);
    unknown.filters_by_party.insert(
        "Operator".into(),
        v2::Filters {
            cumulative: vec![v2::CumulativeFilter {
                identifier_filter: Some(v2::cumulative_filter::IdentifierFilter::TemplateFilter(
                    v2::TemplateFilter {
                        template_id: Some(v2::Identifier {
                            entity_name: "Invoice".into(),
                            ..identifier()
                        }),
                        include_created_event_blob: false,
                    },
                )),
            }],
        },
    );
    let status = acs(&fixture, 3, unknown)
        .await
        .expect_err("unknown template");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(
        error_id_of(&status).as_deref(),
        Some(TEMPLATES_OR_INTERFACES_NOT_FOUND)
    );
    assert!(
        status.message().contains("#cold-chain:Cold:Invoice"),
        "{}",
        status.message()
    );

    let status = acs(&fixture, 4, event_format(&["Operator"]))
        .await
        .expect_err("beyond the end");
    assert_eq!(status.code(), tonic::Code::OutOfRange);
}
