// Package buildinfo says which build of Kinerja Ledger is running, for the
// binaries' --version and the kinerja_build_info metric: the version, the
// VCS revision and time the go command stamped into the binary, and the Go
// version.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// version, when set at link time (go build -ldflags "-X
// github.com/kinerja-ledger/kinerja/cmd/internal/buildinfo.version=v1.2.0"),
// wins over the module version the go command records, which is
// "(devel)" for a build from a checkout.
var version string

// Info describes a build.
type Info struct {
	// Version is the release ("(devel)" for a build from a checkout).
	Version string
	// Revision and Time are the VCS commit and its time ("" when the
	// binary was built without VCS information); Modified says the work
	// tree had uncommitted changes.
	Revision, Time string
	Modified       bool
	// GoVersion is the toolchain's.
	GoVersion string
}

// Read returns the running binary's build.
func Read() Info {
	i := Info{Version: "(devel)", GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			i.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				i.Revision = s.Value
			case "vcs.time":
				i.Time = s.Value
			case "vcs.modified":
				i.Modified = s.Value == "true"
			}
		}
	}
	if version != "" {
		i.Version = version
	}
	return i
}

// String is the line --version prints (without the program's name).
func (i Info) String() string {
	var parts []string
	if i.Revision != "" {
		parts = append(parts, "revision "+i.Revision)
	}
	if i.Time != "" {
		parts = append(parts, i.Time)
	}
	if i.Modified {
		parts = append(parts, "modified")
	}
	s := i.Version
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return fmt.Sprintf("%s %s %s/%s", s, i.GoVersion, runtime.GOOS, runtime.GOARCH)
}

// Collector returns the metric kinerja_build_info{version, revision,
// go_version}, always 1: dashboards join it to tell which build served.
func (i Info) Collector() prometheus.Collector {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "kinerja", Name: "build_info",
		Help: "The running build: version, VCS revision and Go version (always 1).",
	}, []string{"version", "revision", "go_version"})
	g.WithLabelValues(i.Version, i.Revision, i.GoVersion).Set(1)
	return g
}
