// tsn-cp visualizer: topology, streams, a Gantt chart of one link's transmissions over the
// hyperperiod and its port's gate control list. Vanilla JS + SVG, no network but this
// origin. Data: an embedded <script id="viz-data"> (tsnctl schedule render) or, live,
// GET <page>/api/network, refetched on every notification of the UNI's event stream.
// Every drawn transmission carries data attributes (stream, link, start/end ns, drawn
// interval), and the Gantt <svg> its time axis (data-t0-ns, data-t1-ns, data-x0, data-x1),
// so that a test can check the drawing against the schedule.
"use strict";
(function () {
  const errors = [];
  window.tsnVizErrors = errors;
  window.addEventListener("error", (e) => errors.push(String(e.message || e)));
  window.addEventListener("unhandledrejection", (e) =>
    errors.push("unhandled rejection: " + String((e.reason && e.reason.message) || e.reason)));

  const SVGNS = "http://www.w3.org/2000/svg";
  const MIN_WIDTH_PX = 1; // a transmission is drawn at least this wide
  const MAX_GATE_SEGMENTS = 4000;
  const st = { view: null, link: null, stream: null, t0: 0, t1: 0, live: false, retries: 0, timer: null };
  const $ = (id) => document.getElementById(id);

  function el(name, attrs, parent, text) {
    const e = document.createElementNS(SVGNS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function html(name, attrs, parent, text) {
    const e = document.createElement(name);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); }
  function fmtNs(ns) {
    if (ns === null || ns === undefined) return "–";
    const a = Math.abs(ns);
    if (a >= 1e9) return (ns / 1e9).toPrecision(4) + " s";
    if (a >= 1e6) return (ns / 1e6).toPrecision(4) + " ms";
    if (a >= 1e3) return (ns / 1e3).toPrecision(4) + " µs";
    return ns + " ns";
  }
  function fmtRate(bps) {
    if (bps >= 1e9) return bps / 1e9 + " Gbit/s";
    if (bps >= 1e6) return bps / 1e6 + " Mbit/s";
    return bps + " bit/s";
  }
  function pct(u) {
    if (u <= 0) return "0 %";
    if (u < 0.0001) return (u * 100).toExponential(2) + " %";
    return (u * 100).toPrecision(3) + " %";
  }
  function hue(s) {
    let h = 0;
    for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0;
    return h % 360;
  }
  function streamColour(id) { return "hsl(" + hue(id) + ",62%,52%)"; }
  // Utilisation on a log scale: 1e-6 .. 1 → green .. red; unused links grey.
  function utilColour(u) {
    if (!(u > 0)) return "#c3c8d0";
    const x = Math.min(1, Math.max(0, (Math.log10(u) + 6) / 6));
    return "hsl(" + Math.round(130 * (1 - x)) + ",70%,42%)";
  }
  function sameLink(t, l) { return l && t.from === l.from && t.to === l.to; }
  function linkName(l) { return l.from + " → " + l.to; }

  // ---------------------------------------------------------------- data
  function start() {
    const embedded = $("viz-data");
    bindControls();
    if (embedded) {
      $("live").textContent = "";
      setView(JSON.parse(embedded.textContent));
      return;
    }
    st.live = true;
    refresh();
    follow();
  }
  function base() { return location.pathname.replace(/\/?$/, "/"); }
  async function refresh() {
    st.timer = null;
    let view;
    try {
      const r = await fetch(base() + "api/network", { headers: { accept: "application/json" }, cache: "no-store" });
      if (!r.ok) throw new Error("GET api/network: HTTP " + r.status + " " + (await r.text()).slice(0, 300));
      view = await r.json();
    } catch (e) {
      showError(String(e.message || e));
      document.body.dataset.state = "error";
      return;
    }
    showError("");
    setView(view);
  }
  function later(ms) {
    if (st.timer) clearTimeout(st.timer);
    st.timer = setTimeout(refresh, ms);
  }
  // The event stream of the UNI: every notification (compute, configure, remove
  // completed) may change the streams and the deployed schedule.
  function follow() {
    const es = new EventSource("/restconf/streams/NETCONF");
    es.onopen = () => { $("live").textContent = "live"; $("live").className = "badge ok"; };
    es.onerror = () => { $("live").textContent = "reconnecting…"; $("live").className = "badge bad"; };
    es.onmessage = () => { st.retries = 0; later(100); };
  }
  function showError(text) {
    $("error").hidden = !text;
    $("error").textContent = text;
  }
  // The UNI's status and the deployed schedule arrive on different paths: a ready stream
  // the schedule does not carry yet, or a scheduled one the UNI no longer lists, means
  // that one of them is about to change.
  function consistent(v) {
    if (!st.live) return true;
    return v.streams.every((s) => (s.status === "ready") === s.scheduled || s.status === "modified");
  }

  function setView(v) {
    st.view = v;
    const H = v.hyperperiod_ns;
    if (st.link && !v.links.some((l) => sameLink(l, st.link))) st.link = null;
    if (!st.link) {
      // The busiest link first.
      const busiest = v.links.filter((l) => l.transmissions > 0).sort((a, b) => b.busy_ns - a.busy_ns)[0];
      if (busiest) st.link = { from: busiest.from, to: busiest.to };
    }
    if (!(st.t1 > st.t0) || st.t1 > Math.max(H, 1) || !st.zoomed) { st.t0 = 0; st.t1 = Math.max(H, 1); }
    if (st.stream && !v.streams.some((s) => s.id === st.stream)) st.stream = null;
    drawHeader();
    drawTopology();
    drawLinks();
    drawStreams();
    drawLink();
    const ok = consistent(v);
    document.body.dataset.updates = String(Number(document.body.dataset.updates) + 1);
    document.body.dataset.ready = "1";
    document.body.dataset.state = ok ? "consistent" : "settling";
    if (!ok && st.retries < 40) { st.retries++; later(250); }
  }

  // ---------------------------------------------------------------- header
  function drawHeader() {
    const v = st.view;
    $("source").textContent = v.source === "live"
      ? "live" + (v.version ? " · admitted state v" + v.version : "")
      : "schedule file";
    const verdict = $("verdict");
    if (v.verdict === null || v.verdict === undefined) {
      verdict.textContent = "no schedule deployed";
      verdict.className = "badge";
    } else if (v.verdict === "verified") {
      verdict.textContent = "verified by tsn-check";
      verdict.className = "badge ok";
    } else {
      verdict.textContent = "tsn-check: " + v.verdict;
      verdict.className = "badge bad";
    }
    const admitted = v.streams.filter((s) => s.scheduled).length;
    $("summary").textContent = v.nodes.length + " nodes, " + v.links.length + " directed links, " +
      v.streams.length + " streams (" + admitted + " scheduled), hyperperiod " + fmtNs(v.hyperperiod_ns);
  }

  // ---------------------------------------------------------------- topology
  function layout(v, W, H) {
    const pos = {};
    const cx = W / 2, cy = H / 2, r = Math.min(W, H);
    const bridges = v.nodes.filter((n) => n.kind === "bridge");
    const isBridge = {};
    bridges.forEach((b) => (isBridge[b.id] = true));
    bridges.forEach((b, i) => {
      const a = bridges.length === 1 ? 0 : (2 * Math.PI * i) / bridges.length - Math.PI / 2;
      const rr = bridges.length === 1 ? 0 : r * 0.25;
      pos[b.id] = { x: cx + rr * Math.cos(a), y: cy + rr * Math.sin(a), a: a };
    });
    const byBridge = {};
    const loose = [];
    v.nodes.filter((n) => n.kind !== "bridge").forEach((n) => {
      const l = v.links.find((l) => (l.from === n.id && isBridge[l.to]) || (l.to === n.id && isBridge[l.from]));
      if (l) {
        const b = l.from === n.id ? l.to : l.from;
        (byBridge[b] = byBridge[b] || []).push(n.id);
      } else loose.push(n.id);
    });
    for (const b in byBridge) {
      const list = byBridge[b];
      const spread = Math.min(0.42, (2 * Math.PI) / Math.max(1, bridges.length * list.length + 1));
      list.forEach((id, j) => {
        const a = pos[b].a + (j - (list.length - 1) / 2) * spread;
        const rr = bridges.length === 1 ? r * 0.3 : r * 0.43;
        const ox = bridges.length === 1 ? cx : cx, oy = bridges.length === 1 ? cy : cy;
        const aa = bridges.length === 1 ? (2 * Math.PI * j) / list.length : a;
        pos[id] = { x: ox + rr * Math.cos(aa), y: oy + rr * Math.sin(aa) };
      });
    }
    loose.forEach((id, j) => {
      const a = (2 * Math.PI * j) / loose.length;
      pos[id] = { x: cx + r * 0.47 * Math.cos(a), y: cy + r * 0.47 * Math.sin(a) };
    });
    return pos;
  }
  function drawTopology() {
    const v = st.view, svg = $("topology");
    clear(svg);
    const W = Number(svg.getAttribute("width")), H = Number(svg.getAttribute("height"));
    const defs = el("defs", {}, svg);
    const marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "5",
      markerHeight: "5", orient: "auto-start-reverse" }, defs);
    el("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#6b7280" }, marker);
    if (!v.nodes.length) {
      el("text", { x: 20, y: 30 }, svg, "No topology known yet.");
      return;
    }
    const pos = layout(v, W, H);
    const route = new Set();
    const sel = v.streams.find((s) => s.id === st.stream);
    if (sel) sel.paths.forEach((p) => p.forEach((n, i) => i > 0 && route.add(p[i - 1] + "\u0000" + n)));
    const gl = el("g", { class: "links" }, svg);
    for (const l of v.links) {
      const a = pos[l.from], b = pos[l.to];
      if (!a || !b) continue;
      const dx = b.x - a.x, dy = b.y - a.y, len = Math.hypot(dx, dy) || 1;
      const ux = dx / len, uy = dy / len, nx = -uy * 3.5, ny = ux * 3.5;
      const ra = v.nodes.find((n) => n.id === l.from).kind === "bridge" ? 17 : 10;
      const rb = v.nodes.find((n) => n.id === l.to).kind === "bridge" ? 19 : 12;
      const cls = "link" + (sameLink(l, st.link) ? " selected" : "") + (route.has(l.from + "\u0000" + l.to) ? " on-route" : "");
      const line = el("line", {
        class: cls, x1: a.x + ux * ra + nx, y1: a.y + uy * ra + ny, x2: b.x - ux * rb + nx, y2: b.y - uy * rb + ny,
        stroke: utilColour(l.utilisation), "marker-end": "url(#arrow)",
        "data-from": l.from, "data-to": l.to, "data-utilisation": String(l.utilisation),
      }, gl);
      el("title", {}, line, linkName(l) + ": " + pct(l.utilisation) + " scheduled, " + l.transmissions + " frames per hyperperiod");
      line.addEventListener("click", () => selectLink(l));
    }
    const gn = el("g", { class: "nodes" }, svg);
    for (const n of v.nodes) {
      const p = pos[n.id];
      if (!p) continue;
      const g = el("g", { "data-node": n.id, "data-kind": n.kind }, gn);
      el("title", {}, g, n.id + " (" + n.kind + ")");
      if (n.kind === "bridge") {
        el("rect", { class: "node-bridge", x: p.x - 17, y: p.y - 13, width: 34, height: 26, rx: 5 }, g);
        el("text", { class: "node-label bridge-label", x: p.x, y: p.y + 4, "text-anchor": "middle" }, g, short(n.id, 6));
      } else {
        el("circle", { class: "node-station", cx: p.x, cy: p.y, r: 10 }, g);
        const out = p.y > H / 2 ? 23 : -15;
        el("text", { class: "node-label", x: p.x, y: p.y + out, "text-anchor": "middle" }, g, short(n.id, 12));
      }
    }
    drawLegend();
  }
  function short(s, n) { return s.length > n ? s.slice(0, n - 1) + "…" : s; }
  function drawLegend() {
    const svg = $("legend");
    clear(svg);
    el("text", { x: 0, y: 21 }, svg, "utilisation");
    const stops = [0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1];
    stops.forEach((u, i) => {
      el("rect", { x: 70 + i * 62, y: 6, width: 60, height: 10, fill: utilColour(u) }, svg);
      el("text", { x: 70 + i * 62, y: 30 }, svg, u === 0 ? "unused" : pct(u));
    });
  }

  // ---------------------------------------------------------------- tables
  function drawLinks() {
    const v = st.view, body = $("links").tBodies[0];
    clear(body);
    const links = v.links.slice().sort((a, b) => b.busy_ns - a.busy_ns || linkName(a).localeCompare(linkName(b)));
    for (const l of links) {
      const tr = html("tr", { "data-from": l.from, "data-to": l.to, class: sameLink(l, st.link) ? "selected" : "" }, body);
      html("td", {}, tr, linkName(l));
      html("td", {}, tr, l.port || "–");
      html("td", {}, tr, fmtRate(l.rate_bps));
      html("td", {}, tr, String(l.transmissions));
      const td = html("td", {}, tr);
      const sw = html("span", { style: "display:inline-block;width:10px;height:10px;margin-right:4px;background:" + utilColour(l.utilisation) }, td);
      sw.setAttribute("aria-hidden", "true");
      td.appendChild(document.createTextNode(pct(l.utilisation)));
      tr.addEventListener("click", () => selectLink(l));
    }
  }
  function drawStreams() {
    const v = st.view, body = $("streams").tBodies[0];
    clear(body);
    for (const s of v.streams) {
      const tr = html("tr", {
        "data-stream": s.id, "data-status": s.status, "data-scheduled": String(s.scheduled),
        "data-failure-code": String(s.failure_code),
        "data-offset-ns": s.talker_offset_ns === null || s.talker_offset_ns === undefined ? "" : String(s.talker_offset_ns),
        "data-latency-ns": s.worst_latency_ns === null || s.worst_latency_ns === undefined ? "" : String(s.worst_latency_ns),
        "data-max-latency-ns": s.max_latency_ns === null || s.max_latency_ns === undefined ? "" : String(s.max_latency_ns),
        class: s.id === st.stream ? "selected" : "",
      }, body);
      const idc = html("td", {}, tr);
      html("span", { style: "display:inline-block;width:9px;height:9px;border-radius:2px;margin-right:5px;background:" + streamColour(s.id) }, idc);
      idc.appendChild(document.createTextNode(s.id));
      html("td", {}, tr, s.cuc || "–");
      html("td", {}, tr, s.talker + " → " + s.listeners.join(", "));
      html("td", { class: "route" }, tr, s.paths.length ? s.paths.map((p) => p.join(" › ")).join(" | ") : "–");
      html("td", {}, tr, fmtNs(s.period_ns));
      html("td", {}, tr, fmtNs(s.talker_offset_ns));
      const lat = html("td", {}, tr);
      if (s.worst_latency_ns !== null && s.worst_latency_ns !== undefined && s.max_latency_ns) {
        const frac = s.worst_latency_ns / s.max_latency_ns;
        const bar = el("svg", { class: "latbar", width: 60, height: 10 }, lat);
        el("rect", { x: 0, y: 0, width: 60, height: 10, fill: "#e5e7eb" }, bar);
        el("rect", { x: 0, y: 0, width: Math.max(1, Math.min(60, 60 * frac)), height: 10, fill: frac > 1 ? "#c62828" : "#2e7d32" }, bar);
      }
      lat.appendChild(document.createTextNode(fmtNs(s.worst_latency_ns) + " / " + fmtNs(s.max_latency_ns)));
      html("td", { class: "status-" + s.status }, tr, s.status);
      html("td", {}, tr, s.failure_code ? String(s.failure_code) : "–");
      tr.addEventListener("click", () => { st.stream = st.stream === s.id ? null : s.id; drawTopology(); drawStreams(); });
    }
  }

  // ---------------------------------------------------------------- link: Gantt + GCL
  function selectLink(l) {
    st.link = { from: l.from, to: l.to };
    drawTopology();
    drawLinks();
    drawLink();
  }
  function zoomTo(t0, t1) {
    const H = Math.max(st.view.hyperperiod_ns, 1);
    t0 = Math.max(0, t0);
    t1 = Math.min(H, t1);
    if (!(t1 - t0 >= 10)) return false;
    st.t0 = t0;
    st.t1 = t1;
    st.zoomed = !(t0 === 0 && t1 === H);
    drawLink();
    return true;
  }
  function bindControls() {
    $("zoom-apply").addEventListener("click", () => {
      const a = Number($("zoom-from").value.trim()), b = Number($("zoom-to").value.trim());
      if (!Number.isFinite(a) || !Number.isFinite(b) || !zoomTo(a, b)) {
        showError("zoom: give a window of at least 10 ns inside the hyperperiod (from < to)");
      } else showError("");
    });
    const around = (f) => { const c = (st.t0 + st.t1) / 2, w = (st.t1 - st.t0) * f; zoomTo(Math.round(c - w / 2), Math.round(c + w / 2)); };
    $("zoom-in").addEventListener("click", () => around(0.5));
    $("zoom-out").addEventListener("click", () => around(2));
    $("zoom-reset").addEventListener("click", () => zoomTo(0, Math.max(st.view.hyperperiod_ns, 1)));
    for (const id of ["gantt", "gcl"]) {
      const svg = $(id);
      svg.addEventListener("wheel", (e) => {
        e.preventDefault();
        const ax = axis();
        const x = e.clientX - svg.getBoundingClientRect().left;
        const t = ax.t0 + ((Math.min(Math.max(x, ax.x0), ax.x1) - ax.x0) / (ax.x1 - ax.x0)) * (ax.t1 - ax.t0);
        const f = e.deltaY < 0 ? 0.8 : 1.25;
        zoomTo(Math.round(t - (t - st.t0) * f), Math.round(t + (st.t1 - t) * f));
      }, { passive: false });
      let drag = null;
      svg.addEventListener("mousedown", (e) => { drag = { x: e.clientX, t0: st.t0, t1: st.t1 }; });
      window.addEventListener("mouseup", () => { drag = null; });
      svg.addEventListener("mousemove", (e) => {
        if (!drag) return;
        const ax = axis();
        const dt = Math.round(((drag.x - e.clientX) / (ax.x1 - ax.x0)) * (drag.t1 - drag.t0));
        const H = Math.max(st.view.hyperperiod_ns, 1);
        const w = drag.t1 - drag.t0;
        const t0 = Math.min(Math.max(0, drag.t0 + dt), H - w);
        zoomTo(t0, t0 + w);
      });
    }
  }
  function axis() {
    const svg = $("gantt");
    const W = Math.max(480, Math.floor($("link-panel").clientWidth - 24));
    return { W: W, x0: 190, x1: W - 16, t0: st.t0, t1: st.t1, svg: svg };
  }
  function xOf(ax, t) { return ax.x0 + ((t - ax.t0) / (ax.t1 - ax.t0)) * (ax.x1 - ax.x0); }
  function niceStep(span) {
    const raw = span / 8, p = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
    return 10 * p;
  }
  function drawAxis(svg, ax, y) {
    const g = el("g", { class: "axis" }, svg);
    el("line", { x1: ax.x0, y1: y, x2: ax.x1, y2: y }, g);
    const step = niceStep(ax.t1 - ax.t0);
    for (let t = Math.ceil(ax.t0 / step) * step; t <= ax.t1 + 1e-9; t += step) {
      const x = xOf(ax, t);
      el("line", { x1: x, y1: y - 4, x2: x, y2: y + 2 }, g);
      el("text", { x: x, y: y - 6, "text-anchor": "middle" }, g, fmtNs(Math.round(t)));
    }
  }
  function drawLink() {
    const v = st.view, svg = $("gantt"), gsvg = $("gcl");
    clear(svg);
    clear(gsvg);
    $("zoom-from").value = String(Math.round(st.t0));
    $("zoom-to").value = String(Math.round(st.t1));
    const ax = axis();
    for (const s of [svg, gsvg]) s.setAttribute("width", ax.W);
    svg.dataset.t0Ns = String(st.t0);
    svg.dataset.t1Ns = String(st.t1);
    svg.dataset.x0 = String(ax.x0);
    svg.dataset.x1 = String(ax.x1);
    svg.dataset.minWidthPx = String(MIN_WIDTH_PX);
    if (!st.link) {
      $("link-title").textContent = "No link selected";
      svg.setAttribute("height", 40);
      el("text", { x: 10, y: 24 }, svg, v.hyperperiod_ns ? "Select a link in the topology or the link table." : "No schedule deployed yet.");
      svg.dataset.link = "";
      svg.dataset.drawn = "0";
      gsvg.setAttribute("height", 10);
      return;
    }
    const link = v.links.find((l) => sameLink(l, st.link)) || st.link;
    $("link-title").textContent = "Link " + linkName(link) + (link.port ? " (port " + link.port + ")" : "") +
      (link.rate_bps ? ", " + fmtRate(link.rate_bps) : "") + " — hyperperiod " + fmtNs(v.hyperperiod_ns);
    svg.dataset.link = link.from + "\u2192" + link.to;
    svg.dataset.from = link.from;
    svg.dataset.to = link.to;
    const H = Math.max(v.hyperperiod_ns, 1);
    const txs = v.transmissions.filter((t) => sameLink(t, link));
    const rows = Array.from(new Set(txs.map((t) => t.stream))).sort();
    const top = 26, rowH = 18;
    svg.setAttribute("height", top + Math.max(1, rows.length) * rowH + 8);
    drawAxis(svg, ax, top - 4);
    const rowY = {};
    rows.forEach((id, i) => {
      rowY[id] = top + i * rowH;
      el("rect", { class: "row-bg" + (i % 2 ? " odd" : ""), x: ax.x0, y: rowY[id], width: ax.x1 - ax.x0, height: rowH,
        "data-row-stream": id }, svg);
      el("text", { x: ax.x0 - 6, y: rowY[id] + 13, "text-anchor": "end" }, svg, short(id, 28));
    });
    if (!rows.length) el("text", { x: ax.x0, y: top + 13 }, svg, "No scheduled transmissions on this link.");
    const clip = el("clipPath", { id: "plot-clip" }, el("defs", {}, svg));
    el("rect", { x: ax.x0, y: 0, width: ax.x1 - ax.x0 + MIN_WIDTH_PX, height: 10000 }, clip);
    const g = el("g", { class: "transmissions" }, svg);
    let drawn = 0;
    for (const t of txs) {
      // Times repeat modulo the hyperperiod: a late hop wraps to the start.
      const s = t.start_ns % H, d = t.end_ns - t.start_ns;
      const pieces = [[s, Math.min(s + d, H), 1]];
      if (s + d > H) pieces.push([0, s + d - H, 2]);
      for (const [ps, pe, piece] of pieces) {
        if (pe <= st.t0 || ps >= st.t1) continue;
        const cs = Math.max(ps, st.t0), ce = Math.min(pe, st.t1);
        const x = xOf(ax, cs), w = Math.max(MIN_WIDTH_PX, xOf(ax, ce) - x);
        const r = el("rect", {
          class: "tx", x: x, y: rowY[t.stream] + 3, width: w, height: rowH - 6, fill: streamColour(t.stream),
          "data-stream": t.stream, "data-from": t.from, "data-to": t.to, "data-instance": t.instance,
          "data-frame": t.frame, "data-queue": t.queue, "data-start-ns": t.start_ns, "data-end-ns": t.end_ns,
          "data-duration-ns": d, "data-piece": piece, "data-draw-start-ns": ps, "data-draw-end-ns": pe,
        }, g);
        el("title", {}, r, t.stream + " instance " + t.instance + " frame " + t.frame + ": " + fmtNs(t.start_ns) +
          " + " + fmtNs(d) + " (queue " + t.queue + ", traffic class " + (7 - t.queue) + ")");
        drawn++;
      }
    }
    svg.dataset.drawn = String(drawn);
    drawGcl(gsvg, ax, link);
  }
  function drawGcl(svg, ax, link) {
    const v = st.view;
    const gcl = v.gcls.find((g) => sameLink(g, link));
    svg.dataset.port = link.from + "\u2192" + link.to;
    if (!gcl || !gcl.cycle_time_ns) {
      svg.setAttribute("height", 30);
      el("text", { x: 10, y: 20 }, svg, "No gate control list shown for this port (no scheduled traffic, or streams of another CUC).");
      svg.dataset.segments = "0";
      return;
    }
    const top = 26, rowH = 13;
    svg.setAttribute("height", top + 8 * rowH + 6);
    drawAxis(svg, ax, top - 4);
    svg.dataset.cycleNs = String(gcl.cycle_time_ns);
    svg.dataset.baseNs = String(gcl.base_time_ns);
    for (let tc = 7; tc >= 0; tc--) {
      const y = top + (7 - tc) * rowH;
      el("rect", { class: "gate-closed", x: ax.x0, y: y + 1, width: ax.x1 - ax.x0, height: rowH - 2 }, svg);
      el("text", { x: ax.x0 - 6, y: y + 10, "text-anchor": "end" }, svg, "TC" + tc);
    }
    const first = Math.floor((st.t0 - gcl.base_time_ns) / gcl.cycle_time_ns);
    const last = Math.ceil((st.t1 - gcl.base_time_ns) / gcl.cycle_time_ns);
    const count = (last - first) * gcl.entries.length;
    if (count > MAX_GATE_SEGMENTS) {
      el("text", { x: ax.x0 + 8, y: top + 4 * rowH }, svg,
        (last - first) + " cycles of " + fmtNs(gcl.cycle_time_ns) + " in view: zoom in to see the gate states");
      svg.dataset.segments = "too-many";
      return;
    }
    let n = 0;
    const g = el("g", { class: "gates" }, svg);
    for (let k = first; k < last; k++) {
      let t = gcl.base_time_ns + k * gcl.cycle_time_ns;
      for (const [states, interval] of gcl.entries) {
        const a = t, b = t + interval;
        t = b;
        if (b <= st.t0 || a >= st.t1) continue;
        const x = xOf(ax, Math.max(a, st.t0)), w = Math.max(0.5, xOf(ax, Math.min(b, st.t1)) - x);
        for (let tc = 0; tc < 8; tc++) {
          if (!(states & (1 << tc))) continue;
          el("rect", { class: "gate-open", x: x, y: top + (7 - tc) * rowH + 1, width: w, height: rowH - 2,
            "data-tc": tc, "data-start-ns": a, "data-end-ns": b }, g);
          n++;
        }
      }
    }
    svg.dataset.segments = String(n);
  }

  // For tests and the console.
  window.tsnViz = {
    view: () => st.view,
    zoom: zoomTo,
    selectLink: (from, to) => selectLink({ from: from, to: to }),
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
