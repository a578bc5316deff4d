package sam

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// This file reads the subset of YAML that template.yaml keeps to (see the
// comment at its top): block mappings and sequences indented by spaces,
// plain, single- and double-quoted scalars, flow sequences ([a, !Ref b]),
// comments, and one short-form tag (!Ref, !Sub, ...) per value, either
// inline or heading a nested block. Anything outside the subset (flow
// mappings, block scalars, anchors, tabs, duplicate keys) is an error rather
// than a guess, so that the checks never run on a misread template.

// node is one YAML value. Exactly one of the kinds is set: a mapping (keys
// and m), a sequence (list) or a scalar (value).
type node struct {
	line  int
	tag   string // "!Ref", "!Sub", ... or ""
	value string
	keys  []string // mapping keys in source order
	m     map[string]*node
	list  []*node
	isMap bool
	isSeq bool
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

type yamlLine struct {
	no     int
	indent int
	dash   bool   // a sequence item
	text   string // the item's scalar, or a "key: value" line
}

// parseYAML reads src into a node tree.
func parseYAML(src string) (*node, error) {
	lines, err := splitYAMLLines(src)
	if err != nil {
		return nil, err
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("empty document")
	}
	p := &yamlParser{lines: lines}
	if lines[0].indent != 0 {
		return nil, fmt.Errorf("line %d: the document must start at column 1", lines[0].no)
	}
	root, err := p.block(0)
	if err != nil {
		return nil, err
	}
	if p.pos < len(lines) {
		return nil, fmt.Errorf("line %d: unexpected indentation", lines[p.pos].no)
	}
	return root, nil
}

var keyRE = regexp.MustCompile(`^([A-Za-z0-9_.$@/-]+):(?:\s+(.*))?$`)

// splitYAMLLines drops comments and blank lines and turns "- key: value"
// into a bare "-" item followed by "key: value" two columns deeper, so that
// the parser sees one kind of thing per line.
func splitYAMLLines(src string) ([]yamlLine, error) {
	var out []yamlLine
	for i, raw := range strings.Split(src, "\n") {
		no := i + 1
		text := strings.TrimRight(stripComment(strings.TrimRight(raw, "\r")), " ")
		content := strings.TrimLeft(text, " ")
		if content == "" {
			continue
		}
		indent := len(text) - len(content)
		if strings.ContainsRune(text[:indent], '\t') || strings.HasPrefix(content, "\t") {
			return nil, fmt.Errorf("line %d: tab in indentation", no)
		}
		if content == "---" || content == "..." {
			return nil, fmt.Errorf("line %d: one document only", no)
		}
		for content == "-" || strings.HasPrefix(content, "- ") {
			rest := strings.TrimLeft(strings.TrimPrefix(content, "-"), " ")
			if rest == "" {
				out = append(out, yamlLine{no: no, indent: indent, dash: true})
				content = ""
				break
			}
			restIndent := indent + (len(content) - len(rest))
			if keyRE.MatchString(rest) {
				out = append(out, yamlLine{no: no, indent: indent, dash: true})
				indent, content = restIndent, rest
				break
			}
			if rest == "-" || strings.HasPrefix(rest, "- ") {
				out = append(out, yamlLine{no: no, indent: indent, dash: true})
				indent, content = restIndent, rest
				continue
			}
			out = append(out, yamlLine{no: no, indent: indent, dash: true, text: rest})
			content = ""
		}
		if content != "" {
			out = append(out, yamlLine{no: no, indent: indent, text: content})
		}
	}
	return out, nil
}

// stripComment removes a comment: a '#' at the start of the content or after
// a blank, outside quotes. A quote opens a quoted scalar only where a value
// can start, so an apostrophe inside plain text does not.
func stripComment(s string) string {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == '"' && c == '\\':
			i++
		case quote == '\'' && c == '\'' && i+1 < len(s) && s[i+1] == '\'':
			i++
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
		case (c == '"' || c == '\'') && (i == 0 || strings.IndexByte(" [,", s[i-1]) >= 0):
			quote = c
		case c == '#' && (i == 0 || s[i-1] == ' '):
			return s[:i]
		}
	}
	return s
}

type yamlParser struct {
	lines []yamlLine
	pos   int
}

func (p *yamlParser) block(indent int) (*node, error) {
	if p.lines[p.pos].dash {
		return p.sequence(indent)
	}
	return p.mapping(indent)
}

// deeper reports whether the next line is indented more than indent.
func (p *yamlParser) deeper(indent int) bool {
	return p.pos < len(p.lines) && p.lines[p.pos].indent > indent
}

func (p *yamlParser) mapping(indent int) (*node, error) {
	n := &node{line: p.lines[p.pos].no, isMap: true, m: map[string]*node{}}
	for p.pos < len(p.lines) && p.lines[p.pos].indent == indent {
		l := p.lines[p.pos]
		if l.dash {
			return nil, fmt.Errorf("line %d: sequence item among mapping keys (indent the sequence under its key)", l.no)
		}
		sub := keyRE.FindStringSubmatch(l.text)
		if sub == nil {
			return nil, fmt.Errorf("line %d: want \"key: value\", have %q", l.no, l.text)
		}
		key, rest := sub[1], strings.TrimSpace(sub[2])
		if _, dup := n.m[key]; dup {
			return nil, fmt.Errorf("line %d: duplicate key %s", l.no, key)
		}
		p.pos++
		v, err := p.value(l, rest, indent)
		if err != nil {
			return nil, err
		}
		n.keys = append(n.keys, key)
		n.m[key] = v
	}
	if p.deeper(indent) {
		return nil, fmt.Errorf("line %d: unexpected indentation", p.lines[p.pos].no)
	}
	return n, nil
}

func (p *yamlParser) sequence(indent int) (*node, error) {
	n := &node{line: p.lines[p.pos].no, isSeq: true}
	for p.pos < len(p.lines) && p.lines[p.pos].indent == indent {
		l := p.lines[p.pos]
		if !l.dash {
			return nil, fmt.Errorf("line %d: mapping key after a sequence at the same indentation", l.no)
		}
		p.pos++
		v, err := p.value(l, l.text, indent)
		if err != nil {
			return nil, err
		}
		n.list = append(n.list, v)
	}
	return n, nil
}

// value reads what follows a key or a dash: an inline value, or a nested
// block (possibly headed by a lone tag, as in "AccessLogSettings: !If").
func (p *yamlParser) value(l yamlLine, rest string, indent int) (*node, error) {
	tag := ""
	if strings.HasPrefix(rest, "!") && !strings.Contains(rest, " ") {
		tag, rest = rest, ""
	}
	if rest != "" {
		v, err := parseScalar(rest, l.no)
		if err != nil {
			return nil, err
		}
		if p.deeper(indent) {
			return nil, fmt.Errorf("line %d: a value and a nested block", p.lines[p.pos].no)
		}
		return v, nil
	}
	if !p.deeper(indent) {
		return &node{line: l.no, tag: tag}, nil // null
	}
	v, err := p.block(p.lines[p.pos].indent)
	if err != nil {
		return nil, err
	}
	v.tag = tag
	return v, nil
}

// parseScalar reads an inline value: an optional tag, then a plain or quoted
// scalar or a flow sequence.
func parseScalar(s string, line int) (*node, error) {
	tag := ""
	if strings.HasPrefix(s, "!") {
		tag, s, _ = strings.Cut(s, " ")
		s = strings.TrimSpace(s)
		if strings.HasPrefix(s, "!") {
			return nil, fmt.Errorf("line %d: two tags on one value", line)
		}
	}
	n := &node{line: line, tag: tag}
	switch {
	case s == "":
	case s[0] == '[':
		if !strings.HasSuffix(s, "]") {
			return nil, fmt.Errorf("line %d: unterminated flow sequence", line)
		}
		n.isSeq = true
		items, err := splitFlow(s[1:len(s)-1], line)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			v, err := parseScalar(it, line)
			if err != nil {
				return nil, err
			}
			n.list = append(n.list, v)
		}
	case s[0] == '"':
		v, err := strconv.Unquote(s)
		if err != nil {
			return nil, fmt.Errorf("line %d: double-quoted scalar %s: %w", line, s, err)
		}
		n.value = v
	case s[0] == '\'':
		if len(s) < 2 || !strings.HasSuffix(s, "'") || strings.Contains(strings.ReplaceAll(s[1:len(s)-1], "''", ""), "'") {
			return nil, fmt.Errorf("line %d: bad single-quoted scalar %s", line, s)
		}
		n.value = strings.ReplaceAll(s[1:len(s)-1], "''", "'")
	case strings.ContainsRune("{&*|>%@`", rune(s[0])):
		return nil, fmt.Errorf("line %d: %q is outside the YAML subset this test reads", line, s)
	case strings.Contains(s, ": "):
		return nil, fmt.Errorf("line %d: plain scalar with \": \" (quote it)", line)
	default:
		n.value = s
	}
	return n, nil
}

// splitFlow splits the inside of a flow sequence at top-level commas.
func splitFlow(s string, line int) ([]string, error) {
	var items []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == '"' && c == '\\':
			i++
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
		case c == '"' || c == '\'':
			quote = c
		case c == '[':
			depth++
		case c == ']':
			depth--
		case c == ',' && depth == 0:
			items = append(items, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	if quote != 0 || depth != 0 {
		return nil, fmt.Errorf("line %d: unbalanced flow sequence", line)
	}
	if last := strings.TrimSpace(s[start:]); last != "" || len(items) > 0 {
		items = append(items, last)
	}
	for _, it := range items {
		if it == "" {
			return nil, fmt.Errorf("line %d: empty item in flow sequence", line)
		}
	}
	return items, nil
}

// dump renders a node compactly, for the parser's own tests.
func dump(n *node) string {
	if n == nil {
		return "<nil>"
	}
	var b strings.Builder
	if n.tag != "" {
		b.WriteString(n.tag + " ")
	}
	switch {
	case n.isMap:
		b.WriteString("{")
		for i, k := range n.keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k + ": " + dump(n.m[k]))
		}
		b.WriteString("}")
	case n.isSeq:
		b.WriteString("[")
		for i, it := range n.list {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(dump(it))
		}
		b.WriteString("]")
	default:
		b.WriteString(strconv.Quote(n.value))
	}
	return b.String()
}

func TestParseYAML(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		want    string
		wantErr string
	}{
		{
			name: "mapping, sequences and tags",
			src: `A: 1
B:
  C: !Ref X   # comment
  D:
    - x
    - !GetAtt T.Arn
  E: [a, !Ref b, "c, d"]
`,
			want: `{A: "1", B: {C: !Ref "X", D: ["x", !GetAtt "T.Arn"], E: ["a", !Ref "b", "c, d"]}}`,
		},
		{
			name: "items that are mappings",
			src: `S:
  - Effect: Allow
    Action:
      - a:B
    Resource: 'it''s # not a comment'
  - Name: n
`,
			want: `{S: [{Effect: "Allow", Action: ["a:B"], Resource: "it's # not a comment"}, {Name: "n"}]}`,
		},
		{
			name: "tag heading a block",
			src: `X: !If
  - Cond
  - K: v
    L: w
  - !Ref AWS::NoValue
`,
			want: `{X: !If ["Cond", {K: "v", L: "w"}, !Ref "AWS::NoValue"]}`,
		},
		{
			name: "apostrophe in plain text keeps the comment rule",
			src:  "D: the player's row # note\nE: \"a#b\"\n",
			want: `{D: "the player's row", E: "a#b"}`,
		},
		{
			name: "null and dollar keys",
			src:  "A:\nB: $default\n",
			want: `{A: "", B: "$default"}`,
		},
		{name: "duplicate key", src: "A: 1\nA: 2\n", wantErr: "duplicate key"},
		{name: "flow mapping", src: "A: {B: 1}\n", wantErr: "outside the YAML subset"},
		{name: "block scalar", src: "A: |\n  text\n", wantErr: "outside the YAML subset"},
		{name: "tab", src: "A:\n\tB: 1\n", wantErr: "tab"},
		{name: "value and block", src: "A: 1\n  B: 2\n", wantErr: "a value and a nested block"},
		{name: "sequence at key indentation", src: "A:\nB:\n- x\n", wantErr: "sequence item among mapping keys"},
		{name: "bad indentation", src: "A:\n    B: 1\n  C: 2\n", wantErr: "unexpected indentation"},
		{name: "unterminated flow", src: "A: [a, b\n", wantErr: "unterminated"},
		{name: "bad double quote", src: "A: \"a\n", wantErr: "double-quoted"},
		{name: "two tags", src: "A: !Ref !Sub x\n", wantErr: "two tags"},
		{name: "colon in plain scalar", src: "A: b: c\n", wantErr: "quote it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := parseYAML(tt.src)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseYAML error = %v, want one containing %q (tree %s)", err, tt.wantErr, dump(n))
				}
				return
			}
			if err != nil {
				t.Fatalf("parseYAML: %v", err)
			}
			if got := dump(n); got != tt.want {
				t.Errorf("parseYAML =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
