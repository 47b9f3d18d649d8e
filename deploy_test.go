package kinerja_test

// These tests check the deployment files without a Docker engine (none runs
// where CI does): docker-compose.yml through the Compose specification's own
// loader (compose-go, the library docker compose is built on), the
// Dockerfile line by line, and the image's entrypoint steps run for real as
// the image's non-root user against a data directory made the way the
// image makes /data.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// loadCompose loads docker-compose.yml as docker compose would, with env as
// the only environment and the given profiles enabled.
func loadCompose(t *testing.T, env map[string]string, profiles ...string) *types.Project {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := loader.LoadWithContext(ctx, types.ConfigDetails{
		WorkingDir:  wd,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(wd, "docker-compose.yml")}},
		Environment: env,
	}, func(o *loader.Options) {
		o.SetProjectName("kinerja", true)
		o.Profiles = profiles
	})
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	return p
}

// imagePinned reports whether an image reference names an exact version: a
// tag other than latest (or a digest).
func imagePinned(ref string) bool {
	if strings.Contains(ref, "@sha256:") {
		return true
	}
	name := ref[strings.LastIndex(ref, "/")+1:]
	_, tag, ok := strings.Cut(name, ":")
	return ok && tag != "" && tag != "latest"
}

func TestComposeFile(t *testing.T) {
	p := loadCompose(t, map[string]string{}, "kurrentdb")
	want := []string{"kinerjad", "kurrentdb", "nats", "postgres"}
	if got := p.ServiceNames(); !slices.Equal(sortedCopy(got), want) {
		t.Fatalf("services = %v, want %v", sortedCopy(got), want)
	}
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		if s.Build == nil && !imagePinned(s.Image) {
			t.Errorf("%s: image %q is not pinned to a version", name, s.Image)
		}
		if s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) == 0 {
			t.Errorf("%s: no health check", name)
		}
		if !slices.Contains([]string{"always", "unless-stopped", "on-failure"}, s.Restart) {
			t.Errorf("%s: restart policy %q, want always, unless-stopped or on-failure", name, s.Restart)
		}
		for _, port := range s.Ports {
			if port.Published != "" && port.HostIP != "127.0.0.1" {
				t.Errorf("%s: port %s published on %q, want 127.0.0.1 by default", name, port.Published, port.HostIP)
			}
		}
	}
	k := p.Services["kinerjad"]
	for _, dep := range []string{"postgres", "nats", "kurrentdb"} {
		d, ok := k.DependsOn[dep]
		if !ok || d.Condition != types.ServiceConditionHealthy {
			t.Errorf("kinerjad depends on %s with %+v, want condition service_healthy", dep, d)
		}
	}
	var data bool
	for _, v := range k.Volumes {
		data = data || v.Target == "/data"
	}
	if !data || k.Environment["KINERJA_DATA"] == nil || *k.Environment["KINERJA_DATA"] != "/data" {
		t.Errorf("kinerjad must keep its data in the /data volume (volumes %+v)", k.Volumes)
	}

	// Without the profile, KurrentDB is not started and kinerjad's
	// dependency on it is optional: the default stack runs on PostgreSQL.
	def := loadCompose(t, map[string]string{})
	if _, ok := def.Services["kurrentdb"]; ok {
		t.Error("kurrentdb runs without --profile kurrentdb")
	}
	if d := def.Services["kinerjad"].DependsOn["kurrentdb"]; d.Required {
		t.Error("kinerjad requires kurrentdb even without its profile")
	}
	if got := *def.Services["kinerjad"].Environment["KINERJA_STORE"]; got != "postgres" {
		t.Errorf("default store = %q, want postgres", got)
	}

	// The bind address is the operator's to open up.
	open := loadCompose(t, map[string]string{"KINERJA_BIND": "0.0.0.0"})
	if got := open.Services["kinerjad"].Ports[0].HostIP; got != "0.0.0.0" {
		t.Errorf("with KINERJA_BIND=0.0.0.0 kinerjad binds %q", got)
	}
}

// lockedBuffer is a bytes.Buffer safe for concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// dockerfile is what the checks need from the Dockerfile's final stage.
type dockerfile struct {
	froms       []string
	user        string
	env         map[string]string
	volumes     []string
	chownCopies map[string]string // destination → --chown value
	healthcheck string
	entrypoint  []string
	buildRun    string
}

// parseDockerfile reads the instructions of path (continuation lines
// joined). It is no general parser: it understands what our Dockerfile uses.
func parseDockerfile(t *testing.T, path string) dockerfile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	var cur strings.Builder
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if cont, ok := strings.CutSuffix(l, "\\"); ok {
			cur.WriteString(cont + " ")
			continue
		}
		cur.WriteString(l)
		lines = append(lines, cur.String())
		cur.Reset()
	}
	d := dockerfile{env: map[string]string{}, chownCopies: map[string]string{}}
	for _, l := range lines {
		instr, rest, _ := strings.Cut(l, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(instr) {
		case "FROM":
			img, _, _ := strings.Cut(rest, " ")
			d.froms = append(d.froms, img)
			// A new stage: what the final stage says is what counts.
			d.user, d.volumes, d.healthcheck, d.entrypoint = "", nil, "", nil
			d.env, d.chownCopies = map[string]string{}, map[string]string{}
		case "USER":
			d.user = rest
		case "ENV":
			for _, kv := range strings.Fields(rest) {
				k, v, _ := strings.Cut(kv, "=")
				d.env[k] = v
			}
		case "VOLUME":
			var v []string
			if json.Unmarshal([]byte(rest), &v) != nil {
				v = strings.Fields(rest)
			}
			d.volumes = append(d.volumes, v...)
		case "COPY":
			f := strings.Fields(rest)
			var chown string
			var args []string
			for _, a := range f {
				if c, ok := strings.CutPrefix(a, "--chown="); ok {
					chown = c
				} else if !strings.HasPrefix(a, "--") {
					args = append(args, a)
				}
			}
			if chown != "" && len(args) > 0 {
				d.chownCopies[args[len(args)-1]] = chown
			}
		case "HEALTHCHECK":
			d.healthcheck = rest
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(rest), &d.entrypoint); err != nil {
				t.Fatalf("ENTRYPOINT must be exec form: %v", err)
			}
		case "RUN":
			if strings.Contains(rest, "go build") {
				d.buildRun = rest
			}
		}
	}
	return d
}

// imageUID is the numeric user the image runs as.
func imageUID(t *testing.T, d dockerfile) int {
	t.Helper()
	u, _, _ := strings.Cut(d.user, ":")
	uid, err := strconv.Atoi(u)
	if err != nil {
		t.Fatalf("USER %q must be numeric (the Kubernetes runAsNonRoot check needs a number)", d.user)
	}
	return uid
}

func TestDockerfile(t *testing.T) {
	d := parseDockerfile(t, "Dockerfile")
	for _, img := range d.froms {
		if img == "gcr.io/distroless/static-debian12:nonroot" {
			// Distroless publishes no version tags; the nonroot tag is its
			// pinned flavour (user 65532). Pin by digest in a release build.
			continue
		}
		if !imagePinned(img) {
			t.Errorf("FROM %s is not pinned to a version", img)
		}
	}
	if uid := imageUID(t, d); uid == 0 {
		t.Error("the image runs as root")
	}
	data := d.env["KINERJA_DATA"]
	if data == "" || !slices.Contains(d.volumes, data) {
		t.Errorf("KINERJA_DATA=%q must be a VOLUME (volumes %v)", data, d.volumes)
	}
	owner, ok := d.chownCopies[data]
	if !ok || owner != d.user {
		t.Errorf("%s must be created in the image owned by %s (COPY --chown), got %q: a named volume takes its ownership from the image", data, d.user, owner)
	}
	if !strings.Contains(d.healthcheck, "kinerjactl") || !strings.Contains(d.healthcheck, "health") {
		t.Errorf("HEALTHCHECK %q must ask kinerjactl health (no shell or curl in a distroless image)", d.healthcheck)
	}
	if len(d.entrypoint) != 1 || filepath.Base(d.entrypoint[0]) != "kinerjad" {
		t.Errorf("ENTRYPOINT = %v, want kinerjad", d.entrypoint)
	}
	ignore, err := os.ReadFile(".dockerignore")
	if err != nil {
		t.Fatal(".dockerignore is missing: COPY . . would send ./data, with the private keys, into the build context")
	}
	for _, must := range []string{"data", "*.key", ".git"} {
		if !slices.Contains(strings.Fields(string(ignore)), must) {
			t.Errorf(".dockerignore does not exclude %s", must)
		}
	}
}

// TestImageEntrypointAsNonRoot runs the image's steps without an image:
// it builds the binaries with the Dockerfile's own go build commands, makes
// the data directory as the image does (owned by the image's user) and
// starts kinerjad as that user with the image's environment; the health
// check command must then see it ready. A root-owned data directory, as a
// named volume gets from an image that lacks the directory, must fail.
func TestImageEntrypointAsNonRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("KINERJA_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("KINERJA_REQUIRE_INTEGRATION=1: this test must run as root (it switches to the image's user)")
		}
		t.Skip("needs root to run as the image's user")
	}
	if testing.Short() {
		t.Skip("builds the binaries")
	}
	d := parseDockerfile(t, "Dockerfile")
	uid := imageUID(t, d)

	// A world-traversable scratch root, so the image's user reaches it.
	root, err := os.MkdirTemp("", "kinerja-image-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(root, "out")

	// The Dockerfile's build, with /out moved under root.
	builds := regexp.MustCompile(`CGO_ENABLED=0 go build ([^&]+?) -o /out/bin/(\w+) (\./cmd/\w+)`).FindAllStringSubmatch(d.buildRun, -1)
	if len(builds) < 2 {
		t.Fatalf("cannot find the go build commands in RUN %q", d.buildRun)
	}
	for _, b := range builds {
		if b[2] != "kinerjad" && b[2] != "kinerjactl" {
			continue // the entrypoint and the health check are all this test runs
		}
		cmd := exec.Command("go", "build", b[1], "-o", filepath.Join(out, "bin", b[2]), b[3])
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b[3], err, msg)
		}
	}
	if err := os.Chmod(out, 0o755); err != nil {
		t.Fatal(err)
	}

	asImageUser := func(cmd *exec.Cmd) {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	}
	start := func(t *testing.T, data string) (addr string, wait func() (string, error)) {
		t.Helper()
		cmd := exec.Command(filepath.Join(out, "bin", "kinerjad"))
		env := []string{"PATH=/usr/bin:/bin", "HOME=" + data}
		for k, v := range d.env {
			env = append(env, k+"="+v)
		}
		// The image's environment, then the test's overrides: the data
		// directory stands where /data would, and a free loopback port.
		env = append(env, "KINERJA_DATA="+data, "KINERJA_LISTEN=127.0.0.1:0", "KINERJA_STORE=bolt")
		cmd.Env = env
		asImageUser(cmd)
		var logs lockedBuffer // stderr's copier and the scanner both write
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		found := make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				logs.Write(append(sc.Bytes(), '\n'))
				var line struct {
					Msg  string `json:"msg"`
					Addr string `json:"addr"`
				}
				if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
					found <- line.Addr
				}
			}
			close(found)
		}()
		select {
		case a, ok := <-found:
			if ok {
				return a, nil
			}
		case <-time.After(60 * time.Second):
		}
		err = cmd.Wait()
		return "", func() (string, error) { return logs.String(), err }
	}

	t.Run("data owned by the image user", func(t *testing.T) {
		data := filepath.Join(root, "data-ok")
		if err := os.Mkdir(data, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(data, uid, uid); err != nil {
			t.Fatal(err)
		}
		addr, wait := start(t, data)
		if addr == "" {
			logs, err := wait()
			t.Fatalf("kinerjad did not start as uid %d: %v\n%s", uid, err, logs)
		}
		// The HEALTHCHECK's own command, as the image's user.
		var health *exec.Cmd
		deadline := time.Now().Add(60 * time.Second)
		for {
			health = exec.Command(filepath.Join(out, "bin", "kinerjactl"), "health", "--url", "http://"+addr)
			asImageUser(health)
			msg, err := health.CombinedOutput()
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("kinerjactl health never passed: %v\n%s", err, msg)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})

	t.Run("root-owned data is refused loudly", func(t *testing.T) {
		data := filepath.Join(root, "data-root")
		if err := os.Mkdir(data, 0o755); err != nil {
			t.Fatal(err)
		}
		addr, wait := start(t, data)
		if addr != "" {
			t.Fatalf("kinerjad started on a data directory it cannot write (%s)", addr)
		}
		logs, err := wait()
		if err == nil || !strings.Contains(strings.ToLower(logs), "permission denied") {
			t.Fatalf("want a non-zero exit naming permission denied, got %v:\n%s", err, logs)
		}
	})
}
