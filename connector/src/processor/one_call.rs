//! A message processed in one call: parsed within the processor's limits, then [`Processor::begin`] and
//! [`Processor::finish`] back to back, for callers that need no overlap between requests (`connector process`,
//! `connector test`, the per-contract gateway, whose ordering happens before).

use message_schema::ingress::IngressRequest;
use message_schema::parse::{IngressError, parse_ingress_with};

use super::{Processed, Processor, Sender};

impl Processor {
    /// Parses one raw ingress body within the processor's limits, as [`Processor::begin`] does first: an oversized
    /// body is refused without being read.
    pub fn parse(&self, body: &[u8]) -> Result<IngressRequest, IngressError> {
        parse_ingress_with(body, &self.settings.limits)
    }

    /// Processes one raw ingress body from no particular sender.
    pub async fn process(&self, body: &[u8]) -> Processed {
        self.process_from(body, &Sender::default()).await
    }

    /// Processes one raw ingress body from `sender`.
    pub async fn process_from(&self, body: &[u8], sender: &Sender) -> Processed {
        self.process_parsed(body, self.parse(body), sender).await
    }

    /// Processes a body already parsed with [`Processor::parse`].
    pub async fn process_parsed(
        &self,
        body: &[u8],
        parsed: Result<IngressRequest, IngressError>,
        sender: &Sender,
    ) -> Processed {
        let staged = self.begin_parsed(body, parsed, sender).await;
        self.finish(staged).await
    }
}
