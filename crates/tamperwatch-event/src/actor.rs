//! Who made the call: one readable principal for every kind of `userIdentity`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::record::{Record, UserIdentity};

/// The `userIdentity.type` of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IdentityKind {
    /// The account's root user.
    Root,
    /// An IAM user.
    #[serde(rename = "IAMUser")]
    IamUser,
    /// A role session (including IAM Identity Center permission sets).
    AssumedRole,
    /// A federated user (`GetFederationToken`).
    FederatedUser,
    /// Another AWS account.
    #[serde(rename = "AWSAccount")]
    AwsAccount,
    /// An AWS service acting on its own.
    #[serde(rename = "AWSService")]
    AwsService,
    /// An IAM Identity Center user.
    IdentityCenterUser,
    /// A SAML-federated user.
    #[serde(rename = "SAMLUser")]
    SamlUser,
    /// A web-identity-federated user.
    WebIdentityUser,
    /// `Unknown`, or a type this version does not know.
    Unknown,
    /// The record has no `userIdentity.type`.
    Missing,
}

impl IdentityKind {
    fn parse(kind: Option<&str>) -> IdentityKind {
        match kind {
            None => IdentityKind::Missing,
            Some("Root") => IdentityKind::Root,
            Some("IAMUser") => IdentityKind::IamUser,
            Some("AssumedRole") => IdentityKind::AssumedRole,
            Some("FederatedUser") => IdentityKind::FederatedUser,
            Some("AWSAccount") => IdentityKind::AwsAccount,
            Some("AWSService") => IdentityKind::AwsService,
            Some("IdentityCenterUser") => IdentityKind::IdentityCenterUser,
            Some("SAMLUser") => IdentityKind::SamlUser,
            Some("WebIdentityUser") => IdentityKind::WebIdentityUser,
            Some(_) => IdentityKind::Unknown,
        }
    }

    /// CloudTrail's spelling of the type.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityKind::Root => "Root",
            IdentityKind::IamUser => "IAMUser",
            IdentityKind::AssumedRole => "AssumedRole",
            IdentityKind::FederatedUser => "FederatedUser",
            IdentityKind::AwsAccount => "AWSAccount",
            IdentityKind::AwsService => "AWSService",
            IdentityKind::IdentityCenterUser => "IdentityCenterUser",
            IdentityKind::SamlUser => "SAMLUser",
            IdentityKind::WebIdentityUser => "WebIdentityUser",
            IdentityKind::Unknown => "Unknown",
            IdentityKind::Missing => "Missing",
        }
    }
}

/// Whether the principal had signed in with MFA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mfa {
    /// MFA was used (`mfaAuthenticated: "true"`, or `MFAUsed: "Yes"` on a sign-in).
    Yes,
    /// MFA was not used.
    No,
    /// The record does not say.
    Unknown,
}

/// The principal behind a call, resolved from `userIdentity` (and, for console sign-ins,
/// `additionalEventData`). Every field is owned: an actor is built only for findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The identity type.
    pub kind: IdentityKind,
    /// One readable line naming the principal, for example
    /// `alice@example.com (IAM Identity Center, AdministratorAccess)` or `user/deploy`.
    pub name: String,
    /// `userIdentity.arn`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// `userIdentity.accountId`: the caller's account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// `userIdentity.accessKeyId`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// The role behind a role session (`sessionContext.sessionIssuer.userName`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_name: Option<String>,
    /// The role session name (last part of an assumed-role ARN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_name: Option<String>,
    /// The IAM Identity Center user behind an `AWSReservedSSO_*` role session, or an
    /// `IdentityCenterUser` identity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_center_user: Option<String>,
    /// `userIdentity.invokedBy`: the AWS service that called on the principal's behalf.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoked_by: Option<String>,
    /// Whether MFA was used.
    pub mfa: Mfa,
}

/// The prefix IAM Identity Center gives the roles it creates for permission sets.
const SSO_ROLE_PREFIX: &str = "AWSReservedSSO_";

impl Actor {
    /// Resolves the actor of a record. Never fails: a missing field only makes the name less
    /// specific.
    pub fn of(record: &Record<'_>) -> Actor {
        let empty = UserIdentity::default();
        let id = record.user_identity.as_ref().unwrap_or(&empty);
        let kind = IdentityKind::parse(id.kind.as_deref());
        let arn = id.arn.as_deref().filter(|s| !s.is_empty());
        let issuer = id
            .session_context
            .as_ref()
            .and_then(|c| c.session_issuer.as_ref());

        let (role_name, session_name) = match kind {
            IdentityKind::AssumedRole => {
                let (arn_role, arn_session) = arn.map(assumed_role_parts).unwrap_or((None, None));
                let role = issuer
                    .and_then(|i| i.user_name.as_deref())
                    .filter(|s| !s.is_empty())
                    .or(arn_role);
                (role.map(str::to_owned), arn_session.map(str::to_owned))
            }
            _ => (None, None),
        };
        let permission_set = role_name.as_deref().and_then(sso_permission_set);
        let identity_center_user = match kind {
            IdentityKind::AssumedRole if permission_set.is_some() => session_name.clone(),
            IdentityKind::IdentityCenterUser => id
                .user_name
                .as_deref()
                .or_else(|| id.on_behalf_of.as_ref()?.user_id.as_deref())
                .map(str::to_owned),
            _ => None,
        };

        let name = match kind {
            IdentityKind::Root => "root".to_owned(),
            IdentityKind::IamUser => {
                let user = id
                    .user_name
                    .as_deref()
                    .or_else(|| arn.and_then(last_segment));
                format!("user/{}", user.unwrap_or("?"))
            }
            IdentityKind::AssumedRole => match (&identity_center_user, permission_set) {
                (Some(user), Some(set)) => format!("{user} (IAM Identity Center, {set})"),
                _ => {
                    let role = role_name.as_deref().unwrap_or("?");
                    match &session_name {
                        Some(session) => format!("role/{role} (session {session})"),
                        None => format!("role/{role}"),
                    }
                }
            },
            IdentityKind::FederatedUser => {
                let user = arn.and_then(last_segment).or(id.user_name.as_deref());
                format!("federated-user/{}", user.unwrap_or("?"))
            }
            IdentityKind::AwsAccount => {
                let account = id.account_id.as_deref().or(id.principal_id.as_deref());
                format!("account {}", account.unwrap_or("?"))
            }
            IdentityKind::AwsService => id
                .invoked_by
                .as_deref()
                .or(id.principal_id.as_deref())
                .unwrap_or("AWS service")
                .to_owned(),
            IdentityKind::IdentityCenterUser => format!(
                "{} (IAM Identity Center)",
                identity_center_user.as_deref().unwrap_or("?")
            ),
            IdentityKind::SamlUser | IdentityKind::WebIdentityUser => {
                let user = id.user_name.as_deref().or(id.principal_id.as_deref());
                match id.identity_provider.as_deref() {
                    Some(idp) => format!("{} via {}", user.unwrap_or("?"), idp),
                    None => user.unwrap_or("?").to_owned(),
                }
            }
            IdentityKind::Unknown => {
                let who = id
                    .user_name
                    .as_deref()
                    .or(id.principal_id.as_deref())
                    .or(arn);
                format!("unknown ({})", who.unwrap_or("no principal"))
            }
            IdentityKind::Missing => "unknown (no userIdentity)".to_owned(),
        };

        Actor {
            kind,
            name,
            arn: arn.map(str::to_owned),
            account_id: id.account_id.as_deref().map(str::to_owned),
            access_key_id: id
                .access_key_id
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            role_name,
            session_name,
            identity_center_user,
            invoked_by: id.invoked_by.as_deref().map(str::to_owned),
            mfa: mfa_of(record, id),
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION` → (ROLE, SESSION).
fn assumed_role_parts(arn: &str) -> (Option<&str>, Option<&str>) {
    let Some((_, resource)) = arn.split_once(":assumed-role/") else {
        return (None, None);
    };
    match resource.split_once('/') {
        Some((role, session)) => (Some(role), Some(session)),
        None => (Some(resource), None),
    }
}

fn last_segment(arn: &str) -> Option<&str> {
    arn.rsplit('/')
        .next()
        .filter(|s| !s.is_empty() && !s.starts_with("arn:"))
}

/// `AWSReservedSSO_AdministratorAccess_0123456789abcdef` → `AdministratorAccess`.
fn sso_permission_set(role: &str) -> Option<&str> {
    let rest = role.strip_prefix(SSO_ROLE_PREFIX)?;
    Some(rest.rsplit_once('_').map_or(rest, |(set, _)| set))
}

fn mfa_of(record: &Record<'_>, id: &UserIdentity<'_>) -> Mfa {
    #[derive(Deserialize)]
    struct SignInData {
        #[serde(rename = "MFAUsed")]
        mfa_used: Option<String>,
    }
    if let Some(raw) = record.additional_event_data
        && let Ok(SignInData {
            mfa_used: Some(used),
        }) = serde_json::from_str(raw.get())
    {
        return if used.eq_ignore_ascii_case("yes") {
            Mfa::Yes
        } else {
            Mfa::No
        };
    }
    let attributes = id
        .session_context
        .as_ref()
        .and_then(|c| c.attributes.as_ref());
    match attributes.and_then(|a| a.mfa_authenticated.as_deref()) {
        Some(v) if v.eq_ignore_ascii_case("true") => Mfa::Yes,
        Some(v) if v.eq_ignore_ascii_case("false") => Mfa::No,
        _ => Mfa::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::value::RawValue;

    fn actor(json: &str) -> Actor {
        let raw = RawValue::from_string(json.to_owned()).unwrap();
        Record::parse(&raw, 1 << 20).unwrap().actor()
    }

    #[test]
    fn root_has_no_session_context_and_does_not_crash() {
        let a = actor(
            r#"{"userIdentity":{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"},
                "additionalEventData":{"MFAUsed":"No","LoginTo":"https://console.aws.amazon.com"}}"#,
        );
        assert_eq!(a.kind, IdentityKind::Root);
        assert_eq!(a.name, "root");
        assert_eq!(a.mfa, Mfa::No);
        assert_eq!(a.account_id.as_deref(), Some("111122223333"));
    }

    #[test]
    fn iam_user() {
        let a = actor(
            r#"{"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice","userName":"alice","accessKeyId":"AKIAEXAMPLE"}}"#,
        );
        assert_eq!(a.name, "user/alice");
        assert_eq!(a.access_key_id.as_deref(), Some("AKIAEXAMPLE"));
        assert_eq!(a.mfa, Mfa::Unknown);
        // No userName: the ARN tells.
        let a =
            actor(r#"{"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/path/bob"}}"#);
        assert_eq!(a.name, "user/bob");
    }

    #[test]
    fn assumed_role_with_issuer() {
        let a = actor(
            r#"{"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/deploy/ci-1234",
                "sessionContext":{"sessionIssuer":{"type":"Role","userName":"deploy","arn":"arn:aws:iam::111122223333:role/deploy"},
                "attributes":{"mfaAuthenticated":"false"}}}}"#,
        );
        assert_eq!(a.name, "role/deploy (session ci-1234)");
        assert_eq!(a.role_name.as_deref(), Some("deploy"));
        assert_eq!(a.session_name.as_deref(), Some("ci-1234"));
        assert_eq!(a.mfa, Mfa::No);
        assert_eq!(a.identity_center_user, None);
    }

    #[test]
    fn assumed_role_without_session_context() {
        let a = actor(
            r#"{"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/admin/i-0abc"}}"#,
        );
        assert_eq!(a.name, "role/admin (session i-0abc)");
        let a = actor(r#"{"userIdentity":{"type":"AssumedRole"}}"#);
        assert_eq!(a.name, "role/?");
    }

    #[test]
    fn identity_center_session() {
        let a = actor(
            r#"{"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/alice@example.com",
                "sessionContext":{"sessionIssuer":{"userName":"AWSReservedSSO_AdministratorAccess_0123456789abcdef"},"attributes":{"mfaAuthenticated":"true"}}}}"#,
        );
        assert_eq!(a.identity_center_user.as_deref(), Some("alice@example.com"));
        assert_eq!(
            a.name,
            "alice@example.com (IAM Identity Center, AdministratorAccess)"
        );
        assert_eq!(a.mfa, Mfa::Yes);
    }

    #[test]
    fn other_kinds() {
        assert_eq!(
            actor(
                r#"{"userIdentity":{"type":"AWSService","invokedBy":"securityhub.amazonaws.com"}}"#
            )
            .name,
            "securityhub.amazonaws.com"
        );
        assert_eq!(
            actor(r#"{"userIdentity":{"type":"AWSAccount","accountId":"444455556666","principalId":"AIDAX"}}"#).name,
            "account 444455556666"
        );
        assert_eq!(
            actor(r#"{"userIdentity":{"type":"FederatedUser","arn":"arn:aws:sts::1:federated-user/carol"}}"#).name,
            "federated-user/carol"
        );
        assert_eq!(
            actor(r#"{"userIdentity":{"type":"SAMLUser","userName":"dave","identityProvider":"okta"}}"#).name,
            "dave via okta"
        );
        assert_eq!(
            actor(r#"{"userIdentity":{"type":"WebIdentityUser","userName":"sub-1","identityProvider":"accounts.google.com"}}"#)
                .name,
            "sub-1 via accounts.google.com"
        );
        let a = actor(
            r#"{"userIdentity":{"type":"IdentityCenterUser","onBehalfOf":{"userId":"906710bc-1234","identityStoreArn":"arn:aws:identitystore::1:identitystore/d-1"}}}"#,
        );
        assert_eq!(a.kind, IdentityKind::IdentityCenterUser);
        assert_eq!(a.name, "906710bc-1234 (IAM Identity Center)");
        assert_eq!(
            actor(r#"{"userIdentity":{"type":"Unknown","userName":"x"}}"#).name,
            "unknown (x)"
        );
        assert_eq!(
            actor(r#"{"userIdentity":{"type":"NewType"}}"#).kind,
            IdentityKind::Unknown
        );
        assert_eq!(actor(r#"{}"#).name, "unknown (no userIdentity)");
        assert_eq!(actor(r#"{"userIdentity":{}}"#).kind, IdentityKind::Missing);
    }
}
