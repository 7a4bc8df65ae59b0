//! How many batch requests the export keeps in flight, adapted to what the shop can take.
//!
//! A shop has a fixed number of PHP workers: below it, more batches in flight finish
//! more work per second at the same latency; above it, batches only wait in line, so
//! their latency grows with the number in flight. The controller starts at the client's
//! concurrency (2), adds one batch in flight after each round (as many finished batches
//! as were in flight) whose slowest batch's latency per item stays close to the best
//! seen, holds when the latency has grown, steps back when the round's mean jumped, and
//! halves on overload (5xx, 429, timeouts). The slowest, not the mean, decides growth: in
//! a round at one more than the shop's workers the first batches still find a free
//! worker, and the mean let the controller climb to 7 in flight on a 4-worker shop. A
//! ceiling from the server's settings bounds it. Latency is compared per item, so
//! batches of creates and of updates (which cost differently) are comparable to the best
//! of their own kind; batches much smaller than a full one are not used to judge (their
//! fixed cost per request dominates).
//!
//! The batches themselves are halved where a full one would leave the shop's workers
//! idle ([`Concurrency::next_batch_items`]): while the window is still growing (each
//! round at a level below the shop's workers leaves workers idle for a whole batch's
//! time: half batches halve that), and in the last round (the batches in flight end
//! one after another and the workers that finish first wait for the last: half
//! batches halve the wait). A half batch costs one more request's fixed time (about
//! 3 % of a full batch's on a real shop), so full batches carry the rest.

use std::time::Duration;

/// A latency per item up to this many times the best seen counts as "no queueing".
const GROW_BELOW: f64 = 1.2;
/// A latency per item beyond this many times the best seen is a jump: step back.
const SHRINK_ABOVE: f64 = 1.8;

/// The kind of batch finished, for comparing like with like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchKind {
    /// Creates.
    Create,
    /// Updates (and deletes).
    Update,
}

/// The adaptive number of batches in flight.
#[derive(Debug, Clone, PartialEq)]
pub struct Concurrency {
    current: usize,
    ceiling: usize,
    full_batch: usize,
    /// Best latency per item seen (seconds), per kind.
    best: [Option<f64>; 2],
    /// Latencies per item (seconds) of the round in progress.
    round: Vec<f64>,
    /// Every round so far added a batch in flight (and the ceiling is not reached).
    growing: bool,
}

impl Concurrency {
    /// Starts at `start` batches in flight (at least 1), never above `ceiling`; batches
    /// of `full_batch` items are full ones.
    pub fn new(start: usize, ceiling: usize, full_batch: usize) -> Concurrency {
        let ceiling = ceiling.max(1);
        Concurrency {
            current: start.clamp(1, ceiling),
            ceiling,
            full_batch: full_batch.max(1),
            best: [None, None],
            round: Vec::new(),
            growing: true,
        }
    }

    /// How many items the next batch should carry, with `remaining` items left to send
    /// (the next batch's among them): half a full batch while the window grows and in
    /// the last round (see the module's doc), a full one otherwise.
    pub fn next_batch_items(&self, remaining: usize) -> usize {
        let half = self.full_batch.div_ceil(2);
        let last_round = remaining <= self.current * self.full_batch;
        if (self.growing && self.current < self.ceiling) || last_round {
            half
        } else {
            self.full_batch
        }
    }

    /// Batches to keep in flight now.
    pub fn current(&self) -> usize {
        self.current
    }

    /// A batch of `kind` with `items` items finished well after `latency`.
    pub fn on_done(&mut self, kind: BatchKind, items: usize, latency: Duration) {
        if items * 2 < self.full_batch || items == 0 {
            return;
        }
        let per_item = latency.as_secs_f64() / items as f64;
        let slot = &mut self.best[kind as usize];
        let best = match *slot {
            Some(b) if b <= per_item => b,
            _ => {
                *slot = Some(per_item);
                per_item
            }
        };
        self.round.push(per_item / best);
        if self.round.len() < self.current {
            return;
        }
        let mean = self.round.iter().sum::<f64>() / self.round.len() as f64;
        let slowest = self.round.iter().copied().fold(0.0, f64::max);
        self.round.clear();
        if slowest <= GROW_BELOW {
            self.current = (self.current + 1).min(self.ceiling);
        } else {
            self.growing = false;
            if mean > SHRINK_ABOVE {
                self.current = (self.current - 1).max(1);
            }
        }
    }

    /// The shop said it is overloaded (5xx, 429) or did not answer in time.
    pub fn on_overload(&mut self) {
        self.current = (self.current / 2).max(1);
        self.round.clear();
        self.growing = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Latency of one batch of `items` with `in_flight` batches on a shop of `workers`
    /// that spends `per_item` on each item.
    fn latency(in_flight: usize, workers: usize, items: usize) -> Duration {
        let work = Duration::from_millis(70) * items as u32;
        let queue = (in_flight as f64 / workers as f64).max(1.0);
        work.mul_f64(queue)
    }

    fn settle(workers: usize, ceiling: usize) -> usize {
        let mut c = Concurrency::new(2, ceiling, 100);
        for _ in 0..40 {
            let n = c.current();
            c.on_done(BatchKind::Create, 100, latency(n, workers, 100));
        }
        c.current()
    }

    /// Sends `batches` batches of 100 creates (7 s of work each) through `c` to a shop
    /// with `workers` workers serving in order of arrival; gives the concurrency after
    /// each finished batch and the total time.
    fn run(c: &mut Concurrency, workers: usize, batches: usize) -> (Vec<usize>, f64) {
        const WORK: f64 = 7.0;
        let mut now = 0.0_f64;
        let mut free_at = vec![0.0_f64; workers];
        // (sent, finishes) of the batches in flight.
        let mut in_flight: Vec<(f64, f64)> = Vec::new();
        let (mut sent, mut levels) = (0, Vec::new());
        while levels.len() < batches {
            while in_flight.len() < c.current() && sent < batches {
                let w = (0..workers)
                    .min_by(|a, b| free_at[*a].total_cmp(&free_at[*b]))
                    .unwrap_or(0);
                let start = free_at[w].max(now);
                free_at[w] = start + WORK;
                in_flight.push((now, start + WORK));
                sent += 1;
            }
            let first = (0..in_flight.len())
                .min_by(|a, b| in_flight[*a].1.total_cmp(&in_flight[*b].1))
                .unwrap_or(0);
            let (at, done) = in_flight.remove(first);
            now = done;
            c.on_done(BatchKind::Create, 100, Duration::from_secs_f64(done - at));
            levels.push(c.current());
        }
        (levels, now)
    }

    #[test]
    fn on_a_shop_serving_in_order_it_settles_at_its_workers_near_the_floor() {
        for workers in [2, 4, 6] {
            let mut c = Concurrency::new(2, 16, 100);
            let (levels, took) = run(&mut c, workers, 60);
            let settled = &levels[levels.len() - 10..];
            assert!(
                settled.iter().all(|l| (workers..=workers + 1).contains(l)),
                "{workers} workers: {levels:?}"
            );
            // The goal: near the floor on shops of 2 and 4 workers (on more, 60
            // batches are mostly the climb of one per round).
            let floor = 60.0 * 7.0 / workers as f64;
            if workers <= 4 {
                assert!(
                    took <= floor * 1.1,
                    "{workers} workers: {took} s, floor {floor} s"
                );
            }
            let (_, fixed_two) = run(&mut Concurrency::new(2, 2, 100), workers, 60);
            assert!(took <= fixed_two, "{took} s against {fixed_two} s at two");
        }
    }

    #[test]
    fn it_grows_to_the_shops_workers_and_stays_near_them() {
        let two = settle(2, 16);
        assert!((2..=3).contains(&two), "{two}");
        let four = settle(4, 16);
        assert!((4..=5).contains(&four), "{four}");
        assert_eq!(settle(8, 3), 3, "the ceiling holds");
    }

    #[test]
    fn overload_halves_and_small_batches_do_not_judge() {
        let mut c = Concurrency::new(2, 10, 100);
        for _ in 0..20 {
            c.on_done(BatchKind::Update, 100, Duration::from_secs(5));
        }
        let high = c.current();
        assert!(high > 4, "{high}");
        c.on_overload();
        assert_eq!(c.current(), high / 2);
        let before = c.current();
        for _ in 0..10 {
            c.on_done(BatchKind::Update, 7, Duration::from_secs(60));
        }
        assert_eq!(c.current(), before);
        c.on_overload();
        c.on_overload();
        c.on_overload();
        assert_eq!(c.current(), 1, "never below one");
    }

    #[test]
    fn a_latency_jump_steps_back() {
        let mut c = Concurrency::new(4, 10, 100);
        for _ in 0..4 {
            c.on_done(BatchKind::Create, 100, Duration::from_secs(7));
        }
        assert_eq!(c.current(), 5);
        for _ in 0..5 {
            c.on_done(BatchKind::Create, 100, Duration::from_secs(14));
        }
        assert_eq!(c.current(), 4);
    }

    #[test]
    fn half_batches_while_the_window_grows_and_in_the_last_round_full_ones_between() {
        let mut c = Concurrency::new(2, 16, 100);
        assert_eq!(c.next_batch_items(10_000), 50, "growing");
        // Rounds without queueing: it grows and keeps halving.
        for _ in 0..2 {
            c.on_done(BatchKind::Create, 50, Duration::from_secs(4));
        }
        assert_eq!(c.current(), 3);
        assert_eq!(c.next_batch_items(10_000), 50);
        // A round whose slowest batch waited: it holds, and full batches follow.
        for latency in [4, 4, 6] {
            c.on_done(BatchKind::Create, 50, Duration::from_secs(latency));
        }
        assert_eq!(c.current(), 3);
        assert_eq!(c.next_batch_items(10_000), 100);
        // The last round (no more than the batches in flight carry) is halved again.
        assert_eq!(c.next_batch_items(301), 100);
        assert_eq!(c.next_batch_items(300), 50);
        // At the ceiling nothing grows: full batches until the last round.
        let top = Concurrency::new(2, 2, 100);
        assert_eq!(top.next_batch_items(10_000), 100);
        assert_eq!(top.next_batch_items(200), 50);
        // After an overload it no longer counts as growing.
        let mut o = Concurrency::new(4, 16, 100);
        o.on_overload();
        assert_eq!(o.next_batch_items(10_000), 100);
    }
}
