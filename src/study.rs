//! Studies: steering across runs. A study is a spec with a `[search]` space; its members are the
//! runs whose spec names the study (`StudySpec::of`). The user's best-of-k judgements in
//! `ratings.jsonl` become pairwise preferences between members, a Gaussian-process preference
//! model (`prefs::gp`) is fitted over the members' normalised hyperparameters, and the next
//! candidate (Thompson sampling by default, or expected improvement: `study.acquisition`) is
//! written to `experiments/proposed/<study>-<n>.toml`
//! with its provenance, and launched when the study says `auto_launch = true`. The same code
//! serves `atelier propose` and the dashboard's worker.

pub mod actions;

use crate::prefs::{gp::PrefGp, space::Space, Pref};
use crate::ratings::Ledger;
use crate::run_dir::{self, RunDir, RunState};
use crate::spec::{self, Spec, StudySpec};
use crate::store::{self, Liveness};
use anyhow::{bail, Context, Result};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Proposals closer than this (Euclidean, in the unit cube) to a tried point are dropped.
pub const MIN_DISTANCE: f64 = 0.05;

/// One run of a study.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: String,
    pub name: String,
    /// The searched hyperparameters, in the space's order.
    pub values: Vec<f64>,
    /// The same, normalised to the unit cube.
    pub x: Vec<f64>,
    pub state: Liveness,
}

impl Member {
    /// Failed or stopped early by hand: not a candidate any more (finished runs still are).
    pub fn is_dead(&self) -> bool {
        matches!(
            self.state,
            Liveness::Reported(RunState::Failed) | Liveness::Stalled
        )
    }
}

pub struct Study {
    pub name: String,
    /// The spec proposals are derived from.
    pub template: Spec,
    pub space: Space,
    /// Oldest first.
    pub members: Vec<Member>,
}

/// A proposal written to disk.
#[derive(Debug, Clone)]
pub struct Written {
    pub path: PathBuf,
    pub name: String,
    pub summary: String,
}

impl Study {
    /// The study `name`: its members found in `runs_dir`; the template is the newest member's
    /// spec (or `template` when given, e.g. the study file itself).
    pub fn load(runs_dir: &Path, name: &str, template: Option<Spec>) -> Result<Study> {
        let mut found = Vec::new();
        let mut summaries = store::scan(runs_dir);
        summaries.reverse(); // oldest first
                             // status.json names a run's study; a run without one yet (just created) is read too.
        let candidates = summaries
            .into_iter()
            .filter(|r| r.study.as_deref() == Some(name) || r.state == Liveness::Unknown);
        for r in candidates {
            match store::read_spec(&RunDir::new(&r.dir)) {
                Ok(s) if StudySpec::of(&s).as_deref() == Some(name) => found.push((r, s)),
                _ => {}
            }
        }
        let Some(template) = template.or_else(|| found.last().map(|(_, s)| s.clone())) else {
            bail!("no study `{name}`: no run in {} belongs to it (start one from its spec: atelier propose experiments/<study>.toml)", runs_dir.display());
        };
        if template.search.is_empty() {
            bail!("`{name}` has no [search] table: nothing to steer");
        }
        // Every member is placed in the template's space (a member missing a key sits at its min).
        let space = Space::from_search(&template.search);
        let members = found
            .into_iter()
            .map(|(r, s)| {
                let values: Vec<f64> = space
                    .dims
                    .iter()
                    .map(|d| spec::get_number(&s, &d.key).unwrap_or(d.min))
                    .collect();
                Member {
                    id: r.id.clone(),
                    name: r.name.clone(),
                    x: space.to_unit(&values),
                    values,
                    state: r.state,
                }
            })
            .collect();
        Ok(Study {
            name: name.to_string(),
            template,
            space,
            members,
        })
    }

    /// The grid: members neither retired by a judgement nor dead, newest last, at most
    /// `study.candidates`.
    pub fn live<'a>(&'a self, ledger: &Ledger) -> Vec<&'a Member> {
        let retired = ledger.retired();
        let live: Vec<&Member> = self
            .members
            .iter()
            .filter(|m| !retired.contains(m.id.as_str()) && !m.is_dead())
            .collect();
        let k = self.template.study.candidates;
        live[live.len().saturating_sub(k)..].to_vec()
    }

    /// The pairwise preferences between members (by member index) and the ids of the
    /// judgements they come from.
    fn judged(&self, ledger: &Ledger) -> (Vec<Pref>, Vec<String>) {
        let index: HashMap<String, usize> = self
            .members
            .iter()
            .enumerate()
            .map(|(i, m)| (m.id.clone(), i))
            .collect();
        let ids: HashSet<&str> = self.members.iter().map(|m| m.id.as_str()).collect();
        let used = ledger.judgement_ids(&ids).map(String::from).collect();
        (ledger.prefs(&index), used)
    }

    fn points(&self) -> Vec<Vec<f64>> {
        self.members.iter().map(|m| m.x.clone()).collect()
    }

    /// The preference model over every member, with the judgements it used.
    pub fn fit(&self, ledger: &Ledger) -> (PrefGp, Vec<String>) {
        let (prefs, used) = self.judged(ledger);
        (PrefGp::fit(&self.points(), &prefs), used)
    }

    /// Fill the grid back up to `study.candidates` live members: write one proposal per empty
    /// slot (none once `study.max_runs` runs exist). The first ones, before any judgement, are
    /// a space-filling design; later ones maximise expected improvement.
    pub fn propose(
        &self,
        ledger: &Ledger,
        experiments_dir: &Path,
        seed: u64,
    ) -> Result<Vec<Written>> {
        let want = self
            .template
            .study
            .candidates
            .saturating_sub(self.live(ledger).len())
            .min(
                self.template
                    .study
                    .max_runs
                    .saturating_sub(self.members.len()),
            );
        let mut rng = crate::rng::Rng::stream(seed ^ self.members.len() as u64, &self.name);
        let (prefs, used) = self.judged(ledger);
        let mut points = self.points();
        let gp = PrefGp::fit(&points, &prefs);
        let mut out = Vec::new();
        for _ in 0..want {
            let (x, why) = if used.is_empty() {
                (
                    space_filling(&points, self.space.dim(), &mut rng),
                    "space-filling start (no judgements yet)".to_string(),
                )
            } else {
                // Later slots of one batch refit with the earlier proposals as untried points,
                // so they are not proposed twice.
                let model =
                    (points.len() > self.members.len()).then(|| PrefGp::fit(&points, &prefs));
                let gp = model.as_ref().unwrap_or(&gp);
                let rule = self.template.study.acquisition;
                match gp.propose_with(&mut rng, MIN_DISTANCE, rule) {
                    Some(p) => {
                        let why = format!(
                            "{rule:?}: expected improvement {:.3}; predicted utility {:+.2} ± {:.2} (best tried {:+.2}); length-scale {:.2}; from {} judgements: {}",
                            p.ei,
                            p.mean,
                            p.sd,
                            gp.best().map_or(0.0, |b| gp.means()[b]),
                            gp.lengthscale(),
                            used.len(),
                            used.join(", ")
                        );
                        (p.x, why)
                    }
                    None => (
                        space_filling(&points, self.space.dim(), &mut rng),
                        "space-filling (every candidate was too close to a tried one)".into(),
                    ),
                }
            };
            let n = self.next_number(experiments_dir);
            out.push(self.write(&x, n, &why, experiments_dir)?);
            points.push(x);
        }
        Ok(out)
    }

    /// One step of the study loop, shared by `atelier propose`, the dashboard's worker and the
    /// launch form: write the proposals (`propose`) and launch each when `launch`. Returns each
    /// proposal with the id of its run, if launched.
    pub fn refill(
        &self,
        ledger: &Ledger,
        experiments_dir: &Path,
        runs_dir: &Path,
        launch: bool,
        seed: u64,
    ) -> Result<Vec<(Written, Option<String>)>> {
        self.propose(ledger, experiments_dir, seed)?
            .into_iter()
            .map(|w| {
                let run = if launch {
                    Some(crate::launch::launch(&w.path, &[], runs_dir, None)?.id())
                } else {
                    None
                };
                Ok((w, run))
            })
            .collect()
    }

    /// The study's answer: the configuration with the highest predicted utility.
    pub fn best(&self, ledger: &Ledger, experiments_dir: &Path) -> Result<Written> {
        let (gp, used) = self.fit(ledger);
        if used.is_empty() {
            bail!("study `{}` has no judgements yet", self.name);
        }
        let mut rng = crate::rng::Rng::stream(7, &self.name);
        let top = gp.top(&mut rng);
        let why = format!(
            "top predicted configuration: utility {:+.2} ± {:.2}; from {} judgements",
            top.mean,
            top.sd,
            used.len()
        );
        let path = experiments_dir
            .join("proposed")
            .join(format!("{}-best.toml", self.name));
        self.write_to(&top.x, &format!("{}-best", self.name), &why, &path)
    }

    /// One past the highest number among the study's proposal files and run names (the files
    /// just written included).
    fn next_number(&self, experiments_dir: &Path) -> usize {
        let prefix = format!("{}-", self.name);
        let from_files = std::fs::read_dir(experiments_dir.join("proposed"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".toml")?
                    .strip_prefix(&prefix)?
                    .parse::<usize>()
                    .ok()
            })
            .max()
            .unwrap_or(0);
        let from_runs = self
            .members
            .iter()
            .filter_map(|m| m.name.strip_prefix(&prefix)?.parse::<usize>().ok())
            .max()
            .unwrap_or(0);
        from_files.max(from_runs) + 1
    }

    fn write(&self, x: &[f64], n: usize, why: &str, experiments_dir: &Path) -> Result<Written> {
        let name = format!("{}-{n}", self.name);
        let path = experiments_dir
            .join("proposed")
            .join(format!("{name}.toml"));
        self.write_to(x, &name, why, &path)
    }

    fn write_to(&self, x: &[f64], name: &str, why: &str, path: &Path) -> Result<Written> {
        let values = self.space.from_unit(x);
        let mut s = self.template.clone();
        for (d, v) in self.space.dims.iter().zip(&values) {
            s = spec::set_number(&s, &d.key, *v).map_err(anyhow::Error::msg)?;
        }
        s.name = Some(name.to_string());
        s.study.name = Some(self.name.clone());
        let settings: Vec<String> = self
            .space
            .dims
            .iter()
            .zip(&values)
            .map(|(d, v)| format!("{} = {}", d.key, spec::format_number(*v)))
            .collect();
        s.description = format!("study {}: {}", self.name, settings.join(", "));
        let body = toml::to_string_pretty(&s).context("serialising the proposal")?;
        let header = format!(
            "# Proposed by atelier for study `{}` at {} (unix {:.0}).\n# {}\n# {}\n\n",
            self.name,
            run_dir::timestamp_id(run_dir::now()),
            run_dir::now(),
            settings.join(", "),
            why
        );
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        run_dir::write_atomic(path, format!("{header}{body}").as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(Written {
            path: path.to_path_buf(),
            name: name.to_string(),
            summary: settings.join(", "),
        })
    }
}

/// A point of the unit cube far from `taken`: the best of 256 random draws by distance to the
/// nearest taken point (the centre first, when nothing is taken).
pub fn space_filling(taken: &[Vec<f64>], dim: usize, rng: &mut crate::rng::Rng) -> Vec<f64> {
    if taken.is_empty() {
        return vec![0.5; dim];
    }
    let mut best = (f64::NEG_INFINITY, vec![0.5; dim]);
    for _ in 0..256 {
        let c: Vec<f64> = (0..dim).map(|_| f64::from(rng.f32())).collect();
        let d = taken
            .iter()
            .map(|t| t.iter().zip(&c).map(|(a, b)| (a - b).powi(2)).sum::<f64>())
            .fold(f64::INFINITY, f64::min);
        if d > best.0 {
            best = (d, c);
        }
    }
    best.1
}

/// Resolve what `atelier propose` was given: a spec file (its study, with that file as the
/// template) or the name of a study with runs.
pub fn open(target: &str, overrides: &[String], runs_dir: &Path) -> Result<Study> {
    let path = Path::new(target);
    if path.extension().is_some_and(|e| e == "toml") || path.is_file() {
        let plan = spec::load(path, overrides).map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut s = plan.spec.clone();
        s.name = Some(plan.name.clone());
        let Some(name) = StudySpec::of(&s) else {
            bail!(
                "{}: a study needs a [search] table with the hyperparameters to steer",
                path.display()
            );
        };
        return Study::load(runs_dir, &name, Some(s));
    }
    Study::load(runs_dir, target, None)
}

/// Whether launching this spec means starting (or refilling) its study rather than one run: it
/// is the study's own spec (a `[search]` table, and its name is the study's), not a proposal.
pub fn starts_study(spec: &Spec, name: &str) -> bool {
    !spec.search.is_empty() && spec.study.name.as_deref().is_none_or(|s| s == name)
}

/// Start or refill a study from its spec: propose up to `study.candidates` runs and launch them
/// all (the user asked for it). Returns one line for a notification.
pub fn launch_study(
    spec_path: &Path,
    overrides: &[String],
    runs_dir: &Path,
    experiments: &Path,
) -> Result<String> {
    let study = open(&spec_path.display().to_string(), overrides, runs_dir)?;
    let ledger = Ledger::new(crate::ratings::read(runs_dir));
    let launched = study.refill(&ledger, experiments, runs_dir, true, 0)?;
    if launched.is_empty() {
        return Ok(format!(
            "study {}: the grid is full ({} live candidates); press b on one of its runs to judge",
            study.name,
            study.live(&ledger).len()
        ));
    }
    let ids: Vec<String> = launched.into_iter().filter_map(|(_, id)| id).collect();
    Ok(format!(
        "study {}: launched {} candidates ({}); press b on one to judge",
        study.name,
        ids.len(),
        ids.join(", ")
    ))
}
