//! Validating a `Commands` message and turning it into the port's `Submission`: exactly one create or exercise, a
//! command id, a user id and at least one acting party; records labelled (the embedded ledger addresses fields by
//! name). Every refusal is INVALID_ARGUMENT naming the field.

use daml_ledger_api::{record_from_proto, template_from_identifier, v2, value_from_proto};
use ledger_port::{Command, Submission, TemplateId};

use crate::request_errors::{invalid, missing};

/// A validated submission and the user that submitted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidSubmission {
    pub submission: Submission,
    pub user_id: String,
}

/// Checks `commands` (found at `path` in the request) and converts it.
pub fn submission_from_commands(
    commands: Option<&v2::Commands>,
    path: &str,
) -> Result<ValidSubmission, tonic::Status> {
    let commands = commands.ok_or_else(|| missing(path, "a Commands message"))?;
    if commands.command_id.is_empty() {
        return Err(missing(
            &format!("{path}.command_id"),
            "a non-empty command id (it is what deduplication keys on)",
        ));
    }
    if commands.user_id.is_empty() {
        return Err(missing(
            &format!("{path}.user_id"),
            "the submitting user's id",
        ));
    }
    if commands.act_as.is_empty() {
        return Err(missing(
            &format!("{path}.act_as"),
            "at least one acting party",
        ));
    }
    if let Some(i) = commands.act_as.iter().position(String::is_empty) {
        return Err(invalid(
            &format!("{path}.act_as[{i}]"),
            "empty party; expected a party id",
        ));
    }
    let [command] = commands.commands.as_slice() else {
        return Err(invalid(
            &format!("{path}.commands"),
            format!(
                "{} commands; expected exactly one create or exercise command (the sandbox commits one command per transaction)",
                commands.commands.len()
            ),
        ));
    };
    let command_path = format!("{path}.commands[0]");
    let command = match &command.command {
        Some(v2::command::Command::Create(create)) => {
            let create_path = format!("{command_path}.create");
            let template_id = template_of(create.template_id.as_ref(), &create_path)?;
            let arguments_path = format!("{create_path}.create_arguments");
            let record = create
                .create_arguments
                .as_ref()
                .ok_or_else(|| missing(&arguments_path, "a record of the template's fields"))?;
            let arguments = record_from_proto(record, &arguments_path)
                .map_err(|e| invalid(&e.path, format!("unexpected {}", e.found)))?;
            Command::Create {
                template_id,
                arguments,
            }
        }
        Some(v2::command::Command::Exercise(exercise)) => {
            let exercise_path = format!("{command_path}.exercise");
            let template_id = template_of(exercise.template_id.as_ref(), &exercise_path)?;
            if exercise.contract_id.is_empty() {
                return Err(missing(
                    &format!("{exercise_path}.contract_id"),
                    "the id of the contract to exercise",
                ));
            }
            if exercise.choice.is_empty() {
                return Err(missing(&format!("{exercise_path}.choice"), "a choice name"));
            }
            let argument_path = format!("{exercise_path}.choice_argument");
            let argument = exercise.choice_argument.as_ref().ok_or_else(|| {
                missing(&argument_path, "the choice argument (a record, or unit)")
            })?;
            let argument = value_from_proto(argument, &argument_path)
                .map_err(|e| invalid(&e.path, format!("unexpected {}", e.found)))?;
            Command::Exercise {
                template_id,
                contract_id: exercise.contract_id.clone(),
                choice: exercise.choice.clone(),
                argument,
            }
        }
        Some(v2::command::Command::CreateAndExercise(_)) => {
            return Err(invalid(
                &format!("{command_path}.create_and_exercise"),
                "not supported by the sandbox; expected a create or an exercise command",
            ));
        }
        None => {
            return Err(missing(&command_path, "a create or an exercise command"));
        }
    };
    Ok(ValidSubmission {
        submission: Submission {
            command_id: commands.command_id.clone(),
            act_as: commands.act_as.clone(),
            command,
        },
        user_id: commands.user_id.clone(),
    })
}

/// The template a command names: module and entity are required; the package may be a package id, a
/// `#package-name` reference or empty (the embedded ledger's templates have no package).
fn template_of(
    identifier: Option<&v2::Identifier>,
    path: &str,
) -> Result<TemplateId, tonic::Status> {
    let path = format!("{path}.template_id");
    let identifier = identifier.ok_or_else(|| {
        missing(
            &path,
            "an Identifier { package_id, module_name, entity_name }",
        )
    })?;
    checked_template(identifier, &path)
}

/// A wire identifier as a template id, refusing an empty module or entity name.
pub fn checked_template(
    identifier: &v2::Identifier,
    path: &str,
) -> Result<TemplateId, tonic::Status> {
    if identifier.module_name.is_empty() || identifier.entity_name.is_empty() {
        return Err(invalid(
            path,
            "empty module_name or entity_name; expected a template such as Module:Entity",
        ));
    }
    Ok(template_from_identifier(identifier))
}

#[cfg(test)]
mod tests {
    use super::*;
    use daml_ledger_api::{error_id_of, record_to_proto, value_to_proto};
    use ledger_port::{LedgerValue, Record};

    fn identifier() -> v2::Identifier {
        v2::Identifier {
            package_id: "#cold-chain".into(),
            module_name: "RefrigeratedTransportation".into(),
            entity_name: "Shipment".into(),
        }
    }

    fn create() -> v2::Command {
        v2::Command {
            command: Some(v2::command::Command::Create(v2::CreateCommand {
                template_id: Some(identifier()),
                create_arguments: Some(record_to_proto(
                    &Record::new().with("owner", LedgerValue::Party("Operator".into())),
                )),
            })),
        }
    }

    fn commands(list: Vec<v2::Command>) -> v2::Commands {
        v2::Commands {
            user_id: "gateway".into(),
            command_id: "cmd-1".into(),
            act_as: vec!["Operator".into()],
            commands: list,
            ..Default::default()
        }
    }

    fn refusal(commands: &v2::Commands) -> tonic::Status {
        submission_from_commands(Some(commands), "commands").expect_err("refused")
    }

    #[test]
    fn a_create_becomes_a_submission() {
        let valid =
            submission_from_commands(Some(&commands(vec![create()])), "commands").expect("valid");
        assert_eq!(valid.user_id, "gateway");
        assert_eq!(valid.submission.command_id, "cmd-1");
        assert_eq!(valid.submission.act_as, vec!["Operator".to_owned()]);
        let Command::Create {
            template_id,
            arguments,
        } = valid.submission.command
        else {
            panic!("a create");
        };
        assert_eq!(
            template_id.to_string(),
            "#cold-chain:RefrigeratedTransportation:Shipment"
        );
        assert_eq!(
            arguments.get("owner"),
            Some(&LedgerValue::Party("Operator".into()))
        );
    }

    #[test]
    fn an_exercise_keeps_contract_choice_and_argument() {
        let exercise = v2::Command {
            command: Some(v2::command::Command::Exercise(v2::ExerciseCommand {
                template_id: Some(identifier()),
                contract_id: "00ab".into(),
                choice: "Complete".into(),
                choice_argument: Some(value_to_proto(&LedgerValue::Record(Record::new()))),
            })),
        };
        let valid =
            submission_from_commands(Some(&commands(vec![exercise])), "commands").expect("valid");
        assert_eq!(
            valid.submission.command,
            Command::Exercise {
                template_id: template_from_identifier(&identifier()),
                contract_id: "00ab".into(),
                choice: "Complete".into(),
                argument: LedgerValue::Record(Record::new()),
            }
        );
    }

    #[test]
    fn every_refusal_is_invalid_argument_naming_the_field() {
        let mut no_id = commands(vec![create()]);
        no_id.command_id.clear();
        let mut no_user = commands(vec![create()]);
        no_user.user_id.clear();
        let mut no_party = commands(vec![create()]);
        no_party.act_as.clear();
        let mut empty_party = commands(vec![create()]);
        empty_party.act_as.push(String::new());
        let two = commands(vec![create(), create()]);
        let none = commands(vec![]);
        let empty_command = commands(vec![v2::Command { command: None }]);
        let unlabelled = commands(vec![v2::Command {
            command: Some(v2::command::Command::Create(v2::CreateCommand {
                template_id: Some(identifier()),
                create_arguments: Some(v2::Record {
                    record_id: None,
                    fields: vec![v2::RecordField {
                        label: String::new(),
                        value: Some(value_to_proto(&LedgerValue::Int64(1))),
                    }],
                }),
            })),
        }]);
        let no_template = commands(vec![v2::Command {
            command: Some(v2::command::Command::Create(v2::CreateCommand {
                template_id: None,
                create_arguments: Some(v2::Record::default()),
            })),
        }]);
        let bad_template = commands(vec![v2::Command {
            command: Some(v2::command::Command::Create(v2::CreateCommand {
                template_id: Some(v2::Identifier {
                    entity_name: String::new(),
                    ..identifier()
                }),
                create_arguments: Some(v2::Record::default()),
            })),
        }]);
        let no_contract = commands(vec![v2::Command {
            command: Some(v2::command::Command::Exercise(v2::ExerciseCommand {
                template_id: Some(identifier()),
                contract_id: String::new(),
                choice: "Complete".into(),
                choice_argument: Some(value_to_proto(&LedgerValue::Unit)),
            })),
        }]);
        let no_argument = commands(vec![v2::Command {
            command: Some(v2::command::Command::Exercise(v2::ExerciseCommand {
                template_id: Some(identifier()),
                contract_id: "00ab".into(),
                choice: "Complete".into(),
                choice_argument: None,
            })),
        }]);
        let create_and_exercise = commands(vec![v2::Command {
            command: Some(v2::command::Command::CreateAndExercise(
                v2::CreateAndExerciseCommand::default(),
            )),
        }]);
        let cases = [
            (no_id, "commands.command_id", "MISSING_FIELD"),
            (no_user, "commands.user_id", "MISSING_FIELD"),
            (no_party, "commands.act_as", "MISSING_FIELD"),
            (empty_party, "commands.act_as[1]", "INVALID_FIELD"),
            (two, "commands.commands: 2 commands", "INVALID_FIELD"),
            (none, "commands.commands: 0 commands", "INVALID_FIELD"),
            (
                empty_command,
                "commands.commands[0]: missing",
                "MISSING_FIELD",
            ),
            (
                unlabelled,
                "commands.commands[0].create.create_arguments",
                "INVALID_FIELD",
            ),
            (
                no_template,
                "commands.commands[0].create.template_id",
                "MISSING_FIELD",
            ),
            (
                bad_template,
                "commands.commands[0].create.template_id",
                "INVALID_FIELD",
            ),
            (
                no_contract,
                "commands.commands[0].exercise.contract_id",
                "MISSING_FIELD",
            ),
            (
                no_argument,
                "commands.commands[0].exercise.choice_argument",
                "MISSING_FIELD",
            ),
            (
                create_and_exercise,
                "commands.commands[0].create_and_exercise",
                "INVALID_FIELD",
            ),
        ];
        for (request, path, id) in cases {
            let status = refusal(&request);
            assert_eq!(status.code(), tonic::Code::InvalidArgument, "{path}");
            assert!(
                status.message().contains(path),
                "{path} not in {}",
                status.message()
            );
            assert_eq!(error_id_of(&status).as_deref(), Some(id), "{path}");
        }
        let absent = submission_from_commands(None, "commands").expect_err("refused");
        assert!(absent.message().contains("commands: missing"));
    }
}
