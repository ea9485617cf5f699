//! Asking a running gateway over its HTTP listener (`http.listen`) for a `/requests` document: one HTTP/1.1 GET on
//! a fresh connection, the JSON body read back. Nothing listening there is told apart from every other failure,
//! because it is the one that sends `connector requests` to the state store instead.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long connecting may take: a gateway on this host answers at once.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the whole answer may take.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest answer read (a full listing of 1,000 entries is well under this).
const MAX_ANSWER_BYTES: u64 = 64 * 1024 * 1024;

/// What the gateway said, or that none is there.
#[derive(Debug)]
pub enum GatewayAnswer {
    /// Nothing accepts connections at the address.
    NotListening,
    /// The HTTP status and the JSON body.
    Answered(u16, Value),
}

/// Where to connect for a listen address: a wildcard address is reached on loopback.
pub fn connect_address(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// Percent-encodes a path segment or query value: everything but RFC 3986's unreserved characters.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// GETs `path_and_query` from the gateway at `address`.
pub async fn get_json(address: SocketAddr, path_and_query: &str) -> anyhow::Result<GatewayAnswer> {
    let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            return Ok(GatewayAnswer::NotListening);
        }
        Ok(Err(e)) => {
            anyhow::bail!("cannot connect to the gateway's HTTP listener at {address}: {e}")
        }
        Err(_) => anyhow::bail!(
            "the gateway's HTTP listener at {address} did not accept a connection within {} s",
            CONNECT_TIMEOUT.as_secs()
        ),
    };
    let answer = tokio::time::timeout(ANSWER_TIMEOUT, exchange(stream, address, path_and_query))
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "the gateway at {address} did not answer within {} s",
                ANSWER_TIMEOUT.as_secs()
            )
        })??;
    Ok(answer)
}

async fn exchange(
    mut stream: TcpStream,
    address: SocketAddr,
    path_and_query: &str,
) -> anyhow::Result<GatewayAnswer> {
    let request = format!(
        "GET {path_and_query} HTTP/1.1\r\nHost: {address}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut bytes = Vec::new();
    stream
        .take(MAX_ANSWER_BYTES)
        .read_to_end(&mut bytes)
        .await?;
    let Some(split) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
        anyhow::bail!("the gateway at {address} sent an answer without HTTP headers");
    };
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let mut body = bytes[split + 4..].to_vec();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| anyhow::anyhow!("the gateway at {address} sent no HTTP status"))?;
    let chunked = head.lines().any(|line| {
        let line = line.to_ascii_lowercase();
        line.starts_with("transfer-encoding:") && line.contains("chunked")
    });
    if chunked {
        body = dechunk(&body).ok_or_else(|| {
            anyhow::anyhow!("the gateway at {address} sent a broken chunked body")
        })?;
    }
    let json = serde_json::from_slice(&body).map_err(|e| {
        anyhow::anyhow!(
            "the gateway at {address} answered {status} with a body that is not JSON: {e}"
        )
    })?;
    Ok(GatewayAnswer::Answered(status, json))
}

/// The body of a chunked transfer.
fn dechunk(mut bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = bytes.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&bytes[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        bytes = &bytes[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(bytes.get(..size)?);
        bytes = bytes.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_encoded_whole_and_wildcards_reached_on_loopback() {
        assert_eq!(percent_encode("a/b c%\u{e9}"), "a%2Fb%20c%25%C3%A9");
        assert_eq!(percent_encode("r-1.x_~"), "r-1.x_~");
        let wildcard: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert_eq!(connect_address(wildcard).to_string(), "127.0.0.1:8080");
        let v6: SocketAddr = "[::]:8080".parse().unwrap();
        assert_eq!(connect_address(v6).to_string(), "[::1]:8080");
    }

    #[test]
    fn chunked_bodies_are_joined() {
        assert_eq!(
            dechunk(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").as_deref(),
            Some(&b"abcde"[..])
        );
        assert_eq!(dechunk(b"5\r\nab"), None);
    }
}
