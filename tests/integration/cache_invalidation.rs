//! Cache invalidation (patterns, item 3): a long TTL shows and sells at old prices; a short TTL
//! bounds it; invalidation and tag flushes fix it at the cost of database reads; the listing
//! badge's 5-minute TTL saves almost every read and is sometimes wrong.

use crate::support::{par_map, run, scenario};

const FS: &str = "scenarios/flash-sale-prices.toml";

#[test]
fn ttls_invalidation_and_flushes_trade_staleness_for_database_reads() {
    let s = scenario(FS, &[]);
    let names = [
        "ttl-24h",
        "ttl-60s",
        "invalidate-on-write",
        "tag-flush",
        "badge-5min-ttl",
        "no-cache",
    ];
    let m = par_map(&names, |n| run(&s, n, 5));
    let (day, minute, invalidate, flush, badge, none) = (&m[0], &m[1], &m[2], &m[3], &m[4], &m[5]);
    assert!(
        m.iter()
            .all(|x| x.price_changes == 3 && x.shoppers == day.shoppers)
    );

    // 24 h TTL: most views after the change show the old price; many orders at a wrong price.
    assert!(day.stale_price_views > 100_000, "{}", day.stale_price_views);
    assert!(day.orders_at_wrong_price > 3 * invalidate.orders_at_wrong_price);
    // ... and it has not converged when the run ends: the stale rows expire a day later.
    assert!(day.converged_after_ms > 3_600_000.0);

    // A 60 s TTL bounds it.
    assert!(minute.stale_price_views < day.stale_price_views / 4);
    assert!(minute.orders_at_wrong_price < day.orders_at_wrong_price);

    // Invalidation and tag flushes: no stale price shown (but fills can race a flush).
    assert_eq!(invalidate.stale_price_views, 0);
    assert!(flush.stale_price_views <= 5, "{}", flush.stale_price_views);
    // Carts that straddle the change still pay another price than they saw, whatever the cache.
    assert_eq!(invalidate.orders_at_wrong_price, none.orders_at_wrong_price);
    // The cost: every commit empties keys, so the database serves more page views.
    assert!(flush.db_reads_saved < invalidate.db_reads_saved);
    assert!(invalidate.db_reads_saved < day.db_reads_saved);

    // The listing badge with a 5-minute TTL: nearly every view saved, some badges wrong.
    assert!(badge.cache_hit_ratio > 0.99);
    assert!(
        badge.stale_badge_views > 1_000,
        "{}",
        badge.stale_badge_views
    );
    assert!(badge.db_reads_saved > 390_000);
    // Without a cache every view is a primary read and no badge is wrong.
    assert_eq!(none.stale_badge_views, 0);
    assert_eq!(none.db_reads_saved, 0);
    assert!(none.primary_queries > 50 * badge.primary_queries);
}
