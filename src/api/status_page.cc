#include "api/status_page.h"

namespace baton {

namespace {

constexpr std::string_view kPage = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>baton</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; background: #fafafa; }
  h1 { font-size: 1.4em; margin: 0 0 .2em; }
  h2 { font-size: 1.1em; margin: 1.4em 0 .4em; }
  table { border-collapse: collapse; background: white; }
  th, td { padding: .25em .7em; border-bottom: 1px solid #e4e4e4; text-align: left; }
  th { font-weight: 600; background: #f0f0f0; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  .role-leader { color: #0a7a2f; font-weight: 600; }
  .state-down, .state-stopped, .state-crashed { color: #c0262d; font-weight: 600; }
  .bar { display: inline-block; height: .7em; background: #3b6fb6; vertical-align: middle; }
  .bar.over { background: #c0262d; }
  .bartrack { display: inline-block; width: 120px; background: #eee; margin-right: .4em; }
  #banner { padding: .4em .8em; margin: .5em 0; border-radius: 4px; }
  #banner.ok { background: #e5f4e9; }
  #banner.bad { background: #fbe3e4; }
  .muted { color: #777; }
  svg { background: white; border: 1px solid #e4e4e4; }
</style>
</head>
<body data-ready="false">
<h1>baton cluster <span id="cluster">…</span></h1>
<div id="banner" class="ok">loading…</div>
<div>Leader <strong id="leader">…</strong> on timeline <strong id="timeline">…</strong>
  <span id="paused"></span> <span class="muted">· updated <span id="updated">never</span></span></div>

<h2>Members</h2>
<table id="members">
  <thead><tr><th>member</th><th>host</th><th>role</th><th>state</th><th>TL</th><th>LSN</th>
    <th>lag</th><th>lag (s)</th><th>note</th></tr></thead>
  <tbody></tbody>
</table>

<h2>Role changes</h2>
<svg id="changes-plot" width="900" height="70" role="img" aria-label="role changes over time"></svg>
<table id="history">
  <thead><tr><th>time</th><th>event</th><th>old</th><th>new</th><th>TL</th><th>unavailable (s)</th>
    <th>reason</th></tr></thead>
  <tbody></tbody>
</table>

<h2>Drills</h2>
<div id="drills-empty" class="muted">no drill recorded (run <code>baton drill</code>)</div>
<svg id="drills-plot" width="900" height="160" role="img" aria-label="RTO per drill"></svg>
<div id="drill-caption" class="muted"></div>
<svg id="drill-timeline" width="900" height="170" role="img"
     aria-label="the last drill's slowest round"></svg>

<script>
"use strict";
const SVG = "http://www.w3.org/2000/svg";
const POLL_MS = 1000;
let firstRender = true;

function el(tag, attrs, text) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4))
                                      : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}
function cell(row, text, cls) {
  const td = el("td", cls ? {class: cls} : {}, text);
  row.appendChild(td);
  return td;
}
function bytes(n) {
  if (n === null || n === undefined) return "-";
  if (n < 1024) return n + " B";
  if (n < 1048576) return (n / 1024).toFixed(1) + " KiB";
  return (n / 1048576).toFixed(1) + " MiB";
}
function secs(x, digits) {
  return (x === null || x === undefined) ? "-" : Number(x).toFixed(digits === undefined ? 2 : digits);
}
function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

function drawMembers(status) {
  const body = document.querySelector("#members tbody");
  clear(body);
  const lags = status.members.map(m => m.lag_bytes || 0);
  const scale = Math.max(1048576, ...lags);
  for (const m of status.members) {
    const row = el("tr", {"data-member": m.name, "data-role": m.role, "data-state": m.state});
    cell(row, m.name);
    cell(row, m.host || "");
    cell(row, m.role, "role-" + m.role);
    cell(row, m.state, "state-" + m.state);
    cell(row, m.timeline === undefined ? "" : m.timeline, "num");
    cell(row, m.lsn || "");
    const lag = cell(row, "");
    const track = el("span", {class: "bartrack"});
    const width = m.lag_bytes ? Math.max(1, Math.round(120 * m.lag_bytes / scale)) : 0;
    track.appendChild(el("span", {class: m.lag_bytes > 1048576 ? "bar over" : "bar",
                                  style: "width:" + width + "px"}));
    lag.appendChild(track);
    lag.appendChild(document.createTextNode(bytes(m.lag_bytes)));
    cell(row, secs(m.lag_seconds, 1), "num");
    cell(row, m.note || "");
    body.appendChild(row);
  }
}

function drawHistory(records) {
  const body = document.querySelector("#history tbody");
  clear(body);
  for (const h of records.slice(-20).reverse()) {
    const row = el("tr", {"data-event": h.event || ""});
    cell(row, h.time || "");
    cell(row, h.event || "");
    cell(row, h.old_leader || "");
    cell(row, h.new_leader || "");
    cell(row, h.timeline === undefined ? "" : h.timeline, "num");
    cell(row, secs(h.unavailable_seconds), "num");
    cell(row, h.reason || "");
    body.appendChild(row);
  }
  const plot = document.getElementById("changes-plot");
  clear(plot);
  const times = records.map(h => Date.parse(h.time)).filter(t => !isNaN(t));
  if (times.length === 0) return;
  const start = Math.min(...times), end = Math.max(Date.now(), ...times);
  const x = t => 20 + 860 * (end === start ? 1 : (t - start) / (end - start));
  plot.appendChild(el("svg:line", {x1: 20, y1: 40, x2: 880, y2: 40, stroke: "#888"}));
  const colors = {failover: "#c0262d", "manual-failover": "#c0262d", switchover: "#e69500",
                  bootstrap: "#3b6fb6", promote: "#2a9d3a", demote: "#777"};
  for (const h of records) {
    const t = Date.parse(h.time);
    if (isNaN(t)) continue;
    const mark = el("svg:circle", {cx: x(t).toFixed(1), cy: 40, r: 5,
                                   fill: colors[h.event] || "#444"});
    mark.appendChild(el("svg:title", {}, (h.time || "") + " " + (h.event || "") + " → " +
                                         (h.new_leader || "") + " (TL " + (h.timeline || "?") + ")"));
    plot.appendChild(mark);
  }
  plot.appendChild(el("svg:text", {x: 20, y: 64, "font-size": 11}, new Date(start).toISOString()));
  plot.appendChild(el("svg:text", {x: 880, y: 64, "font-size": 11, "text-anchor": "end"}, "now"));
}

function drawDrills(drills) {
  const plot = document.getElementById("drills-plot");
  const timeline = document.getElementById("drill-timeline");
  clear(plot);
  clear(timeline);
  document.getElementById("drills-empty").style.display = drills.length ? "none" : "";
  plot.style.display = timeline.style.display = drills.length ? "" : "none";
  const caption = document.getElementById("drill-caption");
  caption.textContent = "";
  if (!drills.length) return;
  const shown = drills.slice(-20);
  const worst = shown.map(d => (d.summary || {}).rto_worst_seconds || 0);
  const top = Math.max(1, ...worst);
  const slot = 860 / shown.length;
  plot.appendChild(el("svg:text", {x: 20, y: 14, "font-size": 12},
                      "RTO per drill: median (bar) and worst (tick), seconds; top " +
                      top.toFixed(2) + " s"));
  shown.forEach((d, i) => {
    const s = d.summary || {};
    const x = 20 + i * slot;
    const h = v => 120 * (v || 0) / top;
    const bar = el("svg:rect", {x: (x + 2).toFixed(1), y: (150 - h(s.rto_median_seconds)).toFixed(1),
                                width: Math.max(2, slot - 4).toFixed(1),
                                height: h(s.rto_median_seconds).toFixed(1), fill: "#3b6fb6",
                                "data-drill": i});
    bar.appendChild(el("svg:title", {}, (d.time || "") + " " + (d.fault || "") + ": median " +
                                        secs(s.rto_median_seconds) + " s, worst " +
                                        secs(s.rto_worst_seconds) + " s, lost " +
                                        (s.lost_rows === undefined ? "?" : s.lost_rows)));
    plot.appendChild(bar);
    plot.appendChild(el("svg:line", {x1: (x + 2).toFixed(1), x2: (x + slot - 2).toFixed(1),
                                     y1: (150 - h(s.rto_worst_seconds)).toFixed(1),
                                     y2: (150 - h(s.rto_worst_seconds)).toFixed(1),
                                     stroke: "#c0262d", "stroke-width": 2}));
  });
  const last = drills[drills.length - 1];
  const s = last.summary || {};
  caption.textContent = "Last drill " + (last.time || "") + ", " + (last.fault || "") + ": " +
      (s.rounds_measured === undefined ? "?" : s.rounds_measured) + " round(s), RTO median " +
      secs(s.rto_median_seconds) + " s, worst " + secs(s.rto_worst_seconds) + " s, write gap worst " +
      secs(s.write_gap_worst_seconds) + " s, lost " + (s.lost_rows === undefined ? "?" : s.lost_rows) +
      " row(s), dual-primary windows " +
      (s.dual_primary_windows === undefined ? "?" : s.dual_primary_windows);
  const t = last.timeline;
  if (!t || !t.writes || !t.writes.length) {
    timeline.style.display = "none";
    return;
  }
  const n = t.writes.length;
  const peak = Math.max(1, ...t.writes, ...t.errors);
  const w = 860 / n;
  timeline.appendChild(el("svg:text", {x: 20, y: 14, "font-size": 12},
      "Slowest round (" + t.round + "): acknowledged writes (blue) and errors (red) per " +
      (t.bucket_seconds * 1000) + " ms; fault (orange), first write on a new primary (green)"));
  for (let i = 0; i < n; ++i) {
    const wh = 130 * t.writes[i] / peak, eh = 130 * (t.errors[i] || 0) / peak;
    if (wh > 0) timeline.appendChild(el("svg:rect", {x: (20 + i * w).toFixed(1),
        y: (155 - wh).toFixed(1), width: Math.max(1, w - 1).toFixed(1), height: wh.toFixed(1),
        fill: "#3b6fb6"}));
    if (eh > 0) timeline.appendChild(el("svg:rect", {x: (20 + i * w).toFixed(1),
        y: (155 - eh).toFixed(1), width: Math.max(1, w - 1).toFixed(1), height: eh.toFixed(1),
        fill: "#c0262d", opacity: 0.8}));
  }
  const marker = (at, color) => {
    if (at === null || at === undefined) return;
    const x = (20 + 860 * at / (n * t.bucket_seconds)).toFixed(1);
    timeline.appendChild(el("svg:line", {x1: x, x2: x, y1: 20, y2: 155, stroke: color,
                                         "stroke-width": 2}));
  };
  marker(t.fault_at_seconds, "#e69500");
  marker(t.promoted_at_seconds, "#2a9d3a");
}

function drawStatus(status) {
  document.getElementById("cluster").textContent = status.cluster;
  document.getElementById("leader").textContent = status.leader || "NONE";
  const leader = status.members.find(m => m.name === status.leader);
  document.getElementById("timeline").textContent = leader ? leader.timeline : "-";
  document.getElementById("paused").textContent = status.paused ? "· PAUSED (maintenance mode)" : "";
  drawMembers(status);
  const banner = document.getElementById("banner");
  const down = status.members.filter(m => m.state !== "running" && m.state !== "streaming");
  if (!status.leader) {
    banner.className = "bad";
    banner.textContent = "No leader: writes are not possible until one is elected.";
  } else if (down.length) {
    banner.className = "bad";
    banner.textContent = "Not every member runs: " + down.map(m => m.name + " " + m.state).join(", ");
  } else {
    banner.className = "ok";
    banner.textContent = "All " + status.members.length + " member(s) run; " + status.leader +
        " is the leader.";
  }
}

async function poll() {
  try {
    const [status, history] = await Promise.all(
        ["status", "history"].map(p => fetch(p, {cache: "no-store"}).then(r => r.json())));
    if (!Array.isArray(status.members)) throw new Error(status.error || "no members in /status");
    drawStatus(status);
    drawHistory(history.history || []);
    drawDrills(history.drills || []);
    document.getElementById("updated").textContent = new Date().toLocaleTimeString();
    if (firstRender) {
      firstRender = false;
      document.body.dataset.firstRenderMs = Math.round(performance.now());
      document.body.dataset.ready = "true";
    }
  } catch (e) {
    const banner = document.getElementById("banner");
    banner.className = "bad";
    banner.textContent = "This agent does not answer: " + e.message;
  }
  setTimeout(poll, POLL_MS);
}
poll();
</script>
</body>
</html>
)html";

}  // namespace

std::string_view StatusPageHtml() {
  return kPage;
}

}  // namespace baton
