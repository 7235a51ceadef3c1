//! Default prices per task family, for the spend cap.

use std::collections::HashMap;

use crate::task::family::ALL_FAMILIES;
use crate::task::{Task, TaskFamily};
use crate::vocab::MicroUsd;

/// What one task of each family is estimated to cost, in US dollars, for the spend cap.
///
/// **These are estimates, not the service's prices.** The CapMonster Cloud documentation
/// publishes no price list: its site fetches prices live (in USD per 1000 tasks) from the
/// dashboard, and they change. The defaults are per-task estimates chosen on the high
/// side of the publicly advertised rates, so that a cap errs towards refusing early. Set
/// your own with [`PriceTable::with_price`] when you know your rates. A reservation is
/// settled with the `cost` the service reports with the answer, when it reports one.
///
/// The default for each family is in the table of [`TaskFamily`]; the unknown families
/// (`CustomOther`, `Unknown`) get the highest.
///
/// Castle is billed per token: [`PriceTable::estimate`] multiplies by `metadata.count`
/// (at most 49).
///
/// ```
/// use capmonster_core::ledger::PriceTable;
/// use capmonster_core::record::MicroUsd;
/// use capmonster_core::TaskFamily;
///
/// let prices = PriceTable::default().with_price(TaskFamily::Turnstile, MicroUsd::from_usd(0.0015)?);
/// assert_eq!(prices.price(TaskFamily::Turnstile), MicroUsd(1500));
/// assert_eq!(prices.price(TaskFamily::RecaptchaV2), MicroUsd(600));
/// # Ok::<(), capmonster_core::record::InvalidAmount>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceTable {
    prices: HashMap<TaskFamily, MicroUsd>,
}

impl PriceTable {
    /// The default estimate for a family (see the table above).
    pub fn default_price(family: TaskFamily) -> MicroUsd {
        family.facts().price
    }

    /// The same table with `family` priced at `price` per task.
    #[must_use]
    pub fn with_price(mut self, family: TaskFamily, price: MicroUsd) -> Self {
        self.prices.insert(family, price);
        self
    }

    /// The price of one task of `family`.
    pub fn price(&self, family: TaskFamily) -> MicroUsd {
        self.prices
            .get(&family)
            .copied()
            .unwrap_or_else(|| Self::default_price(family))
    }

    /// What `task` is expected to cost: its family's price, times the token count for
    /// Castle (`metadata.count`, 1 to 49).
    pub fn estimate(&self, task: &Task) -> MicroUsd {
        let family = task.family();
        let price = self.price(family);
        if let Some(max) = family.facts().priced_per_count {
            let count = task
                .as_json()
                .get("metadata")
                .and_then(|m| m.get("count"))
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(1)
                .clamp(1, max);
            return price.saturating_mul(count);
        }
        price
    }

    /// Every family with its price, in declaration order.
    pub fn iter(&self) -> impl Iterator<Item = (TaskFamily, MicroUsd)> + '_ {
        ALL_FAMILIES.into_iter().map(|f| (f, self.price(f)))
    }
}

impl Default for PriceTable {
    /// The documented estimates.
    fn default() -> Self {
        Self {
            prices: HashMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_has_a_positive_default_and_overrides_win() {
        let t = PriceTable::default();
        assert!(t.iter().all(|(_, p)| p > MicroUsd::ZERO));
        let t = t.with_price(TaskFamily::GeeTest, MicroUsd(5));
        assert_eq!(t.price(TaskFamily::GeeTest), MicroUsd(5));
        assert_eq!(t.price(TaskFamily::Turnstile), MicroUsd(1_300));
    }

    #[test]
    fn castle_is_priced_per_token() {
        let task = crate::task::Castle::new(
            "https://example.com",
            "pk_1",
            "https://example.com/cw.js",
            "https://example.com/csw.js",
        )
        .count(60)
        .build()
        .expect("task");
        assert_eq!(PriceTable::default().estimate(&task), MicroUsd(2_000 * 49));
    }
}
