-- V1: the device image store.
--
-- This schema is public: CI suites open the SQLite file read-only while the emulator runs and check what was stored
-- (docs/control-plane.md). Every column is documented here. Values are stored the way Graph puts them on the wire (enum members
-- in their SDK spelling, dates as text), so a test can compare a row with a response without translation.
--
-- The constraints are the last line of defence: the handlers validate every value first (docs/api.md, docs/fidelity.md), but the
-- database itself refuses a row that breaks a rule, so no bug can leave bad state behind.

CREATE TABLE device_images (
    -- Creation order. AUTOINCREMENT guarantees a deleted image's number is never handed out again, which keeps
    -- keyset paging ($skiptoken) stable while other clients insert and delete.
    seq                      INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The Graph id: a lower-case hyphenated GUID (ids are compared case-insensitively and emitted lower-case).
    id                       TEXT    NOT NULL UNIQUE
                                     CHECK (length(id) = 36 AND id = lower(id)
                                            AND id GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-*'),
    -- The tenant the image belongs to. Until tenancy is built (issue 6) every image is in the default tenant.
    tenant_id                TEXT    NOT NULL,
    -- displayName as given: 1-256 characters, not only whitespace.
    display_name             TEXT    NOT NULL CHECK (length(display_name) BETWEEN 1 AND 256 AND trim(display_name) <> ''),
    -- displayName folded to lower case (Unicode, by the emulator). displayName + version identify an image, with the
    -- name compared case-insensitively; SQLite's NOCASE only folds ASCII, so the folded form is stored and indexed.
    display_name_key         TEXT    NOT NULL,
    -- Major.Minor.Patch, non-negative integers, at most 32 characters.
    version                  TEXT    NOT NULL CHECK (length(version) BETWEEN 5 AND 32
                                                     AND version GLOB '[0-9]*.[0-9]*.[0-9]*'
                                                     AND version NOT GLOB '*[^0-9.]*'),
    -- The Azure resource id of the managed image or gallery image version, as given.
    source_image_resource_id TEXT    NOT NULL CHECK (source_image_resource_id LIKE '/subscriptions/%'),
    operating_system         TEXT,
    os_build_number          TEXT,
    os_version_number        TEXT,
    -- cloudPcDeviceImageOsStatus; NULL while unknown to the service.
    os_status                TEXT    CHECK (os_status IN ('supported', 'supportedWithWarning', 'unknown')),
    size_in_gb               INTEGER CHECK (size_in_gb BETWEEN 0 AND 2147483647),
    -- Edm.Date, exactly YYYY-MM-DD.
    expiration_date          TEXT    CHECK (expiration_date GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
    -- cloudPcDeviceImageStatus (beta members; 'warning' is beta-only and evolvable).
    status                   TEXT    NOT NULL CHECK (status IN ('pending', 'ready', 'failed', 'warning')),
    -- cloudPcDeviceImageErrorCode (beta members). The beta-only, deprecated statusDetails is derived from it on output.
    error_code               TEXT    CHECK (error_code IN (
                                        'internalServerError', 'sourceImageNotFound', 'osVersionNotSupported',
                                        'sourceImageInvalid', 'sourceImageNotGeneralized', 'vmAlreadyAzureAdjoined',
                                        'paidSourceImageNotSupport', 'sourceImageNotSupportCustomizeVMName',
                                        'sourceImageSizeExceedsLimitation', 'sourceImageWithDataDiskNotSupported',
                                        'sourceImageWithDiskEncryptionSetNotSupported',
                                        'sourceImageWithAzureDiskEncryptionNotSupported',
                                        'fSLogixInstalledSourceImageNotSupported', 'startMenuAppLimitExceeded')),
    -- scopeIds (beta only): a JSON array of strings, '[]' when none were given.
    scope_ids                TEXT    NOT NULL DEFAULT '[]'
                                     CHECK (json_valid(scope_ids) AND json_type(scope_ids) = 'array'),
    -- Set by the server's clock on every change: RFC 3339 UTC with 'Z' and millisecond precision, so text order is
    -- time order.
    last_modified_date_time  TEXT    NOT NULL
                                     CHECK (last_modified_date_time GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T*Z'),
    -- When the row was inserted (same format). Never changes.
    created_date_time        TEXT    NOT NULL
);

-- displayName + version are unique per tenant, the name compared case-insensitively (docs/api.md, docs/fidelity.md). Racing creates are
-- decided here, by the database.
CREATE UNIQUE INDEX device_images_name_version ON device_images (tenant_id, display_name_key, version);
-- The default list order: a tenant's images in creation order.
CREATE INDEX device_images_tenant_seq ON device_images (tenant_id, seq);
