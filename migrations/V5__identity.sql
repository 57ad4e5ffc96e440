-- V5: identity (issue 6).

-- The HS256 secret of tokens the emulator mints (POST /_emulator/token, `cloudpc-emulator token`) and accepts in
-- `--auth jwt` mode when no --jwt-secret is given: random per database, so minted tokens stay valid across restarts.
ALTER TABLE emulator_state ADD COLUMN jwt_secret TEXT NOT NULL DEFAULT '';
UPDATE emulator_state SET jwt_secret = lower(hex(randomblob(32)));

-- Tenancy: every image belongs to the caller's tenant (`tid`), and every query is scoped by it; device_images
-- already carries tenant_id and its indexes lead with it.
