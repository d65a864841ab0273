//! Walks brush-parser's syntax tree and fills an [`Analysis`]: one [`SimpleCommand`] per
//! simple command (nested substitutions are tokenized and parsed again, depth-limited), and an
//! [`Opaque`] for every builtin, definition or expansion that defeats static analysis.

use std::panic::{catch_unwind, AssertUnwindSafe};

use brush_parser::ast;

use super::lexer::{self, Mode};
use super::{
    brace, guard, short, Analysis, Context, Opaque, OpaqueKind, Redirect, RedirectOp, SimpleCommand, Word,
    MAX_SUBSTITUTION_DEPTH, MAX_TOTAL_TOKENIZED_BYTES, MAX_TOTAL_TOKENS,
};

/// More opaque findings than this are dropped (the input is opaque either way).
const MAX_OPAQUE: usize = 64;
/// A `for` loop over more values than this is not unrolled.
pub(crate) const MAX_LOOP_VALUES: usize = 64;
/// Loop iterations unrolled over the whole analysis (nested loops multiply).
pub(crate) const MAX_UNROLLED_ITERATIONS: usize = 256;

/// Builtins (bash's and zsh's) that can assign a shell variable named by an argument or an
/// implicit one (`read` sets `REPLY`): a loop body running one is not unrolled.
const ASSIGNING_BUILTINS: &[&str] = &[
    "read",
    "mapfile",
    "readarray",
    "unset",
    "getopts",
    "wait",
    "declare",
    "typeset",
    "local",
    "export",
    "readonly",
    "let",
    "eval",
    "source",
    ".",
    "compgen",
    "select",
    "vared",
    "zparseopts",
    "integer",
    "float",
    "zstyle",
];

/// The variable of a `for` loop being unrolled, while its body is walked.
struct Binding {
    name: String,
    /// The list word of this iteration; `None` while the body is walked without unrolling
    /// (the name is then shadowed: nothing is substituted for it).
    value: Option<Word>,
    /// The body may assign the variable, so substituting its value is not exact.
    written: bool,
}

/// What [`Walker::restore`] goes back to.
struct Mark {
    commands: usize,
    opaque: usize,
    tokens_left: usize,
    bytes_left: usize,
    exhausted: bool,
    unroll_left: usize,
}

pub(crate) struct Walker<'a> {
    out: &'a mut Analysis,
    tokens_left: usize,
    bytes_left: usize,
    exhausted: bool,
    pipelines: usize,
    /// Brace expansion is on (off when the input may run `set +B` or the like).
    braces: bool,
    /// The input mentions `IFS`, so an unquoted `$f` may split in other places.
    ifs_touched: bool,
    bindings: Vec<Binding>,
    unroll_left: usize,
}

fn parser_options() -> brush_parser::ParserOptions {
    brush_parser::ParserOptions {
        enable_extended_globbing: true,
        posix_mode: false,
        sh_mode: false,
        // Tildes are detected by our lexer; brush's tilde parser can panic on `~+999..`.
        tilde_expansion_at_word_start: false,
        tilde_expansion_after_colon: false,
        ..brush_parser::ParserOptions::default()
    }
}

fn synthetic(text: &str) -> Word {
    Word { text: text.to_string(), raw: text.to_string(), literal: false, has_expansion: true, ..Word::default() }
}

fn literal(text: &str) -> Word {
    Word { text: text.to_string(), raw: text.to_string(), literal: true, ..Word::default() }
}

impl<'a> Walker<'a> {
    /// A walker that brace-expands words when `braces` is set; `src` is the whole input.
    pub(crate) fn new(out: &'a mut Analysis, src: &str, braces: bool) -> Self {
        Walker {
            out,
            tokens_left: MAX_TOTAL_TOKENS,
            bytes_left: MAX_TOTAL_TOKENIZED_BYTES,
            exhausted: false,
            pipelines: 0,
            braces,
            ifs_touched: src.contains("IFS"),
            bindings: Vec::new(),
            unroll_left: MAX_UNROLLED_ITERATIONS,
        }
    }

    fn mark(&self) -> Mark {
        Mark {
            commands: self.out.commands.len(),
            opaque: self.out.opaque.len(),
            tokens_left: self.tokens_left,
            bytes_left: self.bytes_left,
            exhausted: self.exhausted,
            unroll_left: self.unroll_left,
        }
    }

    /// Forgets everything found since `m`.
    fn restore(&mut self, m: Mark) {
        self.out.commands.truncate(m.commands);
        self.out.opaque.truncate(m.opaque);
        self.tokens_left = m.tokens_left;
        self.bytes_left = m.bytes_left;
        self.exhausted = m.exhausted;
        self.unroll_left = m.unroll_left;
    }

    /// Notes that `name` may be assigned here.
    fn written(&mut self, name: &str) {
        for b in self.bindings.iter_mut().filter(|b| b.name == name) {
            b.written = true;
        }
    }

    /// Notes that any variable may be assigned here.
    fn all_written(&mut self) {
        for b in &mut self.bindings {
            b.written = true;
        }
    }

    fn push_opaque(&mut self, o: Opaque) {
        if self.out.opaque.len() < MAX_OPAQUE && !self.out.opaque.contains(&o) {
            self.out.opaque.push(o);
        }
    }

    fn opaque(&mut self, kind: OpaqueKind, reason: impl Into<String>) {
        self.push_opaque(Opaque::new(kind, reason));
    }

    fn budget_exhausted(&mut self, what: &str) {
        if !self.exhausted {
            self.exhausted = true;
            self.opaque(OpaqueKind::TooComplex, format!("too much to analyse ({what} budget exhausted)"));
        }
    }

    /// Tokenizes, parses and walks `src` (the whole input, or the body of a substitution).
    pub(crate) fn program(&mut self, src: &str, depth: usize, ctx: Context, inh: &[Redirect]) {
        if self.exhausted {
            return;
        }
        if depth > MAX_SUBSTITUTION_DEPTH {
            self.opaque(
                OpaqueKind::TooComplex,
                format!("command substitutions nested more than {MAX_SUBSTITUTION_DEPTH} deep"),
            );
            return;
        }
        if src.len() > self.bytes_left {
            self.budget_exhausted("tokenizer");
            return;
        }
        self.bytes_left -= src.len();
        if let Err(o) = guard::check_openers(src).and(guard::check_heredoc_delimiters(src)) {
            self.push_opaque(o);
            return;
        }
        let opts = parser_options();
        let tokenized =
            catch_unwind(AssertUnwindSafe(|| brush_parser::uncached_tokenize_str(src, &opts.tokenizer_options())));
        let tokens = match tokenized {
            Ok(Ok(tokens)) => tokens,
            Ok(Err(e)) => {
                self.opaque(OpaqueKind::ParseError, format!("cannot tokenize: {}", short(&e.to_string())));
                return;
            }
            Err(_) => {
                self.opaque(OpaqueKind::Internal, "the tokenizer panicked");
                return;
            }
        };
        if tokens.len() > self.tokens_left {
            self.budget_exhausted("token");
            return;
        }
        self.tokens_left -= tokens.len();
        if let Err(o) = guard::check_token_nesting(&tokens).and(guard::check_io_numbers(&tokens)) {
            self.push_opaque(o);
            return;
        }
        let parsed = catch_unwind(AssertUnwindSafe(|| brush_parser::parse_tokens(&tokens, &opts)));
        let program = match parsed {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => {
                self.opaque(OpaqueKind::ParseError, format!("cannot parse: {}", short(&e.to_string())));
                return;
            }
            Err(_) => {
                self.opaque(OpaqueKind::Internal, "the parser panicked");
                return;
            }
        };
        for list in &program.complete_commands {
            self.compound_list(list, depth, ctx, inh);
        }
    }

    fn compound_list(&mut self, list: &ast::CompoundList, depth: usize, ctx: Context, inh: &[Redirect]) {
        for ast::CompoundListItem(and_or, sep) in &list.0 {
            let mut c = ctx;
            if matches!(sep, ast::SeparatorOperator::Async) {
                c.background = true;
            }
            self.pipeline(&and_or.first, depth, c, inh);
            for next in &and_or.additional {
                let (ast::AndOr::And(p) | ast::AndOr::Or(p)) = next;
                self.pipeline(p, depth, c, inh);
            }
        }
    }

    fn pipeline(&mut self, p: &ast::Pipeline, depth: usize, ctx: Context, inh: &[Redirect]) {
        self.pipelines += 1;
        let mut c = ctx;
        c.pipeline = self.pipelines;
        if p.seq.len() > 1 {
            c.in_pipeline = true;
        }
        for (stage, cmd) in p.seq.iter().enumerate() {
            c.pipeline_stage = stage;
            self.command(cmd, depth, c, inh);
        }
    }

    /// The context of the body of a command or process substitution.
    fn sub_context(ctx: Context) -> Context {
        Context {
            substitution_depth: ctx.substitution_depth + 1,
            in_pipeline: false,
            pipeline: ctx.pipeline,
            pipeline_stage: 0,
            background: ctx.background,
            in_subshell: true,
        }
    }

    fn redirect_list(&mut self, list: Option<&ast::RedirectList>, depth: usize, ctx: Context) -> Vec<Redirect> {
        list.map(|l| l.0.iter().map(|r| self.redirect(r, depth, ctx)).collect()).unwrap_or_default()
    }

    /// Emits a command with no words that carries `own` redirects (so that a write done by
    /// the redirections of a compound command or `[[ ]]` is always visible).
    fn redirect_only(&mut self, own: Vec<Redirect>, ctx: Context, inh: &[Redirect]) {
        if own.is_empty() {
            return;
        }
        let mut redirects = own;
        redirects.extend(inh.iter().cloned());
        self.out.commands.push(SimpleCommand { argv: Vec::new(), assignments: Vec::new(), redirects, context: ctx });
    }

    fn command(&mut self, cmd: &ast::Command, depth: usize, ctx: Context, inh: &[Redirect]) {
        match cmd {
            ast::Command::Simple(sc) => self.simple(sc, depth, ctx, inh),
            ast::Command::Compound(cc, redirects) => {
                self.compound_with_redirects(cc, redirects.as_ref(), depth, ctx, inh);
            }
            ast::Command::Function(f) => {
                self.opaque(
                    OpaqueKind::FunctionDefinition,
                    format!("defines function `{}` (it could shadow any command)", short(&f.fname.value)),
                );
                let ast::FunctionBody(body, redirects) = &f.body;
                self.compound_with_redirects(body, redirects.as_ref(), depth, ctx, inh);
            }
            ast::Command::ExtendedTest(test, redirects) => {
                let own = self.redirect_list(redirects.as_ref(), depth, ctx);
                self.redirect_only(own, ctx, inh);
                self.extended_test(&test.expr, depth, ctx);
            }
        }
    }

    fn compound_with_redirects(
        &mut self,
        cc: &ast::CompoundCommand,
        redirects: Option<&ast::RedirectList>,
        depth: usize,
        ctx: Context,
        inh: &[Redirect],
    ) {
        let own = self.redirect_list(redirects, depth, ctx);
        if own.is_empty() {
            self.compound(cc, depth, ctx, inh);
            return;
        }
        let mut all: Vec<Redirect> = own
            .iter()
            .cloned()
            .map(|mut r| {
                r.inherited = true;
                r
            })
            .collect();
        all.extend(inh.iter().cloned());
        self.redirect_only(own, ctx, inh);
        self.compound(cc, depth, ctx, &all);
    }

    fn compound(&mut self, cc: &ast::CompoundCommand, depth: usize, ctx: Context, inh: &[Redirect]) {
        match cc {
            ast::CompoundCommand::Arithmetic(a) => self.arithmetic(&a.expr.value, depth, ctx),
            ast::CompoundCommand::ArithmeticForClause(f) => {
                self.opaque(OpaqueKind::Arithmetic, "arithmetic `for ((..))` loop (assigns variables)");
                for e in [&f.initializer, &f.condition, &f.updater].into_iter().flatten() {
                    self.arithmetic(&e.value, depth, ctx);
                }
                self.compound_list(&f.body.list, depth, ctx, inh);
            }
            ast::CompoundCommand::BraceGroup(g) => self.compound_list(&g.list, depth, ctx, inh),
            ast::CompoundCommand::Subshell(s) => {
                let mut c = ctx;
                c.in_subshell = true;
                self.compound_list(&s.list, depth, c, inh);
            }
            ast::CompoundCommand::ForClause(f) => self.for_clause(f, depth, ctx, inh),
            ast::CompoundCommand::CaseClause(c) => {
                self.word(&c.value.value, Mode::Word, depth, ctx);
                for item in &c.cases {
                    for p in &item.patterns {
                        self.word(&p.value, Mode::Word, depth, ctx);
                    }
                    if let Some(list) = &item.cmd {
                        self.compound_list(list, depth, ctx, inh);
                    }
                }
            }
            ast::CompoundCommand::IfClause(i) => {
                self.compound_list(&i.condition, depth, ctx, inh);
                self.compound_list(&i.then, depth, ctx, inh);
                for e in i.elses.iter().flatten() {
                    if let Some(cond) = &e.condition {
                        self.compound_list(cond, depth, ctx, inh);
                    }
                    self.compound_list(&e.body, depth, ctx, inh);
                }
            }
            ast::CompoundCommand::WhileClause(w) | ast::CompoundCommand::UntilClause(w) => {
                self.compound_list(&w.0, depth, ctx, inh);
                self.compound_list(&w.1.list, depth, ctx, inh);
            }
            ast::CompoundCommand::Coprocess(c) => {
                self.opaque(OpaqueKind::Coprocess, "`coproc` (runs a command asynchronously with open pipes)");
                let mut inner = ctx;
                inner.background = true;
                self.command(&c.body, depth, inner, inh);
            }
        }
    }

    /// A `for NAME in WORDS` loop. The loop assigns NAME, which the floor sees as a command
    /// of assignments `NAME=WORD`. When the list is known words and plain globs (after brace
    /// expansion) and the body never assigns NAME, the body is walked once per value, with the
    /// value's word put in for each whole-word `$NAME`, `"$NAME"`, `${NAME}` or `"${NAME}"`
    /// (see [`Walker::substitute`]); otherwise once, with NAME left computed.
    fn for_clause(&mut self, f: &ast::ForClauseCommand, depth: usize, ctx: Context, inh: &[Redirect]) {
        let name = f.variable_name.as_str();
        self.written(name);
        let index = self.out.commands.len();
        let mut values = Vec::new();
        for w in f.values.iter().flatten() {
            values.extend(self.words(&w.value, depth, ctx));
        }
        let assignments = match &f.values {
            None => vec![format!("{name}=\"$@\"")],
            Some(ws) => ws.iter().map(|w| format!("{name}={}", w.value)).collect(),
        };
        let at = index.min(self.out.commands.len());
        let assign = SimpleCommand { argv: Vec::new(), assignments, redirects: inh.to_vec(), context: ctx };
        self.out.commands.insert(at, assign);

        let known = |w: &Word| w.literal || (!w.has_expansion && !w.has_brace && (w.has_glob || w.has_tilde));
        let unroll = f.values.is_some()
            && unrollable_name(name)
            && !values.is_empty()
            && values.len() <= MAX_LOOP_VALUES
            && values.len() <= self.unroll_left
            && values.iter().all(known);
        if unroll {
            let mark = self.mark();
            self.unroll_left -= values.len();
            let mut exact = true;
            for v in values {
                self.bindings.push(Binding { name: name.to_string(), value: Some(v), written: false });
                self.compound_list(&f.body.list, depth, ctx, inh);
                let written = self.bindings.pop().is_none_or(|b| b.written);
                if written {
                    exact = false;
                    break;
                }
            }
            if exact {
                return;
            }
            self.restore(mark);
        }
        self.bindings.push(Binding { name: name.to_string(), value: None, written: false });
        self.compound_list(&f.body.list, depth, ctx, inh);
        self.bindings.pop();
    }

    /// The word to use for `raw` when it is a whole-word use of a loop variable being unrolled
    /// and the value is exact there: quoted, a literal value or a plain glob (which then stands
    /// for the names it matches, one per iteration); unquoted, only a literal value that
    /// neither splits nor globs.
    fn substitute(&self, raw: &str) -> Option<Word> {
        let (inner, quoted) = match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            Some(inner) => (inner, true),
            None => (raw, false),
        };
        let rest = inner.strip_prefix('$')?;
        let name = rest.strip_prefix('{').and_then(|r| r.strip_suffix('}')).unwrap_or(rest);
        if !is_name(name) {
            return None;
        }
        let value = self.bindings.iter().rev().find(|b| b.name == name)?.value.as_ref()?;
        let exact = if quoted {
            value.literal || (!value.has_expansion && !value.has_brace && (value.has_glob || value.has_tilde))
        } else {
            value.literal && !self.ifs_touched && stays_one_word(&value.text)
        };
        exact.then(|| value.clone())
    }

    /// Notes the loop variables a word's parameter expansions may assign (`${f:=x}`): any
    /// `${NAME` other than `${NAME}` counts, and so do `${#NAME` and `${!NAME`.
    fn note_parameter_writes(&mut self, raw: &str) {
        if self.bindings.is_empty() || !raw.contains("${") {
            return;
        }
        let b = raw.as_bytes();
        let mut hits = Vec::new();
        let mut i = 0;
        while let Some(p) = raw.get(i..).and_then(|r| r.find("${")) {
            let mut j = i + p + 2;
            let prefixed = matches!(b.get(j), Some(b'#' | b'!'));
            if prefixed {
                j += 1;
            }
            let n = b[j..].iter().take_while(|c| **c == b'_' || c.is_ascii_alphanumeric()).count();
            let name = raw.get(j..j + n).unwrap_or("");
            if !name.is_empty() && (prefixed || b.get(j + n) != Some(&b'}')) {
                hits.push(name.to_string());
            }
            i = j;
        }
        for h in hits {
            self.written(&h);
        }
    }

    fn arithmetic(&mut self, expr: &str, depth: usize, ctx: Context) {
        let (subs, problems) = lexer::arithmetic(expr);
        for p in problems {
            self.push_opaque(p);
        }
        self.substitutions(subs, depth, ctx);
    }

    fn substitutions(&mut self, subs: Vec<String>, depth: usize, ctx: Context) {
        for body in subs {
            self.program(&body, depth + 1, Self::sub_context(ctx), &[]);
        }
    }

    /// Lexes one word, records its problems and analyses its substitutions; a whole-word use
    /// of a loop variable being unrolled becomes its value.
    fn word(&mut self, raw: &str, mode: Mode, depth: usize, ctx: Context) -> Word {
        self.note_parameter_writes(raw);
        if mode == Mode::Word {
            if let Some(w) = self.substitute(raw) {
                return w;
            }
        }
        let lexed = lexer::lex(raw, mode);
        for p in lexed.problems {
            self.push_opaque(p);
        }
        self.substitutions(lexed.substitutions, depth, ctx);
        lexed.word
    }

    /// A word where bash brace-expands (an argument, a `for` value): the words it becomes.
    /// It stays one word, unexpanded, when brace expansion is off, when the word looks like
    /// an assignment, or when [`brace::expand`] is unsure or a resulting word is not plain.
    fn words(&mut self, raw: &str, depth: usize, ctx: Context) -> Vec<Word> {
        let word = self.word(raw, Mode::Word, depth, ctx);
        if !word.has_brace || !self.braces || lexer::looks_like_assignment(raw) {
            return vec![word];
        }
        let Some(raws) = brace::expand(raw) else { return vec![word] };
        let mut out = Vec::with_capacity(raws.len());
        for r in &raws {
            let lexed = lexer::lex(r, Mode::Word);
            let w = lexed.word;
            if !lexed.problems.is_empty() || !lexed.substitutions.is_empty() || w.has_brace || w.has_expansion {
                return vec![word];
            }
            out.push(w);
        }
        out
    }

    fn extended_test(&mut self, e: &ast::ExtendedTestExpr, depth: usize, ctx: Context) {
        use ast::ExtendedTestExpr as E;
        // Iterative over And/Or/Not/Parenthesized to keep the stack flat.
        let mut todo = vec![e];
        while let Some(e) = todo.pop() {
            match e {
                E::And(a, b) | E::Or(a, b) => {
                    todo.push(b);
                    todo.push(a);
                }
                E::Not(a) | E::Parenthesized(a) => todo.push(a),
                E::UnaryTest(pred, w) => {
                    let word = self.word(&w.value, Mode::Word, depth, ctx);
                    if matches!(
                        pred,
                        ast::UnaryPredicate::ShellVariableIsSetAndAssigned
                            | ast::UnaryPredicate::ShellVariableIsSetAndNameRef
                    ) && !(word.literal && is_name(&word.text))
                    {
                        self.opaque(
                            OpaqueKind::Expansion,
                            format!("`[[ -v {} ]]` evaluates an array subscript", short(&word.raw)),
                        );
                    }
                }
                E::BinaryTest(pred, l, r) => {
                    let lw = self.word(&l.value, Mode::Word, depth, ctx);
                    let rw = self.word(&r.value, Mode::Word, depth, ctx);
                    use ast::BinaryPredicate as B;
                    if matches!(
                        pred,
                        B::ArithmeticEqualTo
                            | B::ArithmeticNotEqualTo
                            | B::ArithmeticLessThan
                            | B::ArithmeticLessThanOrEqualTo
                            | B::ArithmeticGreaterThan
                            | B::ArithmeticGreaterThanOrEqualTo
                    ) {
                        for w in [&lw, &rw] {
                            if !(w.literal && is_integer(&w.text)) {
                                self.opaque(
                                    OpaqueKind::Arithmetic,
                                    format!(
                                        "`[[ .. ]]` compares `{}` arithmetically (its value is evaluated as an expression)",
                                        short(&w.raw)
                                    ),
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    fn redirect(&mut self, r: &ast::IoRedirect, depth: usize, ctx: Context) -> Redirect {
        use ast::IoFileRedirectKind as K;
        match r {
            ast::IoRedirect::File(fd, kind, target) => {
                let base = match kind {
                    K::Read => RedirectOp::Read,
                    K::Write => RedirectOp::Write,
                    K::Append => RedirectOp::Append,
                    K::ReadAndWrite => RedirectOp::ReadWrite,
                    K::Clobber => RedirectOp::Clobber,
                    K::DuplicateInput => RedirectOp::DupIn,
                    K::DuplicateOutput => RedirectOp::DupOut,
                };
                let (op, target) = match target {
                    ast::IoFileRedirectTarget::Fd(n) => (base, literal(&n.to_string())),
                    ast::IoFileRedirectTarget::ProcessSubstitution(k, sub) => {
                        let shown = match k {
                            ast::ProcessSubstitutionKind::Read => "<(..)",
                            ast::ProcessSubstitutionKind::Write => ">(..)",
                        };
                        self.compound_list(&sub.list, depth, Self::sub_context(ctx), &[]);
                        (base, synthetic(shown))
                    }
                    ast::IoFileRedirectTarget::Filename(w) | ast::IoFileRedirectTarget::Duplicate(w) => {
                        let word = self.word(&w.value, Mode::Word, depth, ctx);
                        let op = if matches!(base, RedirectOp::DupIn | RedirectOp::DupOut) {
                            if word.is("-") {
                                RedirectOp::Close
                            } else if word.literal
                                && !word.text.is_empty()
                                && word.text.bytes().all(|c| c.is_ascii_digit())
                            {
                                base
                            } else if word.literal
                                && word.text.len() > 1
                                && word.text.ends_with('-')
                                && word.text.bytes().rev().skip(1).all(|c| c.is_ascii_digit())
                            {
                                // `>&3-`: move descriptor 3.
                                base
                            } else if base == RedirectOp::DupOut {
                                // `>&file` writes stdout and stderr to `file`.
                                RedirectOp::WriteBoth
                            } else {
                                base
                            }
                        } else {
                            base
                        };
                        (op, word)
                    }
                };
                Redirect { fd: *fd, op, target, inherited: false }
            }
            ast::IoRedirect::HereDocument(fd, doc) => {
                let target = if doc.requires_expansion {
                    self.word(&doc.doc.value, Mode::HereDoc, depth, ctx)
                } else {
                    literal(&doc.doc.value)
                };
                Redirect { fd: *fd, op: RedirectOp::HereDoc, target, inherited: false }
            }
            ast::IoRedirect::HereString(fd, w) => Redirect {
                fd: *fd,
                op: RedirectOp::HereString,
                target: self.word(&w.value, Mode::Word, depth, ctx),
                inherited: false,
            },
            ast::IoRedirect::OutputAndError(w, append) => Redirect {
                fd: None,
                op: if *append { RedirectOp::AppendBoth } else { RedirectOp::WriteBoth },
                target: self.word(&w.value, Mode::Word, depth, ctx),
                inherited: false,
            },
        }
    }

    fn assignment(&mut self, a: &ast::Assignment, depth: usize, ctx: Context) {
        match &a.name {
            ast::AssignmentName::VariableName(name) | ast::AssignmentName::ArrayElementName(name, _) => {
                self.written(name);
            }
        }
        if let ast::AssignmentName::ArrayElementName(name, index) = &a.name {
            if !lexer::plain_subscript(index) {
                let lexed = lexer::lex(index, Mode::Word);
                self.substitutions(lexed.substitutions, depth, ctx);
                self.opaque(
                    OpaqueKind::Expansion,
                    format!("assignment to `{}[{}]` evaluates the subscript", short(name), short(index)),
                );
            }
        }
        match &a.value {
            ast::AssignmentValue::Scalar(w) => {
                self.word(&w.value, Mode::Assignment, depth, ctx);
            }
            ast::AssignmentValue::Array(items) => {
                for (key, value) in items {
                    if let Some(k) = key {
                        let kw = self.word(&k.value, Mode::Word, depth, ctx);
                        if !plain_key(&kw) {
                            self.opaque(
                                OpaqueKind::Expansion,
                                format!("array element key `[{}]` is evaluated", short(&k.value)),
                            );
                        }
                    }
                    self.word(&value.value, Mode::Assignment, depth, ctx);
                }
            }
        }
    }

    fn simple(&mut self, sc: &ast::SimpleCommand, depth: usize, ctx: Context, inh: &[Redirect]) {
        let index = self.out.commands.len();
        let mut cmd = SimpleCommand { context: ctx, ..SimpleCommand::default() };
        for item in sc.prefix.iter().flat_map(|p| p.0.iter()) {
            self.item(item, true, &mut cmd, depth, ctx);
        }
        if let Some(w) = &sc.word_or_name {
            let word = self.word(&w.value, Mode::Word, depth, ctx);
            cmd.argv.push(word);
        }
        for item in sc.suffix.iter().flat_map(|s| s.0.iter()) {
            self.item(item, false, &mut cmd, depth, ctx);
        }
        self.check_command(&cmd.argv);
        self.note_command_writes(&cmd.argv);
        cmd.redirects.extend(inh.iter().cloned());
        let at = index.min(self.out.commands.len());
        self.out.commands.insert(at, cmd);
    }

    fn item(
        &mut self,
        item: &ast::CommandPrefixOrSuffixItem,
        is_prefix: bool,
        cmd: &mut SimpleCommand,
        depth: usize,
        ctx: Context,
    ) {
        match item {
            ast::CommandPrefixOrSuffixItem::IoRedirect(r) => {
                let r = self.redirect(r, depth, ctx);
                cmd.redirects.push(r);
            }
            ast::CommandPrefixOrSuffixItem::Word(w) => {
                // The command name is never brace-expanded here (`{ls,-la}` stays computed).
                if cmd.argv.is_empty() {
                    let word = self.word(&w.value, Mode::Word, depth, ctx);
                    cmd.argv.push(word);
                } else {
                    let words = self.words(&w.value, depth, ctx);
                    cmd.argv.extend(words);
                }
            }
            ast::CommandPrefixOrSuffixItem::AssignmentWord(a, raw) => {
                if is_prefix && cmd.argv.is_empty() {
                    cmd.assignments.push(raw.value.clone());
                    self.assignment(a, depth, ctx);
                } else {
                    // `declare x=$(..)`, `echo a=b`: an ordinary argument.
                    let word = self.word(&raw.value, Mode::Word, depth, ctx);
                    cmd.argv.push(word);
                }
            }
            ast::CommandPrefixOrSuffixItem::ProcessSubstitution(kind, sub) => {
                let shown = match kind {
                    ast::ProcessSubstitutionKind::Read => "<(..)",
                    ast::ProcessSubstitutionKind::Write => ">(..)",
                };
                cmd.argv.push(synthetic(shown));
                self.compound_list(&sub.list, depth, Self::sub_context(ctx), &[]);
            }
        }
    }

    /// Notes the variables a command may assign: any, when it runs one of the
    /// [`ASSIGNING_BUILTINS`] (or `printf -v`, `print -v`) anywhere in its words.
    fn note_command_writes(&mut self, argv: &[Word]) {
        if self.bindings.is_empty() {
            return;
        }
        let dash_v = argv.iter().any(|w| !w.literal || w.text.starts_with("-v"));
        let assigns = argv.iter().any(|w| {
            w.literal
                && (ASSIGNING_BUILTINS.contains(&w.text.as_str())
                    || (matches!(w.text.as_str(), "printf" | "print") && dash_v))
        });
        if assigns {
            self.all_written();
        }
    }

    /// Opaque checks on a command's words.
    fn check_command(&mut self, argv: &[Word]) {
        for w in argv {
            if is_named_fd(&w.raw) {
                self.opaque(
                    OpaqueKind::Unsupported,
                    format!("`{}` (named file-descriptor redirection) is not modelled", short(&w.raw)),
                );
            }
        }
        let Some(first) = argv.first() else { return };
        if !first.literal {
            self.opaque(
                OpaqueKind::DynamicCommandName,
                format!("command name `{}` is not a literal word", short(&first.raw)),
            );
            return;
        }
        // See through the shell's own wrappers, which can run builtins (`command eval ..`).
        let mut argv = argv;
        loop {
            let skip = match argv[0].text.as_str() {
                "command" => match command_wrapper_args(&argv[1..]) {
                    Ok(Some(n)) => n,
                    Ok(None) => break,
                    Err(reason) => {
                        self.opaque(OpaqueKind::DynamicBuiltin, reason);
                        return;
                    }
                },
                "time" => 1 + argv[1..].iter().take_while(|w| w.is("-p") || w.is("--")).count(),
                _ => break,
            };
            let Some(rest) = argv.get(skip..).filter(|r| !r.is_empty()) else {
                return;
            };
            if !rest[0].literal {
                self.opaque(
                    OpaqueKind::DynamicCommandName,
                    format!("command name `{}` is not a literal word", short(&rest[0].raw)),
                );
                return;
            }
            argv = rest;
        }
        let name = argv[0].text.as_str();
        let args = &argv[1..];
        let reason = match name {
            "eval" => Some("`eval` runs a string as code"),
            "source" | "." => Some("`source`/`.` runs a file as code"),
            "exec" => Some("`exec` replaces the shell or changes its file descriptors"),
            "trap" => Some("`trap` installs code to run later"),
            "alias" => Some("`alias` changes how later words parse"),
            "enable" => Some("`enable` loads or toggles builtins"),
            "builtin" => Some("`builtin` runs a builtin by a computed name"),
            "let" => Some("`let` evaluates arithmetic on its arguments"),
            "fc" => Some("`fc` re-executes history"),
            "coproc" => Some("`coproc` runs a command with open pipes"),
            "hash" if !args.is_empty() => Some("`hash` with arguments can remap command names"),
            "mapfile" | "readarray" if has_option(args, b'C') => Some("`mapfile -C` evaluates a callback"),
            "compgen" | "complete" if has_option(args, b'C') || has_option(args, b'F') => {
                Some("`-C`/`-F` runs a command or function")
            }
            _ => None,
        };
        if let Some(r) = reason {
            self.opaque(OpaqueKind::DynamicBuiltin, r);
        }
        if matches!(name, "declare" | "typeset" | "local" | "export" | "readonly") && !declaration_only_prints(args) {
            self.opaque(
                OpaqueKind::Declaration,
                format!("`{name}` sets variables or attributes (namerefs, -i, exported values)"),
            );
        }
        let name_args: Vec<&Word> = match name {
            "read" | "mapfile" | "readarray" | "unset" | "getopts" | "wait" => args.iter().collect(),
            "printf" | "test" | "[" => args.windows(2).filter(|p| p[0].is("-v")).map(|p| &p[1]).collect(),
            _ => Vec::new(),
        };
        for w in name_args {
            if let Some(idx) = subscript_of(&w.text) {
                if !lexer::plain_subscript(idx) {
                    self.opaque(
                        OpaqueKind::Expansion,
                        format!(
                            "`{name}` argument `{}` names an array element; its subscript is evaluated",
                            short(&w.raw)
                        ),
                    );
                }
            }
        }
    }
}

/// A loop variable whose value reads back as assigned and that no shell treats specially:
/// lower case, and not one of zsh's special lower-case parameters.
fn unrollable_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && name != "_"
        && (b[0] == b'_' || b[0].is_ascii_lowercase())
        && b.iter().all(|c| *c == b'_' || c.is_ascii_lowercase() || c.is_ascii_digit())
        && !matches!(
            name,
            "argv"
                | "match"
                | "mbegin"
                | "mend"
                | "reply"
                | "status"
                | "pipestatus"
                | "path"
                | "cdpath"
                | "fpath"
                | "manpath"
                | "module_path"
                | "mailpath"
                | "psvar"
                | "watch"
                | "histchars"
                | "prompt"
                | "signals"
                | "options"
                | "parameters"
                | "commands"
                | "functions"
                | "aliases"
                | "builtins"
                | "history"
                | "historywords"
                | "jobdirs"
                | "jobstates"
                | "jobtexts"
                | "modules"
                | "nameddirs"
                | "userdirs"
                | "dirstack"
                | "funcstack"
                | "funcfiletrace"
                | "funcsourcetrace"
                | "functrace"
                | "patchars"
                | "reswords"
                | "saliases"
                | "galiases"
                | "dis_aliases"
                | "dis_functions"
                | "dis_builtins"
                | "dis_reswords"
                | "dis_patchars"
                | "dis_galiases"
                | "dis_saliases"
                | "widgets"
                | "keymaps"
                | "zsh_eval_context"
                | "zsh_scheduled_events"
                | "epochtime"
                | "sysparams"
                | "errnos"
                | "mapfile"
                | "terminfo"
                | "termcap"
        )
}

/// An unquoted expansion of `s` stays exactly `s`: no field splitting (default IFS), no
/// globbing, no empty-field removal.
fn stays_one_word(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_alphanumeric() || b"._-/+,:@%".contains(&c))
}

fn is_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty() && !b[0].is_ascii_digit() && b.iter().all(|c| *c == b'_' || c.is_ascii_alphanumeric())
}

fn is_integer(s: &str) -> bool {
    let t = s.trim();
    let d = t.strip_prefix(['-', '+']).unwrap_or(t);
    !d.is_empty() && d.bytes().all(|c| c.is_ascii_digit())
}

fn plain_key(w: &Word) -> bool {
    w.literal && (is_name(&w.text) || lexer::plain_subscript(&w.text))
}

/// `{name}` as a whole word: bash's `{var}>file` descriptor allocation.
fn is_named_fd(raw: &str) -> bool {
    raw.strip_prefix('{').and_then(|r| r.strip_suffix('}')).is_some_and(is_name)
}

/// `name[sub]` → `sub`.
fn subscript_of(s: &str) -> Option<&str> {
    let open = s.find('[')?;
    if !is_name(s.get(..open)?) {
        return None;
    }
    let inner = s.get(open + 1..)?;
    let close = inner.rfind(']')?;
    inner.get(..close)
}

/// Any literal option cluster (`-abc`) among `args` containing `flag`, or a non-literal
/// argument that could be one.
fn has_option(args: &[Word], flag: u8) -> bool {
    args.iter().any(|a| {
        !a.literal || (a.text.starts_with('-') && a.text.len() > 1 && a.text.bytes().skip(1).any(|c| c == flag))
    })
}

/// The arguments of `command`: `Ok(None)` when it only looks names up (`-v`/`-V`) or has
/// no command, `Ok(Some(n))` when the wrapped command starts `n` words after `command`.
fn command_wrapper_args(args: &[Word]) -> Result<Option<usize>, &'static str> {
    let mut lookup = false;
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if !a.literal || !a.text.starts_with('-') || a.text == "-" {
            break;
        }
        i += 1;
        if a.text == "--" {
            break;
        }
        let flags = a.text.get(1..).unwrap_or("");
        if !flags.bytes().all(|c| matches!(c, b'p' | b'v' | b'V')) {
            return Err("`command` with an option other than -p, -v, -V");
        }
        lookup |= flags.bytes().any(|c| c == b'v' || c == b'V');
    }
    if lookup || i >= args.len() {
        Ok(None)
    } else {
        Ok(Some(i + 1))
    }
}

/// `declare`/`export`/... that only print: no arguments, or print flags (`-p`, `-f`, `-F`)
/// with plain names.
fn declaration_only_prints(args: &[Word]) -> bool {
    if args.is_empty() {
        return true;
    }
    let mut prints = false;
    for a in args {
        if !a.literal {
            return false;
        }
        if let Some(flags) = a.text.strip_prefix('-') {
            if flags.is_empty() || !flags.bytes().all(|c| matches!(c, b'p' | b'f' | b'F')) {
                return false;
            }
            prints = true;
        } else if !is_name(&a.text) {
            return false;
        }
    }
    prints
}
