// openras dashboard: the daemon's own API (under /api) and its event stream, drawn live.
// No framework: each part keeps a small model and redraws its own DOM from it. Text goes in
// with textContent only, so nothing the daemon relays (entry names, details) can become markup.
"use strict";

const S = {
  me: null, // /ui/session: uid, user, privileged, csrf, texts, steps
  t: {},
  lastSeq: 0,
  conns: new Map(), // handle -> connection model
  dials: new Map(), // handle -> dial progress {deviceType, seen: Map(state -> error), failed}
  lastDialOf: new Map(), // entry name -> handle of its latest dial
  entries: [],
  messages: new Map(), // error code -> message in the page's language
  stats: true, // false once the daemon says it has no statistics route
  log: [],
  source: null,
};
const LOG_MAX = 1000;
const GRAPH_POINTS = 60;
const KINDS = ["state", "reference", "hangup", "released", "redial", "entry", "net", "notifyee", "daemon", "overflow"];
const CONNECTED = 0x2000;
const DISCONNECTED = 0x2001;

// -- small helpers -----------------------------------------------------------------------------
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
const $ = (sel, root = document) => root.querySelector(sel);
function tr(key, vars) {
  let text = S.t[key] || key;
  for (const [k, v] of Object.entries(vars || {})) text = text.replace("{" + k + "}", v);
  return text;
}
function stateName(state) {
  return S.stateNames.get(state) || "0x" + state.toString(16);
}
function bytes(n) {
  if (n === undefined || n === null) return "–";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return (i ? n.toFixed(1) : n) + " " + units[i];
}
function duration(seconds) {
  seconds = Math.max(0, Math.floor(seconds));
  const hh = Math.floor(seconds / 3600), mm = Math.floor(seconds / 60) % 60, ss = seconds % 60;
  return (hh ? hh + ":" : "") + String(mm).padStart(hh ? 2 : 1, "0") + ":" + String(ss).padStart(2, "0");
}
function toast(text) {
  const el = $("#toast");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 6000);
}

class ApiError extends Error {
  constructor(status, body) {
    super(body.message || ("HTTP " + status));
    this.status = status;
    this.code = body.error;
    this.detail = body.detail || "";
  }
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = S.me ? S.me.csrf : "";
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

async function messageOf(code) {
  if (!S.messages.has(code)) {
    try {
      S.messages.set(code, (await api("GET", "/ui/errors/" + code)).message);
    } catch (e) {
      S.messages.set(code, "");
    }
  }
  return S.messages.get(code);
}

// -- dial progress: one row of RASCS steps per dial ----------------------------------------------
function dialOf(handle, deviceType) {
  let dial = S.dials.get(handle);
  if (!dial) {
    dial = { handle, deviceType: deviceType || "*", seen: new Map(), failed: null, lost: null };
    S.dials.set(handle, dial);
  }
  if (deviceType) dial.deviceType = deviceType;
  return dial;
}

function stepsOf(dial) {
  const planned = (S.me.steps[dial.deviceType] || S.me.steps["*"]).map((s) => s.state);
  const all = new Set(planned);
  for (const state of dial.seen.keys()) if (state !== DISCONNECTED) all.add(state);
  if (dial.failed && dial.failed.state !== DISCONNECTED) all.add(dial.failed.state);
  // Connected (0x2000) ends the row; the other states in their numeric order.
  return [...all].sort((a, b) => a - b);
}

function drawSteps(dial) {
  const row = h("ol", { class: "steps", "data-handle": dial.handle });
  for (const state of stepsOf(dial)) {
    let cls = "step";
    if (dial.failed && dial.failed.state === state) cls += " failed";
    else if (dial.seen.has(state)) cls += " done";
    const name = stateName(state);
    row.append(h("li", { class: cls, "data-state": name, title: "RASCS_" + name }, name));
  }
  if (dial.failed) {
    const f = dial.failed;
    const note = h("p", { class: "failure", "data-error": f.error },
      h("strong", {}, tr("failed_at", { step: stateName(f.state) }) + " — " + tr("error", { code: f.error })),
      " ", h("code", {}, f.name || ""), " ", h("span", { class: "message" }, f.message || ""),
      f.detail ? h("span", { class: "detail" }, " (" + f.detail + ")") : null);
    return h("div", { class: "progress" }, row, note);
  }
  return h("div", { class: "progress" }, row);
}

async function noteFailure(dial, ev) {
  dial.failed = { state: ev.state, error: ev.error, name: ev.error_name, detail: ev.detail, message: "" };
  dial.failed.message = await messageOf(ev.error);
  redrawDial(dial);
}

function redrawDial(dial) {
  const conn = S.conns.get(dial.handle);
  if (conn) drawConn(conn);
  for (const [entry, handle] of S.lastDialOf) {
    if (handle === dial.handle) drawEntryProgress(entry);
  }
}

// -- connections --------------------------------------------------------------------------------
function connOf(handle) {
  let conn = S.conns.get(handle);
  if (!conn) {
    conn = { handle, record: null, hanging: false, traffic: null, series: [[], [], []], chart: null, el: null };
    S.conns.set(handle, conn);
  }
  return conn;
}

function applyRecord(record) {
  const conn = connOf(record.handle);
  conn.record = { ...(conn.record || {}), ...record };
  if (record.phase === "hanging_up") conn.hanging = true;
  const dial = dialOf(record.handle, record.device_type);
  if (record.phase === "dialing" || record.phase === "connected") {
    // Opened mid-dial: the steps before the current one are done.
    for (const s of stepsOf(dial)) if (s <= record.state && !dial.seen.has(s)) dial.seen.set(s, 0);
  }
  drawConn(conn);
}

const refreshTimers = new Map();
function refreshSoon(handle) {
  if (refreshTimers.has(handle)) return;
  refreshTimers.set(handle, setTimeout(async () => {
    refreshTimers.delete(handle);
    try {
      applyRecord(await api("GET", "/api/v1/connections/" + handle));
    } catch (e) {
      if (e.code === 6) removeConn(handle); // ERROR_INVALID_HANDLE: gone
    }
  }, 150));
}

function removeConn(handle) {
  clearTimeout(refreshTimers.get(handle));
  refreshTimers.delete(handle);
  const conn = S.conns.get(handle);
  if (!conn) return;
  if (conn.chart) conn.chart.destroy();
  if (conn.el) conn.el.remove();
  S.conns.delete(handle);
  if (conn.record) drawEntryActions(conn.record.entry);
  drawEmpty();
}

function drawEmpty() {
  const box = $("#connections");
  const empty = $(".empty", box);
  empty.hidden = S.conns.size > 0;
}

function mayHangUp(record) {
  return S.me.privileged || record.owner_uid === S.me.uid;
}

function stateText(conn) {
  const r = conn.record;
  if (conn.hanging) return tr("hanging_up");
  return stateName(r.state);
}

function drawConn(conn) {
  const r = conn.record;
  if (!r) return;
  const dial = dialOf(conn.handle, r.device_type);
  const mine = r.owner_uid === S.me.uid;
  const owner = mine ? S.me.user : "uid " + r.owner_uid;
  const dev = r.device || {};
  const addresses = [];
  if (dev.local_address || dev.remote_address) addresses.push((dev.local_address || "?") + " → " + (dev.remote_address || "?"));
  if (dev.interface) addresses.push(dev.interface);
  if (dev.socks_port) addresses.push("SOCKS " + (dev.socks_host || "127.0.0.1") + ":" + dev.socks_port);
  const phase = conn.hanging ? "hanging_up" : r.phase;
  const actions = h("div", { class: "actions" });
  if (mayHangUp(r)) {
    actions.append(h("button", {
      type: "button", class: "hangup danger", disabled: conn.hanging,
      onclick: () => hangUp(conn),
    }, conn.hanging ? tr("hanging_up") : tr("hang_up")));
  } else {
    actions.append(h("span", { class: "foreign" }, tr("not_yours", { owner: "uid " + r.owner_uid })));
  }
  let lost = null;
  if (r.error && r.phase !== "dialing" && !dial.failed) {
    lost = h("p", { class: "failure", "data-error": r.error },
      h("strong", {}, tr("error", { code: r.error })), " ", h("code", {}, r.error_name || ""), " ",
      h("span", { class: "message" }, S.messages.get(r.error) || ""),
      r.detail ? h("span", { class: "detail" }, " (" + r.detail + ")") : null);
    if (!S.messages.has(r.error)) messageOf(r.error).then(() => drawConn(conn));
  }
  const traffic = h("div", { class: "traffic" });
  if (conn.traffic) {
    traffic.append(...trafficSpans(conn.traffic));
  } else {
    traffic.append(h("span", { class: "muted" }, S.stats ? "–" : tr("no_stats")));
  }
  const graph = conn.graphEl || (conn.graphEl = h("div", { class: "graph" }));
  const card = h("article", { class: "conn phase-" + phase, "data-handle": conn.handle, "data-entry": r.entry },
    h("div", { class: "conn-head" },
      h("span", { class: "entry" }, r.entry),
      h("span", { class: "state badge", "data-phase": phase }, stateText(conn)),
      h("span", { class: "handle muted" }, "#" + conn.handle),
      actions),
    h("dl", { class: "facts" },
      h("dt", {}, tr("device")), h("dd", { class: "device" }, r.device_type + (r.device_name ? " · " + r.device_name : "")),
      h("dt", {}, tr("owner")), h("dd", { class: "owner" }, owner),
      h("dt", {}, tr("duration")), h("dd", { class: "duration" }, r.connected_at && r.phase === "connected" ? duration(Date.now() / 1000 - r.connected_at) : "–"),
      h("dt", {}, tr("addresses")), h("dd", { class: "addresses" }, addresses.join(" · ") || "–"),
      h("dt", {}, tr("traffic")), h("dd", {}, traffic)),
    r.phase === "connected" && !conn.hanging && S.stats ? graph : null,
    r.phase === "dialing" || dial.failed ? drawSteps(dial) : null,
    lost);
  if (conn.el) conn.el.replaceWith(card);
  else $("#connections").append(card);
  conn.el = card;
  drawEntryActions(r.entry);
  drawEmpty();
  if (r.phase === "connected" && S.stats) drawGraph(conn);
}

function drawGraph(conn) {
  if (typeof uPlot === "undefined") return;
  if (!conn.chart) {
    conn.chart = new uPlot({
      width: 340, height: 100, legend: { show: false }, cursor: { show: false },
      scales: { x: { time: true } },
      axes: [{ show: false }, { size: 72, font: "11px system-ui", values: (u, v) => v.map((n) => bytes(n) + "/s") }],
      series: [{}, { label: tr("received"), stroke: "#2f7de1", fill: "rgba(47,125,225,.15)" },
        { label: tr("sent"), stroke: "#e07b2f" }],
    }, conn.series, conn.graphEl);
  }
}

function trafficSpans(t) {
  return [
    h("span", { class: "rx", title: tr("received"), "data-bytes": t.rx }, "↓ " + bytes(t.rx)),
    h("span", { class: "tx", title: tr("sent"), "data-bytes": t.tx }, "↑ " + bytes(t.tx)),
  ];
}

async function hangUp(conn) {
  conn.hanging = true;
  drawConn(conn);
  try {
    await api("DELETE", "/api/v1/connections/" + conn.handle);
  } catch (e) {
    conn.hanging = false;
    drawConn(conn);
    toast(tr("error", { code: e.code }) + ": " + e.message);
  }
}

async function pollStats() {
  if (!S.stats) return;
  for (const conn of S.conns.values()) {
    if (!conn.record || conn.record.phase !== "connected" || conn.hanging) continue;
    let st;
    try {
      st = await api("GET", "/api/v1/connections/" + conn.handle + "/statistics");
    } catch (e) {
      continue; // gone meanwhile (6) or not answering now: the next second tries again

    }
    const now = Date.now() / 1000;
    const rx = st.dwBytesRcved ?? st.bytes_received ?? 0;
    const tx = st.dwBytesXmited ?? st.bytes_sent ?? 0;
    const prev = conn.traffic;
    conn.traffic = { rx, tx, at: now };
    if (prev) {
      const dt = Math.max(now - prev.at, 0.001);
      const [xs, rxs, txs] = conn.series;
      xs.push(now); rxs.push(Math.max(0, (rx - prev.rx) / dt)); txs.push(Math.max(0, (tx - prev.tx) / dt));
      if (xs.length > GRAPH_POINTS) { xs.shift(); rxs.shift(); txs.shift(); }
      if (conn.chart) conn.chart.setData(conn.series);
      if (conn.graphEl) conn.graphEl.dataset.points = xs.length;
    }
    const el = conn.el && $(".traffic", conn.el);
    if (el) {
      el.replaceChildren(...trafficSpans(conn.traffic));
    }
  }
}

function tick() {
  for (const conn of S.conns.values()) {
    const r = conn.record;
    const el = conn.el && $(".duration", conn.el);
    if (el && r && r.connected_at && r.phase === "connected") el.textContent = duration(Date.now() / 1000 - r.connected_at);
  }
}

function drawAll() {
  for (const conn of S.conns.values()) drawConn(conn);
}

async function loadConnections() {
  // Full records (issue 9 makes the RASCONN fields the default listing).
  const list = await api("GET", "/api/v1/connections?full=1");
  const present = new Set(list.map((r) => r.handle));
  for (const handle of [...S.conns.keys()]) if (!present.has(handle)) removeConn(handle);
  for (const record of list) applyRecord(record);
}

// -- the event stream ---------------------------------------------------------------------------
function onConnectionEvent(ev) {
  const dial = dialOf(ev.handle, ev.device_type);
  if (ev.kind === "redial") { dial.seen.clear(); dial.failed = null; }
  if (ev.kind === "state") {
    if (ev.error && ev.phase === "failed" && ev.state !== DISCONNECTED) noteFailure(dial, ev);
    else if (!ev.error) dial.seen.set(ev.state, 0);
  }
  if (S.lastDialOf.has(ev.entry) || ev.kind === "state") {
    if (!S.lastDialOf.has(ev.entry) || S.lastDialOf.get(ev.entry) < ev.handle) S.lastDialOf.set(ev.entry, ev.handle);
    drawEntryProgress(ev.entry);
  }
  if (ev.kind === "released") {
    removeConn(ev.handle);
    return;
  }
  const conn = connOf(ev.handle);
  conn.record = {
    ...(conn.record || { device: {}, device_name: "", connected_at: null }),
    handle: ev.handle, entry: ev.entry, device_type: ev.device_type, owner_uid: ev.owner_uid,
    state: ev.state, phase: ev.phase, error: ev.error, error_name: ev.error_name, detail: ev.detail,
  };
  if (ev.kind === "hangup") conn.hanging = true;
  drawConn(conn);
  refreshSoon(ev.handle);
}

function onEvent(ev) {
  if (ev.seq > S.lastSeq) S.lastSeq = ev.seq;
  addLog(ev);
  if (ev.handle !== undefined && ev.kind !== "net") onConnectionEvent(ev);
  else if (ev.kind === "entry") loadEntries();
  else if (ev.kind === "net") loadDrives();
  else if (ev.kind === "overflow") { S.lastSeq = ev.resume_from; reconnect(0); }
}

function setLive(on) {
  const el = $("#live");
  el.className = "live " + (on ? "on" : "off");
  el.textContent = on ? tr("live") : tr("reconnecting");
}

function listen() {
  const source = new EventSource("/api/v1/events?since=" + S.lastSeq);
  S.source = source;
  source.onopen = () => setLive(true);
  const handler = (msg) => onEvent(JSON.parse(msg.data));
  for (const kind of KINDS) source.addEventListener(kind, handler);
  source.onerror = () => reconnect(1000);
}

function reconnect(delay) {
  if (S.source) S.source.close();
  S.source = null;
  setLive(false);
  setTimeout(async () => {
    try {
      await api("GET", "/ui/session"); // still signed in (the daemon may have restarted)?
    } catch (e) {
      if (e.status === 401 || e.status === 403) { location.reload(); return; }
      reconnect(2000);
      return;
    }
    listen();
    loadConnections().catch(() => {});
  }, delay);
}

// -- the event log ------------------------------------------------------------------------------
function logLine(ev) {
  const when = new Date(ev.time * 1000).toLocaleTimeString();
  let what;
  if (ev.handle !== undefined && ev.kind !== "net") {
    what = `#${ev.handle} ${ev.entry} ${ev.state_name}` + (ev.error ? ` ${ev.error} ${ev.error_name}` : "") + (ev.notify ? ` [${ev.notify}]` : "");
  } else if (ev.kind === "net") {
    what = `${ev.action} ${ev.local_name || ""} ${ev.remote_name} (${ev.provider})`;
  } else if (ev.kind === "entry") {
    what = `${ev.action} ${ev.entry || (ev.names || []).join(", ")}`;
  } else {
    what = Object.entries(ev).filter(([k]) => !["seq", "time", "kind"].includes(k)).map(([k, v]) => `${k}=${v}`).join(" ");
  }
  return h("li", { class: "ev ev-" + ev.kind + (ev.error ? " ev-error" : ""), "data-kind": ev.kind, "data-handle": ev.handle ?? "" },
    h("time", {}, when), h("span", { class: "seq" }, "#" + ev.seq), h("span", { class: "kind" }, ev.kind), h("span", { class: "what" }, what));
}

function logFilter() {
  const form = $("#log-filters");
  const kinds = new Set([...form.querySelectorAll("#kinds input:checked")].map((i) => i.value));
  const handle = form.elements.handle.value;
  const text = form.elements.text.value.toLowerCase();
  return (li) => kinds.has(li.dataset.kind) && (!handle || li.dataset.handle === handle) && (!text || li.textContent.toLowerCase().includes(text));
}

function addLog(ev) {
  if (S.log.length && ev.seq <= S.log[S.log.length - 1].seq) return; // replayed after a reconnect
  S.log.push(ev);
  const list = $("#log");
  const li = logLine(ev);
  li.hidden = !logFilter()(li);
  list.append(li);
  while (S.log.length > LOG_MAX) { S.log.shift(); list.firstElementChild.remove(); }
  if ($("#log-filters").elements.tail.checked) list.scrollTop = list.scrollHeight;
}

function refilterLog() {
  const keep = logFilter();
  for (const li of $("#log").children) li.hidden = !keep(li);
}

async function loadLog() {
  const since = Math.max(0, S.lastSeq - 200);
  const events = await api("GET", "/api/v1/events/log?since=" + since + "&limit=200");
  for (const ev of events) if (ev.seq <= S.lastSeq) addLog(ev);
}

// -- phonebook ----------------------------------------------------------------------------------
// The hang-up buttons of an entry's live connections (those this user may hang up).
function drawEntryActions(name) {
  const box = document.querySelector(`.entry-row[data-entry="${CSS.escape(name)}"] .entry-actions`);
  if (!box) return;
  const live = [...S.conns.values()].filter((c) => c.record && c.record.entry === name && mayHangUp(c.record));
  box.replaceChildren(...live.map((c) => h("button", {
    type: "button", class: "hangup danger", "data-handle": c.handle, disabled: c.hanging,
    onclick: () => hangUp(c),
  }, c.hanging ? tr("hanging_up") : tr("hang_up"))));
}

function drawEntryProgress(name) {
  const row = document.querySelector(`.entry-row[data-entry="${CSS.escape(name)}"] .last-dial`);
  const handle = S.lastDialOf.get(name);
  if (!row || handle === undefined) return;
  const dial = S.dials.get(handle);
  row.replaceChildren(dial ? drawSteps(dial) : "");
}

async function loadEntries() {
  S.entries = await api("GET", "/api/v1/entries");
  const box = $("#entries");
  box.replaceChildren();
  if (!S.entries.length) box.append(h("p", { class: "empty" }, tr("no_entries")));
  for (const e of S.entries) {
    const phone = (e.properties || {}).PhoneNumber || "";
    box.append(h("div", { class: "entry-row", "data-entry": e.name },
      h("div", { class: "entry-head" },
        h("span", { class: "entry" }, e.name),
        h("span", { class: "muted" }, e.device + (phone ? " · " + phone : "")),
        h("span", { class: "entry-actions" }),
        h("button", { type: "button", class: "dial", onclick: () => openDial(e) }, tr("dial"))),
      h("div", { class: "last-dial" })));
    drawEntryProgress(e.name);
    drawEntryActions(e.name);
  }
}

let dialing = null;
async function openDial(entry) {
  dialing = entry;
  const form = $("#dial-form");
  form.reset();
  $("#dial-title").textContent = tr("dial_entry", { entry: entry.name });
  try {
    const saved = await api("GET", "/api/v1/entries/" + encodeURIComponent(entry.name) + "/credentials");
    form.elements.user.value = saved.user || "";
    form.elements.domain.value = saved.domain || "";
  } catch (e) { /* no saved credentials */ }
  $("#dial-dialog").showModal();
  (form.elements.user.value ? form.elements.password : form.elements.user).focus();
}

async function submitDial(ev) {
  ev.preventDefault();
  const form = $("#dial-form");
  const body = { entry: dialing.name, user: form.elements.user.value, password: form.elements.password.value, domain: form.elements.domain.value };
  form.elements.password.value = ""; // the password lives only in this request
  $("#dial-dialog").close();
  try {
    const started = await api("POST", "/api/v1/connections", body);
    dialOf(started.handle);
    S.lastDialOf.set(dialing.name, started.handle);
    drawEntryProgress(dialing.name);
  } catch (e) {
    toast(tr("error", { code: e.code }) + ": " + e.message + (e.detail ? " (" + e.detail + ")" : ""));
  }
}

// -- network resources --------------------------------------------------------------------------
async function loadDrives() {
  let data;
  try {
    data = await api("GET", "/api/v1/net/connections");
  } catch (e) {
    return; // the router is unavailable on this daemon
  }
  const body = $("#drives tbody");
  body.replaceChildren();
  if (!data.connections.length) body.append(h("tr", {}, h("td", { colspan: 5, class: "empty" }, tr("no_drives"))));
  for (const c of data.connections) {
    const name = c.local_name || c.remote_name;
    body.append(h("tr", { "data-remote": c.remote_name },
      h("td", {}, c.local_name || "–"), h("td", {}, c.remote_name), h("td", {}, c.provider || "–"),
      h("td", {}, h("span", { class: "badge status-" + String(c.status).toLowerCase() }, c.status)),
      h("td", {}, h("button", { type: "button", class: "danger", onclick: () => unmap(name) }, tr("disconnect")))));
  }
}

async function loadProviders() {
  const select = $("#map-form").elements.provider;
  select.replaceChildren(h("option", { value: "" }, tr("any_provider")));
  try {
    for (const p of await api("GET", "/api/v1/net/providers")) select.append(h("option", { value: p.name }, p.name));
  } catch (e) { /* no router */ }
}

async function unmap(name) {
  try {
    await api("DELETE", "/api/v1/net/connections/" + encodeURIComponent(name));
  } catch (e) {
    toast(tr("error", { code: e.code }) + ": " + e.message);
  }
  loadDrives();
}

async function submitMap(ev) {
  ev.preventDefault();
  const form = $("#map-form");
  const out = $(".form-error", form);
  const f = form.elements;
  const body = {
    netresource: { dwType: 1, lpLocalName: f.local.value || null, lpRemoteName: f.remote.value, lpProvider: f.provider.value || null },
    user: f.user.value || null,
    password: f.password.value || null,
    flags: f.remember.checked ? 1 : 0, // CONNECT_UPDATE_PROFILE
  };
  f.password.value = "";
  out.hidden = true;
  try {
    await api("POST", "/api/v1/net/connections", body);
    form.reset();
  } catch (e) {
    out.textContent = tr("error", { code: e.code }) + ": " + e.message;
    out.hidden = false;
  }
  loadDrives();
}

// -- start --------------------------------------------------------------------------------------
async function main() {
  S.me = await api("GET", "/ui/session");
  S.t = S.me.texts;
  S.stats = S.me.statistics;
  S.stateNames = new Map(Object.entries(S.me.states).map(([k, v]) => [Number(k), v]));
  document.documentElement.lang = S.me.languages[0] || "en";
  document.title = tr("title");
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = tr(el.dataset.t);
  $("#who").textContent = tr("signed_in_as", { user: S.me.user });
  S.lastSeq = S.me.last_seq;
  const kinds = $("#kinds");
  for (const kind of KINDS) kinds.append(h("label", { class: "check" }, h("input", { type: "checkbox", value: kind, checked: true }), " " + kind));
  $("#log-filters").addEventListener("input", refilterLog);
  $("#log-filters").addEventListener("submit", (e) => e.preventDefault());
  $("#dial-form").addEventListener("submit", submitDial);
  $("#dial-form button[value=cancel]").addEventListener("click", () => { $("#dial-form").reset(); $("#dial-dialog").close(); });
  $("#map-form").addEventListener("submit", submitMap);
  $("#signout").addEventListener("click", async () => { await api("POST", "/ui/logout"); location.reload(); });
  listen(); // from the session's sequence number: nothing after it is missed
  await Promise.all([loadLog(), loadConnections(), loadEntries(), loadDrives(), loadProviders()]);
  drawEmpty();
  setInterval(tick, 1000);
  setInterval(pollStats, 1000);
  document.body.dataset.ready = "1";
}

main().catch((e) => toast(String(e.message || e)));
