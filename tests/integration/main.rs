//! One integration binary: the `atelier` executable driven as a user would (spec fixtures,
//! tiny training runs, control commands, signals, resume, stylize), plus library-level checks
//! that need internals (NaN handling with an injected recipe, VGG19 weight loading).

mod common;
mod compare_views;
mod control;
mod dashboard;
mod distill;
mod groups;
mod interop;
mod judging;
mod nan;
mod runs_filter;
mod session;
mod snapshots;
mod specs;
mod steer;
mod study;
mod study_loop;
mod styles;
mod stylize;
mod training;
mod vgg;
mod workspace;
