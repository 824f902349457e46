//! The schema: from the text of a scenario file (and its overrides) to a validated [`Scenario`].
//!
//! Order: parse the file; apply every `--set` in order to the whole document; read the shared
//! identity and the base configuration (the file must be valid on its own); then for each variant,
//! apply its `set` table to a copy of the document and read that copy into the variant's
//! [`Config`]. `docs/scenario-reference.md` describes every key for users.

use std::sync::LazyLock;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::{Issue, ScenarioError, Sources};
use super::expect::{known_figure, read_expectations, read_max_staleness};
use super::read::{
    Interval, MAX_HORIZON_S, MAX_TIMEOUT_MS, R, Tab, Val, child_path, list_and, list_or, ms_to_us,
    num,
};
use super::set::{SetPath, Step, apply, parse_path, parse_value};
use super::types::*;
use crate::engine::{Dist, SimTime};

/// Parses and validates a scenario. `origin` is the file name used in messages; `sets` are the
/// CLI's `--set path=value` strings, applied in order as edits of the document.
///
/// Never panics, whatever the input.
pub fn parse_scenario(
    origin: &str,
    text: &str,
    sets: &[String],
) -> Result<Scenario, ScenarioError> {
    let sources = Sources::new(origin, text, sets);
    load(text, sets, &sources).map_err(|issue| sources.error(issue))
}

const TOP_KEYS: &[&str] = &[
    "name",
    "description",
    "seed",
    "duration_s",
    "horizon_s",
    "max_events",
    "engine",
    "network",
    "primary",
    "replicas",
    "cache",
    "shoppers",
    "traffic",
    "background",
    "products",
    "checkout",
    "faults",
    "monitor",
    "convergence",
    "replication",
    "profiles",
    "price_changes",
    "variants",
    "require",
    "expect",
    "saga",
    "report",
];
/// Top-level keys shared by all variants, which a variant's `set` may not change.
const SHARED_KEYS: &[&str] = &[
    "name",
    "description",
    "seed",
    "variants",
    "require",
    "expect",
    "report",
];

/// Longest scenario traffic period: one day.
const MAX_DURATION_S: f64 = 86_400.0;
/// Largest value of any `*_ms` key of a distribution: one hour.
const MAX_DIST_MS: f64 = 3_600_000.0;
const MAX_REPLICAS: usize = 64;
const MAX_WORKERS: u32 = 100_000;
/// Largest weight or popularity, so that sums over them cannot overflow.
const MAX_WEIGHT: u64 = 1_000_000_000;
const MAX_RATE: f64 = 1_000_000.0;
const MAX_PRICE_CENTS: i128 = 1_000_000_000_000;
/// Scheduled faults or price changes per scenario (they are numbered with 16 bits in events).
const MAX_SCHEDULED: usize = 10_000;

fn load(text: &str, sets: &[String], sources: &Sources<'_>) -> R<Scenario> {
    let mut doc = DeTable::parse(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        Issue::new(
            span,
            "",
            format!("invalid TOML: {}", e.message().trim_end()),
        )
    })?;
    for (i, set) in sets.iter().enumerate() {
        let base = sources.set_base(i);
        let (path, eq) = parse_path(set, true).map_err(|(message, span)| {
            Issue::new(span.start + base..span.end + base, "", message)
        })?;
        let path = respan(path, |r| r.start + base..r.end + base);
        let value = parse_value(&set[eq + 1..], base + eq + 1);
        apply(&mut doc, &path, value)?;
    }

    let root = Tab::root(&doc);
    root.only(TOP_KEYS)?;
    let name = root.req("name")?.name()?.to_string();
    let description = match root.get("description") {
        Some(v) => v.string()?.to_string(),
        None => String::new(),
    };
    let seed = opt(&root, "seed", |v| v.u64(0, None))?.unwrap_or(1);
    let base = read_config(&root)?;

    let specs = read_variants(&root)?;
    let mut variants = Vec::with_capacity(specs.len());
    for spec in specs {
        let config = if spec.edits.is_empty() {
            base.clone()
        } else {
            let mut copy = doc.clone();
            for (path, value) in &spec.edits {
                apply(&mut copy, path, value.clone())?;
            }
            let root = Tab::root(&copy);
            root.only(TOP_KEYS)
                .and_then(|()| read_config(&root))
                .map_err(|e| in_variant(e, &spec.name))?
        };
        check_replica_needs(&spec, &config)?;
        check_monitor_needs(&spec, &config)?;
        check_saga_needs(&spec, &config)?;
        variants.push(Variant {
            name: spec.name,
            checkout: spec.checkout,
            page: spec.page,
            profile_reads: spec.profile_reads,
            saga: spec.saga,
            config,
        });
    }
    let requirements = read_requirements(&root, &variants)?;
    let expectations = read_expectations(&root, &variants, text)?;
    let report = read_report(&root)?;
    Ok(Scenario {
        name,
        description,
        seed,
        variants,
        requirements,
        expectations,
        report,
    })
}

/// `[report]`: the lesson line and the rows of the class-sized table.
fn read_report(root: &Tab<'_, '_>) -> R<ReportView> {
    let t = section(root, "report", &["lesson", "rows"])?;
    let lesson = opt(&t, "lesson", |v| v.string().map(str::to_string))?.unwrap_or_default();
    let mut rows = Vec::new();
    if let Some(v) = t.get("rows") {
        for item in v.array("an array of figure names")? {
            let name = item.string()?;
            known_figure(name).map_err(|m| item.issue(m))?;
            if rows.iter().any(|r| r == name) {
                return Err(item.issue(format!("`{name}` is listed twice")));
            }
            rows.push(name.to_string());
        }
    }
    Ok(ReportView { lesson, rows })
}

/// `[[require]]`: checks that must pass.
fn read_requirements(root: &Tab<'_, '_>, variants: &[Variant]) -> R<Vec<Requirement>> {
    let Some(v) = root.get("require") else {
        return Ok(Vec::new());
    };
    let items = v.array("an array of tables ([[require]])")?;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let t = item.table(
            "a table ([[require]])",
            &["check", "variants", "keys", "max_staleness_ms"],
        )?;
        let check = t.req("check")?.one_of(CheckName::ALL)?;
        let mut names = Vec::new();
        if let Some(vv) = t.get("variants") {
            for n in vv.array("an array of variant names")? {
                let name = n.string()?;
                if !variants.iter().any(|x| x.name == name) {
                    let known: Vec<&str> = variants.iter().map(|x| x.name.as_str()).collect();
                    return Err(n.issue(format!(
                        "no variant named `{name}`; this scenario has {}",
                        list_and(&known)
                    )));
                }
                names.push(name.to_string());
            }
        }
        let keys = opt(&t, "keys", |v| v.one_of(KeyKindName::ALL))?;
        let max_staleness_us = read_max_staleness(&t, check)?;
        out.push(Requirement {
            check,
            variants: names,
            keys,
            max_staleness_us,
        });
    }
    Ok(out)
}

fn respan(path: SetPath, f: impl Fn(std::ops::Range<usize>) -> std::ops::Range<usize>) -> SetPath {
    let steps = path
        .steps
        .into_iter()
        .map(|step| match step {
            Step::Key(k, r) => Step::Key(k, f(r)),
            Step::Index(i, r) => Step::Index(i, f(r)),
        })
        .collect();
    SetPath { steps }
}

fn in_variant(mut e: Issue, name: &str) -> Issue {
    e.message = format!("{} (in variant `{name}`, after its `set`)", e.message);
    e
}

/// Reads `key` with `f` if present.
fn opt<'a, 'i, T>(
    t: &Tab<'a, 'i>,
    key: &str,
    f: impl FnOnce(&Val<'a, 'i>) -> R<T>,
) -> R<Option<T>> {
    t.get(key).map(|v| f(&v)).transpose()
}

/// Reads the table at `key` (an empty table if absent), checking its keys against `allowed`.
fn section<'a, 'i>(t: &Tab<'a, 'i>, key: &str, allowed: &[&str]) -> R<Tab<'a, 'i>> {
    match t.get(key) {
        Some(v) => v.table(&format!("a table ([{}])", v.path), allowed),
        None => Ok(Tab {
            t: &EMPTY,
            span: t.span.clone(),
            path: key.to_string(),
        }),
    }
}

/// Stands for an absent optional section: every key takes its default.
static EMPTY: LazyLock<DeTable<'static>> = LazyLock::new(DeTable::new);

// ---------------------------------------------------------------------------------------------
// Units

fn s_to_us(s: f64) -> u64 {
    libm::round(s * 1_000_000.0) as u64
}

/// A duration in ms, > 0 and at most `max_ms`, in whole µs (at least 1).
fn positive_ms(v: &Val<'_, '_>, max_ms: f64) -> R<u64> {
    let ms = v.number(Interval::above(0.0, max_ms))?;
    match ms_to_us(ms) {
        0 => Err(v.expected(&format!(
            "a number from 0.0005 to {} (it is rounded to whole µs, and must not round to 0)",
            num(max_ms)
        ))),
        us => Ok(us),
    }
}

/// A duration in seconds that must be > 0 and not round to 0 µs.
fn positive_s(v: &Val<'_, '_>, max_s: f64) -> R<u64> {
    let s = v.number(Interval::above(0.0, max_s))?;
    match s_to_us(s) {
        0 => Err(v.expected(&format!(
            "a number from 0.0000005 to {} (it is rounded to whole µs, and must not round to 0)",
            num(max_s)
        ))),
        us => Ok(us),
    }
}

// ---------------------------------------------------------------------------------------------
// Distributions

const DIST_KINDS: [(&str, &[&str]); 4] = [
    ("constant", &["ms"]),
    ("uniform", &["min_ms", "max_ms"]),
    ("exponential", &["mean_ms"]),
    ("lognormal", &["median_ms", "p99_ms"]),
];
const DIST_EXAMPLE: &str = "a distribution table such as { dist = \"exponential\", mean_ms = 1.0 }";

fn dist(v: &Val<'_, '_>) -> R<Dist> {
    let t = v.any_table(DIST_EXAMPLE)?;
    let (name, fields) = DIST_KINDS[t.tagged("dist", "distribution", &DIST_KINDS, &["dist"])?];
    let need = |key: &str| {
        t.req_or(
            key,
            &format!(
                "missing key `{key}`: a `{name}` distribution needs {}",
                list_and(fields)
            ),
        )
    };
    let ms_range = Interval::closed(0.0, MAX_DIST_MS);
    let positive = Interval::above(0.0, MAX_DIST_MS);
    Ok(match name {
        "constant" => Dist::Constant {
            us: ms_to_us(need("ms")?.number(ms_range)?),
        },
        "uniform" => {
            let min = need("min_ms")?.number(ms_range)?;
            let max = need("max_ms")?.number_as(
                Interval::closed(min, MAX_DIST_MS),
                &format!(
                    "a number from min_ms ({}) to {}",
                    num(min),
                    num(MAX_DIST_MS)
                ),
            )?;
            Dist::Uniform {
                min_us: ms_to_us(min),
                max_us: ms_to_us(max),
            }
        }
        "exponential" => Dist::Exponential {
            mean_us: need("mean_ms")?.number(positive)? * 1000.0,
        },
        _ => {
            let median = need("median_ms")?.number(positive)?;
            let p99 = need("p99_ms")?.number_as(
                Interval::closed(median, MAX_DIST_MS),
                &format!(
                    "a number from median_ms ({}) to {}",
                    num(median),
                    num(MAX_DIST_MS)
                ),
            )?;
            Dist::lognormal_from_median_p99(median * 1000.0, p99 * 1000.0)
        }
    })
}

fn dist_or(t: &Tab<'_, '_>, key: &str, default: Dist) -> R<Dist> {
    Ok(opt(t, key, dist)?.unwrap_or(default))
}

// ---------------------------------------------------------------------------------------------
// The configuration

fn read_config(root: &Tab<'_, '_>) -> R<Config> {
    let duration_s = root
        .req("duration_s")?
        .number(Interval::above(0.0, MAX_DURATION_S))?;
    let traffic_end = s_to_us(duration_s);
    let (horizon_s, horizon) = match root.get("horizon_s") {
        Some(v) => {
            let expected = format!(
                "a number greater than duration_s ({}) and at most {}",
                num(duration_s),
                num(MAX_HORIZON_S)
            );
            let h = v.number_as(Interval::above(duration_s, MAX_HORIZON_S), &expected)?;
            if s_to_us(h) <= traffic_end {
                return Err(v.expected(&expected));
            }
            (h, s_to_us(h))
        }
        None => (duration_s + 600.0, s_to_us(duration_s + 600.0)),
    };
    let max_events = opt(root, "max_events", |v| v.u64(1, None))?.unwrap_or(200_000_000);
    let background_mode = {
        let t = section(root, "engine", &["background"])?;
        opt(&t, "background", |v| v.one_of(BackgroundMode::ALL))?.unwrap_or(BackgroundMode::Lazy)
    };

    let replicas = read_replicas(root)?;
    let replicas_n = replicas.len();
    let saga = read_saga(root)?;
    let replica_names: Vec<String> = replicas.iter().map(|r| r.name.clone()).collect();
    let topology = Topology::new(&replica_names, saga.is_some());
    let network = read_network(root, &topology)?;
    let primary = read_primary(root)?;
    let cache = read_cache(root)?;
    let shoppers = read_shoppers(root)?;
    let traffic = read_traffic(root)?;
    let background = read_background(root, replicas.len())?;
    let products = read_products(root)?;
    let price_changes = read_price_changes(root, &products, horizon)?;
    let checkout = read_checkout(root)?;
    let faults = read_faults(root, &topology, horizon_s, horizon)?;
    let monitor = read_monitor(root)?;
    let converge_within_us = {
        let t = section(root, "convergence", &["must_converge_within_s"])?;
        opt(&t, "must_converge_within_s", |v| {
            v.number(Interval::closed(0.0, MAX_HORIZON_S)).map(s_to_us)
        })?
    };
    let config = Config {
        traffic_end: SimTime::from_micros(traffic_end),
        horizon: SimTime::from_micros(horizon),
        max_events,
        background_mode,
        topology,
        network,
        primary,
        replicas,
        cache,
        shoppers,
        traffic,
        background,
        products,
        checkout,
        faults,
        monitor,
        converge_within_us,
        replication: read_replication(root, replicas_n)?,
        profiles: read_profiles(root, replicas_n)?,
        price_changes,
        saga,
    };
    refuse_unfinishable(root, &config)?;
    Ok(config)
}

/// A run whose fewest events exceed `max_events` would only stop at the cap: refused now, with
/// what drives its size.
fn refuse_unfinishable(root: &Tab<'_, '_>, config: &Config) -> R<()> {
    let floor = config.event_floor();
    if floor.events <= config.max_events as f64 {
        return Ok(());
    }
    let per_write = match config.background_mode {
        BackgroundMode::Events => 3 + 2 * config.replicas.len(),
        BackgroundMode::Lazy => 2 * config.replicas.len(),
    };
    let mut parts = vec![format!(
        "{:.0} shoppers × 3 (traffic.profile)",
        floor.shoppers
    )];
    if floor.background_writes > 0.0 {
        parts.push(format!(
            "{:.0} background writes × {per_write} ([background] writes_per_s, \
             writes_per_shopper)",
            floor.background_writes
        ));
    }
    if config.background_mode == BackgroundMode::Events && floor.background_reads > 0.0 {
        parts.push(format!(
            "{:.0} background reads × 3 (as events: [engine] background = \"events\")",
            floor.background_reads
        ));
    }
    if floor.sessions > 0.0 {
        parts.push(format!("{:.0} profile sessions × 3", floor.sessions));
    }
    let at = root
        .get("max_events")
        .or_else(|| root.get("duration_s"))
        .expect("duration_s is required");
    Err(at.issue(format!(
        "this run would take at least {:.0} events, more than max_events = {}: {} over \
         duration_s = {} s. It would stop at the cap; shorten duration_s, lower the rates, or \
         raise max_events if the scenario is really this large",
        floor.events,
        config.max_events,
        parts.join(", "),
        num(config.traffic_end.as_secs_f64()),
    )))
}

/// `[saga]` and its three service tables.
fn read_saga(root: &Tab<'_, '_>) -> R<Option<Saga>> {
    if !root.has("saga") {
        return Ok(None);
    }
    let t = section(
        root,
        "saga",
        &[
            "step_timeout_ms",
            "max_attempts",
            "retry_backoff",
            "compensation_backoff",
            "backoff_multiplier",
            "max_backoff_ms",
            "compensation_failure_probability",
            "decline_probability",
            "inventory",
            "payment",
            "order",
        ],
    )?;
    let probability = |t: &Tab<'_, '_>, key: &str| -> R<f64> {
        Ok(opt(t, key, |v| v.number(Interval::closed(0.0, 1.0)))?.unwrap_or(0.0))
    };
    let service = |name: &str| -> R<SagaService> {
        let s = section(
            &t,
            name,
            &[
                "service_time",
                "workers",
                "failure_probability",
                "lost_reply_probability",
            ],
        )?;
        Ok(SagaService {
            service_time: dist_or(&s, "service_time", Dist::Constant { us: 2_000 })?,
            workers: opt(&s, "workers", |v| v.u32(1, MAX_WORKERS))?.unwrap_or(8),
            failure_probability: probability(&s, "failure_probability")?,
            lost_reply_probability: probability(&s, "lost_reply_probability")?,
        })
    };
    Ok(Some(Saga {
        inventory: service("inventory")?,
        payment: service("payment")?,
        order: service("order")?,
        step_timeout_us: opt(&t, "step_timeout_ms", |v| positive_ms(v, MAX_TIMEOUT_MS))?
            .unwrap_or(500_000),
        max_attempts: opt(&t, "max_attempts", |v| v.u32(1, 1000))?.unwrap_or(3),
        retry_backoff: dist_or(&t, "retry_backoff", Dist::Constant { us: 50_000 })?,
        compensation_backoff: dist_or(&t, "compensation_backoff", Dist::Constant { us: 200_000 })?,
        backoff_multiplier: opt(&t, "backoff_multiplier", |v| {
            v.number(Interval::closed(1.0, 10.0))
        })?
        .unwrap_or(1.0),
        max_backoff_us: opt(&t, "max_backoff_ms", |v| positive_ms(v, MAX_TIMEOUT_MS))?
            .unwrap_or(60_000_000),
        compensation_failure_probability: probability(&t, "compensation_failure_probability")?,
        decline_probability: probability(&t, "decline_probability")?,
    }))
}

fn read_price_changes(
    root: &Tab<'_, '_>,
    products: &[Product],
    horizon_us: u64,
) -> R<Vec<PriceChange>> {
    let Some(v) = root.get("price_changes") else {
        return Ok(Vec::new());
    };
    let names: Vec<&str> = products.iter().map(|p| p.name.as_str()).collect();
    let mut changes = Vec::new();
    let items = v.array("an array of tables ([[price_changes]])")?;
    if items.len() > MAX_SCHEDULED {
        return Err(v.issue(format!(
            "expected at most {MAX_SCHEDULED} price changes, found {}",
            items.len()
        )));
    }
    for item in items {
        let t = item.table(
            "a table ([[price_changes]])",
            &["at_s", "product", "price_cents"],
        )?;
        let av = t.req("at_s")?;
        let at = s_to_us(av.number(Interval::closed(0.0, MAX_HORIZON_S))?);
        if at >= horizon_us {
            return Err(av.issue("a price change must happen before the horizon"));
        }
        let pv = t.req("product")?;
        let expected = format!("a product name: {}", list_or(&names));
        let name = pv.string().map_err(|_| pv.expected(&expected))?;
        let product = names
            .iter()
            .position(|n| *n == name)
            .ok_or_else(|| pv.expected(&expected))?;
        changes.push(PriceChange {
            at: SimTime::from_micros(at),
            product,
            price_cents: t.req("price_cents")?.int(0, Some(MAX_PRICE_CENTS))? as i64,
        });
    }
    Ok(changes)
}

fn read_profiles(root: &Tab<'_, '_>, replicas: usize) -> R<Profiles> {
    let t = section(
        root,
        "profiles",
        &[
            "sessions_per_s",
            "users",
            "redirect_time",
            "reads_after_write",
            "read_gap",
            "sticky_window_s",
        ],
    )?;
    let sessions_per_s = opt(&t, "sessions_per_s", |v| {
        v.number(Interval::closed(0.0, MAX_RATE))
    })?
    .unwrap_or(0.0);
    if sessions_per_s > 0.0 && replicas == 0 {
        return Err(t.req("sessions_per_s")?.issue(
            "profile reads are routed to replicas, but the scenario has no [[replicas]]; add one",
        ));
    }
    Ok(Profiles {
        sessions_per_s,
        users: opt(&t, "users", |v| v.u32(1, 10_000_000))?.unwrap_or(10_000),
        redirect_time: dist_or(
            &t,
            "redirect_time",
            Dist::lognormal_from_median_p99(150_000.0, 1_000_000.0),
        )?,
        reads_after_write: opt(&t, "reads_after_write", |v| v.u32(1, 100))?.unwrap_or(3),
        read_gap: dist_or(
            &t,
            "read_gap",
            Dist::lognormal_from_median_p99(2_000_000.0, 10_000_000.0),
        )?,
        sticky_window_us: opt(&t, "sticky_window_s", |v| {
            v.number(Interval::closed(0.0, MAX_HORIZON_S)).map(s_to_us)
        })?
        .unwrap_or(30_000_000),
    })
}

fn read_replication(root: &Tab<'_, '_>, replicas: usize) -> R<Replication> {
    let t = section(
        root,
        "replication",
        &["mode", "sync_acks", "ack_timeout_ms"],
    )?;
    let mode =
        opt(&t, "mode", |v| v.one_of(ReplicationMode::ALL))?.unwrap_or(ReplicationMode::Async);
    let sync_acks = match t.get("sync_acks") {
        None => 1,
        Some(v) if replicas == 0 => {
            return Err(v.issue("`sync_acks` needs replicas to acknowledge, but there are none"));
        }
        Some(v) => v.u64(1, Some(replicas as u64))? as usize,
    };
    if mode != ReplicationMode::Async && replicas == 0 {
        let v = t.get("mode").expect("a non-default mode was given");
        return Err(
            v.issue("synchronous replication needs at least one replica, but there are none")
        );
    }
    Ok(Replication {
        mode,
        sync_acks,
        ack_timeout_us: opt(&t, "ack_timeout_ms", |v| positive_ms(v, MAX_TIMEOUT_MS))?
            .unwrap_or(1_000_000),
    })
}

fn read_monitor(root: &Tab<'_, '_>) -> R<Option<Monitor>> {
    if root.get("monitor").is_none() {
        return Ok(None);
    }
    let t = section(root, "monitor", &["sample_every_s", "threshold_ms"])?;
    Ok(Some(Monitor {
        sample_every_us: opt(&t, "sample_every_s", |v| positive_s(v, MAX_HORIZON_S))?
            .unwrap_or(5_000_000),
        threshold_us: opt(&t, "threshold_ms", |v| positive_ms(v, MAX_TIMEOUT_MS))?
            .unwrap_or(2_000_000),
    }))
}

fn read_replicas(root: &Tab<'_, '_>) -> R<Vec<Replica>> {
    let Some(v) = root.get("replicas") else {
        return Ok(Vec::new());
    };
    let items = v.array("an array of tables ([[replicas]])")?;
    if items.len() > MAX_REPLICAS {
        return Err(v.issue(format!(
            "at most {MAX_REPLICAS} replicas are allowed, found {}",
            items.len()
        )));
    }
    let mut replicas: Vec<Replica> = Vec::with_capacity(items.len());
    for item in &items {
        let t = item.table(
            "a table ([[replicas]])",
            &["name", "workers", "read_time", "apply_time"],
        )?;
        let nv = t.req("name")?;
        let name = nv.string()?;
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !valid {
            return Err(nv.expected("a non-empty name of lowercase letters, digits, `_` and `-`"));
        }
        if ["app", "primary", "cache"].contains(&name) {
            return Err(
                nv.expected("a name other than `app`, `primary` and `cache` (the fixed nodes)")
            );
        }
        if let Some(i) = replicas.iter().position(|r| r.name == name) {
            return Err(nv.issue(format!(
                "duplicate replica name `{name}` (also replicas[{i}].name); each replica needs its own name"
            )));
        }
        replicas.push(Replica {
            name: name.to_string(),
            workers: opt(&t, "workers", |v| v.u32(1, MAX_WORKERS))?.unwrap_or(8),
            read_time: dist_or(&t, "read_time", Dist::Exponential { mean_us: 1000.0 })?,
            apply_time: dist_or(&t, "apply_time", Dist::Exponential { mean_us: 200.0 })?,
        });
    }
    Ok(replicas)
}

fn node(v: &Val<'_, '_>, topology: &Topology) -> R<NodeId> {
    let expected = format!("a node name: {}", list_or(&topology.names()));
    let name = v.string().map_err(|_| v.expected(&expected))?;
    topology.find(name).ok_or_else(|| v.expected(&expected))
}

/// The endpoints of a link or a partition: `between = [a, b]` (both ways) or `from`/`to`.
fn endpoints(t: &Tab<'_, '_>, what: &str, topology: &Topology) -> R<(NodeId, NodeId, bool)> {
    let shape = format!(
        "a {what} takes either `between = [\"a\", \"b\"]` (both ways) or `from` and `to` (one way)"
    );
    let (from, to, both_ways, second) = match (t.get("between"), t.get("from"), t.get("to")) {
        (Some(b), None, None) => {
            let ends = b.array("an array of two node names")?;
            let [a, z] = ends.as_slice() else {
                return Err(b.issue(format!(
                    "expected an array of two node names, found {} entries",
                    ends.len()
                )));
            };
            (node(a, topology)?, node(z, topology)?, true, z.clone())
        }
        (None, Some(f), Some(to)) => (node(&f, topology)?, node(&to, topology)?, false, to),
        (Some(_), _, _) => {
            let key = if t.has("from") { "from" } else { "to" };
            let span = t.key_span(key).unwrap_or(t.span.clone());
            return Err(Issue::new(
                span,
                child_path(&t.path, key),
                format!("{shape}, not both"),
            ));
        }
        (None, f, _) => {
            let key = if f.is_some() {
                "to"
            } else if t.has("to") {
                "from"
            } else {
                "between"
            };
            return Err(Issue::new(
                t.span.clone(),
                child_path(&t.path, key),
                format!("missing key `{key}`: {shape}"),
            ));
        }
    };
    if from == to {
        return Err(second.issue(format!(
            "a node cannot be linked to itself: both ends are `{}`",
            topology.name(from)
        )));
    }
    Ok((from, to, both_ways))
}

fn read_network(root: &Tab<'_, '_>, topology: &Topology) -> R<Network> {
    let t = section(root, "network", &["default_latency", "links"])?;
    let default_latency = dist_or(&t, "default_latency", Dist::Constant { us: 500 })?;
    let mut links: Vec<Link> = Vec::new();
    let mut defined: Vec<(NodeId, NodeId, String)> = Vec::new();
    if let Some(v) = t.get("links") {
        for item in v.array("an array of tables ([[network.links]])")? {
            let lt = item.table(
                "a table ([[network.links]])",
                &["latency", "between", "from", "to"],
            )?;
            let latency = dist(&lt.req("latency")?)?;
            let (from, to, both_ways) = endpoints(&lt, "link", topology)?;
            let mut pairs = vec![(from, to)];
            if both_ways {
                pairs.push((to, from));
            }
            for (a, b) in pairs {
                if let Some((_, _, other)) = defined.iter().find(|(x, y, _)| (*x, *y) == (a, b)) {
                    return Err(item.issue(format!(
                        "the link from `{}` to `{}` is already defined by {other}; each direction may be defined once",
                        topology.name(a),
                        topology.name(b)
                    )));
                }
                defined.push((a, b, item.path.clone()));
                links.push(Link {
                    from: a,
                    to: b,
                    latency,
                });
            }
        }
    }
    Ok(Network {
        default_latency,
        links,
    })
}

fn read_primary(root: &Tab<'_, '_>) -> R<Primary> {
    let t = section(
        root,
        "primary",
        &[
            "workers",
            "read_time",
            "write_time",
            "lock_timeout_ms",
            "txn_idle_timeout_ms",
        ],
    )?;
    Ok(Primary {
        workers: opt(&t, "workers", |v| v.u32(1, MAX_WORKERS))?.unwrap_or(32),
        read_time: dist_or(&t, "read_time", Dist::Exponential { mean_us: 500.0 })?,
        write_time: dist_or(&t, "write_time", Dist::Exponential { mean_us: 1000.0 })?,
        lock_timeout_us: opt(&t, "lock_timeout_ms", |v| positive_ms(v, MAX_TIMEOUT_MS))?
            .unwrap_or(5_000_000),
        txn_idle_timeout_us: opt(&t, "txn_idle_timeout_ms", |v| {
            positive_ms(v, MAX_TIMEOUT_MS)
        })?
        .unwrap_or(30_000_000),
    })
}

fn read_cache(root: &Tab<'_, '_>) -> R<Cache> {
    let t = section(
        root,
        "cache",
        &[
            "ttl_s",
            "invalidate_on_write",
            "flush_all_on_write",
            "op_time",
            "fill_from",
        ],
    )?;
    let fill = [
        ("replica", ReadSource::Replica),
        ("primary", ReadSource::Primary),
    ];
    Ok(Cache {
        ttl_us: opt(&t, "ttl_s", |v| {
            v.number(Interval::closed(0.0, MAX_HORIZON_S)).map(s_to_us)
        })?
        .unwrap_or(300_000_000),
        invalidate_on_write: opt(&t, "invalidate_on_write", Val::boolean)?.unwrap_or(false),
        flush_all_on_write: opt(&t, "flush_all_on_write", Val::boolean)?.unwrap_or(false),
        op_time: dist_or(&t, "op_time", Dist::Constant { us: 200 })?,
        fill_from: opt(&t, "fill_from", |v| v.one_of(&fill))?.unwrap_or(ReadSource::Replica),
    })
}

fn read_shoppers(root: &Tab<'_, '_>) -> R<Shoppers> {
    let t = section(
        root,
        "shoppers",
        &[
            "request_timeout_ms",
            "add_to_cart_probability",
            "think_time",
            "quantity_weights",
            "leave_if_sold_out",
            "low_stock_threshold",
        ],
    )?;
    let quantity_weights = match t.get("quantity_weights") {
        None => vec![1],
        Some(v) => {
            let items = v.array("an array of integer weights")?;
            if items.is_empty() || items.len() > 100 {
                return Err(v.issue(format!(
                    "expected from 1 to 100 weights (weight i is for quantity i+1), found {}",
                    items.len()
                )));
            }
            let weights = items
                .iter()
                .map(|w| w.u64(0, Some(MAX_WEIGHT)))
                .collect::<R<Vec<u64>>>()?;
            if weights.iter().all(|w| *w == 0) {
                return Err(v.issue("expected at least one weight above 0, found all 0"));
            }
            weights
        }
    };
    Ok(Shoppers {
        request_timeout_us: opt(&t, "request_timeout_ms", |v| positive_ms(v, MAX_TIMEOUT_MS))?
            .unwrap_or(3_000_000),
        add_to_cart_probability: opt(&t, "add_to_cart_probability", |v| {
            v.number(Interval::closed(0.0, 1.0))
        })?
        .unwrap_or(0.3),
        think_time: dist_or(
            &t,
            "think_time",
            Dist::lognormal_from_median_p99(20_000_000.0, 120_000_000.0),
        )?,
        quantity_weights,
        leave_if_sold_out: opt(&t, "leave_if_sold_out", Val::boolean)?.unwrap_or(true),
        low_stock_threshold: opt(&t, "low_stock_threshold", |v| v.int(0, Some(1_000_000_000)))?
            .map_or(10, |x| x as i64),
    })
}

fn read_traffic(root: &Tab<'_, '_>) -> R<Traffic> {
    let t = root
        .req("traffic")?
        .table("a table ([traffic])", &["profile"])?;
    let pv = t.req("profile")?;
    let items = pv.array("an array of { at_s, shoppers_per_s } tables")?;
    if items.is_empty() {
        return Err(pv.issue("expected at least one point, found an empty profile"));
    }
    let mut points: Vec<(SimTime, f64)> = Vec::with_capacity(items.len());
    let mut prev_s = 0.0;
    for (i, item) in items.iter().enumerate() {
        let pt = item.table(
            "a table { at_s, shoppers_per_s }",
            &["at_s", "shoppers_per_s"],
        )?;
        let av = pt.req("at_s")?;
        let at_s = if i == 0 {
            av.number_as(Interval::closed(0.0, 0.0), "0 (the profile starts at 0 s)")?
        } else {
            let expected = format!(
                "a number greater than the previous point's at_s ({}) and at most {}",
                num(prev_s),
                num(MAX_HORIZON_S)
            );
            let at_s = av.number_as(Interval::above(prev_s, MAX_HORIZON_S), &expected)?;
            if points
                .last()
                .is_some_and(|(t, _)| s_to_us(at_s) <= t.as_micros())
            {
                return Err(av.expected(&expected));
            }
            at_s
        };
        let rate = pt
            .req("shoppers_per_s")?
            .number(Interval::closed(0.0, MAX_RATE))?;
        points.push((SimTime::from_micros(s_to_us(at_s)), rate));
        prev_s = at_s;
    }
    Ok(Traffic { points })
}

fn read_background(root: &Tab<'_, '_>, replicas: usize) -> R<Background> {
    let t = section(
        root,
        "background",
        &[
            "writes_per_s",
            "writes_per_shopper",
            "reads_per_s",
            "reads_per_shopper",
            "rows",
        ],
    )?;
    let rate = |key: &str| -> R<f64> {
        let x = opt(&t, key, |v| v.number(Interval::closed(0.0, MAX_RATE)))?.unwrap_or(0.0);
        if x > 0.0 && replicas == 0 && key.starts_with("reads") {
            let v = t.req(key)?;
            return Err(v.issue(
                "background reads are served by the replicas, but the scenario has no [[replicas]]; \
                 add one, or set this to 0",
            ));
        }
        Ok(x)
    };
    Ok(Background {
        writes_per_s: rate("writes_per_s")?,
        writes_per_shopper: rate("writes_per_shopper")?,
        reads_per_s: rate("reads_per_s")?,
        reads_per_shopper: rate("reads_per_shopper")?,
        rows: opt(&t, "rows", |v| v.u32(1, 10_000_000))?.unwrap_or(10_000),
    })
}

fn read_products(root: &Tab<'_, '_>) -> R<Vec<Product>> {
    let v = root.req("products")?;
    let items = v.array("an array of tables ([[products]])")?;
    if items.is_empty() {
        return Err(v.issue("expected at least one product, found none"));
    }
    let mut products: Vec<Product> = Vec::with_capacity(items.len());
    for item in &items {
        let t = item.table(
            "a table ([[products]])",
            &["name", "stock", "price_cents", "popularity"],
        )?;
        let nv = t.req("name")?;
        let name = nv.name()?;
        if let Some(i) = products.iter().position(|p| p.name == name) {
            return Err(nv.issue(format!(
                "duplicate product name `{name}` (also products[{i}].name); each product needs its own name"
            )));
        }
        let stock = t.req("stock")?.int(0, Some(1_000_000_000))?;
        products.push(Product {
            name: name.to_string(),
            stock: i64::try_from(stock).map_err(|_| item.issue("stock does not fit in 64 bits"))?,
            price_cents: opt(&t, "price_cents", |v| v.int(0, Some(MAX_PRICE_CENTS)))?
                .map_or(10_000, |p| p as i64),
            popularity: opt(&t, "popularity", |v| v.u64(0, Some(MAX_WEIGHT)))?.unwrap_or(1),
        });
    }
    if products.iter().all(|p| p.popularity == 0) {
        return Err(v.issue("at least one product needs a popularity above 0, found all 0"));
    }
    Ok(products)
}

fn read_checkout(root: &Tab<'_, '_>) -> R<CheckoutParams> {
    let t = section(
        root,
        "checkout",
        &["max_retries", "retry_backoff", "work_time"],
    )?;
    Ok(CheckoutParams {
        max_retries: opt(&t, "max_retries", |v| v.u32(0, 1000))?.unwrap_or(3),
        retry_backoff: dist_or(
            &t,
            "retry_backoff",
            Dist::Uniform {
                min_us: 1000,
                max_us: 10_000,
            },
        )?,
        work_time: dist_or(&t, "work_time", Dist::Constant { us: 0 })?,
    })
}

const FAULT_KINDS: [(&str, &[&str]); 6] = [
    (
        "partition",
        &["kind", "at_s", "duration_s", "between", "from", "to"],
    ),
    ("pause-replica", &["kind", "at_s", "duration_s", "replica"]),
    (
        "slow-replica",
        &["kind", "at_s", "duration_s", "replica", "factor"],
    ),
    ("crash-replica", &["kind", "at_s", "duration_s", "replica"]),
    ("crash-cache", &["kind", "at_s", "duration_s"]),
    ("crash-orchestrator", &["kind", "at_s", "duration_s"]),
];

fn read_faults(
    root: &Tab<'_, '_>,
    topology: &Topology,
    horizon_s: f64,
    horizon_us: u64,
) -> R<Vec<Fault>> {
    let Some(v) = root.get("faults") else {
        return Ok(Vec::new());
    };
    let items = v.array("an array of tables ([[faults]])")?;
    if items.len() > MAX_SCHEDULED {
        return Err(v.issue(format!(
            "expected at most {MAX_SCHEDULED} faults, found {}",
            items.len()
        )));
    }
    let mut faults = Vec::new();
    for item in items {
        let t = item.any_table("a table ([[faults]])")?;
        let kind_name = FAULT_KINDS[t.tagged("kind", "fault", &FAULT_KINDS, &[])?].0;
        let (start, end) = fault_window(&t, horizon_s, horizon_us)?;
        faults.push(Fault {
            start: SimTime::from_micros(start),
            end: SimTime::from_micros(end),
            kind: fault_kind(&t, kind_name, topology)?,
        });
    }
    Ok(faults)
}

/// A fault's start and end in µs (`at_s`, `duration_s`): it must end by the horizon.
fn fault_window(t: &Tab<'_, '_>, horizon_s: f64, horizon_us: u64) -> R<(u64, u64)> {
    let at_s = t
        .req("at_s")?
        .number(Interval::closed(0.0, MAX_HORIZON_S))?;
    let dv = t.req("duration_s")?;
    let duration_s = dv.number(Interval::above(0.0, MAX_HORIZON_S))?;
    let start = s_to_us(at_s);
    let end = start + s_to_us(duration_s);
    if end <= start || end > horizon_us {
        return Err(dv.expected(&format!(
            "a number greater than 0 and at most {} (the fault must end by horizon_s = {})",
            num(horizon_s - at_s),
            num(horizon_s)
        )));
    }
    Ok((start, end))
}

/// What a fault of `kind_name` does, and to what (`names`: every node; `replica_names`: the
/// replicas'; a `crash-orchestrator` fault needs a saga).
fn fault_kind(t: &Tab<'_, '_>, kind_name: &str, topology: &Topology) -> R<FaultKind> {
    let replica_names: Vec<&str> = topology.replicas().map(|r| topology.name(r)).collect();
    let replica = |t: &Tab<'_, '_>| -> R<usize> {
        let rv = t.req("replica")?;
        let expected = if replica_names.is_empty() {
            "a replica name, but the scenario has no [[replicas]]".to_string()
        } else {
            format!("a replica name: {}", list_or(&replica_names))
        };
        let name = rv.string().map_err(|_| rv.expected(&expected))?;
        replica_names
            .iter()
            .position(|n| *n == name)
            .ok_or_else(|| rv.expected(&expected))
    };
    Ok(match kind_name {
        "partition" => {
            let (from, to, both_ways) = endpoints(t, "partition", topology)?;
            FaultKind::Partition {
                from,
                to,
                both_ways,
            }
        }
        "pause-replica" => FaultKind::PauseReplica {
            replica: replica(t)?,
        },
        "slow-replica" => FaultKind::SlowReplica {
            replica: replica(t)?,
            factor: t.req("factor")?.number(Interval::above(0.0, 1000.0))?,
        },
        "crash-replica" => FaultKind::CrashReplica {
            replica: replica(t)?,
        },
        "crash-orchestrator" if !topology.has_services() => {
            return Err(t.req("kind")?.issue(
                "a `crash-orchestrator` fault needs a [saga] section: the orchestrator runs \
                 saga checkouts",
            ));
        }
        "crash-orchestrator" => FaultKind::CrashOrchestrator,
        _ => FaultKind::CrashCache,
    })
}

// ---------------------------------------------------------------------------------------------
// Variants

struct VariantSpec<'a, 'i> {
    name: String,
    checkout: CheckoutKind,
    page: ReadSource,
    profile_reads: ProfileReads,
    saga: Option<SagaPolicy>,
    table: Tab<'a, 'i>,
    /// The `set` overrides, in the order they appear.
    edits: Vec<(SetPath, Spanned<DeValue<'i>>)>,
}

fn read_variants<'a, 'i>(root: &Tab<'a, 'i>) -> R<Vec<VariantSpec<'a, 'i>>> {
    let v = root.req("variants")?;
    let items = v.array("an array of tables ([[variants]])")?;
    if items.is_empty() {
        return Err(v.issue("expected at least one variant, found none"));
    }
    let mut specs: Vec<VariantSpec<'a, 'i>> = Vec::with_capacity(items.len());
    for item in &items {
        let t = item.table(
            "a table ([[variants]])",
            &["name", "checkout", "page", "profile_reads", "saga", "set"],
        )?;
        let nv = t.req("name")?;
        let name = nv.name()?;
        if let Some(i) = specs.iter().position(|s| s.name == name) {
            return Err(nv.issue(format!(
                "duplicate variant name `{name}` (also variants[{i}].name); each variant needs its own name"
            )));
        }
        let checkout = t.req("checkout")?.one_of(CheckoutKind::ALL)?;
        let page = opt(&t, "page", |v| v.one_of(ReadSource::ALL))?.unwrap_or(ReadSource::Cache);
        let profile_reads = opt(&t, "profile_reads", |v| v.one_of(ProfileReads::ALL))?
            .unwrap_or(ProfileReads::Replica);
        let saga = opt(&t, "saga", |v| v.one_of(SagaPolicy::ALL))?;
        match (checkout, saga, t.get("saga")) {
            (CheckoutKind::Saga, None, _) => {
                return Err(t.req("checkout")?.issue(format!(
                    "checkout `saga` needs the variant's `saga` policy: {}",
                    list_or(&SagaPolicy::ALL.iter().map(|(n, _)| *n).collect::<Vec<_>>())
                )));
            }
            (c, Some(_), Some(sv)) if c != CheckoutKind::Saga => {
                return Err(sv.issue(format!(
                    "`saga` chooses the policy of checkout `saga`; this variant's checkout is \
                     `{}`",
                    c.name()
                )));
            }
            _ => {}
        }
        let mut edits = Vec::new();
        if let Some(sv) = t.get("set") {
            let st = sv.any_table("a table of \"path\" = value overrides")?;
            let mut entries: Vec<_> = st.t.iter().collect();
            entries.sort_by_key(|(k, _)| k.span().start);
            for (k, value) in entries {
                let key: &str = k.get_ref();
                let key_path = child_path(&st.path, key);
                let span = k.span();
                let (path, _) = parse_path(key, false)
                    .map_err(|(message, _)| Issue::new(span.clone(), key_path.clone(), message))?;
                let path = respan(path, |_| span.clone());
                if let Some(first) = path.first_key().filter(|f| SHARED_KEYS.contains(f)) {
                    return Err(Issue::new(
                        span,
                        key_path,
                        format!(
                            "a variant's `set` cannot change `{first}`: {} are shared by all variants",
                            list_and(SHARED_KEYS)
                        ),
                    ));
                }
                edits.push((path, value.clone()));
            }
        }
        specs.push(VariantSpec {
            name: name.to_string(),
            checkout,
            page,
            profile_reads,
            saga,
            table: t,
            edits,
        });
    }
    Ok(specs)
}

/// A saga checkout spans the services of a `[saga]` section.
fn check_saga_needs(spec: &VariantSpec<'_, '_>, config: &Config) -> R<()> {
    if spec.checkout != CheckoutKind::Saga || config.saga.is_some() {
        return Ok(());
    }
    let v = spec.table.req("checkout")?;
    Err(Issue::new(
        v.span,
        v.path,
        "checkout `saga` spans an inventory, a payment and an order service, but the scenario \
         has no [saga] section: add one (every key has a default; see docs/design/sagas.md)",
    ))
}

/// A lag-aware variant routes by the lag monitor's alerts, so it needs a `[monitor]`.
fn check_monitor_needs(spec: &VariantSpec<'_, '_>, config: &Config) -> R<()> {
    if config.monitor.is_some() {
        return Ok(());
    }
    let key = if spec.checkout == CheckoutKind::LagAware {
        "checkout"
    } else if spec.page == ReadSource::LagAware {
        "page"
    } else {
        return Ok(());
    };
    let t = &spec.table;
    let (span, path) = t
        .get(key)
        .map_or_else(|| (t.span.clone(), t.path.clone()), |v| (v.span, v.path));
    Err(Issue::new(
        span,
        path,
        "`lag-aware` routes reads by the lag monitor's alerts, but the scenario has no [monitor] \
         section: add one (e.g. [monitor] with sample_every_s = 5 and threshold_ms = 2000)"
            .to_string(),
    ))
}

/// A variant that reads from a replica needs one.
fn check_replica_needs(spec: &VariantSpec<'_, '_>, config: &Config) -> R<()> {
    if !config.replicas.is_empty() {
        return Ok(());
    }
    let t = &spec.table;
    let at = |key: &str| {
        t.get(key)
            .map_or_else(|| (t.span.clone(), t.path.clone()), |v| (v.span, v.path))
    };
    let (span, path, why) = if matches!(
        spec.checkout,
        CheckoutKind::ReplicaRead | CheckoutKind::LagAware
    ) {
        let (span, path) = at("checkout");
        (
            span,
            path,
            format!(
                "checkout `{}` reads stock from a replica",
                spec.checkout.name()
            ),
        )
    } else if matches!(spec.page, ReadSource::Replica | ReadSource::LagAware) {
        let (span, path) = at("page");
        (
            span,
            path,
            format!(
                "page `{}` reads product pages from a replica",
                spec.page.name()
            ),
        )
    } else if config.cache.fill_from == ReadSource::Replica
        && (spec.page == ReadSource::Cache || spec.checkout == CheckoutKind::CacheRead)
    {
        let key = if spec.page == ReadSource::Cache {
            "page"
        } else {
            "checkout"
        };
        let (span, path) = at(key);
        (
            span,
            path,
            "it reads through the cache, which fills misses from a replica (cache.fill_from = \"replica\", \
             the default)"
                .to_string(),
        )
    } else {
        return Ok(());
    };
    Err(Issue::new(
        span,
        path,
        format!(
            "variant `{}` needs a replica: {why}, but the scenario has no [[replicas]]; add one, or use \
             page = \"primary\", cache.fill_from = \"primary\" and a checkout other than `replica-read`",
            spec.name
        ),
    ))
}
