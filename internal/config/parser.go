package config

// The parser: typed settings from environment variables, given as a getenv
// function, naming every missing or invalid one at once.

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Parser reads variables through Getenv, collecting what is missing or
// invalid for Err. Values are trimmed of spaces; unset or blank is unset.
type Parser struct {
	Getenv   func(string) string
	missing  []string
	problems []string
}

// Problem records a problem that no single variable's reading finds.
func (p *Parser) Problem(format string, args ...any) {
	p.problems = append(p.problems, fmt.Sprintf(format, args...))
}

// Err names every missing variable, then every other problem; nil when
// there are none.
func (p *Parser) Err() error {
	if len(p.missing) > 0 {
		p.problems = append([]string{"missing " + strings.Join(p.missing, ", ")}, p.problems...)
	}
	if len(p.problems) > 0 {
		return errors.New("config: " + strings.Join(p.problems, "; "))
	}
	return nil
}

// Required reads name, counting it as missing when unset and needed.
func (p *Parser) Required(name string, needed bool) string {
	v := strings.TrimSpace(p.Getenv(name))
	if v == "" && needed {
		p.missing = append(p.missing, name)
	}
	return v
}

// URL reads an absolute http or https URL, counting it as missing when
// unset and needed.
func (p *Parser) URL(name string, needed bool) string {
	v := p.Required(name, needed)
	if v == "" {
		return ""
	}
	if u, err := url.Parse(v); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		p.Problem("%s must be an absolute http(s) URL, not %q", name, v)
	}
	return v
}

// OneOf reads one of the values allowed; unset, it is def.
func (p *Parser) OneOf(name, def string, allowed ...string) string {
	return parse(p, name, def, "one of "+strings.Join(allowed, ", "), func(v string) (string, bool) {
		return v, slices.Contains(allowed, v)
	})
}

// Str reads name; unset, it is def.
func (p *Parser) Str(name, def string) string {
	if v := strings.TrimSpace(p.Getenv(name)); v != "" {
		return v
	}
	return def
}

// parse reads name with conv. Unset, it is def; a value conv refuses is
// named as a problem, saying what is wanted, and gives def too.
func parse[T any](p *Parser, name string, def T, want string, conv func(string) (T, bool)) T {
	v := strings.TrimSpace(p.Getenv(name))
	if v == "" {
		return def
	}
	x, ok := conv(v)
	if !ok {
		p.Problem("%s must be %s, not %q", name, want, v)
		return def
	}
	return x
}

// PositiveInt reads a whole number above zero.
func (p *Parser) PositiveInt(name string, def int) int {
	return parse(p, name, def, "a positive whole number", func(v string) (int, bool) {
		n, err := strconv.Atoi(v)
		return n, err == nil && n > 0
	})
}

// Duration reads a positive Go duration.
func (p *Parser) Duration(name string, def time.Duration) time.Duration {
	return parse(p, name, def, "a positive duration such as 24h", func(v string) (time.Duration, bool) {
		d, err := time.ParseDuration(v)
		return d, err == nil && d > 0
	})
}

// Level reads LOG_LEVEL: debug, info, warn or error; default info.
func (p *Parser) Level() slog.Level {
	return parse(p, "LOG_LEVEL", slog.LevelInfo, "debug, info, warn or error", func(v string) (slog.Level, bool) {
		var l slog.Level
		return l, l.UnmarshalText([]byte(v)) == nil
	})
}

// Rate reads a non-negative, finite number.
func (p *Parser) Rate(name string, def float64) float64 {
	return parse(p, name, def, "a non-negative number", func(v string) (float64, bool) {
		f, err := strconv.ParseFloat(v, 64)
		return f, err == nil && f >= 0 && !math.IsInf(f, 0) && !math.IsNaN(f)
	})
}

// Count reads a non-negative whole number.
func (p *Parser) Count(name string, def int64) int64 {
	return parse(p, name, def, "a non-negative whole number", func(v string) (int64, bool) {
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil && n >= 0
	})
}
