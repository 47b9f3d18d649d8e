package tabular

import (
	"strings"
	"testing"
)

func TestCSVDefusesFormulas(t *testing.T) {
	// CSV injection is defused.
	if got := CSVSafe("=HYPERLINK(\"x\")"); got != "'=HYPERLINK(\"x\")" {
		t.Errorf("CSVSafe(formula) = %q", got)
	}
	if got := CSVSafe("-3"); got != "-3" {
		t.Errorf("CSVSafe(-3) = %q", got)
	}
	b, err := CSV([]string{"a", "b"}, [][]string{{"=1+1", "x"}}, true)
	if err != nil || string(b) != "\uFEFFa,b\n'=1+1,x\n" {
		t.Errorf("CSV with a byte-order mark = %q, %v", b, err)
	}
	if b, _ := CSV([]string{"a"}, nil, false); strings.HasPrefix(string(b), "\uFEFF") {
		t.Errorf("CSV without a byte-order mark = %q", b)
	}
}

func TestFileName(t *testing.T) {
	if got := FileName("progress", "", "DINKES/x", "2026"); got != "progress-DINKES_x-2026" {
		t.Errorf("FileName = %q", got)
	}
	if got := FileName("", "a"); got != "a" {
		t.Errorf("FileName with an empty first part = %q", got)
	}
}
