//! The callback receiver raises the soft open-file limit and derives its connection cap
//! from it. (Its own test binary: it changes the process's limit.)
#![cfg(unix)]

use std::net::SocketAddr;

use capmonster_hyper::callback::{
    CallbackReceiver, MAX_CONNECTIONS, ReceiverOptions, default_max_connections,
};
use capmonster_hyper::core::callback::CallbackSecret;
use rlimit::Resource;

async fn bind(o: &ReceiverOptions) -> CallbackReceiver {
    CallbackReceiver::bind_with(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        CallbackSecret::from_bytes([3; 32]),
        None,
        o,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn starting_raises_the_soft_limit_to_the_hard_one_and_the_cap_follows_the_limit() {
    let (_, hard) = rlimit::getrlimit(Resource::NOFILE).unwrap();
    let low = hard.min(400);
    rlimit::setrlimit(Resource::NOFILE, low, hard).unwrap();
    // A quarter of the soft limit: three quarters stay for the client's own requests.
    assert_eq!(
        default_max_connections() as u64,
        (low / 4).clamp(8, MAX_CONNECTIONS as u64)
    );

    let mut keep = ReceiverOptions::default();
    keep.raise_fd_limit = false;
    drop(bind(&keep).await);
    assert_eq!(rlimit::getrlimit(Resource::NOFILE).unwrap(), (low, hard));

    drop(bind(&ReceiverOptions::default()).await);
    let (soft, _) = rlimit::getrlimit(Resource::NOFILE).unwrap();
    // Linux raises to the hard limit; macOS to at most kern.maxfilesperproc.
    assert!(
        soft > low || hard == low,
        "soft limit still {soft} (hard {hard})"
    );
    assert!(default_max_connections() as u64 >= (low / 4).clamp(8, MAX_CONNECTIONS as u64));
}
