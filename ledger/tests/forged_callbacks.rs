//! Forged callback bodies against the whole client on the durable and shared ledgers: the
//! scenarios of `forged/mod.rs` (on the in-memory ledger there) again on SQLite and Redis.
//! A forged `cost` never settles more than the task's price, so the spend cap of every
//! later task (every worker, with Redis) still admits it; a forged account-level code never
//! trips the shared guard.
#![cfg(feature = "sqlite")]

mod forged;

use std::sync::Arc;

use capmonster_core::ledger::Ledger;
use capmonster_ledger::SqliteLedger;

/// A fresh SQLite ledger in a temporary directory that lives as long as the process.
fn sqlite() -> Arc<dyn Ledger> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let ledger = SqliteLedger::open(dir.path().join("ledger.db")).expect("open SQLite");
    std::mem::forget(dir);
    Arc::new(ledger)
}

#[test]
fn sqlite_a_forged_cost_settles_at_most_the_task_price() {
    forged::a_forged_cost_settles_at_most_the_task_price_and_the_cap_still_admits_the_next_task_on(
        &sqlite,
    );
    forged::a_forged_cost_is_bounded_by_the_family_price_without_a_spend_cap_on(&sqlite);
}

#[test]
fn sqlite_a_forged_account_error_is_confirmed_never_believed() {
    forged::a_forged_account_error_never_trips_the_guard_and_is_confirmed_by_one_counted_poll_on(
        &sqlite,
    );
    forged::a_confirmed_account_error_is_acted_on_as_the_service_said_on(&sqlite);
}

#[test]
fn sqlite_malformed_bodies_are_ignored() {
    forged::bodies_not_of_the_documented_shape_are_ignored_and_the_task_is_polled_on(&sqlite);
}

#[cfg(feature = "redis")]
mod redis {
    use super::*;
    use capmonster_ledger::RedisLedger;
    use capmonster_testdata::redis::{RedisServer, fresh_namespace};

    fn maker(server: &RedisServer) -> impl Fn() -> Arc<dyn Ledger> + '_ {
        move || -> Arc<dyn Ledger> {
            Arc::new(
                // A host of its own: the IP-ban trips of these tests stay theirs.
                RedisLedger::open_with(&server.url, &fresh_namespace("forged-cb"), {
                    let mut o = capmonster_ledger::RedisOptions::default();
                    o.host = fresh_namespace("forged-host");
                    o
                })
                .expect("open the Redis ledger"),
            )
        }
    }

    #[test]
    fn redis_forged_callbacks_reach_no_further_than_their_task() {
        let Some(server) =
            RedisServer::shared("redis_forged_callbacks_reach_no_further_than_their_task")
        else {
            return;
        };
        let ledger = maker(&server);
        forged::a_forged_cost_settles_at_most_the_task_price_and_the_cap_still_admits_the_next_task_on(&ledger);
        forged::a_forged_cost_is_bounded_by_the_family_price_without_a_spend_cap_on(&ledger);
        forged::a_forged_account_error_never_trips_the_guard_and_is_confirmed_by_one_counted_poll_on(&ledger);
        forged::a_confirmed_account_error_is_acted_on_as_the_service_said_on(&ledger);
        forged::bodies_not_of_the_documented_shape_are_ignored_and_the_task_is_polled_on(&ledger);
    }
}
