//! find: leading options, starting points, then an expression whose
//! primaries come from the data (`words` take no value, `words_arg` take
//! one). Anything else, `-delete`, `-exec`, `-fprint` among them, asks.

use super::operands::{check_paths, OperandRules, Recursion};
use super::spec::{Arity, ProgramSpec};
use super::{Env, Floor};
use crate::shell::Word;

pub(super) fn check_find(floor: &Floor, spec: &ProgramSpec, args: &[&Word], env: &Env<'_>) -> Result<(), String> {
    let mut i = 0;
    // Leading options.
    while i < args.len() && matches!(args[i].text.as_str(), "-H" | "-L" | "-P") {
        i += 1;
    }
    while i < args.len() && (args[i].text == "-D" || args[i].text.starts_with("-O")) {
        i += if args[i].text == "-D" { 2 } else { 1 };
    }
    // Starting points.
    let mut starts = Vec::new();
    while i < args.len() {
        let t = args[i].text.as_str();
        if t.starts_with('-') || t == "(" || t == "!" || t == ")" {
            break;
        }
        starts.push(args[i]);
        i += 1;
    }
    // find lists names; it reads no contents, so only starting points that
    // are themselves secret files matter.
    check_paths(floor, "find", &starts, env, OperandRules::strict(), Recursion::No)?;
    while i < args.len() {
        let w = args[i];
        if !w.literal && (w.has_expansion || w.has_brace) {
            return Err(format!("`find`: `{}` is computed at run time", w.raw));
        }
        let t = w.text.as_str();
        i += 1;
        match spec.word_arity(t) {
            Some(Arity::None) => continue,
            Some(_) => {
                if i >= args.len() {
                    return Err(format!("`find {t}` needs a value"));
                }
                i += 1;
                continue;
            }
            None => {}
        }
        return Err(match t {
            "-delete" => "`find -delete` deletes files".to_string(),
            "-exec" | "-execdir" | "-ok" | "-okdir" => format!("`find {t}` runs a command"),
            "-fprint" | "-fprint0" | "-fprintf" | "-fls" => format!("`find {t}` writes a file"),
            _ => format!("`find {t}` is not known to be read-only"),
        });
    }
    Ok(())
}
