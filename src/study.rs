//! Studies: steering across runs. A study is a spec with a `[search]` space; its members are the
//! runs whose spec names the study (`StudySpec::of`). The user's best-of-k judgements in
//! `ratings.jsonl` become pairwise preferences between members, a Gaussian-process preference
//! model (`prefs::gp`) is fitted over the members' normalised hyperparameters, and the next
//! candidate (Thompson sampling by default, or expected improvement: `study.acquisition`) is
//! written to `experiments/proposed/<study>-<n>.toml`
//! with its provenance, and launched when the study says `auto_launch = true`. The same code
//! serves `atelier propose` and the dashboard's worker.

pub mod actions;
pub mod judge;

use crate::prefs::{
    gp::{Acquisition, PrefGp},
    space::Space,
    Pref,
};
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
    /// The run directory.
    pub dir: PathBuf,
    pub name: String,
    /// The searched hyperparameters, in the space's order.
    pub values: Vec<f64>,
    /// The same, normalised to the unit cube.
    pub x: Vec<f64>,
    pub state: Liveness,
}

impl Member {
    /// Failed, stopped by hand or stalled: not a candidate any more (finished runs still are).
    pub fn is_dead(&self) -> bool {
        !can_judge(self.state)
    }
}

/// Whether a run in this state can stand in a study's grid: anything but failed, stopped or
/// stalled (a finished run still can; a stopped one again once resumed).
pub fn can_judge(state: Liveness) -> bool {
    !matches!(
        state,
        Liveness::Reported(RunState::Failed | RunState::Stopped) | Liveness::Stalled
    )
}

/// The grid's rule, shared by `Study::live` and the dashboard: of the members in force (neither
/// retired nor dead), oldest first, the first `k`. A run restored by an undo is older than its
/// replacement, so it takes its place back and the replacement waits for the next free slot.
pub fn grid_of<T>(in_force_oldest_first: impl IntoIterator<Item = T>, k: usize) -> Vec<T> {
    in_force_oldest_first.into_iter().take(k).collect()
}

/// A proposal written but not launched yet: a member-to-be, so asking again does not write the
/// same point twice. Deleting its file gives the slot back.
#[derive(Debug, Clone)]
pub struct Pending {
    pub name: String,
    pub path: PathBuf,
    pub values: Vec<f64>,
    pub x: Vec<f64>,
    /// The study seed it recorded.
    pub seed: Option<u64>,
}

pub struct Study {
    pub name: String,
    /// The spec proposals are derived from.
    pub template: Spec,
    pub space: Space,
    /// Oldest first.
    pub members: Vec<Member>,
    /// The study's seed as found: set by `--seed`, the template, or the oldest member recording
    /// one (`study.seed`); `None` until the first proposal draws it.
    pub seed: Option<u64>,
}

/// A proposal written to disk.
#[derive(Debug, Clone)]
pub struct Written {
    pub path: PathBuf,
    pub name: String,
    /// `key = value, …` of the searched hyperparameters.
    pub summary: String,
    /// The searched values, in the space's order.
    pub values: Vec<f64>,
    /// Why this point (the header's last line).
    pub why: String,
    /// The model's predicted utility (mean, sd) there, once there are judgements.
    pub predicted: Option<(f64, f64)>,
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
        let found_seeds: Vec<Option<u64>> = found.iter().map(|(_, s)| s.study.seed).collect();
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
                let values = values_of(&space, &s);
                Member {
                    id: r.id.clone(),
                    dir: PathBuf::from(&r.dir),
                    // The spec's name (`<study>-<n>` for a proposal), also before status.json.
                    name: s.name.clone().unwrap_or_else(|| r.name.clone()),
                    x: space.to_unit(&values),
                    values,
                    state: r.state,
                }
            })
            .collect();
        let seed = template
            .study
            .seed
            .or_else(|| found_seeds.into_iter().flatten().next());
        Ok(Study {
            name: name.to_string(),
            template,
            space,
            members,
            seed,
        })
    }

    /// A member's run directory (by id; the runs directory's entry when unknown).
    pub fn dir_of(&self, id: &str) -> PathBuf {
        self.members
            .iter()
            .find(|m| m.id == id)
            .map_or_else(|| PathBuf::from(id), |m| m.dir.clone())
    }

    /// The members in force: neither retired by a judgement nor dead, oldest first.
    pub fn in_force<'a>(&'a self, ledger: &Ledger) -> Vec<&'a Member> {
        let retired = ledger.retired();
        self.members
            .iter()
            .filter(|m| !retired.contains(m.id.as_str()) && !m.is_dead())
            .collect()
    }

    /// The grid: the oldest `study.candidates` members in force ([`grid_of`]).
    pub fn live<'a>(&'a self, ledger: &Ledger) -> Vec<&'a Member> {
        grid_of(self.in_force(ledger), self.template.study.candidates)
    }

    /// Proposals of this study in `experiments_dir/proposed/` (`<study>-<n>.toml`) that no run
    /// was made from yet, in number order. Unreadable files are skipped.
    pub fn pending(&self, experiments_dir: &Path) -> Vec<Pending> {
        let prefix = format!("{}-", self.name);
        let made: HashSet<&str> = self.members.iter().map(|m| m.name.as_str()).collect();
        let mut out: Vec<(usize, Pending)> = std::fs::read_dir(experiments_dir.join("proposed"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let file = e.file_name().to_string_lossy().into_owned();
                let stem = file.strip_suffix(".toml")?;
                let n = stem.strip_prefix(&prefix)?.parse::<usize>().ok()?;
                let text = std::fs::read_to_string(e.path()).ok()?;
                let s: Spec = toml::from_str(&text).ok()?;
                let name = s.name.clone().unwrap_or_else(|| stem.to_string());
                if made.contains(name.as_str()) || s.study.name.as_deref() != Some(&self.name) {
                    return None;
                }
                let values = values_of(&self.space, &s);
                Some((
                    n,
                    Pending {
                        name,
                        path: e.path(),
                        x: self.space.to_unit(&values),
                        values,
                        seed: s.study.seed,
                    },
                ))
            })
            .collect();
        out.sort_by_key(|(n, _)| *n);
        out.into_iter().map(|(_, p)| p).collect()
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
    /// slot (none once `study.max_runs` runs exist). Proposals not launched yet count as
    /// members-to-be ([`Study::pending`]): they fill slots and are points the model keeps away
    /// from. The first ones, before any judgement, are a space-filling design drawn from the
    /// study's seed; later ones follow `study.acquisition` (Thompson sampling by default).
    pub fn propose(&self, ledger: &Ledger, experiments_dir: &Path) -> Result<Vec<Written>> {
        let pending = self.pending(experiments_dir);
        let slots = self.template.study.candidates;
        let want = slots
            .saturating_sub(self.live(ledger).len() + pending.len())
            .min(
                self.template
                    .study
                    .max_runs
                    .saturating_sub(self.members.len() + pending.len()),
            );
        if want == 0 {
            return Ok(Vec::new());
        }
        let seed = self.seed_with(&pending);
        let tried = self.members.len() + pending.len();
        let mut rng = crate::rng::Rng::stream(seed ^ tried as u64, &self.name);
        let (prefs, used) = self.judged(ledger);
        let mut points = self.points();
        let gp = PrefGp::fit(&points, &prefs);
        points.extend(pending.iter().map(|p| p.x.clone()));
        let mut out = Vec::new();
        for _ in 0..want {
            let (x, why) = if used.is_empty() {
                (
                    space_filling(&points, self.space.dim(), &mut rng),
                    format!("space-filling start (no judgements yet; study seed {seed})"),
                )
            } else {
                // Pending proposals and earlier slots of this batch are refitted as untried
                // points, so no point is proposed twice.
                let model =
                    (points.len() > self.members.len()).then(|| PrefGp::fit(&points, &prefs));
                let gp = model.as_ref().unwrap_or(&gp);
                let rule = self.template.study.acquisition;
                match gp.propose_with(&mut rng, MIN_DISTANCE, rule) {
                    Some(p) => {
                        let how = match rule {
                            Acquisition::Thompson => format!(
                                "Thompson sampling (the argmax of one joint posterior sample; expected improvement there {:.3})",
                                p.ei
                            ),
                            Acquisition::ExpectedImprovement => {
                                format!("expected improvement {:.3}", p.ei)
                            }
                        };
                        let why = format!(
                            "{how}; predicted utility {:+.2} ± {:.2} (best tried {:+.2}); length-scale {:.2}; from {} judgements: {}",
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
            let (mean, sd) = gp.predict(&x);
            let mut w = self.write(&x, n, &why, seed, experiments_dir)?;
            w.predicted = (!used.is_empty()).then_some((mean, sd));
            out.push(w);
            points.push(x);
        }
        Ok(out)
    }

    /// The study's seed: found at load, else recorded by a pending proposal, else a fresh one
    /// (time and process), which every proposal then records.
    fn seed_with(&self, pending: &[Pending]) -> u64 {
        self.seed
            .or_else(|| pending.iter().find_map(|p| p.seed))
            .unwrap_or_else(|| {
                let t = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64);
                // A short number people can type back (`--seed`).
                crate::rng::Rng::stream(t ^ u64::from(std::process::id()), "study seed").next_u64()
                    % 1_000_000
            })
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
    ) -> Result<Vec<(Written, Option<String>)>> {
        self.propose(ledger, experiments_dir)?
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
        let mut w = self.write_to(&top.x, &format!("{}-best", self.name), &why, None, &path)?;
        w.predicted = Some((top.mean, top.sd));
        Ok(w)
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

    fn write(
        &self,
        x: &[f64],
        n: usize,
        why: &str,
        seed: u64,
        experiments_dir: &Path,
    ) -> Result<Written> {
        let name = format!("{}-{n}", self.name);
        let path = experiments_dir
            .join("proposed")
            .join(format!("{name}.toml"));
        self.write_to(x, &name, why, Some(seed), &path)
    }

    fn write_to(
        &self,
        x: &[f64],
        name: &str,
        why: &str,
        seed: Option<u64>,
        path: &Path,
    ) -> Result<Written> {
        let values = self.space.from_unit(x);
        let mut s = self.template.clone();
        for (d, v) in self.space.dims.iter().zip(&values) {
            s = spec::set_number(&s, &d.key, *v).map_err(anyhow::Error::msg)?;
        }
        s.name = Some(name.to_string());
        s.study.name = Some(self.name.clone());
        s.study.seed = seed.or(self.seed);
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
            values,
            why: why.to_string(),
            predicted: None,
        })
    }
}

/// A spec's searched values in the space's order (a missing key sits at its min).
fn values_of(space: &Space, s: &Spec) -> Vec<f64> {
    space
        .dims
        .iter()
        .map(|d| spec::get_number(s, &d.key).unwrap_or(d.min))
        .collect()
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
    let launched = study.refill(&ledger, experiments, runs_dir, true)?;
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
