//! The optional token check: a tonic interceptor in front of every service that answers UNAUTHENTICATED (a
//! configuration fault in the shared error table) unless the call carries `authorization: Bearer <token>`.

use std::sync::Arc;

use ledger_port::{LedgerError, RejectionReason};

use crate::request_errors::ledger_failure;
use crate::settings::AccessToken;

/// Lets a call through when no token is configured, or when it presents the configured one.
#[derive(Debug, Clone)]
pub struct TokenCheck {
    expected: Option<Arc<AccessToken>>,
}

impl TokenCheck {
    pub fn new(expected: Option<AccessToken>) -> Self {
        Self {
            expected: expected.map(Arc::new),
        }
    }

    fn check(&self, metadata: &tonic::metadata::MetadataMap) -> Result<(), tonic::Status> {
        let Some(expected) = &self.expected else {
            return Ok(());
        };
        let refuse = |why: &str| {
            Err(ledger_failure(&LedgerError::configuration(
                RejectionReason::Unauthenticated,
                why,
            )))
        };
        let Some(header) = metadata.get("authorization") else {
            return refuse("the call carries no `authorization: Bearer <token>` metadata");
        };
        match header.as_bytes().strip_prefix(b"Bearer ") {
            Some(presented) if expected.matches(presented) => Ok(()),
            Some(_) => {
                refuse("the bearer token in `authorization` is not the one this sandbox accepts")
            }
            None => refuse("the `authorization` metadata is not of the form `Bearer <token>`"),
        }
    }
}

impl tonic::service::Interceptor for TokenCheck {
    fn call(&mut self, request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        self.check(request.metadata())?;
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::service::Interceptor;

    fn call(check: &mut TokenCheck, header: Option<&'static str>) -> Result<(), tonic::Status> {
        let mut request = tonic::Request::new(());
        if let Some(value) = header {
            request
                .metadata_mut()
                .insert("authorization", value.parse().expect("ascii"));
        }
        check.call(request).map(|_| ())
    }

    #[test]
    fn only_the_configured_bearer_token_passes() {
        let mut open = TokenCheck::new(None);
        assert!(call(&mut open, None).is_ok());

        let token = AccessToken::new("s3cret").expect("valid");
        let mut guarded = TokenCheck::new(Some(token));
        assert!(call(&mut guarded, Some("Bearer s3cret")).is_ok());
        for header in [
            None,
            Some("Bearer wrong"),
            Some("s3cret"),
            Some("Basic s3cret"),
        ] {
            let status = call(&mut guarded, header).expect_err("refused");
            assert_eq!(status.code(), tonic::Code::Unauthenticated, "{header:?}");
            assert!(!status.message().contains("s3cret"), "{}", status.message());
        }
    }
}
