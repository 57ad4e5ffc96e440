-- V2: indexes for the common OData queries (issue 3), so that none of them scans the table.
--
-- Every list query is scoped to one tenant and ends its ORDER BY with a unique key (seq by default, else id), so
-- each index leads with tenant_id and ends with that key: the index then serves the filter, the sort and the keyset
-- condition of $skiptoken paging at once.
--
-- Already present from V1: (tenant_id, seq) for the default order, UNIQUE (tenant_id, display_name_key, version) for
-- `displayName eq '…'`, and UNIQUE (id) for `id eq '…'`.

-- $filter=status eq '…' in the default (creation) order.
CREATE INDEX device_images_tenant_status ON device_images (tenant_id, status, seq);
-- $orderby=lastModifiedDateTime [asc|desc], and range filters on it.
CREATE INDEX device_images_tenant_modified ON device_images (tenant_id, last_modified_date_time, id);
-- $orderby=displayName [asc|desc] (compared on its case-fold), and startswith(displayName, '…').
CREATE INDEX device_images_tenant_name ON device_images (tenant_id, display_name_key, id);
