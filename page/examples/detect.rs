//! `cargo run -p capmonster-page --example detect -- FILE.html URL`: one JSON line per widget
//! the HTML reveals (what `capmonster detect` will print).

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(file), Some(url)) = (args.next(), args.next()) else {
        eprintln!("usage: detect FILE.html URL");
        std::process::exit(2);
    };
    let html = match std::fs::read(&file) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => {
            eprintln!("{file}: {e}");
            std::process::exit(1);
        }
    };
    let started = std::time::Instant::now();
    let found = capmonster_page::detect_html(&html, &url);
    for d in &found {
        println!("{}", d.to_json_line());
    }
    eprintln!(
        "{} widget(s), {} bytes in {:?}",
        found.len(),
        html.len(),
        started.elapsed()
    );
}
