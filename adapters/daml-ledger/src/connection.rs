//! The gRPC channel to the participant: plaintext for `http://`, TLS for `https://`.
//!
//! With TLS, `tls.ca_file` (when set) is the only trust anchor — a participant behind a private CA is the usual
//! case, and a container without system certificates must still work; without it the platform's root
//! certificates are trusted. `tls.cert_file` + `tls.key_file` add a client certificate for mutual TLS. Files are
//! read and checked here, so a wrong path fails at start with the config path named, not at the first call.
//!
//! The channel connects lazily and reconnects by itself: a participant that is down makes calls fail as
//! UNAVAILABLE (transient), not the gateway's start.

use std::path::Path;
use std::time::Duration;

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::settings::{DamlSettings, SettingsError};

/// Keep-alive pings on an idle connection, so a participant that vanished is noticed on long update streams.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(30);

/// Opens the (lazy) channel the settings describe; they must have passed [`DamlSettings::validate`].
pub fn open_channel(settings: &DamlSettings) -> Result<Channel, SettingsError> {
    let mut endpoint = Endpoint::from_shared(settings.url.clone())
        .map_err(|e| {
            SettingsError::at(
                "url",
                format!("{:?} is not usable: {e}", settings.shown_url()),
            )
        })?
        .connect_timeout(settings.call_timeout())
        .tcp_keepalive(Some(KEEP_ALIVE_INTERVAL))
        .http2_keep_alive_interval(KEEP_ALIVE_INTERVAL)
        .keep_alive_while_idle(true);
    if let Some(tls) = tls_config(settings)? {
        endpoint = endpoint
            .tls_config(tls)
            .map_err(|e| SettingsError::at("tls", format!("cannot set up TLS: {e}")))?;
    }
    Ok(endpoint.connect_lazy())
}

/// The TLS configuration for an `https://` URL (none for `http://`), with every named file read and checked.
pub fn tls_config(settings: &DamlSettings) -> Result<Option<ClientTlsConfig>, SettingsError> {
    if !settings.uses_tls() {
        return Ok(None);
    }
    let mut config = ClientTlsConfig::new();
    let tls = settings.tls.clone().unwrap_or_default();
    match &tls.ca_file {
        Some(ca_file) => {
            let pem = read_pem(
                ca_file,
                "tls.ca_file",
                "CERTIFICATE",
                "a PEM CA certificate",
            )?;
            config = config.ca_certificate(Certificate::from_pem(pem));
        }
        None => config = config.with_native_roots(),
    }
    if let (Some(cert_file), Some(key_file)) = (&tls.cert_file, &tls.key_file) {
        let cert = read_pem(
            cert_file,
            "tls.cert_file",
            "CERTIFICATE",
            "a PEM client certificate",
        )?;
        let key = read_pem(key_file, "tls.key_file", "PRIVATE KEY", "a PEM private key")?;
        config = config.identity(Identity::from_pem(cert, key));
    }
    Ok(Some(config))
}

/// Reads a PEM file and checks that it holds a `-----BEGIN …<label>-----` block (rustls would otherwise skip what
/// it cannot parse, and the failure would only show as a refused handshake). Errors never quote the file.
fn read_pem(
    path: &Path,
    field: &str,
    label: &str,
    expected: &str,
) -> Result<Vec<u8>, SettingsError> {
    let bytes = std::fs::read(path)
        .map_err(|e| SettingsError::at(field, format!("cannot read {}: {e}", path.display())))?;
    let has_block = std::str::from_utf8(&bytes).is_ok_and(|text| {
        text.lines().any(|line| {
            line.starts_with("-----BEGIN ") && line.trim_end().ends_with(&format!("{label}-----"))
        })
    });
    if !has_block {
        return Err(SettingsError::at(
            field,
            format!("{} does not hold {expected}", path.display()),
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::TlsSettings;

    // Structure only: these tests check which files are read and how they are judged, not the TLS handshake.
    const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    const KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";

    fn https(tls: TlsSettings) -> DamlSettings {
        let mut s = DamlSettings::new("https://participant.example.com:443", "gateway");
        s.tls = Some(tls);
        s
    }

    #[test]
    fn plaintext_urls_have_no_tls() {
        let s = DamlSettings::new("http://127.0.0.1:6865", "gateway");
        assert!(tls_config(&s).expect("ok").is_none());
    }

    #[test]
    fn a_missing_ca_file_names_the_config_path_and_the_file() {
        let s = https(TlsSettings {
            ca_file: Some("/nonexistent/ledger-ca.pem".into()),
            ..TlsSettings::default()
        });
        let e = tls_config(&s).expect_err("missing").to_string();
        assert!(
            e.starts_with("ledger.daml.tls.ca_file: cannot read /nonexistent/ledger-ca.pem: "),
            "{e}"
        );
    }

    #[test]
    fn files_that_are_not_pem_are_refused_without_quoting_them() {
        let dir = tempfile::tempdir().expect("temp dir");
        let junk = dir.path().join("ca.pem");
        std::fs::write(&junk, "not a certificate, maybe a secret").expect("write");
        let e = tls_config(&https(TlsSettings {
            ca_file: Some(junk.clone()),
            ..TlsSettings::default()
        }))
        .expect_err("junk")
        .to_string();
        assert!(e.starts_with("ledger.daml.tls.ca_file: "), "{e}");
        assert!(
            e.contains("does not hold a PEM CA certificate") && !e.contains("secret"),
            "{e}"
        );

        let cert = dir.path().join("client.pem");
        std::fs::write(&cert, CERT).expect("write");
        // A certificate where the key should be.
        let e = tls_config(&https(TlsSettings {
            ca_file: None,
            cert_file: Some(cert.clone()),
            key_file: Some(cert.clone()),
        }))
        .expect_err("wrong key")
        .to_string();
        assert!(e.starts_with("ledger.daml.tls.key_file: "), "{e}");
        let e = tls_config(&https(TlsSettings {
            ca_file: None,
            cert_file: Some(cert),
            key_file: Some(dir.path().join("absent.key")),
        }))
        .expect_err("missing key")
        .to_string();
        assert!(
            e.starts_with("ledger.daml.tls.key_file: cannot read "),
            "{e}"
        );
    }

    #[test]
    fn pem_files_are_accepted() {
        let dir = tempfile::tempdir().expect("temp dir");
        let ca = dir.path().join("ca.pem");
        let cert = dir.path().join("client.pem");
        let key = dir.path().join("client.key");
        std::fs::write(&ca, CERT).expect("write");
        std::fs::write(&cert, CERT).expect("write");
        std::fs::write(&key, KEY.replace("PRIVATE KEY", "EC PRIVATE KEY")).expect("write");
        let config = tls_config(&https(TlsSettings {
            ca_file: Some(ca),
            cert_file: Some(cert),
            key_file: Some(key),
        }))
        .expect("accepted");
        assert!(config.is_some());
    }

    #[tokio::test]
    async fn a_plaintext_channel_opens_without_a_server() {
        // Lazy: nothing listens on port 9 of localhost; only calls would fail, as UNAVAILABLE.
        let s = DamlSettings::new("http://127.0.0.1:9", "gateway");
        open_channel(&s).expect("lazy channel");
    }
}
