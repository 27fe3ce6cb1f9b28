package viz

import "html/template"

type pageData struct {
	Title     string
	CSP       string
	Blocks    []block
	Data      []dataBlock
	ECharts   bool
	EChartsJS template.JS
	Bootstrap template.JS
	Scripts   []template.JS
	Version   string
	// Served: the page may fetch from its server (Report.AllowConnect).
	Served bool
}

// pageTemplate is the one page layout. Chart options and data are JSON in
// <script type="application/json"> blocks; bootstrapJS draws the charts from them.
var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{{.CSP}}">
<meta name="generator" content="mechinterp viz, Apache ECharts {{.Version}} inlined">
<title>{{.Title}}</title>
<style>
body{margin:0;background:#fff;color:#1f2328;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1100px;margin:0 auto;padding:24px 20px 60px}
h1{font-size:1.6em;margin:0 0 12px}
h2{font-size:1.25em;margin:32px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
p{margin:8px 0;max-width:80ch}
figure.mi-figure{margin:20px 0;padding:8px 0 4px;border:1px solid #e6e8eb;border-radius:6px}
.mi-chart{width:100%}
figcaption{color:#57606a;font-size:.92em;padding:4px 16px 8px}
ul.mi-links{padding-left:20px}
ul.mi-links li{margin:6px 0}
.mi-desc{color:#57606a}
footer{color:#8c959f;font-size:.8em;margin-top:40px}
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{- range .Blocks}}
{{- with .Section}}
{{- if .Heading}}
<h2>{{.Heading}}</h2>
{{- end}}
{{- range .Paras}}
<p>{{.}}</p>
{{- end}}
{{- end}}
{{- with .Chart}}
<figure class="mi-figure">
<div class="mi-chart" id="{{.ID}}" data-kind="{{.Kind}}" role="img" aria-label="{{.Title}}" style="height:{{.Height}}px"></div>
<figcaption>{{.Caption}}</figcaption>
<script type="application/json" id="{{.ID}}-option">{{.Option}}</script>
</figure>
{{- end}}
{{- with .Links}}
<ul class="mi-links">
{{- range .}}
<li><a href="{{.Path}}">{{.Title}}</a>{{if .Description}} <span class="mi-desc">— {{.Description}}</span>{{end}}</li>
{{- end}}
</ul>
{{- end}}
{{- with .Raw}}
{{.}}
{{- end}}
{{- end}}
<footer>{{if .Served}}Page served by mechinterp; it fetches data only from the server it came from.{{else}}Self-contained page written by mechinterp; it makes no network request.{{end}}</footer>
</main>
{{- range .Data}}
<script type="application/json" class="mi-data" id="mi-data-{{.Name}}">{{.JSON}}</script>
{{- end}}
{{- if .ECharts}}
<script>{{.EChartsJS}}</script>
{{- end}}
<script>{{.Bootstrap}}</script>
{{- range .Scripts}}
<script>{{.}}</script>
{{- end}}
</body>
</html>
`))

// bootstrapJS draws every .mi-chart from its JSON option and exposes window.mechinterp:
// charts (id -> ECharts instance) and data(name) (an embedded JSON block, parsed).
const bootstrapJS = `(function () {
  "use strict";
  var mi = window.mechinterp = window.mechinterp || {};
  mi.charts = {};
  mi.data = function (name) {
    var el = document.getElementById("mi-data-" + name);
    return el ? JSON.parse(el.textContent) : undefined;
  };
  function num(v) {
    if (typeof v !== "number") return String(v);
    var a = Math.abs(v);
    if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(3);
    return String(+v.toPrecision(4));
  }
  function axisNum(v) { return Number.isInteger(v) && Math.abs(v) < 1e9 ? v.toLocaleString("en-US") : num(v); }
  // logNum writes a log axis's labels short: 4 significant digits in the plain range, else
  // "1e-4" and "1.331e-6" (ECharts' "1.000e-4" labels ran into the axis name).
  function logNum(v) {
    var a = Math.abs(v);
    if (a === 0 || (a >= 1e-3 && a < 1e5)) return axisNum(v);
    return (+v.toPrecision(4)).toExponential().replace("e+", "e");
  }
  function fixed(v, d) {
    if (typeof v !== "number") return String(v);
    var s = v.toFixed(d);
    return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s; // -0.0001 reads 0.00, not -0.00
  }
  function esc(s) { return window.echarts.format.encodeHTML(String(s)); }
  var formatters = {
    heatmap: function (m) {
      return function (p) {
        var v = p.value;
        return esc(m.y) + " " + esc(m.yLabels[v[1]]) + ", " + esc(m.x) + " " + esc(m.xLabels[v[0]]) + ": <b>" + (m.categories ? esc(m.categories[v[2]]) : m.valueDigits ? fixed(v[2], m.valueDigits) : num(v[2])) + "</b>";
      };
    },
    bars: function (m) {
      if (!m.colorName) return null;
      return function (p) {
        var v = p.value;
        return esc(m.xLabels[v[0]]) + "<br>" + esc(p.seriesName || m.y) + ": <b>" + num(v[1]) + "</b><br>" + esc(m.colorName) + ": " + num(v[2]);
      };
    },
    scatter: function (m) {
      return function (p) {
        var v = p.value, head = p.name ? esc(p.name) : esc(p.seriesName);
        return head + "<br>" + esc(m.x) + ": " + num(v[0]) + "<br>" + esc(m.y) + ": " + num(v[1]);
      };
    }
  };
  var els = document.querySelectorAll(".mi-chart");
  for (var i = 0; i < els.length; i++) {
    var el = els[i];
    var opt = JSON.parse(document.getElementById(el.id + "-option").textContent);
    var meta = opt._mi || {};
    delete opt._mi;
    var f = formatters[meta.kind] && formatters[meta.kind](meta);
    if (f) { opt.tooltip = opt.tooltip || {}; opt.tooltip.formatter = f; }
    if (meta.showValues) {
      // The digits are bound now: meta is one variable of the whole loop, so a formatter
      // reading it when ECharts draws would use the last chart's.
      var label = (function (d) {
        return function (p) { return d ? fixed(p.value[2], d) : num(p.value[2]); };
      })(meta.valueDigits);
      (opt.series || []).forEach(function (s) {
        s.label = s.label || {};
        s.label.formatter = label;
      });
    }
    // A log axis is bounded by the data (not whole decades), so its end labels are data values:
    // write them with 4 significant digits, not ECharts' full precision (0.2243322422).
    [].concat(opt.xAxis || [], opt.yAxis || []).forEach(function (ax) {
      if (ax.type !== "log") return;
      ax.axisLabel = ax.axisLabel || {};
      ax.axisLabel.formatter = logNum;
    });
    var chart = window.echarts.init(el, null, {renderer: "canvas"});
    chart.setOption(opt);
    mi.charts[el.id] = chart;
  }
  window.addEventListener("resize", function () {
    for (var id in mi.charts) mi.charts[id].resize();
  });
})();
`
