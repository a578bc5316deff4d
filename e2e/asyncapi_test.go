package e2e

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// asyncAPI reads docs/asyncapi.yaml.
func asyncAPI(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile("../docs/asyncapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("docs/asyncapi.yaml: %v", err)
	}
	return doc
}

// get walks doc along keys (a "#/a/b" reference's parts); nil when a key
// is missing.
func get(doc any, keys ...string) any {
	for _, k := range keys {
		m, ok := doc.(map[string]any)
		if !ok {
			return nil
		}
		doc = m[k]
	}
	return doc
}

// at is get for what the document must hold.
func at(t *testing.T, doc any, keys ...string) any {
	t.Helper()
	v := get(doc, keys...)
	if v == nil {
		t.Fatalf("docs/asyncapi.yaml: nothing at %v", keys)
	}
	return v
}

// deref follows a {"$ref": "#/…"} to the object it names.
func deref(t *testing.T, doc, v any) map[string]any {
	t.Helper()
	m, _ := v.(map[string]any)
	for m != nil && m["$ref"] != nil {
		ref, _ := m["$ref"].(string)
		m, _ = at(t, doc, strings.Split(strings.TrimPrefix(ref, "#/"), "/")...).(map[string]any)
	}
	if m == nil {
		t.Fatalf("docs/asyncapi.yaml: %v names nothing", v)
	}
	return m
}

// TestAsyncAPIExamples sends every example of every message a client sends
// in docs/asyncapi.yaml to the local stack, as alice with bob online and
// carol offline, and checks the answer against the message's x-replies:
// the reply's type, its status or code, and the client's id echoed.
func TestAsyncAPIExamples(t *testing.T) {
	doc := asyncAPI(t)
	s := startStack(t, noLimits())
	alice, _ := s.dial("alice"), s.dial("bob")
	sent := 0
	for name, op := range at(t, doc, "operations").(map[string]any) {
		if at(t, op, "action") != "send" {
			continue
		}
		for _, ref := range at(t, op, "messages").([]any) {
			msg := deref(t, doc, ref)
			replies, _ := msg["x-replies"].(map[string]any)
			for _, ex := range msg["examples"].([]any) {
				exName := at(t, ex, "name").(string)
				want, ok := replies[exName].(map[string]any)
				if !ok {
					t.Errorf("%s: the example %q has no x-replies entry", name, exName)
					continue
				}
				payload := at(t, ex, "payload").(map[string]any)
				alice.send(payload)
				got := alice.next()
				sent++
				for _, k := range []string{"type", "status", "code"} {
					if w, ok := want[k]; ok && got[k] != w {
						t.Errorf("%s, example %q: the answer's %s is %v, want %v (%v)", name, exName, k, got[k], w, got)
					}
				}
				if got["id"] != payload["id"] {
					t.Errorf("%s, example %q: the answer's id is %v, want %v", name, exName, got["id"], payload["id"])
				}
			}
		}
	}
	if sent < 8 {
		t.Errorf("only %d examples sent", sent)
	}
}

// TestAsyncAPIFrameTypes: the server frame types the document describes
// are exactly the Type constants of internal/protocol, and its error codes
// are exactly the codes internal/domain declares for the client protocol.
func TestAsyncAPIFrameTypes(t *testing.T) {
	doc := asyncAPI(t)
	var described []string
	for _, m := range at(t, doc, "components", "messages").(map[string]any) {
		if c, ok := get(m, "payload", "properties", "type", "const").(string); ok && !slices.Contains(described, c) {
			described = append(described, c)
		}
	}
	slices.Sort(described)
	if known := constants(t, "../internal/protocol/frames.go", "Type", ""); !slices.Equal(described, known) {
		t.Errorf("frame types: the document describes %v, internal/protocol knows %v", described, known)
	}

	var codes []string
	for _, c := range at(t, doc, "components", "schemas", "ErrorCode", "enum").([]any) {
		codes = append(codes, c.(string))
	}
	slices.Sort(codes)
	if known := constants(t, "../internal/domain/errors.go", "Code", "The error codes of the client protocol."); !slices.Equal(codes, known) {
		t.Errorf("error codes: the document lists %v, internal/domain declares %v", codes, known)
	}
}

// constants returns, sorted, the string values of the constants of file
// whose names start with prefix, in the const block whose comment is doc
// (any block when doc is "").
func constants(t *testing.T, file, prefix, doc string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]bool{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST || (doc != "" && (g.Doc == nil || strings.TrimSpace(g.Doc.Text()) != doc)) {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if !strings.HasPrefix(n.Name, prefix) || i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					v, _ := strconv.Unquote(lit.Value)
					values[v] = true
				}
			}
		}
	}
	return slices.Sorted(maps.Keys(values))
}
