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

/// Declares a Graph enum twice over: a Rust enum, so a misspelt member does not compile, and the [`EnumType`] table
/// the protocol code reads. Members are listed in Graph's value order, each with its wire spelling, whether v1.0 has
/// it (beta has every member) and whether it is evolvable (listed after `unknownFutureValue`).
macro_rules! graph_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident as $table:ident = $graph:literal {
            $($variant:ident = $wire:literal, v1: $v1:literal, evolvable: $evolvable:literal;)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)*
        }

        #[doc = concat!("The members of `", $graph, "` as the protocol code reads them.")]
        pub static $table: EnumType = EnumType {
            name: $graph,
            members: &[$(m($wire, $v1, $evolvable),)*],
        };

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.wire())
            }
        }

        impl GraphEnum for $name {
            const TYPE: &'static EnumType = &$table;
            const ALL: &'static [Self] = &[$(Self::$variant,)*];

            fn wire(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)*
                }
            }
        }
    };
}

/// A Rust enum declared by `graph_enum!`: its members, their Graph spelling, and the rules of [`EnumType`].
pub trait GraphEnum: Copy + Eq + std::fmt::Debug + 'static {
    /// The table of the enum's members.
    const TYPE: &'static EnumType;
    /// Every member, in Graph's value order.
    const ALL: &'static [Self];

    /// The wire spelling.
    fn wire(self) -> &'static str;

    /// The member with exactly this wire spelling (a stored value).
    fn from_wire(wire: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|m| m.wire() == wire)
    }

    /// Parses a member a client sent, by the rules of [`EnumType::parse`].
    fn parse(input: &str, version: ApiVersion, include_unknown: bool) -> Result<Self, String> {
        let wire = Self::TYPE.parse(input, version, include_unknown)?;
        Self::from_wire(wire)
            .ok_or_else(|| format!("'{wire}' is not a member of {}", Self::TYPE.name))
    }

    /// What this member looks like to a client of `version` (see [`EnumType::project`]).
    fn project(self, version: ApiVersion, include_unknown: bool) -> &'static str {
        Self::TYPE.project(self.wire(), version, include_unknown)
    }
}

graph_enum! {
    /// `cloudPcDeviceImageStatus`.
    pub enum ImageStatus as IMAGE_STATUS = "cloudPcDeviceImageStatus" {
        Pending = "pending", v1: true, evolvable: false;
        Ready = "ready", v1: true, evolvable: false;
        Failed = "failed", v1: true, evolvable: false;
        Warning = "warning", v1: false, evolvable: true;
    }
}

graph_enum! {
    /// `cloudPcDeviceImageErrorCode`.
    pub enum ImageErrorCode as IMAGE_ERROR_CODE = "cloudPcDeviceImageErrorCode" {
        InternalServerError = "internalServerError", v1: true, evolvable: false;
        SourceImageNotFound = "sourceImageNotFound", v1: true, evolvable: false;
        OsVersionNotSupported = "osVersionNotSupported", v1: true, evolvable: false;
        SourceImageInvalid = "sourceImageInvalid", v1: true, evolvable: false;
        SourceImageNotGeneralized = "sourceImageNotGeneralized", v1: true, evolvable: false;
        VmAlreadyAzureAdjoined = "vmAlreadyAzureAdjoined", v1: true, evolvable: true;
        PaidSourceImageNotSupport = "paidSourceImageNotSupport", v1: true, evolvable: true;
        SourceImageNotSupportCustomizeVmName = "sourceImageNotSupportCustomizeVMName", v1: true, evolvable: true;
        SourceImageSizeExceedsLimitation = "sourceImageSizeExceedsLimitation", v1: true, evolvable: true;
        SourceImageWithDataDiskNotSupported = "sourceImageWithDataDiskNotSupported", v1: false, evolvable: true;
        SourceImageWithDiskEncryptionSetNotSupported = "sourceImageWithDiskEncryptionSetNotSupported", v1: false, evolvable: true;
        SourceImageWithAzureDiskEncryptionNotSupported = "sourceImageWithAzureDiskEncryptionNotSupported", v1: false, evolvable: true;
        FsLogixInstalledSourceImageNotSupported = "fSLogixInstalledSourceImageNotSupported", v1: false, evolvable: true;
        StartMenuAppLimitExceeded = "startMenuAppLimitExceeded", v1: false, evolvable: true;
    }
}

graph_enum! {
    /// `cloudPcDeviceImageStatusDetails`: beta only and deprecated; derived from `errorCode` on output.
    pub enum ImageStatusDetails as IMAGE_STATUS_DETAILS = "cloudPcDeviceImageStatusDetails" {
        InternalServerError = "internalServerError", v1: false, evolvable: false;
        SourceImageNotFound = "sourceImageNotFound", v1: false, evolvable: false;
        OsVersionNotSupported = "osVersionNotSupported", v1: false, evolvable: false;
        SourceImageInvalid = "sourceImageInvalid", v1: false, evolvable: false;
        SourceImageNotGeneralized = "sourceImageNotGeneralized", v1: false, evolvable: false;
        VmAlreadyAzureAdjoined = "vmAlreadyAzureAdjoined", v1: false, evolvable: true;
        PaidSourceImageNotSupport = "paidSourceImageNotSupport", v1: false, evolvable: true;
        SourceImageNotSupportCustomizeVmName = "sourceImageNotSupportCustomizeVMName", v1: false, evolvable: true;
        SourceImageSizeExceedsLimitation = "sourceImageSizeExceedsLimitation", v1: false, evolvable: true;
    }
}

impl ImageStatusDetails {
    /// The error code this detail stands for: every detail is also an error code, spelt the same.
    pub fn error_code(self) -> ImageErrorCode {
        match self {
            Self::InternalServerError => ImageErrorCode::InternalServerError,
            Self::SourceImageNotFound => ImageErrorCode::SourceImageNotFound,
            Self::OsVersionNotSupported => ImageErrorCode::OsVersionNotSupported,
            Self::SourceImageInvalid => ImageErrorCode::SourceImageInvalid,
            Self::SourceImageNotGeneralized => ImageErrorCode::SourceImageNotGeneralized,
            Self::VmAlreadyAzureAdjoined => ImageErrorCode::VmAlreadyAzureAdjoined,
            Self::PaidSourceImageNotSupport => ImageErrorCode::PaidSourceImageNotSupport,
            Self::SourceImageNotSupportCustomizeVmName => {
                ImageErrorCode::SourceImageNotSupportCustomizeVmName
            }
            Self::SourceImageSizeExceedsLimitation => {
                ImageErrorCode::SourceImageSizeExceedsLimitation
            }
        }
    }
}

graph_enum! {
    /// `cloudPcDeviceImageOsStatus`.
    pub enum ImageOsStatus as IMAGE_OS_STATUS = "cloudPcDeviceImageOsStatus" {
        Supported = "supported", v1: true, evolvable: false;
        SupportedWithWarning = "supportedWithWarning", v1: true, evolvable: false;
        Unknown = "unknown", v1: true, evolvable: false;
    }
}

graph_enum! {
    /// `cloudPcSourceImageCategory`: beta only (`cloudPcSourceDeviceImage.category`).
    pub enum SourceImageCategory as SOURCE_IMAGE_CATEGORY = "cloudPcSourceImageCategory" {
        ManagedImage = "managedImage", v1: false, evolvable: false;
        AzureComputeGallery = "azureComputeGallery", v1: false, evolvable: false;
    }
}

graph_enum! {
    /// `cloudPcGalleryImageStatus`.
    pub enum GalleryImageStatus as GALLERY_IMAGE_STATUS = "cloudPcGalleryImageStatus" {
        Supported = "supported", v1: true, evolvable: false;
        SupportedWithWarning = "supportedWithWarning", v1: true, evolvable: false;
        NotSupported = "notSupported", v1: true, evolvable: false;
    }
}

graph_enum! {
    /// `cloudPcProvisioningPolicyImageType`.
    pub enum PolicyImageType as POLICY_IMAGE_TYPE = "cloudPcProvisioningPolicyImageType" {
        Gallery = "gallery", v1: true, evolvable: false;
        Custom = "custom", v1: true, evolvable: false;
    }
}

graph_enum! {
    /// `cloudPcProvisioningType`: beta's `sharedByUser` and `sharedByEntraGroup` are evolvable.
    pub enum ProvisioningType as PROVISIONING_TYPE = "cloudPcProvisioningType" {
        Dedicated = "dedicated", v1: true, evolvable: false;
        Shared = "shared", v1: true, evolvable: false;
        SharedByUser = "sharedByUser", v1: false, evolvable: true;
        SharedByEntraGroup = "sharedByEntraGroup", v1: false, evolvable: true;
    }
}

graph_enum! {
    /// `cloudPcDomainJoinType`.
    pub enum DomainJoinType as DOMAIN_JOIN_TYPE = "cloudPcDomainJoinType" {
        AzureAdJoin = "azureADJoin", v1: true, evolvable: false;
        HybridAzureAdJoin = "hybridAzureADJoin", v1: true, evolvable: false;
    }
}

graph_enum! {
    /// `cloudPcRegionGroup` (v1.0's members).
    pub enum RegionGroup as REGION_GROUP = "cloudPcRegionGroup" {
        Default = "default", v1: true, evolvable: false;
        Australia = "australia", v1: true, evolvable: false;
        Canada = "canada", v1: true, evolvable: false;
        UsCentral = "usCentral", v1: true, evolvable: false;
        UsEast = "usEast", v1: true, evolvable: false;
        UsWest = "usWest", v1: true, evolvable: false;
        France = "france", v1: true, evolvable: false;
        Germany = "germany", v1: true, evolvable: false;
        EuropeUnion = "europeUnion", v1: true, evolvable: false;
        UnitedKingdom = "unitedKingdom", v1: true, evolvable: false;
        Japan = "japan", v1: true, evolvable: false;
        Asia = "asia", v1: true, evolvable: false;
        India = "india", v1: true, evolvable: false;
        SouthAmerica = "southAmerica", v1: true, evolvable: false;
        Euap = "euap", v1: true, evolvable: false;
        UsGovernment = "usGovernment", v1: true, evolvable: false;
        UsGovernmentDod = "usGovernmentDOD", v1: true, evolvable: false;
        Norway = "norway", v1: true, evolvable: false;
        Switzerland = "switzerland", v1: true, evolvable: false;
        SouthKorea = "southKorea", v1: true, evolvable: false;
    }
}

graph_enum! {
    /// `microsoftManagedDesktopType`.
    pub enum ManagedDesktopType as MANAGED_DESKTOP_TYPE = "microsoftManagedDesktopType" {
        NotManaged = "notManaged", v1: true, evolvable: false;
        PremiumManaged = "premiumManaged", v1: true, evolvable: false;
        StandardManaged = "standardManaged", v1: true, evolvable: false;
        StarterManaged = "starterManaged", v1: true, evolvable: false;
    }
}

graph_enum! {
    /// `cloudPcManagementService`: beta only, read-only on policies.
    pub enum ManagementService as MANAGEMENT_SERVICE = "cloudPcManagementService" {
        Windows365 = "windows365", v1: false, evolvable: false;
        DevBox = "devBox", v1: false, evolvable: false;
        RpaBox = "rpaBox", v1: false, evolvable: true;
    }
}

graph_enum! {
    /// `cloudPcUserExperienceType`: beta only.
    pub enum UserExperienceType as USER_EXPERIENCE_TYPE = "cloudPcUserExperienceType" {
        CloudPc = "cloudPc", v1: false, evolvable: false;
        CloudApp = "cloudApp", v1: false, evolvable: false;
    }
}

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
    fn rust_enums_and_their_tables_agree() {
        fn check<E: GraphEnum>() {
            assert_eq!(E::ALL.len(), E::TYPE.members.len(), "{}", E::TYPE.name);
            for (member, row) in E::ALL.iter().zip(E::TYPE.members) {
                assert_eq!(member.wire(), row.wire);
                assert_eq!(E::from_wire(row.wire), Some(*member));
            }
        }
        check::<ImageStatus>();
        check::<ImageErrorCode>();
        check::<ImageStatusDetails>();
        check::<ImageOsStatus>();
        check::<SourceImageCategory>();
        check::<GalleryImageStatus>();
        check::<PolicyImageType>();
        check::<ProvisioningType>();
        check::<DomainJoinType>();
        check::<RegionGroup>();
        check::<ManagedDesktopType>();
        check::<ManagementService>();
        check::<UserExperienceType>();
        for details in ImageStatusDetails::ALL {
            assert_eq!(details.error_code().wire(), details.wire());
        }
        assert_eq!(
            ImageStatus::parse("READY", V1, false),
            Ok(ImageStatus::Ready)
        );
        assert!(ImageStatus::parse("warning", V1, true).is_err());
        assert_eq!(
            ImageErrorCode::StartMenuAppLimitExceeded.project(V1, true),
            UNKNOWN_FUTURE_VALUE
        );
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
