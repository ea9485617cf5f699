//! The optional OTLP pipeline: with `telemetry.otlp_endpoint` set, the gateway's spans (one per delivery, children
//! for its ledger calls and its publishing) are batched and posted as OTLP/HTTP protobuf to the collector, with the
//! resource attribute `service.name`. Without it nothing is built: no exporter thread, no span bookkeeping.
//!
//! The SDK's batch processor exports from a thread of its own with the blocking HTTP client, so nothing here runs on
//! the gateway's async runtime; [`Telemetry::shutdown`] flushes what is still batched when the gateway stops cleanly.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::registry::LookupSpan;

use crate::config::TelemetryConfig;

/// How long one export may take before the batch is given up.
const EXPORT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The tracing layer that hands spans to the pipeline.
pub type SpanLayer<S> = Box<dyn Layer<S> + Send + Sync>;

/// The running export pipeline.
pub struct Telemetry {
    provider: SdkTracerProvider,
}

/// The pipeline and the tracing layer that feeds it its spans; None when no endpoint is configured.
pub fn start<S>(config: &TelemetryConfig) -> anyhow::Result<Option<(Telemetry, SpanLayer<S>)>>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    let Some(url) = config.traces_url() else {
        return Ok(None);
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url.clone())
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .map_err(|e| {
            anyhow::anyhow!(
                "telemetry.otlp_endpoint: cannot set up the OTLP exporter for {url}: {e}"
            )
        })?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(config.service_name.clone())
                .build(),
        )
        .build();
    let tracer = provider.tracer("connector");
    // The gateway's own spans whatever `log.level` says: exporting does not depend on what is logged.
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(Targets::new().with_target("connector", tracing::Level::INFO));
    Ok(Some((Telemetry { provider }, Box::new(layer))))
}

impl Telemetry {
    /// Exports what is still batched and stops the exporter thread. Blocking: run it off the async runtime's
    /// workers.
    pub fn shutdown(self) {
        if let Err(e) = self.provider.shutdown() {
            tracing::warn!(error = %e, "telemetry: the last spans could not be exported");
        }
    }
}
