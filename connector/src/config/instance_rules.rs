//! What several gateway instances on one queue need to stay consistent, refused by `connector run` and
//! `connector check` when the config cannot give it.
//!
//! `amqp.single_active_consumer: true` says this config is run by several instances that take turns on one queue:
//! whichever is active must see what the others did. A ledger inside the process (`ledger.embedded`) is each
//! instance's own, so a request committed by one would be unknown to the next; and a redb state store
//! (`state.backend: redb`, the default) is a file of one machine, so outcomes, redelivery counts, the run history and
//! the observer checkpoint would each be one instance's own. Only `run` and `check` apply these rules: `connector
//! sandbox` serves an embedded ledger by design, and the offline commands (`process`, `test`, `explain`) and the
//! broker tools (`send`, `dead-letters`) start no instance.

use super::{Config, ConfigError, LedgerChoice, StateBackend};

/// The first rule the config breaks for running as one of several instances, if any: each is "single active
/// consumer ⇒ something every instance shares" — the ledger, then the state store.
pub fn check_instance_rules(config: &Config) -> Result<(), ConfigError> {
    if !config.amqp.single_active_consumer {
        return Ok(());
    }
    if let LedgerChoice::Embedded(_) = config.ledger_choice()? {
        return Err(ConfigError::invalid(
            "amqp.single_active_consumer",
            "true means several instances take turns on one queue, but ledger.embedded runs a ledger inside each \
             instance, so each would keep its own ledger — point every instance at one shared ledger \
             (`connector sandbox`, or a Daml participant) with ledger.daml.url, or set \
             amqp.single_active_consumer: false",
        ));
    }
    if config.state.backend == StateBackend::Redb {
        return Err(ConfigError::invalid(
            "amqp.single_active_consumer",
            "true means several instances take turns on one queue, but state.backend is redb, a file of one \
             machine, so each instance would keep its own outcomes, redelivery counts and observer checkpoint — set \
             state.backend: postgres with state.postgres.url pointing every instance at one database, or set \
             amqp.single_active_consumer: false",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(amqp: &str, ledger: &str) -> Config {
        let text = format!(
            "amqp: {{ {amqp} }}\nledger: {ledger}\nparty: Operator\nworkflows:\n  Shipment:\n    template: Cold:Shipment\n    \
             create:\n      parameters: {{ device: party }}\n      fields: {{ owner: \"{{{{party}}}}\" }}\n"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("connector.yaml");
        std::fs::write(&path, text).unwrap();
        Config::load(&path).unwrap()
    }

    const DAML: &str = "{ daml: { url: \"http://127.0.0.1:6865\", user_id: gateway } }";
    /// A Daml ledger, and the state in PostgreSQL: what several instances share.
    const DAML_SHARED: &str = "{ daml: { url: \"http://127.0.0.1:6865\", user_id: gateway } }\nstate: { backend: postgres, postgres: { url: \"postgres://postgres@127.0.0.1:5432/connector\" } }";

    #[test]
    fn a_single_active_consumer_needs_a_shared_ledger() {
        for ledger in [
            "{ embedded: {} }",
            "{ embedded: { in_memory: true } }",
            "{}",
        ] {
            let refused = check_instance_rules(&config("single_active_consumer: true", ledger))
                .expect_err(ledger)
                .to_string();
            assert!(
                refused.starts_with("amqp.single_active_consumer: true means several instances")
                    && refused.contains("ledger.daml.url")
                    && refused.contains("`connector sandbox`"),
                "{refused}"
            );
        }
        check_instance_rules(&config("single_active_consumer: true", DAML_SHARED)).unwrap();
        check_instance_rules(&config("queue_type: quorum", "{ embedded: {} }")).unwrap();
        check_instance_rules(&config("single_active_consumer: false", DAML)).unwrap();
    }

    #[test]
    fn a_single_active_consumer_needs_a_shared_state_store() {
        let refused = check_instance_rules(&config("single_active_consumer: true", DAML))
            .expect_err("redb")
            .to_string();
        assert!(
            refused.starts_with("amqp.single_active_consumer: true means several instances")
                && refused.contains("state.backend is redb")
                && refused.contains("state.postgres.url"),
            "{refused}"
        );
        check_instance_rules(&config("single_active_consumer: false", DAML)).unwrap();
    }
}
