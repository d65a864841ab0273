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
    ("for f in $(rm x); do :; done", Cmds(&[&["rm", "x"], &[":"]])),
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
    ("ls {a,b}", Cmds(&[&["ls", "{a,b}"]])),
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
    let brace = &first("ls {a,b}").argv[1];
    assert!(!brace.literal && brace.has_brace);
    assert!(first("ls {1..3}").argv[1].has_brace);
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
