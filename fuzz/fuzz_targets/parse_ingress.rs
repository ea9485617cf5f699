//! Fuzz target: the ingress parser must never panic, and anything it accepts must serialise and parse back equal.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = message_schema::parse::parse_ingress(data) {
        let wire = serde_json::to_vec(&request).unwrap_or_default();
        assert_eq!(
            message_schema::parse::parse_ingress(&wire).ok(),
            Some(request)
        );
    }
});
