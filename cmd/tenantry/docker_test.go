package main

import (
	"bufio"
	"debug/elf"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDockerBinaryIsStaticAndRunsUnprivileged builds the binary exactly as
// the Dockerfile does (this machine has no container engine to build the
// image itself) and proves what the image relies on: the binary needs no
// dynamic loader or shared library, which the empty base image lacks, and
// it makes a fleet and serves it as the image's unprivileged user.
func TestDockerBinaryIsStaticAndRunsUnprivileged(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	df, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^RUN (CGO_ENABLED=0) go build (.*) -o /out/tenantry (\./cmd/tenantry)$`).FindSubmatch(df)
	if m == nil {
		t.Fatal("the Dockerfile's build line changed; update this test with it")
	}
	if !regexp.MustCompile(`(?m)^USER 65532:65532$`).Match(df) || !regexp.MustCompile(`(?m)^FROM scratch$`).Match(df) {
		t.Fatal("the Dockerfile no longer runs as user 65532 on an empty base image; update this test")
	}
	bin := filepath.Join(t.TempDir(), "tenantry")
	// Split as the shell does: -ldflags="-s -w" is one argument.
	args := []string{"build"}
	for _, a := range regexp.MustCompile(`\S*"[^"]*"\S*|\S+`).FindAllString(string(m[2]), -1) {
		args = append(args, strings.ReplaceAll(a, `"`, ""))
	}
	cmd := exec.Command("go", append(args, "-o", bin, ".")...)
	cmd.Env = append(os.Environ(), string(m[1]))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary asks for a dynamic loader")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v", libs)
	}
	f.Close()

	if os.Geteuid() != 0 {
		t.Skip("not root: cannot run the binary as another user")
	}
	data := filepath.Join(t.TempDir(), "data")
	tmp := filepath.Join(t.TempDir(), "tmp")
	for _, d := range []string{data, tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, 65532, 65532); err != nil {
			t.Fatal(err)
		}
	}
	// The binary sits in a root-owned directory the user may not write to,
	// as in the image; its temp dir must be reachable by that user.
	if err := os.Chmod(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(filepath.Dir(bin)), 0o755); err != nil {
		t.Fatal(err)
	}
	unprivileged := func(args ...string) *exec.Cmd {
		c := exec.Command(bin, args...)
		c.Env = []string{"TENANTRY_DATA=" + data, "TMPDIR=" + tmp, "TENANTRY_PASSWORD=container-pass-1"}
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65532, Gid: 65532}}
		return c
	}
	if out, err := unprivileged("demo", "--stores", "3", "--days", "5").CombinedOutput(); err != nil {
		t.Fatalf("demo as user 65532: %v\n%s", err, out)
	}
	srv := unprivileged("serve", "--addr", "127.0.0.1:0")
	stdout, _ := srv.StdoutPipe()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("serve as user 65532 printed no address: %v", err)
	}
	url := strings.TrimSpace(strings.TrimPrefix(line, "tenantry: serving on "))
	client := &http.Client{Timeout: 5 * time.Second}
	res, err := client.Get(url + "/healthz")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("/healthz of the unprivileged server: %v %v", res, err)
	}
	res.Body.Close()
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(data, "central.db"), &st); err != nil || st.Uid != 65532 {
		t.Fatalf("central.db owned by %d (%v), want the unprivileged user", st.Uid, err)
	}
}
