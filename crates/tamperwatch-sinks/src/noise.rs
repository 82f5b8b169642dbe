//! Noise control state: the counters of grouping and storm control
//! ([`tamperwatch_noise::NoiseState`]) and the Slack thread of each group. In memory for the
//! CLI and for a Lambda without a table; with one, in the DynamoDB table of the delivery ledger
//! ([`crate::ledger`]) under keys prefixed `noise#`, so concurrent Lambda invocations share one
//! count per group and per channel window, and later invocations find a group's thread.
//!
//! Each counter update is one `UpdateItem ... ADD` (atomic in DynamoDB); each item carries the
//! table's TTL attribute `expires_at`, a day after its window ends, so the table cleans itself.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use tamperwatch_noise::{MemoryState, NoiseState, Window};

/// Seconds an item outlives its window: long enough for a late retry to find it.
const KEEP_AFTER_WINDOW_SECS: i64 = 86_400;

/// Thread timestamps kept in memory at most (a warm container forgets rather than grows).
const MAX_THREADS: usize = 10_000;

/// Where grouping and rate-limit counters and Slack threads live.
#[derive(Debug)]
pub struct NoiseStore {
    counters: Counters,
    threads: Mutex<HashMap<String, String>>,
}

#[derive(Debug)]
enum Counters {
    Memory(MemoryState),
    Table(NoiseTable),
}

/// The DynamoDB table (partition key `pk`, TTL attribute `expires_at`).
#[derive(Debug)]
struct NoiseTable {
    client: aws_sdk_dynamodb::Client,
    name: String,
}

/// Why a counter or a thread could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("noise state {where_}: {message}")]
pub struct NoiseStateError {
    where_: String,
    message: String,
}

impl NoiseStore {
    /// State in this process's memory.
    pub fn in_memory() -> NoiseStore {
        NoiseStore {
            counters: Counters::Memory(MemoryState::new()),
            threads: Mutex::default(),
        }
    }

    /// State in a DynamoDB table.
    pub fn with_table(client: aws_sdk_dynamodb::Client, table: String) -> NoiseStore {
        NoiseStore {
            counters: Counters::Table(NoiseTable {
                client,
                name: table,
            }),
            threads: Mutex::default(),
        }
    }

    /// The Slack thread (`ts` of its first message) of `key`, if one was recorded.
    pub async fn thread(&self, key: &str) -> Result<Option<String>, NoiseStateError> {
        if let Some(ts) = self.threads.lock().ok().and_then(|m| m.get(key).cloned()) {
            return Ok(Some(ts));
        }
        match &self.counters {
            Counters::Memory(_) => Ok(None),
            Counters::Table(t) => t.get_text(&format!("noise#thread#{key}")).await,
        }
    }

    /// Records the Slack thread of `key` until `window` ends (and a day more).
    pub async fn set_thread(
        &self,
        key: &str,
        ts: &str,
        window: Window,
    ) -> Result<(), NoiseStateError> {
        if let Ok(mut m) = self.threads.lock() {
            if m.len() >= MAX_THREADS {
                m.clear();
            }
            m.insert(key.to_owned(), ts.to_owned());
        }
        match &self.counters {
            Counters::Memory(_) => Ok(()),
            Counters::Table(t) => t.put_text(format!("noise#thread#{key}"), ts, window).await,
        }
    }
}

fn expires_at(window: Window) -> AttributeValue {
    AttributeValue::N(
        window
            .ends_at
            .saturating_add(KEEP_AFTER_WINDOW_SECS)
            .to_string(),
    )
}

impl NoiseTable {
    fn error(&self, message: String) -> NoiseStateError {
        NoiseStateError {
            where_: format!("table {}", self.name),
            message,
        }
    }

    /// Adds `n` to the counter `pk` and returns its new value.
    async fn add(&self, pk: String, n: u64, window: Window) -> Result<u64, NoiseStateError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.name)
            .key("pk", AttributeValue::S(pk))
            .update_expression("ADD #c :n SET #e = :e")
            .expression_attribute_names("#c", "count")
            .expression_attribute_names("#e", "expires_at")
            .expression_attribute_values(":n", AttributeValue::N(n.to_string()))
            .expression_attribute_values(":e", expires_at(window))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| self.error(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()))?;
        out.attributes()
            .and_then(|a| a.get("count"))
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| self.error("UpdateItem returned no count".to_owned()))
    }

    async fn get_text(&self, pk: &str) -> Result<Option<String>, NoiseStateError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.name)
            .key("pk", AttributeValue::S(pk.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.error(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()))?;
        Ok(out
            .item()
            .and_then(|i| i.get("value"))
            .and_then(|v| v.as_s().ok())
            .cloned())
    }

    async fn put_text(
        &self,
        pk: String,
        value: &str,
        window: Window,
    ) -> Result<(), NoiseStateError> {
        self.client
            .put_item()
            .table_name(&self.name)
            .item("pk", AttributeValue::S(pk))
            .item("value", AttributeValue::S(value.to_owned()))
            .item("expires_at", expires_at(window))
            .send()
            .await
            .map_err(|e| self.error(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()))?;
        Ok(())
    }
}

impl NoiseState for NoiseStore {
    type Error = NoiseStateError;

    async fn add(&self, key: &str, window: Window, n: u64) -> Result<u64, NoiseStateError> {
        match &self.counters {
            Counters::Memory(m) => m.add(key, window, n).await.map_err(|e| NoiseStateError {
                where_: "memory".to_owned(),
                message: e.to_string(),
            }),
            Counters::Table(t) => {
                t.add(format!("noise#{key}#{}", window.index), n, window)
                    .await
            }
        }
    }
}
