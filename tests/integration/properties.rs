//! Properties over generated seeds and loads: the strong strategies never oversell, and units are
//! conserved (every confirmed order decremented the primary exactly once).

use proptest::prelude::*;

use crate::support::{run, scenario};

/// A one-minute flash sale on black-friday's topology: small enough for many cases.
fn flash_sale(rate: u32, stock: u32, cart: f64) -> lagsim::scenario::Scenario {
    scenario(
        "scenarios/black-friday.toml",
        &[
            "duration_s=60",
            "horizon_s=900",
            &format!("traffic.profile=[{{ at_s = 0, shoppers_per_s = {rate} }}]"),
            &format!("products[0].stock={stock}"),
            &format!("shoppers.add_to_cart_probability={cart}"),
            "shoppers.think_time={ dist = \"lognormal\", median_ms = 2000, p99_ms = 20000 }",
        ],
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn strong_strategies_never_oversell_and_conserve_units(
        seed in any::<u64>(),
        rate in 50u32..400,
        stock in 0u32..120,
        cart in 0.02f64..0.3,
    ) {
        let s = flash_sale(rate, stock, cart);
        for variant in ["pessimistic-lock", "optimistic", "conditional-decrement"] {
            let m = run(&s, variant, seed);
            prop_assert_eq!(m.oversold_units, 0, "{} oversold", variant);
            prop_assert!(m.stock_final_primary >= 0);
            prop_assert!(m.units_sold <= m.stock_initial);
            prop_assert!(m.units_decremented_unconfirmed >= 0, "{}: a confirmed order was never decremented", variant);
            prop_assert_eq!(
                m.orders_confirmed + m.orders_rejected_out_of_stock + m.orders_failed,
                m.checkouts
            );
        }
    }

    #[test]
    fn weak_strategies_account_for_every_unit_they_oversell(seed in any::<u64>(), stock in 0u32..60) {
        let s = flash_sale(300, stock, 0.2);
        for variant in ["replica-read", "cache-read", "primary-read"] {
            let m = run(&s, variant, seed);
            // Blind decrements: what was sold beyond the stock is exactly the negative stock.
            prop_assert_eq!(
                m.stock_initial - m.units_sold - m.units_decremented_unconfirmed,
                m.stock_final_primary
            );
            prop_assert_eq!(m.oversold_units, (m.units_sold - m.stock_initial).max(0));
        }
    }
}
