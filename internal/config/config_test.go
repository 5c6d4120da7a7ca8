package config_test

import (
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/tenantry/tenantry/internal/config"
)

func parse(t *testing.T, env map[string]string, args ...string) (*config.Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c := config.Flags(fs, func(k string) string { return env[k] })
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return c, c.Validate()
}

func TestDefaultsEnvAndFlags(t *testing.T) {
	c, err := parse(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Platform != "local" || !strings.HasSuffix(c.DataDir, "/data") || c.CentralURL != "file:"+c.DataDir+"/central.db" ||
		c.SqldURL != "http://127.0.0.1:8080" || c.SqldAdminURL != "http://127.0.0.1:9090" || c.TursoGroup != "default" || c.TursoAPIURL != "https://api.turso.tech" {
		t.Fatalf("defaults: %+v", c)
	}
	env := map[string]string{"TENANTRY_DATA": "/srv/t", "TENANTRY_PLATFORM": "sqld", "TENANTRY_SQLD_ADMIN_KEY": "k", "TURSO_GROUP": "g"}
	c, err = parse(t, env)
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/srv/t" || c.Platform != "sqld" || c.SqldAdminKey != "k" || c.TursoGroup != "g" {
		t.Fatalf("env: %+v", c)
	}
	c, err = parse(t, env, "--data", "/other", "--platform", "local", "--central", "libsql://c.example:443")
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/other" || c.Platform != "local" || c.CentralURL != "libsql://c.example:443" {
		t.Fatalf("flags over env: %+v", c)
	}
}

// TestEnvOnly: the settings with no flag are read from the environment,
// "" when unset.
func TestEnvOnly(t *testing.T) {
	c, err := parse(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.LogFormat != "" || c.LogLevel != "" || c.Password != "" || c.CPUProfile != "" || c.CentralToken != "" {
		t.Fatalf("unset: %+v", c)
	}
	c, err = parse(t, map[string]string{"TENANTRY_LOG_FORMAT": "json", "TENANTRY_LOG_LEVEL": "debug", "TENANTRY_PASSWORD": "pw",
		"TENANTRY_CPUPROFILE": "/tmp/cpu.out", "TENANTRY_CENTRAL_TOKEN": "tok"})
	if err != nil {
		t.Fatal(err)
	}
	if c.LogFormat != "json" || c.LogLevel != "debug" || c.Password != "pw" || c.CPUProfile != "/tmp/cpu.out" || c.CentralToken != "tok" {
		t.Fatalf("env: %+v", c)
	}
}

func TestSqldPublicURL(t *testing.T) {
	c, err := parse(t, map[string]string{"TENANTRY_SQLD_PUBLIC_URL": "https://{namespace}.env.example.com"})
	if err != nil || c.SqldPublicURL != "https://{namespace}.env.example.com" {
		t.Fatalf("env: %+v, %v", c, err)
	}
	c, err = parse(t, map[string]string{"TENANTRY_SQLD_PUBLIC_URL": "https://{namespace}.env.example.com"}, "--sqld-public-url", "https://{namespace}.flag.example.com")
	if err != nil || c.SqldPublicURL != "https://{namespace}.flag.example.com" {
		t.Fatalf("flag over env: %+v, %v", c, err)
	}
}

func TestValidation(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"--platform", "oracle"}, "--platform"},
		{nil, []string{"--data", " "}, "--data"},
		{nil, []string{"--central", "not a url"}, "--central"},
		{nil, []string{"--platform", "turso"}, "TURSO_ORG"},
		{nil, []string{"--sqld-public-url", "https://db.example.com"}, "{namespace}"},
		{map[string]string{"TENANTRY_SQLD_PUBLIC_URL": "{namespace}.db.example.com"}, nil, "--sqld-public-url"},
	} {
		if _, err := parse(t, tc.env, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want mention of %s", tc.args, err, tc.want)
		}
	}
}
