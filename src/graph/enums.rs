//! Graph's enums and their projection per API version (docs/fidelity.md#enums-and-evolvable-members).
//!
//! Members after `unknownFutureValue` are *evolvable*: they are emitted as `unknownFutureValue` unless the request sent
//! `Prefer: include-unknown-enum-members`, and refused in a request without that header. A member that does not exist
//! in a version at all (beta-only members seen through v1.0) is always `unknownFutureValue` there.

use super::ApiVersion;

/// The sentinel that stands for every member a client did not opt in to.
pub const UNKNOWN_FUTURE_VALUE: &str = "unknownFutureValue";

/// One member of an enum.
#[derive(Debug)]
pub struct Member {
    /// Wire spelling (the SDKs' spelling: `vmAlreadyAzureAdjoined`).
    pub wire: &'static str,
    /// Present in v1.0 (every member is present in beta).
    pub v1: bool,
    /// Listed after `unknownFutureValue`.
    pub evolvable: bool,
}

/// An enum type of the Graph schema.
#[derive(Debug)]
pub struct EnumType {
    pub name: &'static str,
    pub members: &'static [Member],
}

const fn m(wire: &'static str, v1: bool, evolvable: bool) -> Member {
    Member {
        wire,
        v1,
        evolvable,
    }
}

pub static IMAGE_STATUS: EnumType = EnumType {
    name: "cloudPcDeviceImageStatus",
    members: &[
        m("pending", true, false),
        m("ready", true, false),
        m("failed", true, false),
        m("warning", false, true),
    ],
};

pub static IMAGE_ERROR_CODE: EnumType = EnumType {
    name: "cloudPcDeviceImageErrorCode",
    members: &[
        m("internalServerError", true, false),
        m("sourceImageNotFound", true, false),
        m("osVersionNotSupported", true, false),
        m("sourceImageInvalid", true, false),
        m("sourceImageNotGeneralized", true, false),
        m("vmAlreadyAzureAdjoined", true, true),
        m("paidSourceImageNotSupport", true, true),
        m("sourceImageNotSupportCustomizeVMName", true, true),
        m("sourceImageSizeExceedsLimitation", true, true),
        m("sourceImageWithDataDiskNotSupported", false, true),
        m("sourceImageWithDiskEncryptionSetNotSupported", false, true),
        m(
            "sourceImageWithAzureDiskEncryptionNotSupported",
            false,
            true,
        ),
        m("fSLogixInstalledSourceImageNotSupported", false, true),
        m("startMenuAppLimitExceeded", false, true),
    ],
};

/// Beta only and deprecated; derived from `errorCode` on output.
pub static IMAGE_STATUS_DETAILS: EnumType = EnumType {
    name: "cloudPcDeviceImageStatusDetails",
    members: &[
        m("internalServerError", false, false),
        m("sourceImageNotFound", false, false),
        m("osVersionNotSupported", false, false),
        m("sourceImageInvalid", false, false),
        m("sourceImageNotGeneralized", false, false),
        m("vmAlreadyAzureAdjoined", false, true),
        m("paidSourceImageNotSupport", false, true),
        m("sourceImageNotSupportCustomizeVMName", false, true),
        m("sourceImageSizeExceedsLimitation", false, true),
    ],
};

pub static IMAGE_OS_STATUS: EnumType = EnumType {
    name: "cloudPcDeviceImageOsStatus",
    members: &[
        m("supported", true, false),
        m("supportedWithWarning", true, false),
        m("unknown", true, false),
    ],
};

/// Beta only (`cloudPcSourceDeviceImage.category`).
pub static SOURCE_IMAGE_CATEGORY: EnumType = EnumType {
    name: "cloudPcSourceImageCategory",
    members: &[
        m("managedImage", false, false),
        m("azureComputeGallery", false, false),
    ],
};

impl EnumType {
    /// The member with exactly this wire spelling.
    pub fn member(&self, wire: &str) -> Option<&'static Member> {
        self.members.iter().find(|m| m.wire == wire)
    }

    /// Parses a member sent by a client. Matching ignores case, so the docs' prose spelling `vmAlreadyAzureAdJoined`
    /// is accepted and stored in the SDK spelling. Evolvable members need the `Prefer` header.
    pub fn parse(
        &'static self,
        input: &str,
        version: ApiVersion,
        include_unknown: bool,
    ) -> Result<&'static str, String> {
        if input.eq_ignore_ascii_case(UNKNOWN_FUTURE_VALUE) {
            return Err(format!(
                "'{UNKNOWN_FUTURE_VALUE}' is the sentinel of {}, not a value that can be set",
                self.name
            ));
        }
        let member = self
            .members
            .iter()
            .find(|m| m.wire.eq_ignore_ascii_case(input))
            .filter(|m| version == ApiVersion::Beta || m.v1);
        match member {
            Some(m) if m.evolvable && !include_unknown => Err(format!(
                "'{}' is an evolvable member of {}; send 'Prefer: include-unknown-enum-members' to use it",
                m.wire, self.name
            )),
            Some(m) => Ok(m.wire),
            None => Err(format!(
                "'{input}' is not a member of {} (expected one of: {})",
                self.name,
                self.listed(version, include_unknown).join(", ")
            )),
        }
    }

    /// The members a client of this version may send.
    pub fn listed(&self, version: ApiVersion, include_unknown: bool) -> Vec<&'static str> {
        self.members
            .iter()
            .filter(|m| (version == ApiVersion::Beta || m.v1) && (include_unknown || !m.evolvable))
            .map(|m| m.wire)
            .collect()
    }

    /// What a stored member looks like to a client of `version`.
    pub fn project(
        &self,
        stored: &str,
        version: ApiVersion,
        include_unknown: bool,
    ) -> &'static str {
        match self.member(stored) {
            Some(m)
                if (version == ApiVersion::Beta || m.v1) && (include_unknown || !m.evolvable) =>
            {
                m.wire
            }
            _ => UNKNOWN_FUTURE_VALUE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ApiVersion::{Beta, V1};

    #[test]
    fn projection_table() {
        let cases = [
            (&IMAGE_STATUS, "ready", V1, false, "ready"),
            (&IMAGE_STATUS, "warning", Beta, false, UNKNOWN_FUTURE_VALUE),
            (&IMAGE_STATUS, "warning", Beta, true, "warning"),
            (&IMAGE_STATUS, "warning", V1, true, UNKNOWN_FUTURE_VALUE),
            (
                &IMAGE_ERROR_CODE,
                "vmAlreadyAzureAdjoined",
                V1,
                false,
                UNKNOWN_FUTURE_VALUE,
            ),
            (
                &IMAGE_ERROR_CODE,
                "vmAlreadyAzureAdjoined",
                V1,
                true,
                "vmAlreadyAzureAdjoined",
            ),
            (
                &IMAGE_ERROR_CODE,
                "startMenuAppLimitExceeded",
                V1,
                true,
                UNKNOWN_FUTURE_VALUE,
            ),
            (
                &IMAGE_ERROR_CODE,
                "startMenuAppLimitExceeded",
                Beta,
                true,
                "startMenuAppLimitExceeded",
            ),
            (
                &IMAGE_STATUS_DETAILS,
                "startMenuAppLimitExceeded",
                Beta,
                true,
                UNKNOWN_FUTURE_VALUE,
            ),
            (
                &IMAGE_STATUS_DETAILS,
                "sourceImageNotFound",
                Beta,
                false,
                "sourceImageNotFound",
            ),
        ];
        for (ty, stored, version, prefer, expected) in cases {
            assert_eq!(
                ty.project(stored, version, prefer),
                expected,
                "{stored} {version:?} {prefer}"
            );
        }
    }

    #[test]
    fn parse_table() {
        assert_eq!(IMAGE_STATUS.parse("Ready", V1, false), Ok("ready"));
        assert!(IMAGE_STATUS.parse("warning", Beta, false).is_err());
        assert_eq!(IMAGE_STATUS.parse("warning", Beta, true), Ok("warning"));
        assert!(IMAGE_STATUS.parse("warning", V1, true).is_err());
        assert!(IMAGE_STATUS
            .parse("unknownFutureValue", Beta, true)
            .is_err());
        assert!(IMAGE_STATUS.parse("done", Beta, true).is_err());
        assert_eq!(
            IMAGE_ERROR_CODE.parse("vmAlreadyAzureAdJoined", V1, true),
            Ok("vmAlreadyAzureAdjoined")
        );
        assert!(IMAGE_ERROR_CODE
            .parse("startMenuAppLimitExceeded", V1, true)
            .is_err());
    }
}
