//! The transport's random ids ([`Transport::random_id`](capmonster_core::Transport::random_id)).

/// Checks a transport's id source: 20,000 ids drawn on 4 threads are all distinct and together
/// set every one of the 128 bits. For a transport's own unit test, which can name its
/// (crate-private) id function.
pub fn random_ids_differ(random_id: fn() -> [u8; 16]) {
    let threads: Vec<_> = (0..4)
        .map(|_| std::thread::spawn(move || (0..5000).map(|_| random_id()).collect::<Vec<_>>()))
        .collect();
    let mut all = std::collections::HashSet::new();
    let mut or = [0u8; 16];
    for t in threads {
        for id in t.join().expect("no panic") {
            assert!(all.insert(id), "a repeated id");
            for (o, b) in or.iter_mut().zip(id) {
                *o |= b;
            }
        }
    }
    assert_eq!(all.len(), 20_000);
    assert_eq!(or, [0xff; 16], "some bits are never set");
}
