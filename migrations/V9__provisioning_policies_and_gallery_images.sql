-- V9: provisioning policies and gallery images (issue 20, docs/policies.md). A provisioning policy names the image
-- Cloud PCs are built from: a device image of the tenant (imageType 'custom') or a Microsoft gallery image
-- (imageType 'gallery'). Graph's rules that tie them together (an image a policy uses cannot be deleted; a policy
-- with assignments cannot be deleted) are checked in the transaction of the delete they guard.

-- Microsoft's gallery: the images a 'gallery' policy can use, the same for every tenant. Read-only to Graph clients;
-- managed through /_emulator/gallery-images.
CREATE TABLE gallery_images (
    -- Listing order (creation order of the entries).
    seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The Graph id, {publisherName}_{offerName}_{skuName}, as given.
    id                   TEXT    NOT NULL CHECK (length(id) BETWEEN 5 AND 256),
    -- id in lower case: a policy's imageId names a gallery image case-insensitively.
    id_key               TEXT    NOT NULL UNIQUE CHECK (id_key = lower(id)),
    display_name         TEXT    NOT NULL CHECK (length(display_name) BETWEEN 1 AND 256),
    publisher_name       TEXT    NOT NULL CHECK (length(publisher_name) BETWEEN 1 AND 80),
    offer_name           TEXT    NOT NULL CHECK (length(offer_name) BETWEEN 1 AND 80),
    sku_name             TEXT    NOT NULL CHECK (length(sku_name) BETWEEN 1 AND 80),
    -- Beta's deprecated display names of the offer and the SKU, and its recommended Cloud PC SKU.
    offer_display_name   TEXT,
    sku_display_name     TEXT,
    recommended_sku      TEXT,
    os_version_number    TEXT,
    size_in_gb           INTEGER CHECK (size_in_gb BETWEEN 0 AND 2147483647),
    -- Edm.Date, exactly YYYY-MM-DD: available from start_date; supportedWithWarning after end_date; no new Cloud PC
    -- after expiration_date.
    start_date           TEXT    CHECK (start_date GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
    end_date             TEXT    CHECK (end_date GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
    expiration_date      TEXT    CHECK (expiration_date GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
    -- cloudPcGalleryImageStatus. A policy may use any but 'notSupported'.
    status               TEXT    NOT NULL CHECK (status IN ('supported', 'supportedWithWarning', 'notSupported')),
    CHECK (id_key = lower(publisher_name || '_' || offer_name || '_' || sku_name))
);

-- The gallery a fresh database starts with, kept apart so that a reset of the catalogs can restore it.
CREATE TABLE gallery_image_seeds AS SELECT * FROM gallery_images WHERE 0;

INSERT INTO gallery_image_seeds (seq, id, id_key, display_name, publisher_name, offer_name, sku_name,
    offer_display_name, sku_display_name, recommended_sku, os_version_number, size_in_gb, start_date, end_date,
    expiration_date, status)
VALUES
    (1, 'microsoftwindowsdesktop_windows-ent-cpc_win11-24h2-ent-cpc-m365',
        'microsoftwindowsdesktop_windows-ent-cpc_win11-24h2-ent-cpc-m365',
        'Windows 11 Enterprise + Microsoft 365 Apps 24H2', 'microsoftwindowsdesktop', 'windows-ent-cpc',
        'win11-24h2-ent-cpc-m365', 'Windows 11 Enterprise + Microsoft 365 Apps', '24H2', 'Cloud PC Enterprise 4vCPU/16GB/128GB',
        '10.0.26100.2605', 64, '2024-10-01', '2027-10-12', '2028-04-12', 'supported'),
    (2, 'microsoftwindowsdesktop_windows-ent-cpc_win11-24h2-ent-cpc',
        'microsoftwindowsdesktop_windows-ent-cpc_win11-24h2-ent-cpc',
        'Windows 11 Enterprise 24H2', 'microsoftwindowsdesktop', 'windows-ent-cpc', 'win11-24h2-ent-cpc',
        'Windows 11 Enterprise', '24H2', 'Cloud PC Enterprise 2vCPU/8GB/128GB',
        '10.0.26100.2605', 64, '2024-10-01', '2027-10-12', '2028-04-12', 'supported'),
    (3, 'microsoftwindowsdesktop_windows-ent-cpc_win11-23h2-ent-cpc-m365',
        'microsoftwindowsdesktop_windows-ent-cpc_win11-23h2-ent-cpc-m365',
        'Windows 11 Enterprise + Microsoft 365 Apps 23H2', 'microsoftwindowsdesktop', 'windows-ent-cpc',
        'win11-23h2-ent-cpc-m365', 'Windows 11 Enterprise + Microsoft 365 Apps', '23H2', 'Cloud PC Enterprise 4vCPU/16GB/128GB',
        '10.0.22631.4460', 64, '2023-10-31', '2026-11-10', '2027-05-10', 'supportedWithWarning'),
    (4, 'microsoftwindowsdesktop_windows-ent-cpc_win10-22h2-ent-cpc-m365',
        'microsoftwindowsdesktop_windows-ent-cpc_win10-22h2-ent-cpc-m365',
        'Windows 10 Enterprise + Microsoft 365 Apps 22H2', 'microsoftwindowsdesktop', 'windows-ent-cpc',
        'win10-22h2-ent-cpc-m365', 'Windows 10 Enterprise + Microsoft 365 Apps', '22H2', 'Cloud PC Enterprise 2vCPU/8GB/128GB',
        '10.0.19045.5131', 64, '2022-10-18', '2025-10-14', '2026-10-13', 'supportedWithWarning'),
    (5, 'microsoftwindowsdesktop_windows-ent-cpc_win10-22h2-ent-cpc-os',
        'microsoftwindowsdesktop_windows-ent-cpc_win10-22h2-ent-cpc-os',
        'Windows 10 Enterprise 22H2', 'microsoftwindowsdesktop', 'windows-ent-cpc', 'win10-22h2-ent-cpc-os',
        'Windows 10 Enterprise', '22H2', 'Cloud PC Enterprise 2vCPU/8GB/128GB',
        '10.0.19045.5131', 64, '2022-10-18', '2025-10-14', '2026-10-13', 'supportedWithWarning'),
    (6, 'microsoftwindowsdesktop_windows-ent-cpc_win10-21h2-ent-cpc-m365',
        'microsoftwindowsdesktop_windows-ent-cpc_win10-21h2-ent-cpc-m365',
        'Windows 10 Enterprise + Microsoft 365 Apps 21H2', 'microsoftwindowsdesktop', 'windows-ent-cpc',
        'win10-21h2-ent-cpc-m365', 'Windows 10 Enterprise + Microsoft 365 Apps', '21H2', 'Cloud PC Enterprise 2vCPU/8GB/128GB',
        '10.0.19044.3086', 64, '2021-11-16', '2023-06-13', '2023-12-13', 'notSupported');

INSERT INTO gallery_images SELECT * FROM gallery_image_seeds;

-- Provisioning policies, per tenant.
CREATE TABLE provisioning_policies (
    -- Creation order, never reused (keyset paging, as device_images).
    seq                         INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The Graph id: a lower-case hyphenated GUID, unique within its tenant.
    id                          TEXT    NOT NULL CHECK (length(id) = 36 AND id = lower(id)),
    -- The tenant the policy belongs to (the `tid` of the caller's token).
    tenant_id                   TEXT    NOT NULL,
    display_name                TEXT    NOT NULL CHECK (length(display_name) BETWEEN 1 AND 256 AND trim(display_name) <> ''),
    description                 TEXT,
    -- cloudPcProvisioningPolicyImageType.
    image_type                  TEXT    NOT NULL CHECK (image_type IN ('gallery', 'custom')),
    -- A device image id of the tenant (custom, lower-case GUID) or a gallery image id (gallery, as given).
    image_id                    TEXT    NOT NULL CHECK (length(image_id) BETWEEN 1 AND 256),
    -- image_id in lower case: what the image delete guard and the gallery lookup compare.
    image_id_key                TEXT    NOT NULL CHECK (image_id_key = lower(image_id)),
    image_display_name          TEXT    NOT NULL,
    cloud_pc_naming_template    TEXT,
    -- Booleans as 0/1.
    enable_single_sign_on       INTEGER CHECK (enable_single_sign_on IN (0, 1)),
    local_admin_enabled         INTEGER CHECK (local_admin_enabled IN (0, 1)),
    -- cloudPcProvisioningType (beta members; sharedByUser and sharedByEntraGroup are evolvable).
    provisioning_type           TEXT    NOT NULL CHECK (provisioning_type IN ('dedicated', 'shared', 'sharedByUser', 'sharedByEntraGroup')),
    -- Read-only, set by the service.
    grace_period_in_hours       INTEGER NOT NULL CHECK (grace_period_in_hours BETWEEN 0 AND 2147483647),
    alternate_resource_url      TEXT,
    cloud_pc_group_display_name TEXT,
    -- Complex values as the JSON Graph returns them (every member, CSDL order), checked by the emulator.
    -- Collection(cloudPcDomainJoinConfiguration).
    domain_join_configurations  TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(domain_join_configurations) AND json_type(domain_join_configurations) = 'array'),
    -- cloudPcWindowsSetting, microsoftManagedDesktop, cloudPcProvisioningPolicyAutopatch; NULL when not set.
    windows_setting             TEXT    CHECK (windows_setting IS NULL OR json_type(windows_setting) = 'object'),
    microsoft_managed_desktop   TEXT    CHECK (microsoft_managed_desktop IS NULL OR json_type(microsoft_managed_desktop) = 'object'),
    autopatch                   TEXT    CHECK (autopatch IS NULL OR json_type(autopatch) = 'object'),
    -- Beta only: scope tags (a JSON array of strings), cloudPcManagementService, cloudPcUserExperienceType.
    scope_ids                   TEXT    NOT NULL DEFAULT '["0"]' CHECK (json_valid(scope_ids) AND json_type(scope_ids) = 'array'),
    managed_by                  TEXT    NOT NULL DEFAULT 'windows365' CHECK (managed_by IN ('windows365', 'devBox', 'rpaBox')),
    user_experience_type        TEXT    CHECK (user_experience_type IN ('cloudPc', 'cloudApp')),
    -- RFC 3339 UTC with milliseconds and Z (the emulator's clock), beta only.
    created_date_time           TEXT    NOT NULL CHECK (created_date_time GLOB '[0-9][0-9][0-9][0-9]-*Z'),
    last_modified_date_time     TEXT    NOT NULL CHECK (last_modified_date_time GLOB '[0-9][0-9][0-9][0-9]-*Z'),
    -- displayName folded to lower case (as device_images), for $filter and $orderby.
    display_name_key            TEXT    NOT NULL,
    UNIQUE (tenant_id, id)
);

-- The image delete guard: which policies of a tenant use an image.
CREATE INDEX provisioning_policies_image ON provisioning_policies (tenant_id, image_id_key);

-- A policy's assignments: the groups it is assigned to. `assign` replaces them all.
CREATE TABLE policy_assignments (
    -- The policy (provisioning_policies.seq); deleting the policy deletes them.
    policy_seq       INTEGER NOT NULL REFERENCES provisioning_policies (seq) ON DELETE CASCADE,
    -- Order in the assign request.
    position         INTEGER NOT NULL CHECK (position >= 0),
    -- The assignment's Graph id: {policyId}_{groupId}, as the service forms it.
    id               TEXT    NOT NULL,
    -- cloudPcManagementGroupAssignmentTarget: the Entra group (a GUID) and the optional service plan (a GUID).
    group_id         TEXT    NOT NULL CHECK (length(group_id) = 36 AND group_id = lower(group_id)),
    service_plan_id  TEXT    CHECK (service_plan_id IS NULL OR (length(service_plan_id) = 36 AND service_plan_id = lower(service_plan_id))),
    PRIMARY KEY (policy_seq, position),
    UNIQUE (policy_seq, group_id)
);
