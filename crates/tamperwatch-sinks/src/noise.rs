//! Noise control state for grouping and storm control ([`tamperwatch_noise::NoiseState`]):
//! in memory for the CLI and for a Lambda without a table, or in the DynamoDB table of the
//! delivery ledger ([`crate::ledger`]) under keys prefixed `noise#`, so concurrent Lambda
//! invocations share one count per group and per channel window.
//!
//! Each update is one `UpdateItem ... ADD` (atomic in DynamoDB); each item carries the table's
//! TTL attribute `expires_at`, a day after its window ends, so the table cleans itself.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use tamperwatch_noise::{MemoryState, NoiseState, Window};

/// Seconds an item outlives its window: long enough for a late retry to find it.
const KEEP_AFTER_WINDOW_SECS: i64 = 86_400;

/// Where grouping and rate-limit counters live.
#[derive(Debug)]
pub enum NoiseStore {
    /// This process's memory.
    Memory(MemoryState),
    /// A DynamoDB table (partition key `pk`, TTL attribute `expires_at`).
    Table(NoiseTable),
}

/// The DynamoDB side of [`NoiseStore`].
#[derive(Debug)]
pub struct NoiseTable {
    client: aws_sdk_dynamodb::Client,
    name: String,
}

/// Why a counter could not be updated.
#[derive(Debug, thiserror::Error)]
#[error("noise state {where_}: {message}")]
pub struct NoiseStateError {
    where_: String,
    message: String,
}

impl NoiseTable {
    /// The state in `table`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: String) -> NoiseTable {
        NoiseTable {
            client,
            name: table,
        }
    }

    /// Adds `n` to the counter `pk` and returns its new value.
    async fn add(&self, pk: String, n: u64, window: Window) -> Result<u64, NoiseStateError> {
        let error = |message: String| NoiseStateError {
            where_: format!("table {}", self.name),
            message,
        };
        let out = self
            .client
            .update_item()
            .table_name(&self.name)
            .key("pk", AttributeValue::S(pk))
            .update_expression("ADD #c :n SET #e = :e")
            .expression_attribute_names("#c", "count")
            .expression_attribute_names("#e", "expires_at")
            .expression_attribute_values(":n", AttributeValue::N(n.to_string()))
            .expression_attribute_values(
                ":e",
                AttributeValue::N(
                    window
                        .ends_at
                        .saturating_add(KEEP_AFTER_WINDOW_SECS)
                        .to_string(),
                ),
            )
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| error(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()))?;
        out.attributes()
            .and_then(|a| a.get("count"))
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| error("UpdateItem returned no count".to_owned()))
    }
}

impl NoiseState for NoiseStore {
    type Error = NoiseStateError;

    async fn add(&self, key: &str, window: Window, n: u64) -> Result<u64, NoiseStateError> {
        match self {
            NoiseStore::Memory(m) => m.add(key, window, n).await.map_err(memory),
            NoiseStore::Table(t) => {
                t.add(format!("noise#{key}#{}", window.index), n, window)
                    .await
            }
        }
    }
}

fn memory(e: tamperwatch_noise::storm::PoisonedError) -> NoiseStateError {
    NoiseStateError {
        where_: "memory".to_owned(),
        message: e.to_string(),
    }
}
