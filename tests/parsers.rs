//! Every parser of a number or duration an operator (or a pod template) can type, fed
//! arbitrary and adversarial strings: none may panic, and whatever parses is within its
//! bound. Seeded `fastrand` keeps a failure reproducible; `PARSERS_SEED=N` tries another.

use std::time::Duration;

use cockpit::config::duration::{MAX_DURATION, parse_duration};
use cockpit::model::budget::{max_connections_from_args, parse_count, parse_pool_annotation};
use cockpit::model::resources::{QUANTITY_MAX, quantity};
use cockpit::sim::world::objects::parse_quantity;

/// Strings written to break number parsers: digit runs, dots, exponents, unit soup,
/// NaN and infinity spellings, signs, separators and non-ASCII digits.
const ADVERSARIAL: &[&str] = &[
    "",
    " ",
    ".",
    "..",
    "0",
    "-0",
    "+0",
    "e",
    "E",
    "1e",
    "1e309",
    "1e-400",
    "1e999s",
    "NaN",
    "nan",
    "NaNs",
    "inf",
    "-inf",
    "infinity",
    "Infinityh",
    "infKi",
    "NaNMi",
    "99999999999999999999h",
    "18446744073709551616",
    "4294967296+4294967296",
    "2147483648+2147483648",
    "1.7976931348623157e308",
    "0.000000000000000000000000001ns",
    "1h1h1h1h1h1h1h1h1h1h1h1h",
    "1m2s3h4ms5d",
    "1hms",
    "mssmh",
    "1.2.3s",
    "-1s",
    "1_000s",
    "1,5s",
    "１２s",
    "٣s",
    "10+",
    "+5",
    "+",
    "++",
    "10++5",
    "Gi",
    "1Gi1",
    "1.5Ei",
    "1e18E",
    "1E1E1E",
    "--max_connections=1e9",
    "max_connections=-1",
    "max_connections=99999999999999999999999",
];

fn random_text(rng: &mut fastrand::Rng) -> String {
    const ALPHABET: &[char] = &[
        '0', '1', '5', '9', '.', 'e', 'E', '+', '-', 'm', 's', 'h', 'd', 'n', 'i', 'K', 'M', 'G', 'T', 'P', 'a', 'N',
        'f', ' ', '=', '_', '%', 'µ', '١', '\u{0}', '\u{202e}',
    ];
    let len = rng.usize(0..40);
    match rng.u8(..4) {
        // Mostly characters that mean something to some parser, so inputs get deep.
        0 | 1 => (0..len).map(|_| ALPHABET[rng.usize(..ALPHABET.len())]).collect(),
        // Long digit runs with a unit: the classic overflow.
        2 => {
            let digits: String = (0..rng.usize(1..400)).map(|_| char::from(b'0' + rng.u8(0..10))).collect();
            let units = ["s", "ms", "m", "h", "d", "", "Gi", "E", "m+5"];
            format!("{digits}{}", units[rng.usize(..units.len())])
        }
        // Any Unicode at all.
        _ => (0..len).map(|_| rng.char(..)).collect(),
    }
}

fn check(text: &str) {
    match parse_duration(text) {
        Ok(d) => assert!(d <= MAX_DURATION, "{text:?} parsed to {d:?}, past the bound"),
        Err(e) => assert!(!e.is_empty(), "{text:?}: an error must say why"),
    }
    if let Some(q) = quantity(text) {
        assert!(q.is_finite() && q.abs() <= QUANTITY_MAX, "{text:?} → {q}");
    }
    if let Some(q) = parse_quantity(text) {
        assert!(q.is_finite(), "sim quantity {text:?} → {q}");
    }
    // Counts are u32 by type; what matters is that they never panic and never read a
    // number where there is none.
    if let Some((pool, overflow)) = parse_pool_annotation(text) {
        assert!(text.chars().any(|c| c.is_ascii_digit()), "{text:?} → ({pool}, {overflow})");
    }
    let _ = parse_count(text);
    let _ = max_connections_from_args([text]);
    let _ = max_connections_from_args(["-c", &format!("max_connections={text}")]);
}

#[test]
fn adversarial_numbers_and_durations_never_panic_and_stay_in_bounds() {
    for text in ADVERSARIAL {
        check(text);
        check(&format!(" {text} "));
        check(&format!("{text}s"));
        check(&format!("{text}+{text}"));
    }
    assert!(parse_duration("99999999999999999999h").is_err());
    assert_eq!(parse_pool_annotation("4294967296+4294967296"), Some((u32::MAX, u32::MAX)));
    assert_eq!(quantity("1e309"), None);
}

#[test]
fn random_strings_never_panic_and_stay_in_bounds() {
    let seed = std::env::var("PARSERS_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(14);
    let mut rng = fastrand::Rng::with_seed(seed);
    for _ in 0..50_000 {
        let text = random_text(&mut rng);
        check(&text);
    }
    // Every accepted duration round-trips through the bound check above; one more of each
    // unit right at the edge.
    for edge in ["31536000s", "525600m", "8760h", "365d", "31536000000ms"] {
        assert_eq!(parse_duration(edge), Ok(Duration::from_secs(31_536_000)), "{edge}");
    }
}

/// The real binary: a flag's duration past the bound is a usage error (exit 2, one line),
/// not a panic (exit 101), before anything talks to a cluster.
#[test]
fn the_binary_refuses_a_huge_duration_flag_with_a_usage_error() {
    for args in [
        &["--request-timeout", "99999999999999999999h", "status"][..],
        &["gate", "--since", "99999999999999999999h"][..],
        &["gate", "--since", "366d"][..],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-cockpit"))
            .args(["--kubeconfig", "/nonexistent/kubeconfig"])
            .args(args)
            .env("KUBECTL_COCKPIT_CONFIG", "/nonexistent/config")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("longer than the maximum of 1 year"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
