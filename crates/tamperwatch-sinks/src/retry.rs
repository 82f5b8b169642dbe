//! Exponential backoff with full jitter, bounded in attempts and in total time.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::config::RetryConfig;
use crate::error::SendAlertError;

/// How a delivery ended after its attempts.
#[derive(Debug)]
pub struct Attempts<T> {
    /// The final result.
    pub result: Result<T, SendAlertError>,
    /// How many attempts were made.
    pub attempts: u32,
}

/// Runs `attempt` until it succeeds, fails permanently, runs out of attempts, or the next wait
/// would pass `max_total_ms`. Each attempt is cut off at the attempt timeout.
pub async fn retry<T, F, Fut>(policy: &RetryConfig, mut attempt: F) -> Attempts<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SendAlertError>>,
{
    let start = Instant::now();
    let budget = Duration::from_millis(policy.max_total_ms);
    let max_attempts = policy.max_attempts.max(1);
    let mut n = 0;
    loop {
        n += 1;
        let left = budget.saturating_sub(start.elapsed());
        let timeout = policy
            .attempt_timeout()
            .min(left.max(Duration::from_millis(1)));
        let result = match tokio::time::timeout(timeout, attempt()).await {
            Ok(r) => r,
            Err(_) => Err(SendAlertError::Timeout(timeout)),
        };
        let error = match result {
            Ok(v) => {
                return Attempts {
                    result: Ok(v),
                    attempts: n,
                };
            }
            Err(e) => e,
        };
        if !error.is_retryable() || n >= max_attempts {
            return Attempts {
                result: Err(error),
                attempts: n,
            };
        }
        let wait = error.retry_after().unwrap_or_else(|| backoff(policy, n));
        if start.elapsed() + wait >= budget {
            return Attempts {
                result: Err(error),
                attempts: n,
            };
        }
        tokio::time::sleep(wait).await;
    }
}

/// Full jitter: a random wait up to `min(max_backoff, initial * 2^(attempt-1))`.
fn backoff(policy: &RetryConfig, attempt: u32) -> Duration {
    let exp = policy
        .initial_backoff_ms
        .saturating_mul(1u64 << (attempt - 1).min(20))
        .min(policy.max_backoff_ms);
    Duration::from_millis(fastrand::u64(0..=exp))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn policy() -> RetryConfig {
        RetryConfig {
            max_attempts: 4,
            initial_backoff_ms: 1,
            max_backoff_ms: 5,
            max_total_ms: 2_000,
            attempt_timeout_ms: 100,
        }
    }

    fn status(status: u16) -> SendAlertError {
        SendAlertError::Status {
            status,
            body: String::new(),
            retry_after: None,
        }
    }

    #[tokio::test]
    async fn retries_until_success() {
        let calls = AtomicU32::new(0);
        let r = retry(&policy(), || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(status(503))
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(r.result.unwrap(), 7);
        assert_eq!(r.attempts, 3);
    }

    #[tokio::test]
    async fn permanent_errors_are_not_retried() {
        let r: Attempts<()> = retry(&policy(), || async { Err(status(400)) }).await;
        assert_eq!(r.attempts, 1);
        assert!(!r.result.unwrap_err().is_retryable());
    }

    #[tokio::test]
    async fn bounded_by_attempts_and_time() {
        let r: Attempts<()> = retry(&policy(), || async { Err(status(500)) }).await;
        assert_eq!(r.attempts, 4);
        let slow = RetryConfig {
            max_total_ms: 250,
            ..policy()
        };
        let start = Instant::now();
        let r: Attempts<()> = retry(&slow, || async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Ok(())
        })
        .await;
        assert!(matches!(r.result, Err(SendAlertError::Timeout(_))));
        assert!(
            start.elapsed() < Duration::from_millis(600),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryConfig {
            initial_backoff_ms: 100,
            max_backoff_ms: 1000,
            ..policy()
        };
        for _ in 0..100 {
            assert!(backoff(&p, 1) <= Duration::from_millis(100));
            assert!(backoff(&p, 30) <= Duration::from_millis(1000));
        }
    }
}
