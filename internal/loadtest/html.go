package loadtest

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"math"
	"os"
	"strings"
)

// The HTML report is one self-contained file: styles inline, charts as
// inline SVG drawn here, nothing fetched. It is also well-formed XML, so any
// HTML or XML parser reads it.

const chartW, chartH = 640.0, 220.0
const padL, padR, padT, padB = 56.0, 16.0, 28.0, 36.0
const plotW, plotH = chartW - padL - padR, chartH - padT - padB

var palette = []string{"#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c"}

// line is one series of a line chart.
type line struct {
	name   string
	values []float64
}

// niceMax rounds v up to 1, 2 or 5 times a power of ten.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// axes draws the frame, the title and y gridlines from 0 to top.
func axes(b *strings.Builder, title, unit string, top float64) {
	fmt.Fprintf(b, `<svg class="chart" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`, chartW, chartH, chartW, chartH, html.EscapeString(title))
	fmt.Fprintf(b, `<text x="%.0f" y="16" class="title">%s</text>`, padL, html.EscapeString(title))
	for i := 0; i <= 4; i++ {
		y := padT + plotH - plotH*float64(i)/4
		fmt.Fprintf(b, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" class="grid"/>`, padL, y, chartW-padR, y)
		fmt.Fprintf(b, `<text x="%.0f" y="%.1f" class="ytick">%s</text>`, padL-6, y+4, html.EscapeString(fmtNum(top*float64(i)/4)))
	}
	fmt.Fprintf(b, `<text x="12" y="%.0f" class="unit" transform="rotate(-90 12 %.0f)">%s</text>`, padT+plotH/2, padT+plotH/2, html.EscapeString(unit))
}

func fmtNum(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2g", v)
}

// histogramSVG draws a latency histogram on a logarithmic time axis.
func histogramSVG(title string, bins []histBin) string {
	var b strings.Builder
	var top int64
	for _, bin := range bins {
		top = max(top, bin.Count)
	}
	ymax := niceMax(float64(top))
	axes(&b, title, "count", ymax)
	if len(bins) > 0 {
		const floor = 0.001 // 1 µs: the histogram's resolution
		lo := math.Log10(max(bins[0].LoMs, floor))
		hi := math.Log10(max(bins[len(bins)-1].HiMs, floor))
		// At least one decade wide, the data centred.
		if hi-lo < 1 {
			mid := (hi + lo) / 2
			lo, hi = mid-0.5, mid+0.5
		}
		x := func(v float64) float64 { return padL + plotW*(math.Log10(max(v, floor))-lo)/(hi-lo) }
		for _, bin := range bins {
			h := plotH * float64(bin.Count) / ymax
			x0, x1 := x(bin.LoMs), x(bin.HiMs)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="bar"><title>%s–%s ms: %d</title></rect>`,
				x0, padT+plotH-h, max(x1-x0-0.5, 0.8), h, fmtNum(bin.LoMs), fmtNum(bin.HiMs), bin.Count)
		}
		for e := math.Floor(lo); e <= math.Ceil(hi); e++ {
			for _, m := range []float64{1, 2, 5} {
				v := m * math.Pow(10, e)
				if lv := math.Log10(v); lv < lo || lv > hi {
					continue
				}
				fmt.Fprintf(&b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" class="grid"/><text x="%.1f" y="%.0f" class="xtick">%s</text>`,
					x(v), chartH-padB, x(v), chartH-padB+4, x(v)-4, chartH-padB+16, html.EscapeString(fmtNum(v)))
			}
		}
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" class="xlabel">ms (log scale)</text></svg>`, chartW-padR, chartH-4)
	return b.String()
}

// linesSVG draws series over the seconds of the run.
func linesSVG(title, unit string, lines []line) string {
	var b strings.Builder
	n, top := 0, 0.0
	for _, l := range lines {
		n = max(n, len(l.values))
		for _, v := range l.values {
			top = max(top, v)
		}
	}
	ymax := niceMax(top)
	axes(&b, title, unit, ymax)
	x := func(i int) float64 {
		if n <= 1 {
			return padL + plotW/2
		}
		return padL + plotW*float64(i)/float64(n-1)
	}
	for i, l := range lines {
		color := palette[i%len(palette)]
		var pts []string
		for j, v := range l.values {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(j), padT+plotH-plotH*v/ymax))
		}
		if len(pts) == 1 {
			fmt.Fprintf(&b, `<circle cx="%s" r="3" fill="%s"/>`, strings.Replace(pts[0], ",", `" cy="`, 1), color)
		} else if len(pts) > 1 {
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="1.8"/>`, strings.Join(pts, " "), color)
		}
		lx := chartW - padR - float64(len(lines)-i)*80
		fmt.Fprintf(&b, `<rect x="%.0f" y="8" width="10" height="10" fill="%s"/><text x="%.0f" y="17" class="legend">%s</text>`, lx, color, lx+14, html.EscapeString(l.name))
	}
	every := max(1, n/8)
	for i := 0; i < n; i += every {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" class="xtick">%d</text>`, x(i), chartH-padB+16, i)
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" class="xlabel">seconds since start</text></svg>`, chartW-padR, chartH-4)
	return b.String()
}

// htmlPage is the report's page.
var htmlPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"ms":    fmtNum,
	"pct":   func(v float64) string { return fmt.Sprintf("%.2f%%", v*100) },
	"errs":  sum,
	"codes": fmtCounts,
	"cost":  func(p phaseCost) string { return p.dynamoCost.text(p.Unit) },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<title>loadtest {{.R.Settings.Scenario}} {{.R.Settings.Started.Format "2006-01-02 15:04"}}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #111; max-width: 1340px; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
table { border-collapse: collapse; margin: 8px 0; }
td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th { background: #f3f4f6; } td.l, th.l { text-align: left; }
.bad { color: #b91c1c; font-weight: 600; } .ok { color: #15803d; font-weight: 600; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
svg.chart { border: 1px solid #e5e7eb; background: #fff; }
svg .title { font-size: 13px; font-weight: 600; } svg .grid { stroke: #eee; }
svg .ytick { font-size: 10px; text-anchor: end; fill: #555; } svg .xtick { font-size: 10px; fill: #555; }
svg .xlabel { font-size: 10px; text-anchor: end; fill: #555; } svg .unit { font-size: 10px; fill: #555; text-anchor: middle; }
svg .legend { font-size: 11px; } svg .bar { fill: #2563eb; }
</style>
</head>
<body>
<h1>Load test: {{.R.Settings.Scenario}}</h1>
<p>{{.Describe}}</p>
{{if .R.TimedOut}}<p class="bad">Stopped by -timeout: the figures are partial.</p>{{else if .R.Interrupted}}<p class="bad">Interrupted: the figures are partial.</p>{{end}}
<h2>Settings</h2>
<table>{{range .Settings}}<tr><th class="l">{{.K}}</th><td class="l">{{.V}}</td></tr>{{end}}</table>
<h2>Steps</h2>
<table>
<tr><th class="l">step</th><th>count</th><th>ok</th><th>errors</th><th>error rate</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th><th class="l">errors by code</th></tr>
{{range .R.Steps}}<tr><td class="l">{{.Name}}</td><td>{{.Count}}</td><td>{{.OK}}</td><td>{{errs .Errors}}</td><td>{{pct .ErrorRate}}</td><td>{{ms .Latency.P50}}</td><td>{{ms .Latency.P90}}</td><td>{{ms .Latency.P99}}</td><td>{{ms .Latency.P999}}</td><td>{{ms .Latency.Max}}</td><td class="l">{{codes .Errors}}</td></tr>
{{end}}</table>
{{with .R.Check}}{{if .Sent}}<h2>Messages</h2>
<table>
<tr><th class="l">sent</th><td>{{.Sent}}</td><th class="l">acked</th><td>{{.Acked}}</td><th class="l">errors</th><td>{{errs .Errors}}</td></tr>
<tr><th class="l">acked delivered</th><td>{{.Delivered}}</td><th class="l">read</th><td>{{.Read}}</td><th class="l">recipient closing</th><td>{{.Closing}}</td></tr>
<tr><th class="l">acked queued</th><td>{{.Queued}}</td><th class="l">collected from inbox</th><td>{{.Collected}}</td><th class="l">rate_limited, retried</th><td>{{.RateLimited}}</td></tr>
<tr><th class="l">lost</th><td class="{{if .Lost}}bad{{else}}ok{{end}}">{{.Lost}}</td><th class="l">duplicates</th><td class="{{if .Duplicates}}bad{{else}}ok{{end}}">{{.Duplicates}}</td><th class="l">not of this run</th><td>{{.Foreign}}</td></tr>
</table>{{end}}{{end}}
<h2>Throughput and cost</h2>
<table>
<tr><th class="l">run phase</th><td>{{printf "%.2f" .R.Rates.Seconds}} s</td></tr>
{{if .R.Rates.Offered}}<tr><th class="l">offered</th><td>{{printf "%.1f" .R.Rates.Offered}} /s</td></tr>{{end}}
<tr><th class="l">acked</th><td>{{printf "%.1f" .R.Rates.Acked}} msg/s</td></tr>
<tr><th class="l">received</th><td>{{printf "%.1f" .R.Rates.Received}} msg/s</td></tr>
<tr><th class="l">connects</th><td>{{printf "%.1f" .R.Rates.Connects}} /s</td></tr>
{{range .R.DynamoDB}}<tr><th class="l">DynamoDB, {{.Phase}}</th><td class="l">{{cost .}}</td></tr>{{end}}
{{if .R.CPU.MicrosPerMessage}}<tr><th class="l">CPU per acked message</th><td>{{printf "%.0f" .R.CPU.MicrosPerMessage}} µs</td></tr>{{end}}
</table>
{{with .R.Estimate}}<h2>Expected AWS usage (planned)</h2>
<table><tr><th class="l">API Gateway messages</th><td>{{.APIMessages}}</td></tr><tr><th class="l">Lambda invocations</th><td>{{.LambdaInvokes}}</td></tr><tr><th class="l">DynamoDB requests</th><td>{{.DynamoDB}}</td></tr></table>{{end}}
<h2>Latency histograms</h2>
<div class="charts">{{range .Histograms}}{{.}}{{end}}</div>
<h2>Over time</h2>
<div class="charts">{{range .Series}}{{.}}{{end}}</div>
</body>
</html>
`))

type kv struct{ K, V string }

// writeHTMLFile writes r to path as a self-contained HTML page.
func writeHTMLFile(path string, r *report) error {
	// The page names no URL, so that nothing in it looks like a reference.
	s := r.Settings
	s.Target = bareURL(s.Target)
	settings := []kv{
		{"scenario", s.Scenario}, {"target", s.Mode + " " + s.Target}, {"players", s.Identities},
		{"rate limits", s.Limits}, {"players / senders", fmt.Sprintf("%d / %d", s.Players, s.Senders)}, {"loop", s.Loop},
	}
	if s.Engine != "" {
		settings = append(settings, kv{"DynamoDB engine", s.Engine})
	}
	if s.Loop == "open" {
		settings = append(settings, kv{"rate", fmt.Sprintf("%.4g/s per sender, %.4g/s offered", s.Rate, s.OfferedRate)})
	} else {
		settings = append(settings, kv{"in flight per sender", fmt.Sprint(s.Concurrency)})
	}
	if s.Duration != "" {
		settings = append(settings, kv{"duration", s.Duration})
	} else {
		settings = append(settings, kv{"count per sender", fmt.Sprint(s.Messages)})
	}
	if s.Ramp != "" {
		settings = append(settings, kv{"ramp-up", s.Ramp})
	}
	settings = append(settings, kv{"message size", fmt.Sprintf("%d bytes", s.Size)}, kv{"started", s.Started.Format("2006-01-02 15:04:05 UTC")})
	if s.Scenario == scenarioMixed {
		settings = append(settings, kv{"offline at start", fmt.Sprintf("%.0f%%", s.OfflineFraction*100)}, kv{"churn", fmt.Sprintf("%.4g/s", s.Churn)})
	}

	var hists []template.HTML
	for _, st := range r.Steps {
		if len(st.Bins) > 0 {
			hists = append(hists, template.HTML(histogramSVG(st.Name+" latency", st.Bins)))
		}
	}
	n := len(r.Series)
	sent, acked, errs, connects, p50, p99 := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for i, p := range r.Series {
		sent[i], acked[i], errs[i], connects[i], p50[i], p99[i] = float64(p.Sent), float64(p.Acked), float64(p.Errors), float64(p.Connects), p.AckP50, p.AckP99
	}
	var series []template.HTML
	if s.Scenario == scenarioConnect {
		series = append(series, template.HTML(linesSVG("connects per second", "per second", []line{{"connects", connects}})))
	} else {
		series = append(series,
			template.HTML(linesSVG("messages per second", "per second", []line{{"sent", sent}, {"acked", acked}})),
			template.HTML(linesSVG("send→ack latency", "ms", []line{{"p50", p50}, {"p99", p99}})))
	}
	series = append(series, template.HTML(linesSVG("errors per second", "per second", []line{{"errors", errs}})))

	var buf bytes.Buffer
	err := htmlPage.Execute(&buf, map[string]any{
		"R": r, "Describe": s.describe(), "Settings": settings, "Histograms": hists, "Series": series,
	})
	if err == nil {
		err = os.WriteFile(path, buf.Bytes(), 0o644)
	}
	if err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	return nil
}

// bareURL writes u as host/path (scheme).
func bareURL(u string) string {
	if scheme, rest, ok := strings.Cut(u, "://"); ok {
		return rest + " (" + scheme + ")"
	}
	return u
}
