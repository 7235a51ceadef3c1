//! Callback tokens: round trip, and no accepted forgery over random or mutated paths.

use capmonster_core::callback::{CallbackSecret, TOKEN_LEN};
use capmonster_core::record::LocalId;
use proptest::prelude::*;

fn secret() -> impl Strategy<Value = CallbackSecret> {
    any::<[u8; 32]>().prop_map(CallbackSecret::from_bytes)
}

fn id() -> impl Strategy<Value = LocalId> {
    any::<[u8; 16]>().prop_map(LocalId::from_bytes)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn round_trip(s in secret(), id in id(), base in "(http://127\\.0\\.0\\.1:[0-9]{1,5}|https://[a-z]{1,10}\\.example(/[a-z]{1,8}){0,3})/{0,2}") {
        let url = s.callback_url(&base, id);
        let path_start = url.find("://").map(|i| i + 3).and_then(|i| url[i..].find('/').map(|j| i + j)).unwrap();
        prop_assert_eq!(s.verify(&url[path_start..]), Some(id));
        prop_assert_eq!(s.verify(&s.callback_path(id)), Some(id));
        let token = s.token(id);
        prop_assert_eq!(token.len(), TOKEN_LEN);
        prop_assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        prop_assert!(!url.contains("//cb/"));
    }

    #[test]
    fn random_paths_never_verify(s in secret(), path in "(/[a-zA-Z0-9._~%-]{0,60}){0,4}") {
        prop_assert_eq!(s.verify(&path), None);
    }

    #[test]
    fn random_tokens_for_a_real_id_never_verify(s in secret(), id in id(), token in "[A-Za-z0-9_-]{43}") {
        prop_assume!(token != s.token(id));
        prop_assert_eq!(s.verify(&format!("/cb/{id}.{token}")), None);
    }

    #[test]
    fn mutated_paths_never_verify(s in secret(), id in id(), pos in any::<prop::sample::Index>(), c in any::<char>(), cut in 1usize..80, op in 0u8..4) {
        let good = s.callback_path(id);
        let mut bad = good.clone();
        let i = pos.index(good.len());
        match op {
            0 => { // replace one character
                let replaced: String = good.chars().enumerate().map(|(j, g)| if j == i { c } else { g }).collect();
                bad = replaced;
            }
            1 => bad.truncate(good.len().saturating_sub(cut)), // truncate
            2 => bad.push(c), // extend
            _ => bad.insert(i.max(1), c), // insert
        }
        // A prefix before `/cb/` is allowed (a reverse proxy may keep the base's path).
        prop_assume!(!bad.ends_with(&good));
        // An uppercase hex digit is the same id but not the spelling we made: refused too.
        prop_assert_eq!(s.verify(&bad), None, "{:?} from {:?}", bad, good);
    }

    #[test]
    fn tokens_do_not_transfer(s in secret(), other in secret(), a in id(), b in id()) {
        prop_assume!(a != b && s != other);
        let token_a = s.token(a);
        prop_assert_eq!(s.verify(&format!("/cb/{b}.{token_a}")), None);
        prop_assert_eq!(other.verify(&s.callback_path(a)), None);
    }
}

#[test]
fn debug_never_shows_the_secret() {
    let s = CallbackSecret::from_bytes([0x41; 32]);
    let shown = format!("{s:?} {:?}", Some(&s));
    assert!(
        !shown.contains("41") && !shown.contains("65") && !shown.contains('A'),
        "{shown}"
    );
    assert!(shown.contains("<redacted>"));
}

/// `verify` takes the request target with its query: a query string (or fragment) makes
/// any target invalid, wherever the valid path sits in it.
#[test]
fn a_target_with_a_query_string_never_verifies() {
    let s = CallbackSecret::from_bytes([9; 32]);
    let id = LocalId::from_bytes([0xcd; 16]);
    let good = s.callback_path(id);
    assert_eq!(s.verify(&good), Some(id));
    for bad in [
        format!("{good}?x=y"),
        format!("{good}?"),
        format!("{good}#x"),
        format!("/x?r={good}"),
        format!("/x?{good}"),
        format!("/prefix#{good}"),
        format!("/cb?{good}"),
    ] {
        assert_eq!(s.verify(&bad), None, "{bad}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_query_string_is_refused(s in secret(), id in id(), before in "[a-z/=&]{0,12}", after in "[a-z/=&]{0,12}", sep in prop_oneof![Just('?'), Just('#')], put_first in any::<bool>()) {
        let good = s.callback_path(id);
        let target = if put_first {
            format!("/{before}{sep}{after}{good}")
        } else {
            format!("{good}{sep}{after}")
        };
        prop_assert_eq!(s.verify(&target), None, "{}", target);
    }
}
