//! A minimal AMQP 0-9-1 publisher that writes its frames by hand, for messages no client library here can encode:
//! a header nested tens of thousands of levels deep overflows the stack of lapin's own I/O thread while it is being
//! encoded (the very fault the gateway must survive when it decodes one). The nesting is written iteratively.
//!
//! It speaks just enough of the protocol: PLAIN login as guest, one channel in confirm mode, one `basic.publish` to
//! a queue through the default exchange, and it waits for the broker's ack.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const FRAME_METHOD: u8 = 1;
const FRAME_HEADER: u8 = 2;
const FRAME_BODY: u8 = 3;
const FRAME_END: u8 = 0xCE;

fn short_string(out: &mut Vec<u8>, s: &str) {
    out.push(s.len() as u8);
    out.extend_from_slice(s.as_bytes());
}

fn long_string(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s);
}

fn method(class: u16, method: u16, args: &[u8]) -> Vec<u8> {
    let mut payload = Vec::with_capacity(4 + args.len());
    payload.extend_from_slice(&class.to_be_bytes());
    payload.extend_from_slice(&method.to_be_bytes());
    payload.extend_from_slice(args);
    payload
}

fn write_frame(stream: &mut TcpStream, kind: u8, channel: u16, payload: &[u8]) {
    let mut frame = Vec::with_capacity(payload.len() + 8);
    frame.push(kind);
    frame.extend_from_slice(&channel.to_be_bytes());
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    frame.extend_from_slice(payload);
    frame.push(FRAME_END);
    stream.write_all(&frame).expect("write frame");
}

/// Reads frames until a method frame of (class, method) arrives; returns its arguments.
fn expect_method(stream: &mut TcpStream, class: u16, method: u16) -> Vec<u8> {
    loop {
        let mut head = [0u8; 7];
        stream.read_exact(&mut head).expect("frame header");
        let size = u32::from_be_bytes([head[3], head[4], head[5], head[6]]) as usize;
        let mut payload = vec![0u8; size + 1];
        stream.read_exact(&mut payload).expect("frame payload");
        if head[0] != FRAME_METHOD || size < 4 {
            continue;
        }
        let got = (
            u16::from_be_bytes([payload[0], payload[1]]),
            u16::from_be_bytes([payload[2], payload[3]]),
        );
        if got == (10, 50) || got == (20, 40) {
            panic!(
                "the broker closed the connection or channel: {}",
                String::from_utf8_lossy(&payload[4..size])
            );
        }
        if got == (class, method) {
            return payload[4..size].to_vec();
        }
    }
}

/// A headers table `{deep: [[[…[true]…]]]}` with `depth` nested arrays, encoded without recursion.
pub fn nested_headers_table(depth: usize) -> Vec<u8> {
    let value_size = 5 * depth + 2;
    let mut table = Vec::with_capacity(value_size + 16);
    short_string(&mut table, "deep");
    for level in 0..depth {
        table.push(b'A');
        let inner = 5 * (depth - 1 - level) + 2;
        table.extend_from_slice(&(inner as u32).to_be_bytes());
    }
    table.extend_from_slice(b"t\x01");
    let mut encoded = Vec::with_capacity(table.len() + 4);
    encoded.extend_from_slice(&(table.len() as u32).to_be_bytes());
    encoded.extend_from_slice(&table);
    encoded
}

/// The deepest nesting whose header frame fits `frame_max` bytes.
pub fn deepest_nesting_for(frame_max: usize) -> usize {
    // Frame overhead 8, content header 14, table length 4, key 5, delivery mode 1, innermost value 2.
    (frame_max - 8 - 14 - 4 - 5 - 1 - 2) / 5
}

/// Publishes `body` to `queue` as a persistent message whose headers are `headers_table` (an encoded field table),
/// and waits for the broker's confirm. Returns the negotiated frame_max.
pub fn publish_with_raw_headers(queue: &str, body: &[u8], headers_table: &[u8]) -> usize {
    let mut stream = TcpStream::connect("127.0.0.1:5672").expect("connect to RabbitMQ");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    stream
        .write_all(b"AMQP\x00\x00\x09\x01")
        .expect("protocol header");
    expect_method(&mut stream, 10, 10);
    let mut start_ok = Vec::new();
    start_ok.extend_from_slice(&0u32.to_be_bytes());
    short_string(&mut start_ok, "PLAIN");
    long_string(&mut start_ok, b"\0guest\0guest");
    short_string(&mut start_ok, "en_US");
    write_frame(&mut stream, FRAME_METHOD, 0, &method(10, 11, &start_ok));
    let tune = expect_method(&mut stream, 10, 30);
    let frame_max = u32::from_be_bytes([tune[2], tune[3], tune[4], tune[5]]);
    let mut tune_ok = Vec::new();
    tune_ok.extend_from_slice(&tune[0..2]);
    tune_ok.extend_from_slice(&frame_max.to_be_bytes());
    tune_ok.extend_from_slice(&0u16.to_be_bytes());
    write_frame(&mut stream, FRAME_METHOD, 0, &method(10, 31, &tune_ok));
    let mut open = Vec::new();
    short_string(&mut open, "/");
    short_string(&mut open, "");
    open.push(0);
    write_frame(&mut stream, FRAME_METHOD, 0, &method(10, 40, &open));
    expect_method(&mut stream, 10, 41);
    write_frame(&mut stream, FRAME_METHOD, 1, &method(20, 10, &[0]));
    expect_method(&mut stream, 20, 11);
    write_frame(&mut stream, FRAME_METHOD, 1, &method(85, 10, &[0]));
    expect_method(&mut stream, 85, 11);

    let mut publish = Vec::new();
    publish.extend_from_slice(&0u16.to_be_bytes());
    short_string(&mut publish, "");
    short_string(&mut publish, queue);
    publish.push(0);
    write_frame(&mut stream, FRAME_METHOD, 1, &method(60, 40, &publish));
    let mut header = Vec::with_capacity(headers_table.len() + 16);
    header.extend_from_slice(&60u16.to_be_bytes());
    header.extend_from_slice(&0u16.to_be_bytes());
    header.extend_from_slice(&(body.len() as u64).to_be_bytes());
    // Property flags: headers (bit 13) and delivery mode (bit 12), in that order on the wire.
    header.extend_from_slice(&0x3000u16.to_be_bytes());
    header.extend_from_slice(headers_table);
    header.push(2);
    assert!(
        header.len() + 8 <= frame_max as usize,
        "the header frame ({} bytes) must fit frame_max {frame_max}",
        header.len() + 8
    );
    write_frame(&mut stream, FRAME_HEADER, 1, &header);
    for chunk in body.chunks(frame_max as usize - 8) {
        write_frame(&mut stream, FRAME_BODY, 1, chunk);
    }
    expect_method(&mut stream, 60, 80);
    write_frame(
        &mut stream,
        FRAME_METHOD,
        0,
        &method(10, 50, &[0, 200, 0, 0, 0, 0, 0]),
    );
    frame_max as usize
}
