package app

import (
	"archive/zip"
	"bytes"
	"testing"
)

// zipOf builds a zip container holding the named entries.
func zipOf(t *testing.T, entries ...[2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, e := range entries {
		f, err := w.Create(e[0])
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte(e[1]))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Evidence types are told by their content, never by a name or a header;
// what is not on the allow-list is refused.
func TestSniffEvidence(t *testing.T) {
	for name, c := range map[string]struct {
		data []byte
		want string
	}{
		"pdf":                  {[]byte("%PDF-1.7\n1 0 obj\n<<>>\nendobj\n"), MediaPDF},
		"png":                  {append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 32)...), MediaPNG},
		"jpeg":                 {append([]byte("\xff\xd8\xff\xe0"), make([]byte, 32)...), MediaJPEG},
		"text":                 {[]byte("Laporan triwulan I\nCapaian: 2 puskesmas\n"), MediaText},
		"docx":                 {zipOf(t, [2]string{"[Content_Types].xml", "<Types/>"}, [2]string{"word/document.xml", "<w:document/>"}), MediaDOCX},
		"xlsx":                 {zipOf(t, [2]string{"[Content_Types].xml", "<Types/>"}, [2]string{"xl/workbook.xml", "<workbook/>"}), MediaXLSX},
		"odt":                  {zipOf(t, [2]string{"mimetype", MediaODT}, [2]string{"content.xml", "<office/>"}), MediaODT},
		"html":                 {[]byte("<!DOCTYPE html><html><script>alert(1)</script></html>"), ""},
		"html without doctype": {[]byte("<script>alert(1)</script>"), ""},
		"svg":                  {[]byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), ""},
		"text with NUL":        {[]byte("laporan\x00rahasia"), ""},
		"text with escape":     {[]byte("laporan \x1b[31m merah"), ""},
		"latin-1 text":         {[]byte("caf\xe9 laporan"), ""},
		"plain zip":            {zipOf(t, [2]string{"a.txt", "a"}), ""},
		"odp by mimetype":      {zipOf(t, [2]string{"mimetype", "application/vnd.oasis.opendocument.presentation"}), ""},
		"executable":           {append([]byte("MZ\x90\x00"), make([]byte, 64)...), ""},
		"gif":                  {[]byte("GIF89a\x01\x00\x01\x00"), ""},
	} {
		if got := SniffEvidence(c.data); got != c.want {
			t.Errorf("%s: %q, want %q", name, got, c.want)
		}
	}
}

// A name a browser sends with a path keeps its last element; names that
// cannot be kept are refused.
func TestCleanFilename(t *testing.T) {
	for in, want := range map[string]string{
		"laporan.pdf":                  "laporan.pdf",
		`C:\Users\budi\laporan q1.pdf`: "laporan q1.pdf",
		"../../etc/passwd":             "passwd",
		"..":                           "",
		"dir/":                         "",
		"lap\x07oran.pdf":              "",
		"  ":                           "",
	} {
		if got := cleanFilename(in); got != want {
			t.Errorf("cleanFilename(%q) = %q, want %q", in, got, want)
		}
	}
}
