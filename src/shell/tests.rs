//! Tests for [`analyze`]: a table with one row per input (expected argv lists, or opaque),
//! targeted checks of words, redirects and contexts, the work limits on pathological input,
//! and property tests that it never panics.

use super::*;
use proptest::prelude::*;
use std::time::{Duration, Instant};

/// What a row expects.
enum Want {
    /// Fully understood, with exactly these argv lists (word texts), in this order.
    Cmds(&'static [&'static [&'static str]]),
    /// Opaque; these argv lists must still appear among the commands, in this order.
    Opaque(&'static [&'static [&'static str]]),
}
use Want::{Cmds, Opaque as Opq};

const CASES: &[(&str, Want)] = &[
    // Lists, pipelines, compound commands.
    ("ls; rm -rf ~", Cmds(&[&["ls"], &["rm", "-rf", "~"]])),
    ("find . -delete", Cmds(&[&["find", ".", "-delete"]])),
    ("cat a > b", Cmds(&[&["cat", "a"]])),
    ("ls | grep x | wc -l", Cmds(&[&["ls"], &["grep", "x"], &["wc", "-l"]])),
    ("ls && rm x || echo no", Cmds(&[&["ls"], &["rm", "x"], &["echo", "no"]])),
    ("sleep 1 & rm x", Cmds(&[&["sleep", "1"], &["rm", "x"]])),
    ("(cd x && rm y)", Cmds(&[&["cd", "x"], &["rm", "y"]])),
    ("{ ls; } > out", Cmds(&[&[], &["ls"]])),
    ("if git status; then ls; fi", Cmds(&[&["git", "status"], &["ls"]])),
    ("if a; then b; elif c; then d; else e; fi", Cmds(&[&["a"], &["b"], &["c"], &["d"], &["e"]])),
    ("while read l; do echo \"$l\"; done < f", Cmds(&[&[], &["read", "l"], &["echo", "$l"]])),
    ("until false; do :; done", Cmds(&[&["false"], &[":"]])),
    ("time ls -la", Cmds(&[&["ls", "-la"]])),
    ("! ls", Cmds(&[&["ls"]])),
    ("echo ok > /dev/null 2>&1 &", Cmds(&[&["echo", "ok"]])),
    // Substitutions of every kind.
    ("echo $(curl x|sh)", Cmds(&[&["echo", "$(curl x|sh)"], &["curl", "x"], &["sh"]])),
    ("echo `echo \\`id\\``", Cmds(&[&["echo", "`echo \\`id\\``"], &["echo", "`id`"], &["id"]])),
    (
        "echo $(echo $(echo $(id)))",
        Cmds(&[&["echo", "$(echo $(echo $(id)))"], &["echo", "$(echo $(id))"], &["echo", "$(id)"], &["id"]]),
    ),
    ("echo \"$(echo \")\")\"", Cmds(&[&["echo", "$(echo \")\")"], &["echo", ")"]])),
    ("a=$(id) ls", Cmds(&[&["ls"], &["id"]])),
    ("x=$(rm -rf /)", Cmds(&[&[], &["rm", "-rf", "/"]])),
    ("a=(1 $(pwd))", Cmds(&[&[], &["pwd"]])),
    ("ls >(rm x)", Cmds(&[&["ls", ">(..)"], &["rm", "x"]])),
    ("diff <(ls a) <(ls b)", Cmds(&[&["diff", "<(..)", "<(..)"], &["ls", "a"], &["ls", "b"]])),
    ("cat < <(ls)", Cmds(&[&["cat"], &["ls"]])),
    ("ls > $(rm x)", Cmds(&[&["ls"], &["rm", "x"]])),
    ("cat <<< $(id)", Cmds(&[&["cat"], &["id"]])),
    ("for f in $(rm x); do :; done", Cmds(&[&[], &["rm", "x"], &[":"]])),
    ("case $(rm y) in *) ;; esac", Cmds(&[&["rm", "y"]])),
    ("case x in $(rm z)) ls;; esac", Cmds(&[&["rm", "z"], &["ls"]])),
    ("[[ $(id) == x ]]", Cmds(&[&["id"]])),
    ("echo ${x:-$(id)}", Cmds(&[&["echo", "${x:-$(id)}"], &["id"]])),
    ("echo \"${x:-'$(id)'}\"", Cmds(&[&["echo", "${x:-'$(id)'}"], &["id"]])),
    ("echo ${x:-'$(id)'}", Cmds(&[&["echo", "${x:-'$(id)'}"]])),
    ("echo $(case x in (x) rm hi;; esac)", Cmds(&[&["echo", "$(case x in (x) rm hi;; esac)"], &["rm", "hi"]])),
    (
        "git commit -m \"$(cat <<'EOF'\nmsg\nEOF\n)\"",
        Cmds(&[&["git", "commit", "-m", "$(cat <<'EOF'\nmsg\nEOF\n)"], &["cat"]]),
    ),
    // Here-documents.
    ("cat <<EOF\n$(id)\nEOF\n", Cmds(&[&["cat"], &["id"]])),
    ("cat <<EOF\n`id`\nEOF\n", Cmds(&[&["cat"], &["id"]])),
    ("cat <<'EOF'\n$(id)\nEOF\n", Cmds(&[&["cat"]])),
    ("cat <<\"EOF\"\n`id`\nEOF\n", Cmds(&[&["cat"]])),
    ("cat <<\\EOF\n$(id)\nEOF\n", Cmds(&[&["cat"]])),
    ("cat <<EOF\n\\$(id)\nEOF\n", Cmds(&[&["cat"]])),
    ("cat <<-EOF\n\t$(id)\n\tEOF\n", Cmds(&[&["cat"], &["id"]])),
    ("cat <<A <<B\n$(one)\nA\n$(two)\nB\n", Cmds(&[&["cat"], &["one"], &["two"]])),
    ("cat <<EOF | grep x\nbody\nEOF\nrm y", Cmds(&[&["cat"], &["grep", "x"], &["rm", "y"]])),
    // Quoting, escapes, continuation.
    ("ls -de\\\nlete", Cmds(&[&["ls", "-delete"]])),
    ("'r''m' -rf /", Cmds(&[&["rm", "-rf", "/"]])),
    ("\\rm -rf x", Cmds(&[&["rm", "-rf", "x"]])),
    ("r\\m x", Cmds(&[&["rm", "x"]])),
    ("ls \"$HOME\"/x", Cmds(&[&["ls", "$HOME/x"]])),
    ("echo $'\\x72m'", Cmds(&[&["echo", "rm"]])),
    ("$'\\x72m' -rf /", Cmds(&[&["rm", "-rf", "/"]])),
    ("echo $'\\101\\u00e9\\t\\cA'", Cmds(&[&["echo", "A\u{e9}\t\u{1}"]])),
    ("echo a\\ b", Cmds(&[&["echo", "a b"]])),
    ("echo \"a\\\"b\"", Cmds(&[&["echo", "a\"b"]])),
    ("echo 'a\\\nb'", Cmds(&[&["echo", "a\\\nb"]])),
    ("echo \"a\\\nb\"", Cmds(&[&["echo", "ab"]])),
    ("echo $\"hi\"", Cmds(&[&["echo", "hi"]])),
    ("x=~/a:~/b ls", Cmds(&[&["ls"]])),
    ("ls {a,b}", Cmds(&[&["ls", "a", "b"]])),
    ("ls {a,$x}", Cmds(&[&["ls", "{a,$x}"]])),
    ("find . -exec cat {} \\;", Cmds(&[&["find", ".", "-exec", "cat", "{}", ";"]])),
    ("ls *", Cmds(&[&["ls", "*"]])),
    ("ls ~", Cmds(&[&["ls", "~"]])),
    ("ls @(a|b)", Cmds(&[&["ls", "@(a|b)"]])),
    ("echo $((1+2*3)) $[4<<1]", Cmds(&[&["echo", "$((1+2*3))", "$[4<<1]"]])),
    ("ls 2>/dev/null", Cmds(&[&["ls"]])),
    ("ls 2>&1", Cmds(&[&["ls"]])),
    ("[[ -f x && 3 -lt 4 ]]", Cmds(&[])),
    ("((1 + 2))", Cmds(&[])),
    ("command -v git", Cmds(&[&["command", "-v", "git"]])),
    ("command -V eval", Cmds(&[&["command", "-V", "eval"]])),
    ("command rm x", Cmds(&[&["command", "rm", "x"]])),
    ("command -p ls", Cmds(&[&["command", "-p", "ls"]])),
    ("! time ls", Cmds(&[&["time", "ls"]])),
    ("declare -p HOME", Cmds(&[&["declare", "-p", "HOME"]])),
    ("", Cmds(&[])),
    ("# just a comment\n# another", Cmds(&[])),
    ("ls #; rm x", Cmds(&[&["ls"]])),
    ("ls # foo \\\nrm x", Cmds(&[&["ls"], &["rm", "x"]])),
    // Opaque.
    ("\"$HOME\"/x", Opq(&[&["$HOME/x"]])),
    ("x=1; $x", Opq(&[&[], &["$x"]])),
    ("$(echo rm) -rf /", Opq(&[&["$(echo rm)", "-rf", "/"], &["echo", "rm"]])),
    ("`echo rm` x", Opq(&[&["echo", "rm"]])),
    ("*", Opq(&[])),
    ("~/bin/tool", Opq(&[])),
    ("{ls,-la}", Opq(&[])),
    ("f(){ rm -rf /; }; f", Opq(&[&["rm", "-rf", "/"], &["f"]])),
    ("function ls { rm -rf ~; }", Opq(&[&["rm", "-rf", "~"]])),
    ("echo ${x@P}", Opq(&[])),
    ("echo ${x@E}", Opq(&[])),
    ("echo ${!x}", Opq(&[])),
    ("echo ${!prefix*}", Opq(&[])),
    ("echo $((x=1))", Opq(&[])),
    ("((i++))", Opq(&[])),
    ("echo $((a[$(id)]))", Opq(&[&["id"]])),
    ("x='a[$(id)]'; echo $((x))", Opq(&[])),
    ("echo $(( $(wc -l < f) + 1 ))", Opq(&[&["wc", "-l"]])),
    ("echo ${a[$(id)]}", Opq(&[&["id"]])),
    ("echo ${s:$(id)}", Opq(&[&["id"]])),
    ("a[$(id)]=1", Opq(&[&["id"]])),
    ("[[ $x -eq 1 ]]", Opq(&[])),
    ("[[ -v a[$(id)] ]]", Opq(&[&["id"]])),
    ("for ((i=0;i<3;i++)); do ls; done", Opq(&[&["ls"]])),
    ("eval 'rm -rf /'", Opq(&[])),
    ("source ./x", Opq(&[])),
    (". ./x", Opq(&[])),
    ("exec rm x", Opq(&[])),
    ("trap 'rm x' EXIT", Opq(&[])),
    ("alias ls='rm -rf ~'", Opq(&[])),
    ("enable -f x.so y", Opq(&[])),
    ("builtin eval x", Opq(&[])),
    ("command eval x", Opq(&[])),
    ("command -p exec rm", Opq(&[])),
    ("command -x ls", Opq(&[])),
    ("command $c", Opq(&[])),
    ("! time eval x", Opq(&[])),
    ("let x=1", Opq(&[])),
    ("hash -p /tmp/evil ls", Opq(&[])),
    ("mapfile -C 'rm x' -c 1 arr < f", Opq(&[])),
    ("coproc cat", Opq(&[&["cat"]])),
    ("declare -n r=x", Opq(&[])),
    ("export PAGER='rm -rf ~'", Opq(&[])),
    ("local x=1", Opq(&[])),
    ("readonly x", Opq(&[])),
    ("printf -v 'a[$(id)]' x", Opq(&[])),
    ("read 'a[$(id)]'", Opq(&[])),
    ("cat {fd}>f", Opq(&[])),
    ("echo $'a\\0b'", Opq(&[])),
    ("echo $'\\xff'", Opq(&[])),
    ("echo $((", Opq(&[])),
    ("ls 'unterminated", Opq(&[])),
    ("ls \"$(\"", Opq(&[])),
    ("select x in a; do ls; done", Opq(&[])),
    ("cat <<\"\" ", Opq(&[])),
    ("cat <<'' ", Opq(&[])),
    ("$(<<  ", Opq(&[])),
    ("echo $(cat <<EOF\nit's )\nEOF\n)", Opq(&[])),
];

fn argvs(a: &Analysis) -> Vec<Vec<String>> {
    a.commands.iter().map(|c| c.argv.iter().map(|w| w.text.clone()).collect()).collect()
}

fn is_subsequence(want: &[&[&str]], got: &[Vec<String>]) -> bool {
    let mut it = got.iter();
    want.iter().all(|w| it.any(|g| g.iter().map(String::as_str).eq(w.iter().copied())))
}

#[test]
fn table() {
    let mut failures = Vec::new();
    for (input, want) in CASES {
        let a = analyze(input);
        let got = argvs(&a);
        let ok = match want {
            Cmds(exp) => {
                a.opaque.is_empty()
                    && got.len() == exp.len()
                    && got.iter().zip(exp.iter()).all(|(g, e)| g.iter().map(String::as_str).eq(e.iter().copied()))
            }
            Opq(exp) => !a.opaque.is_empty() && is_subsequence(exp, &got),
        };
        if !ok {
            failures.push(format!("{input:?}\n   got {got:?}\n   opaque {:?}", a.opaque));
        }
    }
    assert!(failures.is_empty(), "{} failing rows:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_opaque_has_a_reason() {
    for (input, _) in CASES {
        for o in analyze(input).opaque {
            assert!(!o.reason.trim().is_empty(), "{input:?}: {o:?}");
        }
    }
}

fn first(src: &str) -> SimpleCommand {
    let a = analyze(src);
    assert!(a.is_fully_understood(), "{src:?}: {:?}", a.opaque);
    a.commands.into_iter().next().unwrap_or_default()
}

#[test]
fn word_flags() {
    let rm = &first("'r''m' -rf /").argv[0];
    assert!(rm.literal && rm.quoted && rm.text == "rm" && rm.raw == "'r''m'");
    let home = &first("ls \"$HOME\"/x").argv[1];
    assert!(!home.literal && home.has_expansion && !home.has_glob);
    let star = &first("ls *.rs").argv[1];
    assert!(!star.literal && star.has_glob && star.text == "*.rs");
    let quoted_star = &first("ls '*.rs'").argv[1];
    assert!(quoted_star.literal && !quoted_star.has_glob);
    let tilde = &first("ls ~/x").argv[1];
    assert!(!tilde.literal && tilde.has_tilde);
    assert!(first("ls '~'").argv[1].literal);
    assert!(first("ls a~b").argv[1].literal);
    assert!(first("ls x=~").argv[1].has_tilde);
    assert!(first("ls --p=~").argv[1].literal);
    let brace = &first("ls {a,$x}").argv[1];
    assert!(!brace.literal && brace.has_brace);
    assert!(first("ls {1..3}").argv[1].literal);
    assert!(first("ls {1..300}").argv[1].has_brace);
    assert!(first("ls {}").argv[1].literal);
    assert!(first("ls '{a,b}'").argv[1].literal);
    assert!(!first("ls [ab]").argv[1].literal);
    assert!(first("echo $'\\x72m'").argv[1].literal);
    assert!(!first("echo $\"hi\"").argv[1].literal);
    assert!(!first("echo `id`").argv[1].literal);
    assert!(!first("echo $((1+1))").argv[1].literal);
    assert_eq!(first("echo é\\ ü").argv[1].text, "é ü");
}

#[test]
fn redirects() {
    let r = |src: &str| first(src).redirects;
    let one = |src: &str| {
        let rs = r(src);
        assert_eq!(rs.len(), 1, "{src:?}: {rs:?}");
        let x = &rs[0];
        (x.fd, x.op, x.target.text.clone(), x.target.literal)
    };
    use RedirectOp::*;
    assert_eq!(one("cat a > b"), (None, Write, "b".into(), true));
    assert_eq!(one("ls 2>/dev/null"), (Some(2), Write, "/dev/null".into(), true));
    assert_eq!(one("ls 2>&1"), (Some(2), DupOut, "1".into(), true));
    assert_eq!(one("ls >>log"), (None, Append, "log".into(), true));
    assert_eq!(one("wc < in"), (None, Read, "in".into(), true));
    assert_eq!(one("cat 3<> f"), (Some(3), ReadWrite, "f".into(), true));
    assert_eq!(one("ls >| f"), (None, Clobber, "f".into(), true));
    assert_eq!(one("ls &> f"), (None, WriteBoth, "f".into(), true));
    assert_eq!(one("ls &>> f"), (None, AppendBoth, "f".into(), true));
    assert_eq!(one("ls >& f"), (None, WriteBoth, "f".into(), true));
    assert_eq!(one("ls 2>&-"), (Some(2), Close, "-".into(), true));
    assert_eq!(one("cat <&3"), (None, DupIn, "3".into(), true));
    assert_eq!(one("cat <<< hi"), (None, HereString, "hi".into(), true));
    assert_eq!(one("cat <<'E'\n$x\nE\n"), (None, HereDoc, "$x\n".into(), true));
    assert_eq!(one("cat <<E\n$x\nE\n"), (None, HereDoc, "$x\n".into(), false));
    assert_eq!(one("ls > \"$f\""), (None, Write, "$f".into(), false));
    assert!(RedirectOp::Write.may_write_file() && !RedirectOp::DupOut.may_write_file());

    let a = analyze("{ ls; } > out");
    let inner = &a.commands[1];
    assert_eq!(inner.name(), Some("ls"));
    assert!(inner.redirects.iter().any(|x| x.op == Write && x.inherited && x.target.text == "out"));
    let outer = &a.commands[0];
    assert!(outer.argv.is_empty() && outer.redirects.iter().any(|x| x.op == Write && !x.inherited));
    let t = analyze("[[ -f x ]] > out");
    assert!(t.is_fully_understood());
    assert!(t.commands.len() == 1 && t.commands[0].redirects[0].op == Write);
}

#[test]
fn contexts_and_assignments() {
    let a = analyze("ls | grep x & echo $(id)");
    assert!(a.is_fully_understood());
    let c = &a.commands;
    assert!(c[0].context.in_pipeline && c[0].context.background);
    assert!(c[1].context.in_pipeline && c[1].context.background);
    assert!(!c[2].context.in_pipeline && !c[2].context.background);
    assert_eq!(c[0].context.pipeline, c[1].context.pipeline);
    assert_eq!((c[0].context.pipeline_stage, c[1].context.pipeline_stage), (0, 1));
    assert_ne!(c[1].context.pipeline, c[2].context.pipeline);
    assert_eq!(c[3].name(), Some("id"));
    assert!(c[3].context.substitution_depth == 1 && c[3].context.in_subshell);
    let s = analyze("(ls)");
    assert!(s.commands[0].context.in_subshell);
    let env = first("FOO=bar LANG=C ls");
    assert_eq!(env.assignments, vec!["FOO=bar".to_string(), "LANG=C".to_string()]);
    assert_eq!(env.name(), Some("ls"));
    assert_eq!(first("x=1").argv.len(), 0);
    assert_eq!(first("x=1").assignments, vec!["x=1".to_string()]);
    assert_eq!(first("$'ls'").name(), Some("ls"));
    assert_eq!(analyze("$x").commands[0].name(), None);
}

#[test]
fn opaque_kinds() {
    let kind = |src: &str| analyze(src).opaque.first().map(|o| o.kind);
    use OpaqueKind::*;
    assert_eq!(kind("ls 'x"), Some(ParseError));
    assert_eq!(kind("eval x"), Some(DynamicBuiltin));
    assert_eq!(kind("$x"), Some(DynamicCommandName));
    assert_eq!(kind("echo ${!x}"), Some(Expansion));
    assert_eq!(kind("((x=1))"), Some(Arithmetic));
    assert_eq!(kind("export x=1"), Some(Declaration));
    assert_eq!(kind("f() { :; }"), Some(FunctionDefinition));
    assert_eq!(kind("coproc ls"), Some(Coprocess));
    assert_eq!(kind("echo $'\\0'"), Some(Quoting));
    assert_eq!(kind(&"x".repeat(MAX_INPUT_BYTES + 1)), Some(TooLarge));
    let side = analyze("echo $((x=1))");
    assert!(side.opaque[0].reason.contains("side effects"), "{:?}", side.opaque);
}

/// Pathological inputs: each must come back opaque, quickly, without overflowing the
/// (2 MiB) test-thread stack. The bound is loose because tests run unoptimised; release
/// timings are in docs/parser.md.
#[test]
fn pathological_inputs_are_bounded() {
    let close = |open: &str, n: usize, mid: &str, close: &str| format!("{}{}{}", open.repeat(n), mid, close.repeat(n));
    let cases = vec![
        "$(".repeat(1000),
        "\"$(".repeat(1000),
        "$($(".repeat(5000),
        "`".repeat(1001),
        "${".repeat(1000),
        "$((".repeat(1000),
        "$( (".repeat(1000),
        "(".repeat(10_000),
        "((".repeat(10_000),
        "( ".repeat(30),
        "{ ".repeat(10_000),
        "if a; then ".repeat(5000),
        "[[ ".repeat(1000),
        "case x in x) ".repeat(2000),
        "while ".repeat(5000),
        close("$(", 100, "ls", ")"),
        close("\"$(", 100, "ls", ")\""),
        close("( ", 40, "ls", " )"),
        close("{ ", 40, "ls", "; }"),
        close("if a; then ", 40, "ls", "; fi"),
        close("$(echo ", 20, "ls", ")"),
        close("${x:-", 100, "x", "}"),
        close("$((", 100, "1", "))"),
        "a;".repeat(MAX_INPUT_BYTES / 2),
        "a\n".repeat(MAX_INPUT_BYTES / 2),
        format!("echo {}", "$(echo a) ".repeat(200)),
    ];
    for src in cases {
        let shown: String = src.chars().take(40).collect();
        let start = Instant::now();
        let a = analyze(&src);
        let took = start.elapsed();
        assert!(!a.is_fully_understood(), "{shown:?} should be opaque");
        assert!(took < Duration::from_secs(5), "{shown:?} took {took:?}");
    }
}

#[test]
fn large_ordinary_input_is_analysed() {
    let unit = "git log --oneline -n 5 | head -3\n";
    let src = unit.repeat(MAX_INPUT_BYTES / unit.len() / 4);
    let a = analyze(&src);
    assert!(a.is_fully_understood(), "{:?}", a.opaque);
    assert_eq!(a.commands.len(), 2 * (MAX_INPUT_BYTES / unit.len() / 4));
}

fn check_invariants(s: &str) {
    let a = analyze(s);
    if a.is_fully_understood() {
        for c in &a.commands {
            if let Some(w) = c.argv.first() {
                assert!(w.literal, "{s:?}: understood with non-literal name {w:?}");
            }
        }
    }
    assert_eq!(a, analyze(s), "{s:?}: not deterministic");
}

const META: &[&str] = &[
    "(",
    ")",
    "((",
    "))",
    "{",
    "}",
    "{ ",
    " }",
    "$(",
    "${",
    "$((",
    "$[",
    "]",
    "[",
    "`",
    "\"",
    "'",
    "\\",
    "\\\n",
    ";",
    ";;",
    "|",
    "||",
    "&",
    "&&",
    "\n",
    " ",
    "\t",
    "<",
    ">",
    ">>",
    "<<",
    "<<-",
    "<<<",
    "<(",
    ">(",
    "2>&1",
    ">&",
    "&>",
    "#",
    "$",
    "$x",
    "$'",
    "$\"",
    "@",
    "*",
    "?",
    "~",
    "!",
    ",",
    "..",
    "=",
    "a=",
    "-",
    ":-",
    "@(",
    "if ",
    "then ",
    "fi",
    "case ",
    " in ",
    "esac",
    "for ",
    "do ",
    "done",
    "while ",
    "function ",
    "() ",
    "coproc ",
    "[[ ",
    " ]]",
    "EOF",
    "E",
    "x",
    "ls",
    "rm",
    "é",
    "\\x",
    "%",
    "^",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_arbitrary_strings(s in any::<String>()) {
        check_invariants(&s);
    }

    #[test]
    fn never_panics_on_shell_metacharacters(
        parts in proptest::collection::vec(proptest::sample::select(META), 0..120)
    ) {
        check_invariants(&parts.concat());
    }

    #[test]
    fn never_panics_on_ascii_soup(s in "[ -~\n\t]{0,200}") {
        check_invariants(&s);
    }
}

/// Found by `cargo fuzz run analyze`: a huge file-descriptor number
/// overflowed the parser's integer and panicked it.
#[test]
fn a_huge_redirect_fd_is_opaque_not_a_panic() {
    for src in ["5555555555<x", "ls 99999999999>out", "5555555555<\u{4}\0<\"$\""] {
        let a = analyze(src);
        assert!(!a.is_fully_understood(), "{src:?}");
    }
}

/// The words of every command, with `literal` marked by a leading `=` (`=src`) and a glob
/// word by `*`, other computed words bare: `["ls", "=src"]` would not compare otherwise.
fn marked(a: &Analysis) -> Vec<Vec<String>> {
    a.commands
        .iter()
        .map(|c| {
            c.argv
                .iter()
                .map(|w| {
                    let mark = if w.literal {
                        "="
                    } else if w.has_glob && !w.has_brace && !w.has_expansion {
                        "*"
                    } else {
                        ""
                    };
                    format!("{mark}{}", w.text)
                })
                .collect()
        })
        .collect()
}

/// Brace expansion in argv: each row is an input, fully understood, and the words of every
/// command it gives (`=` literal, `*` glob, bare = computed).
const BRACE_CASES: &[(&str, &[&[&str]])] = &[
    ("ls {src,tests}", &[&["=ls", "=src", "=tests"]]),
    ("cat src/{main,lib}.rs", &[&["=cat", "=src/main.rs", "=src/lib.rs"]]),
    ("echo {a,{b,c}}", &[&["=echo", "=a", "=b", "=c"]]),
    ("echo {a,b}{1,2}", &[&["=echo", "=a1", "=a2", "=b1", "=b2"]]),
    ("echo {1..5}", &[&["=echo", "=1", "=2", "=3", "=4", "=5"]]),
    ("echo {5..3}", &[&["=echo", "=5", "=4", "=3"]]),
    ("echo {a..e}", &[&["=echo", "=a", "=b", "=c", "=d", "=e"]]),
    ("echo {01..03}", &[&["=echo", "=01", "=02", "=03"]]),
    ("echo {1..10..3}", &[&["=echo", "=1", "=4", "=7", "=10"]]),
    ("echo {-1..1}", &[&["=echo", "=-1", "=0", "=1"]]),
    ("cp f{,.bak}", &[&["=cp", "=f", "=f.bak"]]),
    ("echo {\"a b\",c}", &[&["=echo", "=a b", "=c"]]),
    ("echo {a,b}-'{x,y}'", &[&["=echo", "=a-{x,y}", "=b-{x,y}"]]),
    ("echo x{a{b,c}}", &[&["=echo", "=x{ab}", "=x{ac}"]]),
    ("ls -l {a,b}", &[&["=ls", "=-l", "=a", "=b"]]),
    ("git diff {HEAD,main} -- x", &[&["=git", "=diff", "=HEAD", "=main", "=--", "=x"]]),
    ("echo $(ls {a,b})", &[&["=echo", "$(ls {a,b})"], &["=ls", "=a", "=b"]]),
    ("time ls {a,b}", &[&["=ls", "=a", "=b"]]),
    ("command ls {a,b}", &[&["=command", "=ls", "=a", "=b"]]),
    // Glob words after brace expansion.
    ("ls {src,tests}/*.rs", &[&["=ls", "*src/*.rs", "*tests/*.rs"]]),
    // Not brace expressions: literal as before.
    ("echo x{a}", &[&["=echo", "=x{a}"]]),
    ("echo {}", &[&["=echo", "={}"]]),
    ("echo \"{a,b}\"", &[&["=echo", "={a,b}"]]),
    ("echo '{1..3}'", &[&["=echo", "={1..3}"]]),
    ("echo \\{a,b}", &[&["=echo", "={a,b}"]]),
    ("echo {a\\,b}", &[&["=echo", "={a,b}"]]),
    ("echo {a,b", &[&["=echo", "={a,b"]]),
    ("find . -name x -exec cat {} +", &[&["=find", "=.", "=-name", "=x", "=-exec", "=cat", "={}", "=+"]]),
    // Kept unexpanded (computed): an expansion in the word, forms bash and zsh read
    // differently, too many words, an empty word, assignment-like words.
    ("echo {a,$x}", &[&["=echo", "{a,$x}"]]),
    ("echo $x{a,b}", &[&["=echo", "$x{a,b}"]]),
    ("echo {1..3}$(id)", &[&["=echo", "{1..3}$(id)"], &["=id"]]),
    ("echo {a..1}", &[&["=echo", "{a..1}"]]),
    ("echo {Z..a}", &[&["=echo", "{Z..a}"]]),
    ("echo {1..300}", &[&["=echo", "{1..300}"]]),
    ("echo {1..10..0}", &[&["=echo", "{1..10..0}"]]),
    ("echo {1..9..-2}", &[&["=echo", "{1..9..-2}"]]),
    ("echo {+1..3}", &[&["=echo", "{+1..3}"]]),
    ("echo {a..e..2}", &[&["=echo", "{a..e..2}"]]),
    ("echo {,a}", &[&["=echo", "{,a}"]]),
    ("echo {'a'..c}", &[&["=echo", "{a..c}"]]),
    (
        "echo {1..2}{1..2}{1..2}{1..2}{1..2}{1..2}{1..2}{1..2}{1..2}",
        &[&["=echo", "{1..2}{1..2}{1..2}{1..2}{1..2}{1..2}{1..2}{1..2}{1..2}"]],
    ),
    ("echo a={b,c}", &[&["=echo", "a={b,c}"]]),
    ("x={a,b} ls", &[&["=ls"]]),
    ("ls > {a,b}", &[&["=ls"]]),
    ("cat <<< {a,b}", &[&["=cat"]]),
    ("[[ {a,b} == x ]]", &[]),
    // `set +B` (or anything like it) anywhere turns expansion off for the whole input.
    ("set +B; ls {a,b}", &[&["=set", "=+B"], &["=ls", "{a,b}"]]),
    ("ls {a,b}; shopt -uo braceexpand", &[&["=ls", "{a,b}"], &["=shopt", "=-uo", "=braceexpand"]]),
];

#[test]
fn brace_expansion_in_argv() {
    let mut failures = Vec::new();
    for (input, want) in BRACE_CASES {
        let a = analyze(input);
        let got = marked(&a);
        let ok = a.opaque.is_empty()
            && got.len() == want.len()
            && got.iter().zip(want.iter()).all(|(g, e)| g.iter().map(String::as_str).eq(e.iter().copied()));
        if !ok {
            failures.push(format!("{input:?}\n   got {got:?}\n   opaque {:?}", a.opaque));
        }
    }
    assert!(failures.is_empty(), "{} failing rows:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn brace_words_keep_their_meaning() {
    // Expanded words are plain words; unexpanded ones still say why they are computed.
    for w in &first("ls {src,tests}").argv[1..] {
        assert!(w.literal && !w.has_brace && !w.has_glob && !w.has_expansion, "{w:?}");
    }
    let src = &first("cat src/{main,lib}.rs").argv[1];
    assert_eq!((src.text.as_str(), src.raw.as_str()), ("src/main.rs", "src/main.rs"));
    let quoted = &first("echo {\"a b\",c}").argv[1];
    assert!(quoted.literal && quoted.quoted && quoted.raw == "\"a b\"");
    let glob = &first("ls {src,tests}/*.rs").argv[1];
    assert!(glob.has_glob && !glob.has_brace && !glob.literal && glob.raw == "src/*.rs");
    let tilde = &first("ls ~/{a,b}").argv[2];
    assert!(tilde.has_tilde && !tilde.has_brace && tilde.text == "~/b");
    for src in ["echo {a,$x}", "echo {1..300}", "echo {,a}", "echo a={b,c}"] {
        let w = &first(src).argv[1];
        assert!(w.has_brace && !w.literal, "{src:?}: {w:?}");
    }
    let r = &first("ls > {a,b}").redirects[0].target;
    assert!(r.has_brace && !r.literal);
    // The command name is not expanded: `{ls,-la}` is a computed name.
    assert!(!analyze("{ls,-la}").is_fully_understood());
    assert!(!analyze("{rm,-rf,/}").is_fully_understood());
}

/// Loops: each row is an input, fully understood, and the words of every command it gives
/// (`=` literal, `*` glob, bare = computed). A loop first gives the command of its
/// assignments (no words).
const LOOP_CASES: &[(&str, &[&[&str]])] = &[
    ("for f in a b c; do cat \"$f\"; done", &[&[], &["=cat", "=a"], &["=cat", "=b"], &["=cat", "=c"]]),
    ("for f in a b; do cat $f ${f} \"${f}\"; done", &[&[], &["=cat", "=a", "=a", "=a"], &["=cat", "=b", "=b", "=b"]]),
    ("for f in src/*.rs; do wc -l \"$f\"; done", &[&[], &["=wc", "=-l", "*src/*.rs"]]),
    ("for f in *.rs a.txt; do wc -l \"$f\"; done", &[&[], &["=wc", "=-l", "**.rs"], &["=wc", "=-l", "=a.txt"]]),
    ("for d in {src,tests}; do ls $d; done", &[&[], &["=ls", "=src"], &["=ls", "=tests"]]),
    ("for f in 'a b'; do cat \"$f\"; done", &[&[], &["=cat", "=a b"]]),
    ("for f in a b\ndo\n  cat \"$f\"\ndone", &[&[], &["=cat", "=a"], &["=cat", "=b"]]),
    (
        "for f in a b; do cat \"$f\" | wc -l; done",
        &[&[], &["=cat", "=a"], &["=wc", "=-l"], &["=cat", "=b"], &["=wc", "=-l"]],
    ),
    ("for f in a; do if [ -f \"$f\" ]; then cat \"$f\"; fi; done", &[&[], &["=[", "=-f", "=a", "=]"], &["=cat", "=a"]]),
    ("for f in a; do cat < \"$f\"; done", &[&[], &["=cat"]]),
    ("for c in ls pwd; do $c; done", &[&[], &["=ls"], &["=pwd"]]),
    (
        "for f in a b; do echo \"$(cat \"$f\")\"; done",
        &[&[], &["=echo", "$(cat \"$f\")"], &["=cat", "=a"], &["=echo", "$(cat \"$f\")"], &["=cat", "=b"]],
    ),
    (
        "for a in 1 2; do for b in x y; do echo \"$a\" \"$b\"; done; done",
        &[
            &[],
            &[],
            &["=echo", "=1", "=x"],
            &["=echo", "=1", "=y"],
            &[],
            &["=echo", "=2", "=x"],
            &["=echo", "=2", "=y"],
        ],
    ),
    // A use that is not exact stays computed; the rest is substituted.
    ("for f in 'a b'; do cat $f \"$f\"; done", &[&[], &["=cat", "$f", "=a b"]]),
    ("for f in '*'; do cat $f; done", &[&[], &["=cat", "$f"]]),
    ("for f in *.rs; do cat $f; done", &[&[], &["=cat", "$f"]]),
    ("for f in a; do cat \"$f.bak\" src/$f; done", &[&[], &["=cat", "$f.bak", "src/$f"]]),
    ("IFS=.; for f in a; do cat $f \"$f\"; done", &[&[], &[], &["=cat", "$f", "=a"]]),
    // Not unrolled: the body may assign the variable, or reads it in another way.
    ("for f in a b; do f=x; cat $f; done", &[&[], &[], &["=cat", "$f"]]),
    ("for f in a b; do f+=x cat \"$f\"; done", &[&[], &["=cat", "$f"]]),
    ("for f in a b; do read f; cat \"$f\"; done", &[&[], &["=read", "=f"], &["=cat", "$f"]]),
    ("for f in a b; do read; cat \"$f\"; done", &[&[], &["=read"], &["=cat", "$f"]]),
    ("for f in a b; do printf -v f x; cat \"$f\"; done", &[&[], &["=printf", "=-v", "=f", "=x"], &["=cat", "$f"]]),
    (
        "for f in ''; do echo ${f:=/etc/shadow}; cat \"$f\"; done",
        &[&[], &["=echo", "${f:=/etc/shadow}"], &["=cat", "$f"]],
    ),
    ("for f in a; do cat ${f%.rs} \"$f\"; done", &[&[], &["=cat", "${f%.rs}", "$f"]]),
    ("for f in a; do echo ${#f} \"$f\"; done", &[&[], &["=echo", "${#f}", "$f"]]),
    ("for f in a; do for f in b; do :; done; cat \"$f\"; done", &[&[], &[], &["=:"], &["=cat", "$f"]]),
    // Not unrolled: the list is computed, or the variable is special.
    ("for f in $(ls); do cat $f; done", &[&[], &["=ls"], &["=cat", "$f"]]),
    ("for f in $x; do cat \"$f\"; done", &[&[], &["=cat", "$f"]]),
    ("for f in ~/x; do cat $f; done", &[&[], &["=cat", "$f"]]),
    ("for f; do cat \"$f\"; done", &[&[], &["=cat", "$f"]]),
    ("for f in; do cat \"$f\"; done", &[&[], &["=cat", "$f"]]),
    ("for F in a; do cat \"$F\"; done", &[&[], &["=cat", "$F"]]),
    ("for _ in a; do cat \"$_\"; done", &[&[], &["=cat", "$_"]]),
    ("for path in /tmp; do ls \"$path\"; done", &[&[], &["=ls", "$path"]]),
    ("while read f; do cat \"$f\"; done", &[&["=read", "=f"], &["=cat", "$f"]]),
];

#[test]
fn for_loops_are_unrolled() {
    let mut failures = Vec::new();
    for (input, want) in LOOP_CASES {
        let a = analyze(input);
        let got = marked(&a);
        let ok = a.opaque.is_empty()
            && got.len() == want.len()
            && got.iter().zip(want.iter()).all(|(g, e)| g.iter().map(String::as_str).eq(e.iter().copied()));
        if !ok {
            failures.push(format!("{input:?}\n   got {got:?}\n   opaque {:?}", a.opaque));
        }
    }
    assert!(failures.is_empty(), "{} failing rows:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn a_loop_shows_what_it_assigns() {
    let assigns = |src: &str| analyze(src).commands[0].assignments.clone();
    assert_eq!(assigns("for f in a b; do :; done"), ["f=a", "f=b"]);
    assert_eq!(assigns("for PATH in /tmp; do ls; done"), ["PATH=/tmp"]);
    assert_eq!(assigns("for f in $(ls); do :; done"), ["f=$(ls)"]);
    assert_eq!(assigns("for f; do :; done"), ["f=\"$@\""]);
    let a = analyze("for f in a; do cat \"$f\"; done > out");
    assert!(a.commands.iter().all(|c| c.redirects.iter().any(|r| r.target.text == "out")), "{:?}", a.commands);
    // A computed command name found by unrolling is still checked.
    assert!(!analyze("for c in ls eval; do $c x; done").is_fully_understood());
    // `read c` in the second iteration assigns c: not unrolled, so `$c` is a computed name.
    assert!(!analyze("for c in echo read; do $c c; cat \"$c\"; done").is_fully_understood());
    assert!(!analyze("for f in a; do ((f++)); cat \"$f\"; done").is_fully_understood());
    assert!(!analyze("for ((i=0;i<3;i++)); do cat \"$i\"; done").is_fully_understood());
}

#[test]
fn loop_unrolling_is_bounded() {
    let words = |n: usize| (0..n).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ");
    let at_limit = analyze(&format!("for f in {}; do cat \"$f\"; done", words(walk::MAX_LOOP_VALUES)));
    assert_eq!(at_limit.commands.len(), 1 + walk::MAX_LOOP_VALUES);
    let over = analyze(&format!("for f in {}; do cat \"$f\"; done", words(walk::MAX_LOOP_VALUES + 1)));
    assert_eq!(marked(&over)[1..], [["=cat".to_string(), "$f".to_string()]]);
    // Nested loops share one budget of iterations; what is over it is walked once, computed.
    let nested = format!(
        "for a in {w}; do for b in {w}; do for c in {w}; do cat \"$a\" \"$b\" \"$c\"; done; done; done",
        w = words(60)
    );
    let start = Instant::now();
    let a = analyze(&nested);
    assert!(a.is_fully_understood());
    assert!(start.elapsed() < Duration::from_secs(5));
    let cats: Vec<_> = a.commands.iter().filter(|c| c.name() == Some("cat")).collect();
    assert!(cats.len() <= walk::MAX_UNROLLED_ITERATIONS * 2, "{}", cats.len());
    assert!(cats.iter().any(|c| c.argv.iter().any(|w| !w.literal)));
    // A brace list as long as allowed, and one longer.
    assert_eq!(first("echo {1..256}").argv.len(), 257);
    assert_eq!(first("echo {1..257}").argv.len(), 2);
    let deep = format!("echo {}", "{a,b}".repeat(2000));
    let start = Instant::now();
    assert_eq!(first(&deep).argv.len(), 2);
    let unmatched = format!("echo {}", "{".repeat(5000));
    assert_eq!(first(&unmatched).argv.len(), 2);
    assert!(start.elapsed() < Duration::from_secs(5));
}

/// Words whose brace expansion is compared with the real bash's, after quote removal.
const BASH_WORDS: &[&str] = &[
    "a{b,c}d",
    "{a,{b,c}}",
    "src/{main,lib}.rs",
    "{a,b}{1,2}{x,y}",
    "{1..5}",
    "{5..1}",
    "{a..e}",
    "{e..a}",
    "{A..C}",
    "{01..10}",
    "{1..010}",
    "{00..3}",
    "{-3..-1}",
    "{-03..1}",
    "{1..-2}",
    "{-0..2}",
    "{1..10..2}",
    "{10..1..3}",
    "{007..9}",
    "{a}",
    "{}",
    "{a,b",
    "a,b}",
    "}{a,b}",
    "{,}x{a,b}",
    "x{,}",
    "{a,}b",
    "{a{b,c}}",
    "{{a,b}}",
    "{a,{b},c}",
    "{a,b}{c",
    "{a,b}{}",
    "\"{a,b}\"",
    "'{a,b}'",
    "\\{a,b}",
    "{a\\,b}",
    "{a,b\\}",
    "{a\"{\"b,c}",
    "{\"a,b\",c}",
    "{'a'..c}",
    "{'',a}",
    "{\"\",a}",
    "{1...3}",
    "{1..3.}",
    "{1..3..}",
    "{1..3..x}",
    "{..,a}",
    "{a..}",
    "{..a}",
    "{a.,b}",
    "{a..b..c}",
    "{1..a}",
    "{a..1}",
    "x{a..1}y{b,c}",
    "{1..2}{a..b}",
    "{x,y}{1..3}z",
    "{a,b}'{c,d}'",
    "'{'a,b'}'",
    "{a,b}.{c,d}.{e,f}",
    "-{a,b}",
    "{-a,-b}",
    "{~,x}",
    "{é,ü}",
    "é{1..2}",
    "a\\ {b,c}",
    "{\\ ,a}",
    "\\ {,b}",
    "\\ {}a,b}",
    "a\\ {}a,b}",
    "{}a,b}",
    "x{}a,b}",
];

/// Runs `words` through the real bash: one line `<w1><w2>...` per input word.
fn bash_expansions(words: &[String]) -> Vec<String> {
    let mut script = String::from("set -f\n");
    for w in words {
        script.push_str(&format!("printf '<%s>' {w}; printf '\\n'\n"));
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("words.sh");
    std::fs::write(&file, script).unwrap();
    let out = std::process::Command::new("bash")
        .args(["--norc", "--noprofile"])
        .arg(&file)
        .current_dir(dir.path())
        .env("HOME", "/home/gate-test")
        .output()
        .expect("bash must be installed: this test compares brace expansion with the real bash");
    assert!(out.status.success(), "bash failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    assert_eq!(lines.len(), words.len(), "bash printed {text:?}");
    lines
}

/// What our expansion gives for `w`, in the same form, or `None` when it declines.
fn our_expansion(w: &str) -> Option<String> {
    let words = brace::expand(w)?;
    words
        .iter()
        .map(|r| {
            let w = lexer::lex(r, lexer::Mode::Word).word;
            // bash expands a tilde at the start of a resulting word (`~0` is $PWD).
            match w.text.as_str() {
                t if r == "~" || r.starts_with("~/") => Some(format!("<{}>", t.replacen('~', "/home/gate-test", 1))),
                _ if w.has_tilde => None,
                t => Some(format!("<{t}>")),
            }
        })
        .collect()
}

/// Compares our expansion with bash's on the words where ours answers (the others would
/// only cost bash's time: some expand to millions of words). Returns how many were compared.
fn compare_with_bash(words: &[String]) -> (usize, Vec<String>) {
    let ours: Vec<(&String, String)> = words.iter().filter_map(|w| Some((w, our_expansion(w)?))).collect();
    let sent: Vec<String> = ours.iter().map(|(w, _)| (*w).clone()).collect();
    let from_bash = bash_expansions(&sent);
    let diffs = ours
        .iter()
        .zip(&from_bash)
        .filter(|((_, o), b)| o != *b)
        .map(|((w, o), b)| format!("{w:?}: bash {b:?}, ours {o:?}"))
        .collect();
    (ours.len(), diffs)
}

#[test]
fn brace_expansion_matches_bash() {
    let words: Vec<String> = BASH_WORDS.iter().map(|s| s.to_string()).collect();
    let (compared, diffs) = compare_with_bash(&words);
    assert!(diffs.is_empty(), "brace expansion differs from bash:\n{}", diffs.join("\n"));
    assert!(compared * 4 >= BASH_WORDS.len() * 3, "only {compared} of {} words were expanded", BASH_WORDS.len());
}

/// Random words made of brace syntax, quotes and escapes (balanced, so bash parses them),
/// half of them built as brace expressions and then mutated: wherever our expansion
/// answers, it must be bash's.
#[test]
fn brace_expansion_matches_bash_on_random_words() {
    const ATOMS: &[&str] = &[
        "a", "b", "x", "1", "2", "0", "-", ".", "..", ",", "{", "}", "'a,b'", "a", "b", "c", "1", "src/", ".rs",
        "'a b'", "\"{\"", "'}'", "\\,", "\\{", "\\}", "''", "\"\"", "~", "Z", "é", "\"a b\"",
    ];
    // Atoms of the built half: no stray braces, so that most words are brace expressions.
    const PLAIN: &[&str] =
        &["a", "b", "x", "1", "0", "-", ".", "..", "'a,b'", "\\,", "''", "\"a b\"", "src/", ".rs", "~"];
    const SEQS: &[&str] =
        &["{1..3}", "{a..c}", "{C..A}", "{05..1..2}", "{-2..02}", "{1..10..4}", "{0..0}", "{x..x}", "{9..11}"];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    fn build(next: &mut dyn FnMut(usize) -> usize, depth: usize, out: &mut String) {
        for _ in 0..1 + next(3) {
            match next(6) {
                0 | 1 if depth < 3 => {
                    // Now and then a brace or a comma goes missing.
                    if next(12) != 0 {
                        out.push('{');
                    }
                    for k in 0..next(4) {
                        if k > 0 && next(12) != 0 {
                            out.push(',');
                        }
                        build(next, depth + 1, out);
                    }
                    if next(12) != 0 {
                        out.push('}');
                    }
                }
                2 => out.push_str(SEQS[next(SEQS.len())]),
                3 if next(4) == 0 => out.push_str(ATOMS[next(ATOMS.len())]),
                _ => out.push_str(PLAIN[next(PLAIN.len())]),
            }
        }
    }
    let mut words = Vec::new();
    for i in 0..4000 {
        let mut w = String::new();
        if i % 2 == 0 {
            build(&mut next, 0, &mut w);
        } else {
            for _ in 0..1 + next(10) {
                w.push_str(ATOMS[next(ATOMS.len())]);
            }
        }
        // A word bash would not parse as one argument (`{` alone is a reserved word only in
        // command position, but a lone `}` or `{` is kept out for clarity).
        if w != "{" && w != "}" {
            words.push(w);
        }
    }
    let (compared, diffs) = compare_with_bash(&words);
    assert!(diffs.is_empty(), "{} words expand unlike bash:\n{}", diffs.len(), diffs.join("\n"));
    let several = words.iter().filter(|w| brace::expand(w).is_some_and(|v| v.len() > 1)).count();
    assert!(compared * 2 > words.len(), "only {compared} of {} words were compared", words.len());
    assert!(several * 8 > words.len(), "only {several} of {} words expanded to several", words.len());
}

/// Openers and closers of every construct that nests, for the random nestings below.
const NESTERS: &[(&str, &str)] = &[
    ("[[ ! ", " ]]"),
    ("[[ ( ", " ) ]]"),
    ("! ", ""),
    ("( ", " )"),
    ("{ ", "; }"),
    ("$(", ")"),
    ("$((", "))"),
    ("${a:-", "}"),
    ("`", "`"),
    ("<(", ")"),
    ("cat <<E\n$(", ")\nE\n"),
    ("case x in a) ", " ;; esac"),
    ("if true; then ", "; fi"),
    ("while true; do ", "; done"),
    ("for i in a; do ", "; done"),
    ("f() { ", "; }"),
    ("function g { ", "; }"),
    ("a=($(", "))"),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// A random nesting of every construct, 30 to 400 levels deep: analysed (on this test
    /// thread's ordinary stack) without a panic or an overflow, and never fully understood.
    #[test]
    fn deep_random_nestings_are_opaque(levels in proptest::collection::vec(0..NESTERS.len(), 30..400)) {
        let mut src = String::new();
        for &i in &levels {
            src.push_str(NESTERS[i].0);
        }
        src.push_str("touch x");
        for &i in levels.iter().rev() {
            src.push_str(NESTERS[i].1);
        }
        let a = analyze(&src);
        prop_assert!(!a.is_fully_understood(), "{src}");
    }
}

/// The nesting counter counts runs of `!`, which the parser recurses on one level each.
#[test]
fn runs_of_bang_count_as_nesting() {
    let deep = |n: usize| analyze(&format!("[[ {}a ]]; ls", "! ".repeat(n)));
    assert!(deep(3).opaque.iter().all(|o| o.kind != OpaqueKind::TooComplex));
    let a = deep(12_000);
    assert!(a.opaque.iter().any(|o| o.kind == OpaqueKind::TooComplex), "{:?}", a.opaque);
    let a = analyze(&format!("{}ls", "! ".repeat(40)));
    assert!(a.opaque.iter().any(|o| o.kind == OpaqueKind::TooComplex), "{:?}", a.opaque);
}
