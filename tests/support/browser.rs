//! A real headless Chromium for the operator page's test: Debian's `chromium` driven through `chromedriver` (both
//! installed by `.ci/run`) with the fantoccini WebDriver client, plus the one WebDriver command fantoccini lacks —
//! reading the browser's console log.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// A `chromedriver` process on a port of its own, killed when dropped.
pub struct Chromedriver {
    child: Child,
    pub port: u16,
}

impl Chromedriver {
    pub async fn start() -> Self {
        let port = super::free_port();
        let mut child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (apt-get install -y chromium chromium-driver; .ci/run does)");
        // chromedriver keeps HTTP connections open whatever the request asks, so readiness is its port accepting.
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Self { child, port };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("chromedriver did not answer on port {port}");
    }

    /// A new headless browser session; `javascript: false` switches scripts off, as some operators' browsers do.
    pub async fn browser(&self, javascript: bool) -> Client {
        let mut chrome_options = json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1800", "--no-first-run", "--disable-extensions"],
        });
        if std::path::Path::new("/usr/bin/chromium").exists() {
            chrome_options["binary"] = json!("/usr/bin/chromium");
        }
        if !javascript {
            chrome_options["prefs"] =
                json!({ "profile.managed_default_content_settings.javascript": 2 });
        }
        let capabilities = json!({
            "goog:chromeOptions": chrome_options,
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object literal");
        };
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a chromium session")
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// chromedriver's `POST /session/{id}/se/log` for the `browser` log: the console messages since the last read.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (axum::http::Method, Option<String>) {
        (
            axum::http::Method::POST,
            Some(json!({ "type": "browser" }).to_string()),
        )
    }
}

/// The console entries (`level`, `message`) logged since the last call.
pub async fn console_entries(browser: &Client) -> Vec<Value> {
    let log = browser
        .issue_cmd(BrowserLog)
        .await
        .expect("chromedriver returns the browser log");
    log.as_array().cloned().unwrap_or_default()
}

/// The text of the element with `id`, once `ready` holds for it (polls up to `timeout`).
pub async fn text_when(
    browser: &Client,
    id: &str,
    timeout: Duration,
    ready: impl Fn(&str) -> bool,
) -> String {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last = String::new();
    while tokio::time::Instant::now() < deadline {
        if let Ok(element) = browser.find(Locator::Id(id)).await
            && let Ok(text) = element.text().await
        {
            if ready(&text) {
                return text;
            }
            last = text;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("#{id} never became what the test waits for; last text: {last:?}");
}
