//! The `Window=` syntax: `[DAYS ]HH:MM-HH:MM`, several such spans separated by `;`,
//! optionally ending in ` TZ=<zone>`. DAYS is `*` (or nothing) for every day, or a
//! comma-separated list of days and ranges (`Mon..Fri`, `Sat,Sun`, `Fri..Mon` wraps round
//! the weekend). `24:00` may end a span; an end before the start runs past midnight. Pure,
//! except that a zone is looked up in the system's tz database to refuse a name that is not
//! one. The arithmetic of open and closed is `window`'s.

use crate::model::{Span, Window};

/// Day names as written, Monday first (bit 0 of `Span::days`).
const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
/// Every day of the week.
const EVERY_DAY: u8 = 0x7f;
const MINUTES_PER_DAY: u16 = 24 * 60;

/// One `Window=` value: its spans, its zone, and its text without the zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub spans: Vec<Span>,
    pub tz: Option<String>,
    pub text: String,
}

/// Parses one `Window=` value (not empty: an empty one resets, which is `read`'s concern).
pub fn line(v: &str) -> Result<Line, String> {
    let v = v.trim();
    let (body, tz) = match v.rsplit_once(char::is_whitespace) {
        Some((body, last)) if last.starts_with("TZ=") => (body.trim_end(), Some(zone(&last[3..])?)),
        _ if v.starts_with("TZ=") => return Err(format!("'{v}' has a time zone but no time range")),
        _ => (v, None),
    };
    if body.contains("TZ=") {
        return Err(format!("'{v}': TZ= comes last, once"));
    }
    let mut spans = Vec::new();
    let mut texts = Vec::new();
    for part in body.split(';').map(str::trim) {
        spans.push(span(part)?);
        texts.push(part.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    Ok(Line {
        spans,
        tz,
        text: texts.join("; "),
    })
}

/// The window of these lines (their union), in the zone they name. The caller has checked
/// that they do not name different zones.
pub fn combine(lines: &[Line]) -> Window {
    let tz = lines.iter().find_map(|l| l.tz.clone());
    let mut text = lines.iter().map(|l| l.text.as_str()).collect::<Vec<_>>().join("; ");
    if let Some(tz) = &tz {
        text = format!("{text} TZ={tz}");
    }
    Window {
        spans: lines.iter().flat_map(|l| l.spans.clone()).collect(),
        tz,
        text,
    }
}

/// A window from its text (`Window::text`, as stored with a last good policy).
pub fn window(text: &str) -> Result<Window, String> {
    line(text).map(|l| combine(&[l]))
}

/// `[DAYS ]HH:MM-HH:MM`.
fn span(part: &str) -> Result<Span, String> {
    let words: Vec<&str> = part.split_whitespace().collect();
    let Some((range, days)) = words.split_last() else {
        return Err("a window is empty: expected one like 'Mon..Fri 02:00-04:00'".into());
    };
    let days = match days.concat().as_str() {
        "" | "*" => EVERY_DAY,
        list => day_list(list)?,
    };
    let Some((start, end)) = range.split_once('-') else {
        return Err(format!("'{part}' has no time range (like Mon..Fri 02:00-04:00)"));
    };
    let start_min = time(start, false)?;
    let end_min = time(end, true)?;
    if start_min == end_min {
        return Err(format!("'{range}' is empty: it starts and ends at the same time"));
    }
    Ok(Span {
        days,
        start_min,
        end_min,
    })
}

/// `Mon..Fri,Sun`: the bits of those days.
fn day_list(list: &str) -> Result<u8, String> {
    let mut bits = 0;
    for item in list.split(',') {
        let bad = || format!("'{item}' is not a day ({})", DAYS.join(", "));
        let (first, last) = match item.split_once("..") {
            Some((a, b)) => (day(a).ok_or_else(bad)?, day(b).ok_or_else(bad)?),
            None => {
                let d = day(item).ok_or_else(bad)?;
                (d, d)
            }
        };
        let mut d = first;
        loop {
            bits |= 1 << d;
            if d == last {
                break;
            }
            d = (d + 1) % 7;
        }
    }
    Ok(bits)
}

/// 0 for Monday: `Mon` or `Monday`, in any case.
fn day(name: &str) -> Option<u8> {
    let lower = name.to_ascii_lowercase();
    const FULL: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    (0u8..7).find(|&i| FULL[i as usize] == lower || DAYS[i as usize].eq_ignore_ascii_case(&lower))
}

/// `HH:MM` as minutes after midnight; `24:00` only as an end.
fn time(text: &str, is_end: bool) -> Result<u16, String> {
    let bad = || format!("'{text}' is not a time of day (HH:MM)");
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    let digits = |s: &str, max_len: usize| !s.is_empty() && s.len() <= max_len && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(h, 2) || m.len() != 2 || !digits(m, 2) {
        return Err(bad());
    }
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    match (h, m) {
        (24, 0) if is_end => Ok(MINUTES_PER_DAY),
        (24, 0) => Err(format!("'{text}' is not a start time (00:00 to 23:59)")),
        (0..=23, 0..=59) => Ok(h * 60 + m),
        _ => Err(bad()),
    }
}

/// A zone that the system's tz database has.
fn zone(name: &str) -> Result<String, String> {
    if name.is_empty() {
        return Err("TZ= names no time zone".into());
    }
    jiff::tz::TimeZone::get(name)
        .map(|_| name.to_string())
        .map_err(|_| format!("'{name}' is not a time zone in this system's tz database (like Europe/Berlin or UTC)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span_of(days: u8, start: &str, end: &str) -> Span {
        Span {
            days,
            start_min: time(start, false).unwrap(),
            end_min: time(end, true).unwrap(),
        }
    }

    #[test]
    fn days_and_ranges() {
        for (text, days) in [
            ("Mon..Fri 02:00-04:00", 0b001_1111),
            ("Sat,Sun 02:00-04:00", 0b110_0000),
            ("Mon 02:00-04:00", 0b000_0001),
            ("Mon..Wed,Fri 02:00-04:00", 0b001_0111),
            ("Fri..Mon 02:00-04:00", 0b111_0001),
            ("fri..monday 02:00-04:00", 0b111_0001),
            ("Sat, Sun 02:00-04:00", 0b110_0000),
            ("* 02:00-04:00", EVERY_DAY),
            ("02:00-04:00", EVERY_DAY),
            ("Wed..Wed 02:00-04:00", 0b000_0100),
        ] {
            let l = line(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(l.spans, [span_of(days, "02:00", "04:00")], "{text}");
        }
    }

    #[test]
    fn times_past_midnight_and_the_end_of_day() {
        assert_eq!(
            line("Fri 23:00-02:00").unwrap().spans,
            [span_of(0b1_0000, "23:00", "02:00")]
        );
        assert_eq!(line("Sun 22:00-24:00").unwrap().spans[0].end_min, 1440);
        assert_eq!(line("9:05-9:30").unwrap().spans[0].start_min, 545);
    }

    #[test]
    fn several_spans_and_a_zone() {
        let l = line("Mon..Fri  02:00-04:00 ; Sat,Sun 01:00-06:00 TZ=Europe/Berlin").unwrap();
        assert_eq!(l.spans.len(), 2);
        assert_eq!(l.tz.as_deref(), Some("Europe/Berlin"));
        assert_eq!(l.text, "Mon..Fri 02:00-04:00; Sat,Sun 01:00-06:00");
        let w = combine(&[l, line("Wed 12:00-13:00").unwrap()]);
        assert_eq!(
            w.text,
            "Mon..Fri 02:00-04:00; Sat,Sun 01:00-06:00; Wed 12:00-13:00 TZ=Europe/Berlin"
        );
        assert_eq!(w.spans.len(), 3);
        assert_eq!(window(&w.text), Ok(w), "the text reads back as the same window");
    }

    #[test]
    fn bad_windows_name_the_bad_part() {
        for (text, says) in [
            (
                "Mon..Fry 02:00-04:00",
                "'Mon..Fry' is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)",
            ),
            ("Mon,,Fri 02:00-04:00", "'' is not a day"),
            ("Mon 25:00-04:00", "'25:00' is not a time of day (HH:MM)"),
            ("Mon 02:60-04:00", "'02:60' is not a time of day (HH:MM)"),
            ("Mon 2-4", "'2' is not a time of day (HH:MM)"),
            ("Mon 24:00-04:00", "'24:00' is not a start time"),
            ("Mon 02:00-02:00", "'02:00-02:00' is empty"),
            ("Mon..Fri", "'Mon..Fri' has no time range"),
            ("Mon 02:00-04:00;", "a window is empty"),
            ("Mon 02:00-04:00 TZ=Mars/Olympus", "'Mars/Olympus' is not a time zone"),
            ("Mon 02:00-04:00 TZ=", "TZ= names no time zone"),
            ("TZ=UTC", "has a time zone but no time range"),
            ("Mon 02:00-04:00 TZ=UTC; Tue 02:00-04:00", "TZ= comes last"),
        ] {
            let e = line(text).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}
