//! Deciding rebuilt actions under a chosen user policy layer, for replay
//! and suggest: the policy layers are loaded (this reads the policy files)
//! once per working directory, and each action is decided by the very
//! function the hook uses ([`crate::engine`]).

use std::collections::HashMap;

use crate::action::Action;
use crate::config::{Loaded, UserLayer};
use crate::paths::Paths;
use crate::policy::Evaluation;

/// Decides rebuilt actions under one choice of user layer, loading the
/// policy layers once per working directory.
pub struct Decider<'a> {
    paths: &'a Paths,
    user: UserLayer,
    loaded: HashMap<String, Loaded>,
}

impl<'a> Decider<'a> {
    pub fn new(paths: &'a Paths, user: UserLayer) -> Decider<'a> {
        crate::engine::prepare(paths);
        Decider { paths, user, loaded: HashMap::new() }
    }

    /// The layers that apply in `cwd`.
    pub fn loaded(&mut self, cwd: &str) -> &Loaded {
        let (paths, user) = (self.paths, &self.user);
        self.loaded.entry(cwd.to_string()).or_insert_with(|| crate::config::load_with(paths, cwd, user))
    }

    pub fn decide(&mut self, action: &Action) -> Evaluation {
        crate::engine::decide_loaded(self.loaded(&action.cwd), action)
    }
}
