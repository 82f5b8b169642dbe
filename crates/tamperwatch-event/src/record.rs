//! The CloudTrail record, borrowed from the bytes it was read from.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::actor::Actor;
use crate::outcome::Outcome;

/// One CloudTrail record.
///
/// Only the fields tamperwatch reads on every record are typed; each is optional, because real
/// records omit many of them (Root and IAM-user identities have no `sessionContext`, service
/// events have no `userAgent`, ...). The whole record stays reachable as [`Record::raw`], so a
/// rule can match any field, named here or not.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    /// The record's JSON text, exactly as read.
    pub raw: &'a str,
    /// `eventVersion`, for example `1.09`.
    pub event_version: Option<Cow<'a, str>>,
    /// `eventTime`, RFC 3339 in UTC as CloudTrail writes it.
    pub event_time: Option<Cow<'a, str>>,
    /// `eventSource`, for example `cloudtrail.amazonaws.com`.
    pub event_source: Option<Cow<'a, str>>,
    /// `eventName`, the API operation, for example `StopLogging`.
    pub event_name: Option<Cow<'a, str>>,
    /// `eventType`: `AwsApiCall`, `AwsConsoleSignIn`, `AwsServiceEvent`, ...
    pub event_type: Option<Cow<'a, str>>,
    /// `eventID`, unique per record (the idempotency key).
    pub event_id: Option<Cow<'a, str>>,
    /// `awsRegion`.
    pub aws_region: Option<Cow<'a, str>>,
    /// `sourceIPAddress`: an IP address, or a service name for calls made by AWS services.
    pub source_ip_address: Option<Cow<'a, str>>,
    /// `userAgent`.
    pub user_agent: Option<Cow<'a, str>>,
    /// `errorCode`, present when the call failed.
    pub error_code: Option<Cow<'a, str>>,
    /// `errorMessage`, present when the call failed.
    pub error_message: Option<Cow<'a, str>>,
    /// `recipientAccountId`: the account the record was delivered to.
    pub recipient_account_id: Option<Cow<'a, str>>,
    /// `readOnly`.
    pub read_only: Option<bool>,
    /// `userIdentity`.
    pub user_identity: Option<UserIdentity<'a>>,
    /// `requestParameters`, untouched (often `null`).
    pub request_parameters: Option<&'a RawValue>,
    /// `responseElements`, untouched (often `null`).
    pub response_elements: Option<&'a RawValue>,
    /// `additionalEventData`, untouched.
    pub additional_event_data: Option<&'a RawValue>,
}

/// `userIdentity`: who made the call.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity<'a> {
    /// `type`: `Root`, `IAMUser`, `AssumedRole`, `FederatedUser`, `AWSAccount`, `AWSService`,
    /// `IdentityCenterUser`, `SAMLUser`, `WebIdentityUser`, `Unknown`, ...
    #[serde(rename = "type", borrow, default)]
    pub kind: Option<Cow<'a, str>>,
    /// `principalId`.
    #[serde(borrow, default)]
    pub principal_id: Option<Cow<'a, str>>,
    /// `arn`.
    #[serde(borrow, default)]
    pub arn: Option<Cow<'a, str>>,
    /// `accountId`.
    #[serde(borrow, default)]
    pub account_id: Option<Cow<'a, str>>,
    /// `accessKeyId`.
    #[serde(borrow, default)]
    pub access_key_id: Option<Cow<'a, str>>,
    /// `userName` (IAM users, and some SAML/web-identity/root records).
    #[serde(borrow, default)]
    pub user_name: Option<Cow<'a, str>>,
    /// `invokedBy`: the AWS service that made the call on the principal's behalf.
    #[serde(borrow, default)]
    pub invoked_by: Option<Cow<'a, str>>,
    /// `identityProvider` (SAML and web identity).
    #[serde(borrow, default)]
    pub identity_provider: Option<Cow<'a, str>>,
    /// `sessionContext`.
    #[serde(borrow, default)]
    pub session_context: Option<SessionContext<'a>>,
    /// `onBehalfOf` (IAM Identity Center users).
    #[serde(borrow, default)]
    pub on_behalf_of: Option<OnBehalfOf<'a>>,
}

/// `userIdentity.sessionContext`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionContext<'a> {
    /// `sessionIssuer`: the role (or user) that issued the session.
    #[serde(borrow, default)]
    pub session_issuer: Option<SessionIssuer<'a>>,
    /// `attributes`.
    #[serde(borrow, default)]
    pub attributes: Option<SessionAttributes<'a>>,
    /// `sourceIdentity`, set by the caller when assuming the role.
    #[serde(borrow, default)]
    pub source_identity: Option<Cow<'a, str>>,
}

/// `userIdentity.sessionContext.sessionIssuer`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionIssuer<'a> {
    /// `type`: `Role`, `IAMUser`, `Root`.
    #[serde(rename = "type", borrow, default)]
    pub kind: Option<Cow<'a, str>>,
    /// `arn` of the role.
    #[serde(borrow, default)]
    pub arn: Option<Cow<'a, str>>,
    /// `userName`: the role's name.
    #[serde(borrow, default)]
    pub user_name: Option<Cow<'a, str>>,
}

/// `userIdentity.sessionContext.attributes`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionAttributes<'a> {
    /// `mfaAuthenticated`: `"true"` or `"false"` (a string in CloudTrail).
    #[serde(borrow, default)]
    pub mfa_authenticated: Option<Cow<'a, str>>,
    /// `creationDate`.
    #[serde(borrow, default)]
    pub creation_date: Option<Cow<'a, str>>,
}

/// `userIdentity.onBehalfOf`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OnBehalfOf<'a> {
    /// `userId` in the identity store.
    #[serde(borrow, default)]
    pub user_id: Option<Cow<'a, str>>,
    /// `identityStoreArn`.
    #[serde(borrow, default)]
    pub identity_store_arn: Option<Cow<'a, str>>,
}

/// The three fields every record is first read for: enough to ask a rule index whether any rule
/// could match, before paying for the rest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Keys<'a> {
    /// `eventSource`.
    pub event_source: Option<&'a str>,
    /// `eventName`.
    pub event_name: Option<&'a str>,
    /// `userIdentity.type`.
    pub identity_type: Option<&'a str>,
}

/// What a record is first read into: [`Keys`], everything else skipped without being typed.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Head<'a> {
    #[serde(borrow, default)]
    event_source: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    event_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    user_identity: Option<HeadIdentity<'a>>,
}

#[derive(Deserialize)]
struct HeadIdentity<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
}

impl<'a> Head<'a> {
    /// The head of a record whose keys were skimmed without serde_json.
    pub(crate) fn from_keys(keys: Keys<'a>) -> Self {
        Head {
            event_source: keys.event_source.map(Cow::Borrowed),
            event_name: keys.event_name.map(Cow::Borrowed),
            user_identity: Some(HeadIdentity {
                kind: keys.identity_type.map(Cow::Borrowed),
            }),
        }
    }

    pub(crate) fn keys(&self) -> Keys<'_> {
        Keys {
            event_source: self.event_source.as_deref(),
            event_name: self.event_name.as_deref(),
            identity_type: self.user_identity.as_ref().and_then(|i| i.kind.as_deref()),
        }
    }
}

/// What [`Record::parse`] deserializes: the typed subset of a record.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Wire<'a> {
    #[serde(borrow, default)]
    event_version: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    event_time: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    event_source: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    event_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    event_type: Option<Cow<'a, str>>,
    #[serde(rename = "eventID", borrow, default)]
    event_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    aws_region: Option<Cow<'a, str>>,
    #[serde(rename = "sourceIPAddress", borrow, default)]
    source_ip_address: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    user_agent: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    error_code: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    error_message: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    recipient_account_id: Option<Cow<'a, str>>,
    #[serde(default)]
    read_only: Option<bool>,
    #[serde(borrow, default)]
    user_identity: Option<UserIdentity<'a>>,
    #[serde(borrow, default)]
    request_parameters: Option<&'a RawValue>,
    #[serde(borrow, default)]
    response_elements: Option<&'a RawValue>,
    #[serde(borrow, default)]
    additional_event_data: Option<&'a RawValue>,
}

/// Why a record could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ParseRecordError {
    /// The record is not a JSON object, or a typed field has the wrong type.
    #[error("not a CloudTrail record: {0}")]
    Shape(#[source] serde_json::Error),
    /// The record is larger than CloudTrail ever writes.
    #[error(
        "record is {size} bytes, larger than the {limit}-byte limit (CloudTrail records are at most 256 KiB)"
    )]
    TooLarge {
        /// The record's size in bytes.
        size: usize,
        /// The limit in force.
        limit: usize,
    },
}

impl<'a> Record<'a> {
    /// Reads the typed fields of one record from its JSON text.
    pub fn parse(raw: &'a RawValue, max_size: usize) -> Result<Self, ParseRecordError> {
        let text = raw.get();
        if text.len() > max_size {
            return Err(ParseRecordError::TooLarge {
                size: text.len(),
                limit: max_size,
            });
        }
        if !text.starts_with('{') {
            return Err(ParseRecordError::Shape(serde::de::Error::custom(
                "expected a JSON object",
            )));
        }
        let wire: Wire<'a> = serde_json::from_str(text).map_err(ParseRecordError::Shape)?;
        Ok(Record::from_wire(text, wire))
    }

    /// A record from its JSON text and the typed fields already read from that same text.
    pub(crate) fn from_wire(raw: &'a str, w: Wire<'a>) -> Self {
        Record {
            raw,
            event_version: w.event_version,
            event_time: w.event_time,
            event_source: w.event_source,
            event_name: w.event_name,
            event_type: w.event_type,
            event_id: w.event_id,
            aws_region: w.aws_region,
            source_ip_address: w.source_ip_address,
            user_agent: w.user_agent,
            error_code: w.error_code,
            error_message: w.error_message,
            recipient_account_id: w.recipient_account_id,
            read_only: w.read_only,
            user_identity: w.user_identity,
            request_parameters: w.request_parameters,
            response_elements: w.response_elements,
            additional_event_data: w.additional_event_data,
        }
    }

    /// The index keys of this record.
    pub fn keys(&self) -> Keys<'_> {
        Keys {
            event_source: self.event_source.as_deref(),
            event_name: self.event_name.as_deref(),
            identity_type: self.identity_type(),
        }
    }

    /// `userIdentity.type`, if any.
    pub fn identity_type(&self) -> Option<&str> {
        self.user_identity.as_ref()?.kind.as_deref()
    }

    /// The account the event belongs to: `recipientAccountId`, else the caller's account.
    pub fn account_id(&self) -> Option<&str> {
        self.recipient_account_id
            .as_deref()
            .or_else(|| self.user_identity.as_ref()?.account_id.as_deref())
    }

    /// Whether the call succeeded, was denied or failed otherwise.
    pub fn outcome(&self) -> Outcome {
        Outcome::of(self)
    }

    /// The readable principal behind the call.
    pub fn actor(&self) -> Actor {
        Actor::of(self)
    }

    /// Parses the whole record into a generic JSON value, for full rule evaluation. Costly:
    /// call it only for records that passed the rule index.
    pub fn to_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_str(self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_owned()).unwrap()
    }

    #[test]
    fn every_field_is_optional() {
        let r = raw("{}");
        let rec = Record::parse(&r, 1 << 20).unwrap();
        assert!(rec.event_name.is_none());
        assert!(rec.identity_type().is_none());
        assert!(rec.account_id().is_none());
    }

    #[test]
    fn nulls_are_absent() {
        let r = raw(
            r#"{"eventName":"StopLogging","requestParameters":null,"userIdentity":{"type":"Root","sessionContext":null}}"#,
        );
        let rec = Record::parse(&r, 1 << 20).unwrap();
        assert!(rec.request_parameters.is_none());
        assert_eq!(rec.identity_type(), Some("Root"));
    }

    #[test]
    fn escaped_strings_are_unescaped() {
        let r = raw(r#"{"userAgent":"a\"b\u00e9"}"#);
        let rec = Record::parse(&r, 1 << 20).unwrap();
        assert_eq!(rec.user_agent.as_deref(), Some("a\"bé"));
    }

    #[test]
    fn wrong_types_are_an_error() {
        let r = raw(r#"{"eventName":42}"#);
        let err = Record::parse(&r, 1 << 20).unwrap_err();
        assert!(err.to_string().contains("invalid type"), "{err}");
        let r = raw(r#"[1,2]"#);
        assert!(Record::parse(&r, 1 << 20).is_err());
    }

    #[test]
    fn oversized_records_are_refused() {
        let r = raw(&format!(r#"{{"x":"{}"}}"#, "a".repeat(100)));
        let err = Record::parse(&r, 50).unwrap_err();
        assert!(matches!(err, ParseRecordError::TooLarge { .. }));
    }

    #[test]
    fn account_falls_back_to_caller() {
        let r = raw(r#"{"userIdentity":{"accountId":"111122223333"}}"#);
        assert_eq!(
            Record::parse(&r, 1 << 20).unwrap().account_id(),
            Some("111122223333")
        );
        let r = raw(
            r#"{"recipientAccountId":"444455556666","userIdentity":{"accountId":"111122223333"}}"#,
        );
        assert_eq!(
            Record::parse(&r, 1 << 20).unwrap().account_id(),
            Some("444455556666")
        );
    }
}
