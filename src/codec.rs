//! A small binary encoding for what the cache stores (compiled policy files
//! and the floor): length-prefixed strings and lists, little-endian
//! integers, one tag byte per enum. It exists because decoding it takes a
//! fraction of the time TOML or JSON take, and the hook pays that cost on
//! every tool call. Decoding never panics: any malformed input is `None`,
//! which the cache treats as a miss.

use std::collections::BTreeMap;

use crate::action::Kind;
use crate::floor::{Floor, Operands, ProgramSpec, Sensitive, SpecialCheck};
use crate::policy::glob::Glob;
use crate::policy::load::{AcceptEdits, PolicyError, PolicyFile, Settings};
use crate::policy::rule::{Layer, LazyRegex, Matchers, Rule, ToolMatch, WordPat};
use crate::policy::Decision;

/// Bumped whenever an encoding below changes.
pub const VERSION: u8 = 7;

pub struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Reader<'a> {
    pub fn new(b: &'a [u8]) -> Reader<'a> {
        Reader { b, i: 0 }
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.i.checked_add(n)?;
        let s = self.b.get(self.i..end)?;
        self.i = end;
        Some(s)
    }
    pub fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|s| s[0])
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    pub fn at_end(&self) -> bool {
        self.i == self.b.len()
    }
}

pub trait Codec: Sized {
    fn put(&self, w: &mut Vec<u8>);
    fn get(r: &mut Reader<'_>) -> Option<Self>;
}

/// Encode a value with the version byte in front.
pub fn encode<T: Codec>(v: &T) -> Vec<u8> {
    let mut w = vec![VERSION];
    v.put(&mut w);
    w
}

/// Decode a value written by [`encode`]; `None` on any mismatch.
pub fn decode<T: Codec>(b: &[u8]) -> Option<T> {
    let mut r = Reader::new(b);
    if r.u8()? != VERSION {
        return None;
    }
    let v = T::get(&mut r)?;
    r.at_end().then_some(v)
}

impl Codec for bool {
    fn put(&self, w: &mut Vec<u8>) {
        w.push(u8::from(*self));
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        match r.u8()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
}

impl Codec for u64 {
    fn put(&self, w: &mut Vec<u8>) {
        w.extend_from_slice(&self.to_le_bytes());
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        let s = r.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Some(u64::from_le_bytes(a))
    }
}

impl Codec for usize {
    fn put(&self, w: &mut Vec<u8>) {
        (*self as u64).put(w);
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        usize::try_from(u64::get(r)?).ok()
    }
}

impl Codec for String {
    fn put(&self, w: &mut Vec<u8>) {
        w.extend_from_slice(&(self.len() as u32).to_le_bytes());
        w.extend_from_slice(self.as_bytes());
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        let n = r.u32()? as usize;
        std::str::from_utf8(r.take(n)?).ok().map(str::to_string)
    }
}

impl<T: Codec> Codec for Vec<T> {
    fn put(&self, w: &mut Vec<u8>) {
        w.extend_from_slice(&(self.len() as u32).to_le_bytes());
        for x in self {
            x.put(w);
        }
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        let n = r.u32()? as usize;
        // Every element takes at least one byte: refuse absurd lengths.
        if n > r.b.len() - r.i {
            return None;
        }
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(T::get(r)?);
        }
        Some(v)
    }
}

impl<T: Codec> Codec for std::sync::Arc<T> {
    fn put(&self, w: &mut Vec<u8>) {
        (**self).put(w);
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        T::get(r).map(std::sync::Arc::new)
    }
}

impl<T: Codec> Codec for Option<T> {
    fn put(&self, w: &mut Vec<u8>) {
        match self {
            None => w.push(0),
            Some(x) => {
                w.push(1);
                x.put(w);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        match r.u8()? {
            0 => Some(None),
            1 => Some(Some(T::get(r)?)),
            _ => None,
        }
    }
}

impl<T: Codec> Codec for BTreeMap<String, T> {
    fn put(&self, w: &mut Vec<u8>) {
        w.extend_from_slice(&(self.len() as u32).to_le_bytes());
        for (k, v) in self {
            k.put(w);
            v.put(w);
        }
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        let n = r.u32()? as usize;
        let mut m = BTreeMap::new();
        for _ in 0..n {
            let k = String::get(r)?;
            m.insert(k, T::get(r)?);
        }
        Some(m)
    }
}

impl<A: Codec, B: Codec> Codec for (A, B) {
    fn put(&self, w: &mut Vec<u8>) {
        self.0.put(w);
        self.1.put(w);
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        Some((A::get(r)?, B::get(r)?))
    }
}

/// A fieldless enum as one byte, by its position in `ALL`.
macro_rules! byte_enum {
    ($t:ty, [$($v:expr),+ $(,)?]) => {
        impl Codec for $t {
            fn put(&self, w: &mut Vec<u8>) {
                let all: &[$t] = &[$($v),+];
                w.push(all.iter().position(|x| x == self).unwrap_or(0) as u8);
            }
            fn get(r: &mut Reader<'_>) -> Option<Self> {
                let all: &[$t] = &[$($v),+];
                all.get(r.u8()? as usize).copied()
            }
        }
    };
}

byte_enum!(Decision, [Decision::Allow, Decision::Ask, Decision::Deny]);
byte_enum!(Layer, [Layer::Default, Layer::User, Layer::Project, Layer::Managed]);
byte_enum!(Operands, [Operands::Paths, Operands::Text, Operands::None]);
byte_enum!(
    SpecialCheck,
    [
        SpecialCheck::Find,
        SpecialCheck::Sed,
        SpecialCheck::Git,
        SpecialCheck::Echo,
        SpecialCheck::Printf,
        SpecialCheck::Test,
        SpecialCheck::Wrapper,
        SpecialCheck::Jq,
        SpecialCheck::Tar,
        SpecialCheck::Kill,
        SpecialCheck::Cd,
        SpecialCheck::Xxd,
        SpecialCheck::Printenv,
        SpecialCheck::Crontab,
        SpecialCheck::Dd,
        SpecialCheck::Read,
        SpecialCheck::Unzip,
        SpecialCheck::Date,
        SpecialCheck::Ps,
        SpecialCheck::Checksum,
        SpecialCheck::GitList,
        SpecialCheck::GitReflog,
        SpecialCheck::GitStash,
        SpecialCheck::GitWorktree,
        SpecialCheck::GitConfig,
        SpecialCheck::GitCatFile,
    ]
);
byte_enum!(
    Kind,
    [Kind::Shell, Kind::Read, Kind::Write, Kind::Edit, Kind::Search, Kind::Fetch, Kind::Mcp, Kind::Agent, Kind::Other]
);

impl Codec for Glob {
    fn put(&self, w: &mut Vec<u8>) {
        let (pattern, basename_only, slash_aware) = self.parts();
        pattern.to_string().put(w);
        basename_only.put(w);
        slash_aware.put(w);
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        Some(Glob::from_parts(String::get(r)?, bool::get(r)?, bool::get(r)?))
    }
}

impl Codec for LazyRegex {
    fn put(&self, w: &mut Vec<u8>) {
        self.source.put(w);
        self.literals.put(w);
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        let source = String::get(r)?;
        Some(LazyRegex::with_literals(&source, Codec::get(r)?))
    }
}

impl Codec for ToolMatch {
    fn put(&self, w: &mut Vec<u8>) {
        match self {
            ToolMatch::Kind(k) => {
                w.push(0);
                k.put(w);
            }
            ToolMatch::Name(n) => {
                w.push(1);
                n.put(w);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        match r.u8()? {
            0 => Some(ToolMatch::Kind(Kind::get(r)?)),
            1 => Some(ToolMatch::Name(String::get(r)?)),
            _ => None,
        }
    }
}

impl Codec for WordPat {
    fn put(&self, w: &mut Vec<u8>) {
        match self {
            WordPat::Exact(s) => {
                w.push(0);
                s.put(w);
            }
            WordPat::Glob(g) => {
                w.push(1);
                g.put(w);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        match r.u8()? {
            0 => Some(WordPat::Exact(String::get(r)?)),
            1 => Some(WordPat::Glob(Glob::get(r)?)),
            _ => None,
        }
    }
}

impl Codec for Matchers {
    fn put(&self, w: &mut Vec<u8>) {
        self.tool.put(w);
        self.command.put(w);
        self.command_regex.put(w);
        self.args.put(w);
        self.piped_into.put(w);
        self.path.put(w);
        self.url.put(w);
        self.domain.put(w);
        self.mcp.put(w);
        self.agent.put(w);
        self.cwd.put(w);
        self.writes_only.put(w);
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        Some(Matchers {
            tool: Codec::get(r)?,
            command: Codec::get(r)?,
            command_regex: Codec::get(r)?,
            args: Codec::get(r)?,
            piped_into: Codec::get(r)?,
            path: Codec::get(r)?,
            url: Codec::get(r)?,
            domain: Codec::get(r)?,
            mcp: Codec::get(r)?,
            agent: Codec::get(r)?,
            cwd: Codec::get(r)?,
            writes_only: Codec::get(r)?,
        })
    }
}

impl Codec for Rule {
    fn put(&self, w: &mut Vec<u8>) {
        self.id.put(w);
        self.decision.put(w);
        self.message.put(w);
        self.layer.put(w);
        self.origin.put(w);
        self.matchers.put(w);
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        Some(Rule {
            id: Codec::get(r)?,
            decision: Codec::get(r)?,
            message: Codec::get(r)?,
            layer: Codec::get(r)?,
            origin: Codec::get(r)?,
            matchers: Codec::get(r)?,
        })
    }
}

impl Codec for Settings {
    fn put(&self, w: &mut Vec<u8>) {
        self.ask_timeout.put(w);
        self.disable.put(w);
        self.approver.put(w);
        self.accept_edits.put(w);
        self.ask_via.put(w);
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        Some(Settings {
            ask_timeout: Codec::get(r)?,
            disable: Codec::get(r)?,
            approver: Codec::get(r)?,
            accept_edits: Codec::get(r)?,
            ask_via: Codec::get(r)?,
        })
    }
}

impl Codec for AcceptEdits {
    fn put(&self, w: &mut Vec<u8>) {
        w.push(match self {
            AcceptEdits::Follow => 0,
            AcceptEdits::Ask => 1,
        });
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        match r.u8()? {
            0 => Some(AcceptEdits::Follow),
            1 => Some(AcceptEdits::Ask),
            _ => None,
        }
    }
}

impl Codec for PolicyFile {
    fn put(&self, w: &mut Vec<u8>) {
        self.rules.put(w);
        self.settings.put(w);
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        Some(PolicyFile { rules: Codec::get(r)?, settings: Codec::get(r)? })
    }
}

impl Codec for PolicyError {
    fn put(&self, w: &mut Vec<u8>) {
        self.file.put(w);
        self.line.put(w);
        self.col.put(w);
        self.message.put(w);
        self.hint.put(w);
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        Some(PolicyError {
            file: Codec::get(r)?,
            line: Codec::get(r)?,
            col: Codec::get(r)?,
            message: Codec::get(r)?,
            hint: Codec::get(r)?,
        })
    }
}

impl Codec for ProgramSpec {
    fn put(&self, w: &mut Vec<u8>) {
        self.reason.put(w);
        self.short.put(w);
        self.short_arg.put(w);
        self.short_optional.put(w);
        self.harmless_flags.put(w);
        self.long.put(w);
        self.long_arg.put(w);
        self.long_optional.put(w);
        self.long_optional_next.put(w);
        self.words.put(w);
        self.words_arg.put(w);
        self.numeric.put(w);
        self.operands.put(w);
        self.max_operands.put(w);
        self.pattern_first.put(w);
        self.recursive.put(w);
        self.recursive_by_default.put(w);
        self.not_search.put(w);
        self.hidden.put(w);
        self.hidden_by_default.put(w);
        self.follow.put(w);
        self.include.put(w);
        self.include_void.put(w);
        self.no_bundles.put(w);
        self.keys.put(w);
        self.keys_path.put(w);
        self.bundles.put(w);
        self.bsd.put(w);
        self.check.put(w);
        self.sub.put(w);
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        Some(ProgramSpec {
            reason: Codec::get(r)?,
            short: Codec::get(r)?,
            short_arg: Codec::get(r)?,
            short_optional: Codec::get(r)?,
            harmless_flags: Codec::get(r)?,
            long: Codec::get(r)?,
            long_arg: Codec::get(r)?,
            long_optional: Codec::get(r)?,
            long_optional_next: Codec::get(r)?,
            words: Codec::get(r)?,
            words_arg: Codec::get(r)?,
            numeric: Codec::get(r)?,
            operands: Codec::get(r)?,
            max_operands: Codec::get(r)?,
            pattern_first: Codec::get(r)?,
            recursive: Codec::get(r)?,
            recursive_by_default: Codec::get(r)?,
            not_search: Codec::get(r)?,
            hidden: Codec::get(r)?,
            hidden_by_default: Codec::get(r)?,
            follow: Codec::get(r)?,
            include: Codec::get(r)?,
            include_void: Codec::get(r)?,
            no_bundles: Codec::get(r)?,
            keys: Codec::get(r)?,
            keys_path: Codec::get(r)?,
            bundles: Codec::get(r)?,
            bsd: Codec::get(r)?,
            check: Codec::get(r)?,
            sub: Codec::get(r)?,
        })
    }
}

impl Codec for Floor {
    fn put(&self, w: &mut Vec<u8>) {
        self.safe_env.put(w);
        self.program.put(w);
        self.sensitive.names.put(w);
        self.sensitive.dirs.put(w);
        self.sensitive.dir_names.put(w);
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        let safe_env = Codec::get(r)?;
        let program = Codec::get(r)?;
        let names = Codec::get(r)?;
        let dirs = Codec::get(r)?;
        let dir_names = Codec::get(r)?;
        Some(Floor::from_parts(safe_env, program, Sensitive { names, dirs, dir_names }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_files_and_the_floor_round_trip() {
        let macros =
            crate::policy::load::Macros { home: Some("/h".into()), gate_dirs: vec!["/g".into()], ..Default::default() };
        let f = crate::policy::load::parse(crate::config::DEFAULT_POLICY, "d", Layer::Default, &macros).unwrap();
        let back: PolicyFile = decode(&encode(&f)).unwrap();
        assert_eq!(format!("{:?}", back.rules), format!("{:?}", f.rules));
        let floor: Floor = toml::from_str(crate::floor::FLOOR_TOML).unwrap();
        let bytes = encode(&floor);
        let back: Floor = decode(&bytes).unwrap();
        assert_eq!(format!("{:?}", back.program), format!("{:?}", floor.program));
        // Truncated or corrupted input is a miss, never a panic.
        for cut in [0, 1, 7, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode::<Floor>(&bytes[..cut]).is_none());
        }
        let mut bad = bytes.clone();
        bad[0] = VERSION + 1;
        assert!(decode::<Floor>(&bad).is_none());
    }
}
