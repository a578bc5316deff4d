package sam

import (
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// node is one value of the template, read with gopkg.in/yaml.v3, which keeps
// the short-form tags (!Ref, !Sub, ...). Exactly one of the kinds is set: a
// mapping (keys and m), a sequence (list) or a scalar (value).
type node struct {
	line  int
	tag   string // "!Ref", "!Sub", ... or "" for YAML's own types
	value string
	keys  []string // mapping keys in source order
	m     map[string]*node
	list  []*node
	isMap bool
	isSeq bool
}

// parseYAML reads src into a node tree. A duplicate key is an error, as it
// is for CloudFormation.
func parseYAML(src string) (*node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, fmt.Errorf("empty document")
	}
	return convert(doc.Content[0])
}

func convert(y *yaml.Node) (*node, error) {
	if y.Kind == yaml.AliasNode {
		y = y.Alias
	}
	n := &node{line: y.Line}
	if !strings.HasPrefix(y.Tag, "!!") {
		n.tag = y.Tag
	}
	switch y.Kind {
	case yaml.MappingNode:
		n.isMap, n.m = true, map[string]*node{}
		for i := 0; i+1 < len(y.Content); i += 2 {
			k := y.Content[i].Value
			if _, dup := n.m[k]; dup {
				return nil, fmt.Errorf("line %d: duplicate key %s", y.Content[i].Line, k)
			}
			v, err := convert(y.Content[i+1])
			if err != nil {
				return nil, err
			}
			n.keys = append(n.keys, k)
			n.m[k] = v
		}
	case yaml.SequenceNode:
		n.isSeq = true
		for _, c := range y.Content {
			v, err := convert(c)
			if err != nil {
				return nil, err
			}
			n.list = append(n.list, v)
		}
	default:
		n.value = y.Value
	}
	return n, nil
}

// get follows a path of mapping keys; it returns nil when any is missing.
func (n *node) get(path ...string) *node {
	for _, k := range path {
		if n == nil || !n.isMap {
			return nil
		}
		n = n.m[k]
	}
	return n
}

// str is the scalar value at path, or "" when there is none.
func (n *node) str(path ...string) string {
	v := n.get(path...)
	if v == nil || v.isMap || v.isSeq {
		return ""
	}
	return v.value
}

// strs is the scalar value at path as a one-element list, or the scalar
// items of the sequence there.
func (n *node) strs(path ...string) []string {
	v := n.get(path...)
	switch {
	case v == nil || v.isMap:
		return nil
	case v.isSeq:
		var out []string
		for _, it := range v.list {
			if !it.isMap && !it.isSeq {
				out = append(out, it.value)
			}
		}
		return out
	}
	return []string{v.value}
}

// items returns a sequence's items, a single value as a list of one, or nil.
func (n *node) items() []*node {
	switch {
	case n == nil:
		return nil
	case n.isSeq:
		return n.list
	}
	return []*node{n}
}

// walk calls f for n and every node below it, with the mapping key that led
// to the node ("" for sequence items and the root).
func (n *node) walk(key string, f func(key string, n *node)) {
	if n == nil {
		return
	}
	f(key, n)
	for _, k := range n.keys {
		n.m[k].walk(k, f)
	}
	for _, it := range n.list {
		it.walk("", f)
	}
}

func TestParseYAMLKeepsTags(t *testing.T) {
	root, err := parseYAML("A: !Ref B\nC: !Sub\n  - ${X}\n  - X: !GetAtt D.Arn\nE: [1, \"two\"]\nF: {G: h}\n")
	if err != nil {
		t.Fatal(err)
	}
	if a := root.get("A"); a.tag != "!Ref" || a.value != "B" {
		t.Errorf("A = %s %q, want !Ref B", a.tag, a.value)
	}
	if c := root.get("C"); c.tag != "!Sub" || !c.isSeq || c.list[1].get("X").tag != "!GetAtt" {
		t.Errorf("C lost its tags: %+v", c)
	}
	if e := root.strs("E"); len(e) != 2 || e[0] != "1" || e[1] != "two" || root.get("E").list[0].tag != "" {
		t.Errorf("E = %v", e)
	}
	if root.str("F", "G") != "h" {
		t.Errorf("F.G = %q, want h", root.str("F", "G"))
	}
	if _, err := parseYAML("A: 1\nA: 2\n"); err == nil || !strings.Contains(err.Error(), "duplicate key A") {
		t.Errorf("duplicate key: err = %v", err)
	}
}
