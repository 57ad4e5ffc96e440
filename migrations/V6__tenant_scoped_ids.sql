-- V6: tenants stay sealed (issue 15). Until now an image id was unique across all tenants, so a client choosing an
-- id that another tenant held got 409: an answer that told one tenant what another stores. The id is now unique per
-- tenant. SQLite cannot drop a column's UNIQUE constraint in place, so the table is rebuilt (the documented way:
-- new table, copy, drop, rename), keeping every row, its seq and the AUTOINCREMENT high-water mark, so keyset paging
-- ($skiptoken) and "a deleted seq is never handed out again" hold across the migration. No other table, trigger or
-- view refers to device_images.

CREATE TABLE device_images_v6 (
    -- Creation order. AUTOINCREMENT guarantees a deleted image's number is never handed out again, which keeps
    -- keyset paging ($skiptoken) stable while other clients insert and delete.
    seq                      INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The Graph id: a lower-case hyphenated GUID (ids are compared case-insensitively and emitted lower-case),
    -- unique within its tenant (see the UNIQUE constraint at the end).
    id                       TEXT    NOT NULL
                                     CHECK (length(id) = 36 AND id = lower(id)
                                            AND id GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-*'),
    -- The tenant the image belongs to: the `tid` of the caller's token (the default tenant without one).
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
    created_date_time        TEXT    NOT NULL,
    -- When a pending upload completes (V3); NULL once it has, and for images that were never pending.
    upload_due_at            TEXT
                                     CHECK (upload_due_at IS NULL OR (status = 'pending' AND upload_due_at GLOB '[0-9][0-9][0-9][0-9]-*Z')),
    -- An id is unique per tenant, never across tenants: a client-chosen id that another tenant holds is a fresh
    -- create in yours, so no answer tells one tenant what another stores.
    UNIQUE (tenant_id, id)
);

INSERT INTO device_images_v6 (seq, id, tenant_id, display_name, display_name_key, version, source_image_resource_id,
    operating_system, os_build_number, os_version_number, os_status, size_in_gb, expiration_date, status, error_code,
    scope_ids, last_modified_date_time, created_date_time, upload_due_at)
SELECT seq, id, tenant_id, display_name, display_name_key, version, source_image_resource_id,
    operating_system, os_build_number, os_version_number, os_status, size_in_gb, expiration_date, status, error_code,
    scope_ids, last_modified_date_time, created_date_time, upload_due_at
FROM device_images;

-- The high-water mark of AUTOINCREMENT (higher than every remaining seq when the newest images were deleted).
DELETE FROM sqlite_sequence WHERE name = 'device_images_v6';
INSERT INTO sqlite_sequence (name, seq) SELECT 'device_images_v6', seq FROM sqlite_sequence WHERE name = 'device_images';

DROP TABLE device_images;
ALTER TABLE device_images_v6 RENAME TO device_images;

-- The indexes of V1-V3, as they were.
CREATE UNIQUE INDEX device_images_name_version ON device_images (tenant_id, display_name_key, version);
CREATE INDEX device_images_tenant_seq ON device_images (tenant_id, seq);
CREATE INDEX device_images_tenant_status ON device_images (tenant_id, status, seq);
CREATE INDEX device_images_tenant_modified ON device_images (tenant_id, last_modified_date_time, id);
CREATE INDEX device_images_tenant_name ON device_images (tenant_id, display_name_key, id);
CREATE INDEX device_images_upload_due ON device_images (upload_due_at) WHERE upload_due_at IS NOT NULL;
