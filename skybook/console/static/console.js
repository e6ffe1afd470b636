// skybook console: polls the console's JSON API every 2 s and renders it. No framework, no
// build step, nothing from the network but this console's own origin. Every value from the
// sandbox goes into the page as text (textContent), never as markup; the email's HTML is
// shown only inside a sandboxed srcdoc iframe.
"use strict";

const POLL_MS = 2000;
const MAX_ROWS = 100;
const state = {
  info: null,
  pending: new Map(), // bookingId -> booking submitted here, not yet in the table
  selectedEmail: null, // id of the email in the reader; null = follow the newest
  shownEmail: undefined,
  lastJson: {},
  timer: null,
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else if (key === "onclick") node.addEventListener("click", value);
    else node[key] = value;
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(child ?? ""));
  }
  return node;
}

async function api(path, options) {
  const response = await fetch(path, options);
  let body;
  try {
    body = await response.json();
  } catch {
    body = { error: `${response.status} ${response.statusText}` };
  }
  return { status: response.status, ok: response.ok, body };
}

// Calls fn(data) only when the JSON changed since the last time, so a poll that finds
// nothing new touches no DOM (selections, scroll positions and the iframe stay put).
function changed(key, data) {
  const json = JSON.stringify(data);
  if (state.lastJson[key] === json) return false;
  state.lastJson[key] = json;
  return true;
}

function shortTime(value) {
  if (value === undefined || value === null || value === "") return "";
  const date = typeof value === "number" ? new Date(value) : new Date(String(value));
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleTimeString([], { hour12: false });
}

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

// --- flights ---------------------------------------------------------------------------

function renderFlights(flights) {
  const rows = flights.map((f) => {
    const seats = f.seatsLeft;
    const row = el(
      "tr",
      {
        class: "clickable" + (seats === 0 ? " sold-out" : ""),
        "data-destination": f.destination,
        "data-date": f.date,
        title: "Book this flight",
        onclick: () => {
          $("destination").value = f.destination;
          $("flightDate").value = f.date;
          $("bookerEmail").focus();
        },
      },
      el("td", {}, f.destination),
      el("td", {}, f.date),
      el("td", { class: "num" }, seats === undefined ? "?" : String(seats),
        f.capacity !== undefined && f.capacity !== null ? el("small", {}, ` / ${f.capacity}`) : ""),
    );
    return row;
  });
  fill($("flights").tBodies[0], rows);
  $("flights-count").textContent = `${flights.length}`;
  const destinations = [...new Set(flights.map((f) => f.destination))].sort();
  $("destinations").replaceChildren(...destinations.map((d) => el("option", { value: d })));
}

// --- bookings --------------------------------------------------------------------------

function statusBadge(status, title) {
  const name = (status || "PROCESSING").toUpperCase();
  return el("span", { class: `badge ${name.toLowerCase()}`, title }, name);
}

function renderBookings(bookings) {
  const known = new Set(bookings.map((b) => b.id));
  for (const id of state.pending.keys()) if (known.has(id)) state.pending.delete(id);
  // Newest first: the API lists oldest first, pending ones are newer than all of those.
  const all = [...state.pending.values()].reverse().concat([...bookings].reverse());
  const rows = all.slice(0, MAX_ROWS).map((b) => {
    const mail = b.notification === "SENT" ? "sent" : b.notification ? b.notification.toLowerCase() : "";
    return el(
      "tr",
      {
        class: "clickable",
        "data-booking-id": b.id,
        "data-status": b.status || "PROCESSING",
        title: "Follow this booking in the logs",
        onclick: () => followBooking(b.id),
      },
      el("td", {}, shortTime(b.createdAt)),
      el("td", { class: "mono" }, el("span", { title: b.id }, String(b.id).slice(0, 8))),
      el("td", {}, `${b.destination} ${b.date}`),
      el("td", { class: "num" }, String(b.seats ?? "")),
      el("td", {}, b.email || ""),
      el("td", {}, statusBadge(b.status, b.reason), b.reason ? el("small", { class: "reason" }, ` ${b.reason}`) : ""),
      el("td", {}, mail),
    );
  });
  fill($("bookings").tBodies[0], rows);
  $("bookings-count").textContent =
    all.length > MAX_ROWS ? `newest ${MAX_ROWS} of ${all.length}` : `${all.length}`;
}

// --- the booking form ------------------------------------------------------------------

async function book(event) {
  event.preventDefault();
  const form = $("book-form");
  const result = $("book-result");
  const booking = {
    destination: $("destination").value.trim().toUpperCase(),
    flightDate: $("flightDate").value,
    numberOfSeats: Number($("numberOfSeats").value),
    bookerEmail: $("bookerEmail").value.trim(),
  };
  $("book-button").disabled = true;
  result.className = "result";
  result.textContent = "Booking…";
  try {
    const answer = await api("/api/book", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(booking),
    });
    const message = answer.body.message || answer.body.error || JSON.stringify(answer.body);
    if (answer.ok && answer.body.bookingId) {
      result.className = "result ok";
      result.dataset.bookingId = answer.body.bookingId;
      result.textContent = `${message} (booking ${answer.body.bookingId})`;
      state.pending.set(answer.body.bookingId, {
        id: answer.body.bookingId,
        destination: booking.destination,
        date: booking.flightDate,
        seats: booking.numberOfSeats,
        email: booking.bookerEmail,
        createdAt: new Date().toISOString(),
        status: "PROCESSING",
      });
      state.selectedEmail = null; // follow the newest email: the receipt is on its way
      followBooking(answer.body.bookingId);
      state.lastJson.bookings = undefined;
      refresh();
    } else {
      result.className = "result error";
      delete result.dataset.bookingId;
      result.textContent = `${answer.status}: ${message}`;
    }
  } catch (error) {
    result.className = "result error";
    result.textContent = `The console did not answer: ${error}`;
  } finally {
    $("book-button").disabled = false;
  }
  form.dataset.lastStatus = result.className;
}

// --- inbox -----------------------------------------------------------------------------

function renderInbox(emails) {
  const newestFirst = [...emails].reverse();
  $("inbox-count").textContent = `${emails.length}`;
  const selected =
    newestFirst.find((e) => e.id === state.selectedEmail) || newestFirst[0] || null;
  const items = newestFirst.slice(0, MAX_ROWS).map((e) =>
    el(
      "li",
      {
        class: (e === selected ? "selected " : "") + (e.error ? "failed" : ""),
        "data-email-id": e.id,
        "data-to": (e.to || []).join(","),
        onclick: () => {
          state.selectedEmail = e.id;
          renderInbox(emails);
        },
      },
      el("span", { class: "subject" }, e.error ? "(could not render)" : e.subject || "(no subject)"),
      el("span", { class: "meta" }, `${(e.to || []).join(", ")} · ${shortTime(e.timestamp)}`),
    ),
  );
  $("inbox").replaceChildren(...items);
  showEmail(selected);
}

function showEmail(email) {
  const key = email ? email.id : null;
  if (state.shownEmail === key) return;
  state.shownEmail = key;
  const head = $("email-head");
  const frame = $("email-frame");
  if (!email) {
    head.replaceChildren(el("p", { class: "hint" }, "No email yet: book a flight."));
    frame.srcdoc = "";
    return;
  }
  head.replaceChildren(
    el("p", { class: "subject", id: "email-subject" }, email.subject || "(no subject)"),
    el("p", { class: "meta" }, `From ${email.source} to ${(email.to || []).join(", ")}`),
    el("p", { class: "meta" }, `${email.timestamp}${email.template ? " · template " + email.template : ""}`),
    email.error ? el("p", { class: "error" }, email.error) : "",
  );
  if (email.html) {
    frame.srcdoc = email.html;
  } else {
    // Plain text goes in as text too: escaped by the DOM, then serialised.
    const pre = document.createElement("pre");
    pre.textContent = email.text || email.error || "";
    frame.srcdoc = `<meta charset="utf-8">${pre.outerHTML}`;
  }
}

// --- events and logs -------------------------------------------------------------------

function renderEvents(events) {
  const rows = [...events]
    .reverse() // newest first
    .slice(0, MAX_ROWS)
    .map((e) => {
      const detail = e.detail || {};
      const id = detail.bookingId || "";
      const type = e["detail-type"] || "";
      return el(
        "tr",
        { "data-detail-type": type, "data-booking-id": id, title: JSON.stringify(detail, null, 1) },
        el("td", {}, shortTime(e.time)),
        el("td", {}, e.source || ""),
        el("td", {}, type, detail.status ? el("small", {}, ` ${detail.status}`) : ""),
        el("td", { class: "mono" }, id ? el("a", { href: "#", onclick: (ev) => { ev.preventDefault(); followBooking(id); } }, id.slice(0, 8)) : ""),
      );
    });
  fill($("events").tBodies[0], rows);
  $("events-count").textContent = `${events.length}`;
}

function renderLogs(lines) {
  const pre = $("logs");
  const atBottom = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 20;
  pre.textContent = lines.length ? lines.map(logLine).join("\n") : "(no log lines yet)";
  if (atBottom) pre.scrollTop = pre.scrollHeight;
}

// A structured (JSON) line as "time LEVEL message key=value ..."; plain lines as they are.
function logLine(line) {
  if (typeof line === "string") return line;
  const time = shortTime(line.timestamp);
  const fields = line.fields;
  if (!fields) return `${time}  ${line.message}`;
  const { level, message, timestamp, logger, ...rest } = fields;
  const extra = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
  return [time, (level || "").padEnd(5), message || "", ...extra].join("  ");
}

function followBooking(id) {
  $("log-booking").value = id;
  state.lastJson.logs = undefined;
  refreshLogs();
}

function logsQuery() {
  const params = new URLSearchParams({ function: $("log-function").value });
  const booking = $("log-booking").value.trim();
  if (booking) params.set("booking", booking);
  return `/api/logs?${params}`;
}

// --- polling ---------------------------------------------------------------------------

function setStatus(ok, text) {
  const status = $("status");
  status.classList.toggle("ok", ok);
  status.classList.toggle("down", !ok);
  $("status-text").textContent = text;
}

function showBanner(message) {
  const banner = $("banner");
  banner.hidden = !message;
  banner.textContent = message || "";
}

async function loadInfo() {
  const { ok, body } = await api("/api/info");
  if (!ok) throw new Error(body.error || "no info");
  state.info = body;
  $("where").textContent = body.deployed
    ? `stack ${body.stack} · ${body.region} · sandbox ${body.endpoint}`
    : body.message;
  const select = $("log-function");
  if (body.functions && select.options.length !== body.functions.length) {
    const current = select.value || "registerBooking";
    select.replaceChildren(...body.functions.map((f) => el("option", { value: f }, f)));
    if (body.functions.includes(current)) select.value = current;
  }
  return body;
}

async function refreshLogs() {
  if (!$("log-function").value) return;
  const query = logsQuery();
  const { ok, body } = await api(query);
  if (query !== logsQuery()) return; // the filter changed while this was in flight
  if (ok && changed("logs", body.lines)) renderLogs(body.lines);
  if (!ok) renderLogs([`(${body.error})`]);
}

async function refresh() {
  try {
    const info = state.info && state.info.deployed ? state.info : await loadInfo();
    if (!info.deployed) {
      showBanner(info.message);
      setStatus(false, "app not deployed");
      return;
    }
    const views = {
      flights: ["/api/flights", "flights", renderFlights],
      bookings: ["/api/bookings", "bookings", renderBookings],
      inbox: ["/api/inbox", "emails", renderInbox],
      events: ["/api/events", "events", renderEvents],
    };
    const answers = await Promise.all(
      Object.values(views).map(([path]) => api(path)).concat([refreshLogs()]),
    );
    const errors = [];
    Object.entries(views).forEach(([key, [, field, render]], i) => {
      const { ok, body } = answers[i];
      if (!ok) errors.push(body.error);
      else if (changed(key, body[field])) render(body[field]);
    });
    showBanner(errors.length ? [...new Set(errors)].join(" · ") : "");
    setStatus(!errors.length, errors.length ? "sandbox unreachable" : `live · ${shortTime(Date.now())}`);
  } catch (error) {
    state.info = null;
    setStatus(false, "console unreachable");
    showBanner(`The console server does not answer (${error.message}). Is skybook still running?`);
  }
}

function schedule() {
  clearTimeout(state.timer);
  state.timer = setTimeout(async () => {
    if (!document.hidden) await refresh();
    schedule();
  }, POLL_MS);
}

document.addEventListener("DOMContentLoaded", () => {
  $("book-form").addEventListener("submit", book);
  $("log-function").addEventListener("change", () => { state.lastJson.logs = undefined; refreshLogs(); });
  $("log-booking").addEventListener("change", () => { state.lastJson.logs = undefined; refreshLogs(); });
  $("log-clear").addEventListener("click", () => followBooking(""));
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
  refresh().then(schedule);
});
