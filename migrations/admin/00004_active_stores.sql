-- +goose Up
-- Active stores (at least one order) for the dashboards, kept exact by
-- every collection like the other rollups: per day, how many stores had
-- orders; per store and month, on how many days and from which day on.
-- A period from the first of a month to any day counts its active stores
-- from first_order_date without reading the metrics table.
ALTER TABLE metrics_daily ADD COLUMN active_stores INTEGER NOT NULL DEFAULT 0;
ALTER TABLE metrics_monthly ADD COLUMN active_days INTEGER NOT NULL DEFAULT 0;
ALTER TABLE metrics_monthly ADD COLUMN first_order_date TEXT;
UPDATE metrics_daily SET active_stores =
    (SELECT count(*) FROM metrics WHERE date = metrics_daily.date AND total_orders > 0);
UPDATE metrics_monthly SET
    active_days = (SELECT count(*) FROM metrics WHERE database_name = metrics_monthly.database_name
        AND date BETWEEN metrics_monthly.month || '-01' AND metrics_monthly.month || '-31' AND total_orders > 0),
    first_order_date = (SELECT min(date || '') FROM metrics WHERE database_name = metrics_monthly.database_name
        AND date BETWEEN metrics_monthly.month || '-01' AND metrics_monthly.month || '-31' AND total_orders > 0);
CREATE INDEX metrics_monthly_first_order ON metrics_monthly(month, first_order_date);

-- +goose Down
DROP INDEX metrics_monthly_first_order;
ALTER TABLE metrics_monthly DROP COLUMN first_order_date;
ALTER TABLE metrics_monthly DROP COLUMN active_days;
ALTER TABLE metrics_daily DROP COLUMN active_stores;
