// The operator page's live parts: polls /overview and /requests, draws the activity chart, and sends the replay
// action with the admin token the operator types (sent with that one request, then cleared from the field, never stored).
"use strict";

const POLL_MS = 2000;

function byId(id) { return document.getElementById(id); }

function text(id, value) { byId(id).textContent = value; }

function yesNo(flag) { return flag ? "connected" : "not connected"; }

function cell(row, value, className) {
  const td = document.createElement("td");
  td.textContent = value === undefined || value === null ? "" : String(value);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function replaceRows(tbody, rows, emptyText, columns) {
  tbody.replaceChildren();
  if (rows.length === 0) {
    const tr = document.createElement("tr");
    const td = cell(tr, emptyText);
    td.colSpan = columns;
    tbody.appendChild(tr);
    return;
  }
  rows.forEach((tr) => tbody.appendChild(tr));
}

// The chart always spans fifteen minutes (90 windows of 10 s and the one still open), newest on the right, so a
// gateway that just started shows a short stretch at the right rather than one window stretched across.
const CHART_SLOTS = 91;

function drawChart(samples) {
  const svg = byId("activity-chart");
  const ns = "http://www.w3.org/2000/svg";
  svg.replaceChildren();
  if (samples.length === 0) return;
  const width = 600, height = 120;
  const recent = samples.slice(-CHART_SLOTS);
  const max = Math.max(1, ...recent.map((s) => Math.max(s.answered, s.failed)));
  const slot = width / CHART_SLOTS;
  const x = (i) => width - (recent.length - i) * slot + slot / 2;
  const y = (value) => height - 2 - (value / max) * (height - 4);
  recent.forEach((s, i) => {
    if (s.failed > 0) {
      const bar = document.createElementNS(ns, "rect");
      bar.setAttribute("class", "bar");
      bar.setAttribute("x", (x(i) - slot * 0.4).toFixed(1));
      bar.setAttribute("y", y(s.failed).toFixed(1));
      bar.setAttribute("width", (slot * 0.8).toFixed(1));
      bar.setAttribute("height", (height - 2 - y(s.failed)).toFixed(1));
      svg.appendChild(bar);
    }
  });
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("class", "line");
  // One window is drawn as a short level stroke across its slot.
  const points = recent.length === 1
    ? [[x(0) - slot / 2, y(recent[0].answered)], [x(0) + slot / 2, y(recent[0].answered)]]
    : recent.map((s, i) => [x(i), y(s.answered)]);
  line.setAttribute("points", points.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(" "));
  svg.appendChild(line);
  const last = recent[recent.length - 1];
  byId("activity-caption").textContent =
    `Requests answered (line) and failures (bars) per 10 seconds; peak ${max}, last window ${last.answered} answered, ${last.failed} failed.`;
}

function showOverview(o) {
  const badge = byId("readiness");
  badge.textContent = o.ready ? "Ready" : "Not ready";
  badge.className = "badge " + (o.ready ? "ready" : "not-ready");
  text("broker", yesNo(o.brokerConnected));
  text("ledger", yesNo(o.ledgerConnected));
  text("consuming", o.consuming ? "yes" : "no");
  text("ledger-end", o.ledgerEnd === null ? "unknown" : String(o.ledgerEnd));
  text("observer-lag", o.observerLag === null ? "unknown" : String(o.observerLag));
  const reasons = byId("not-ready-reasons");
  reasons.hidden = o.ready;
  reasons.textContent = o.ready ? "" : "Not ready because: " + o.notReadyBecause.join("; ");
  drawChart(o.activity);
  const codes = Object.entries(o.failuresByCode).filter(([, count]) => count > 0).sort((a, b) => b[1] - a[1]).map(([code, count]) => {
    const tr = document.createElement("tr");
    cell(tr, code);
    cell(tr, count);
    return tr;
  });
  replaceRows(byId("failures-by-code"), codes, "none", 2);
  const errors = byId("last-errors");
  errors.replaceChildren();
  (o.lastErrors.length ? o.lastErrors : ["none"]).forEach((e) => {
    const li = document.createElement("li");
    li.textContent = e;
    errors.appendChild(li);
  });
  const depth = o.deadLetters.depth;
  text("dead-letter-depth", depth === null ? "unknown (" + (o.deadLetters.error || "broker not reachable") + ")" : String(depth));
  const enabled = o.deadLetters.replayEnabled;
  byId("replay-disabled").hidden = enabled;
  ["replay-token", "replay-codes", "replay-request-ids", "replay-dry-run", "replay-button"].forEach((id) => {
    byId(id).disabled = !enabled;
  });
}

function showRecent(list) {
  const rows = list.requests.map((r) => {
    const tr = document.createElement("tr");
    const idCell = cell(tr, "", "id");
    if (r.requestId !== null && r.requestId !== undefined) {
      const a = document.createElement("a");
      a.href = "/lookup?requestId=" + encodeURIComponent(r.requestId);
      a.textContent = r.requestId;
      idCell.appendChild(a);
    } else {
      idCell.textContent = "(no readable requestId)";
    }
    cell(tr, r.messageName);
    cell(tr, r.deadLettered ? r.outcome + " (dead-lettered)" : r.outcome, r.outcome === "Failure" ? "failure" : "committed");
    cell(tr, r.errorCode);
    cell(tr, r.latencyMs);
    cell(tr, r.processedAt);
    return tr;
  });
  replaceRows(byId("recent-requests"), rows, "none yet", 6);
}

async function getJson(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" }, cache: "no-store" });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

let polling = false;

async function poll() {
  // A gateway slow to answer must not collect a queue of polls.
  if (polling) return;
  polling = true;
  try {
    await pollOnce();
  } finally {
    polling = false;
  }
}

async function pollOnce() {
  try {
    showOverview(await getJson("/overview"));
  } catch (e) {
    const badge = byId("readiness");
    badge.textContent = "Gateway not answering";
    badge.className = "badge not-ready";
  }
  try {
    showRecent(await getJson("/requests?limit=20"));
  } catch (e) {
    // The overview above already says when the gateway is not answering.
  }
}

function commaList(value) {
  return value.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}

async function replay(event) {
  event.preventDefault();
  const result = byId("replay-result");
  const codes = commaList(byId("replay-codes").value).map(Number);
  if (codes.some((c) => !Number.isInteger(c) || c < 0 || c > 65535)) {
    result.textContent = "Error codes must be whole numbers such as 5030.";
    return;
  }
  const body = {
    codes,
    requestIds: commaList(byId("replay-request-ids").value),
    dryRun: byId("replay-dry-run").checked,
  };
  const token = byId("replay-token").value;
  // The token is used for this one request and not left in the page.
  byId("replay-token").value = "";
  result.textContent = "Replaying…";
  try {
    const response = await fetch("/dead-letters/replay", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
      body: JSON.stringify(body),
    });
    const answer = await response.json();
    if (!response.ok) {
      result.textContent = `Refused (HTTP ${response.status}): ${answer.error}`;
      return;
    }
    const s = answer.summary;
    result.textContent = s.summary === "dry_run"
      ? `Dry run: ${s.matched} letter(s) would move to ${s.ingressQueue}; ${s.kept} would stay.`
      : `Replayed ${s.moved} letter(s) to ${s.ingressQueue}; ${s.kept} stayed.`;
  } catch (e) {
    result.textContent = "The replay could not be sent: " + e.message;
  }
  poll();
}

document.addEventListener("DOMContentLoaded", () => {
  byId("replay-form").addEventListener("submit", replay);
  poll();
  setInterval(poll, POLL_MS);
});
