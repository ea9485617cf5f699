//! Constructors for every egress shape, and what a transport needs to know about a message (routing key,
//! requestId, status, compact JSON).

use uuid::Uuid;

use crate::egress::{
    AdditionalInformation, Caller, ContractMessage, ContractProperty, CorrelatableFailureMessage,
    EGRESS_SCHEMA_VERSION, EgressMessage, EventMessage, EventParameter, EventTransaction,
    FailureDetails, GenericFailureMessage, LedgerInfo, ModifyingTransaction, ReadReplyMessage,
    RequestFailureMessage, UpdateMessage, UpdateMessageName, UpdateStatus,
};
use crate::ids::{TransactionIds, contract_id};
use crate::parse::IngressError;

fn info_block(info: &LedgerInfo) -> AdditionalInformation {
    AdditionalInformation {
        ledger_type: info.ledger_type.clone(),
        platform_version: info.platform_version,
        error_code: None,
        error_message: None,
        error_kind: None,
        field: None,
        ledger_error: None,
    }
}

fn failure_block(info: &LedgerInfo, details: &FailureDetails) -> AdditionalInformation {
    AdditionalInformation {
        error_code: Some(details.code.code()),
        error_message: Some(details.message.clone()),
        error_kind: Some(details.code.kind().to_owned()),
        field: details.field.clone(),
        ledger_error: details.ledger_error.clone(),
        ..info_block(info)
    }
}

const FAILURE: &str = "Failure";

impl EgressMessage {
    /// `CreateContractUpdate` / `CreateContractActionUpdate` with status Submitted or Committed.
    ///
    /// ```
    /// use message_schema::egress::*;
    /// let info = LedgerInfo { ledger_type: "embedded".into(), platform_version: 1, connection_id: 1 };
    /// let lid = uuid::Uuid::parse_str("27b3b7ad-10ce-4bd4-a72c-1bf215709a21").unwrap();
    /// let m = EgressMessage::update(&info, UpdateMessageName::CreateContractUpdate, "r1", &lid, UpdateStatus::Committed);
    /// assert!(m.to_json_string().contains(r#""contractId":6160331808014087866"#));
    /// ```
    pub fn update(
        info: &LedgerInfo,
        name: UpdateMessageName,
        request_id: &str,
        linear_id: &Uuid,
        status: UpdateStatus,
    ) -> Self {
        EgressMessage::Update(UpdateMessage {
            message_name: name,
            additional_information: info_block(info),
            request_id: request_id.to_owned(),
            contract_id: contract_id(linear_id),
            contract_ledger_identifier: linear_id.to_string(),
            connection_id: info.connection_id,
            message_schema_version: EGRESS_SCHEMA_VERSION.to_owned(),
            status,
        })
    }

    /// `EventMessage` (`ContractFunctionInvocation`) for an exercise committed in the update `update_id`.
    ///
    /// ```
    /// use message_schema::egress::*;
    /// let info = LedgerInfo { ledger_type: "embedded".into(), platform_version: 1, connection_id: 1 };
    /// let lid = uuid::Uuid::nil();
    /// let m = EgressMessage::event(&info, None, "Alice", &lid, "Ship", vec![], "upd-1", 1);
    /// assert_eq!(m.message_name(), "EventMessage");
    /// assert_eq!(m.request_id(), None);
    /// ```
    #[allow(clippy::too_many_arguments)]
    pub fn event(
        info: &LedgerInfo,
        request_id: Option<&str>,
        caller_party: &str,
        linear_id: &Uuid,
        function_name: &str,
        parameters: Vec<EventParameter>,
        update_id: &str,
        in_transaction_sequence_number: u32,
    ) -> Self {
        Self::event_with_ids(
            info,
            request_id,
            caller_party,
            linear_id,
            function_name,
            parameters,
            &TransactionIds::from_update_id(update_id),
            Some(in_transaction_sequence_number),
        )
    }

    /// [`EgressMessage::event`] with precomputed transaction ids (and an optional sequence number).
    ///
    /// ```
    /// use message_schema::egress::*;
    /// use message_schema::ids::TransactionIds;
    /// let info = LedgerInfo { ledger_type: "corda".into(), platform_version: 1, connection_id: 1 };
    /// let m = EgressMessage::event_with_ids(&info, Some("r"), "P", &uuid::Uuid::nil(), "F", vec![], &TransactionIds::from_digest(&[0xFF; 32]), None);
    /// assert!(m.to_json_string().contains(r#""transactionId":18446744073709551615"#));
    /// ```
    #[allow(clippy::too_many_arguments)]
    pub fn event_with_ids(
        info: &LedgerInfo,
        request_id: Option<&str>,
        caller_party: &str,
        linear_id: &Uuid,
        function_name: &str,
        parameters: Vec<EventParameter>,
        ids: &TransactionIds,
        in_transaction_sequence_number: Option<u32>,
    ) -> Self {
        EgressMessage::Event(EventMessage {
            message_name: "EventMessage".to_owned(),
            event_name: "ContractFunctionInvocation".to_owned(),
            request_id: request_id.map(str::to_owned),
            caller: Caller {
                caller_type: "User".to_owned(),
                id: crate::ids::caller_id(caller_party),
                ledger_identifier: caller_party.to_owned(),
            },
            additional_information: info_block(info),
            contract_id: contract_id(linear_id),
            contract_ledger_identifier: linear_id.to_string(),
            function_name: function_name.to_owned(),
            parameters,
            transaction: EventTransaction {
                transaction_id: ids.id,
                transaction_hash: ids.hash.clone(),
                from: caller_party.to_owned(),
                to: linear_id.to_string(),
            },
            in_transaction_sequence_number,
            connection_id: info.connection_id,
            message_schema_version: EGRESS_SCHEMA_VERSION.to_owned(),
        })
    }

    /// The full `ContractMessage` of a lineage after the update `update_id`, made by `from_party`.
    ///
    /// ```
    /// use message_schema::egress::*;
    /// let info = LedgerInfo { ledger_type: "embedded".into(), platform_version: 1, connection_id: 1 };
    /// let m = EgressMessage::contract(&info, Some("r1"), &uuid::Uuid::nil(), vec![], "upd", "Alice", true);
    /// assert!(m.to_json_string().ends_with(r#""isNewContract":true}"#));
    /// ```
    pub fn contract(
        info: &LedgerInfo,
        request_id: Option<&str>,
        linear_id: &Uuid,
        contract_properties: Vec<ContractProperty>,
        update_id: &str,
        from_party: &str,
        is_new_contract: bool,
    ) -> Self {
        Self::contract_with_ids(
            info,
            request_id,
            linear_id,
            contract_properties,
            &TransactionIds::from_update_id(update_id),
            from_party,
            is_new_contract,
        )
    }

    /// [`EgressMessage::contract`] with precomputed transaction ids.
    ///
    /// ```
    /// use message_schema::egress::*;
    /// use message_schema::ids::TransactionIds;
    /// let info = LedgerInfo { ledger_type: "embedded".into(), platform_version: 1, connection_id: 1 };
    /// let ids = TransactionIds::from_digest(&[0xFF; 32]);
    /// let m = EgressMessage::contract_with_ids(&info, None, &uuid::Uuid::nil(), vec![], &ids, "A", false);
    /// assert!(m.to_json_string().contains(r#""blockId":18446744073709551615"#));
    /// ```
    pub fn contract_with_ids(
        info: &LedgerInfo,
        request_id: Option<&str>,
        linear_id: &Uuid,
        contract_properties: Vec<ContractProperty>,
        ids: &TransactionIds,
        from_party: &str,
        is_new_contract: bool,
    ) -> Self {
        EgressMessage::Contract(ContractMessage {
            message_name: "ContractMessage".to_owned(),
            block_id: ids.id,
            block_hash: ids.hash.clone(),
            request_id: request_id.map(str::to_owned),
            additional_information: info_block(info),
            contract_ledger_identifier: linear_id.to_string(),
            contract_properties,
            modifying_transactions: vec![ModifyingTransaction {
                from: from_party.to_owned(),
                to: linear_id.to_string(),
                transaction_id: ids.id,
                transaction_hash: ids.hash.clone(),
            }],
            contract_id: contract_id(linear_id),
            connection_id: info.connection_id,
            message_schema_version: EGRESS_SCHEMA_VERSION.to_owned(),
            is_new_contract,
        })
    }

    /// The reduced `ContractMessage` answering a `ReadContractRequest`.
    ///
    /// ```
    /// use message_schema::egress::*;
    /// let info = LedgerInfo { ledger_type: "embedded".into(), platform_version: 1, connection_id: 1 };
    /// let m = EgressMessage::read_reply(&info, "r1", &uuid::Uuid::nil(), vec![]);
    /// assert!(!m.to_json_string().contains("blockId"));
    /// ```
    pub fn read_reply(
        info: &LedgerInfo,
        request_id: &str,
        linear_id: &Uuid,
        contract_properties: Vec<ContractProperty>,
    ) -> Self {
        EgressMessage::ReadReply(ReadReplyMessage {
            message_name: "ContractMessage".to_owned(),
            request_id: request_id.to_owned(),
            additional_information: info_block(info),
            contract_ledger_identifier: linear_id.to_string(),
            contract_properties,
            message_schema_version: EGRESS_SCHEMA_VERSION.to_owned(),
        })
    }

    /// The Failure of an understood request; `contractId` and `contractLedgerIdentifier` only when the linear id is
    /// known.
    ///
    /// ```
    /// use message_schema::egress::*;
    /// use message_schema::error_code::ErrorCode;
    /// let info = LedgerInfo { ledger_type: "embedded".into(), platform_version: 1, connection_id: 1 };
    /// let d = FailureDetails { code: ErrorCode::NotFound, message: "gone".into(), field: None, ledger_error: None };
    /// let m = EgressMessage::request_failure(&info, "r1", UpdateMessageName::ReadContractUpdate, None, &d);
    /// assert!(m.to_json_string().contains(r#""errorCode":4040"#));
    /// assert!(!m.to_json_string().contains("contractId"));
    /// ```
    pub fn request_failure(
        info: &LedgerInfo,
        request_id: &str,
        name: UpdateMessageName,
        linear_id: Option<&Uuid>,
        details: &FailureDetails,
    ) -> Self {
        EgressMessage::RequestFailure(RequestFailureMessage {
            request_id: request_id.to_owned(),
            contract_id: linear_id.map(contract_id),
            connection_id: info.connection_id,
            message_name: name,
            contract_ledger_identifier: linear_id.map(Uuid::to_string),
            additional_information: failure_block(info, details),
            status: FAILURE.to_owned(),
            message_schema_version: EGRESS_SCHEMA_VERSION.to_owned(),
        })
    }

    /// The Failure of a malformed message: correlatable when a requestId could be read, generic otherwise.
    ///
    /// ```
    /// use message_schema::egress::*;
    /// let info = LedgerInfo { ledger_type: "embedded".into(), platform_version: 1, connection_id: 1 };
    /// let err = message_schema::parse::parse_ingress(b"nope").unwrap_err();
    /// let m = EgressMessage::ingress_failure(&info, &err);
    /// assert_eq!(m.message_name(), "Failure");
    /// ```
    pub fn ingress_failure(info: &LedgerInfo, error: &IngressError) -> Self {
        let details = FailureDetails {
            code: error.code,
            message: error.message.clone(),
            field: error.field.clone(),
            ledger_error: None,
        };
        let additional_information = failure_block(info, &details);
        match &error.request_id {
            Some(request_id) => EgressMessage::CorrelatableFailure(CorrelatableFailureMessage {
                request_id: request_id.clone(),
                additional_information,
                status: FAILURE.to_owned(),
                message_schema_version: EGRESS_SCHEMA_VERSION.to_owned(),
            }),
            None => EgressMessage::GenericFailure(GenericFailureMessage {
                additional_information,
                status: FAILURE.to_owned(),
                message_schema_version: EGRESS_SCHEMA_VERSION.to_owned(),
            }),
        }
    }

    /// The routing key: the messageName, or `Failure` for failures that have none.
    pub fn message_name(&self) -> &str {
        match self {
            EgressMessage::Update(m) => update_name(m.message_name),
            EgressMessage::Event(m) => &m.message_name,
            EgressMessage::Contract(m) => &m.message_name,
            EgressMessage::ReadReply(m) => &m.message_name,
            EgressMessage::RequestFailure(m) => update_name(m.message_name),
            EgressMessage::CorrelatableFailure(_) | EgressMessage::GenericFailure(_) => FAILURE,
        }
    }

    /// The requestId the message answers, if any.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            EgressMessage::Update(m) => Some(&m.request_id),
            EgressMessage::Event(m) => m.request_id.as_deref(),
            EgressMessage::Contract(m) => m.request_id.as_deref(),
            EgressMessage::ReadReply(m) => Some(&m.request_id),
            EgressMessage::RequestFailure(m) => Some(&m.request_id),
            EgressMessage::CorrelatableFailure(m) => Some(&m.request_id),
            EgressMessage::GenericFailure(_) => None,
        }
    }

    /// `Submitted`, `Committed` or `Failure`, for the messages that carry a status.
    pub fn status(&self) -> Option<&str> {
        match self {
            EgressMessage::Update(m) => Some(match m.status {
                UpdateStatus::Submitted => "Submitted",
                UpdateStatus::Committed => "Committed",
            }),
            EgressMessage::RequestFailure(_)
            | EgressMessage::CorrelatableFailure(_)
            | EgressMessage::GenericFailure(_) => Some(FAILURE),
            _ => None,
        }
    }

    /// Compact JSON bytes.
    pub fn to_json_vec(&self) -> Vec<u8> {
        // Serialising these plain structs cannot fail (no maps with non-string keys, no custom serialisers); the
        // fallback keeps that an impossibility rather than a panic.
        serde_json::to_vec(self)
            .unwrap_or_else(|_| br#"{"status":"Failure","messageSchemaVersion":"1.0.0"}"#.to_vec())
    }

    /// Compact JSON text.
    pub fn to_json_string(&self) -> String {
        String::from_utf8(self.to_json_vec()).unwrap_or_default()
    }

    /// Reads an egress message back from JSON (for clients and tests), telling the shapes apart by their keys.
    ///
    /// ```
    /// use message_schema::egress::*;
    /// let info = LedgerInfo { ledger_type: "embedded".into(), platform_version: 1, connection_id: 1 };
    /// let m = EgressMessage::read_reply(&info, "r1", &uuid::Uuid::nil(), vec![]);
    /// assert_eq!(EgressMessage::from_json_slice(&m.to_json_vec()).unwrap(), m);
    /// ```
    pub fn from_json_slice(bytes: &[u8]) -> Result<Self, String> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
        let name = value.get("messageName").and_then(|v| v.as_str());
        let status = value.get("status").and_then(|v| v.as_str());
        let shape = |e: serde_json::Error| format!("not a valid egress message: {e}");
        match (name, status) {
            (Some("EventMessage"), _) => serde_json::from_value(value)
                .map(EgressMessage::Event)
                .map_err(shape),
            (Some("ContractMessage"), _) if value.get("blockId").is_some() => {
                serde_json::from_value(value)
                    .map(EgressMessage::Contract)
                    .map_err(shape)
            }
            (Some("ContractMessage"), _) => serde_json::from_value(value)
                .map(EgressMessage::ReadReply)
                .map_err(shape),
            (Some(_), Some("Failure")) => serde_json::from_value(value)
                .map(EgressMessage::RequestFailure)
                .map_err(shape),
            (Some(_), Some(_)) => serde_json::from_value(value)
                .map(EgressMessage::Update)
                .map_err(shape),
            (None, Some("Failure")) if value.get("requestId").is_some() => {
                serde_json::from_value(value)
                    .map(EgressMessage::CorrelatableFailure)
                    .map_err(shape)
            }
            (None, Some("Failure")) => serde_json::from_value(value)
                .map(EgressMessage::GenericFailure)
                .map_err(shape),
            _ => Err("not an egress message: no messageName and no Failure status".to_owned()),
        }
    }
}

fn update_name(name: UpdateMessageName) -> &'static str {
    match name {
        UpdateMessageName::CreateContractUpdate => "CreateContractUpdate",
        UpdateMessageName::CreateContractActionUpdate => "CreateContractActionUpdate",
        UpdateMessageName::ReadContractUpdate => "ReadContractUpdate",
    }
}
