//! Glob patterns for paths, URLs and command words, matched without
//! compiling anything (so a policy with a thousand globs loads at once).
//! `*` matches within one path segment, `**` across segments, `?` one
//! character, `[abc]` / `[a-z]` / `[!x]` a class, and `\` escapes. A
//! pattern with no `/` is matched against the last path segment only, the
//! way `.gitignore` does.

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Glob {
    pattern: String,
    /// No `/` in the pattern: match the basename.
    basename_only: bool,
    /// `*` and `?` stop at `/` (paths); they cross it in URLs and words.
    slash_aware: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct GlobError(pub String);

impl Glob {
    /// A glob for paths (basename rule applies).
    pub fn path(pattern: &str) -> Result<Glob, GlobError> {
        validate(pattern)?;
        Ok(Glob {
            pattern: pattern.to_string(),
            basename_only: !pattern.contains('/'),
            slash_aware: pattern.contains('/'),
        })
    }

    /// A glob matched against the whole text (words, URLs, domains).
    pub fn whole(pattern: &str) -> Result<Glob, GlobError> {
        validate(pattern)?;
        Ok(Glob { pattern: pattern.to_string(), basename_only: false, slash_aware: false })
    }

    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// The glob's fields, for the cache's encoding.
    pub fn parts(&self) -> (&str, bool, bool) {
        (&self.pattern, self.basename_only, self.slash_aware)
    }

    /// Rebuild a glob from [`Glob::parts`] (a pattern validated when it was
    /// first compiled).
    pub fn from_parts(pattern: String, basename_only: bool, slash_aware: bool) -> Glob {
        Glob { pattern, basename_only, slash_aware }
    }

    pub fn is_match(&self, text: &str) -> bool {
        let text = if self.basename_only { text.rsplit('/').next().unwrap_or(text) } else { text };
        matches(self.pattern.as_bytes(), text.as_bytes(), self.slash_aware)
    }

    /// Does the pattern contain any wildcard?
    pub fn is_literal(&self) -> bool {
        !self.pattern.bytes().any(|b| matches!(b, b'*' | b'?' | b'[' | b'\\'))
    }
}

fn validate(p: &str) -> Result<(), GlobError> {
    let b = p.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                if i + 1 >= b.len() {
                    return Err(GlobError("a pattern cannot end with a lone `\\`".into()));
                }
                i += 2;
                continue;
            }
            b'[' => match class_end(b, i) {
                Some(end) => i = end,
                None => return Err(GlobError(format!("unclosed `[` at offset {i} in {p:?}"))),
            },
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// The index of the `]` closing the class opened at `start`.
fn class_end(p: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    if i < p.len() && (p[i] == b'!' || p[i] == b'^') {
        i += 1;
    }
    if i < p.len() && p[i] == b']' {
        i += 1;
    }
    while i < p.len() {
        if p[i] == b']' {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn class_match(p: &[u8], start: usize, end: usize, c: u8) -> bool {
    let mut i = start + 1;
    let negate = i < end && (p[i] == b'!' || p[i] == b'^');
    if negate {
        i += 1;
    }
    let mut hit = false;
    while i < end {
        if i + 2 < end && p[i + 1] == b'-' {
            hit |= p[i] <= c && c <= p[i + 2];
            i += 3;
        } else {
            hit |= p[i] == c;
            i += 1;
        }
    }
    hit != negate
}

/// Iterative glob matching with backtracking on the last star; `**`
/// crosses `/` when `slash_aware`, `*` never does.
fn matches(p: &[u8], t: &[u8], slash_aware: bool) -> bool {
    // Each frame: (pattern index, text index). Two levels of backtracking
    // points suffice: the last `*` and the last `**`.
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None; // single star: resume points
    let mut dstar: Option<(usize, usize)> = None; // double star
    loop {
        if pi < p.len() {
            match p[pi] {
                b'*' => {
                    let double = pi + 1 < p.len() && p[pi + 1] == b'*';
                    if double {
                        let mut next = pi + 2;
                        // `**/` also matches zero segments.
                        if next < p.len() && p[next] == b'/' {
                            next += 1;
                        }
                        dstar = Some((next, ti));
                        star = None;
                        pi = next;
                        continue;
                    }
                    star = Some((pi + 1, ti));
                    pi += 1;
                    continue;
                }
                b'?' if ti < t.len() && (!slash_aware || t[ti] != b'/') => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                b'[' => {
                    if let Some(end) = class_end(p, pi) {
                        if ti < t.len() && (!slash_aware || t[ti] != b'/') && class_match(p, pi, end, t[ti]) {
                            pi = end + 1;
                            ti += 1;
                            continue;
                        }
                    }
                }
                b'\\' if pi + 1 < p.len() && ti < t.len() && t[ti] == p[pi + 1] => {
                    pi += 2;
                    ti += 1;
                    continue;
                }
                b'\\' if pi + 1 < p.len() => {}
                c if c != b'*' && c != b'?' && c != b'[' && ti < t.len() && t[ti] == c => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                c if c != b'*' && c != b'?' && c != b'[' => {}
                _ => {}
            }
        } else if ti == t.len() {
            return true;
        }
        // Mismatch: backtrack.
        if let Some((sp, st)) = star {
            if st < t.len() && (!slash_aware || t[st] != b'/') {
                star = Some((sp, st + 1));
                pi = sp;
                ti = st + 1;
                continue;
            }
        }
        if let Some((dp, dt)) = dstar {
            if dt < t.len() {
                dstar = Some((dp, dt + 1));
                star = None;
                pi = dp;
                ti = dt + 1;
                continue;
            }
        }
        return false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_globs() {
        let cases: &[(&str, &str, bool)] = &[
            (".env*", "/p/.env", true),
            (".env*", "/p/.env.local", true),
            (".env*", "/p/x.env", false),
            ("*.pem", "/etc/ssl/a.pem", true),
            ("*.pem", "/etc/ssl/a.pem.bak", false),
            ("id_rsa*", "/home/u/.ssh/id_rsa.pub", true),
            ("/home/u/.ssh/**", "/home/u/.ssh/config", true),
            ("/home/u/.ssh/**", "/home/u/.ssh/keys/a", true),
            ("/home/u/.ssh/**", "/home/u/.sshx/a", false),
            ("/home/u/*/x", "/home/u/a/x", true),
            ("/home/u/*/x", "/home/u/a/b/x", false),
            ("**/.claude/settings.json", "/p/.claude/settings.json", true),
            ("**/.claude/settings.json", "/a/b/c/.claude/settings.json", true),
            ("**/.claude/settings.json", "/p/claude/settings.json", false),
            ("/src/**/*.rs", "/src/a/b/c.rs", true),
            ("/src/**/*.rs", "/src/c.rs", true),
            ("/src/**/*.rs", "/src/c.py", false),
            ("[ab].txt", "/x/a.txt", true),
            ("[!ab].txt", "/x/a.txt", false),
            ("[a-c]?.txt", "/x/b1.txt", true),
            ("\\*.txt", "/x/*.txt", true),
            ("\\*.txt", "/x/a.txt", false),
        ];
        for (pat, text, want) in cases {
            assert_eq!(Glob::path(pat).unwrap().is_match(text), *want, "{pat} vs {text}");
        }
    }

    #[test]
    fn whole_globs_and_errors() {
        assert!(Glob::whole("*.example.com").unwrap().is_match("api.example.com"));
        assert!(!Glob::whole("*.example.com").unwrap().is_match("example.com"));
        assert!(Glob::whole("https://github.com/*").unwrap().is_match("https://github.com/a/b"));
        assert!(Glob::path("[abc").is_err());
        assert!(Glob::path("abc\\").is_err());
    }

    #[test]
    fn pathological_patterns_stay_fast() {
        let p = Glob::whole(&"*a".repeat(30)).unwrap();
        let t = "a".repeat(200) + "b";
        let start = std::time::Instant::now();
        assert!(!p.is_match(&t));
        assert!(start.elapsed().as_millis() < 200);
    }
}
