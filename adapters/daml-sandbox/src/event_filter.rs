//! An `EventFormat` made usable: which parties asked, for which templates, and whether records keep their labels.
//!
//! Semantics follow the Ledger API: an event passes when one of the parties in `filters_by_party` may see it and
//! that party's filters admit its template, or when `filters_for_any_party` admits its template (then every party
//! that may see it is a witness). A `Filters` with no cumulative entry, or with a wildcard among them, admits every
//! template. A template filter naming a template the ledger does not know is refused with
//! `TEMPLATES_OR_INTERFACES_NOT_FOUND`, as a participant does; so is every interface filter (the sandbox's ledger
//! has templates only).

use std::collections::{BTreeMap, BTreeSet};

use daml_ledger_api::rejection::{TEMPLATES_OR_INTERFACES_NOT_FOUND, status_from_ledger_error};
use daml_ledger_api::v2;
use daml_ledger_api::v2::cumulative_filter::IdentifierFilter;
use ledger_port::{LedgerError, RejectionReason, TemplateId};

use crate::request_errors::{invalid, missing};
use crate::submission::checked_template;

/// Which templates a party's filters admit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    Wildcard,
    Templates(Vec<TemplateId>),
}

impl Selection {
    fn admits(&self, template: &TemplateId) -> bool {
        match self {
            Self::Wildcard => true,
            Self::Templates(templates) => templates.iter().any(|t| t.matches(template)),
        }
    }
}

/// A validated `EventFormat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFilter {
    by_party: BTreeMap<String, Selection>,
    any_party: Option<Selection>,
    /// Whether records keep their field labels.
    pub verbose: bool,
}

impl EventFilter {
    /// Every template, as these parties, labelled: what a submission answers with when the request has no format.
    pub fn wildcard_for(parties: &[String]) -> Self {
        Self {
            by_party: parties
                .iter()
                .map(|p| (p.clone(), Selection::Wildcard))
                .collect(),
            any_party: None,
            verbose: true,
        }
    }

    /// Validates the `EventFormat` found at `path`. `known` lists the ledger's templates, when it can tell.
    pub fn from_proto(
        format: Option<&v2::EventFormat>,
        path: &str,
        known: Option<&[TemplateId]>,
    ) -> Result<Self, tonic::Status> {
        let format = format.ok_or_else(|| {
            missing(
                path,
                "an EventFormat with filters_by_party or filters_for_any_party",
            )
        })?;
        if format.filters_by_party.is_empty() && format.filters_for_any_party.is_none() {
            return Err(missing(
                &format!("{path}.filters_by_party"),
                "filters for at least one party, or filters_for_any_party",
            ));
        }
        let mut unknown = BTreeSet::new();
        let mut by_party = BTreeMap::new();
        for (party, filters) in &format.filters_by_party {
            let party_path = format!("{path}.filters_by_party[{party:?}]");
            if party.is_empty() {
                return Err(invalid(&party_path, "empty party; expected a party id"));
            }
            let selection = selection(filters, &party_path, known, &mut unknown)?;
            by_party.insert(party.clone(), selection);
        }
        let any_party = match &format.filters_for_any_party {
            Some(filters) => Some(selection(
                filters,
                &format!("{path}.filters_for_any_party"),
                known,
                &mut unknown,
            )?),
            None => None,
        };
        if !unknown.is_empty() {
            let names: Vec<String> = unknown.into_iter().collect();
            return Err(status_from_ledger_error(
                &LedgerError::permanent(
                    RejectionReason::InvalidArgument,
                    format!(
                        "{path}: the ledger knows no template or interface {}",
                        names.join(", ")
                    ),
                )
                .with_ledger_error(TEMPLATES_OR_INTERFACES_NOT_FOUND),
            ));
        }
        Ok(Self {
            by_party,
            any_party,
            verbose: format.verbose,
        })
    }

    /// The parties that see an event on `template` whose stakeholders are `stakeholders`, sorted; empty when the
    /// event does not pass the filter.
    pub fn witnesses(&self, template: &TemplateId, stakeholders: &BTreeSet<String>) -> Vec<String> {
        if self.any_party.as_ref().is_some_and(|s| s.admits(template)) {
            return stakeholders.iter().cloned().collect();
        }
        self.by_party
            .iter()
            .filter(|(party, selection)| {
                stakeholders.contains(*party) && selection.admits(template)
            })
            .map(|(party, _)| party.clone())
            .collect()
    }
}

fn selection(
    filters: &v2::Filters,
    path: &str,
    known: Option<&[TemplateId]>,
    unknown: &mut BTreeSet<String>,
) -> Result<Selection, tonic::Status> {
    let mut templates = Vec::new();
    let mut wildcard = filters.cumulative.is_empty();
    for (i, cumulative) in filters.cumulative.iter().enumerate() {
        let entry_path = format!("{path}.cumulative[{i}]");
        match &cumulative.identifier_filter {
            Some(IdentifierFilter::WildcardFilter(_)) => wildcard = true,
            Some(IdentifierFilter::TemplateFilter(filter)) => {
                let id_path = format!("{entry_path}.template_filter.template_id");
                let identifier = filter.template_id.as_ref().ok_or_else(|| {
                    missing(
                        &id_path,
                        "an Identifier { package_id, module_name, entity_name }",
                    )
                })?;
                let template = checked_template(identifier, &id_path)?;
                if known.is_some_and(|known| !known.iter().any(|k| k.matches(&template))) {
                    unknown.insert(template.to_string());
                }
                templates.push(template);
            }
            Some(IdentifierFilter::InterfaceFilter(filter)) => {
                let name = filter
                    .interface_id
                    .as_ref()
                    .map(|i| daml_ledger_api::template_from_identifier(i).to_string())
                    .unwrap_or_else(|| "(no interface_id)".to_owned());
                unknown.insert(format!("interface {name}"));
            }
            None => {
                return Err(missing(
                    &entry_path,
                    "a wildcard_filter, template_filter or interface_filter",
                ));
            }
        }
    }
    Ok(if wildcard {
        Selection::Wildcard
    } else {
        Selection::Templates(templates)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use daml_ledger_api::error_id_of;

    fn identifier(module: &str, entity: &str) -> v2::Identifier {
        v2::Identifier {
            package_id: String::new(),
            module_name: module.into(),
            entity_name: entity.into(),
        }
    }

    fn template_filters(ids: &[v2::Identifier]) -> v2::Filters {
        v2::Filters {
            cumulative: ids
                .iter()
                .map(|id| v2::CumulativeFilter {
                    identifier_filter: Some(IdentifierFilter::TemplateFilter(v2::TemplateFilter {
                        template_id: Some(id.clone()),
                        include_created_event_blob: false,
                    })),
                })
                .collect(),
        }
    }

    fn known() -> Vec<TemplateId> {
        vec![
            TemplateId::parse("Shipment:Shipment").expect("valid"),
            TemplateId::parse("Shipment:Invoice").expect("valid"),
        ]
    }

    fn parties(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn party_filters_admit_by_stakeholder_and_template() {
        let format = v2::EventFormat {
            filters_by_party: [
                ("Alice".to_owned(), v2::Filters::default()),
                (
                    "Bob".to_owned(),
                    template_filters(&[identifier("Shipment", "Invoice")]),
                ),
            ]
            .into(),
            filters_for_any_party: None,
            verbose: true,
        };
        let known = known();
        let filter =
            EventFilter::from_proto(Some(&format), "event_format", Some(&known)).expect("valid");
        let shipment = TemplateId::parse("Shipment:Shipment").expect("valid");
        let invoice = TemplateId::parse("#pkg:Shipment:Invoice").expect("valid");
        let both = parties(&["Alice", "Bob", "Carol"]);
        assert_eq!(filter.witnesses(&shipment, &both), ["Alice"]);
        assert_eq!(filter.witnesses(&invoice, &both), ["Alice", "Bob"]);
        assert!(
            filter
                .witnesses(&shipment, &parties(&["Bob", "Carol"]))
                .is_empty()
        );
        assert!(filter.verbose);
    }

    #[test]
    fn any_party_filters_show_every_stakeholder() {
        let format = v2::EventFormat {
            filters_by_party: Default::default(),
            filters_for_any_party: Some(template_filters(&[identifier("Shipment", "Shipment")])),
            verbose: false,
        };
        let filter = EventFilter::from_proto(Some(&format), "event_format", None).expect("valid");
        let shipment = TemplateId::parse("Shipment:Shipment").expect("valid");
        let invoice = TemplateId::parse("Shipment:Invoice").expect("valid");
        let stakeholders = parties(&["Alice", "Bob"]);
        assert_eq!(filter.witnesses(&shipment, &stakeholders), ["Alice", "Bob"]);
        assert!(filter.witnesses(&invoice, &stakeholders).is_empty());
        assert!(!filter.verbose);
    }

    #[test]
    fn a_wildcard_among_template_filters_admits_everything() {
        let mut filters = template_filters(&[identifier("Shipment", "Invoice")]);
        filters.cumulative.push(v2::CumulativeFilter {
            identifier_filter: Some(IdentifierFilter::WildcardFilter(v2::WildcardFilter {
                include_created_event_blob: false,
            })),
        });
        let format = v2::EventFormat {
            filters_by_party: [("Alice".to_owned(), filters)].into(),
            ..Default::default()
        };
        let filter = EventFilter::from_proto(Some(&format), "event_format", None).expect("valid");
        let other = TemplateId::parse("Other:Thing").expect("valid");
        assert_eq!(filter.witnesses(&other, &parties(&["Alice"])), ["Alice"]);
    }

    #[test]
    fn unknown_templates_and_interfaces_are_not_found_all_at_once() {
        let mut filters = template_filters(&[
            identifier("Shipment", "Shipment"),
            identifier("Shipment", "Nope"),
        ]);
        filters.cumulative.push(v2::CumulativeFilter {
            identifier_filter: Some(IdentifierFilter::InterfaceFilter(v2::InterfaceFilter {
                interface_id: Some(identifier("Iface", "Holding")),
                include_interface_view: false,
                include_created_event_blob: false,
            })),
        });
        let format = v2::EventFormat {
            filters_by_party: [("Alice".to_owned(), filters)].into(),
            ..Default::default()
        };
        let known = known();
        let status = EventFilter::from_proto(Some(&format), "event_format", Some(&known))
            .expect_err("refused");
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert_eq!(
            error_id_of(&status).as_deref(),
            Some(TEMPLATES_OR_INTERFACES_NOT_FOUND)
        );
        assert!(
            status.message().contains("Shipment:Nope"),
            "{}",
            status.message()
        );
        assert!(status.message().contains("interface Iface:Holding"));
        assert!(!status.message().contains("Shipment:Shipment"));
    }

    #[test]
    fn malformed_formats_name_the_field() {
        let cases: [(Option<v2::EventFormat>, &str); 4] = [
            (None, "event_format: missing"),
            (
                Some(v2::EventFormat::default()),
                "event_format.filters_by_party: missing",
            ),
            (
                Some(v2::EventFormat {
                    filters_by_party: [(
                        "Alice".to_owned(),
                        v2::Filters {
                            cumulative: vec![v2::CumulativeFilter {
                                identifier_filter: None,
                            }],
                        },
                    )]
                    .into(),
                    ..Default::default()
                }),
                "event_format.filters_by_party[\"Alice\"].cumulative[0]: missing",
            ),
            (
                Some(v2::EventFormat {
                    filters_for_any_party: Some(template_filters(&[identifier("", "E")])),
                    ..Default::default()
                }),
                "event_format.filters_for_any_party.cumulative[0].template_filter.template_id",
            ),
        ];
        for (format, expected) in cases {
            let status = EventFilter::from_proto(format.as_ref(), "event_format", None)
                .expect_err("refused");
            assert_eq!(status.code(), tonic::Code::InvalidArgument, "{expected}");
            assert!(
                status.message().contains(expected),
                "{expected} not in {}",
                status.message()
            );
        }
    }
}
