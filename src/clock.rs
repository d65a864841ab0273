//! Wall-clock time as gate records it: milliseconds since the Unix epoch,
//! shown as RFC 3339 UTC with milliseconds (`2026-12-01T17:44:57.123Z`).
//! `shown` gives the local-zone form a person reads in `gate log`.
//! Also parses the times users type for `--since` / `--until`: an RFC 3339
//! instant, a bare date, or a span back from now (`90s`, `15m`, `2h`, `7d`).

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Format epoch milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let milli = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{milli:03}Z", sod / 3600, (sod % 3600) / 60, sod % 60)
}

/// Serialize epoch milliseconds as [`format_ms`] writes them, for a field
/// of a JSON output: `#[serde(serialize_with = "crate::clock::rfc3339")]`.
pub fn rfc3339<S: serde::Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_ms(*ms))
}

/// Append [`format_ms`] of `ms` to `out`, without building a `String`
/// (what an export does for every row).
pub fn write_ms(out: &mut Vec<u8>, ms: i64) {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        out.extend_from_slice(format_ms(ms).as_bytes());
        return;
    }
    let sod = secs.rem_euclid(86_400);
    let two = |n: i64| [b'0' + (n / 10) as u8, b'0' + (n % 10) as u8];
    let (m, d, milli) = (i64::from(m), i64::from(d), ms.rem_euclid(1000));
    let [y1, y2] = two(y / 100);
    let [y3, y4] = two(y % 100);
    let [m1, m2] = two(m);
    let [d1, d2] = two(d);
    let [h1, h2] = two(sod / 3600);
    let [n1, n2] = two(sod % 3600 / 60);
    let [s1, s2] = two(sod % 60);
    let [f1, f2] = two(milli / 10);
    let f3 = b'0' + (milli % 10) as u8;
    out.extend_from_slice(&[
        y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2, b'T', h1, h2, b':', n1, n2, b':', s1, s2, b'.', f1, f2, f3, b'Z',
    ]);
}

/// An instant as a person reads it: in the local time zone (from `TZ` or
/// the system's), or in UTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// `YYYY-MM-DD`
    pub date: String,
    /// `HH:MM:SS`
    pub time: String,
    /// The zone's abbreviation (`CET`, `UTC`) or offset (`+0530`).
    pub zone: String,
}

/// Show `ms` in the local zone, or in UTC when `utc`.
pub fn shown(ms: i64, utc: bool) -> Shown {
    if !utc {
        if let Some(s) = local(ms) {
            return s;
        }
    }
    let full = format_ms(ms);
    Shown { date: full[..10].to_string(), time: full[11..19].to_string(), zone: "UTC".into() }
}

fn local(ms: i64) -> Option<Shown> {
    let t: libc::time_t = ms.div_euclid(1000) as libc::time_t;
    // SAFETY: localtime_r writes only into `tm`, which we own; tm_zone then
    // points into the C library's static zone table (or is null).
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    if !ok {
        return None;
    }
    let zone = if tm.tm_zone.is_null() {
        String::new()
    } else {
        unsafe { std::ffi::CStr::from_ptr(tm.tm_zone) }.to_string_lossy().into_owned()
    };
    let off = tm.tm_gmtoff;
    let zone = if zone.is_empty() || zone.starts_with(['+', '-']) {
        format!("{}{:02}{:02}", if off < 0 { '-' } else { '+' }, off.abs() / 3600, (off.abs() % 3600) / 60)
    } else {
        zone
    };
    Some(Shown {
        date: format!("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday),
        time: format!("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec),
        zone,
    })
}

/// `HH:MM:SS` of an instant, UTC.
pub fn format_hms(ms: i64) -> String {
    let full = format_ms(ms);
    full[11..19].to_string()
}

// Howard Hinnant's days-from-civil algorithms.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parse a user-typed time into epoch milliseconds.
pub fn parse_time(s: &str, now: i64) -> Result<i64, String> {
    let s = s.trim();
    let hint = "use an RFC 3339 time (2026-12-01T09:30:00Z), a date (2026-12-01) \
                or a span back from now (30s, 15m, 2h, 7d)";
    if let Some(span) = parse_span(s) {
        return Ok(now - span);
    }
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        s.get(r).filter(|t| t.bytes().all(|c| c.is_ascii_digit())).and_then(|t| t.parse().ok())
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(format!("cannot read time {s:?}: {hint}"));
    }
    let (Some(y), Some(mo), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return Err(format!("cannot read time {s:?}: {hint}"));
    };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return Err(format!("cannot read time {s:?}: month or day out of range"));
    }
    let mut ms = days_from_civil(y, mo as u32, d as u32) * 86_400_000;
    if b.len() == 10 {
        return Ok(ms);
    }
    if !(b[10] == b'T' || b[10] == b' ') || b.len() < 19 || b[13] != b':' || b[16] != b':' {
        return Err(format!("cannot read time {s:?}: {hint}"));
    }
    let (Some(h), Some(mi), Some(se)) = (num(11..13), num(14..16), num(17..19)) else {
        return Err(format!("cannot read time {s:?}: {hint}"));
    };
    ms += (h * 3600 + mi * 60 + se) * 1000;
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits: String = frac.chars().take_while(|c| c.is_ascii_digit()).collect();
        let mut padded = digits.clone();
        padded.push_str("000");
        ms += padded[..3].parse::<i64>().unwrap_or(0);
        rest = &frac[digits.len()..];
    }
    match rest {
        "" | "Z" | "z" => Ok(ms),
        off if off.len() == 6 && (off.starts_with('+') || off.starts_with('-')) => {
            let oh: i64 = off[1..3].parse().map_err(|_| format!("bad offset in {s:?}"))?;
            let om: i64 = off[4..6].parse().map_err(|_| format!("bad offset in {s:?}"))?;
            let sign = if off.starts_with('+') { 1 } else { -1 };
            Ok(ms - sign * (oh * 3600 + om * 60) * 1000)
        }
        _ => Err(format!("cannot read time {s:?}: {hint}")),
    }
}

fn parse_span(s: &str) -> Option<i64> {
    let unit = s.chars().last()?;
    let n: i64 = s[..s.len() - unit.len_utf8()].parse().ok()?;
    let mult = match unit {
        's' => 1_000,
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => 86_400_000,
        'w' => 7 * 86_400_000,
        _ => return None,
    };
    n.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_round_trip() {
        for ms in [0, 1_764_611_097_123, 951_782_400_000, 4_102_444_800_999] {
            assert_eq!(parse_time(&format_ms(ms), 0), Ok(ms), "{}", format_ms(ms));
        }
        assert_eq!(format_ms(0), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn write_ms_writes_what_format_ms_gives() {
        let mut cases = vec![0, -1, 1, 999, -999, -1000, i64::MIN, i64::MAX, 253_402_300_799_999, 253_402_300_800_000];
        cases.extend([-62_167_219_200_000, -62_167_219_200_001, 1_764_611_097_123, 951_782_400_000, 4_102_444_800_999]);
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            cases.push((x as i64) % 400_000_000_000_000);
        }
        for ms in cases {
            let mut out = b"x".to_vec();
            write_ms(&mut out, ms);
            assert_eq!(String::from_utf8(out).unwrap(), format!("x{}", format_ms(ms)), "{ms}");
        }
    }

    #[test]
    fn parses_dates_spans_and_offsets() {
        let cases: &[(&str, i64)] = &[
            ("2026-12-01", 1_796_083_200_000),
            ("2026-12-01T01:00:00+01:00", 1_796_083_200_000),
            ("2026-12-01 00:00:01.5Z", 1_796_083_201_500),
            ("2h", 10_000_000 - 7_200_000),
            ("15m", 10_000_000 - 900_000),
        ];
        for (input, want) in cases {
            assert_eq!(parse_time(input, 10_000_000), Ok(*want), "{input}");
        }
        for bad in ["yesterday", "2026-13-01", "12/01/2026", "2026-12-01T10"] {
            assert!(parse_time(bad, 0).is_err(), "{bad}");
        }
    }
}
