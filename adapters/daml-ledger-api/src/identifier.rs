//! Template ids on the wire: `Identifier { package_id, module_name, entity_name }` ⇄ the port's `TemplateId`.

use ledger_port::TemplateId;

use crate::v2::Identifier;

/// The wire identifier of a template. An unqualified `Module:Entity` gets an empty `package_id`, which only the
/// sandbox accepts; a Canton participant needs `<package-id>` or `#<package-name>`.
pub fn identifier_from_template(template: &TemplateId) -> Identifier {
    Identifier {
        package_id: template.package.clone(),
        module_name: template.module.clone(),
        entity_name: template.entity.clone(),
    }
}

/// The port's template id for a wire identifier (no validation: the ledger is the authority on what exists).
pub fn template_from_identifier(identifier: &Identifier) -> TemplateId {
    TemplateId {
        package: identifier.package_id.clone(),
        module: identifier.module_name.clone(),
        entity: identifier.entity_name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_ids_round_trip_in_every_form() {
        for text in [
            "Shipment:Shipment",
            "#cold-chain:Cold.Shipment:Shipment",
            "6f1a0c:Cold.Shipment:Shipment",
        ] {
            let template = TemplateId::parse(text).expect("valid template id");
            let wire = identifier_from_template(&template);
            assert_eq!(template_from_identifier(&wire), template, "{text}");
        }
        let named = identifier_from_template(&TemplateId::parse("#pkg:M.N:E").expect("valid"));
        assert_eq!(named.package_id, "#pkg");
        assert_eq!(named.module_name, "M.N");
        assert_eq!(named.entity_name, "E");
    }
}
