-- +goose Up
-- Tenants and their size per status, kept by triggers in the same
-- statement as every registry change, so the overview reads a handful of
-- rows instead of counting the registry on every view.
CREATE TABLE tenant_counts (
    status      TEXT PRIMARY KEY,
    tenants     INTEGER NOT NULL,
    size_bytes  INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO tenant_counts SELECT status, count(*), coalesce(sum(size_bytes), 0) FROM tenants GROUP BY status;

-- +goose StatementBegin
CREATE TRIGGER tenant_counts_insert AFTER INSERT ON tenants BEGIN
    INSERT INTO tenant_counts VALUES (new.status, 1, new.size_bytes)
        ON CONFLICT (status) DO UPDATE SET tenants = tenants + 1, size_bytes = size_bytes + excluded.size_bytes;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER tenant_counts_delete AFTER DELETE ON tenants BEGIN
    UPDATE tenant_counts SET tenants = tenants - 1, size_bytes = size_bytes - old.size_bytes WHERE status = old.status;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER tenant_counts_update AFTER UPDATE OF status, size_bytes ON tenants
WHEN old.status IS NOT new.status OR old.size_bytes IS NOT new.size_bytes BEGIN
    UPDATE tenant_counts SET tenants = tenants - 1, size_bytes = size_bytes - old.size_bytes WHERE status = old.status;
    INSERT INTO tenant_counts VALUES (new.status, 1, new.size_bytes)
        ON CONFLICT (status) DO UPDATE SET tenants = tenants + 1, size_bytes = size_bytes + excluded.size_bytes;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER tenant_counts_update;
DROP TRIGGER tenant_counts_delete;
DROP TRIGGER tenant_counts_insert;
DROP TABLE tenant_counts;
