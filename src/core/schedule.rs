//! When a server runs next, from its interval setting.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone};

use crate::config::Interval;

/// How a started server is scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cadence {
    /// Once, now (Run now, Dry run, `run --once`).
    Once,
    /// Every `secs` seconds while started (the e-Shop Connector watching its print jobs).
    Poll {
        /// Seconds between two looks.
        secs: i64,
    },
    /// On its send and collect intervals: a run collects and sends, and happens when
    /// either interval is due.
    Intervals {
        /// The send interval.
        send: Interval,
        /// The collect interval.
        collect: Interval,
    },
}

/// The longest wait between two looks of a polling server that keeps failing.
pub const MAX_POLL_BACKOFF_SECS: i64 = 300;

/// When a server with `cadence`, started at `started`, runs next after its last run
/// began at `last_run`, `failures` runs in a row having failed; `None` when it is done.
/// A polling server that fails waits twice as long each time (up to
/// [`MAX_POLL_BACKOFF_SECS`]), so a device that is off is not asked every few seconds.
pub fn next_run<Tz: TimeZone>(
    cadence: &Cadence,
    started: &DateTime<Tz>,
    last_run: Option<&DateTime<Tz>>,
    failures: u32,
) -> Option<DateTime<Tz>> {
    match cadence {
        Cadence::Once => last_run.is_none().then(|| started.clone()),
        Cadence::Poll { secs } => {
            let wait = (*secs << failures.min(10)).min(MAX_POLL_BACKOFF_SECS.max(*secs));
            Some(last_run.map_or_else(|| started.clone(), |l| l.clone() + Duration::seconds(wait)))
        }
        Cadence::Intervals { send, collect } => {
            match (
                next_due(send, started, last_run),
                next_due(collect, started, last_run),
            ) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        }
    }
}

/// The next time a job with `interval` is due, or `None` when it never runs again.
///
/// - On server start: due at `started`, once.
/// - Every N minutes / hours: due at `started`, then N after the previous run began
///   (at once if a run took longer than the interval).
/// - Daily at HH:MM: due at the next HH:MM after the previous run (or after `started`);
///   a time skipped by a daylight-saving change runs an hour later, a repeated one once.
pub fn next_due<Tz: TimeZone>(
    interval: &Interval,
    started: &DateTime<Tz>,
    last_run: Option<&DateTime<Tz>>,
) -> Option<DateTime<Tz>> {
    match *interval {
        Interval::OnStart => match last_run {
            None => Some(started.clone()),
            Some(_) => None,
        },
        Interval::EveryMinutes { minutes } => Some(match last_run {
            None => started.clone(),
            Some(last) => last.clone() + Duration::minutes(i64::from(minutes.max(1))),
        }),
        Interval::EveryHours { hours } => Some(match last_run {
            None => started.clone(),
            Some(last) => last.clone() + Duration::hours(i64::from(hours.max(1))),
        }),
        Interval::Daily { hour, minute } => {
            let after = last_run.unwrap_or(started);
            let time =
                NaiveTime::from_hms_opt(u32::from(hour.min(23)), u32::from(minute.min(59)), 0)?;
            let tz = after.timezone();
            let mut date = after.date_naive();
            // Today's HH:MM if still ahead (strictly after a previous run), else tomorrow's.
            for _ in 0..3 {
                if let Some(candidate) = local_at(&tz, date, time) {
                    let ahead = if last_run.is_some() {
                        candidate > *after
                    } else {
                        candidate >= *after
                    };
                    if ahead {
                        return Some(candidate);
                    }
                }
                date = date.succ_opt()?;
            }
            None
        }
    }
}

fn local_at<Tz: TimeZone>(tz: &Tz, date: NaiveDate, time: NaiveTime) -> Option<DateTime<Tz>> {
    match tz.from_local_datetime(&date.and_time(time)) {
        LocalResult::Single(t) => Some(t),
        LocalResult::Ambiguous(earliest, _) => Some(earliest),
        LocalResult::None => {
            let shifted = date.and_time(time) + Duration::hours(1);
            tz.from_local_datetime(&shifted).earliest()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cadence_says_when_the_next_run_is() {
        let t0 = chrono::Utc::now();
        assert_eq!(next_run(&Cadence::Once, &t0, None, 0), Some(t0));
        assert_eq!(next_run(&Cadence::Once, &t0, Some(&t0), 0), None);
        let poll = Cadence::Poll { secs: 10 };
        let after = |s| Some(t0 + Duration::seconds(s));
        assert_eq!(next_run(&poll, &t0, Some(&t0), 0), after(10));
        assert_eq!(next_run(&poll, &t0, Some(&t0), 2), after(40), "backs off");
        assert_eq!(
            next_run(&poll, &t0, Some(&t0), 9),
            after(MAX_POLL_BACKOFF_SECS)
        );
        let both = Cadence::Intervals {
            send: Interval::EveryMinutes { minutes: 5 },
            collect: Interval::EveryMinutes { minutes: 2 },
        };
        assert_eq!(next_run(&both, &t0, Some(&t0), 3), after(120));
        let start_only = Cadence::Intervals {
            send: Interval::OnStart,
            collect: Interval::OnStart,
        };
        assert_eq!(next_run(&start_only, &t0, Some(&t0), 0), None);
    }
    use chrono::{FixedOffset, Utc};

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn on_start_runs_once() {
        let start = at("2026-11-28T10:00:00Z");
        assert_eq!(next_due(&Interval::OnStart, &start, None), Some(start));
        assert_eq!(next_due(&Interval::OnStart, &start, Some(&start)), None);
    }

    #[test]
    fn every_n_minutes_and_hours_count_from_the_previous_run() {
        let start = at("2026-11-28T10:00:00Z");
        let last = at("2026-11-28T10:07:00Z");
        let every15 = Interval::EveryMinutes { minutes: 15 };
        assert_eq!(next_due(&every15, &start, None), Some(start));
        assert_eq!(
            next_due(&every15, &start, Some(&last)),
            Some(at("2026-11-28T10:22:00Z"))
        );
        let every2h = Interval::EveryHours { hours: 2 };
        assert_eq!(
            next_due(&every2h, &start, Some(&last)),
            Some(at("2026-11-28T12:07:00Z"))
        );
    }

    #[test]
    fn daily_runs_at_the_next_hh_mm() {
        let daily = Interval::Daily {
            hour: 6,
            minute: 30,
        };
        let start = at("2026-11-28T05:00:00Z");
        assert_eq!(
            next_due(&daily, &start, None),
            Some(at("2026-11-28T06:30:00Z"))
        );
        let late = at("2026-11-28T07:00:00Z");
        assert_eq!(
            next_due(&daily, &late, None),
            Some(at("2026-11-29T06:30:00Z"))
        );
        let ran = at("2026-11-28T06:30:00Z");
        assert_eq!(
            next_due(&daily, &start, Some(&ran)),
            Some(at("2026-11-29T06:30:00Z"))
        );
        let exact = at("2026-11-28T06:30:00Z");
        assert_eq!(
            next_due(&daily, &exact, None),
            Some(exact),
            "starting at HH:MM runs then"
        );
    }

    #[test]
    fn daily_uses_the_local_clock() {
        let sofia_winter = FixedOffset::east_opt(2 * 3600).unwrap();
        let start = sofia_winter
            .with_ymd_and_hms(2026, 11, 28, 23, 0, 0)
            .unwrap();
        let daily = Interval::Daily { hour: 1, minute: 0 };
        let next = next_due(&daily, &start, None).unwrap();
        assert_eq!(
            next,
            sofia_winter
                .with_ymd_and_hms(2026, 11, 29, 1, 0, 0)
                .unwrap()
        );
        assert_eq!(next.with_timezone(&Utc), at("2026-11-28T23:00:00Z"));
    }
}
