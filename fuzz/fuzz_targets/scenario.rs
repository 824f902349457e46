//! The scenario parser and validator on arbitrary bytes: any input must end in `Ok` or in a
//! located error, never in a panic. Valid scenarios are not run (a run can be long); the
//! property tests in tests/integration/fuzz.rs run the valid ones with an event cap.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = lagsim::scenario::parse_scenario("fuzz.toml", text, &[]) {
        assert!(!e.to_string().is_empty());
    }
});
