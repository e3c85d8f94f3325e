//! A log-linear latency histogram: 32 buckets per power of two (about 3 % resolution),
//! fixed size, so recording a sample is an index computation and an add.

/// Sub-buckets per power of two (5 bits of mantissa).
const SUB: u64 = 32;
const SUB_BITS: u32 = 5;
/// Enough buckets for any `u64` nanosecond value.
const BUCKETS: usize = (SUB + (64 - SUB_BITS as u64) * SUB) as usize;

/// Counts of round-trip times, in nanoseconds.
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
}

impl Histogram {
    pub fn new() -> Self {
        Histogram { counts: vec![0; BUCKETS], total: 0 }
    }

    fn index(ns: u64) -> usize {
        if ns < SUB {
            return ns as usize;
        }
        let exp = 63 - ns.leading_zeros(); // >= SUB_BITS
        let mantissa = (ns >> (exp - SUB_BITS)) & (SUB - 1);
        (SUB + (exp - SUB_BITS) as u64 * SUB + mantissa) as usize
    }

    /// The middle of bucket `index`, in nanoseconds.
    fn value(index: usize) -> f64 {
        let index = index as u64;
        if index < SUB {
            return index as f64;
        }
        let exp = (index - SUB) / SUB + SUB_BITS as u64;
        let mantissa = (index - SUB) % SUB;
        let width = 1u64 << (exp - SUB_BITS as u64);
        ((SUB + mantissa) * width) as f64 + width as f64 / 2.0
    }

    pub fn record(&mut self, ns: u64) {
        let index = Self::index(ns);
        if let Some(count) = self.counts.get_mut(index) {
            *count += 1;
            self.total += 1;
        }
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.total += other.total;
    }

    /// The `q`-quantile (0 < q <= 1) in microseconds, or `None` without samples.
    pub fn quantile_us(&self, q: f64) -> Option<f64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Some(Self::value(index) / 1000.0);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_within_three_percent() {
        for ns in [0u64, 1, 31, 32, 33, 100, 1_000, 12_345, 1_000_000, 987_654_321, u64::MAX / 3] {
            let mid = Histogram::value(Histogram::index(ns));
            assert!((mid - ns as f64).abs() <= 0.035 * ns as f64 + 1.0, "{ns} -> {mid}");
        }
    }

    #[test]
    fn quantiles() {
        let mut h = Histogram::new();
        for us in 1..=100u64 {
            h.record(us * 1000);
        }
        let p50 = h.quantile_us(0.5).unwrap();
        let p99 = h.quantile_us(0.99).unwrap();
        assert!((48.0..=52.0).contains(&p50), "{p50}");
        assert!((96.0..=102.0).contains(&p99), "{p99}");
    }
}
