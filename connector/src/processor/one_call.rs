//! A message processed in one call: parsed, then [`Processor::begin_parsed`] and [`Processor::finish`] back to
//! back, for callers that need no overlap between requests (`connector process`,
//! `connector test`, the per-contract gateway, whose ordering happens before).

use message_schema::ingress::IngressRequest;
use message_schema::parse::IngressError;

use super::{Processed, Processor, Sender};

impl Processor {
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
