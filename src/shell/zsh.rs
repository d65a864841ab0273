//! What a command line means in zsh where that differs from bash in a way the read-only floor
//! cares about. [`difference`] scans the source as zsh would tokenize it (quotes, `$(..)`,
//! backticks, `${..}`, arithmetic, here-documents) and also looks at the bash [`Analysis`];
//! it returns the first construct whose zsh meaning differs (a glob qualifier that can run
//! code, `=cmd`, `$~x`, `$x[..]`, `$x:h`, `**/`, `<1-9>`, a command of redirections only, `cd
//! OLD NEW`, an assignment to a zsh special parameter such as `commands` or `options`...) as a
//! reason, or `None` when none is found. It is conservative: a construct that may differ
//! counts. Every entry was checked against zsh 5.9, both as `zsh -c` with default options and as
//! Claude Code 2.1.328 runs it (`docs/shells.md`). Pure code, no I/O, bounded recursion.

use super::Analysis;

/// Deeper nesting than this is reported rather than followed.
const MAX_DEPTH: usize = 64;

/// zsh's history modifiers: `$x:h`, `$x:t`, `$x:l`... (`$image:latest` lower-cases `$image`).
const MODIFIERS: &str = "aAcehlpPqQrsStuxgwW&";

/// Parameters zsh gives a special meaning that bash does not: assigning them changes which
/// program a name runs (`commands`, `path`, `functions`, `aliases`), the shell's options
/// (`options`), the directory stack (`dirstack`), what a line of redirections runs
/// (`NULLCMD`, `READNULLCMD`), or which hooks run.
const SPECIAL_PARAMETERS: &[&str] = &[
    "aliases",
    "builtins",
    "cdpath",
    "chpwd_functions",
    "commands",
    "dirstack",
    "dis_aliases",
    "dis_builtins",
    "dis_functions",
    "dis_functions_source",
    "dis_galiases",
    "dis_patchars",
    "dis_reswords",
    "dis_saliases",
    "fignore",
    "fpath",
    "functions",
    "functions_source",
    "galiases",
    "histchars",
    "history",
    "historywords",
    "mailpath",
    "manpath",
    "module_path",
    "modules",
    "nameddirs",
    "options",
    "parameters",
    "patchars",
    "path",
    "periodic_functions",
    "precmd_functions",
    "preexec_functions",
    "prompt",
    "psvar",
    "reswords",
    "saliases",
    "userdirs",
    "usergroups",
    "watch",
    "zsh_directory_name_functions",
    "zshaddhistory_functions",
    "zshexit_functions",
    "FPATH",
    "NULLCMD",
    "READNULLCMD",
    "TMPPREFIX",
];

/// The first construct of `src` whose meaning in zsh differs from bash's, as a reason; `None`
/// when there is none. `analysis` is the bash analysis of the same `src`.
pub fn difference(src: &str, analysis: &Analysis) -> Option<String> {
    let mut scan = Scan { b: src.chars().collect(), i: 0, depth: 0, heredocs: Vec::new() };
    if let Err(reason) = scan.code(Close::End) {
        return Some(reason);
    }
    for c in &analysis.commands {
        for a in &c.assignments {
            let name: String = a.chars().take_while(|ch| ch.is_ascii_alphanumeric() || *ch == '_').collect();
            if SPECIAL_PARAMETERS.contains(&name.as_str()) {
                return Some(format!(
                    "`{}` assigns `{name}`, which is special in zsh (it can change which program a name runs, \
                     the shell's options or its directories)",
                    super::short(a)
                ));
            }
        }
        let words: Vec<&str> = c.argv.iter().map(|w| w.text.as_str()).collect();
        // zsh's read takes other flags than bash's (`-n`, `-t`, `-p` take no
        // separate value there, so the next word is the variable it sets).
        if let ["read", rest @ ..] = words.as_slice() {
            if let Some(f) = rest.iter().find(|w| w.starts_with('-') && **w != "-r") {
                return Some(format!("zsh's `read {f}` parses its flags differently from bash's"));
            }
        }
        if let [name @ ("cd" | "pushd" | "chdir"), rest @ ..] = words.as_slice() {
            let mut operands = Vec::new();
            let mut options_done = false;
            for w in rest {
                if !options_done && *w == "--" {
                    options_done = true;
                } else if options_done || !w.starts_with('-') || *w == "-" || is_stack_index(w) {
                    operands.push(*w);
                }
            }
            if let Some(w) = operands.iter().find(|w| is_stack_index(w)) {
                return Some(format!("in zsh, `{name} {w}` changes to an entry of the directory stack"));
            }
            if operands.len() >= 2 {
                return Some(format!(
                    "in zsh, `{name} {} {}` replaces the first in the current directory's path with the second \
                     and changes there",
                    operands[0], operands[1]
                ));
            }
        }
    }
    None
}

/// `+2`, `-1`: a directory-stack entry for zsh's `cd` and `pushd`.
fn is_stack_index(w: &str) -> bool {
    w.len() > 1 && (w.starts_with('+') || w.starts_with('-')) && w[1..].chars().all(|c| c.is_ascii_digit())
}

/// What ends the code being scanned.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Close {
    End,
    Paren,
    Backtick,
}

/// The simple command being scanned.
#[derive(Default)]
struct Command {
    word: String,
    in_word: bool,
    /// It has a word that is neither an assignment nor a redirection's target.
    has_word: bool,
    redirected: bool,
    /// The next word is a redirection's target.
    target: bool,
    redirect_at: usize,
}

impl Command {
    fn end_word(&mut self) -> Found {
        if self.in_word {
            if self.target {
                self.target = false;
            } else if self.has_word || !is_assignment(&self.word) {
                self.has_word = true;
            } else if let Some(name) = special_assigned(&self.word) {
                return Err(format!(
                    "`{name}=` assigns a parameter that is special in zsh (it can change which program a name \
                     runs, the shell's options or its directories)"
                ));
            }
        }
        self.in_word = false;
        self.word.clear();
        Ok(())
    }

    fn end_command(&mut self, scan: &Scan) -> Found {
        self.end_word()?;
        if self.redirected && !self.has_word {
            return Err(format!(
                "in zsh, a command of redirections only (`{}`) runs $READNULLCMD (a pager) or $NULLCMD (`cat`) on \
                 them",
                scan.snippet(self.redirect_at, 40).trim_end()
            ));
        }
        *self = Command::default();
        Ok(())
    }
}

struct Scan {
    b: Vec<char>,
    i: usize,
    depth: usize,
    /// Here-documents whose bodies start at the next newline: (delimiter, quoted, strip tabs).
    heredocs: Vec<(String, bool, bool)>,
}

type Found = Result<(), String>;

fn is_name_start(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `NAME=`, `NAME+=`, `NAME[..]=`: the start of an assignment word.
fn is_assignment_prefix(word: &str) -> bool {
    let name_len = word.chars().take_while(|c| is_name_char(*c)).count();
    if name_len == 0 || word.starts_with(|c: char| c.is_ascii_digit()) {
        return false;
    }
    let rest = &word[name_len..];
    let rest = if rest.starts_with('[') { rest.find(']').map_or("", |e| &rest[e + 1..]) } else { rest };
    rest == "=" || rest == "+="
}

/// The name a `NAME=...` word assigns, when zsh gives it a special meaning.
fn special_assigned(word: &str) -> Option<&str> {
    let name_len = word.chars().take_while(|c| is_name_char(*c)).count();
    let name = &word[..name_len];
    SPECIAL_PARAMETERS.contains(&name).then_some(name)
}

fn is_assignment(word: &str) -> bool {
    let name_len = word.chars().take_while(|c| is_name_char(*c)).count();
    name_len > 0 && !word.starts_with(|c: char| c.is_ascii_digit()) && {
        let rest = &word[name_len..];
        let rest = if rest.starts_with('[') { rest.find(']').map_or("", |e| &rest[e + 1..]) } else { rest };
        rest.starts_with('=') || rest.starts_with("+=")
    }
}

impl Scan {
    fn at(&self, k: usize) -> Option<char> {
        self.b.get(self.i + k).copied()
    }

    fn snippet(&self, from: usize, len: usize) -> String {
        let end = (from + len).min(self.b.len());
        super::short(&self.b[from..end].iter().collect::<String>())
    }

    fn enter(&mut self) -> Found {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("the command line nests too deeply to check how zsh reads it".into());
        }
        Ok(())
    }

    /// Code: commands until `close` (or the end of the input).
    fn code(&mut self, close: Close) -> Found {
        self.enter()?;
        let mut cmd = Command::default();
        loop {
            let Some(c) = self.at(0) else {
                cmd.end_command(self)?;
                self.depth -= 1;
                return Ok(());
            };
            match c {
                '\n' => {
                    cmd.end_command(self)?;
                    self.i += 1;
                    self.heredoc_bodies()?;
                }
                ' ' | '\t' => {
                    cmd.end_word()?;
                    self.i += 1;
                }
                '&' if self.at(1) == Some('>') => {
                    cmd.end_word()?;
                    cmd.redirect_at = self.i;
                    self.i += 2;
                    if self.at(0) == Some('>') {
                        self.i += 1;
                    }
                    cmd.redirected = true;
                    cmd.target = true;
                }
                ';' | '&' | '|' => {
                    cmd.end_command(self)?;
                    self.i += 1;
                }
                '<' | '>' => {
                    if c == '<' {
                        self.numeric_glob()?;
                    }
                    if self.at(1) == Some('(') {
                        // `<(..)`, `>(..)`: a word holding a process substitution.
                        self.i += 2;
                        self.code(Close::Paren)?;
                        cmd.in_word = true;
                        cmd.word.push('p');
                        continue;
                    }
                    if cmd.in_word && cmd.word.chars().all(|d| d.is_ascii_digit()) {
                        // `2>`: the descriptor number is part of the operator.
                        cmd.in_word = false;
                        cmd.word.clear();
                    }
                    cmd.end_word()?;
                    cmd.redirect_at = self.i;
                    cmd.redirected = true;
                    let rest: String = self.b[self.i..(self.i + 3).min(self.b.len())].iter().collect();
                    if rest.starts_with("<<<") {
                        self.i += 3;
                        cmd.target = true;
                    } else if rest.starts_with("<<") {
                        self.i += 2;
                        let strip = self.at(0) == Some('-');
                        if strip {
                            self.i += 1;
                        }
                        self.heredoc_delimiter(strip);
                    } else {
                        self.i += 1;
                        if matches!(self.at(0), Some('>' | '&' | '|' | '!')) {
                            self.i += 1;
                        }
                        cmd.target = true;
                    }
                }
                '(' => {
                    if cmd.in_word {
                        if cmd.word == "=" {
                            return Err(format!(
                                "in zsh, `{}` is a process substitution through a temporary file",
                                self.snippet(self.i - 1, 30)
                            ));
                        }
                        if !is_assignment_prefix(&cmd.word) {
                            return Err(format!(
                                "in zsh, `(` inside the cmd.word `{}` starts a glob qualifier or group \
                                 (a qualifier such as `*(e:cmd:)` runs code)",
                                self.word_around(self.i)
                            ));
                        }
                        // `a=(x y)`: the elements are words like any others.
                        self.i += 1;
                        self.code(Close::Paren)?;
                        cmd.word.push(')');
                    } else if self.at(1) == Some('(') {
                        self.i += 2;
                        self.arith()?;
                        cmd.in_word = true;
                        cmd.word.push('a');
                    } else {
                        self.i += 1;
                        self.code(Close::Paren)?;
                        cmd.has_word = true;
                    }
                }
                ')' => {
                    cmd.end_command(self)?;
                    self.i += 1;
                    if close == Close::Paren {
                        self.depth -= 1;
                        return Ok(());
                    }
                }
                '`' => {
                    self.i += 1;
                    if close == Close::Backtick {
                        cmd.end_command(self)?;
                        self.depth -= 1;
                        return Ok(());
                    }
                    self.code(Close::Backtick)?;
                    cmd.in_word = true;
                    cmd.word.push('b');
                }
                '\\' => {
                    self.i += 2;
                    cmd.in_word = true;
                    cmd.word.push('q');
                }
                '\'' => {
                    self.i += 1;
                    while let Some(d) = self.at(0) {
                        self.i += 1;
                        if d == '\'' {
                            break;
                        }
                    }
                    cmd.in_word = true;
                    cmd.word.push('q');
                }
                '"' => {
                    self.i += 1;
                    self.dquote()?;
                    cmd.in_word = true;
                    cmd.word.push('q');
                }
                '$' => {
                    self.dollar(false)?;
                    cmd.in_word = true;
                    cmd.word.push('v');
                }
                '#' if !cmd.in_word => {
                    while self.at(0).is_some_and(|d| d != '\n') {
                        self.i += 1;
                    }
                }
                '=' if !cmd.in_word && (is_name_start(self.at(1)) || self.at(1) == Some('(')) => {
                    if self.at(1) == Some('(') {
                        return Err(format!(
                            "in zsh, `{}` is a process substitution through a temporary file",
                            self.snippet(self.i, 30)
                        ));
                    }
                    return Err(format!(
                        "in zsh, `{}` expands to the path of the program `{}`",
                        self.word_around(self.i),
                        self.word_around(self.i + 1)
                    ));
                }
                '~' if !cmd.in_word && self.at(1) == Some('[') => {
                    return Err(format!(
                        "in zsh, `{}` is a dynamic named directory, which calls a shell function",
                        self.word_around(self.i)
                    ));
                }
                '*' if self.at(1) == Some('*')
                    && (self.at(2) == Some('/') || (self.at(2) == Some('*') && self.at(3) == Some('/'))) =>
                {
                    return Err(format!(
                        "in zsh, `{}` matches files in every subdirectory, recursively",
                        self.word_around(self.i)
                    ));
                }
                _ => {
                    cmd.word.push(c);
                    cmd.in_word = true;
                    self.i += 1;
                }
            }
        }
    }

    /// The unquoted word (approximately) around position `at`, for a reason.
    fn word_around(&self, at: usize) -> String {
        let stop = |c: char| c.is_whitespace() || matches!(c, ';' | '&' | '|' | '<' | '>');
        let mut s = at.min(self.b.len());
        while s > 0 && !stop(self.b[s - 1]) {
            s -= 1;
        }
        let mut e = at.min(self.b.len());
        while e < self.b.len() && !stop(self.b[e]) {
            e += 1;
        }
        super::short(&self.b[s..e].iter().collect::<String>())
    }

    /// `<1-9>`, `<->`: zsh's numeric-range glob (bash reads redirections).
    fn numeric_glob(&self) -> Found {
        let mut k = 1;
        while self.at(k).is_some_and(|c| c.is_ascii_digit()) {
            k += 1;
        }
        if self.at(k) != Some('-') {
            return Ok(());
        }
        k += 1;
        while self.at(k).is_some_and(|c| c.is_ascii_digit()) {
            k += 1;
        }
        if self.at(k) == Some('>') {
            return Err(format!(
                "in zsh, `{}` is a numeric-range glob, not a redirection",
                self.snippet(self.i, k + 1)
            ));
        }
        Ok(())
    }

    /// Reads the delimiter word of `<<` and queues its body.
    fn heredoc_delimiter(&mut self, strip: bool) {
        while matches!(self.at(0), Some(' ' | '\t')) {
            self.i += 1;
        }
        let mut delim = String::new();
        let mut quoted = false;
        while let Some(c) = self.at(0) {
            if c.is_whitespace() || matches!(c, ';' | '&' | '|' | '<' | '>' | '(' | ')') {
                break;
            }
            self.i += 1;
            match c {
                '\'' | '"' => {
                    quoted = true;
                    while let Some(d) = self.at(0) {
                        self.i += 1;
                        if d == c {
                            break;
                        }
                        delim.push(d);
                    }
                }
                '\\' => {
                    quoted = true;
                    if let Some(d) = self.at(0) {
                        delim.push(d);
                        self.i += 1;
                    }
                }
                _ => delim.push(c),
            }
        }
        self.heredocs.push((delim, quoted, strip));
    }

    /// At the start of the line after `<<`s: skip their bodies; scan unquoted ones for
    /// expansions.
    fn heredoc_bodies(&mut self) -> Found {
        let pending = std::mem::take(&mut self.heredocs);
        for (delim, quoted, strip) in pending {
            while self.i < self.b.len() {
                let start = self.i;
                let end = self.b[start..].iter().position(|c| *c == '\n').map_or(self.b.len(), |p| start + p);
                let line: String = self.b[start..end].iter().collect();
                let line = if strip { line.trim_start_matches('\t') } else { line.as_str() };
                if line == delim {
                    self.i = (end + 1).min(self.b.len());
                    break;
                }
                if !quoted {
                    while self.i < end {
                        match self.b[self.i] {
                            '\\' => self.i += 2,
                            '$' => self.dollar(true)?,
                            '`' => {
                                self.i += 1;
                                self.code(Close::Backtick)?;
                            }
                            _ => self.i += 1,
                        }
                    }
                }
                self.i = self.i.max((end + 1).min(self.b.len()));
            }
        }
        Ok(())
    }

    /// Inside `".."`, up to the closing quote.
    fn dquote(&mut self) -> Found {
        while let Some(c) = self.at(0) {
            match c {
                '"' => {
                    self.i += 1;
                    return Ok(());
                }
                '\\' => self.i += 2,
                '$' => self.dollar(true)?,
                '`' => {
                    self.i += 1;
                    self.code(Close::Backtick)?;
                }
                _ => self.i += 1,
            }
        }
        Ok(())
    }

    /// At a `$`.
    fn dollar(&mut self, quoted: bool) -> Found {
        let start = self.i;
        match self.at(1) {
            Some('(') if self.at(2) == Some('(') => {
                self.i += 3;
                self.arith()
            }
            Some('(') => {
                self.i += 2;
                self.code(Close::Paren)
            }
            Some('{') => {
                self.i += 2;
                self.brace(start)
            }
            Some('[') => {
                self.i += 2;
                self.arith_until(']')
            }
            Some('\'') if !quoted => {
                self.i += 2;
                while let Some(c) = self.at(0) {
                    self.i += if c == '\\' { 2 } else { 1 };
                    if c == '\'' {
                        break;
                    }
                }
                Ok(())
            }
            Some('"') if !quoted => {
                self.i += 2;
                self.dquote()
            }
            Some(f @ ('~' | '=' | '^' | '+')) if is_name_start(self.at(2)) || self.at(2) == Some('{') => {
                let what = match f {
                    '~' => "expands the variable as a glob pattern (which can carry a qualifier that runs code)",
                    '=' => "splits the variable into words",
                    '^' => "expands the variable with each element joined to the text around it",
                    _ => "is 1 or 0: whether the variable is set",
                };
                Err(format!("in zsh, `{}` {what}", self.snippet(start, self.name_end(start + 2) - start)))
            }
            Some('#') if is_name_start(self.at(2)) => Err(format!(
                "in zsh, `{}` is the length of the variable",
                self.snippet(start, self.name_end(start + 2) - start)
            )),
            Some(c) if is_name_start(Some(c)) => {
                let end = self.name_end(start + 1);
                self.i = end;
                match self.at(0) {
                    Some('[') => Err(format!(
                        "in zsh, `{}[` is a subscript of the variable (bash reads a glob after it)",
                        self.snippet(start, end - start)
                    )),
                    Some(':') if self.at(1).is_some_and(|m| MODIFIERS.contains(m)) => Err(format!(
                        "in zsh, `{}` applies the modifier `:{}` to the variable",
                        self.snippet(start, end - start + 2),
                        self.at(1).unwrap_or(' ')
                    )),
                    _ => Ok(()),
                }
            }
            Some(_) => {
                self.i += 2;
                Ok(())
            }
            None => {
                self.i += 1;
                Ok(())
            }
        }
    }

    fn name_end(&self, from: usize) -> usize {
        let mut e = from;
        while e < self.b.len() && is_name_char(self.b[e]) {
            e += 1;
        }
        e
    }

    /// After `${`.
    fn brace(&mut self, start: usize) -> Found {
        self.enter()?;
        let what = |s: &Scan, why: &str| {
            let end = s.b[start..].iter().position(|c| *c == '}').map_or(s.b.len(), |p| start + p + 1);
            format!("in zsh, `{}` {why}", s.snippet(start, end - start))
        };
        match self.at(0) {
            Some('(') => return Err(what(self, "has parameter flags (`(e)` evaluates the value as code)")),
            Some('~' | '=' | '^' | '+') => return Err(what(self, "is a zsh-only expansion form")),
            Some('$') if matches!(self.at(1), Some('{' | '(')) => {
                return Err(what(self, "is a nested substitution"));
            }
            Some('#' | '!') if is_name_start(self.at(1)) => self.i += 1,
            _ => {}
        }
        if is_name_start(self.at(0)) || self.at(0).is_some_and(|c| c.is_ascii_digit()) {
            self.i = self.name_end(self.i);
        }
        match (self.at(0), self.at(1)) {
            (Some('['), Some('(')) => return Err(what(self, "has subscript flags")),
            (Some(':'), Some(m)) if MODIFIERS.contains(m) || "#|*^".contains(m) => {
                return Err(what(self, "applies a zsh modifier or array operator"));
            }
            _ => {}
        }
        // `${x:-=cmd}`: the word after the operator starts with `=`, a program's path in zsh.
        let op = if self.at(0) == Some(':') { 1 } else { 0 };
        if matches!(self.at(op), Some('-' | '+' | '=' | '?')) && self.at(op + 1) == Some('=') {
            return Err(what(self, "expands `=word` to a program's path"));
        }
        let mut depth = 0;
        while let Some(c) = self.at(0) {
            match c {
                '}' if depth == 0 => {
                    self.i += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                '}' => {
                    depth -= 1;
                    self.i += 1;
                }
                '{' => {
                    depth += 1;
                    self.i += 1;
                }
                '\\' => self.i += 2,
                '\'' => {
                    self.i += 1;
                    while let Some(d) = self.at(0) {
                        self.i += 1;
                        if d == '\'' {
                            break;
                        }
                    }
                }
                '"' => {
                    self.i += 1;
                    self.dquote()?;
                }
                '$' => self.dollar(false)?,
                '`' => {
                    self.i += 1;
                    self.code(Close::Backtick)?;
                }
                '(' => return Err(what(self, "has a `(` that zsh may read as a glob qualifier or group")),
                _ => self.i += 1,
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// After `$((` or `((`, up to the closing `))`.
    fn arith(&mut self) -> Found {
        self.enter()?;
        let mut depth = 0usize;
        while let Some(c) = self.at(0) {
            match c {
                '(' => {
                    depth += 1;
                    self.i += 1;
                }
                ')' if depth == 0 => {
                    self.i += if self.at(1) == Some(')') { 2 } else { 1 };
                    self.depth -= 1;
                    return Ok(());
                }
                ')' => {
                    depth -= 1;
                    self.i += 1;
                }
                '$' => self.dollar(true)?,
                '`' => {
                    self.i += 1;
                    self.code(Close::Backtick)?;
                }
                '\\' => self.i += 2,
                _ => self.i += 1,
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// After `$[`, up to `]`.
    fn arith_until(&mut self, close: char) -> Found {
        while let Some(c) = self.at(0) {
            match c {
                c if c == close => {
                    self.i += 1;
                    return Ok(());
                }
                '$' => self.dollar(true)?,
                _ => self.i += 1,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(src: &str) -> Option<String> {
        difference(src, &crate::shell::analyze(src))
    }

    /// (command line, differs in zsh, a word the reason must contain)
    const CASES: &[(&str, bool, &str)] = &[
        // Glob qualifiers and groups: `*(e:..:)` and `*(+cmd)` ran code under `zsh -c`.
        ("ls *(e:'touch x':)", true, "qualifier"),
        ("ls ?(e:'touch x':)", true, "qualifier"),
        ("ls *(oe:'touch x':)", true, "qualifier"),
        ("ls *(+touch)", true, "qualifier"),
        ("ls 'a'*(e:'touch x':)", true, "qualifier"),
        ("ls \"a\"(e:'touch x':)", true, "qualifier"),
        ("ls @(a|b)", true, "qualifier"),
        ("ls -d *(/)", true, "qualifier"),
        ("ls *(N)", true, "qualifier"),
        ("options=(bareglobqual on); ls *(e:'touch x':)", true, "options"),
        ("options=(bareglobqual on)", true, "options"),
        ("echo $(ls *(e:'touch x':))", true, "qualifier"),
        ("echo `ls *(e:'touch x':)`", true, "qualifier"),
        ("x=(*(e:'touch y':))", true, "qualifier"),
        // `=cmd` and `=(..)`.
        ("echo =touch", true, "path of the program"),
        ("cat =(touch x)", true, "process substitution"),
        ("echo ${y:-=touch}", true, "program's path"),
        // Parameter forms bash reads as text.
        ("y='*(e.touch x.)'; ls $~y", true, "glob pattern"),
        ("ls $=y", true, "splits"),
        ("echo $^y", true, "joined"),
        ("echo $+y", true, "set"),
        ("echo $#y", true, "length"),
        ("echo $y[1]", true, "subscript"),
        ("echo \"$y[1]\"", true, "subscript"),
        ("echo $HOME:h", true, "modifier"),
        ("docker pull \"$image:latest\"", true, "modifier"),
        ("echo ${(e)y}", true, "flags"),
        ("echo ${~y}", true, "zsh-only"),
        ("echo ${=y}", true, "zsh-only"),
        ("echo ${${y}}", true, "nested"),
        ("echo ${y[(r)a]}", true, "subscript flags"),
        ("echo ${y:h}", true, "modifier"),
        ("echo ${y:#pat}", true, "modifier"),
        ("ls ${y:-*(e:'touch x':)}", true, "qualifier"),
        // Globs.
        ("ls **/*.key", true, "recursively"),
        ("ls ***/x", true, "recursively"),
        ("ls <1-9>/dev/null", true, "numeric-range"),
        ("cat <->", true, "numeric-range"),
        ("echo ~[x]", true, "named directory"),
        // A command of redirections only runs $READNULLCMD (`more`), even one from the environment.
        ("< a", true, "redirections only"),
        ("<a", true, "redirections only"),
        ("y=1 <a", true, "redirections only"),
        ("ls; < .env", true, "redirections only"),
        ("2>/dev/null", true, "redirections only"),
        // `cd OLD NEW` substitutes in $PWD (it printed a secret through `cd proj .aws`).
        ("cd proj .aws && cat credentials", true, "replaces"),
        ("pushd p t", true, "replaces"),
        ("cd -q a b", true, "replaces"),
        ("cd +1", true, "directory stack"),
        // zsh's special parameters.
        ("commands=(ls /tmp/evil/ls); ls", true, "commands"),
        ("commands[ls]=/tmp/evil/ls; ls", true, "commands"),
        ("path[1]=/tmp/evil; ls", true, "path"),
        ("dirstack=(/x); popd", true, "dirstack"),
        ("READNULLCMD=sh; echo", true, "READNULLCMD"),
        ("functions[ls]='touch x'; ls", true, "functions"),
        // Here-document bodies are expanded when the delimiter is unquoted.
        ("cat <<EOF\n$y[1]\nEOF", true, "subscript"),
        // The same in both shells.
        ("ls -la", false, ""),
        ("git status && git log --oneline -5", false, ""),
        ("echo $HOME ${HOME} \"$HOME\" $1 $@ $# $? ${#y} ${y:-x} ${y%.txt}", false, ""),
        ("echo $PATH:/usr/bin ${PATH}:x $y: $y:1", false, ""),
        ("ls *.rs src/[ab]*.rs", false, ""),
        ("echo {a,b} a{b,c}d {1..3}", false, ""),
        ("echo $(( 2*(3+1) )) $((y))", false, ""),
        ("(( x = 2*(3) ))", false, ""),
        ("echo $(ls) `ls` $(echo $(pwd))", false, ""),
        ("diff <(ls a) <(ls b)", false, ""),
        ("x=(a b); echo ${x[1]}", false, ""),
        ("y=$(pwd); echo \"$y\"", false, ""),
        ("ls 2>/dev/null | head -3", false, ""),
        ("< a cat", false, ""),
        ("cat < a", false, ""),
        ("while read l; do echo \"$l\"; done < f", false, ""),
        ("{ ls; } > /dev/null", false, ""),
        ("(ls) < a", false, ""),
        ("cd src && ls", false, ""),
        ("cd - && cd && cd -- -x", false, ""),
        ("[ a = b ] && [[ x == y ]]", false, ""),
        ("echo '*(e:touch x:)' \"*(e:x:)\" \\(x\\)", false, ""),
        ("echo a # ls *(e:'touch x':)", false, ""),
        ("cat <<'EOF'\n$y[1] *(e:x:) < a\nEOF", false, ""),
        ("cat <<EOF\nplain $HOME text\nEOF\nls", false, ""),
        ("echo \"it's\" 'say \"hi\"' $'a\\'b'", false, ""),
        ("git log --format='%h %s' HEAD~3..HEAD", false, ""),
        ("echo a=b x==y", false, ""),
        ("case $x in a) ls;; (b) pwd;; esac", false, ""),
        ("f=~/x; echo ~ ~/a ~+", false, ""),
    ];

    #[test]
    fn the_table() {
        for (src, differs, word) in CASES {
            let got = check(src);
            assert_eq!(got.is_some(), *differs, "{src:?}: {got:?}");
            if let Some(reason) = got {
                assert!(reason.contains(word), "{src:?}: the reason names {word:?}: {reason}");
            }
        }
    }

    #[test]
    fn deep_nesting_is_reported_not_followed() {
        let src = "$(".repeat(5000);
        assert!(check(&src).is_some());
        let src = "${".repeat(5000);
        assert!(check(&src).is_some());
    }

    #[test]
    fn it_never_panics_on_cut_input() {
        for (src, _, _) in CASES {
            for cut in 0..src.len() {
                if src.is_char_boundary(cut) {
                    let _ = check(&src[..cut]);
                }
            }
        }
    }
}
