//! Per-source rate limit on the answers a port gives (Delay_Resp, Pdelay_Resp): a token
//! bucket per source address, in a table of bounded size.

use aptp_clock::Time;

/// One source's bucket.
#[derive(Clone, Copy, Debug)]
struct Bucket<A> {
    source: A,
    /// Answers still allowed, in millitokens (1000 = one answer).
    millitokens: u64,
    refilled_at: Time,
}

/// Token buckets per source: `rate_per_s` answers a second on average, bursts of up to one
/// second's worth. At most `capacity` sources are tracked; when full, the one heard from
/// least recently is forgotten (it starts again with a full bucket, so eviction can only
/// make the limit looser for that source, never refuse a legitimate one). Lookups are a
/// linear scan: the table is small and only requests that would be answered reach it.
#[derive(Debug)]
pub(crate) struct AnswerRateLimiter<A> {
    buckets: Vec<Bucket<A>>,
    capacity: usize,
}

impl<A: Copy + Eq> AnswerRateLimiter<A> {
    pub(crate) fn new(capacity: usize) -> Self {
        AnswerRateLimiter {
            buckets: Vec::new(),
            capacity: capacity.max(1),
        }
    }

    /// Sources tracked (never more than the capacity).
    pub(crate) fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Forgets every source (fault, disable).
    pub(crate) fn clear(&mut self) {
        self.buckets.clear();
    }

    /// True when `source` may be answered at `now` (and takes one answer from its bucket).
    pub(crate) fn allow(&mut self, now: Time, source: A, rate_per_s: u32) -> bool {
        let full = u64::from(rate_per_s.max(1)) * 1000;
        let index = match self.buckets.iter().position(|b| b.source == source) {
            Some(index) => index,
            None => {
                if self.buckets.len() >= self.capacity {
                    let oldest = self
                        .buckets
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, b)| b.refilled_at)
                        .map(|(index, _)| index);
                    if let Some(oldest) = oldest {
                        self.buckets.swap_remove(oldest);
                    }
                }
                self.buckets.push(Bucket {
                    source,
                    millitokens: full,
                    refilled_at: now,
                });
                self.buckets.len() - 1
            }
        };
        let bucket = &mut self.buckets[index];
        let elapsed_ns = if now > bucket.refilled_at {
            u64::try_from(now.since(bucket.refilled_at).nanos_rounded()).unwrap_or(u64::MAX)
        } else {
            0
        };
        // rate × elapsed: millitokens = rate/s × ns × 1000 / 1e9.
        let refill = u64::from(rate_per_s.max(1)).saturating_mul(elapsed_ns) / 1_000_000;
        bucket.millitokens = bucket.millitokens.saturating_add(refill).min(full);
        bucket.refilled_at = now;
        if bucket.millitokens >= 1000 {
            bucket.millitokens -= 1000;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_gets_its_rate_and_no_more_and_the_table_stays_bounded() {
        let mut limiter = AnswerRateLimiter::new(4);
        let start = Time::from_nanos(1_000_000_000);
        let ms = |n: u64| start + aptp_clock::TimeDelta::from_millis(n as i64);
        // 4 a second: a burst of 4, then one every 250 ms.
        let allowed = (0..100u64)
            .filter(|n| limiter.allow(ms(*n * 10), 7u32, 4))
            .count();
        assert_eq!(allowed, 4 + 3);
        // Another source is not affected.
        assert!(limiter.allow(ms(1_000), 8u32, 4));
        for source in 100..200u32 {
            limiter.allow(ms(2_000), source, 4);
        }
        assert_eq!(limiter.len(), 4);
    }
}
