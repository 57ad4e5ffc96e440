-- V3: the upload lifecycle and the source image catalog (issue 4, docs/lifecycle.md).

-- When a pending image's upload finishes (same format as last_modified_date_time), on the emulator's clock. Set for
-- `pending` images only; cleared by the transition to `ready` or `failed`. A background task applies due transitions
-- and every read applies them first, so no read ever shows a pending image past this time. Stored with the row, so a
-- restart loses no upload in progress.
ALTER TABLE device_images ADD COLUMN upload_due_at TEXT
    CHECK (upload_due_at IS NULL OR (status = 'pending' AND upload_due_at GLOB '[0-9][0-9][0-9][0-9]-*Z'));

-- Finds due uploads without a scan; holds only images with an upload in progress.
CREATE INDEX device_images_upload_due ON device_images (upload_due_at) WHERE upload_due_at IS NOT NULL;

-- The source images the emulated tenant's Azure subscriptions hold: what getSourceImages lists, and what decides how
-- an upload ends. Managed through /_emulator/source-images.
CREATE TABLE source_images (
    -- Listing order (creation order of the entries).
    seq                       INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The Azure resource id as given (a managed image or a gallery image version).
    resource_id               TEXT    NOT NULL CHECK (resource_id LIKE '/subscriptions/%'),
    -- resource_id in lower case: Azure resource ids are case-insensitive, and uploads look the source up by it.
    resource_id_key           TEXT    NOT NULL UNIQUE CHECK (resource_id_key = lower(resource_id)),
    display_name              TEXT    NOT NULL CHECK (length(display_name) BETWEEN 1 AND 256),
    -- The subscription segment of resource_id.
    subscription_id           TEXT    NOT NULL CHECK (length(subscription_id) = 36),
    subscription_display_name TEXT    NOT NULL CHECK (length(subscription_display_name) BETWEEN 1 AND 256),
    -- cloudPcSourceImageCategory, from the form of resource_id.
    category                  TEXT    NOT NULL CHECK (category IN ('managedImage', 'azureComputeGallery')),
    -- How an upload of this source ends: 'ready', or 'failed' with error_code.
    outcome                   TEXT    NOT NULL CHECK (outcome IN ('ready', 'failed')),
    error_code                TEXT    CHECK ((outcome = 'failed') = (error_code IS NOT NULL)),
    -- What a successful upload fills in on the image where its create did not give it.
    operating_system          TEXT,
    os_build_number           TEXT,
    os_version_number         TEXT,
    os_status                 TEXT    CHECK (os_status IN ('supported', 'supportedWithWarning', 'unknown')),
    size_in_gb                INTEGER CHECK (size_in_gb BETWEEN 0 AND 2147483647),
    expiration_date           TEXT    CHECK (expiration_date GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]')
);

-- The catalog a fresh database starts with, kept apart so that a reset can restore it.
CREATE TABLE source_image_seeds AS SELECT * FROM source_images WHERE 0;

INSERT INTO source_image_seeds (seq, resource_id, resource_id_key, display_name, subscription_id,
    subscription_display_name, category, outcome, error_code, operating_system, os_build_number, os_version_number,
    os_status, size_in_gb, expiration_date)
VALUES
    (1, '/subscriptions/0ac520ee-14c0-480f-b6c9-0a90c58ffff0/resourceGroups/rg-images/providers/Microsoft.Compute/images/win11-24h2',
        lower('/subscriptions/0ac520ee-14c0-480f-b6c9-0a90c58ffff0/resourceGroups/rg-images/providers/Microsoft.Compute/images/win11-24h2'),
        'win11-24h2', '0ac520ee-14c0-480f-b6c9-0a90c58ffff0', 'Windows 365 images', 'managedImage', 'ready', NULL,
        'Windows 11 Enterprise', '24H2', '10.0.26100.2314', 'supported', 64, '2027-10-12'),
    (2, '/subscriptions/0ac520ee-14c0-480f-b6c9-0a90c58ffff0/resourceGroups/rg-images/providers/Microsoft.Compute/images/win10-22h2',
        lower('/subscriptions/0ac520ee-14c0-480f-b6c9-0a90c58ffff0/resourceGroups/rg-images/providers/Microsoft.Compute/images/win10-22h2'),
        'win10-22h2', '0ac520ee-14c0-480f-b6c9-0a90c58ffff0', 'Windows 365 images', 'managedImage', 'ready', NULL,
        'Windows 10 Enterprise', '22H2', '10.0.19045.5131', 'supportedWithWarning', 64, '2025-10-14'),
    (3, '/subscriptions/0ac520ee-14c0-480f-b6c9-0a90c58ffff0/resourceGroups/rg-images/providers/Microsoft.Compute/images/win11-23h2-not-generalized',
        lower('/subscriptions/0ac520ee-14c0-480f-b6c9-0a90c58ffff0/resourceGroups/rg-images/providers/Microsoft.Compute/images/win11-23h2-not-generalized'),
        'win11-23h2-not-generalized', '0ac520ee-14c0-480f-b6c9-0a90c58ffff0', 'Windows 365 images', 'managedImage',
        'failed', 'sourceImageNotGeneralized', NULL, NULL, NULL, NULL, NULL, NULL),
    (4, '/subscriptions/7c9a2b1e-5d3f-4a6b-8c2d-1e0f9a8b7c6d/resourceGroups/rg-gallery/providers/Microsoft.Compute/galleries/w365gallery/images/win11-24h2-m365/versions/1.0.0',
        lower('/subscriptions/7c9a2b1e-5d3f-4a6b-8c2d-1e0f9a8b7c6d/resourceGroups/rg-gallery/providers/Microsoft.Compute/galleries/w365gallery/images/win11-24h2-m365/versions/1.0.0'),
        'win11-24h2-m365 1.0.0', '7c9a2b1e-5d3f-4a6b-8c2d-1e0f9a8b7c6d', 'Contoso IT', 'azureComputeGallery', 'ready',
        NULL, 'Windows 11 Enterprise', '24H2', '10.0.26100.2605', 'supported',
        128, '2027-10-12');

INSERT INTO source_images SELECT * FROM source_image_seeds;
