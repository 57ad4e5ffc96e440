-- Bench-only fast fill: COUNT ready images in the default tenant, straight into a migrated database (start the
-- emulator on the file once first). Ids are 00000000-0000-4000-8000-<n as 12 hex digits>, n = 1..COUNT, which the
-- Lua scripts address. Usage: sed 's/COUNT/1000000/' bench/fill.sql | sqlite3 FILE
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < COUNT)
INSERT INTO device_images (id, tenant_id, display_name, display_name_key, version, source_image_resource_id,
    operating_system, os_build_number, os_version_number, os_status, size_in_gb, expiration_date, status,
    scope_ids, last_modified_date_time, created_date_time)
SELECT printf('00000000-0000-4000-8000-%012x', i), '00000000-0000-0000-0000-000000000001', 'Fill ' || i,
    'fill ' || i, '1.0.0',
    '/subscriptions/0ac520ee-14c0-480f-b6c9-0a90c58ffff0/resourceGroups/rg-images/providers/Microsoft.Compute/images/win11-24h2',
    'Windows 11 Enterprise', '24H2', '10.0.26100.2314', 'supported', 64, '2027-10-12', 'ready', '[]',
    strftime('%Y-%m-%dT%H:%M:%fZ', 'now', printf('-%d seconds', COUNT - i)),
    strftime('%Y-%m-%dT%H:%M:%fZ', 'now', printf('-%d seconds', COUNT - i))
FROM n;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
