//! Template ids in the form the gateway configured them.
//!
//! A workflow mapping may name its template by package name (`#cold-chain:Cold.Shipment:Shipment`), and a filter
//! or command with that reference is accepted by the participant; but Canton reports events with the *package id*
//! of the contract's package (`6f1a…:Cold.Shipment:Shipment`) and the name in a separate `package_name` field. The
//! gateway matches events to workflows by template id, so such events would match nothing. This rewrites, in place,
//! the identifier of every event whose module, entity and package name match one of the templates the caller asked
//! about, to that template's `#name` form. Identifiers already in package-id form in the config stay as they are.

use daml_ledger_api::v2::{self, Identifier};
use ledger_port::TemplateId;

/// The configured `#name` form matching an identifier of a package called `package_name`, if any.
fn configured_form<'a>(
    identifier: &Identifier,
    package_name: &str,
    templates: &'a [TemplateId],
) -> Option<&'a TemplateId> {
    if package_name.is_empty() || identifier.package_id.starts_with('#') {
        return None;
    }
    templates.iter().find(|t| {
        t.package.strip_prefix('#') == Some(package_name)
            && t.module == identifier.module_name
            && t.entity == identifier.entity_name
    })
}

fn rewrite(identifier: &mut Option<Identifier>, package_name: &str, templates: &[TemplateId]) {
    if let Some(id) = identifier.as_mut()
        && let Some(template) = configured_form(id, package_name, templates)
    {
        id.package_id = template.package.clone();
    }
}

/// Rewrites a created event's template id to its configured `#name` form.
pub fn prefer_configured_created(event: &mut v2::CreatedEvent, templates: &[TemplateId]) {
    rewrite(&mut event.template_id, &event.package_name, templates);
}

/// Rewrites every event's template id in a transaction to its configured `#name` form.
pub fn prefer_configured_forms(transaction: &mut v2::Transaction, templates: &[TemplateId]) {
    if !templates.iter().any(|t| t.package.starts_with('#')) {
        return;
    }
    for event in &mut transaction.events {
        match event.event.as_mut() {
            Some(v2::event::Event::Created(created)) => {
                prefer_configured_created(created, templates)
            }
            Some(v2::event::Event::Archived(archived)) => {
                rewrite(&mut archived.template_id, &archived.package_name, templates)
            }
            Some(v2::event::Event::Exercised(exercised)) => rewrite(
                &mut exercised.template_id,
                &exercised.package_name,
                templates,
            ),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(package: &str, module: &str, entity: &str) -> Option<Identifier> {
        Some(Identifier {
            package_id: package.into(),
            module_name: module.into(),
            entity_name: entity.into(),
        })
    }

    fn transaction() -> v2::Transaction {
        let created = v2::CreatedEvent {
            template_id: id("6f1a", "Cold.Shipment", "Shipment"),
            package_name: "cold-chain".into(),
            ..v2::CreatedEvent::default()
        };
        let exercised = v2::ExercisedEvent {
            template_id: id("6f1a", "Cold.Shipment", "Shipment"),
            package_name: "cold-chain".into(),
            ..v2::ExercisedEvent::default()
        };
        let other = v2::CreatedEvent {
            template_id: id("9b9b", "Other", "Thing"),
            package_name: "other".into(),
            ..v2::CreatedEvent::default()
        };
        v2::Transaction {
            events: vec![
                v2::Event {
                    event: Some(v2::event::Event::Exercised(exercised)),
                },
                v2::Event {
                    event: Some(v2::event::Event::Created(created)),
                },
                v2::Event {
                    event: Some(v2::event::Event::Created(other)),
                },
            ],
            ..v2::Transaction::default()
        }
    }

    fn package_ids(tx: &v2::Transaction) -> Vec<String> {
        tx.events
            .iter()
            .map(|e| match &e.event {
                Some(v2::event::Event::Created(c)) => c.template_id.clone(),
                Some(v2::event::Event::Exercised(x)) => x.template_id.clone(),
                Some(v2::event::Event::Archived(a)) => a.template_id.clone(),
                None => None,
            })
            .map(|i| i.map(|i| i.package_id).unwrap_or_default())
            .collect()
    }

    #[test]
    fn package_ids_become_the_configured_package_name_reference() {
        let mut tx = transaction();
        let configured = [TemplateId::parse("#cold-chain:Cold.Shipment:Shipment").expect("valid")];
        prefer_configured_forms(&mut tx, &configured);
        assert_eq!(package_ids(&tx), ["#cold-chain", "#cold-chain", "9b9b"]);
    }

    #[test]
    fn other_forms_and_other_packages_are_left_alone() {
        for configured in [
            "6f1a:Cold.Shipment:Shipment",
            "Cold.Shipment:Shipment",
            "#other-name:Cold.Shipment:Shipment",
            "#cold-chain:Cold.Shipment:Container",
        ] {
            let mut tx = transaction();
            prefer_configured_forms(&mut tx, &[TemplateId::parse(configured).expect("valid")]);
            assert_eq!(package_ids(&tx), ["6f1a", "6f1a", "9b9b"], "{configured}");
        }
    }
}
