use super::*;

fn key(c: char) -> KeyEvent {
    KeyEvent::new(C(c), KeyModifiers::NONE)
}

#[test]
fn context_bindings_shadow_global_and_every_action_has_help() {
    assert_eq!(lookup(Context::Runs, &key('j')), Some(Action::Down));
    assert_eq!(lookup(Context::Run, &key('q')), Some(Action::Quit));
    assert_eq!(
        lookup(Context::Run, &KeyEvent::new(C('W'), KeyModifiers::SHIFT)),
        Some(Action::KnobDown(Dial::Main))
    );
    assert_eq!(lookup(Context::Runs, &key('z')), None);
    // Text contexts: global keys do not reach them, Ctrl-C does.
    assert_eq!(lookup(Context::Filter, &key('q')), None);
    let ctrl_c = KeyEvent::new(C('c'), KeyModifiers::CONTROL);
    for ctx in ALL {
        assert_eq!(lookup(*ctx, &ctrl_c), Some(Action::Quit), "{ctx:?}");
    }
    assert_eq!(lookup(Context::Help, &key('q')), Some(Action::Back));
    assert!(BINDINGS
        .iter()
        .all(|b| !b.help.is_empty() && !b.keys.is_empty()));
    let json = serde_json::to_string(&Action::KnobUp(Dial::Main)).unwrap();
    assert_eq!(json, "{\"knob_up\":\"main\"}");
}

#[test]
fn no_key_is_bound_twice_in_one_context() {
    for ctx in ALL {
        let mut seen: Vec<Key> = Vec::new();
        for b in BINDINGS.iter().filter(|b| bound_in(b, *ctx)) {
            for k in b.keys {
                assert!(!seen.contains(k), "{k:?} twice in {ctx:?}");
                seen.push(*k);
            }
        }
    }
}

/// A letter means one thing across the views, except the few listed here, which the help says.
#[test]
fn letters_mean_one_thing_across_views() {
    // 1-4: stars in the run and compare views, "the worst" in the grid (its footer says so);
    // k: select in the runs table, keep colours in the look view (vim motion vs look key);
    // e: the content-weight dial in the run view, end the study in the grid;
    // l: log-Y in the run view (as y everywhere), the wipe's split right in compare (h l).
    let contextual = ['1', '2', '3', '4', 'k', 'e', 'l'];
    let views = [Context::Runs, Context::Run, Context::Compare, Context::Grid];
    for c in ('!'..='~').filter(|c| !contextual.contains(c)) {
        let actions: Vec<Action> = views.iter().filter_map(|v| lookup(*v, &key(c))).collect();
        assert!(
            actions.windows(2).all(|w| w[0] == w[1]),
            "`{c}` means {actions:?}"
        );
    }
}

#[test]
fn every_footer_hint_resolves_to_keys() {
    for (ctx, actions, label) in HINTS {
        for a in *actions {
            assert!(
                !keys_for(*ctx, *a).is_empty(),
                "{label}: {a:?} unbound in {ctx:?}"
            );
        }
    }
    let run = footer(Context::Run);
    assert!(run.contains(&("[ ]".into(), "step")), "{run:?}");
    assert!(run.contains(&("w W e E a A".into(), "knobs")), "{run:?}");
    assert!(run.contains(&("B".into(), "band")), "{run:?}");
    assert!(footer(Context::Runs).contains(&("G".into(), "groups")));
    let compare = footer(Context::Compare);
    assert!(compare.contains(&("1-5".into(), "stars")), "{compare:?}");
}
