package buildinfo

import (
	"runtime"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestString(t *testing.T) {
	for _, tc := range []struct {
		info Info
		want string
	}{
		{Info{Version: "(devel)", GoVersion: "go1.26.8"}, "(devel) go1.26.8 "},
		{Info{Version: "v1.2.0", Revision: "abc123", Time: "2026-11-23T10:00:00Z", GoVersion: "go1.26.8"}, "v1.2.0 (revision abc123, 2026-11-23T10:00:00Z) go1.26.8 "},
		{Info{Version: "(devel)", Revision: "abc123", Modified: true, GoVersion: "go1.26.8"}, "(devel) (revision abc123, modified) go1.26.8 "},
	} {
		if got := tc.info.String(); got != tc.want+runtime.GOOS+"/"+runtime.GOARCH {
			t.Errorf("String() = %q, want %q", got, tc.want+runtime.GOOS+"/"+runtime.GOARCH)
		}
	}
}

func TestReadAndCollector(t *testing.T) {
	version = "v9.9.9"
	defer func() { version = "" }()
	i := Read()
	if i.Version != "v9.9.9" || i.GoVersion != runtime.Version() {
		t.Errorf("Read() = %+v", i)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(i.Collector())
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 || mfs[0].GetName() != "kinerja_build_info" || len(mfs[0].GetMetric()) != 1 {
		t.Fatalf("Gather = %v, %v", mfs, err)
	}
	m := mfs[0].GetMetric()[0]
	labels := map[string]string{}
	for _, l := range m.GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	if m.GetGauge().GetValue() != 1 || labels["version"] != "v9.9.9" || labels["go_version"] != runtime.Version() || labels["revision"] != i.Revision {
		t.Errorf("kinerja_build_info = %v %v", labels, m.GetGauge().GetValue())
	}
}
