//! TLS towards the participant, over real handshakes: the adapter against a small TLS gRPC server (our generated
//! `StateService`, answering `GetLedgerEnd` and recording the `authorization` header it received).
//!
//! The certificates in `tests/tls/` are test fixtures valid for 100 years, made with openssl: `ca.pem` (a CA whose
//! key was thrown away), `server.pem`/`server.key` (for `localhost` and `127.0.0.1`, signed by it), `client.pem`/
//! `client.key` (client auth, signed by it) and `untrusted-ca.pem` (an unrelated CA).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use daml_ledger::{DamlLedger, DamlSettings, TlsSettings};
use daml_ledger_api::v2::{
    GetActiveContractsRequest, GetActiveContractsResponse, GetLedgerEndRequest,
    GetLedgerEndResponse,
    state_service_server::{StateService, StateServiceServer},
};
use futures::stream::BoxStream;
use ledger_port::{ErrorClass, Ledger};
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/tls")
        .join(name)
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).expect("fixture")
}

/// Answers `GetLedgerEnd` with 42 and remembers the `authorization` header of every call.
#[derive(Default, Clone)]
struct Participant {
    authorizations: Arc<Mutex<Vec<Option<String>>>>,
}

#[tonic::async_trait]
impl StateService for Participant {
    type GetActiveContractsStream = BoxStream<'static, Result<GetActiveContractsResponse, Status>>;

    async fn get_active_contracts(
        &self,
        _: Request<GetActiveContractsRequest>,
    ) -> Result<Response<Self::GetActiveContractsStream>, Status> {
        Err(Status::unimplemented("not needed here"))
    }

    async fn get_ledger_end(
        &self,
        request: Request<GetLedgerEndRequest>,
    ) -> Result<Response<GetLedgerEndResponse>, Status> {
        let header = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        self.authorizations
            .lock()
            .expect("not poisoned")
            .push(header);
        Ok(Response::new(GetLedgerEndResponse { offset: 42 }))
    }
}

/// Starts the TLS server on a free port; with `require_client_cert`, only clients with a certificate from the CA.
async fn serve(require_client_cert: bool) -> (SocketAddr, Participant) {
    let mut tls =
        ServerTlsConfig::new().identity(Identity::from_pem(read("server.pem"), read("server.key")));
    if require_client_cert {
        tls = tls.client_ca_root(Certificate::from_pem(read("ca.pem")));
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let participant = Participant::default();
    let service = StateServiceServer::new(participant.clone());
    tokio::spawn(async move {
        Server::builder()
            .tls_config(tls)
            .expect("server TLS")
            .add_service(service)
            .serve_with_incoming(TcpIncoming::from(listener))
            .await
            .expect("serves");
    });
    (address, participant)
}

fn settings(address: SocketAddr, tls: TlsSettings) -> DamlSettings {
    let mut settings =
        DamlSettings::new(format!("https://localhost:{}", address.port()), "gateway");
    settings.tls = Some(tls);
    settings.call_timeout_ms = 5_000;
    settings
}

#[tokio::test]
async fn https_with_the_ca_file_reaches_the_participant_and_carries_the_token() {
    let (address, participant) = serve(false).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let token = dir.path().join("ledger.jwt");
    std::fs::write(
        &token,
        "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJnYXRld2F5In0.c2ln\n",
    )
    .expect("write");
    let mut settings = settings(
        address,
        TlsSettings {
            ca_file: Some(fixture("ca.pem")),
            ..TlsSettings::default()
        },
    );
    settings.token_file = Some(token);
    let ledger = DamlLedger::connect(&settings, vec!["Operator".into()]).expect("connect");
    assert_eq!(ledger.ledger_end().await.expect("over TLS"), 42);
    assert_eq!(
        *participant.authorizations.lock().expect("not poisoned"),
        [Some(
            "Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJnYXRld2F5In0.c2ln".to_owned()
        )]
    );
}

#[tokio::test]
async fn a_participant_the_configured_ca_does_not_vouch_for_is_refused() {
    let (address, participant) = serve(false).await;
    let settings = settings(
        address,
        TlsSettings {
            ca_file: Some(fixture("untrusted-ca.pem")),
            ..TlsSettings::default()
        },
    );
    let ledger = DamlLedger::connect(&settings, vec!["Operator".into()]).expect("connect");
    let e = ledger
        .ledger_end()
        .await
        .expect_err("untrusted certificate");
    assert_eq!(e.class, ErrorClass::Transient, "{e:?}");
    assert!(
        participant
            .authorizations
            .lock()
            .expect("not poisoned")
            .is_empty(),
        "no call got through"
    );
}

#[tokio::test]
async fn mutual_tls_presents_the_client_certificate() {
    let (address, _) = serve(true).await;
    let with_cert = settings(
        address,
        TlsSettings {
            ca_file: Some(fixture("ca.pem")),
            cert_file: Some(fixture("client.pem")),
            key_file: Some(fixture("client.key")),
        },
    );
    let ledger = DamlLedger::connect(&with_cert, vec!["Operator".into()]).expect("connect");
    assert_eq!(ledger.ledger_end().await.expect("mutual TLS"), 42);

    let without_cert = settings(
        address,
        TlsSettings {
            ca_file: Some(fixture("ca.pem")),
            ..TlsSettings::default()
        },
    );
    let ledger = DamlLedger::connect(&without_cert, vec!["Operator".into()]).expect("connect");
    assert!(
        ledger.ledger_end().await.is_err(),
        "the server requires a client certificate"
    );
}
