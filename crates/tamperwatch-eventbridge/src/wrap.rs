//! The envelope EventBridge puts around a CloudTrail record.

use serde_json::{Value, json};

use crate::pattern::eventbridge_source;

/// The record cannot be wrapped as EventBridge would deliver it.
#[derive(Debug, thiserror::Error)]
pub enum WrapRecordError {
    /// Not a JSON object.
    #[error("a CloudTrail record is a JSON object")]
    NotAnObject,
    /// No `eventSource` string.
    #[error("the record has no eventSource")]
    NoEventSource,
    /// The eventSource is not an AWS service endpoint.
    #[error("eventSource {0:?} is not <service>.amazonaws.com")]
    NotAnAwsEventSource(String),
}

/// The `detail-type` EventBridge gives a CloudTrail record, from its `eventType` (a record
/// without one is an API call, or a console sign-in when its eventName is `ConsoleLogin`).
pub fn detail_type(record: &Value) -> &'static str {
    match record.get("eventType").and_then(Value::as_str) {
        Some("AwsConsoleSignIn") => "AWS Console Sign In via CloudTrail",
        Some("AwsConsoleAction") => "AWS Console Action via CloudTrail",
        Some("AwsServiceEvent") => "AWS Service Event via CloudTrail",
        Some(_) => "AWS API Call via CloudTrail",
        None if record.get("eventName").and_then(Value::as_str) == Some("ConsoleLogin") => {
            "AWS Console Sign In via CloudTrail"
        }
        None => "AWS API Call via CloudTrail",
    }
}

/// The CloudTrail `record` as EventBridge delivers it: under `detail`, with `source` =
/// `aws.<eventSource prefix>`, the `detail-type` of its eventType, and `account`, `region`
/// and `time` from the record.
pub fn wrap_record(record: &Value) -> Result<Value, WrapRecordError> {
    if !record.is_object() {
        return Err(WrapRecordError::NotAnObject);
    }
    let text = |key: &str| record.get(key).and_then(Value::as_str).unwrap_or_default();
    let event_source = record
        .get("eventSource")
        .and_then(Value::as_str)
        .ok_or(WrapRecordError::NoEventSource)?;
    let source = eventbridge_source(event_source)
        .ok_or_else(|| WrapRecordError::NotAnAwsEventSource(event_source.to_owned()))?;
    Ok(json!({
        "version": "0",
        "id": text("eventID"),
        "detail-type": detail_type(record),
        "source": source,
        "account": text("recipientAccountId"),
        "time": text("eventTime"),
        "region": text("awsRegion"),
        "resources": [],
        "detail": record,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn console_sign_ins_and_api_calls_get_their_detail_types() {
        let login = json!({"eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin"});
        let event = wrap_record(&login).unwrap();
        assert_eq!(event["source"], "aws.signin");
        assert_eq!(event["detail-type"], "AWS Console Sign In via CloudTrail");
        assert_eq!(event["detail"], login);
        let call = json!({"eventSource": "monitoring.amazonaws.com", "eventName": "DeleteAlarms",
            "eventType": "AwsApiCall", "awsRegion": "eu-west-1"});
        let event = wrap_record(&call).unwrap();
        assert_eq!(event["source"], "aws.monitoring");
        assert_eq!(event["detail-type"], "AWS API Call via CloudTrail");
        assert_eq!(event["region"], "eu-west-1");
        assert!(wrap_record(&json!({"eventName": "X"})).is_err());
        assert!(wrap_record(&json!([])).is_err());
    }
}
