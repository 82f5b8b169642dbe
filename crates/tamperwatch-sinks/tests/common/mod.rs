//! Helpers shared by the integration tests of this crate.

#![allow(clippy::unwrap_used, dead_code)]

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};

/// A table shaped like the deployed idempotency table: partition key `pk`, a string.
pub async fn create_idempotency_table(sdk: &aws_config::SdkConfig, table: &str) {
    aws_sdk_dynamodb::Client::new(sdk)
        .create_table()
        .table_name(table)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
}
