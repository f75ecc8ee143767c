package uplot

import (
	"io/fs"
	"strings"
	"testing"
)

// The web UI serves FS and the report inlines ESM and CSS: both must be
// the vendored files, with the licence and the version beside them.
func TestTheVendoredFilesAreEmbedded(t *testing.T) {
	for _, name := range []string{"uPlot.esm.js", "uPlot.min.css", "LICENSE", "VERSION"} {
		b, err := fs.ReadFile(FS, name)
		if err != nil || len(b) == 0 {
			t.Fatalf("%s: %d bytes, %v", name, len(b), err)
		}
	}
	if b, _ := fs.ReadFile(FS, "uPlot.esm.js"); string(b) != ESM {
		t.Fatal("ESM differs from uPlot.esm.js in FS")
	}
	if !strings.Contains(ESM, "export { uPlot as default };") {
		t.Fatal("ESM has no default export of uPlot: the report's classic-script wrapper relies on it")
	}
	if !strings.Contains(CSS, ".uplot") {
		t.Fatal("CSS has no .uplot rule")
	}
	if v, _ := fs.ReadFile(FS, "VERSION"); !strings.HasPrefix(string(v), "uPlot 1.") {
		t.Fatalf("VERSION is %q", v)
	}
	if l, _ := fs.ReadFile(FS, "LICENSE"); !strings.Contains(string(l), "MIT") && !strings.Contains(string(l), "Permission is hereby granted") {
		t.Fatal("LICENSE is not uPlot's MIT licence")
	}
}
