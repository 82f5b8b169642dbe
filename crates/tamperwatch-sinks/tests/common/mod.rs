//! What the integration tests share: the test servers' addresses, the AWS configuration for
//! moto, and a DynamoDB table shaped like the deployed one.

#![allow(dead_code, clippy::unwrap_used)]

pub use tamperwatch_testkit::server_var;

/// The SDK configuration for moto at `endpoint`.
pub async fn aws_config(endpoint: &str) -> aws_config::SdkConfig {
    tamperwatch_testkit::moto_sdk(endpoint).await
}

/// A table shaped like the deployed idempotency table, from an SDK configuration.
pub async fn create_idempotency_table(sdk: &aws_config::SdkConfig, table: &str) {
    create_table(&aws_sdk_dynamodb::Client::new(sdk), table).await;
}

/// Creates a table like the deployed one: partition key `pk` (string), on demand.
pub async fn create_table(ddb: &aws_sdk_dynamodb::Client, table: &str) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    ddb.create_table()
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

/// moto's SDK configuration, a DynamoDB client and a fresh table named `prefix-PID`; `None`
/// (skip) without moto outside CI.
pub async fn moto_table(
    prefix: &str,
) -> Option<(aws_config::SdkConfig, aws_sdk_dynamodb::Client, String)> {
    let moto = server_var("TAMPERWATCH_TEST_MOTO_URL")?;
    let sdk = aws_config(&moto).await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = format!("{prefix}-{}", std::process::id());
    create_table(&ddb, &table).await;
    Some((sdk, ddb, table))
}
