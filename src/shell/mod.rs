//! Static analysis of a bash command line: [`analyze`] lists every simple command the input
//! would run (including ones nested in pipelines, lists, compound commands, `$(..)`, backticks,
//! `<(..)`, here-documents, assignments and redirect targets) and every construct that makes the
//! input impossible to judge statically ([`Opaque`]). It is pure code: no I/O, no environment,
//! no processes, and bounded work: inputs over [`MAX_INPUT_BYTES`] or nested deeper than the
//! limits below are reported as opaque instead of being parsed. See `docs/parser.md`.

mod brace;
mod guard;
mod lexer;
mod walk;
pub mod zsh;

#[cfg(test)]
mod tests;

/// Inputs larger than this many bytes are opaque without being parsed.
pub const MAX_INPUT_BYTES: usize = 64 * 1024;
/// Maximum nesting of command substitutions (`$(..)`, backticks, `<(..)`) analysed recursively.
pub const MAX_SUBSTITUTION_DEPTH: usize = 12;
/// Maximum nesting of compound commands (`(..)`, `{ ..; }`, `if`, `case`, loops, `[[ ]]`) and
/// runs of `!`, counted together, in one parse; bounds the parser's recursion and its
/// backtracking.
pub const MAX_COMPOUND_NESTING: usize = 24;
/// Maximum nesting of `(` operators in one parse (the parser backtracks exponentially on
/// unclosed runs of `(`; measured in `docs/parser.md`).
pub const MAX_PAREN_NESTING: usize = 12;
/// Maximum number of `$(`, `${` and `$[` openers in one input (bounds the tokenizer's
/// recursion whatever the quoting).
pub const MAX_EXPANSION_OPENERS: usize = 128;
/// Maximum number of tokens parsed over the whole analysis, nested substitutions included.
pub const MAX_TOTAL_TOKENS: usize = 24 * 1024;
/// Maximum number of bytes tokenized over the whole analysis, nested substitutions included.
pub const MAX_TOTAL_TOKENIZED_BYTES: usize = 2 * MAX_INPUT_BYTES;

/// The result of analysing one input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Analysis {
    /// Every simple command the input would run. A command comes before the commands nested
    /// in its own words (`echo $(id)` gives `echo`, then `id`); otherwise source order.
    pub commands: Vec<SimpleCommand>,
    /// Constructs that make the input not analysable as safe, each with a reason.
    pub opaque: Vec<Opaque>,
}

impl Analysis {
    /// True when nothing opaque was found: `commands` is then the complete list.
    pub fn is_fully_understood(&self) -> bool {
        self.opaque.is_empty()
    }
}

/// One simple command: `assignments... argv... redirects...`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimpleCommand {
    /// The words, after quote removal and line-continuation joining. Empty for a command
    /// made only of assignments and/or redirections (`x=1`, `> file`).
    pub argv: Vec<Word>,
    /// `NAME=value` prefixes (and bare assignment statements), raw text.
    pub assignments: Vec<String>,
    /// The command's own redirections, followed by those inherited from enclosing compound
    /// commands (`{ ls; } > out` gives `ls` a `Write` to `out` with `inherited: true`).
    pub redirects: Vec<Redirect>,
    /// Where the command sits.
    pub context: Context,
}

impl SimpleCommand {
    /// The command name, when it is a literal word.
    pub fn name(&self) -> Option<&str> {
        self.argv.first().filter(|w| w.literal).map(|w| w.text.as_str())
    }
}

/// Where a simple command sits in the input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Context {
    /// Number of enclosing `$(..)`, backticks or `<(..)`/`>(..)`.
    pub substitution_depth: usize,
    /// Part of a pipeline of two or more commands.
    pub in_pipeline: bool,
    /// Identifies the innermost enclosing pipeline: commands with the same `pipeline` are
    /// stages of one pipeline (unique within an [`Analysis`]; a lone command has its own).
    pub pipeline: usize,
    /// The stage within that pipeline, from 0 (`a | b`: `a` is 0, `b` is 1).
    pub pipeline_stage: usize,
    /// Run asynchronously (`&`), directly or through an enclosing list.
    pub background: bool,
    /// Inside `( .. )`, a command substitution or a process substitution.
    pub in_subshell: bool,
}

/// One word, with what is statically known about its value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Word {
    /// The value after quote removal, escapes and ANSI-C decoding; expansions are left in
    /// their source form (best effort when `literal` is false).
    pub text: String,
    /// The source text of the word.
    pub raw: String,
    /// True only when `text` is exactly the value bash would use: no expansion, glob, tilde
    /// or brace expansion.
    pub literal: bool,
    /// Has an unquoted `*`, `?`, `[` or extglob pattern.
    pub has_glob: bool,
    /// Has `$var`, `${..}`, `$(..)`, backticks, `$((..))`, `$".."` or a process substitution.
    pub has_expansion: bool,
    /// Has a tilde that bash would expand (`~`, `~user`, `x=~/a:~/b`).
    pub has_tilde: bool,
    /// Has a brace expansion (`{a,b}`, `{1..3}`).
    pub has_brace: bool,
    /// Some part of it was quoted or escaped.
    pub quoted: bool,
}

impl Word {
    /// True when the word is literal and equal to `s`.
    pub fn is(&self, s: &str) -> bool {
        self.literal && self.text == s
    }
}

/// One redirection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The explicit file descriptor (`2>`), if any.
    pub fd: Option<i32>,
    /// The operator.
    pub op: RedirectOp,
    /// The target: a file name, a descriptor number for `DupIn`/`DupOut`, `-` for `Close`,
    /// the body for `HereDoc`, the word for `HereString`, `<(..)` for a process substitution.
    pub target: Word,
    /// Inherited from an enclosing compound command.
    pub inherited: bool,
}

/// A redirection operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectOp {
    /// `<`
    Read,
    /// `>`
    Write,
    /// `>>`
    Append,
    /// `<>`
    ReadWrite,
    /// `>|`
    Clobber,
    /// `<&N`
    DupIn,
    /// `>&N`
    DupOut,
    /// `>&-` or `<&-`
    Close,
    /// `&>` or `>&file`
    WriteBoth,
    /// `&>>`
    AppendBoth,
    /// `<<` or `<<-`
    HereDoc,
    /// `<<<`
    HereString,
}

impl RedirectOp {
    /// True for operators that may create, truncate or write a file named by the target.
    pub fn may_write_file(self) -> bool {
        matches!(
            self,
            Self::Write | Self::Append | Self::ReadWrite | Self::Clobber | Self::WriteBoth | Self::AppendBoth
        )
    }
}

/// Something that makes the input not analysable as safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opaque {
    /// The category.
    pub kind: OpaqueKind,
    /// A human-readable reason, naming the construct.
    pub reason: String,
}

/// Categories of [`Opaque`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpaqueKind {
    /// The input is larger than [`MAX_INPUT_BYTES`].
    TooLarge,
    /// Nesting or total work exceeds a limit.
    TooComplex,
    /// The parser rejected the input.
    ParseError,
    /// A builtin that runs or reinterprets code or changes how later commands resolve
    /// (`eval`, `source`, `exec`, `trap`, `alias`, ...).
    DynamicBuiltin,
    /// The command name is not a literal word.
    DynamicCommandName,
    /// A parameter expansion whose result cannot be known (`${!x}`, `${x@P}`, subscripts).
    Expansion,
    /// Arithmetic that assigns or evaluates variables or substituted text.
    Arithmetic,
    /// `declare`/`typeset`/`local`/`export`/`readonly` that sets variables or attributes.
    Declaration,
    /// A function definition (it could shadow any command).
    FunctionDefinition,
    /// `coproc`.
    Coprocess,
    /// A quoting form that cannot be decoded exactly (`$'\0'`, invalid UTF-8).
    Quoting,
    /// A construct this analyser does not model.
    Unsupported,
    /// An internal failure (the parser panicked); never expected.
    Internal,
}

impl Opaque {
    pub(crate) fn new(kind: OpaqueKind, reason: impl Into<String>) -> Self {
        Self { kind, reason: reason.into() }
    }
}

/// `s` cut to at most 60 characters, for quoting source text in reasons.
pub(crate) fn short(s: &str) -> String {
    const MAX: usize = 60;
    match s.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", s.get(..at).unwrap_or("")),
        None => s.to_string(),
    }
}

/// Analyses `src` as a bash command line. Never panics; work is bounded by the limits above.
pub fn analyze(src: &str) -> Analysis {
    let mut analysis = Analysis::default();
    if src.len() > MAX_INPUT_BYTES {
        analysis.opaque.push(Opaque::new(
            OpaqueKind::TooLarge,
            format!("input is {} bytes, more than the {} analysed", src.len(), MAX_INPUT_BYTES),
        ));
        return analysis;
    }
    walk::Walker::new(&mut analysis, src, true).program(src, 0, Context::default(), &[]);
    if analysis.commands.iter().any(may_switch_brace_expansion) {
        // `set +B` (or zsh's `setopt ignorebraces`) somewhere: no word is brace-expanded.
        analysis = Analysis::default();
        walk::Walker::new(&mut analysis, src, false).program(src, 0, Context::default(), &[]);
    }
    analysis
}

/// A command that may turn brace expansion off: `set`, `shopt`, zsh's `setopt`, `unsetopt`
/// or `emulate`, with arguments, as the command or behind `command`, `builtin` or `time`.
fn may_switch_brace_expansion(c: &SimpleCommand) -> bool {
    let mut words = c.argv.iter().skip_while(|w| {
        w.literal && (matches!(w.text.as_str(), "command" | "builtin" | "time") || w.text.starts_with('-'))
    });
    let Some(name) = words.next() else { return false };
    name.literal
        && matches!(name.text.as_str(), "set" | "shopt" | "setopt" | "unsetopt" | "emulate")
        && words.next().is_some()
}
