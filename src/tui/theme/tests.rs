//! The palettes' guarantees: every text colour reaches WCAG AA (4.5:1) on its background, for
//! two backgrounds per palette; the chart series stay apart under simulated protanopia,
//! deuteranopia and tritanopia; mono has no colour; and detection's precedence.

use super::detect::{choose, colorfgbg_is_light, needs_query, Env, ThemeChoice};
use super::*;

/// Backgrounds each palette must read on: pure, and the off-white / dark grey many themes use.
const LIGHT_BACKGROUNDS: [(u8, u8, u8); 2] = [(255, 255, 255), (238, 238, 238)];
const DARK_BACKGROUNDS: [(u8, u8, u8); 2] = [(0, 0, 0), (38, 38, 38)];

fn backgrounds(kind: Kind) -> &'static [(u8, u8, u8)] {
    match kind {
        Kind::Light => &LIGHT_BACKGROUNDS,
        _ => &DARK_BACKGROUNDS,
    }
}

#[test]
fn every_text_colour_reaches_4_5_to_1_on_its_background() {
    let mut failures = Vec::new();
    for theme in [Theme::dark(), Theme::light()] {
        eprintln!("{} palette:", theme.kind.name());
        for (name, fg, bg) in theme.text_pairs() {
            let fg = fg.unwrap_or_else(|| panic!("{name} has no colour"));
            let fg = rgb(fg).unwrap_or_else(|| panic!("{name}: {fg:?} is not a fixed colour"));
            let bgs: Vec<(u8, u8, u8)> = match bg {
                Some(b) => vec![rgb(b).unwrap_or_else(|| panic!("{name}: {b:?} is not fixed"))],
                None => backgrounds(theme.kind).to_vec(),
            };
            let ratios: Vec<String> = bgs
                .iter()
                .map(|b| {
                    let r = contrast(fg, *b);
                    if r < 4.5 {
                        failures.push(format!("{} {name}: {r:.2} on {b:?}", theme.kind.name()));
                    }
                    format!("{r:5.2}")
                })
                .collect();
            eprintln!("  {name:<15} {fg:?} {}", ratios.join(" "));
        }
    }
    assert!(failures.is_empty(), "below 4.5:1: {failures:#?}");
}

#[test]
fn chart_series_stay_apart_for_colour_blind_eyes() {
    for theme in [Theme::dark(), Theme::light()] {
        let cols: Vec<(u8, u8, u8)> = theme.series.iter().filter_map(|c| rgb(*c)).collect();
        assert_eq!(cols.len(), theme.series.len());
        for (vision, m) in VISIONS {
            for (i, a) in cols.iter().enumerate() {
                for (j, b) in cols.iter().enumerate().skip(i + 1) {
                    let d = delta_e(seen(*a, &m), seen(*b, &m));
                    assert!(
                        d >= 15.0,
                        "{} series {i} and {j} are {d:.1} apart for {vision}",
                        theme.kind.name()
                    );
                }
            }
        }
    }
}

#[test]
fn mono_has_no_colour_and_still_marks_the_selection() {
    let t = Theme::mono();
    for (name, fg, bg) in t.text_pairs() {
        assert!(
            fg.is_none_or(|c| c == Color::Reset) && bg.is_none_or(|c| c == Color::Reset),
            "{name} has a colour"
        );
    }
    assert!(t.ghost.is_none());
    assert!(t.selection.add_modifier.contains(Modifier::REVERSED));
    assert!(t.series_badge(2).add_modifier.contains(Modifier::REVERSED));
    assert!(t.header.add_modifier.contains(Modifier::BOLD));
}

#[test]
fn colour_values_and_lightness() {
    assert_eq!(rgb(Color::Indexed(16)), Some((0, 0, 0)));
    assert_eq!(rgb(Color::Indexed(231)), Some((255, 255, 255)));
    assert_eq!(rgb(Color::Indexed(94)), Some((135, 95, 0)));
    assert_eq!(rgb(Color::Indexed(232)), Some((8, 8, 8)));
    assert_eq!(rgb(Color::Indexed(255)), Some((238, 238, 238)));
    assert_eq!(rgb(Color::Yellow), None);
    assert_eq!(rgb(Color::Indexed(3)), None);
    assert!((contrast((0, 0, 0), (255, 255, 255)) - 21.0).abs() < 1e-9);
    assert!(is_light((255, 255, 255)) && is_light((253, 246, 227)));
    assert!(!is_light((0, 0, 0)) && !is_light((0, 43, 54)) && !is_light((40, 44, 52)));
}

fn env(theme: Option<&str>, no_color: Option<&str>, fgbg: Option<&str>) -> Env {
    Env {
        atelier_theme: theme.map(Into::into),
        no_color: no_color.map(Into::into),
        colorfgbg: fgbg.map(Into::into),
    }
}

#[test]
fn detection_precedence() {
    let white = Some((255, 255, 255));
    let black = Some((0, 0, 0));
    let kind = |flag, e: &Env, bg| choose(flag, e, bg).theme.kind;
    let none = env(None, None, None);
    // The terminal's answer, then COLORFGBG, then dark.
    assert_eq!(kind(None, &none, white), Kind::Light);
    assert_eq!(kind(None, &none, black), Kind::Dark);
    assert_eq!(kind(None, &none, None), Kind::Dark);
    assert_eq!(
        kind(None, &env(None, None, Some("0;15")), None),
        Kind::Light
    );
    assert_eq!(
        kind(None, &env(None, None, Some("0;15")), black),
        Kind::Dark
    );
    // The setting wins; the flag over the variable; auto detects.
    let light_env = env(Some("Light"), None, None);
    assert_eq!(kind(None, &light_env, black), Kind::Light);
    assert_eq!(kind(Some(ThemeChoice::Dark), &light_env, white), Kind::Dark);
    assert_eq!(kind(Some(ThemeChoice::Auto), &light_env, black), Kind::Dark);
    assert!(!needs_query(None, &light_env));
    assert!(needs_query(Some(ThemeChoice::Auto), &light_env));
    // NO_COLOR (not empty) unless the setting says light or dark.
    let nc = env(None, Some("1"), None);
    assert_eq!(kind(None, &nc, white), Kind::Mono);
    assert!(!needs_query(None, &nc));
    assert_eq!(kind(Some(ThemeChoice::Light), &nc, None), Kind::Light);
    assert_eq!(kind(None, &env(None, Some(""), None), white), Kind::Light);
    // An unreadable ATELIER_THEME is reported and ignored.
    let odd = choose(None, &env(Some("solarized\u{1b}"), None, None), white);
    assert_eq!(odd.theme.kind, Kind::Light);
    assert!(odd.why.starts_with("ATELIER_THEME="), "{}", odd.why);
    assert!(choose(None, &none, white).why.contains("#ffffff"));
}

#[test]
fn colorfgbg_forms() {
    assert_eq!(colorfgbg_is_light("15;0"), Some(false));
    assert_eq!(colorfgbg_is_light("0;15"), Some(true));
    assert_eq!(colorfgbg_is_light("12;default;7"), Some(true));
    assert_eq!(colorfgbg_is_light("7;8"), Some(false));
    for odd in [
        "",
        ";",
        "15;default",
        "0;300",
        "x;y",
        "0;-1",
        "0;99999999999",
    ] {
        assert_eq!(colorfgbg_is_light(odd), None, "{odd:?}");
    }
}

/// Machado, Oliveira and Fernandes (2009), severity 1, on linear RGB.
const VISIONS: [(&str, [[f64; 3]; 3]); 4] = [
    (
        "normal vision",
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
    ),
    (
        "protanopia",
        [
            [0.152286, 1.052583, -0.204868],
            [0.114503, 0.786281, 0.099216],
            [-0.003882, -0.048116, 1.051998],
        ],
    ),
    (
        "deuteranopia",
        [
            [0.367322, 0.860646, -0.227968],
            [0.280085, 0.672501, 0.047413],
            [-0.011820, 0.042940, 0.968881],
        ],
    ),
    (
        "tritanopia",
        [
            [1.255528, -0.076749, -0.178779],
            [-0.078411, 0.930809, 0.147602],
            [0.004733, 0.691367, 0.303900],
        ],
    ),
];

/// A colour as seen with vision `m`, in CIELAB (D65).
fn seen((r, g, b): (u8, u8, u8), m: &[[f64; 3]; 3]) -> [f64; 3] {
    let c = [linear(r), linear(g), linear(b)];
    let v: Vec<f64> = m
        .iter()
        .map(|row| (row[0] * c[0] + row[1] * c[1] + row[2] * c[2]).clamp(0.0, 1.0))
        .collect();
    let x = 0.4124 * v[0] + 0.3576 * v[1] + 0.1805 * v[2];
    let y = 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
    let z = 0.0193 * v[0] + 0.1192 * v[1] + 0.9505 * v[2];
    let f = |t: f64| {
        if t > 0.008856 {
            t.cbrt()
        } else {
            7.787 * t + 16.0 / 116.0
        }
    };
    let (fx, fy, fz) = (f(x / 0.95047), f(y), f(z / 1.08883));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

/// CIE76 colour difference.
fn delta_e(a: [f64; 3], b: [f64; 3]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}
