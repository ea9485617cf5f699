//! The Ledger API requests the adapter sends, built from the port's model without any I/O: commands, and the
//! event / transaction / update formats that say which parties' events, on which templates, in which shape.
//!
//! Every format asks for `verbose = true` because the conversions need record field labels, and transactions come
//! in the `LEDGER_EFFECTS` shape because Workbench event messages need the exercised choice and its argument.

use std::collections::HashMap;

use daml_ledger_api::v2::{
    self, Commands, CumulativeFilter, EventFormat, Filters, TemplateFilter, TransactionFormat,
    UpdateFormat, WildcardFilter, cumulative_filter::IdentifierFilter,
};
use daml_ledger_api::{identifier_from_template, record_to_proto, value_to_proto};
use ledger_port::{Command, Submission, TemplateId};

/// The `Commands` of one submission: its command id and acting parties, the gateway's user, the extra read-as
/// parties, and the one command.
pub fn commands(user_id: &str, read_as: &[String], submission: &Submission) -> Commands {
    Commands {
        user_id: user_id.to_owned(),
        command_id: submission.command_id.clone(),
        act_as: submission.act_as.clone(),
        read_as: read_as.to_vec(),
        commands: vec![command(&submission.command)],
        ..Commands::default()
    }
}

/// The wire command: a create with labelled fields, or an exercise with its choice argument.
pub fn command(command: &Command) -> v2::Command {
    let command = match command {
        Command::Create {
            template_id,
            arguments,
        } => v2::command::Command::Create(v2::CreateCommand {
            template_id: Some(identifier_from_template(template_id)),
            create_arguments: Some(record_to_proto(arguments)),
        }),
        Command::Exercise {
            template_id,
            contract_id,
            choice,
            argument,
        } => v2::command::Command::Exercise(v2::ExerciseCommand {
            template_id: Some(identifier_from_template(template_id)),
            contract_id: contract_id.clone(),
            choice: choice.clone(),
            choice_argument: Some(value_to_proto(argument)),
        }),
    };
    v2::Command {
        command: Some(command),
    }
}

/// The filters for one party: a template filter per template, or the wildcard when `templates` is empty.
fn filters(templates: &[TemplateId]) -> Filters {
    let cumulative = if templates.is_empty() {
        vec![CumulativeFilter {
            identifier_filter: Some(IdentifierFilter::WildcardFilter(WildcardFilter {
                include_created_event_blob: false,
            })),
        }]
    } else {
        templates
            .iter()
            .map(|template| CumulativeFilter {
                identifier_filter: Some(IdentifierFilter::TemplateFilter(TemplateFilter {
                    template_id: Some(identifier_from_template(template)),
                    include_created_event_blob: false,
                })),
            })
            .collect()
    };
    Filters { cumulative }
}

/// Events of `templates` (all templates when empty) visible to any of `parties`, verbose. With no party at all
/// the filter applies to any party, which needs the user's `canReadAsAnyParty` right.
pub fn event_format(parties: &[String], templates: &[TemplateId]) -> EventFormat {
    if parties.is_empty() {
        return EventFormat {
            filters_by_party: HashMap::new(),
            filters_for_any_party: Some(filters(templates)),
            verbose: true,
        };
    }
    EventFormat {
        filters_by_party: parties
            .iter()
            .map(|party| (party.clone(), filters(templates)))
            .collect(),
        filters_for_any_party: None,
        verbose: true,
    }
}

/// Ledger-effects transactions in `event_format`.
pub fn transaction_format(event_format: EventFormat) -> TransactionFormat {
    TransactionFormat {
        event_format: Some(event_format),
        transaction_shape: v2::TransactionShape::LedgerEffects as i32,
    }
}

/// Transactions only (no reassignments or topology events), in `transaction_format`.
pub fn update_format(transaction_format: TransactionFormat) -> UpdateFormat {
    UpdateFormat {
        include_transactions: Some(transaction_format),
        include_reassignments: None,
    }
}

/// The parties to read as: the filter's, or the configured ones when it names none, then the `read_as` extras,
/// each once, in order.
pub fn reading_parties(
    filter_parties: &[String],
    configured: &[String],
    read_as: &[String],
) -> Vec<String> {
    let base = if filter_parties.is_empty() {
        configured
    } else {
        filter_parties
    };
    let mut parties: Vec<String> = Vec::with_capacity(base.len() + read_as.len());
    for party in base.iter().chain(read_as) {
        if !parties.contains(party) {
            parties.push(party.clone());
        }
    }
    parties
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_port::{LedgerValue, Record};

    fn template() -> TemplateId {
        TemplateId::parse("#cold-chain:Cold.Shipment:Shipment").expect("valid")
    }

    #[test]
    fn a_create_carries_identity_parties_and_labelled_fields() {
        let submission = Submission {
            command_id: "wb-create-1".into(),
            act_as: vec!["Operator::1220".into()],
            command: Command::Create {
                template_id: template(),
                arguments: Record::new()
                    .with("owner", LedgerValue::Party("Operator::1220".into()))
                    .with("maxHumidity", LedgerValue::Int64(60)),
            },
        };
        let c = commands("gateway", &["Auditor::1220".to_owned()], &submission);
        assert_eq!(c.user_id, "gateway");
        assert_eq!(c.command_id, "wb-create-1");
        assert_eq!(c.act_as, ["Operator::1220"]);
        assert_eq!(c.read_as, ["Auditor::1220"]);
        assert!(
            c.deduplication_period.is_none(),
            "the participant's default period applies"
        );
        assert_eq!(c.commands.len(), 1);
        let Some(v2::command::Command::Create(create)) = &c.commands[0].command else {
            panic!("a create command: {:?}", c.commands[0]);
        };
        let id = create.template_id.as_ref().expect("template id");
        assert_eq!(
            (
                id.package_id.as_str(),
                id.module_name.as_str(),
                id.entity_name.as_str()
            ),
            ("#cold-chain", "Cold.Shipment", "Shipment")
        );
        let labels: Vec<&str> = create
            .create_arguments
            .as_ref()
            .expect("arguments")
            .fields
            .iter()
            .map(|f| f.label.as_str())
            .collect();
        assert_eq!(labels, ["owner", "maxHumidity"]);
    }

    #[test]
    fn an_exercise_names_contract_choice_and_argument() {
        let wire = command(&Command::Exercise {
            template_id: template(),
            contract_id: "00c0ffee".into(),
            choice: "IngestTelemetry".into(),
            argument: LedgerValue::Record(Record::new().with("humidity", LedgerValue::Int64(42))),
        });
        let Some(v2::command::Command::Exercise(exercise)) = wire.command else {
            panic!("an exercise command");
        };
        assert_eq!(exercise.contract_id, "00c0ffee");
        assert_eq!(exercise.choice, "IngestTelemetry");
        let Some(v2::value::Sum::Record(argument)) = exercise.choice_argument.and_then(|v| v.sum)
        else {
            panic!("a record argument");
        };
        assert_eq!(argument.fields[0].label, "humidity");
    }

    #[test]
    fn formats_filter_by_party_and_template_verbosely_in_ledger_effects() {
        let parties = vec!["Operator".to_owned(), "Device01".to_owned()];
        let format = transaction_format(event_format(&parties, &[template()]));
        assert_eq!(
            format.transaction_shape, 2,
            "TRANSACTION_SHAPE_LEDGER_EFFECTS"
        );
        let events = format.event_format.as_ref().expect("event format");
        assert!(events.verbose);
        assert!(events.filters_for_any_party.is_none());
        assert_eq!(events.filters_by_party.len(), 2);
        for party in &parties {
            let filters = &events.filters_by_party[party];
            assert_eq!(filters.cumulative.len(), 1);
            let Some(IdentifierFilter::TemplateFilter(t)) =
                &filters.cumulative[0].identifier_filter
            else {
                panic!("a template filter");
            };
            assert_eq!(
                t.template_id.as_ref().map(|i| i.entity_name.as_str()),
                Some("Shipment")
            );
            assert!(!t.include_created_event_blob);
        }
        let update = update_format(format.clone());
        assert_eq!(update.include_transactions, Some(format));
        assert!(update.include_reassignments.is_none());
    }

    #[test]
    fn no_templates_means_a_wildcard_and_no_parties_means_any_party() {
        let wildcard = event_format(&["Operator".to_owned()], &[]);
        assert!(matches!(
            wildcard.filters_by_party["Operator"].cumulative[0].identifier_filter,
            Some(IdentifierFilter::WildcardFilter(_))
        ));
        let any = event_format(&[], &[template()]);
        assert!(any.filters_by_party.is_empty());
        assert_eq!(
            any.filters_for_any_party.map(|f| f.cumulative.len()),
            Some(1)
        );
    }

    #[test]
    fn reading_parties_fall_back_to_the_configured_ones_and_add_read_as_once() {
        let configured = vec!["Operator".to_owned(), "Device01".to_owned()];
        let read_as = vec!["Auditor".to_owned(), "Operator".to_owned()];
        assert_eq!(
            reading_parties(&[], &configured, &read_as),
            ["Operator", "Device01", "Auditor"]
        );
        assert_eq!(
            reading_parties(&["Device01".to_owned()], &configured, &read_as),
            ["Device01", "Auditor", "Operator"]
        );
    }
}
