//! The record of deliveries made: (alert, channel) pairs, so a retried invocation does not
//! re-send to a channel that already has the alert, and the same event delivered twice alerts
//! once.
//!
//! Kept in memory for the life of the process (a warm Lambda remembers), and, when configured,
//! in a DynamoDB table (partition key `pk`, a string; TTL attribute `expires_at`) shared by every
//! invocation. A record is written only after the channel accepted the alert. If the table
//! cannot be read, the alert is sent anyway: a duplicate is better than a lost alert.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::AttributeValue;

/// Why the DynamoDB record could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("idempotency table {table}: {message}")]
pub struct LedgerError {
    table: String,
    message: String,
}

/// Delivered (alert, channel) pairs.
#[derive(Debug, Default)]
pub struct Ledger {
    memory: Mutex<HashSet<String>>,
    table: Option<Table>,
}

#[derive(Debug)]
struct Table {
    client: aws_sdk_dynamodb::Client,
    name: String,
    ttl_secs: u64,
}

fn key(dedup_key: &str, channel: &str) -> String {
    format!("{dedup_key}#{channel}")
}

impl Ledger {
    /// A ledger in memory only.
    pub fn in_memory() -> Ledger {
        Ledger::default()
    }

    /// A ledger backed by a DynamoDB table.
    pub fn with_table(client: aws_sdk_dynamodb::Client, table: String, ttl_days: u32) -> Ledger {
        Ledger {
            memory: Mutex::default(),
            table: Some(Table {
                client,
                name: table,
                ttl_secs: u64::from(ttl_days) * 86_400,
            }),
        }
    }

    /// Whether the alert was already delivered to the channel.
    pub async fn contains(&self, dedup_key: &str, channel: &str) -> Result<bool, LedgerError> {
        let k = key(dedup_key, channel);
        if self.memory.lock().map(|m| m.contains(&k)).unwrap_or(false) {
            return Ok(true);
        }
        let Some(t) = &self.table else {
            return Ok(false);
        };
        let out = t
            .client
            .get_item()
            .table_name(&t.name)
            .key("pk", AttributeValue::S(k.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| t.error(e))?;
        let found = out.item().is_some();
        if found {
            self.remember(k);
        }
        Ok(found)
    }

    /// Records that the alert was delivered to the channel.
    pub async fn record(&self, dedup_key: &str, channel: &str) -> Result<(), LedgerError> {
        let k = key(dedup_key, channel);
        self.remember(k.clone());
        let Some(t) = &self.table else { return Ok(()) };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        t.client
            .put_item()
            .table_name(&t.name)
            .item("pk", AttributeValue::S(k))
            .item("channel", AttributeValue::S(channel.to_owned()))
            .item("delivered_at", AttributeValue::N(now.to_string()))
            .item(
                "expires_at",
                AttributeValue::N((now + t.ttl_secs).to_string()),
            )
            .send()
            .await
            .map_err(|e| t.error(e))?;
        Ok(())
    }

    fn remember(&self, k: String) {
        if let Ok(mut m) = self.memory.lock() {
            // Bounded: a warm container forgets rather than grows without end.
            if m.len() >= 100_000 {
                m.clear();
            }
            m.insert(k);
        }
    }
}

impl Table {
    fn error<E: std::error::Error>(&self, e: E) -> LedgerError {
        LedgerError {
            table: self.name.clone(),
            message: aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string(),
        }
    }
}
