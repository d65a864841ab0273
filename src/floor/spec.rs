//! The floor's data types, as `policies/floor.toml` and
//! `policies/wrappers.toml` spell them: one [`ProgramSpec`] per program (and
//! per git subcommand), whose flags each say their [`Arity`] by the list they
//! stand in, the [`SpecialCheck`] a program needs beyond its flags (a serde
//! enum, so a misspelt name fails to load instead of falling back to the
//! generic parser), and the one table of wrappers (`env`, `timeout`,
//! `xargs`, `sudo`...) that the floor, the policy's argv forms and the
//! session grants all read.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

/// How a flag takes its value, as the real program parses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    /// No value: `--all`, `-a`. `--all=x` is refused.
    None,
    /// A value, attached (`--width=80`, `-w80`) or as the next word.
    Required,
    /// An optional value that can only be attached (`--color=always`,
    /// `-Iseconds`): the next word is never the value (GNU getopt `::`,
    /// git's PARSE_OPT_OPTARG).
    OptionalAttached,
    /// An optional value, attached or as the next word when that word does
    /// not start with `-` (git's `--contains [<commit>]`, PARSE_OPT_LASTARG_DEFAULT
    /// as git parses it).
    OptionalNext,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Operands {
    Paths,
    #[default]
    Text,
    None,
}

/// The checks a program needs beyond its flag table. Each has its own code
/// in one file of `floor/`; the names are the only ones `floor.toml` may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum SpecialCheck {
    /// find's expression: primaries from `words`/`words_arg`.
    Find,
    /// sed's script and its `w`/`r`/`e` commands.
    Sed,
    /// git: global options, the subcommand, the repository's config.
    Git,
    /// Prints its words; nothing else to check.
    Echo,
    /// printf: a computed first word may be `-v NAME`.
    Printf,
    /// test and `[`: `-v NAME` evaluates an array subscript.
    Test,
    /// A wrapper from `policies/wrappers.toml`: its own flags, then the
    /// inner command, checked as a command of its own.
    Wrapper,
    /// jq: filter modules, `$ENV`/`env`, files read by flags.
    Jq,
    /// tar: only listing.
    Tar,
    /// kill: only `kill -l`.
    Kill,
    /// cd/pushd: where later commands run.
    Cd,
    /// xxd reads its own flags as whole words.
    Xxd,
    /// printenv: only named, non-secret variables.
    Printenv,
    /// crontab: only `crontab -l`.
    Crontab,
    /// dd: only the `keys` operands.
    Dd,
    /// read: only lower-case variable names.
    Read,
    /// unzip: only listing and testing.
    Unzip,
    /// date: an operand that is not `+FORMAT` sets the clock.
    Date,
    /// ps: `e` prints environments.
    Ps,
    /// Checksums: `--check` reads the files a list names.
    Checksum,
    /// git branch/tag: an operand creates one unless listing.
    GitList,
    /// git reflog: only `show`.
    GitReflog,
    /// git stash: only `list` and `show`.
    GitStash,
    /// git worktree: only `list`.
    GitWorktree,
    /// git config: only reads.
    GitConfig,
    /// git cat-file: `--batch` reads object names from stdin.
    GitCatFile,
}

impl std::fmt::Display for SpecialCheck {
    /// The name `floor.toml` uses.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::String(s)) => f.write_str(&s),
            _ => write!(f, "{self:?}"),
        }
    }
}

/// One program (or git subcommand) of the floor.
#[derive(Debug, Clone, Deserialize, serde::Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ProgramSpec {
    pub reason: String,
    /// Short flags without a value, as one string of letters.
    #[serde(default)]
    pub short: String,
    /// Short flags with a required value (attached or the next word).
    #[serde(default)]
    pub short_arg: String,
    /// Short flags whose value, if any, is attached (`-Iseconds`).
    #[serde(default)]
    pub short_optional: String,
    /// No flag of this program writes or runs anything, so an operand that
    /// turns out to be a flag (from a glob, a variable or xargs) is harmless.
    #[serde(default)]
    pub harmless_flags: bool,
    /// Long flags without a value.
    #[serde(default)]
    pub long: Vec<String>,
    /// Long flags with a required value (`--f=v` or `--f v`).
    #[serde(default)]
    pub long_arg: Vec<String>,
    /// Long flags whose value, if any, is attached (`--color[=WHEN]`).
    #[serde(default)]
    pub long_optional: Vec<String>,
    /// Long flags whose optional value may be the next word when it does not
    /// start with `-` (git's `--contains [<commit>]`).
    #[serde(default)]
    pub long_optional_next: Vec<String>,
    /// Single-dash whole-word options without a value (find's `-print`,
    /// xxd's `-ps`).
    #[serde(default)]
    pub words: Vec<String>,
    /// Single-dash whole-word options with a value (find's `-name`).
    #[serde(default)]
    pub words_arg: Vec<String>,
    #[serde(default)]
    pub numeric: bool,
    #[serde(default)]
    pub operands: Operands,
    #[serde(default)]
    pub max_operands: Option<usize>,
    #[serde(default)]
    pub pattern_first: bool,
    /// Flags that make a content search recursive (`-r`, `--recursive`), and
    /// values of flags that do (`--directories=recurse` as `directories=recurse`).
    #[serde(default)]
    pub recursive: Vec<String>,
    /// The search is recursive without any flag (rg).
    #[serde(default)]
    pub recursive_by_default: bool,
    /// Flags that stop it from being a content search (`rg --files`).
    #[serde(default)]
    pub not_search: Vec<String>,
    /// Flags that make a recursive search read hidden or ignored files (for
    /// a program that skips them by default).
    #[serde(default)]
    pub hidden: Vec<String>,
    /// The recursive search reads hidden files whatever its flags (grep -r).
    #[serde(default)]
    pub hidden_by_default: bool,
    /// Flags whose values restrict a recursive search to the files whose
    /// names match them (grep's `--include`, rg's `-g`); a search restricted
    /// to names that are not secrets passes over trees that hold secrets.
    #[serde(default)]
    pub include: Vec<String>,
    /// Flags that undo the restriction of `include` (grep includes files
    /// that match no pattern when the first one is an `--exclude`).
    #[serde(default)]
    pub include_void: Vec<String>,
    /// Short flags may not be bundled: each stands alone (tree reads the
    /// value of a bundled `-L` from the next word, not the rest of the bundle).
    #[serde(default)]
    pub no_bundles: bool,
    /// Flags that make a recursive search follow symlinks.
    #[serde(default)]
    pub follow: Vec<String>,
    /// `key=value` operands allowed (dd).
    #[serde(default)]
    pub keys: Vec<String>,
    /// Keys whose value is a file read (dd's `if`).
    #[serde(default)]
    pub keys_path: Vec<String>,
    /// Whole dashed bundles known to be safe even though the letters alone
    /// would not be (ps's `-ef`).
    #[serde(default)]
    pub bundles: Vec<String>,
    /// Letters allowed in a dashless BSD-style bundle (ps `aux`).
    #[serde(default)]
    pub bsd: String,
    #[serde(default)]
    pub check: Option<SpecialCheck>,
    #[serde(default)]
    pub sub: BTreeMap<String, ProgramSpec>,
}

impl ProgramSpec {
    /// The arity of a long flag (`name` without the dashes), if listed.
    pub fn long_arity(&self, name: &str) -> Option<Arity> {
        let has = |v: &[String]| v.iter().any(|l| l == name);
        if has(&self.long) {
            Some(Arity::None)
        } else if has(&self.long_arg) {
            Some(Arity::Required)
        } else if has(&self.long_optional) {
            Some(Arity::OptionalAttached)
        } else if has(&self.long_optional_next) {
            Some(Arity::OptionalNext)
        } else {
            None
        }
    }

    /// The arity of a short flag, if listed.
    pub fn short_arity(&self, c: char) -> Option<Arity> {
        if self.short_arg.contains(c) {
            Some(Arity::Required)
        } else if self.short_optional.contains(c) {
            Some(Arity::OptionalAttached)
        } else if self.short.contains(c) {
            Some(Arity::None)
        } else {
            None
        }
    }

    /// The arity of a single-dash whole-word option, if listed.
    pub fn word_arity(&self, word: &str) -> Option<Arity> {
        if self.words.iter().any(|w| w == word) {
            Some(Arity::None)
        } else if self.words_arg.iter().any(|w| w == word) {
            Some(Arity::Required)
        } else {
            None
        }
    }

    /// Every listed flag with its arity, as the program spells it.
    pub fn flags(&self) -> Vec<(String, Arity)> {
        let mut out = Vec::new();
        for (s, a) in [
            (&self.short, Arity::None),
            (&self.short_arg, Arity::Required),
            (&self.short_optional, Arity::OptionalAttached),
        ] {
            out.extend(s.chars().map(|c| (format!("-{c}"), a)));
        }
        for (v, a) in [
            (&self.long, Arity::None),
            (&self.long_arg, Arity::Required),
            (&self.long_optional, Arity::OptionalAttached),
            (&self.long_optional_next, Arity::OptionalNext),
        ] {
            out.extend(v.iter().map(|l| (format!("--{l}"), a)));
        }
        for (v, a) in [(&self.words, Arity::None), (&self.words_arg, Arity::Required)] {
            out.extend(v.iter().map(|w| (w.clone(), a)));
        }
        out
    }
}

/// A program that runs another command (`env`, `timeout`, `sudo`...). The
/// wrapper's own flags are walked with the same arities as a floor program;
/// then come `positionals` fixed words (timeout's duration), and the inner
/// command.
#[derive(Debug, Clone, Deserialize, serde::Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct WrapperSpec {
    /// The floor may pass it when its inner command passes.
    #[serde(default)]
    pub floor: bool,
    /// Its flags, as for a floor program (only `short*`, `long*` are read).
    #[serde(flatten)]
    pub flags: WrapperFlags,
    /// Flags the floor refuses even though they are known (time's `-o`).
    #[serde(default)]
    pub not_read_only: Vec<String>,
    /// `NAME=value` words may stand before the command (env).
    #[serde(default)]
    pub assignments: bool,
    /// Words after the flags and before the command (timeout's duration).
    #[serde(default)]
    pub positionals: usize,
    /// Options end at the first operand (POSIX), rather than anywhere.
    #[serde(default = "yes")]
    pub options_first: bool,
}

fn yes() -> bool {
    true
}

/// The flag lists of a wrapper.
#[derive(Debug, Clone, Deserialize, serde::Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct WrapperFlags {
    #[serde(default)]
    pub short: String,
    #[serde(default)]
    pub short_arg: String,
    #[serde(default)]
    pub short_optional: String,
    #[serde(default)]
    pub long: Vec<String>,
    #[serde(default)]
    pub long_arg: Vec<String>,
    #[serde(default)]
    pub long_optional: Vec<String>,
    /// A `-NUMBER` flag (nice -10).
    #[serde(default)]
    pub numeric: bool,
}

impl WrapperFlags {
    /// As a program spec, for the shared flag walker.
    pub fn as_spec(&self) -> ProgramSpec {
        ProgramSpec {
            short: self.short.clone(),
            short_arg: self.short_arg.clone(),
            short_optional: self.short_optional.clone(),
            long: self.long.clone(),
            long_arg: self.long_arg.clone(),
            long_optional: self.long_optional.clone(),
            numeric: self.numeric,
            ..Default::default()
        }
    }
}

/// The wrapper table, embedded in the binary.
pub const WRAPPERS_TOML: &str = include_str!("../../policies/wrappers.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WrapperFile {
    wrapper: BTreeMap<String, WrapperSpec>,
}

/// A wrapper with its flags ready for the walker.
pub struct Wrapper {
    pub spec: WrapperSpec,
    pub flags: ProgramSpec,
}

static WRAPPERS: OnceLock<BTreeMap<String, Wrapper>> = OnceLock::new();

/// The wrapper table, parsed once per process. A broken embedded table is a
/// build defect (a unit test parses it); an empty table only makes the floor
/// stricter, since no wrapper then passes.
pub fn wrappers() -> &'static BTreeMap<String, Wrapper> {
    WRAPPERS.get_or_init(|| {
        let file: WrapperFile = toml::from_str(WRAPPERS_TOML).unwrap_or(WrapperFile { wrapper: BTreeMap::new() });
        file.wrapper
            .into_iter()
            .map(|(name, spec)| {
                let flags = spec.flags.as_spec();
                (name, Wrapper { spec, flags })
            })
            .collect()
    })
}

/// The wrapper named `name` (a path's last component counts: `/usr/bin/env`).
/// A name with no `[wrapper.NAME]` table in the file is none, without
/// parsing the table: most words are not wrappers, and the hook would
/// otherwise parse the TOML on every call.
pub fn wrapper(name: &str) -> Option<&'static Wrapper> {
    let name = name.rsplit('/').next().unwrap_or(name);
    if !names_a_wrapper_table(name) {
        return None;
    }
    wrappers().get(name)
}

/// Does the embedded file have a `[wrapper.NAME]` header line? Every key of
/// the table is written so (a unit test holds the file to it).
fn names_a_wrapper_table(name: &str) -> bool {
    WRAPPERS_TOML.lines().any(|l| l.strip_prefix("[wrapper.").and_then(|r| r.strip_suffix(']')) == Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wrapper_is_written_as_a_header_the_fast_check_finds() {
        let file: WrapperFile = toml::from_str(WRAPPERS_TOML).expect("policies/wrappers.toml must parse");
        for name in file.wrapper.keys() {
            assert!(
                names_a_wrapper_table(name),
                "write the table of {name} as `[wrapper.{name}]` on a line of its own"
            );
            assert!(wrapper(name).is_some() && wrapper(&format!("/usr/bin/{name}")).is_some(), "{name}");
        }
        for name in ["ls", "git", "wrapper", "env2", "", "sudo]"] {
            assert!(wrapper(name).is_none(), "{name:?} is no wrapper");
        }
    }

    #[test]
    fn the_wrapper_table_parses_and_every_floor_wrapper_is_in_the_floor() {
        let file: WrapperFile = toml::from_str(WRAPPERS_TOML).expect("policies/wrappers.toml must parse");
        assert!(file.wrapper.contains_key("sudo") && file.wrapper.contains_key("env"));
        let floor: super::super::Floor = toml::from_str(super::super::FLOOR_TOML).expect("floor parses");
        for (name, w) in &file.wrapper {
            let in_floor = floor.program.get(name).is_some_and(|p| p.check == Some(SpecialCheck::Wrapper));
            assert_eq!(
                w.floor, in_floor,
                "{name}: `floor = true` in wrappers.toml iff floor.toml lists it as a wrapper"
            );
        }
        for (name, p) in &floor.program {
            if p.check == Some(SpecialCheck::Wrapper) {
                assert!(file.wrapper.contains_key(name), "{name} is a floor wrapper but not in wrappers.toml");
            }
        }
    }

    #[test]
    fn an_unknown_check_name_is_refused() {
        let err = toml::from_str::<ProgramSpec>("reason = \"x\"\ncheck = \"fnd\"\n").unwrap_err();
        assert!(err.to_string().contains("unknown variant"), "{err}");
    }

    #[test]
    fn no_flag_is_listed_with_two_arities() {
        let floor: super::super::Floor = toml::from_str(super::super::FLOOR_TOML).expect("floor parses");
        fn walk(name: &str, p: &ProgramSpec) {
            let flags = p.flags();
            for (i, (f, a)) in flags.iter().enumerate() {
                if let Some((_, b)) = flags[i + 1..].iter().find(|(g, _)| g == f) {
                    panic!("{name} {f} is listed as {a:?} and as {b:?}");
                }
            }
            for (sub, s) in &p.sub {
                walk(&format!("{name} {sub}"), s);
            }
        }
        for (name, p) in &floor.program {
            walk(name, p);
        }
    }
}
