//! `telemetry:` — optional export of the gateway's spans over OTLP/HTTP. Trace context itself is carried whether or
//! not spans are exported (`crate::request_trace`).

use schemars::JsonSchema;
use serde::Deserialize;

/// Span export. Trace context is carried across the gateway (ingress `traceparent` → ledger calls → egress headers)
/// whether or not spans are exported.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// An OpenTelemetry collector's OTLP/HTTP endpoint (`http://127.0.0.1:4318`): spans are sent as protobuf to
    /// `<endpoint>/v1/traces` (an endpoint already ending in `/v1/traces` is used as it is). Absent: no export, and
    /// nothing runs for it.
    #[schemars(regex(pattern = r"^http://[^/@\s?#]+(/[^\s?#]*)?$"))]
    pub otlp_endpoint: Option<String>,
    /// The `service.name` resource attribute of the exported spans.
    #[schemars(regex(pattern = r"\S"))]
    pub service_name: String,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            service_name: "connector".to_owned(),
        }
    }
}

impl TelemetryConfig {
    /// Where spans are posted: the endpoint with `/v1/traces` added unless it already ends so.
    pub fn traces_url(&self) -> Option<String> {
        let endpoint = self.otlp_endpoint.as_deref()?;
        if endpoint.trim_end_matches('/').ends_with("/v1/traces") {
            Some(endpoint.to_owned())
        } else {
            Some(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
        }
    }

    pub(super) fn invalid_setting(&self) -> Option<(&'static str, String)> {
        if let Some(endpoint) = &self.otlp_endpoint {
            let authority = endpoint
                .strip_prefix("http://")
                .map(|rest| rest.split('/').next().unwrap_or_default());
            let problem = match authority {
                // A query or fragment may carry an API key: named, never shown (and OTLP/HTTP takes neither).
                _ if endpoint.contains(['?', '#']) => Some(
                    "the endpoint holds a query or fragment (`?…`, `#…`), which is not sent as credentials".to_owned(),
                ),
                _ if endpoint.contains(char::is_whitespace) => Some(format!("{endpoint:?} holds whitespace")),
                // User info may be a secret: named, never shown.
                Some(authority) if authority.contains('@') => {
                    Some("the endpoint holds user info (`user:password@`), which is not sent as credentials".to_owned())
                }
                Some(authority) if !authority.is_empty() => None,
                _ => Some(format!("{endpoint:?} is not an http:// URL with a host")),
            };
            if let Some(problem) = problem {
                return Some((
                    "telemetry.otlp_endpoint",
                    format!(
                        "{problem}; expected an OTLP/HTTP endpoint http://host:port (e.g. http://127.0.0.1:4318); \
                         https is not supported (run the collector beside the gateway)"
                    ),
                ));
            }
        }
        if self.service_name.trim().is_empty() {
            return Some((
                "telemetry.service_name",
                "expected a non-empty service name".to_owned(),
            ));
        }
        None
    }
}
