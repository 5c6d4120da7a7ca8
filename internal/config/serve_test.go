package config_test

import (
	"flag"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/api"
	"github.com/tenantry/tenantry/internal/collect"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/console"
)

func parseServe(t *testing.T, env map[string]string, args ...string) (*config.Serve, error) {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	s := config.ServeFlags(fs, func(k string) string { return env[k] })
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return s, s.Validate()
}

// TestServeDefaultsEnvAndFlags: each of serve's settings is its default,
// else its environment variable, else its flag, read into typed values.
func TestServeDefaultsEnvAndFlags(t *testing.T) {
	s, err := parseServe(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.CollectShard != (collect.Shard{}) || s.TrustedProxies != nil || s.SecureCookies || s.Currency != "USD" ||
		s.SQL != (console.Limits{Timeout: console.DefaultTimeout, MaxRows: console.DefaultMaxRows}) || s.OpsAddr != "" ||
		s.MetricsToken != "" || s.LogFormat != "text" || s.LogLevel != slog.LevelInfo ||
		s.APIRateLimit != api.DefaultRateLimit || s.MaxImport != 1024<<20 {
		t.Fatalf("defaults: %+v", s)
	}
	env := map[string]string{
		"TENANTRY_COLLECT_SHARD": "2/4", "TENANTRY_TRUSTED_PROXIES": "10.0.0.5, 10.1.0.0/16", "TENANTRY_SECURE_COOKIES": "1",
		"TENANTRY_CURRENCY": "EUR", "TENANTRY_SQL_TIMEOUT": "30s", "TENANTRY_SQL_MAX_ROWS": "50", "TENANTRY_OPS_ADDR": "127.0.0.1:9100",
		"TENANTRY_METRICS_TOKEN": "scrape", "TENANTRY_LOG_FORMAT": "json", "TENANTRY_LOG_LEVEL": "debug",
		"TENANTRY_API_RATE_LIMIT": "-1", "TENANTRY_MAX_IMPORT_SIZE": "8",
	}
	s, err = parseServe(t, env)
	if err != nil {
		t.Fatal(err)
	}
	if s.CollectShard != (collect.Shard{I: 2, N: 4}) || len(s.TrustedProxies) != 2 || s.TrustedProxies[0].String() != "10.0.0.5/32" ||
		s.TrustedProxies[1].String() != "10.1.0.0/16" || !s.SecureCookies || s.Currency != "EUR" ||
		s.SQL != (console.Limits{Timeout: 30 * time.Second, MaxRows: 50}) || s.OpsAddr != "127.0.0.1:9100" || s.MetricsToken != "scrape" ||
		s.LogFormat != "json" || s.LogLevel != slog.LevelDebug || s.APIRateLimit != -1 || s.MaxImport != 8<<20 {
		t.Fatalf("env: %+v", s)
	}
	s, err = parseServe(t, env, "--collect-shard", "1/2", "--trusted-proxies", "::1", "--secure-cookies=false", "--currency", "GBP",
		"--sql-timeout", "2m", "--sql-max-rows", "7", "--ops-addr", "", "--log-format", "text", "--log-level", "warn",
		"--api-rate-limit", "60", "--max-import-size", "2")
	if err != nil {
		t.Fatal(err)
	}
	if s.CollectShard != (collect.Shard{I: 1, N: 2}) || len(s.TrustedProxies) != 1 || s.TrustedProxies[0].String() != "::1/128" ||
		s.SecureCookies || s.Currency != "GBP" || s.SQL != (console.Limits{Timeout: 2 * time.Minute, MaxRows: 7}) || s.OpsAddr != "" ||
		s.LogFormat != "text" || s.LogLevel != slog.LevelWarn || s.APIRateLimit != 60 || s.MaxImport != 2<<20 {
		t.Fatalf("flags over env: %+v", s)
	}
}

// TestServeValidation: a bad setting, from a flag or the environment, is
// refused with a message naming the flag (or the variable, for one that
// is not a number, even when a flag overrides it).
func TestServeValidation(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"--collect-shard", "3/2"}, `--collect-shard: Shard "3/2" is not i/n`},
		{map[string]string{"TENANTRY_COLLECT_SHARD": "0/4"}, nil, `--collect-shard: Shard "0/4"`},
		{nil, []string{"--trusted-proxies", "10.0.0.1, proxy"}, `--trusted-proxies: "proxy" is not an IP address`},
		{map[string]string{"TENANTRY_TRUSTED_PROXIES": "10.0.0.0/33"}, nil, `--trusted-proxies: "10.0.0.0/33"`},
		{map[string]string{"TENANTRY_CURRENCY": "euro"}, nil, `--currency "euro" is not an ISO 4217 code`},
		{nil, []string{"--sql-timeout", "2h"}, `--sql-timeout "2h" is not a duration from 1ms to 1h`},
		{map[string]string{"TENANTRY_SQL_MAX_ROWS": "0"}, nil, `--sql-max-rows "0" is not a number from 1 to 1000000`},
		{nil, []string{"--log-format", "xml"}, `--log-format "xml" is not text or json`},
		{map[string]string{"TENANTRY_LOG_FORMAT": "yaml"}, nil, `--log-format "yaml"`},
		{nil, []string{"--log-level", "loud"}, `--log-level "loud" is not debug, info, warn or error`},
		{map[string]string{"TENANTRY_LOG_LEVEL": "verbose"}, nil, `--log-level "verbose"`},
		{nil, []string{"--api-rate-limit", "0"}, "--api-rate-limit must be positive"},
		{map[string]string{"TENANTRY_API_RATE_LIMIT": "lots"}, []string{"--api-rate-limit", "60"}, `TENANTRY_API_RATE_LIMIT="lots" is not a whole number`},
		{map[string]string{"TENANTRY_MAX_IMPORT_SIZE": "1GiB"}, nil, `TENANTRY_MAX_IMPORT_SIZE="1GiB" is not a whole number`},
		{nil, []string{"--max-import-size", "0"}, "--max-import-size must be at least 1"},
	} {
		if _, err := parseServe(t, tc.env, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: %v, want mention of %s", tc.env, tc.args, err, tc.want)
		}
	}
}
