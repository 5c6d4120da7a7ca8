-- Access control: when each user was last seen (kept after their sessions
-- end, for the users page), and failed logins, counted per e-mail and per
-- address to throttle password guessing across replicas and restarts.

-- +goose Up
ALTER TABLE users ADD COLUMN last_seen_at TEXT;

CREATE TABLE login_failures (
    id    INTEGER PRIMARY KEY,
    at    TEXT NOT NULL,
    email TEXT NOT NULL,
    addr  TEXT NOT NULL
);
CREATE INDEX login_failures_email ON login_failures(email, at);
CREATE INDEX login_failures_addr ON login_failures(addr, at);
CREATE INDEX login_failures_at ON login_failures(at);

-- +goose Down
DROP TABLE login_failures;
ALTER TABLE users DROP COLUMN last_seen_at;
