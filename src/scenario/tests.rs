//! Loader tests: a valid scenario with its defaults, then one test per class of error, each with
//! its exact message and position.

use super::*;
use crate::engine::{Dist, SimTime};

const MINIMAL: &str = r#"name = "minimal"
duration_s = 60

[traffic]
profile = [{ at_s = 0, shoppers_per_s = 5 }]

[[products]]
name = "console"
stock = 100

[[replicas]]
name = "r1"

[[variants]]
name = "base"
checkout = "optimistic"
"#;

fn err(text: &str, sets: &[&str]) -> String {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    match parse_scenario("t.toml", text, &sets) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn scratch() {
    let cases: &[(&str, &[&str])] = &[
        ("name = \n", &[]),
        ("name = \"x\"\nfoo = 1\n", &[]),
        (MINIMAL, &["primary.workers=0"]),
        (MINIMAL, &["primary.workers=hello"]),
        (MINIMAL, &["primary.wrkers=3"]),
        (MINIMAL, &["replicas[3].workers=3"]),
        (MINIMAL, &["replicas[0]workers=3"]),
        (MINIMAL, &["replicas[0].workers"]),
        (
            MINIMAL,
            &["primary.read_time={dist=\"uniform\", mean_ms=3}"],
        ),
        (MINIMAL, &["name.x=3"]),
        (MINIMAL, &["traffic.profile[0].at_s=3"]),
        (MINIMAL, &["variants[0].checkout=fast"]),
        (MINIMAL, &["variants[0].set={\"seed\"=3}"]),
        (MINIMAL, &["duration_s=1e400"]),
        (MINIMAL, &["duration_s=nan"]),
        (MINIMAL, &["replicas=[]"]),
    ];
    for (t, s) in cases {
        eprintln!("{}", err(t, s));
    }
    let ok = parse_scenario("t.toml", MINIMAL, &[]).unwrap();
    eprintln!("{ok:#?}");
    let _ = (Dist::Constant { us: 1 }, SimTime::ZERO);
}
