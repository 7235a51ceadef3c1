//! `--provider NAME[=BASE_URL]` (repeatable, failover order): the providers of the client and
//! their keys, read before anything is sent.

use std::sync::Arc;

use capmonster_core::ledger::Ledger;
use capmonster_core::provider::Provider;
use capmonster_core::{ClientKey, Error, ProviderAccount};

use crate::args::GlobalOpts;
use crate::redact::Redactor;

/// The environment variable holding the key of provider `name`: the built-ins' documented
/// names, else `NAME_CLIENT_KEY` (upper-cased, other characters as `_`).
pub(crate) fn key_var(name: &str) -> String {
    match name {
        "capmonster" => "CAPMONSTER_CLIENT_KEY".to_owned(),
        "anti-captcha" => "ANTICAPTCHA_CLIENT_KEY".to_owned(),
        "2captcha" => "TWOCAPTCHA_CLIENT_KEY".to_owned(),
        "rucaptcha" => "RUCAPTCHA_CLIENT_KEY".to_owned(),
        "capsolver" => "CAPSOLVER_CLIENT_KEY".to_owned(),
        other => {
            let up: String = other
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_uppercase()
                    } else {
                        '_'
                    }
                })
                .collect();
            format!("{up}_CLIENT_KEY")
        }
    }
}

/// The profile a `--provider` NAME names: a built-in, or a profile file (a path).
fn profile(name: &str) -> Result<Provider, String> {
    if Provider::builtin_json(name).is_some() {
        return Provider::builtin(name).map_err(|e| e.to_string());
    }
    let looks_like_path = name.contains('/') || name.contains('\\') || name.ends_with(".json");
    if !looks_like_path {
        return Err(format!(
            "--provider {}: not a built-in provider ({}) nor a profile file (a path)",
            capmonster_core::error::escape_untrusted(name),
            Provider::builtin_names().collect::<Vec<_>>().join(", ")
        ));
    }
    let text = std::fs::read_to_string(name).map_err(|e| {
        format!(
            "--provider {}: cannot read the profile: {e}",
            capmonster_core::error::escape_untrusted(name)
        )
    })?;
    Provider::from_json_str(&text).map_err(|e| {
        format!(
            "--provider {}: {e}",
            capmonster_core::error::escape_untrusted(name)
        )
    })
}

/// The accounts of `--provider` (`None` without the option: CapMonster alone, as before).
/// The first provider's key is `--client-key` when given on the command line, else its
/// variable; the others' keys come from their variables. Every key is added to `redactor`.
pub(crate) fn accounts(
    opts: &GlobalOpts,
    redactor: &Redactor,
) -> Result<Option<Vec<ProviderAccount>>, String> {
    if opts.providers.is_empty() {
        return Ok(None);
    }
    if opts.sim {
        return Err(
            "--sim with --provider: start one simulator per service (capmonster-sim --dialect NAME) \
             and give each --provider NAME=URL"
                .to_owned(),
        );
    }
    if opts.base_url.is_some() {
        return Err(
            "--base-url with --provider: give each provider its URL (--provider NAME=URL)"
                .to_owned(),
        );
    }
    let cm_env = std::env::var("CAPMONSTER_CLIENT_KEY").ok();
    let flag_key = opts
        .client_key
        .clone()
        .filter(|k| !k.is_empty() && Some(k) != cm_env.as_ref());
    let mut out = Vec::new();
    for (i, spec) in opts.providers.iter().enumerate() {
        let (name, url) = match spec.split_once('=') {
            Some((n, u)) => (n.trim(), Some(u.trim())),
            None => (spec.trim(), None),
        };
        let p = profile(name)?;
        let var = key_var(&p.name);
        let key = match (i, &flag_key) {
            (0, Some(k)) => k.clone(),
            _ => std::env::var(&var)
                .ok()
                .filter(|k| !k.is_empty())
                .ok_or_else(|| {
                    format!(
                        "no key for provider {}: set {var}{}",
                        capmonster_core::error::escape_untrusted(&p.name),
                        if i == 0 {
                            " or pass --client-key KEY"
                        } else {
                            ""
                        }
                    )
                })?,
        };
        redactor.add(&key);
        let mut account = ProviderAccount::new(p, &key);
        if let Some(url) = url {
            account = account.base_url(url);
        }
        // Checked here: a bad key or URL is exit 2 with nothing sent.
        account
            .client_key()
            .map_err(|e| format!("--provider {}: {e}", account.name()))?;
        out.push(account);
    }
    Ok(Some(out))
}

/// The first provider's key, checked (the ledger's namespace: one for the client).
pub(crate) fn first_key(accounts: &[ProviderAccount]) -> Result<ClientKey, String> {
    accounts
        .first()
        .ok_or_else(|| "no provider".to_owned())?
        .client_key()
        .map_err(|e| e.to_string())
}

/// Each provider after the first gets `open(its key)` as the ledger of its account guard
/// (its key's namespace of the same --ledger).
pub(crate) fn with_guard_ledgers(
    accounts: Vec<ProviderAccount>,
    mut open: impl FnMut(&ClientKey) -> Result<Result<Arc<dyn Ledger>, Error>, u8>,
    report: impl Fn(&Error) -> u8,
) -> Result<Vec<ProviderAccount>, u8> {
    let mut out = Vec::new();
    for (i, a) in accounts.into_iter().enumerate() {
        if i == 0 {
            out.push(a);
            continue;
        }
        let key = a.client_key().map_err(|e| report(&e))?;
        let guard = open(&key)?.map_err(|e| report(&e))?;
        out.push(a.guard_ledger(guard));
    }
    Ok(out)
}
