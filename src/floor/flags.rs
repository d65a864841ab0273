//! The one flag walker of the floor. Every program's words, a wrapper's
//! own flags and git's global options are read here, by the arity each flag
//! has in the data ([`Arity`]): a flag that takes no value never swallows
//! the next word, an optional value is only ever attached, and a flag that
//! is not listed, an abbreviation or a bundle with one unknown letter is an
//! error. The walker decides nothing about values and operands; the callers
//! check those.

use super::spec::{Arity, ProgramSpec};
use crate::shell::Word;

/// What the walker found.
#[derive(Default, Debug)]
pub struct Parsed<'a> {
    /// Long and short flags seen, as `--name` / `-x` (whole words as written).
    pub flags: Vec<String>,
    /// Values given as the next word, with their flag.
    pub values: Vec<(String, &'a Word)>,
    /// Values given attached (`--name=value`, `-nVALUE`), with their flag.
    pub inline_values: Vec<(String, String)>,
    pub operands: Vec<&'a Word>,
    /// Operands from this index on came after `--`: they cannot be flags.
    pub protected_from: usize,
    /// With `options_first`: the index in the arguments of the first word
    /// after the options (the first operand, or after `--`).
    pub rest: usize,
}

impl Parsed<'_> {
    pub fn has(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    /// Whether any of `flags` was given, or `flag=value` for an entry of the
    /// form `flag=value` (`--directories=recurse`).
    pub fn has_any(&self, flags: &[String]) -> bool {
        flags.iter().any(|f| match f.split_once('=') {
            Some((flag, want)) => self.value_is(flag, want),
            None => self.has(f),
        })
    }

    /// Whether `flag` was given the value `want`, attached or not, or an
    /// abbreviation of it (GNU argmatch takes `-d rec` for `-d recurse`).
    pub fn value_is(&self, flag: &str, want: &str) -> bool {
        let matches = |v: &str| !v.is_empty() && want.starts_with(v);
        self.values.iter().any(|(f, v)| f == flag && matches(&v.text))
            || self.inline_values.iter().any(|(f, v)| f == flag && matches(v))
    }

    /// Every value given to `flag`, as text.
    pub fn values_of<'s>(&'s self, flag: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.values
            .iter()
            .filter(move |(f, _)| f == flag)
            .map(|(_, v)| v.text.as_str())
            .chain(self.inline_values.iter().filter(move |(f, _)| f == flag).map(|(_, v)| v.as_str()))
    }
}

/// Walk `args` by `spec`'s flags. GNU tools accept options after operands,
/// so every word is looked at until `--`, unless `options_first` (POSIX:
/// options end at the first operand, as wrappers and git's global options
/// parse them).
pub fn walk<'a>(name: &str, spec: &ProgramSpec, args: &[&'a Word], options_first: bool) -> Result<Parsed<'a>, String> {
    let mut p = Parsed { protected_from: usize::MAX, rest: args.len(), ..Default::default() };
    let mut i = 0;
    let mut only_operands = false;
    while i < args.len() {
        let w = args[i];
        let t = w.text.as_str();
        if only_operands || !t.starts_with('-') || t == "-" {
            if options_first {
                p.rest = i;
                return Ok(p);
            }
            p.operands.push(w);
            i += 1;
            continue;
        }
        i += 1;
        if !w.literal && !quoted_flag_value(w) {
            return Err(format!("`{name}`: the flag `{}` is computed at run time", w.raw));
        }
        if t == "--" {
            only_operands = true;
            p.protected_from = p.operands.len();
            if options_first {
                p.rest = i;
                return Ok(p);
            }
            continue;
        }
        if let Some(a) = spec.word_arity(t) {
            p.flags.push(t.to_string());
            if a == Arity::Required {
                i = take_value(&mut p, name, t.to_string(), args, i)?;
            }
            continue;
        }
        if let Some(long) = t.strip_prefix("--") {
            let (flag, inline) = match long.split_once('=') {
                Some((f, v)) => (f, Some(v)),
                None => (long, None),
            };
            let key = format!("--{flag}");
            let Some(arity) = spec.long_arity(flag) else {
                return Err(format!(
                    "`{name} --{flag}` is not known to be read-only (gate allowlists flags, and abbreviations are not expanded)"
                ));
            };
            p.flags.push(key.clone());
            match (arity, inline) {
                (Arity::None, Some(_)) => return Err(format!("`{name} --{flag}` takes no value")),
                (Arity::None, None) | (Arity::OptionalAttached, None) => {}
                (_, Some(v)) => p.inline_values.push((key, v.to_string())),
                (Arity::Required, None) => i = take_value(&mut p, name, key, args, i)?,
                (Arity::OptionalNext, None) => {
                    if args.get(i).is_some_and(|v| !v.text.starts_with('-')) {
                        i = take_value(&mut p, name, key, args, i)?;
                    }
                }
            }
            continue;
        }
        let short = &t[1..];
        if spec.numeric && short.chars().all(|c| c.is_ascii_digit()) {
            p.flags.push("-NUM".into());
            continue;
        }
        let chars: Vec<char> = short.chars().collect();
        if spec.no_bundles && chars.len() > 1 && !(spec.numeric && chars.iter().all(char::is_ascii_digit)) {
            return Err(format!("`{name} {t}`: {name} reads bundled flags its own way; write each flag alone"));
        }
        let mut j = 0;
        while j < chars.len() {
            let c = chars[j];
            j += 1;
            match spec.short_arity(c) {
                Some(Arity::Required) => {
                    p.flags.push(format!("-{c}"));
                    if j == chars.len() {
                        i = take_value(&mut p, name, format!("-{c}"), args, i)?;
                    } else {
                        p.inline_values.push((format!("-{c}"), chars[j..].iter().collect()));
                    }
                    break;
                }
                Some(Arity::OptionalAttached) | Some(Arity::OptionalNext) => {
                    p.flags.push(format!("-{c}"));
                    if j < chars.len() {
                        p.inline_values.push((format!("-{c}"), chars[j..].iter().collect()));
                    }
                    break;
                }
                Some(Arity::None) => p.flags.push(format!("-{c}")),
                None if spec.numeric && c.is_ascii_digit() => {}
                None => return Err(format!("`{name} -{c}` is not known to be read-only (in `{t}`)")),
            }
        }
    }
    Ok(p)
}

/// Take the next word as a flag's value.
fn take_value<'a>(p: &mut Parsed<'a>, name: &str, flag: String, args: &[&'a Word], i: usize) -> Result<usize, String> {
    match args.get(i) {
        Some(v) => {
            p.values.push((flag, v));
            Ok(i + 1)
        }
        None => Err(format!("`{name} {flag}` needs a value")),
    }
}

/// Long flags whose value is data (never a file name), so a computed value
/// is harmless: `git log --author="$(git config user.name)"`.
const DATA_FLAGS: &[&str] =
    &["author", "committer", "grep", "format", "pretty", "since", "until", "before", "after", "date", "label"];

/// `--name="$(...)"`: a data flag with a quoted computed value.
fn quoted_flag_value(w: &Word) -> bool {
    let Some(rest) = w.raw.strip_prefix("--") else { return false };
    let Some((name, value)) = rest.split_once('=') else { return false };
    DATA_FLAGS.contains(&name) && super::expansions_quoted(value) && !w.has_glob && !w.has_brace
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Word {
        Word { text: s.into(), raw: s.into(), literal: true, ..Default::default() }
    }

    fn spec() -> ProgramSpec {
        ProgramSpec {
            short: "ab".into(),
            short_arg: "n".into(),
            short_optional: "I".into(),
            long: vec!["all".into()],
            long_arg: vec!["width".into()],
            long_optional: vec!["color".into()],
            long_optional_next: vec!["contains".into()],
            words: vec!["-print".into()],
            words_arg: vec!["-name".into()],
            numeric: true,
            ..Default::default()
        }
    }

    /// (arguments, operands the walker finds, or the start of its error)
    #[test]
    fn each_arity_takes_what_the_real_parser_takes() {
        let cases: &[(&str, Result<&[&str], &str>)] = &[
            ("-a x", Ok(&["x"])),
            ("-ab x", Ok(&["x"])),
            ("-n 5 x", Ok(&["x"])),
            ("-n5 x", Ok(&["x"])),
            ("-an5 x", Ok(&["x"])),
            ("-I x", Ok(&["x"])),
            ("-Ifoo x", Ok(&["x"])),
            ("--all x", Ok(&["x"])),
            ("--all=1 x", Err("`p --all` takes no value")),
            ("--width 3 x", Ok(&["x"])),
            ("--width=3 x", Ok(&["x"])),
            ("--color x", Ok(&["x"])),
            ("--color=always x", Ok(&["x"])),
            ("--contains v x", Ok(&["x"])),
            ("--contains -a x", Ok(&["x"])),
            ("-print x", Ok(&["x"])),
            ("-name n x", Ok(&["x"])),
            ("-5 x", Ok(&["x"])),
            ("-- -a", Ok(&["-a"])),
            ("--wid=3", Err("`p --wid` is not known")),
            ("-ac", Err("`p -c` is not known")),
            ("-n", Err("`p -n` needs a value")),
            ("--width", Err("`p --width` needs a value")),
        ];
        for (args, want) in cases {
            let words: Vec<Word> = args.split(' ').map(lit).collect();
            let refs: Vec<&Word> = words.iter().collect();
            let got = walk("p", &spec(), &refs, false);
            match (want, got) {
                (Ok(ops), Ok(p)) => {
                    let got: Vec<&str> = p.operands.iter().map(|w| w.text.as_str()).collect();
                    assert_eq!(&got, ops, "{args}");
                }
                (Err(e), Err(g)) => assert!(g.starts_with(e), "{args}: {g}"),
                (w, g) => panic!("{args}: wanted {w:?}, got {g:?}"),
            }
        }
    }

    #[test]
    fn options_first_stops_at_the_first_operand() {
        let words: Vec<Word> = "-a -n 3 cmd -b".split(' ').map(lit).collect();
        let refs: Vec<&Word> = words.iter().collect();
        let p = walk("w", &spec(), &refs, true).unwrap();
        assert_eq!(p.rest, 3);
        assert!(p.operands.is_empty());
    }
}
