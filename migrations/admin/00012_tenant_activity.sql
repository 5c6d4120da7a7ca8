-- +goose Up
-- Each tenant's recent business for the registry page and tenants list:
-- orders and revenue over the 30 days ending "today" (UTC, by the
-- console's clock), the daily orders of those days (spark: "i:n" pairs,
-- i days after the window's first day, days without orders left out),
-- and the last day with an order. Collections keep the rows of the
-- tenants they write exact; when the day changes, the first reader moves
-- the window for every row (kv tenant_activity_day says which day the
-- window ends on; unset, the first reader fills it). Every tenant has a
-- row, so a sort by these columns walks one of the indexes below and
-- stops after its page.
CREATE TABLE tenant_activity (
    name            TEXT PRIMARY KEY,
    orders_30d      INTEGER NOT NULL DEFAULT 0,
    revenue_30d     INTEGER NOT NULL DEFAULT 0,
    last_order_date TEXT,
    spark           TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
INSERT INTO tenant_activity(name, last_order_date)
    SELECT database_name, max(date || '') FROM metrics WHERE total_orders > 0 GROUP BY database_name;
INSERT OR IGNORE INTO tenant_activity(name) SELECT name FROM tenants;
CREATE INDEX tenant_activity_orders ON tenant_activity(orders_30d, name);
CREATE INDEX tenant_activity_revenue ON tenant_activity(revenue_30d, name);
CREATE INDEX tenant_activity_last_order ON tenant_activity(last_order_date, name);
-- +goose StatementBegin
CREATE TRIGGER tenant_activity_row AFTER INSERT ON tenants BEGIN
    INSERT OR IGNORE INTO tenant_activity(name) VALUES (new.name);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER tenant_activity_row;
DROP TABLE tenant_activity;
DELETE FROM kv WHERE key = 'tenant_activity_day';
