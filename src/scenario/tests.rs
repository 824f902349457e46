//! Loader tests: valid scenarios with their defaults and conversions, then one test per class of
//! error with its exact message and position, the override mechanism, and a no-panic sweep.

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

const FULL: &str = r#"name = "black-friday"
description = "Doors open at 9"
seed = 42
duration_s = 120.5
horizon_s = 900
max_events = 1000000

[network]
default_latency = { dist = "uniform", min_ms = 0.2, max_ms = 0.8 }

[[network.links]]
between = ["app", "primary"]
latency = { dist = "constant", ms = 1.5 }

[[network.links]]
from = "primary"
to = "eu-1"
latency = { dist = "lognormal", median_ms = 40, p99_ms = 120 }

[primary]
workers = 16
read_time = { dist = "exponential", mean_ms = 0.25 }
write_time = { dist = "constant", ms = 2 }
lock_timeout_ms = 1500
txn_idle_timeout_ms = 10000.5

[[replicas]]
name = "eu-1"
workers = 4
apply_time = { dist = "exponential", mean_ms = 0.5 }

[[replicas]]
name = "us_2"

[cache]
ttl_s = 30
invalidate_on_write = true
op_time = { dist = "constant", ms = 0.1 }
fill_from = "primary"

[shoppers]
request_timeout_ms = 2500
add_to_cart_probability = 0.5
think_time = { dist = "exponential", mean_ms = 5000 }
quantity_weights = [6, 3, 0, 1]
leave_if_sold_out = false

[traffic]
profile = [
  { at_s = 0, shoppers_per_s = 10 },
  { at_s = 30, shoppers_per_s = 200.5 },
  { at_s = 90, shoppers_per_s = 0 },
]

[background]
writes_per_s = 50
writes_per_shopper = 0.1
reads_per_s = 100
reads_per_shopper = 2
rows = 5000

[[products]]
name = "console"
stock = 500
popularity = 10

[[products]]
name = "headphones"
stock = 0
popularity = 0

[checkout]
max_retries = 5
retry_backoff = { dist = "uniform", min_ms = 2, max_ms = 20 }

[[faults]]
kind = "partition"
between = ["primary", "eu-1"]
at_s = 10
duration_s = 5

[[faults]]
kind = "partition"
from = "app"
to = "cache"
at_s = 20
duration_s = 1.5

[[faults]]
kind = "pause-replica"
replica = "us_2"
at_s = 0
duration_s = 60

[[faults]]
kind = "slow-replica"
replica = "eu-1"
factor = 4.5
at_s = 40
duration_s = 30

[[variants]]
name = "naive"
checkout = "replica-read"
page = "replica"

[[variants]]
name = "locked"
checkout = "pessimistic-lock"
page = "primary"
set = { "primary.workers" = 64, "replicas[0].apply_time" = { dist = "constant", ms = 3 } }
"#;

fn sets(sets: &[&str]) -> Vec<String> {
    sets.iter().map(|s| s.to_string()).collect()
}

fn ok(text: &str, overrides: &[&str]) -> Scenario {
    match parse_scenario("t.toml", text, &sets(overrides)) {
        Ok(s) => s,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

fn err(text: &str, overrides: &[&str]) -> ScenarioError {
    match parse_scenario("t.toml", text, &sets(overrides)) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

/// The error's text, for a scenario made of MINIMAL with `text` appended.
fn err_min(extra: &str) -> String {
    err(&format!("{MINIMAL}{extra}"), &[]).to_string()
}

// ---------------------------------------------------------------------------------------------
// Valid scenarios

#[test]
fn minimal_scenario_takes_every_default() {
    let s = ok(MINIMAL, &[]);
    assert_eq!(
        (s.name.as_str(), s.description.as_str(), s.seed),
        ("minimal", "", 1)
    );
    assert_eq!(s.variants.len(), 1);
    let v = &s.variants[0];
    assert_eq!(
        (v.name.as_str(), v.checkout, v.page),
        ("base", CheckoutKind::Optimistic, ReadSource::Cache)
    );
    let c = &v.config;
    assert_eq!(c.traffic_end, SimTime::from_secs(60));
    assert_eq!(c.horizon, SimTime::from_secs(660));
    assert_eq!(c.max_events, 200_000_000);
    assert_eq!(c.network.default_latency, Dist::Constant { us: 500 });
    assert!(c.network.links.is_empty());
    assert_eq!(c.primary.workers, 32);
    assert_eq!(c.primary.read_time, Dist::Exponential { mean_us: 500.0 });
    assert_eq!(c.primary.write_time, Dist::Exponential { mean_us: 1000.0 });
    assert_eq!(
        (c.primary.lock_timeout_us, c.primary.txn_idle_timeout_us),
        (5_000_000, 30_000_000)
    );
    assert_eq!(c.replicas.len(), 1);
    assert_eq!(
        (c.replicas[0].name.as_str(), c.replicas[0].workers),
        ("r1", 8)
    );
    assert_eq!(
        c.replicas[0].read_time,
        Dist::Exponential { mean_us: 1000.0 }
    );
    assert_eq!(
        c.replicas[0].apply_time,
        Dist::Exponential { mean_us: 200.0 }
    );
    assert_eq!(c.cache.ttl_us, 300_000_000);
    assert!(!c.cache.invalidate_on_write);
    assert_eq!(c.cache.op_time, Dist::Constant { us: 200 });
    assert_eq!(c.cache.fill_from, ReadSource::Replica);
    assert_eq!(c.shoppers.request_timeout_us, 3_000_000);
    assert_eq!(c.shoppers.add_to_cart_probability, 0.3);
    assert_eq!(
        c.shoppers.think_time,
        Dist::lognormal_from_median_p99(20_000_000.0, 120_000_000.0)
    );
    assert_eq!(c.shoppers.quantity_weights, vec![1]);
    assert!(c.shoppers.leave_if_sold_out);
    assert_eq!(c.traffic.points, vec![(SimTime::ZERO, 5.0)]);
    let b = &c.background;
    assert_eq!(
        (
            b.writes_per_s,
            b.writes_per_shopper,
            b.reads_per_s,
            b.reads_per_shopper
        ),
        (0.0, 0.0, 0.0, 0.0)
    );
    assert_eq!(b.rows, 10_000);
    assert_eq!(c.products.len(), 1);
    assert_eq!(
        (
            c.products[0].name.as_str(),
            c.products[0].stock,
            c.products[0].popularity
        ),
        ("console", 100, 1)
    );
    assert_eq!(c.checkout.max_retries, 3);
    assert_eq!(
        c.checkout.retry_backoff,
        Dist::Uniform {
            min_us: 1000,
            max_us: 10_000
        }
    );
    assert!(c.faults.is_empty());
}

#[test]
fn full_scenario_converts_every_key() {
    let s = ok(FULL, &[]);
    assert_eq!(
        (s.name.as_str(), s.description.as_str(), s.seed),
        ("black-friday", "Doors open at 9", 42)
    );
    let naive = &s.variants[0];
    assert_eq!(
        (naive.checkout, naive.page),
        (CheckoutKind::ReplicaRead, ReadSource::Replica)
    );
    let c = &naive.config;
    assert_eq!(c.traffic_end, SimTime::from_micros(120_500_000));
    assert_eq!(c.horizon, SimTime::from_secs(900));
    assert_eq!(c.max_events, 1_000_000);
    let t = &c.topology;
    assert_eq!(t.names(), vec!["app", "primary", "cache", "eu-1", "us_2"]);
    assert_eq!(
        c.network.default_latency,
        Dist::Uniform {
            min_us: 200,
            max_us: 800
        }
    );
    let links: Vec<(NodeId, NodeId, Dist)> = c
        .network
        .links
        .iter()
        .map(|l| (l.from, l.to, l.latency))
        .collect();
    let lognormal = Dist::lognormal_from_median_p99(40_000.0, 120_000.0);
    assert_eq!(
        links,
        vec![
            (t.app(), t.primary(), Dist::Constant { us: 1500 }),
            (t.primary(), t.app(), Dist::Constant { us: 1500 }),
            (t.primary(), t.replica(0), lognormal),
        ]
    );
    assert_eq!(c.primary.workers, 16);
    assert_eq!(c.primary.read_time, Dist::Exponential { mean_us: 250.0 });
    assert_eq!(c.primary.write_time, Dist::Constant { us: 2000 });
    assert_eq!(
        (c.primary.lock_timeout_us, c.primary.txn_idle_timeout_us),
        (1_500_000, 10_000_500)
    );
    assert_eq!(c.replicas[0].workers, 4);
    assert_eq!(
        c.replicas[0].apply_time,
        Dist::Exponential { mean_us: 500.0 }
    );
    assert_eq!(c.replicas[1].name, "us_2");
    assert_eq!(c.cache.ttl_us, 30_000_000);
    assert!(c.cache.invalidate_on_write);
    assert_eq!(c.cache.op_time, Dist::Constant { us: 100 });
    assert_eq!(c.cache.fill_from, ReadSource::Primary);
    assert_eq!(c.shoppers.request_timeout_us, 2_500_000);
    assert_eq!(c.shoppers.add_to_cart_probability, 0.5);
    assert_eq!(
        c.shoppers.think_time,
        Dist::Exponential {
            mean_us: 5_000_000.0
        }
    );
    assert_eq!(c.shoppers.quantity_weights, vec![6, 3, 0, 1]);
    assert!(!c.shoppers.leave_if_sold_out);
    assert_eq!(
        c.traffic.points,
        vec![
            (SimTime::ZERO, 10.0),
            (SimTime::from_secs(30), 200.5),
            (SimTime::from_secs(90), 0.0)
        ]
    );
    let b = &c.background;
    assert_eq!(
        (
            b.writes_per_s,
            b.writes_per_shopper,
            b.reads_per_s,
            b.reads_per_shopper,
            b.rows
        ),
        (50.0, 0.1, 100.0, 2.0, 5000)
    );
    assert_eq!(c.products[1].stock, 0);
    assert_eq!(c.products[1].popularity, 0);
    assert_eq!(c.checkout.max_retries, 5);
    assert_eq!(
        c.checkout.retry_backoff,
        Dist::Uniform {
            min_us: 2000,
            max_us: 20_000
        }
    );
    let faults: Vec<(u64, u64, FaultKind)> = c
        .faults
        .iter()
        .map(|f| (f.start.as_micros(), f.end.as_micros(), f.kind.clone()))
        .collect();
    assert_eq!(
        faults,
        vec![
            (
                10_000_000,
                15_000_000,
                FaultKind::Partition {
                    from: t.primary(),
                    to: t.replica(0),
                    both_ways: true
                }
            ),
            (
                20_000_000,
                21_500_000,
                FaultKind::Partition {
                    from: t.app(),
                    to: t.cache(),
                    both_ways: false
                }
            ),
            (0, 60_000_000, FaultKind::PauseReplica { replica: 1 }),
            (
                40_000_000,
                70_000_000,
                FaultKind::SlowReplica {
                    replica: 0,
                    factor: 4.5
                }
            ),
        ]
    );
}

#[test]
fn variant_set_applies_only_to_its_variant() {
    let s = ok(FULL, &[]);
    let (naive, locked) = (&s.variants[0].config, &s.variants[1].config);
    assert_eq!(naive.primary.workers, 16);
    assert_eq!(
        naive.replicas[0].apply_time,
        Dist::Exponential { mean_us: 500.0 }
    );
    assert_eq!(locked.primary.workers, 64);
    assert_eq!(locked.replicas[0].apply_time, Dist::Constant { us: 3000 });
    // Everything else is the same.
    assert_eq!(locked.replicas[0].workers, 4);
    assert_eq!(locked.traffic.points, naive.traffic.points);
}

#[test]
fn durations_round_to_whole_microseconds() {
    let s = ok(
        MINIMAL,
        &[
            "duration_s=0.0000004",
            "horizon_s=0.0000016",
            "primary.write_time={dist=\"constant\", ms=0.0015}",
        ],
    );
    let c = &s.variants[0].config;
    assert_eq!((c.traffic_end, c.horizon), (SimTime(0), SimTime(2)));
    assert_eq!(c.primary.write_time, Dist::Constant { us: 2 });
}

// ---------------------------------------------------------------------------------------------
// Errors in the file

#[test]
fn toml_syntax_error_points_at_the_text() {
    let e = err("name = \"x\"\nduration_s = = 3\n", &[]);
    assert_eq!(
        (e.input.clone(), e.line, e.column, e.path.as_str()),
        (ErrorInput::File, 2, 14, "")
    );
    assert!(
        e.to_string().starts_with("t.toml:2:14: invalid TOML: "),
        "{e}"
    );
}

#[test]
fn unknown_key_lists_the_allowed_ones() {
    assert_eq!(
        err_min("[primary]\nworkers = 4\nwrkers = 5\n"),
        "t.toml:19:1: primary.wrkers: unknown key `wrkers`; allowed keys here: `workers`, `read_time`, \
         `write_time`, `lock_timeout_ms` and `txn_idle_timeout_ms`"
    );
    assert_eq!(
        err("nme = \"x\"\n", &[]).to_string(),
        "t.toml:1:1: nme: unknown key `nme`; allowed keys here: `name`, `description`, `seed`, `duration_s`, \
         `horizon_s`, `max_events`, `engine`, `network`, `primary`, `replicas`, `cache`, `shoppers`, `traffic`, \
         `background`, `products`, `checkout`, `faults`, `monitor`, `convergence`, `replication`, `profiles`, \
         `price_changes`, `variants`, `require`, `expect`, `saga` and `report`"
    );
}

#[test]
fn unknown_keys_are_reported_in_text_order() {
    // `zz` sorts after `aa` but comes first in the file.
    assert_eq!(
        err_min("[cache]\nzz = 1\naa = 2\n")
            .split(": unknown")
            .next(),
        Some("t.toml:18:1: cache.zz")
    );
}

#[test]
fn wrong_type_says_what_was_expected() {
    assert_eq!(
        err_min("[primary]\nworkers = \"eight\"\n"),
        "t.toml:18:11: primary.workers: expected an integer from 1 to 100000, found the string \"eight\""
    );
    assert_eq!(
        err_min("[cache]\ninvalidate_on_write = 1\n"),
        "t.toml:18:23: cache.invalidate_on_write: expected true or false, found 1"
    );
    assert_eq!(
        err_min("[primary]\nworkers = 2.5\n"),
        "t.toml:18:11: primary.workers: expected an integer from 1 to 100000, found 2.5"
    );
    assert_eq!(
        err(&format!("primary = 3\n{MINIMAL}"), &[]).to_string(),
        "t.toml:1:11: primary: expected a table ([primary]), found 3"
    );
    assert_eq!(
        err(&format!("seed = -1\n{MINIMAL}"), &[]).to_string(),
        "t.toml:1:8: seed: expected an integer at least 0, found -1"
    );
}

#[test]
fn out_of_range_values_say_the_range() {
    let text = MINIMAL.replace(
        "[[replicas]]\nname = \"r1\"\n",
        "[[replicas]]\nname = \"r1\"\nworkers = 0\n",
    );
    assert_eq!(
        err(&text, &[]).to_string(),
        "t.toml:13:11: replicas[0].workers: expected an integer from 1 to 100000, found 0"
    );
    assert_eq!(
        err(&MINIMAL.replace("duration_s = 60", "duration_s = 0"), &[]).to_string(),
        "t.toml:2:14: duration_s: expected a number greater than 0 and at most 86400, found 0"
    );
    assert_eq!(
        err(
            &MINIMAL.replace("duration_s = 60", "duration_s = 60\nhorizon_s = 60"),
            &[]
        )
        .to_string(),
        "t.toml:3:13: horizon_s: expected a number greater than duration_s (60) and at most 2592000, found 60"
    );
    assert_eq!(
        err_min("[shoppers]\nadd_to_cart_probability = inf\n"),
        "t.toml:18:27: shoppers.add_to_cart_probability: expected a number from 0 to 1, found inf"
    );
    assert_eq!(
        err_min("[shoppers]\nquantity_weights = [0, 0]\n"),
        "t.toml:18:20: shoppers.quantity_weights: expected at least one weight above 0, found all 0"
    );
    assert_eq!(
        err(&MINIMAL.replace("stock = 100", "stock = -1"), &[]).to_string(),
        "t.toml:9:9: products[0].stock: expected an integer from 0 to 1000000000, found -1"
    );
}

#[test]
fn missing_required_key_points_at_its_table() {
    assert_eq!(
        err(&MINIMAL.replace("stock = 100\n", ""), &[]).to_string(),
        "t.toml:7:1: products[0].stock: missing key `stock`: this table needs it"
    );
    assert_eq!(
        err(&MINIMAL.replace("name = \"minimal\"\n", ""), &[]).to_string(),
        "t.toml:1:1: name: missing key `name`: the scenario needs it"
    );
}

#[test]
fn unknown_node_in_a_link_lists_the_nodes() {
    assert_eq!(
        err_min(
            "[[network.links]]\nbetween = [\"app\", \"r2\"]\nlatency = { dist = \"constant\", ms = 1 }\n"
        ),
        "t.toml:18:19: network.links[0].between[1]: expected a node name: `app`, `primary`, `cache` or `r1`, \
         found the string \"r2\""
    );
}

#[test]
fn links_to_self_and_twice_defined_links_are_errors() {
    let lat = "latency = { dist = \"constant\", ms = 1 }\n";
    assert_eq!(
        err_min(&format!(
            "[[network.links]]\nfrom = \"r1\"\nto = \"r1\"\n{lat}"
        )),
        "t.toml:19:6: network.links[0].to: a node cannot be linked to itself: both ends are `r1`"
    );
    assert_eq!(
        err_min(&format!(
            "[[network.links]]\nfrom = \"app\"\nto = \"r1\"\n{lat}[[network.links]]\nbetween = [\"r1\", \"app\"]\n{lat}"
        )),
        "t.toml:21:1: network.links[1]: the link from `app` to `r1` is already defined by network.links[0]; \
         each direction may be defined once"
    );
    assert_eq!(
        err_min(&format!("[[network.links]]\nfrom = \"app\"\n{lat}")),
        "t.toml:17:1: network.links[0].to: missing key `to`: a link takes either `between = [\"a\", \"b\"]` \
         (both ways) or `from` and `to` (one way)"
    );
}

#[test]
fn duplicate_replica_name_is_an_error() {
    assert_eq!(
        err_min("[[replicas]]\nname = \"r1\"\n"),
        "t.toml:18:8: replicas[1].name: duplicate replica name `r1` (also replicas[0].name); each replica \
         needs its own name"
    );
    assert_eq!(
        err_min("[[replicas]]\nname = \"R 2\"\n"),
        "t.toml:18:8: replicas[1].name: expected a non-empty name of lowercase letters, digits, `_` and `-`, \
         found the string \"R 2\""
    );
    assert_eq!(
        err_min("[[replicas]]\nname = \"cache\"\n"),
        "t.toml:18:8: replicas[1].name: expected a name other than `app`, `primary` and `cache` (the fixed \
         nodes), found the string \"cache\""
    );
}

#[test]
fn bad_dist_names_the_fields_its_kind_takes() {
    assert_eq!(
        err_min("[primary]\nread_time = { dist = \"uniform\", min_ms = 1, mean_ms = 2 }\n"),
        "t.toml:18:45: primary.read_time.mean_ms: a `uniform` distribution takes `min_ms` and `max_ms`; \
         `mean_ms` is not allowed"
    );
    assert_eq!(
        err_min("[primary]\nread_time = { dist = \"uniform\", min_ms = 1 }\n"),
        "t.toml:18:13: primary.read_time.max_ms: missing key `max_ms`: a `uniform` distribution needs `min_ms` \
         and `max_ms`"
    );
    assert_eq!(
        err_min("[primary]\nread_time = { dist = \"gauss\" }\n"),
        "t.toml:18:22: primary.read_time.dist: expected one of `constant`, `uniform`, `exponential` or \
         `lognormal`, found the string \"gauss\""
    );
    assert_eq!(
        err_min("[primary]\nread_time = { dist = \"uniform\", min_ms = 5, max_ms = 2 }\n"),
        "t.toml:18:54: primary.read_time.max_ms: expected a number from min_ms (5) to 3600000, found 2"
    );
    assert_eq!(
        err_min("[primary]\nread_time = { dist = \"lognormal\", median_ms = 5, p99_ms = 2 }\n"),
        "t.toml:18:59: primary.read_time.p99_ms: expected a number from median_ms (5) to 3600000, found 2"
    );
    assert_eq!(
        err_min("[primary]\nread_time = 0.5\n"),
        "t.toml:18:13: primary.read_time: expected a distribution table such as { dist = \"exponential\", \
         mean_ms = 1.0 }, found 0.5"
    );
    assert_eq!(
        err_min("[primary.read_time]\ndist = \"exponential\"\nmean_ms = 1\nsd = 2\n"),
        "t.toml:20:1: primary.read_time.sd: unknown key `sd`; a `exponential` distribution takes `dist` and \
         `mean_ms`"
    );
}

#[test]
fn traffic_profile_starts_at_zero_and_increases() {
    let text = MINIMAL.replace(
        "profile = [{ at_s = 0, shoppers_per_s = 5 }]",
        "profile = [\n  { at_s = 1, shoppers_per_s = 5 },\n]",
    );
    assert_eq!(
        err(&text, &[]).to_string(),
        "t.toml:6:12: traffic.profile[0].at_s: expected 0 (the profile starts at 0 s), found 1"
    );
    let text = MINIMAL.replace(
        "profile = [{ at_s = 0, shoppers_per_s = 5 }]",
        "profile = [\n  { at_s = 0, shoppers_per_s = 5 },\n  { at_s = 10, shoppers_per_s = 5 },\n  { at_s = 10, shoppers_per_s = 1 },\n]",
    );
    assert_eq!(
        err(&text, &[]).to_string(),
        "t.toml:8:12: traffic.profile[2].at_s: expected a number greater than the previous point's at_s (10) \
         and at most 2592000, found 10"
    );
    let text = MINIMAL.replace(
        "profile = [{ at_s = 0, shoppers_per_s = 5 }]",
        "profile = []",
    );
    assert_eq!(
        err(&text, &[]).to_string(),
        "t.toml:5:11: traffic.profile: expected at least one point, found an empty profile"
    );
}

#[test]
fn unknown_checkout_lists_every_strategy() {
    assert_eq!(
        err(&MINIMAL.replace("\"optimistic\"", "\"optimist\""), &[]).to_string(),
        "t.toml:16:12: variants[0].checkout: expected one of `replica-read`, `cache-read`, `primary-read`, \
         `pessimistic-lock`, `optimistic`, `conditional-decrement`, `lag-aware` or `saga`, found the string \"optimist\""
    );
}

#[test]
fn faults_take_only_their_kinds_fields_and_end_by_the_horizon() {
    assert_eq!(
        err_min(
            "[[faults]]\nkind = \"pause-replica\"\nreplica = \"r1\"\nfactor = 2\nat_s = 0\nduration_s = 1\n"
        ),
        "t.toml:20:1: faults[0].factor: a `pause-replica` fault takes `kind`, `at_s`, `duration_s` and \
         `replica`; `factor` is not allowed"
    );
    assert_eq!(
        err_min(
            "[[faults]]\nkind = \"pause-replica\"\nreplica = \"r1\"\nat_s = 600\nduration_s = 61\n"
        ),
        "t.toml:21:14: faults[0].duration_s: expected a number greater than 0 and at most 60 (the fault must end \
         by horizon_s = 660), found 61"
    );
    assert_eq!(
        err_min(
            "[[faults]]\nkind = \"slow-replica\"\nreplica = \"r9\"\nfactor = 2\nat_s = 0\nduration_s = 1\n"
        ),
        "t.toml:19:11: faults[0].replica: expected a replica name: `r1`, found the string \"r9\""
    );
    assert_eq!(
        err_min("[[faults]]\nkind = \"crash\"\n"),
        "t.toml:18:8: faults[0].kind: expected one of `partition`, `pause-replica`, `slow-replica`, \
         `crash-replica`, `crash-cache` or `crash-orchestrator`, found the string \"crash\""
    );
    assert_eq!(
        err_min(
            "[[faults]]\nkind = \"partition\"\nbetween = [\"app\", \"cache\"]\nfrom = \"app\"\nat_s = 0\nduration_s = 1\n"
        ),
        "t.toml:20:1: faults[0].from: a partition takes either `between = [\"a\", \"b\"]` (both ways) or `from` \
         and `to` (one way), not both"
    );
}

#[test]
fn variant_needing_a_replica_without_replicas_is_an_error() {
    let text = MINIMAL
        .replace("[[replicas]]\nname = \"r1\"\n", "")
        .replace("\"optimistic\"", "\"replica-read\"");
    assert_eq!(
        err(&text, &[]).to_string(),
        "t.toml:14:12: variants[0].checkout: variant `base` needs a replica: checkout `replica-read` reads stock \
         from a replica, but the scenario has no [[replicas]]; add one, or use page = \"primary\", \
         cache.fill_from = \"primary\" and a checkout other than `replica-read`"
    );
    // Without replicas, a cache filled from the primary is fine.
    let text = MINIMAL.replace(
        "[[replicas]]\nname = \"r1\"\n",
        "[cache]\nfill_from = \"primary\"\n",
    );
    assert!(ok(&text, &[]).variants[0].config.replicas.is_empty());
    assert_eq!(
        err(&text, &["background.reads_per_s=1"]).to_string(),
        "--set background.reads_per_s=1: background.reads_per_s: background reads are served by the replicas, \
         but the scenario has no [[replicas]]; add one, or set this to 0"
    );
}

// ---------------------------------------------------------------------------------------------
// Overrides

#[test]
fn set_changes_values_and_creates_missing_tables() {
    let s = ok(
        MINIMAL,
        &[
            "replicas[0].workers=3",
            "cache.ttl_s = 12.5",
            "traffic.profile[0].shoppers_per_s=7",
            "primary.read_time={ dist = \"constant\", ms = 4 }",
            "variants[0].checkout=conditional-decrement",
        ],
    );
    let c = &s.variants[0].config;
    assert_eq!(c.replicas[0].workers, 3);
    assert_eq!(c.cache.ttl_us, 12_500_000);
    assert_eq!(c.traffic.points, vec![(SimTime::ZERO, 7.0)]);
    assert_eq!(c.primary.read_time, Dist::Constant { us: 4000 });
    assert_eq!(s.variants[0].checkout, CheckoutKind::ConditionalDecrement);
}

#[test]
fn set_value_that_is_not_toml_is_a_string() {
    assert_eq!(ok(MINIMAL, &["name=hello world"]).name, "hello world");
    assert_eq!(
        ok(MINIMAL, &["description=\"quoted\""]).description,
        "quoted"
    );
}

#[test]
fn integers_may_use_any_toml_notation() {
    let s = ok(
        MINIMAL,
        &["seed=1_000", "max_events=0x10_0000", "primary.workers=+7"],
    );
    assert_eq!(s.seed, 1000);
    assert_eq!(s.variants[0].config.max_events, 1 << 20);
    assert_eq!(s.variants[0].config.primary.workers, 7);
    assert_eq!(
        err(MINIMAL, &["max_events=0"]).to_string(),
        "--set max_events=0: max_events: expected an integer at least 1, found 0"
    );
}

/// MINIMAL's 300 shoppers take at least 900 events: a cap below that is refused, saying so.
#[test]
fn a_cap_below_the_fewest_events_is_refused_when_read() {
    let e = err(MINIMAL, &["max_events=899"]).to_string();
    assert!(
        e.starts_with(
            "--set max_events=899: max_events: this run would take at least 900 events, more \
             than max_events = 899: 300 shoppers × 3 (traffic.profile) over duration_s = 60 s."
        ),
        "{e}"
    );
    ok(MINIMAL, &["max_events=900"]);
}

#[test]
fn sets_apply_in_order() {
    let s = ok(MINIMAL, &["seed=5", "seed=9"]);
    assert_eq!(s.seed, 9);
}

#[test]
fn set_with_a_bad_value_reports_the_set_string() {
    let e = err(MINIMAL, &["seed=2", "replicas[0].workers=0"]);
    assert_eq!(e.input, ErrorInput::Set("replicas[0].workers=0".into()));
    assert_eq!((e.line, e.column), (1, 21));
    assert_eq!(
        e.to_string(),
        "--set replicas[0].workers=0: replicas[0].workers: expected an integer from 1 to 100000, found 0"
    );
}

#[test]
fn set_with_an_unknown_key_reports_it() {
    let e = err(MINIMAL, &["primary.wrkers=3"]);
    assert_eq!((e.line, e.column), (1, 9));
    assert_eq!(
        e.to_string(),
        "--set primary.wrkers=3: primary.wrkers: unknown key `wrkers`; allowed keys here: `workers`, \
         `read_time`, `write_time`, `lock_timeout_ms` and `txn_idle_timeout_ms`"
    );
}

#[test]
fn set_with_an_out_of_range_index_names_the_length() {
    assert_eq!(
        err(MINIMAL, &["replicas[3].workers=3"]).to_string(),
        "--set replicas[3].workers=3: replicas: index 3 is out of range: `replicas` has 1 entry (index 0)"
    );
    assert_eq!(
        err(FULL, &["traffic.profile[3].at_s=3"]).to_string(),
        "--set traffic.profile[3].at_s=3: traffic.profile: index 3 is out of range: `traffic.profile` has 3 \
         entries (indices 0 to 2)"
    );
    assert_eq!(
        err(MINIMAL, &["faults[0].at_s=3"]).to_string(),
        "--set faults[0].at_s=3: faults: `faults` is a table, not an array, so it cannot be indexed"
    );
}

#[test]
fn set_with_a_malformed_path_is_an_error() {
    let e = err(MINIMAL, &["replicas[0]workers=3"]);
    assert_eq!(
        (e.input.clone(), e.column),
        (ErrorInput::Set("replicas[0]workers=3".into()), 12)
    );
    assert_eq!(
        e.message,
        "unexpected `w` in the path, expected `.`, `[` or `=`; a path is keys separated by `.`, each optionally \
         followed by `[N]` indices, e.g. `replicas[0].workers`"
    );
    assert_eq!(
        err(MINIMAL, &["seed"]).message,
        "expected `path=value`: there is no `=`"
    );
    assert!(
        err(MINIMAL, &["a..b=1"])
            .message
            .starts_with("expected a key in the path, found `.`")
    );
    assert!(
        err(MINIMAL, &["a[x]=1"])
            .message
            .starts_with("expected `[N]` with N a non-negative integer")
    );
    assert!(
        err(MINIMAL, &["=1"])
            .message
            .starts_with("expected a key in the path, found `=`")
    );
    assert_eq!(
        err(MINIMAL, &["\"a=1"]).message,
        "unterminated quoted key in path"
    );
    assert_eq!(
        err(MINIMAL, &["name.first=1"]).message,
        "`name` is the string \"minimal\", not a table, so it has no key `first`"
    );
}

#[test]
fn set_reaches_into_variants_with_quoted_keys() {
    let s = ok(FULL, &["variants[1].set.\"primary.workers\"=8"]);
    assert_eq!(s.variants[1].config.primary.workers, 8);
    assert_eq!(s.variants[0].config.primary.workers, 16);
}

#[test]
fn variant_set_errors_point_into_the_file() {
    let text = format!("{MINIMAL}set = {{ \"primary.workers\" = 0 }}\n");
    let e = err(&text, &[]);
    assert_eq!(e.input, ErrorInput::File);
    assert_eq!(
        e.to_string(),
        "t.toml:17:29: primary.workers: expected an integer from 1 to 100000, found 0 (in variant `base`, after \
         its `set`)"
    );
    let text = format!("{MINIMAL}set = {{ \"replicas[2].workers\" = 1 }}\n");
    assert_eq!(
        err(&text, &[]).to_string(),
        "t.toml:17:9: replicas: index 2 is out of range: `replicas` has 1 entry (index 0)"
    );
    let text = format!("{MINIMAL}set = {{ \"primary.wrkers\" = 1 }}\n");
    assert!(
        err(&text, &[])
            .to_string()
            .starts_with("t.toml:17:9: primary.wrkers: unknown key `wrkers`")
    );
    let text = format!("{MINIMAL}set = {{ \"variants[0].name\" = \"x\" }}\n");
    assert_eq!(
        err(&text, &[]).to_string(),
        "t.toml:17:9: variants[0].set.\"variants[0].name\": a variant's `set` cannot change `variants`: `name`, \
         `description`, `seed`, `variants`, `require`, `expect` and `report` are shared by all variants"
    );
    let text = format!("{MINIMAL}set = {{ \"primary..workers\" = 1 }}\n");
    assert!(err(&text, &[]).to_string().starts_with(
        "t.toml:17:9: variants[0].set.\"primary..workers\": expected a key in the path, found `.`"
    ));
}

#[test]
fn the_file_must_be_valid_without_variant_overrides() {
    // A variant's `set` cannot rescue an invalid base: errors are reported where they are written.
    let text = MINIMAL.replace("name = \"r1\"", "name = \"r1\"\nworkers = 0");
    let text = format!("{text}set = {{ \"replicas[0].workers\" = 2 }}\n");
    assert_eq!(
        err(&text, &[]).to_string(),
        "t.toml:13:11: replicas[0].workers: expected an integer from 1 to 100000, found 0"
    );
}

#[test]
fn variants_are_required_and_unique() {
    let text = MINIMAL.replace(
        "[[variants]]\nname = \"base\"\ncheckout = \"optimistic\"\n",
        "",
    );
    assert_eq!(
        err(&text, &[]).to_string(),
        "t.toml:1:1: variants: missing key `variants`: the scenario needs it"
    );
    let text = format!("{MINIMAL}[[variants]]\nname = \"base\"\ncheckout = \"optimistic\"\n");
    assert_eq!(
        err(&text, &[]).to_string(),
        "t.toml:18:8: variants[1].name: duplicate variant name `base` (also variants[0].name); each variant needs \
         its own name"
    );
}

#[test]
fn columns_count_characters_not_bytes() {
    let text = MINIMAL.replace(
        "name = \"minimal\"",
        "name = \"été\"\ndescription = \"☃\"; seed = -1",
    );
    let e = err(&text, &[]);
    // `;` is the 18th character of its line, the 20th byte.
    assert_eq!((e.line, e.column), (2, 18), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Robustness

/// A tiny deterministic generator for the sweep (xorshift64*).
struct Xs(u64);
impl Xs {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn never_panics_on_mutated_input() {
    let bytes = FULL.as_bytes();
    let mut rng = Xs(0x5eed);
    let interesting = b"=[]{}\".,0123456789-e_\n#'x";
    let set_pool = [
        "replicas[0].workers=0",
        "replicas[9]=1",
        "variants[1].set.\"x[\"=1",
        "faults[0].duration_s=1e308",
        "traffic.profile[1].at_s=-0.0",
        "a.b.c.d=[1,{x=2}]",
        "network.links[0].between=[\"app\"]",
        "products[0].stock=9223372036854775807",
        "\"=\"=",
        "[0]=1",
    ];
    let mut checked = 0;
    // Every truncation (at char boundaries).
    for cut in (0..=FULL.len()).filter(|i| FULL.is_char_boundary(*i)) {
        let _ = parse_scenario("f.toml", &FULL[..cut], &[]);
        checked += 1;
    }
    // Random byte flips and insertions of TOML punctuation.
    for round in 0..3000 {
        let mut m = bytes.to_vec();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(m.len());
            match rng.below(3) {
                0 => m[at] = interesting[rng.below(interesting.len())],
                1 => m.insert(at, interesting[rng.below(interesting.len())]),
                _ => {
                    m.remove(at);
                }
            }
        }
        let text = String::from_utf8_lossy(&m);
        let sets: Vec<String> = (0..round % 3)
            .map(|_| set_pool[rng.below(set_pool.len())].to_string())
            .collect();
        if let Err(e) = parse_scenario("f.toml", &text, &sets) {
            // Every error renders, and is located inside its input.
            let shown = e.to_string();
            assert!(!shown.is_empty());
            if e.input == ErrorInput::File {
                assert!(e.line >= 1 && e.line <= text.lines().count() + 1, "{shown}");
            }
        }
        checked += 1;
    }
    assert!(checked > 3000);
}

#[test]
fn reference_examples_are_valid() {
    let doc = include_str!("../../docs/scenario-reference.md");
    let blocks: Vec<&str> = doc
        .split("```toml\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .collect();
    assert!(blocks.len() >= 5);
    // The complete example parses as it is.
    let s = ok(blocks[0], &[]);
    assert_eq!(s.variants.len(), 2);
    assert_eq!(s.variants[1].config.primary.workers, 64);
    // Each fragment parses when added to a minimal scenario (fragments that define a variant
    // replace the minimal one's).
    for fragment in &blocks[1..] {
        let text = if fragment.contains("[[variants]]") {
            format!(
                "{}{fragment}",
                MINIMAL.replace(
                    "[[variants]]\nname = \"base\"\ncheckout = \"optimistic\"\n",
                    ""
                )
            )
        } else if fragment.contains("[traffic]") {
            format!(
                "{}{fragment}",
                MINIMAL.replace(
                    "[traffic]\nprofile = [{ at_s = 0, shoppers_per_s = 5 }]\n",
                    ""
                )
            )
        } else {
            format!("{MINIMAL}{fragment}")
        };
        let text = text.replace("\"eu-1\"", "\"r1\"");
        if let Err(e) = parse_scenario("doc.toml", &text, &[]) {
            panic!("fragment:\n{fragment}\nfails: {e}");
        }
    }
}

#[test]
fn positive_durations_must_not_round_to_zero() {
    assert_eq!(
        err(MINIMAL, &["primary.lock_timeout_ms=0.0001"]).to_string(),
        "--set primary.lock_timeout_ms=0.0001: primary.lock_timeout_ms: expected a number from 0.0005 to \
         2592000000 (it is rounded to whole µs, and must not round to 0), found 0.0001"
    );
    assert_eq!(
        ok(MINIMAL, &["primary.lock_timeout_ms=0.0005"]).variants[0]
            .config
            .primary
            .lock_timeout_us,
        1
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("x = {}1{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(parse_scenario("f", &deep, &[]).is_err());
    // Too deep to be a TOML value: taken as a string, then rejected as an unknown key.
    let deep = format!("x={}1{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(parse_scenario("f", MINIMAL, &[deep]).is_err());
    let long = format!("{}=1", vec!["a"; 100_000].join("."));
    assert_eq!(
        err(MINIMAL, &[&long]).message,
        "a path may have at most 32 steps"
    );
}

#[test]
fn requirements_name_a_check_and_the_variants_it_binds() {
    let s = ok(
        &format!(
            "{MINIMAL}[[require]]\ncheck = \"linearizability\"\nvariants = [\"base\"]\nkeys = \"stock\"\n\
             [[require]]\ncheck = \"bounded-staleness\"\nmax_staleness_ms = 2.5\n"
        ),
        &[],
    );
    assert_eq!(
        s.requirements,
        vec![
            Requirement {
                check: CheckName::Linearizability,
                variants: vec!["base".into()],
                keys: Some(KeyKindName::Stock),
                max_staleness_us: None,
            },
            Requirement {
                check: CheckName::BoundedStaleness,
                variants: vec![],
                keys: None,
                max_staleness_us: Some(2_500),
            },
        ]
    );
    assert!(s.requirements[1].applies_to("base") && !s.requirements[0].applies_to("other"));
}

#[test]
fn bad_requirements_say_what_is_allowed() {
    let cases = [
        (
            "[[require]]\ncheck = \"serializable\"\n",
            "t.toml:18:9: require[0].check: expected one of `linearizability`, `read-your-writes`",
        ),
        (
            "[[require]]\ncheck = \"no-oversell\"\nvariants = [\"locked\"]\n",
            "t.toml:19:13: require[0].variants[0]: no variant named `locked`; this scenario has `base`",
        ),
        (
            "[[require]]\ncheck = \"no-oversell\"\nmax_staleness_ms = 5\n",
            "`max_staleness_ms` belongs to check = \"bounded-staleness\", not \"no-oversell\"",
        ),
        (
            "[[require]]\ncheck = \"no-oversell\"\nkeys = \"price\"\n",
            "require[0].keys: expected one of `stock` or `profile`",
        ),
        (
            "[[require]]\ncheck = \"no-oversell\"\nvariant = \"base\"\n",
            "unknown key `variant`",
        ),
    ];
    for (extra, expected) in cases {
        let e = err_min(extra);
        assert!(e.contains(expected), "{e}\nshould contain\n{expected}");
    }
    // A variant may not change the requirements.
    let e = err(
        &MINIMAL.replace(
            "checkout = \"optimistic\"\n",
            "checkout = \"optimistic\"\nset = { \"require\" = [] }\n",
        ),
        &[],
    )
    .to_string();
    assert!(e.contains("cannot change `require`"), "{e}");
}

const SAGA_VARIANT: &str =
    "[[variants]]\nname = \"reliable\"\ncheckout = \"saga\"\nsaga = \"reliable\"\n";

#[test]
fn a_saga_section_takes_defaults_and_overrides() {
    let text = format!(
        "{MINIMAL}[saga]\nstep_timeout_ms = 250\nmax_attempts = 5\ndecline_probability = 0.05\n\
         compensation_failure_probability = 0.2\n\
         [saga.payment]\nworkers = 2\nlost_reply_probability = 0.01\n\
         service_time = {{ dist = \"constant\", ms = 3 }}\n{SAGA_VARIANT}"
    );
    let s = ok(&text, &[]);
    let v = &s.variants[1];
    assert_eq!(
        (v.checkout, v.saga),
        (CheckoutKind::Saga, Some(SagaPolicy::Reliable))
    );
    assert_eq!(s.variants[0].saga, None);
    let saga = v.config.saga.as_ref().expect("a [saga] section");
    assert_eq!((saga.step_timeout_us, saga.max_attempts), (250_000, 5));
    assert_eq!(
        (
            saga.decline_probability,
            saga.compensation_failure_probability
        ),
        (0.05, 0.2)
    );
    assert_eq!(
        saga.payment,
        SagaService {
            service_time: Dist::Constant { us: 3_000 },
            workers: 2,
            failure_probability: 0.0,
            lost_reply_probability: 0.01,
        }
    );
    // Untouched services take every default.
    assert_eq!(saga.order.workers, 8);
    assert_eq!(saga.inventory.service_time, Dist::Constant { us: 2_000 });
    assert!(ok(MINIMAL, &[]).variants[0].config.saga.is_none());
}

#[test]
fn saga_mistakes_say_what_is_needed() {
    let cases = [
        (
            format!("{MINIMAL}{SAGA_VARIANT}"),
            "checkout `saga` spans an inventory, a payment and an order service, but the scenario has no [saga] section",
        ),
        (
            format!("{MINIMAL}[saga]\n[[variants]]\nname = \"s\"\ncheckout = \"saga\"\n"),
            "checkout `saga` needs the variant's `saga` policy: `no-compensation`, `best-effort`, `reliable` or `two-phase-commit`",
        ),
        (
            format!(
                "{MINIMAL}[saga]\n[[variants]]\nname = \"s\"\ncheckout = \"optimistic\"\nsaga = \"reliable\"\n"
            ),
            "`saga` chooses the policy of checkout `saga`; this variant's checkout is `optimistic`",
        ),
        (
            format!(
                "{MINIMAL}[saga]\n[[variants]]\nname = \"s\"\ncheckout = \"saga\"\nsaga = \"eventual\"\n"
            ),
            "expected one of `no-compensation`, `best-effort`, `reliable` or `two-phase-commit`",
        ),
        (
            format!("{MINIMAL}[saga]\ndecline_probability = 1.5\n{SAGA_VARIANT}"),
            "saga.decline_probability",
        ),
        (
            format!("{MINIMAL}[saga.payment]\nworkers = 0\n{SAGA_VARIANT}"),
            "saga.payment.workers",
        ),
        (
            format!("{MINIMAL}[saga.shipping]\n{SAGA_VARIANT}"),
            "unknown key `shipping`",
        ),
    ];
    for (text, expected) in cases {
        let e = err(&text, &[]).to_string();
        assert!(e.contains(expected), "{e}\nshould contain\n{expected}");
    }
}

// ---------------------------------------------------------------------------------------------
// [[expect]]

#[test]
fn expectations_read_figures_checks_variants_and_shares() {
    let s = ok(
        &format!(
            "{MINIMAL}[[expect]]\nthat = \"oversold_units==0\"\n\n\
             [[expect]]\nvariant = \"base\"\nthat = \" replica_lag_ms_p99 <= 2.5e1 \"\non_seeds = 0.8\nwhy = \" lag \"\n\n\
             [[expect]]\nvariants = [\"base\", \"base\"]\ncheck = \"bounded-staleness\"\nverdict = \"fail\"\nkeys = \"stock\"\nmax_staleness_ms = 2\non_seeds = \"all\"\n"
        ),
        &[],
    );
    assert_eq!(
        s.expectations,
        vec![
            Expectation {
                variants: vec!["base".into()],
                claim: Claim::Figure {
                    metric: "oversold_units".into(),
                    op: CompareOp::Eq,
                    value: 0.0
                },
                on_seeds: SeedShare::All,
                why: String::new(),
                line: 17,
            },
            Expectation {
                variants: vec!["base".into()],
                claim: Claim::Figure {
                    metric: "replica_lag_ms_p99".into(),
                    op: CompareOp::Le,
                    value: 25.0
                },
                on_seeds: SeedShare::AtLeast(0.8),
                why: "lag".into(),
                line: 20,
            },
            Expectation {
                variants: vec!["base".into()],
                claim: Claim::Check {
                    check: CheckName::BoundedStaleness,
                    pass: false,
                    keys: Some(KeyKindName::Stock),
                    max_staleness_us: Some(2_000),
                },
                on_seeds: SeedShare::All,
                why: String::new(),
                line: 26,
            },
        ]
    );
    assert_eq!(s.expectations[0].claim.text(), "oversold_units == 0");
    assert_eq!(
        s.expectations[2].claim.text(),
        "check bounded-staleness on stock keys fails"
    );
}

#[test]
fn bad_expectations_say_what_is_allowed() {
    let cases = [
        (
            "[[expect]]\nthat = \"oversold == 0\"\n",
            "t.toml:18:8: expect[0].that: unknown figure `oversold`; did you mean `oversold_units`? \
             The figures are the numeric keys of a variant's metrics in `--format json` \
             (docs/output-reference.md)",
        ),
        (
            "[[expect]]\nthat = \"oversold_units = 0\"\n",
            "t.toml:18:8: expect[0].that: `=` is not a comparison: write `==`",
        ),
        (
            "[[expect]]\nthat = \"oversold_units 0\"\n",
            "expect[0].that: expected `METRIC OP NUMBER` such as \"oversold_units == 0\", with OP \
             one of `==`, `!=`, `<`, `<=`, `>` or `>=`, found \"oversold_units 0\": it has no operator",
        ),
        (
            "[[expect]]\nthat = \"oversold_units == none\"\n",
            "expect[0].that: expected a number after `==`, found `none`",
        ),
        (
            "[[expect]]\nthat = \"saga.leaked_units == 0\"\n",
            "expect[0].that: `saga.leaked_units` is a saga figure, and variant `base` has checkout \
             `optimistic`, not `saga`",
        ),
        (
            "[[expect]]\nvariant = \"locked\"\nthat = \"oversold_units == 0\"\n",
            "t.toml:18:11: expect[0].variant: no variant named `locked`; this scenario has `base`",
        ),
        (
            "[[expect]]\nvariants = []\nthat = \"oversold_units == 0\"\n",
            "expect[0].variants: expected at least one variant name",
        ),
        (
            "[[expect]]\nvariant = \"base\"\nvariants = [\"base\"]\nthat = \"oversold_units == 0\"\n",
            "expect[0].variants: write either `variant = \"name\"` or `variants = [\"a\", \"b\"]`",
        ),
        (
            "[[expect]]\nthat = \"oversold_units == 0\"\non_seeds = 80\n",
            "t.toml:19:12: expect[0].on_seeds: expected \"all\" or the share of seeds it must hold \
             on, a number greater than 0 and at most 1 (0.8: on at least 80% of the seeds), found 80",
        ),
        (
            "[[expect]]\nthat = \"oversold_units == 0\"\non_seeds = 0\n",
            "expect[0].on_seeds: expected \"all\" or the share",
        ),
        (
            "[[expect]]\nthat = \"oversold_units == 0\"\non_seeds = \"most\"\n",
            "found the string \"most\"",
        ),
        (
            "[[expect]]\nthat = \"oversold_units == 0\"\ncheck = \"no-oversell\"\n",
            "expect[0].check: an expectation has either `that` (a figure) or `check` (a checker), \
             not both",
        ),
        (
            "[[expect]]\nwhy = \"nothing\"\n",
            "t.toml:17:1: expect[0]: missing key `that` or `check`",
        ),
        (
            "[[expect]]\nthat = \"oversold_units == 0\"\nverdict = \"pass\"\n",
            "expect[0].verdict: `verdict` belongs to a `check` expectation, not to `that`",
        ),
        (
            "[[expect]]\ncheck = \"no-oversell\"\nverdict = \"passes\"\n",
            "expect[0].verdict: expected one of `pass` or `fail`",
        ),
        (
            "[[expect]]\ncheck = \"serializable\"\n",
            "expect[0].check: expected one of `linearizability`",
        ),
        (
            "[[expect]]\ncheck = \"no-oversell\"\nmax_staleness_ms = 5\n",
            "`max_staleness_ms` belongs to check = \"bounded-staleness\", not \"no-oversell\"",
        ),
        (
            "[[expect]]\nthat = \"oversold_units == 0\"\nseeds = 3\n",
            "expect[0].seeds: unknown key `seeds`; allowed keys here: `variant`, `variants`, \
             `that`, `check`, `verdict`, `keys`, `max_staleness_ms`, `on_seeds` and `why`",
        ),
    ];
    for (extra, expected) in cases {
        let e = err_min(extra);
        assert!(e.contains(expected), "{e}\nshould contain\n{expected}");
    }
    let e = err(&format!("expect = 3\n{MINIMAL}"), &[]).to_string();
    assert_eq!(
        e,
        "t.toml:1:10: expect: expected an array of tables ([[expect]]), found 3"
    );
    // A variant may not change the expectations.
    let e = err(
        &MINIMAL.replace(
            "checkout = \"optimistic\"\n",
            "checkout = \"optimistic\"\nset = { \"expect\" = [] }\n",
        ),
        &[],
    )
    .to_string();
    assert!(e.contains("cannot change `expect`"), "{e}");
}
