/*
 * voxtrack dashboard: plain JavaScript, no libraries, no build step.
 *
 * On load it reads the rig (/api/cameras), the latency history (/api/health)
 * and then listens to /events (Server-Sent Events): a "state" event per frame
 * set (at most ~20 per second) with tracks, cameras and health, and an
 * "alerts" event with new alert log entries. Trails are kept here, per track
 * id. Authentication rides on the cookie that /?token=... sets.
 */
"use strict";

const STAGES = ["motion", "voting", "detection", "tracking", "total"];
const STAGE_COLORS = ["#4fc3f7", "#ffb74d", "#ba68c8", "#81c784", "#e0e0e0"];
const TRAIL_LEN = 80;        /* positions kept per track */
const HISTORY_S = 600;       /* latency chart span, seconds */
const TABLE_ROWS = 300;      /* track table rows shown */

const st = {
  cameras: [],               /* from /api/cameras (geometry) and each state (health) */
  tracks: [],
  trails: new Map(),         /* id -> {pts: [[x, y, z]...], seen: t} */
  history: [],               /* {wall, ms: {stage: value}} one per second */
  pending: null,             /* the second being accumulated */
  alerts: [],
  health: null,
  lastState: 0,              /* performance.now() of the last state */
  states: 0,
  draws: 0,
  view: { yaw: -0.6, pitch: 0.6, zoom: 1 },
  bounds: null,
};

const $ = (id) => document.getElementById(id);
const fmt = (v, d) => (v === null || v === undefined || !isFinite(v) ? "-" : Number(v).toFixed(d));

/* ---- data ---- */

async function getJSON(path) {
  const r = await fetch(path, { credentials: "same-origin", cache: "no-store" });
  if (!r.ok) throw new Error(path + ": HTTP " + r.status);
  return r.json();
}

function mergeCameras(list) {
  const byId = new Map(st.cameras.map((c) => [c.id, c]));
  st.cameras = list.map((c) => Object.assign(byId.get(c.id) || {}, c));
}

function addLatency(wall, ms) {
  const sec = Math.floor(wall);
  if (!st.pending || st.pending.wall !== sec) {
    if (st.pending) pushSample(st.pending.wall, st.pending.sum, st.pending.n);
    st.pending = { wall: sec, sum: {}, n: 0 };
  }
  for (const s of STAGES) st.pending.sum[s] = (st.pending.sum[s] || 0) + (ms[s] || 0);
  st.pending.n++;
}

function pushSample(wall, sum, n) {
  const ms = {};
  for (const s of STAGES) ms[s] = n ? sum[s] / n : 0;
  st.history.push({ wall, ms });
  while (st.history.length && st.history[0].wall < wall - HISTORY_S) st.history.shift();
}

function onState(s) {
  st.states++;
  st.lastState = performance.now();
  st.health = s.health;
  st.tracks = s.tracks.tracks;
  st.trackCount = s.tracks.count;
  mergeCameras(s.cameras.cameras);
  const t = s.tracks.t;
  for (const k of st.tracks) {
    let tr = st.trails.get(k.id);
    if (!tr) st.trails.set(k.id, (tr = { pts: [] }));
    tr.pts.push(k.pos);
    if (tr.pts.length > TRAIL_LEN) tr.pts.shift();
    tr.seen = t;
    tr.track = k;
  }
  for (const [id, tr] of st.trails) if (t - tr.seen > 3 || t < tr.seen) st.trails.delete(id);
  if (s.health.running) addLatency(Date.now() / 1000, s.health.latency_ms);
}

function onAlerts(list) {
  for (const a of list) st.alerts.unshift(a);
  if (st.alerts.length > 500) st.alerts.length = 500;
  renderAlerts();
}

/* ---- header and tables ---- */

function renderHeader() {
  const h = st.health;
  const live = h && h.running && performance.now() - st.lastState < 3000;
  const pill = $("status");
  pill.textContent = live ? "live" : h && h.frame_sets ? "stale" : "waiting";
  pill.className = "pill " + (live ? "live" : "stale");
  if (!h) return;
  $("s-frame").textContent = h.frame;
  $("s-time").textContent = fmt(h.t, 2) + " s";
  $("s-rate").textContent = fmt(h.sets_per_s, 1);
  $("s-latency").textContent = fmt(h.latency_ms.total, 1) + " ms";
  $("s-tracks").textContent = h.tracks;
  $("s-cameras").textContent = h.cameras_live + "/" + h.cameras;
  $("s-alerts").textContent = h.alerts_total;
}

function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
}

function renderCameras() {
  const body = $("cameras-body");
  const rows = [];
  for (const c of st.cameras) {
    const tr = document.createElement("tr");
    if (c.present === false) tr.className = "offline";
    cell(tr, c.id);
    cell(tr, c.modality);
    cell(tr, fmt(c.fps, 1));
    cell(tr, c.drops === undefined ? "-" : c.drops);
    cell(tr, fmt(c.sync_error_ms, 2));
    cell(tr, c.motion_pixels === undefined ? "-" : c.motion_pixels);
    cell(tr, c.blobs === undefined ? "-" : c.blobs);
    cell(tr, c.rays === undefined ? "-" : c.rays);
    rows.push(tr);
  }
  body.replaceChildren(...rows);
}

// Thermal confirmation of a track: with thermal fusion (docs/FUSION.md), the confirmed
// share of the detections a thermal camera could have seen ("9/10", and the mean
// thermal/mono SNR ratio); without it, whether thermal rays ever supported the track.
function thermalConfirmed(k) {
  return k.thermal_observed > 0 ? k.thermal_rate >= 0.5 : k.thermal_confirmed;
}

function thermalText(k) {
  let s = thermalConfirmed(k) ? "yes" : "no";
  if (k.thermal_observed > 0) s += " " + k.thermal_confirmations + "/" + k.thermal_observed;
  if (typeof k.thermal_ratio === "number") s += " r" + fmt(k.thermal_ratio, 1);
  return s;
}

function renderTracks() {
  const body = $("tracks-body");
  const list = st.tracks.slice().sort((a, b) => a.id - b.id).slice(0, TABLE_ROWS);
  const rows = [];
  for (const k of list) {
    const tr = document.createElement("tr");
    cell(tr, k.id);
    cell(tr, k.class, k.class);
    cell(tr, k.status, k.status === "tentative" ? "tentative" : "");
    cell(tr, fmt(k.pos[0], 1));
    cell(tr, fmt(k.pos[1], 1));
    cell(tr, fmt(k.altitude, 1));
    cell(tr, fmt(k.speed, 1));
    cell(tr, fmt(k.age, 1));
    cell(tr, k.cams);
    cell(tr, thermalText(k), thermalConfirmed(k) ? "yes" : "no");
    rows.push(tr);
  }
  body.replaceChildren(...rows);
  $("tracks-note").textContent =
    st.trackCount > list.length ? list.length + " of " + st.trackCount + " shown" : "";
}

function renderAlerts() {
  const ol = $("alerts-list");
  const items = st.alerts.slice(0, 200).map((a) => {
    const li = document.createElement("li");
    if (!a.raised) li.className = "cleared";
    const time = document.createElement("time");
    time.textContent = new Date(a.wall * 1000).toLocaleTimeString();
    li.appendChild(time);
    li.appendChild(document.createTextNode(
      (a.raised ? "RAISED " : "cleared ") + a.rule + " (" + a.kind + "): " + a.message));
    return li;
  });
  if (!items.length) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = "no alerts";
    items.push(li);
  }
  ol.replaceChildren(...items);
}

/* ---- canvases ---- */

/* Sizes a canvas's backing store to its displayed size (sharp on any screen). */
function fitCanvas(cv, aspect) {
  const w = Math.max(200, Math.round(cv.clientWidth * (window.devicePixelRatio || 1)));
  const h = Math.round(w * aspect);
  if (cv.width !== w || cv.height !== h) {
    cv.width = w;
    cv.height = h;
  }
  return cv.getContext("2d");
}

/* The world box to show: cameras and trails, grown smoothly, never shrunk fast. */
function worldBounds() {
  let x0 = Infinity, y0 = Infinity, z0 = 0, x1 = -Infinity, y1 = -Infinity, z1 = 10;
  const add = (p) => {
    x0 = Math.min(x0, p[0]); x1 = Math.max(x1, p[0]);
    y0 = Math.min(y0, p[1]); y1 = Math.max(y1, p[1]);
    z0 = Math.min(z0, p[2]); z1 = Math.max(z1, p[2]);
  };
  for (const c of st.cameras) add(c.pos);
  for (const tr of st.trails.values()) for (const p of tr.pts) add(p);
  if (!isFinite(x0)) { x0 = y0 = -100; x1 = y1 = 100; }
  const b = { x0, y0, z0, x1, y1, z1 };
  if (st.bounds) {
    for (const k of ["x0", "y0", "z0"]) b[k] = Math.min(b[k], st.bounds[k] * 0.98 + b[k] * 0.02);
    for (const k of ["x1", "y1", "z1"]) b[k] = Math.max(b[k], st.bounds[k] * 0.98 + b[k] * 0.02);
  }
  st.bounds = b;
  return b;
}

function trackColor(k) {
  if (k.status === "tentative") return "#8a9bab";
  return k.class === "bird" ? "#64b5f6" : "#ff6e40";
}

function niceStep(span) {
  const raw = span / 8, p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (raw <= m * p) return m * p;
  return 10 * p;
}

function drawMap() {
  const cv = $("map");
  const g = fitCanvas(cv, 0.75);
  const W = cv.width, H = cv.height;
  const b = worldBounds();
  const pad = 0.06;
  const sx = W / ((b.x1 - b.x0) * (1 + 2 * pad) || 1), sy = H / ((b.y1 - b.y0) * (1 + 2 * pad) || 1);
  const s = Math.min(sx, sy);
  const cx = (b.x0 + b.x1) / 2, cy = (b.y0 + b.y1) / 2;
  const P = (p) => [W / 2 + (p[0] - cx) * s, H / 2 - (p[1] - cy) * s];
  g.clearRect(0, 0, W, H);
  /* grid */
  const step = niceStep(Math.max(W, H) / s);
  g.strokeStyle = "#16283a";
  g.lineWidth = 1;
  g.beginPath();
  for (let x = Math.ceil((cx - W / 2 / s) / step) * step; x < cx + W / 2 / s; x += step) {
    const px = P([x, 0])[0]; g.moveTo(px, 0); g.lineTo(px, H);
  }
  for (let y = Math.ceil((cy - H / 2 / s) / step) * step; y < cy + H / 2 / s; y += step) {
    const py = P([0, y])[1]; g.moveTo(0, py); g.lineTo(W, py);
  }
  g.stroke();
  const fs = Math.max(11, W / 70);
  g.font = fs + "px system-ui, sans-serif";
  g.fillStyle = "#7f97ad";
  g.fillText("grid " + step + " m", 8, H - 8);
  /* cameras and their horizontal field of view */
  const reach = 0.25 * Math.max(b.x1 - b.x0, b.y1 - b.y0);
  for (const c of st.cameras) {
    const p = P(c.pos);
    const f = [c.fwd[0], c.fwd[1]], r = [c.right[0], c.right[1]];
    const t = Math.tan((c.hfov_deg * Math.PI) / 360);
    g.fillStyle = c.modality === "thermal" ? "rgba(255,112,67,0.07)" : "rgba(79,195,247,0.07)";
    g.strokeStyle = c.modality === "thermal" ? "rgba(255,112,67,0.5)" : "rgba(79,195,247,0.5)";
    g.beginPath();
    g.moveTo(p[0], p[1]);
    for (const side of [-1, 1]) {
      const d = [f[0] + side * t * r[0], f[1] + side * t * r[1]];
      const n = Math.hypot(d[0], d[1]) || 1;
      const q = P([c.pos[0] + (d[0] / n) * reach, c.pos[1] + (d[1] / n) * reach]);
      g.lineTo(q[0], q[1]);
    }
    g.closePath();
    g.fill();
    g.stroke();
    g.fillStyle = c.present === false ? "#ef5350" : "#d7e3ee";
    g.fillRect(p[0] - 4, p[1] - 4, 8, 8);
    if (c.modality !== "thermal") g.fillText(c.id, p[0] + 6, p[1] - 6);
  }
  drawTracks2D(g, P, fs);
  st.draws++;
  cv.dataset.draws = st.draws;
}

function drawTracks2D(g, P, fs) {
  for (const tr of st.trails.values()) {
    const k = tr.track;
    g.strokeStyle = trackColor(k);
    g.globalAlpha = 0.5;
    g.beginPath();
    tr.pts.forEach((p, i) => { const q = P(p); i ? g.lineTo(q[0], q[1]) : g.moveTo(q[0], q[1]); });
    g.stroke();
    g.globalAlpha = 1;
  }
  for (const k of st.tracks) {
    const q = P(k.pos);
    g.fillStyle = trackColor(k);
    g.beginPath();
    g.arc(q[0], q[1], k.status === "tentative" ? 2.5 : 4, 0, 2 * Math.PI);
    g.fill();
    if (k.status !== "tentative") g.fillText(String(k.id), q[0] + 5, q[1] + fs);
  }
}

/* 3D: orbit around the box's centre; perspective with the camera at `dist`. */
function drawOrbit() {
  const cv = $("orbit");
  const g = fitCanvas(cv, 0.75);
  const W = cv.width, H = cv.height;
  const b = st.bounds || worldBounds();
  const c = [(b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2, (b.z0 + b.z1) / 2];
  const R = 0.5 * Math.hypot(b.x1 - b.x0, b.y1 - b.y0, b.z1 - b.z0) || 100;
  const dist = 3 * R / st.view.zoom, focal = 0.9 * Math.min(W, H) * 3 / 2;
  const cyw = Math.cos(st.view.yaw), syw = Math.sin(st.view.yaw);
  const cp = Math.cos(st.view.pitch), sp = Math.sin(st.view.pitch);
  const P = (p) => {
    const x = p[0] - c[0], y = p[1] - c[1], z = p[2] - c[2];
    const x1 = cyw * x - syw * y, y1 = syw * x + cyw * y; /* turn about z */
    const depth = cp * y1 + sp * z, up = -sp * y1 + cp * z; /* tilt down */
    const d = dist + depth;
    if (d < 1e-3) return null;
    return [W / 2 + (focal * x1) / d, H / 2 - (focal * up) / d];
  };
  const line = (a, e) => {
    const p = P(a), q = P(e);
    if (p && q) { g.moveTo(p[0], p[1]); g.lineTo(q[0], q[1]); }
  };
  g.clearRect(0, 0, W, H);
  /* ground grid at z = 0 */
  const step = niceStep(Math.max(b.x1 - b.x0, b.y1 - b.y0));
  g.strokeStyle = "#16283a";
  g.beginPath();
  const gx0 = Math.floor(b.x0 / step) * step, gx1 = Math.ceil(b.x1 / step) * step;
  const gy0 = Math.floor(b.y0 / step) * step, gy1 = Math.ceil(b.y1 / step) * step;
  for (let x = gx0; x <= gx1; x += step) line([x, gy0, 0], [x, gy1, 0]);
  for (let y = gy0; y <= gy1; y += step) line([gx0, y, 0], [gx1, y, 0]);
  g.stroke();
  /* cameras: the four edges of the view frustum */
  const reach = 0.35 * R;
  for (const cam of st.cameras) {
    const th = Math.tan((cam.hfov_deg * Math.PI) / 360), tv = Math.tan((cam.vfov_deg * Math.PI) / 360);
    g.strokeStyle = cam.modality === "thermal" ? "rgba(255,112,67,0.45)" : "rgba(79,195,247,0.45)";
    g.beginPath();
    const corners = [[-1, -1], [1, -1], [1, 1], [-1, 1]].map(([u, v]) => {
      const d = [0, 1, 2].map((i) => cam.fwd[i] + u * th * cam.right[i] + v * tv * cam.down[i]);
      return [0, 1, 2].map((i) => cam.pos[i] + d[i] * reach);
    });
    for (let i = 0; i < 4; i++) { line(cam.pos, corners[i]); line(corners[i], corners[(i + 1) % 4]); }
    g.stroke();
  }
  /* tracks: trail, stem to the ground, dot */
  for (const tr of st.trails.values()) {
    g.strokeStyle = trackColor(tr.track);
    g.globalAlpha = 0.55;
    g.beginPath();
    for (let i = 1; i < tr.pts.length; i++) line(tr.pts[i - 1], tr.pts[i]);
    g.stroke();
    g.globalAlpha = 0.2;
    g.beginPath();
    const p = tr.pts[tr.pts.length - 1];
    line(p, [p[0], p[1], 0]);
    g.stroke();
    g.globalAlpha = 1;
  }
  for (const k of st.tracks) {
    const q = P(k.pos);
    if (!q) continue;
    g.fillStyle = trackColor(k);
    g.beginPath();
    g.arc(q[0], q[1], k.status === "tentative" ? 2 : 3.5, 0, 2 * Math.PI);
    g.fill();
  }
}

function drawLatency() {
  const cv = $("latency");
  const g = fitCanvas(cv, 0.35);
  const W = cv.width, H = cv.height, L = 48, B = 20;
  g.clearRect(0, 0, W, H);
  const hist = st.history;
  const now = Date.now() / 1000;
  const span = Math.min(HISTORY_S, Math.max(60, hist.length ? now - hist[0].wall : 60));
  let top = 1;
  for (const h of hist) top = Math.max(top, h.ms.total);
  top = niceStep(top * 1.1) * Math.ceil((top * 1.1) / niceStep(top * 1.1));
  const X = (w) => L + ((w - (now - span)) / span) * (W - L - 6);
  const Y = (v) => H - B - (v / top) * (H - B - 8);
  g.strokeStyle = "#16283a";
  g.fillStyle = "#7f97ad";
  g.font = Math.max(10, W / 80) + "px system-ui, sans-serif";
  g.beginPath();
  for (let i = 0; i <= 4; i++) {
    const v = (top * i) / 4;
    g.moveTo(L, Y(v)); g.lineTo(W, Y(v));
    g.fillText(v.toFixed(v < 10 ? 1 : 0), 4, Y(v) + 4);
  }
  g.stroke();
  g.fillText("-" + Math.round(span) + " s", L, H - 4);
  g.fillText("now", W - 30, H - 4);
  STAGES.forEach((s, i) => {
    g.strokeStyle = STAGE_COLORS[i];
    g.lineWidth = s === "total" ? 2 : 1.2;
    g.beginPath();
    hist.forEach((h, j) => (j ? g.lineTo(X(h.wall), Y(h.ms[s])) : g.moveTo(X(h.wall), Y(h.ms[s]))));
    g.stroke();
  });
  g.lineWidth = 1;
}

function buildLegend() {
  const el = $("latency-legend");
  STAGES.forEach((s, i) => {
    const span = document.createElement("span");
    span.textContent = s;
    span.style.setProperty("--c", STAGE_COLORS[i]);
    el.appendChild(span);
  });
}

/* ---- orbit controls ---- */

function orbitControls() {
  const cv = $("orbit");
  let drag = null;
  cv.addEventListener("pointerdown", (e) => {
    drag = { x: e.clientX, y: e.clientY, yaw: st.view.yaw, pitch: st.view.pitch };
    cv.setPointerCapture(e.pointerId);
    cv.classList.add("dragging");
  });
  cv.addEventListener("pointermove", (e) => {
    if (!drag) return;
    st.view.yaw = drag.yaw - (e.clientX - drag.x) * 0.01;
    st.view.pitch = Math.max(0.05, Math.min(1.55, drag.pitch + (e.clientY - drag.y) * 0.01));
    needDraw = true;
  });
  const end = () => { drag = null; cv.classList.remove("dragging"); };
  cv.addEventListener("pointerup", end);
  cv.addEventListener("pointercancel", end);
  cv.addEventListener("wheel", (e) => {
    e.preventDefault();
    st.view.zoom = Math.max(0.3, Math.min(8, st.view.zoom * Math.exp(-e.deltaY * 0.001)));
    needDraw = true;
  }, { passive: false });
}

/* ---- main loop ---- */

let dirty = true;     /* tables and header need an update */
let needDraw = true;  /* canvases need a redraw: new state, a drag, a resize */
function frame() {
  if (dirty) {
    renderHeader();
    renderCameras();
    renderTracks();
    dirty = false;
  }
  if (needDraw) {
    drawMap();
    drawOrbit();
    drawLatency();
    needDraw = false;
  }
  document.body.dataset.states = st.states;
  requestAnimationFrame(frame);
}

function connect() {
  const es = new EventSource("/events");
  es.addEventListener("state", (e) => { onState(JSON.parse(e.data)); dirty = needDraw = true; });
  es.addEventListener("alerts", (e) => { onAlerts(JSON.parse(e.data)); dirty = true; });
  /* EventSource reconnects by itself; the header shows "stale" meanwhile. */
  es.onerror = () => { dirty = true; };
}

async function start() {
  buildLegend();
  orbitControls();
  renderAlerts();
  try {
    mergeCameras((await getJSON("/api/cameras")).cameras);
    const h = await getJSON("/api/health");
    st.health = h;
    for (const s of h.history || []) pushSample(s.wall, s.mean_ms, 1);
  } catch (err) {
    $("status").textContent = "offline";
  }
  connect();
  setInterval(() => { dirty = needDraw = true; }, 1000);
  window.addEventListener("resize", () => { needDraw = true; });
  requestAnimationFrame(frame);
}

document.addEventListener("DOMContentLoaded", start);
