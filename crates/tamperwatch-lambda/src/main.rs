//! The tamperwatch Lambda function (custom runtime `provided.al2023`).
//!
//! At cold start it reads the configuration (environment variables and the optional TOML file,
//! see `tamperwatch_sinks::env` and `tamperwatch_lambda::settings`), loads the built-in rule
//! catalog, resolves secrets and builds the clients, once. Each invocation is then one of:
//!
//! - CloudTrail events: [`tamperwatch_sinks::Pipeline::handle`] takes an EventBridge event, an
//!   SQS batch (answered with `batchItemFailures`), an SNS-wrapped event, or a new-log-file
//!   notification (the log files it names are read from S3); one alert per finding delivered to
//!   every routed channel. A delivery that finally fails, or a log file that cannot be read,
//!   fails the invocation (or that SQS record), with `errorType` `tamperwatch.RetryableError` or
//!   `tamperwatch.PermanentError`, so the platform retries and then dead-letters it.
//! - `{"tamperwatch": "drift"}` from an EventBridge schedule: the posture checks, alerting on
//!   what changed since the last run.

use std::time::Instant;

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::{Value, json};
use tamperwatch_lambda::{Function, Invocation, Task, invocation};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let started = Instant::now();
    let function = match Function::cold_start().await {
        Ok(f) => f,
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
            "channels": function.pipeline().notifier().channels().iter().map(|c| c.name()).collect::<Vec<_>>(),
            "init_ms": started.elapsed().as_secs_f64() * 1000.0,
        })
    );
    // The function lives as long as the process.
    let function: &'static Function = Box::leak(Box::new(function));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        handle(function, event)
    }))
    .await
}

fn permanent(message: String) -> Diagnostic {
    Diagnostic {
        error_type: "tamperwatch.PermanentError".into(),
        error_message: message,
    }
}

async fn handle(function: &Function, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let started = Instant::now();
    let kind = invocation(&event.payload).map_err(permanent)?;
    let result = match kind {
        Invocation::Events => events(function, &event.payload).await,
        Invocation::Task(Task::Drift) => drift(function).await,
    };
    eprintln!(
        "{}",
        json!({"level": "INFO", "tamperwatch": "handled", "request_id": event.context.request_id, "ok": result.is_ok(), "handler_ms": started.elapsed().as_secs_f64() * 1000.0})
    );
    result
}

async fn events(function: &Function, payload: &Value) -> Result<Value, Diagnostic> {
    let payload = serde_json::to_vec(payload)
        .map_err(|e| permanent(format!("cannot re-encode the event: {e}")))?;
    function
        .pipeline()
        .handle(&payload)
        .await
        .map_err(|e| Diagnostic {
            error_type: e.error_type().into(),
            error_message: e.to_string(),
        })
}

async fn drift(function: &Function) -> Result<Value, Diagnostic> {
    let now = jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .map_err(|e| permanent(e.to_string()))?;
    let run = function
        .drift(&now.to_string())
        .await
        .map_err(|message| Diagnostic {
            error_type: "tamperwatch.RetryableError".into(),
            error_message: format!("drift check: {message}"),
        })?;
    let summary = json!({"tamperwatch": "drift", "run": run});
    eprintln!("{summary}");
    if run.failed() {
        return Err(Diagnostic {
            error_type: "tamperwatch.RetryableError".into(),
            error_message: format!(
                "drift check: {} change(s) not delivered everywhere; the next run sends them again",
                run.deliveries.iter().filter(|d| d.failed()).count()
            ),
        });
    }
    Ok(
        json!({"checked": run.checked, "broke": run.broke.len(), "recovered": run.recovered.len(), "saved": run.saved}),
    )
}
