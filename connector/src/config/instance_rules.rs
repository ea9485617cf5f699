//! What several gateway instances on one queue need to stay consistent, refused by `connector run` and
//! `connector check` when the config cannot give it.
//!
//! `amqp.single_active_consumer: true` says this config is run by several instances that take turns on one queue:
//! whichever is active must see what the others did. A ledger inside the process (`ledger.embedded`) is each
//! instance's own, so a request committed by one would be unknown to the next. Only `run` and `check` apply these
//! rules: `connector sandbox` serves an embedded ledger by design, and the offline commands (`process`, `test`,
//! `explain`) and the broker tools (`send`, `dead-letters`) start no instance.

use super::{Config, ConfigError, LedgerChoice};

/// The first rule the config breaks for running as one of several instances, if any.
///
/// Each rule is "single active consumer ⇒ something every instance shares". Today that is the ledger. To extend:
/// once `state.backend` exists, add "single active consumer ⇒ `state.backend: postgres`" here as a second check
/// (the redb store is a file of one machine, so outcomes, redelivery counts and the observer checkpoint would be
/// each instance's own), with a message naming `state.backend` and `state.postgres.url`, and a fixture beside
/// `tests/fixtures/broken-configs/check-only/single-active-consumer-with-embedded-ledger.yaml`.
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
        check_instance_rules(&config("single_active_consumer: true", DAML)).unwrap();
        check_instance_rules(&config("queue_type: quorum", "{ embedded: {} }")).unwrap();
        check_instance_rules(&config("single_active_consumer: false", DAML)).unwrap();
    }
}
