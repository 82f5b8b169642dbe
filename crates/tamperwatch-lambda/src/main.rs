//! The tamperwatch Lambda function (custom runtime `provided.al2023`).
//!
//! At cold start it reads the configuration (environment variables and the optional TOML file,
//! see `tamperwatch_sinks::env`), loads the built-in rule catalog, resolves secrets and builds
//! the clients, once. Each invocation then runs [`tamperwatch_sinks::Pipeline::handle`]: an
//! EventBridge event, an SQS batch (answered with `batchItemFailures`) or an SNS-wrapped event
//! in; one alert per finding delivered to every routed channel. A delivery that finally fails
//! fails the invocation (or that SQS record), with `errorType` `tamperwatch.RetryableError` or
//! `tamperwatch.PermanentError`, so the platform retries and then dead-letters it.

use std::time::Instant;

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::{Value, json};
use tamperwatch_detect::Detector;
use tamperwatch_sinks::{Config, Notifier, Pipeline};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let started = Instant::now();
    let pipeline = match cold_start().await {
        Ok(p) => p,
        Err(message) => {
            eprintln!(
                "{}",
                json!({"level": "ERROR", "tamperwatch": "init", "message": message})
            );
            return Err(message.into());
        }
    };
    eprintln!(
        "{}",
        json!({
            "level": "INFO",
            "tamperwatch": "ready",
            "channels": pipeline.notifier().channels().iter().map(|c| c.name()).collect::<Vec<_>>(),
            "init_ms": started.elapsed().as_secs_f64() * 1000.0,
        })
    );
    // The pipeline lives as long as the process.
    let pipeline: &'static Pipeline = Box::leak(Box::new(pipeline));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        handle(pipeline, event)
    }))
    .await
}

/// Configuration, catalog and clients, built once. The message never holds a secret.
async fn cold_start() -> Result<Pipeline, String> {
    let config = Config::from_env().map_err(|e| format!("configuration: {e}"))?;
    let rules = tamperwatch_catalog::load().map_err(|e| format!("rule catalog: {e}"))?;
    let notifier = Notifier::new(config)
        .await
        .map_err(|e| format!("channels: {e}"))?;
    Ok(Pipeline::new(Detector::new(rules), notifier))
}

async fn handle(pipeline: &Pipeline, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let started = Instant::now();
    let payload = serde_json::to_vec(&event.payload).map_err(|e| Diagnostic {
        error_type: "tamperwatch.PermanentError".into(),
        error_message: format!("cannot re-encode the event: {e}"),
    })?;
    let result = pipeline.handle(&payload).await;
    eprintln!(
        "{}",
        json!({"level": "INFO", "tamperwatch": "handled", "request_id": event.context.request_id, "ok": result.is_ok(), "handler_ms": started.elapsed().as_secs_f64() * 1000.0})
    );
    result.map_err(|e| Diagnostic {
        error_type: e.error_type().into(),
        error_message: e.to_string(),
    })
}
