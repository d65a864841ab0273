//! jq: the filter is code. It passes when it is literal and loads no module
//! (`import`, `include`, `modulemeta`, `-L`) and reads no environment (`env`,
//! `$ENV`, the tokens that make bare `env` ask); a filter from a file (`-f`)
//! asks, since the file can import modules gate never sees. Files named by
//! `--rawfile`/`--slurpfile` and the inputs are checked for secrets.

use super::flags::walk;
use super::operands::{check_paths, OperandRules, Recursion};
use super::spec::ProgramSpec;
use super::{Env, Floor};
use crate::shell::Word;

pub(super) fn check_jq(floor: &Floor, spec: &ProgramSpec, args: &[&Word], env: &Env<'_>) -> Result<(), String> {
    // --arg/--argjson/--rawfile/--slurpfile take two values each, which no
    // getopt arity says: take them out before the walk.
    let mut rest: Vec<&Word> = Vec::new();
    let mut files: Vec<&Word> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let t = args[i].text.as_str();
        match t {
            "--arg" | "--argjson" => i += 3,
            "--rawfile" | "--slurpfile" => {
                if let Some(f) = args.get(i + 2) {
                    files.push(f);
                }
                i += 3;
            }
            "-f" | "--from-file" => {
                return Err("`jq -f` runs a filter from a file, which can import modules gate cannot see".into())
            }
            "-L" | "--library-path" => return Err(format!("`jq {t}` loads modules, which can read any JSON file")),
            _ if t.starts_with("--from-file") || t.starts_with("-L") || t.starts_with("--library-path") => {
                return Err(format!("`jq {t}` loads a filter or modules from files"))
            }
            _ => {
                rest.push(args[i]);
                i += 1;
            }
        }
    }
    let parsed = walk("jq", spec, &rest, false)?;
    let mut operands = parsed.operands.clone();
    if let Some(filter) = operands.first() {
        if !filter.literal {
            return Err(format!("`jq`: the filter `{}` is computed at run time", filter.raw));
        }
        check_filter(&filter.text)?;
        operands.remove(0);
    }
    check_paths(floor, "jq", &files, env, OperandRules::strict(), Recursion::No)?;
    check_paths(
        floor,
        "jq",
        &operands,
        env,
        OperandRules::of(spec.harmless_flags, parsed.protected_from),
        Recursion::No,
    )
}

/// A jq filter that loads modules or reads the environment.
fn check_filter(filter: &str) -> Result<(), String> {
    for word in ["import", "include", "modulemeta", "get_search_list", "input_filename"] {
        if contains_word(filter, word) {
            return Err(format!("`jq` filter uses `{word}`, which loads modules or names files"));
        }
    }
    // jq's grammar allows blanks between `$` and a name (`$ ENV`).
    let squeezed: String = filter.split('$').map(|part| part.trim_start()).collect::<Vec<_>>().join("$");
    if squeezed.contains("$ENV") || contains_word(filter, "env") || squeezed.contains("$__loc__") {
        return Err("`jq` filter reads the environment (`env`, `$ENV`), which can hold API keys and tokens".into());
    }
    Ok(())
}

/// `word` as a whole identifier in `s` (not part of `environment`).
fn contains_word(s: &str, word: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    s.match_indices(word).any(|(k, _)| {
        let before = s[..k].chars().next_back();
        let after = s[k + word.len()..].chars().next();
        !before.is_some_and(|c| ident(c) || c == '$' || c == '.') && !after.is_some_and(ident)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn filters_that_load_or_read_the_environment() {
        let cases: &[(&str, bool)] = &[
            (".a", true),
            (".environment", true),
            ("env", false),
            ("env.HOME", false),
            ("$ENV.GH_TOKEN", false),
            (".[] | env", false),
            ("import \"x\" as x; .", false),
            ("include \"x\"; .", false),
            (".include", true),
            ("{env: 1}", false),
            ("$ ENV", false),
            ("$\n ENV.HOME", false),
        ];
        for (f, ok) in cases {
            assert_eq!(super::check_filter(f).is_ok(), *ok, "{f}");
        }
    }
}
