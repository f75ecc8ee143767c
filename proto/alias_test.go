package locustpb_test

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	old "github.com/golocust/golocust/proto"
	"github.com/golocust/golocust/proto/locustpb"
)

// exported lists the exported top-level identifiers declared in the
// non-test files of package dir that carry the given package clause, by
// name, with their kind (type, const, var, func).
func exported(t *testing.T, dir string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name.Name != "locustpb" {
			continue // the generator (package main, build-ignored)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name.IsExported() {
					ids[d.Name.Name] = "func"
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if s.Name.IsExported() {
							ids[s.Name.Name] = "type"
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.IsExported() {
								ids[n.Name] = d.Tok.String()
							}
						}
					}
				}
			}
		}
	}
	if len(ids) == 0 {
		t.Fatalf("no exported identifiers found in %s", dir)
	}
	return ids
}

// The old import path must keep compiling for every identifier a user may
// have used: each exported identifier of locustpb needs its forwarder
// here, of the same kind. Regenerate with go generate ./proto.
func TestAliasesComplete(t *testing.T) {
	want := exported(t, "locustpb")
	got := exported(t, ".")
	for name, kind := range want {
		switch g, ok := got[name]; {
		case !ok:
			t.Errorf("%s %s of proto/locustpb has no forwarder in proto (run go generate ./proto)", kind, name)
		case g != kind:
			t.Errorf("%s is a %s in proto/locustpb but a %s in proto (run go generate ./proto)", name, kind, g)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("proto declares %s, which proto/locustpb does not (run go generate ./proto)", name)
		}
	}
}

// Values made through the old path are the new package's: the types are
// aliases, so they pass both ways without conversion.
func TestAliasesAreTheSameTypes(t *testing.T) {
	var m *locustpb.WorkerMessage = &old.WorkerMessage{Kind: &old.WorkerMessage_Heartbeat{Heartbeat: &old.Heartbeat{}}}
	if err := old.ValidateWorkerMessage(m, old.DefaultLimits); err != nil {
		t.Fatalf("ValidateWorkerMessage through the old path: %v", err)
	}
	if old.Cluster_ServiceDesc.ServiceName != locustpb.Cluster_ServiceDesc.ServiceName {
		t.Fatalf("service name %q, want %q", old.Cluster_ServiceDesc.ServiceName, locustpb.Cluster_ServiceDesc.ServiceName)
	}
	if old.Version != locustpb.Version {
		t.Fatalf("Version %q, want %q", old.Version, locustpb.Version)
	}
	if err := old.CheckVersion(locustpb.Version, "0.1"); !errors.Is(err, locustpb.ErrIncompatibleVersion) || !errors.Is(err, old.ErrIncompatibleVersion) {
		t.Fatalf("CheckVersion through the old path with a major mismatch: %v, want ErrIncompatibleVersion", err)
	}
}
