// The attention explorer of mechinterp (viz.AttentionReport and the local server).
// It decodes the page's attention payload (the causal half of every pattern, quantised,
// zlib-compressed, base64), draws every head as a thumbnail on one canvas, the focused head
// as an ECharts heatmap, and a token strip. window.mechinterp.attention exposes the state for
// tests and for the console.
(function () {
  "use strict";
  var mi = window.mechinterp;
  var cfg = mi.data("attention-config") || {};
  var $ = function (id) { return document.getElementById(id); };
  var A = mi.attention = {
    ready: false,      // a payload is decoded and drawn
    model: null,       // the decoded payload (see decode)
    focused: {layer: 0, head: 0},
    locked: false,
    ranges: {q0: 0, q1: 0, k0: 0, k1: 0},
    dir: "to",         // token strip: "to" (where a token attends) or "from" (what attends to it)
    src: "head",       // token strip: "head" (the focused head) or "mean" (of all heads)
    stripToken: -1,
    timings: {script: performance.now()}, // script: ms from navigation to this script running (the page parsed, ECharts loaded); firstChart: ms from navigation to the grid and heatmap drawn; decodeMs, gridMs, heatmapMs: the last of each
    draws: 0,          // heatmap renders, for tests
    error: ""
  };

  // Colour scale: the stops of viz's sequential palette, evenly spaced on [0, 1] and
  // interpolated linearly in RGB, as ECharts' continuous visualMap does, so thumbnails and
  // the heatmap agree.
  var LUT = (function (stops) {
    var rgb = stops.map(function (s) { return [1, 3, 5].map(function (i) { return parseInt(s.substr(i, 2), 16); }); });
    var out = new Uint8ClampedArray(256 * 3);
    for (var x = 0; x < 256; x++) {
      var t = x / 255 * (rgb.length - 1), i = Math.min(Math.floor(t), rgb.length - 2), f = t - i;
      for (var c = 0; c < 3; c++) out[x * 3 + c] = Math.round(rgb[i][c] + (rgb[i + 1][c] - rgb[i][c]) * f);
    }
    return out;
  })(cfg.palette || ["#f7fbff", "#08306b"]);
  var MASKED = [234, 238, 242];
  function colour(w) {
    var x = Math.max(0, Math.min(255, Math.round(w * 255))) * 3;
    return "rgb(" + LUT[x] + "," + LUT[x + 1] + "," + LUT[x + 2] + ")";
  }

  function esc(s) { return window.echarts.format.encodeHTML(String(s)); }
  // human names a role or score key as the heads page writes it ("previous_token": "previous token").
  function human(s) { return String(s).replace(/_/g, " "); }
  // disp shows a token's whitespace: spaces as a middle dot, newlines and tabs as arrows.
  function disp(s) {
    if (s === "") return "∅";
    return s.replace(/ /g, "·").replace(/\n/g, "↵").replace(/\r/g, "␍").replace(/\t/g, "⇥");
  }
  function short(s, n) { s = disp(s); return s.length > n ? s.slice(0, n - 1) + "…" : s; }
  function quoted(M, i) {
    return JSON.stringify(M.tokens[i]) + (M.ids ? " (id " + M.ids[i] + ")" : "");
  }

  function showError(msg) {
    A.error = msg;
    var el = $("mi-attn-error");
    el.textContent = msg;
    el.hidden = false;
  }
  function clearError() {
    A.error = "";
    $("mi-attn-error").hidden = true;
  }

  // decode turns a payload into the model the page draws: W holds every head's causal half,
  // head (l, h) from (l*H + h)*per, query q's keys 0..q from row[q] = q(q+1)/2.
  function decode(p) {
    var t0 = performance.now();
    var bin = atob(p.weights), z = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) z[i] = bin.charCodeAt(i);
    if (typeof DecompressionStream === "undefined") {
      return Promise.reject(new Error("this browser cannot decompress the page's data (no DecompressionStream); use a current Chromium, Firefox or Safari"));
    }
    var stream = new Blob([z]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Response(stream).arrayBuffer().then(function (buf) {
      var T = p.tokens.length, L = p.layers, H = p.heads, per = T * (T + 1) / 2, n = L * H * per;
      var bytes = p.bits / 8;
      if (buf.byteLength !== p.bytes || buf.byteLength !== n * bytes) {
        throw new Error("attention data is corrupt: " + buf.byteLength + " bytes, want " + n * bytes);
      }
      var raw = p.bits === 8 ? new Uint8Array(buf) : new Uint16Array(buf);
      var scale = 1 / (Math.pow(2, p.bits) - 1), W = new Float32Array(n);
      for (var j = 0; j < n; j++) W[j] = raw[j] * scale;
      var row = new Int32Array(T);
      for (var q = 0; q < T; q++) row[q] = q * (q + 1) / 2;
      A.timings.decodeMs = performance.now() - t0;
      return {title: p.title, tokens: p.tokens, ids: p.ids || null, info: p.info || null, step: p.step,
        T: T, L: L, H: H, per: per, bits: p.bits, half: 0.5 * scale, W: W, row: row, mean: null};
    });
  }

  // weight returns the weight query q puts on key k in head (l, h), or NaN above the diagonal.
  // The tests read it; the page reads W directly.
  A.weight = function (l, h, q, k) {
    var M = A.model;
    if (!M || k > q) return NaN;
    return M.W[(l * M.H + h) * M.per + M.row[q] + k];
  };
  function fmt(M, w) { return w.toFixed(M.bits === 8 ? 3 : 5); }
  function precision(M) { return "±" + (M.bits === 8 ? M.half.toFixed(4) : M.half.toExponential(1)); }
  function headName(l, h) { return "L" + l + "H" + h; }
  function info(M, l, h) { return M.info && M.info[l] && M.info[l][h] || null; }

  // ---- ranges ----
  var rangeIds = ["q0", "q1", "k0", "k1"];
  function setRanges(r) {
    var M = A.model, last = M.T - 1;
    function c(v, d) { v = parseInt(v, 10); return isNaN(v) ? d : Math.max(0, Math.min(last, v)); }
    var q0 = c(r.q0, 0), q1 = c(r.q1, last), k0 = c(r.k0, 0), k1 = c(r.k1, last);
    if (q0 > q1) { var t = q0; q0 = q1; q1 = t; }
    if (k0 > k1) { var u = k0; k0 = k1; k1 = u; }
    A.ranges = {q0: q0, q1: q1, k0: k0, k1: k1};
    rangeIds.forEach(function (id) {
      var el = $("mi-attn-" + id);
      el.max = last;
      el.value = A.ranges[id];
    });
  }
  A.setRanges = function (r) { setRanges(Object.assign({}, A.ranges, r)); drawAll(); };

  // ---- the grid of thumbnails ----
  var grid = {};
  function layoutGrid(M) {
    var box = $("mi-attn-grid").parentNode, avail = Math.max(300, box.clientWidth || 600);
    var left = 34, top = 18, gap = 6;
    var cell = Math.floor((avail - left - 4) / M.H) - gap;
    cell = Math.max(18, Math.min(72, cell));
    var roleH = M.info ? 13 : 0;
    return {left: left, top: top, gap: gap, cell: cell, roleH: roleH,
      w: left + M.H * (cell + gap), h: top + M.L * (cell + gap + roleH)};
  }
  function drawGrid() {
    var t0 = performance.now(), M = A.model, canvas = $("mi-attn-grid"), g = layoutGrid(M);
    var dpr = Math.max(1, Math.min(3, window.devicePixelRatio || 1));
    canvas.style.width = g.w + "px";
    canvas.style.height = g.h + "px";
    canvas.width = Math.round(g.w * dpr);
    canvas.height = Math.round(g.h * dpr);
    var ctx = canvas.getContext("2d");
    var img = ctx.createImageData(canvas.width, canvas.height), px = img.data;
    px.fill(255);
    var S = Math.max(1, Math.round(g.cell * dpr)), r = A.ranges;
    var nq = r.q1 - r.q0 + 1, nk = r.k1 - r.k0 + 1;
    // Pixel rows and columns cover runs of queries and keys; each pixel shows the largest
    // weight it covers, so a one-token-wide stripe (a previous-token head) stays visible.
    var qa = new Int32Array(S), qb = new Int32Array(S), ka = new Int32Array(S), kb = new Int32Array(S);
    for (var i = 0; i < S; i++) {
      qa[i] = r.q0 + Math.floor(i * nq / S); qb[i] = Math.max(qa[i] + 1, r.q0 + Math.floor((i + 1) * nq / S));
      ka[i] = r.k0 + Math.floor(i * nk / S); kb[i] = Math.max(ka[i] + 1, r.k0 + Math.floor((i + 1) * nk / S));
    }
    var W = M.W, row = M.row, stride = canvas.width;
    for (var l = 0; l < M.L; l++) {
      for (var h = 0; h < M.H; h++) {
        var off = (l * M.H + h) * M.per;
        var x0 = Math.round((g.left + h * (g.cell + g.gap)) * dpr), y0 = Math.round((g.top + l * (g.cell + g.gap + g.roleH)) * dpr);
        for (var py = 0; py < S; py++) {
          var p = ((y0 + py) * stride + x0) * 4;
          for (var pxi = 0; pxi < S; pxi++, p += 4) {
            var m = -1;
            for (var q = qa[py]; q < qb[py]; q++) {
              var base = off + row[q], kend = Math.min(kb[pxi] - 1, q);
              for (var k = ka[pxi]; k <= kend; k++) if (W[base + k] > m) m = W[base + k];
            }
            if (m < 0) { px[p] = MASKED[0]; px[p + 1] = MASKED[1]; px[p + 2] = MASKED[2]; }
            else {
              var c = Math.round(m * 255) * 3;
              px[p] = LUT[c]; px[p + 1] = LUT[c + 1]; px[p + 2] = LUT[c + 2];
            }
          }
        }
      }
    }
    grid = {g: g, img: img, dpr: dpr, ctx: ctx};
    drawGridOverlay();
    A.timings.gridMs = performance.now() - t0;
  }
  function drawGridOverlay() {
    var M = A.model, g = grid.g, ctx = grid.ctx, dpr = grid.dpr;
    ctx.putImageData(grid.img, 0, 0);
    ctx.save();
    ctx.scale(dpr, dpr);
    ctx.fillStyle = "#57606a";
    ctx.font = "11px system-ui,sans-serif";
    ctx.textBaseline = "middle";
    ctx.textAlign = "center";
    var hStep = g.cell < 26 ? Math.ceil(26 / (g.cell + g.gap)) : 1;
    for (var h = 0; h < M.H; h += hStep) ctx.fillText("H" + h, g.left + h * (g.cell + g.gap) + g.cell / 2, g.top / 2);
    ctx.textAlign = "right";
    for (var l = 0; l < M.L; l++) ctx.fillText("L" + l, g.left - 6, g.top + l * (g.cell + g.gap + g.roleH) + g.cell / 2);
    if (M.info) {
      ctx.textAlign = "center";
      ctx.font = "9px system-ui,sans-serif";
      ctx.fillStyle = "#0a3069";
      for (var l2 = 0; l2 < M.L; l2++) for (var h2 = 0; h2 < M.H; h2++) {
        var inf = info(M, l2, h2);
        if (!inf || !inf.role) continue;
        var role = human(inf.role), maxCh = Math.max(3, Math.floor((g.cell + g.gap) / 5));
        if (role.length > maxCh) role = role.slice(0, maxCh - 1) + "…";
        ctx.fillText(role, g.left + h2 * (g.cell + g.gap) + g.cell / 2, g.top + l2 * (g.cell + g.gap + g.roleH) + g.cell + 6);
      }
    }
    var f = A.focused, fx = g.left + f.head * (g.cell + g.gap), fy = g.top + f.layer * (g.cell + g.gap + g.roleH);
    ctx.lineWidth = A.locked ? 3 : 2;
    ctx.strokeStyle = A.locked ? "#bf8700" : "#cf222e";
    ctx.setLineDash(A.locked ? [] : [4, 2]);
    ctx.strokeRect(fx - 2, fy - 2, g.cell + 4, g.cell + 4);
    ctx.restore();
  }
  // headAt returns the head under the canvas point (x, y) in CSS pixels, or null.
  function headAt(x, y) {
    var M = A.model, g = grid.g;
    if (!M || !g) return null;
    var h = Math.floor((x - g.left + g.gap / 2) / (g.cell + g.gap)), l = Math.floor((y - g.top + g.gap / 2) / (g.cell + g.gap + g.roleH));
    if (h < 0 || l < 0 || h >= M.H || l >= M.L) return null;
    return {layer: l, head: h};
  }
  // thumbCentre returns the CSS-pixel centre of a thumbnail within the canvas, for tests.
  A.thumbCentre = function (l, h) {
    var g = grid.g;
    return {x: g.left + h * (g.cell + g.gap) + g.cell / 2, y: g.top + l * (g.cell + g.gap + g.roleH) + g.cell / 2};
  };

  // ---- focus: hover previews, click locks, click again or Escape unlocks ----
  function setFocus(l, h) {
    if (A.focused.layer === l && A.focused.head === h) return;
    A.focused = {layer: l, head: h};
    scheduleFocusDraw();
  }
  A.lock = function (l, h) { A.locked = true; A.focused = {layer: l, head: h}; scheduleFocusDraw(); };
  A.unlock = function () { if (A.locked) { A.locked = false; scheduleFocusDraw(); } };
  var pending = false;
  function scheduleFocusDraw() {
    if (pending || !A.model) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; drawFocus(); });
  }
  function drawFocus() {
    drawGridOverlay();
    drawHeatmap();
    drawHeadInfo();
    if (A.src === "head") drawStrip();
  }
  function gridPoint(ev) {
    var b = $("mi-attn-grid").getBoundingClientRect();
    return {x: ev.clientX - b.left, y: ev.clientY - b.top};
  }
  function bindGrid() {
    var canvas = $("mi-attn-grid"), tip = $("mi-attn-grid-tip");
    canvas.addEventListener("mousemove", function (ev) {
      var p = gridPoint(ev), at = headAt(p.x, p.y);
      if (!at) { tip.hidden = true; return; }
      if (!A.locked) setFocus(at.layer, at.head);
      var M = A.model, inf = info(M, at.layer, at.head);
      var html = "<b>" + headName(at.layer, at.head) + "</b> · layer " + at.layer + ", head " + at.head;
      if (inf && inf.role) html += "<br>role: " + esc(human(inf.role));
      if (inf && inf.scores) Object.keys(inf.scores).sort().forEach(function (k) { html += "<br>" + esc(human(k)) + ": " + inf.scores[k].toFixed(3); });
      html += "<br><i>" + (A.locked ? (A.focused.layer === at.layer && A.focused.head === at.head ? "click to unlock" : "click to lock this head") : "click to lock") + "</i>";
      tip.innerHTML = html;
      tip.hidden = false;
      tip.style.left = (p.x + 14) + "px";
      tip.style.top = (p.y + 14) + "px";
    });
    canvas.addEventListener("mouseleave", function () { tip.hidden = true; });
    canvas.addEventListener("click", function (ev) {
      var p = gridPoint(ev), at = headAt(p.x, p.y);
      if (!at) return;
      if (A.locked && A.focused.layer === at.layer && A.focused.head === at.head) A.unlock();
      else A.lock(at.layer, at.head);
      tip.hidden = true;
    });
    canvas.addEventListener("keydown", function (ev) {
      var M = A.model, f = A.focused, d = {ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0]}[ev.key];
      if (!M) return;
      if (d) {
        ev.preventDefault();
        A.lock(Math.max(0, Math.min(M.L - 1, f.layer + d[0])), Math.max(0, Math.min(M.H - 1, f.head + d[1])));
      } else if (ev.key === "Enter" || ev.key === " ") {
        ev.preventDefault();
        if (A.locked) A.unlock(); else A.lock(f.layer, f.head);
      }
    });
    document.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape") A.unlock();
    });
  }

  // ---- the focused head's heatmap ----
  var chart = null;
  var measure = document.createElement("canvas").getContext("2d");
  // labelWidth is the pixel width of the longest axis label, so the grid leaves room for it.
  function labelWidth(labels, size) {
    measure.font = size + "px monospace";
    var w = 0;
    for (var i = 0; i < labels.length; i++) w = Math.max(w, measure.measureText(labels[i]).width);
    return Math.ceil(w);
  }
  function label(M, i) { return i + " " + short(M.tokens[i], 12); }
  // The focused head: ECharts draws the axes, their token labels and the colour legend; the
  // cells are one image on a canvas laid over ECharts' grid (one pixel per cell, scaled without
  // smoothing), because tens of thousands of ECharts heatmap cells take seconds to build.
  var heat = {axesKey: "", rect: null, img: null, hover: null, nq: 0, nk: 0};
  function drawHeatmap() {
    var t0 = performance.now(), M = A.model, r = A.ranges, f = A.focused, off = (f.layer * M.H + f.head) * M.per;
    var nq = r.q1 - r.q0 + 1, nk = r.k1 - r.k0 + 1;
    var inf = info(M, f.layer, f.head);
    $("mi-attn-focus-title").innerHTML = "Layer " + f.layer + ", head " + f.head +
      (inf && inf.role ? ' <span class="mi-attn-role">' + esc(human(inf.role)) + "</span>" : "") +
      '<span class="mi-attn-badge' + (A.locked ? " locked" : "") + '" id="mi-attn-lockstate">' + (A.locked ? "locked" : "preview") + "</span>";
    drawAxes(M, r);
    var c = heat.img || (heat.img = document.createElement("canvas"));
    c.width = nk;
    c.height = nq;
    var ctx = c.getContext("2d"), img = ctx.createImageData(nk, nq), px = img.data, cells = 0;
    for (var q = r.q0; q <= r.q1; q++) {
      var base = off + M.row[q], p = (q - r.q0) * nk * 4;
      for (var k = r.k0; k <= r.k1; k++, p += 4) {
        px[p + 3] = 255;
        if (k > q) { px[p] = MASKED[0]; px[p + 1] = MASKED[1]; px[p + 2] = MASKED[2]; continue; }
        var ci = Math.round(M.W[base + k] * 255) * 3;
        px[p] = LUT[ci]; px[p + 1] = LUT[ci + 1]; px[p + 2] = LUT[ci + 2];
        cells++;
      }
    }
    ctx.putImageData(img, 0, 0);
    heat.nq = nq;
    heat.nk = nk;
    A.heatShape = {queries: nq, keys: nk, cells: cells, head: headName(f.layer, f.head)};
    paintCells();
    A.draws++;
    A.timings.heatmapMs = performance.now() - t0;
    $("mi-attn-heatmap-help").textContent = "Row: the query token; column: the key token it attends to; colour: the weight, on a fixed scale from 0 to 1; grey above the diagonal: masked (a token cannot attend to later ones). " +
      "Weights are stored to " + M.bits + " bits, so shown values are within " + precision(M) + " of the model's.";
  }
  // drawAxes sets ECharts' axes and legend, only when the tokens or ranges changed.
  function drawAxes(M, r) {
    var el = $("mi-attn-heatmap"), key = generation + ":" + [r.q0, r.q1, r.k0, r.k1].join(",") + ":" + el.clientWidth + "x" + el.clientHeight;
    if (!chart) {
      // Created with the first data, so a server page waiting for a prompt has no blank chart.
      chart = window.echarts.init(el, null, {renderer: "canvas"});
      mi.charts["mi-attn-heatmap"] = chart;
    }
    if (key === heat.axesKey) return;
    heat.axesKey = key;
    var xs = [], ys = [];
    for (var k = r.k0; k <= r.k1; k++) xs.push(label(M, k));
    for (var q = r.q0; q <= r.q1; q++) ys.push(label(M, q));
    var many = Math.max(xs.length, ys.length) > 40, fs = many ? 9 : 11;
    // The key labels turn 60° while a column is wide enough for them to stand clear of one
    // another (0.87 × its width ≥ a line), else 90° in a font that fits the column (40 keys
    // at 60° overlapped); below 7 px ECharts leaves some out, and a narrower key range shows all.
    var col = (el.clientWidth - labelWidth(ys, fs) - 34 - 86) / Math.max(1, xs.length), rot = 60;
    if (0.87 * col < fs + 2) { rot = 90; fs = Math.max(7, Math.min(fs, Math.floor(col) - 1)); }
    var yw = labelWidth(ys, fs), xw = labelWidth(xs, fs) * (rot === 90 ? 1 : 0.87) + 8;
    var g = {left: yw + 34, right: 86, top: 16, bottom: xw + 34};
    chart.setOption({
      animation: false,
      tooltip: {show: false},
      grid: {left: g.left, right: g.right, top: g.top, bottom: g.bottom, show: true, backgroundColor: "rgb(" + MASKED.join(",") + ")", borderWidth: 0},
      xAxis: {type: "category", data: xs, name: "key", nameLocation: "middle", nameGap: xw + 14, splitArea: {show: false},
        axisLabel: {rotate: rot, fontSize: fs, fontFamily: "monospace"}, axisTick: {show: !many}},
      yAxis: {type: "category", data: ys, inverse: true, name: "query", nameLocation: "middle", nameGap: yw + 16, splitArea: {show: false},
        axisLabel: {fontSize: fs, fontFamily: "monospace"}, axisTick: {show: !many}},
      visualMap: {type: "continuous", min: 0, max: 1, calculable: false, orient: "vertical", right: 8, top: "middle",
        itemHeight: 240, precision: 2, text: ["1", "0"], inRange: {color: cfg.palette}},
      series: [{type: "heatmap", data: [], silent: true}]
    }, {replaceMerge: ["series"]});
    heat.rect = {x: g.left, y: g.top, w: Math.max(1, el.clientWidth - g.left - g.right), h: Math.max(1, el.clientHeight - g.top - g.bottom)};
  }
  function paintCells() {
    var c = $("mi-attn-cells"), R = heat.rect, dpr = Math.max(1, Math.min(3, window.devicePixelRatio || 1));
    c.style.left = R.x + "px";
    c.style.top = R.y + "px";
    c.style.width = R.w + "px";
    c.style.height = R.h + "px";
    c.width = Math.round(R.w * dpr);
    c.height = Math.round(R.h * dpr);
    var ctx = c.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(heat.img, 0, 0, c.width, c.height);
    if (heat.hover) {
      var cw = c.width / heat.nk, ch = c.height / heat.nq;
      ctx.lineWidth = Math.max(1, dpr);
      ctx.strokeStyle = "#cf222e";
      ctx.strokeRect(heat.hover.col * cw + 0.5, heat.hover.row * ch + 0.5, Math.max(cw - 1, 1), Math.max(ch - 1, 1));
    }
  }
  // cellCentre returns the centre of cell (q, k) in CSS pixels from the heatmap's top-left, for tests.
  A.cellCentre = function (q, k) {
    var R = heat.rect, r = A.ranges;
    return {x: R.x + (k - r.k0 + 0.5) * R.w / heat.nk, y: R.y + (q - r.q0 + 0.5) * R.h / heat.nq};
  };
  function bindHeatmap() {
    var c = $("mi-attn-cells"), tip = $("mi-attn-heat-tip");
    c.addEventListener("mousemove", function (ev) {
      var M = A.model, R = heat.rect;
      if (!M || !R) return;
      var b = c.getBoundingClientRect(), x = ev.clientX - b.left, y = ev.clientY - b.top;
      var col = Math.min(heat.nk - 1, Math.max(0, Math.floor(x / R.w * heat.nk))), row = Math.min(heat.nq - 1, Math.max(0, Math.floor(y / R.h * heat.nq)));
      var q = A.ranges.q0 + row, k = A.ranges.k0 + col, f = A.focused;
      var html = "query " + q + " " + esc(quoted(M, q)) + "<br>key " + k + " " + esc(quoted(M, k)) + "<br>";
      if (k > q) html += "masked: a token cannot attend to later ones";
      else html += "weight <b>" + fmt(M, A.weight(f.layer, f.head, q, k)) + "</b> <span class=\"mi-attn-dim\">(" + headName(f.layer, f.head) + ", stored to " + M.bits + " bits, " + precision(M) + ")</span>";
      tip.innerHTML = html;
      tip.hidden = false;
      var bx = R.x + x, by = R.y + y, box = $("mi-attn-heatbox").clientWidth;
      tip.style.left = (bx + 16 + tip.offsetWidth > box ? Math.max(0, bx - 16 - tip.offsetWidth) : bx + 16) + "px";
      tip.style.top = (by + 16) + "px";
      if (!heat.hover || heat.hover.row !== row || heat.hover.col !== col) { heat.hover = {row: row, col: col}; paintCells(); }
    });
    c.addEventListener("mouseleave", function () { tip.hidden = true; heat.hover = null; paintCells(); });
  }
  function drawHeadInfo() {
    var M = A.model, f = A.focused, inf = info(M, f.layer, f.head), el = $("mi-attn-headinfo");
    if (!M.info) { el.innerHTML = ""; return; }
    if (!inf || (!inf.role && !inf.scores)) { el.innerHTML = "<p>No role or scores for this head.</p>"; return; }
    var html = "<p>Role: " + (inf.role ? '<span class="mi-attn-role">' + esc(human(inf.role)) + "</span>" : "none") + "</p>";
    if (inf.scores) {
      html += "<table><tbody>";
      Object.keys(inf.scores).sort().forEach(function (k) {
        html += "<tr><th>" + esc(human(k)) + '</th><td class="num">' + inf.scores[k].toFixed(3) + "</td></tr>";
      });
      html += "</tbody></table>";
    }
    el.innerHTML = html;
  }

  // ---- the token strip ----
  function meanPattern(M) {
    if (M.mean) return M.mean;
    var n = M.L * M.H, mean = new Float32Array(M.per);
    for (var i = 0; i < n; i++) {
      var off = i * M.per;
      for (var j = 0; j < M.per; j++) mean[j] += M.W[off + j];
    }
    for (var j2 = 0; j2 < M.per; j2++) mean[j2] /= n;
    return (M.mean = mean);
  }
  // stripWeights returns, for token i, the weight on each position: where i attends (dir
  // "to": row i) or how much each later token attends to i (dir "from": column i). NaN: masked.
  A.stripWeights = function (i) {
    var M = A.model, out = new Array(M.T).fill(NaN), src, off;
    if (A.src === "mean") { src = meanPattern(M); off = 0; }
    else { src = M.W; off = (A.focused.layer * M.H + A.focused.head) * M.per; }
    if (A.dir === "to") for (var k = 0; k <= i; k++) out[k] = src[off + M.row[i] + k];
    else for (var q = i; q < M.T; q++) out[q] = src[off + M.row[q] + i];
    return out;
  };
  function buildStrip() {
    var M = A.model, box = $("mi-attn-tokens"), frag = document.createDocumentFragment();
    box.textContent = "";
    for (var i = 0; i < M.T; i++) {
      var s = document.createElement("span");
      s.className = "mi-tok";
      s.dataset.pos = i;
      s.textContent = disp(M.tokens[i]);
      frag.appendChild(s);
    }
    box.appendChild(frag);
  }
  function drawStrip() {
    var M = A.model, spans = $("mi-attn-tokens").children, i = A.stripToken, r = A.ranges;
    var w = i >= 0 ? A.stripWeights(i) : null;
    for (var j = 0; j < spans.length; j++) {
      var s = spans[j], v = w ? w[j] : NaN;
      s.classList.toggle("active", j === i);
      s.classList.toggle("masked", w !== null && isNaN(v));
      s.classList.toggle("dark", !isNaN(v) && v > 0.55);
      s.classList.toggle("outside", j < Math.min(r.q0, r.k0) || j > Math.max(r.q1, r.k1));
      s.style.background = isNaN(v) ? "" : colour(v);
      s.title = "position " + j + (M.ids ? ", id " + M.ids[j] : "") + ": " + JSON.stringify(M.tokens[j]) + (isNaN(v) ? "" : "\nweight " + fmt(M, v));
    }
    var el = $("mi-attn-strip-info");
    if (!w) { el.textContent = "Hover a token to colour the others by attention."; return; }
    var order = [];
    for (var k = 0; k < w.length; k++) if (!isNaN(w[k])) order.push(k);
    order.sort(function (a, b) { return w[b] - w[a]; });
    var who = (A.src === "mean" ? "mean of all " + M.L * M.H + " heads" : headName(A.focused.layer, A.focused.head));
    el.textContent = "Token " + i + " " + JSON.stringify(M.tokens[i]) + (A.dir === "to" ? " attends most to: " : " is attended most by: ") +
      order.slice(0, 5).map(function (k) { return k + " " + JSON.stringify(M.tokens[k]) + " " + fmt(M, w[k]); }).join(" · ") + " (" + who + ")";
  }
  A.hoverToken = function (i) { A.stripToken = i; drawStrip(); };
  function bindStrip() {
    $("mi-attn-tokens").addEventListener("mouseover", function (ev) {
      var t = ev.target.closest(".mi-tok");
      if (t && A.model) A.hoverToken(parseInt(t.dataset.pos, 10));
    });
    ["mi-attn-dir-to", "mi-attn-dir-from", "mi-attn-src-head", "mi-attn-src-mean"].forEach(function (id) {
      $(id).addEventListener("change", function () {
        A.dir = $("mi-attn-dir-from").checked ? "from" : "to";
        A.src = $("mi-attn-src-mean").checked ? "mean" : "head";
        if (A.model) drawStrip();
      });
    });
  }

  function drawStatus() {
    var M = A.model;
    var s = M.T + " tokens · " + M.L + " layers × " + M.H + " heads · weights stored to " + M.bits + " bits (" + precision(M) + ")";
    if (M.step !== undefined && M.step !== null) s = "step " + M.step + " · " + s;
    if (cfg.server && M.title) s = M.title + " · " + s;
    $("mi-attn-status").textContent = s;
  }

  function drawAll() {
    drawGrid();
    drawHeatmap();
    drawHeadInfo();
    drawStrip();
  }

  // show draws a payload, keeping the focused head, the lock and the ranges where they still fit.
  var generation = 0;
  A.show = function (p) {
    var gen = ++generation;
    return decode(p).then(function (M) {
      if (gen !== generation) return;
      var old = A.model, sameT = old && old.T === M.T;
      A.model = M;
      if (A.focused.layer >= M.L || A.focused.head >= M.H) { A.focused = {layer: 0, head: 0}; A.locked = false; }
      setRanges(sameT ? A.ranges : {q0: 0, q1: M.T - 1, k0: 0, k1: M.T - 1});
      if (!sameT) { buildStrip(); A.stripToken = -1; }
      if (A.stripToken >= M.T) A.stripToken = -1;
      drawStatus();
      drawAll();
      A.ready = true;
      if (A.timings.firstChart === undefined) {
        // Drawing is synchronous; the next frame is the first one painted with it.
        requestAnimationFrame(function () { setTimeout(function () { A.timings.firstChart = performance.now(); }, 0); });
      }
    });
  };

  function bindRanges() {
    rangeIds.forEach(function (id) {
      $("mi-attn-" + id).addEventListener("change", function () {
        if (!A.model) return;
        var r = {};
        rangeIds.forEach(function (j) { r[j] = $("mi-attn-" + j).value; });
        setRanges(r);
        drawAll();
      });
    });
    $("mi-attn-range-reset").addEventListener("click", function () {
      if (!A.model) return;
      setRanges({q0: 0, q1: A.model.T - 1, k0: 0, k1: A.model.T - 1});
      drawAll();
    });
  }

  // ---- the local server's controls ----
  function bindServer() {
    var form = $("mi-attn-form"), prompt = $("mi-attn-prompt"), mode = $("mi-attn-mode");
    var slider = $("mi-attn-ckpt"), cps = cfg.checkpoints || [], inflight = null, playing = false;
    prompt.value = cfg.prompt || "";
    if (cfg.noText) { mode.value = "tokens"; mode.options[0].disabled = true; }
    else if (cfg.tokensMode) mode.value = "tokens";
    if (cps.length > 0) {
      $("mi-attn-ckpt-row").hidden = false;
      slider.max = cps.length - 1;
      slider.value = cps.length - 1;
    }
    function ckptLabel() {
      var c = cps[+slider.value];
      $("mi-attn-ckpt-label").textContent = c ? (c.label || "step " + c.step) + " (" + (+slider.value + 1) + " of " + cps.length + ")" : "";
    }
    ckptLabel();
    A.run = function () {
      if (!prompt.value.trim()) { showError("Type a prompt first."); return Promise.resolve(false); }
      if (inflight) inflight.abort();
      var ctl = inflight = new AbortController();
      $("mi-attn-busy").hidden = false;
      var body = JSON.stringify({prompt: prompt.value, tokens: mode.value === "tokens", checkpoint: cps.length ? +slider.value : 0});
      return fetch("api/attention", {method: "POST", headers: {"Content-Type": "application/json"}, body: body, signal: ctl.signal})
        .then(function (res) {
          return res.json().catch(function () { return {error: "the server answered " + res.status + " " + res.statusText + " without a message"}; })
            .then(function (j) {
              if (!res.ok || j.error) throw new Error(j.error || ("the server answered " + res.status));
              return A.show(j);
            });
        })
        .then(function () { clearError(); return true; })
        .catch(function (e) {
          if (e.name === "AbortError") return false;
          showError(e.message === "Failed to fetch" ? "Could not reach the server (is `mechinterp serve` still running?)" : e.message);
          return false;
        })
        .finally(function () { if (inflight === ctl) { inflight = null; $("mi-attn-busy").hidden = true; } });
    };
    form.addEventListener("submit", function (ev) { ev.preventDefault(); A.run(); });
    prompt.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); A.run(); }
    });
    slider.addEventListener("input", ckptLabel);
    slider.addEventListener("change", function () { A.run(); });
    function step(d) {
      var v = Math.max(0, Math.min(cps.length - 1, +slider.value + d));
      if (v === +slider.value) return Promise.resolve(false);
      slider.value = v;
      ckptLabel();
      return A.run();
    }
    $("mi-attn-prev").addEventListener("click", function () { step(-1); });
    $("mi-attn-next").addEventListener("click", function () { step(1); });
    var play = $("mi-attn-play");
    play.addEventListener("click", function () {
      if (playing) { playing = false; play.textContent = "play"; return; }
      playing = true;
      play.textContent = "stop";
      if (+slider.value >= cps.length - 1) { slider.value = 0; ckptLabel(); }
      (function next(first) {
        if (!playing) return;
        (first ? A.run() : step(1)).then(function (ok) {
          if (!playing) return;
          if (!ok || +slider.value >= cps.length - 1) { playing = false; play.textContent = "play"; return; }
          setTimeout(function () { next(false); }, 600);
        });
      })(true);
    });
    if (prompt.value.trim()) A.run();
    else $("mi-attn-status").textContent = "Type a prompt and press Run.";
  }

  function init() {
    bindGrid();
    bindHeatmap();
    bindStrip();
    bindRanges();
    var resizeTimer = 0;
    window.addEventListener("resize", function () {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(function () { if (A.model) { if (chart) chart.resize(); drawGrid(); drawHeatmap(); } }, 100);
    });
    if (cfg.server) { bindServer(); return; }
    var p = mi.data("attention");
    if (!p) { showError("This page holds no attention data."); return; }
    A.show(p).catch(function (e) { showError("Could not read the attention data: " + e.message); });
  }
  init();
})();
