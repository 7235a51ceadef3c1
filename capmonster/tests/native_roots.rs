//! Which root certificates the clients trust: the bundled Mozilla (webpki) roots by default,
//! the platform's with the `native-roots` feature. `rustls-native-certs` reads
//! `SSL_CERT_FILE`/`SSL_CERT_DIR`, which a test cannot set in-process without `unsafe`: the
//! parent runs this test binary again, filtered to one test, with them set.
#![allow(missing_docs)]

const KEY: &str = "0123456789abcdef0123456789abcdef";

/// ISRG Root X1, a public root certificate, as the one "platform" root of the child.
const ONE_ROOT: &str = "-----BEGIN CERTIFICATE-----
MIIFazCCA1OgAwIBAgIRAIIQz7DSQONZRGPgu2OCiwAwDQYJKoZIhvcNAQELBQAw
TzELMAkGA1UEBhMCVVMxKTAnBgNVBAoTIEludGVybmV0IFNlY3VyaXR5IFJlc2Vh
cmNoIEdyb3VwMRUwEwYDVQQDEwxJU1JHIFJvb3QgWDEwHhcNMTUwNjA0MTEwNDM4
WhcNMzUwNjA0MTEwNDM4WjBPMQswCQYDVQQGEwJVUzEpMCcGA1UEChMgSW50ZXJu
ZXQgU2VjdXJpdHkgUmVzZWFyY2ggR3JvdXAxFTATBgNVBAMTDElTUkcgUm9vdCBY
MTCCAiIwDQYJKoZIhvcNAQEBBQADggIPADCCAgoCggIBAK3oJHP0FDfzm54rVygc
h77ct984kIxuPOZXoHj3dcKi/vVqbvYATyjb3miGbESTtrFj/RQSa78f0uoxmyF+
0TM8ukj13Xnfs7j/EvEhmkvBioZxaUpmZmyPfjxwv60pIgbz5MDmgK7iS4+3mX6U
A5/TR5d8mUgjU+g4rk8Kb4Mu0UlXjIB0ttov0DiNewNwIRt18jA8+o+u3dpjq+sW
T8KOEUt+zwvo/7V3LvSye0rgTBIlDHCNAymg4VMk7BPZ7hm/ELNKjD+Jo2FR3qyH
B5T0Y3HsLuJvW5iB4YlcNHlsdu87kGJ55tukmi8mxdAQ4Q7e2RCOFvu396j3x+UC
B5iPNgiV5+I3lg02dZ77DnKxHZu8A/lJBdiB3QW0KtZB6awBdpUKD9jf1b0SHzUv
KBds0pjBqAlkd25HN7rOrFleaJ1/ctaJxQZBKT5ZPt0m9STJEadao0xAH0ahmbWn
OlFuhjuefXKnEgV4We0+UXgVCwOPjdAvBbI+e0ocS3MFEvzG6uBQE3xDk3SzynTn
jh8BCNAw1FtxNrQHusEwMFxIt4I7mKZ9YIqioymCzLq9gwQbooMDQaHWBfEbwrbw
qHyGO0aoSCqI3Haadr8faqU9GY/rOPNk3sgrDQoo//fb4hVC1CLQJ13hef4Y53CI
rU7m2Ys6xt0nUW7/vGT1M0NPAgMBAAGjQjBAMA4GA1UdDwEB/wQEAwIBBjAPBgNV
HRMBAf8EBTADAQH/MB0GA1UdDgQWBBR5tFnme7bl5AFzgAiIyBpY9umbbjANBgkq
hkiG9w0BAQsFAAOCAgEAVR9YqbyyqFDQDLHYGmkgJykIrGF1XIpu+ILlaS/V9lZL
ubhzEFnTIZd+50xx+7LSYK05qAvqFyFWhfFQDlnrzuBZ6brJFe+GnY+EgPbk6ZGQ
3BebYhtF8GaV0nxvwuo77x/Py9auJ/GpsMiu/X1+mvoiBOv/2X/qkSsisRcOj/KK
NFtY2PwByVS5uCbMiogziUwthDyC3+6WVwW6LLv3xLfHTjuCvjHIInNzktHCgKQ5
ORAzI4JMPJ+GslWYHb4phowim57iaztXOoJwTdwJx4nLCgdNbOhdjsnvzqvHu7Ur
TkXWStAmzOVyyghqpZXjFaH3pO3JLF+l+/+sKAIuvtd7u+Nxe5AW0wdeRlN8NwdC
jNPElpzVmbUq4JUagEiuTDkHzsxHpFKVK7q4+63SM1N95R1NbdWhscdCb+ZAJzVc
oyi3B43njTOQ5yOf+1CceWxG1bQVs5ZufpsMljq4Ui0/1lvh+wjChP4kqKOJ2qxq
4RgqsahDYVvTH9w7jXbyLeiNdd8XM2w9U/t7y0Ff/9yi0GE44Za4rF2LN9d11TPA
mRGunUHBcnWEvgJBQl9nJEiU0Zsnvgc/ubhPgXRR4Xq37Z0j4r7g1SgEEzwxA57d
emyPxgcYxn/eR44/KJ4EBs+lVDR3veyJm+kXQ99b21/+jh5Xos1AnX5iItreGCc=
-----END CERTIFICATE-----
";

/// Runs `test` in a child with the certificate variables set; `Ok` if the child passed.
fn child(test: &str, cert_file: &std::path::Path, expect: &str) {
    capmonster_testdata::run_test_in_child(test, |cmd| {
        cmd.env("CAPMONSTER_ROOTS_CHILD", expect)
            .env("SSL_CERT_FILE", cert_file)
            .env("SSL_CERT_DIR", cert_file.with_extension("d"));
    });
}

/// In the child: builds each client and checks the outcome the parent expects.
fn check_clients(expect: &str) {
    let outcomes = [
        #[cfg(feature = "async")]
        (
            "async",
            capmonster::Client::builder()
                .client_key(KEY)
                .no_proxy()
                .build()
                .map(drop),
        ),
        #[cfg(feature = "blocking")]
        (
            "blocking",
            capmonster::blocking::Client::builder()
                .client_key(KEY)
                .no_proxy()
                .build()
                .map(drop),
        ),
    ];
    for (client, outcome) in outcomes {
        match (expect, outcome) {
            ("builds", Ok(())) => {}
            ("fails", Err(e)) => {
                assert!(
                    matches!(e.kind(), capmonster::ErrorKind::InvalidInput(_)),
                    "{client}: {e}"
                );
                assert!(e.to_string().contains("native-roots"), "{client}: {e}");
            }
            (expect, outcome) => panic!("{client}: expected it {expect}, got {outcome:?}"),
        }
    }
}

/// No readable certificate where the variables point: with `native-roots` the clients
/// refuse to build (the platform's store is what they would trust, and it is empty); without
/// it they build, because they never look there.
#[test]
fn an_empty_platform_store_matters_only_with_native_roots() {
    if let Ok(expect) = std::env::var("CAPMONSTER_ROOTS_CHILD") {
        return check_clients(&expect);
    }
    let dir = std::env::temp_dir().join(format!("capmonster-roots-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing.pem");
    let expect = if cfg!(feature = "native-roots") {
        "fails"
    } else {
        "builds"
    };
    child(
        "an_empty_platform_store_matters_only_with_native_roots",
        &missing,
        expect,
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// One root certificate in `SSL_CERT_FILE`: both clients build with it, with or without
/// `native-roots`.
#[test]
fn a_platform_store_with_one_root_builds() {
    if let Ok(expect) = std::env::var("CAPMONSTER_ROOTS_CHILD") {
        return check_clients(&expect);
    }
    let dir = std::env::temp_dir().join(format!("capmonster-root1-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("root.pem");
    std::fs::write(&file, ONE_ROOT).unwrap();
    child("a_platform_store_with_one_root_builds", &file, "builds");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn default_tls_names_the_roots() {
    let want = if cfg!(feature = "native-roots") {
        "rustls + native roots"
    } else {
        "rustls + webpki roots"
    };
    #[cfg(feature = "async")]
    assert_eq!(capmonster::raw::hyper::DEFAULT_TLS, want);
    #[cfg(feature = "blocking")]
    assert_eq!(capmonster::raw::ureq::DEFAULT_TLS, want);
    let _ = want;
}
