//! Callbacks are async-only: the blocking client refuses them with a typed error.

use capmonster_ureq::Client;
use capmonster_ureq::core::ErrorKind;

#[test]
fn blocking_client_with_callbacks_is_invalid_input() {
    let err = Client::builder()
        .client_key("0123456789abcdef0123456789abcdef")
        .no_proxy()
        .callbacks("127.0.0.1:0".parse().unwrap(), None)
        .build()
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidInput(_)), "{err:?}");
    assert!(err.to_string().contains("async"), "{err}");
    // Without callbacks the same builder works.
    Client::builder()
        .client_key("0123456789abcdef0123456789abcdef")
        .no_proxy()
        .build()
        .unwrap();
}
