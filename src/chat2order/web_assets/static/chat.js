// chat2order web chat: talks to the JSON API with the token kept in localStorage, shows the thread with
// one supplier and the open orders as cards, and refreshes when the live WebSocket says something changed
// (polling every few seconds when the socket is down). All text goes in with textContent, never as HTML.
"use strict";

(function () {
  const TOKEN_KEY = "chat2order.token";
  const SUPPLIER_KEY = "chat2order.supplier";
  const POLL_MS = 5000;  // while the live socket is down
  const SAFETY_POLL_MS = 30000;  // while it is up: a missed event still shows within half a minute

  const $ = (id) => document.getElementById(id);
  const state = { token: localStorage.getItem(TOKEN_KEY) || "", me: null, supplier: null, socket: null,
                  liveOk: false, pollTimer: null, refreshTimer: null, retryMs: 1000, pending: [] };

  // ---- API ---------------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.message) || ("HTTP " + status));
      this.status = status;
      this.body = body;
    }
  }

  async function api(method, path, body) {
    const headers = { "Authorization": "Bearer " + state.token, "Accept": "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (res.status === 401) { signOut("Your token is not valid any more."); throw new ApiError(401, data); }
    if (!res.ok) throw new ApiError(res.status, data);
    return data;
  }

  // ---- formatting --------------------------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function money(amount, currency) {
    if (amount === null || amount === undefined) return "—";
    try {
      return new Intl.NumberFormat(undefined, { style: "currency", currency: currency || "USD" }).format(Number(amount));
    } catch (e) {
      return Number(amount).toFixed(2) + " " + (currency || "");
    }
  }

  function qtyText(q) {
    if (q === null || q === undefined) return "?";
    const n = Number(q);
    return Number.isInteger(n) ? String(n) : String(Number(n.toFixed(3)));
  }

  function when(iso) {
    const d = new Date(iso);
    const today = new Date();
    const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    return d.toDateString() === today.toDateString() ? time : d.toLocaleDateString([], { month: "short", day: "numeric" }) + " " + time;
  }

  function dayText(isoDate) {
    if (!isoDate) return "";
    const d = new Date(isoDate + "T12:00:00");
    return d.toLocaleDateString([], { weekday: "short", month: "short", day: "numeric" });
  }

  const STATUS_TEXT = { draft: "Draft", awaiting_chef: "Awaiting your confirmation", confirmed: "Confirmed",
                        dispatched: "Sent to supplier", cancelled: "Cancelled" };

  function setStatus(text, isError) {
    const node = $("status");
    node.textContent = text || "";
    node.classList.toggle("error", !!isError);
  }

  // ---- rendering ---------------------------------------------------------------------------------------

  function renderThread(conv) {
    const thread = $("thread");
    const keepBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 80;
    const orders = new Map(conv.orders.map((o) => [o.id, o]));
    // Each order's card goes after the latest message about it, so it reads as the current state.
    const lastMention = new Map();
    conv.messages.forEach((m, i) => { if (m.order_id && orders.has(m.order_id)) lastMention.set(m.order_id, i); });
    const nodes = [];
    conv.messages.forEach((m, i) => {
      nodes.push(messageNode(m));
      for (const [orderId, at] of lastMention) if (at === i) nodes.push(orderCard(orders.get(orderId)));
    });
    for (const o of conv.orders) if (!lastMention.has(o.id)) nodes.push(orderCard(o));
    for (const p of state.pending) {
      if (!conv.messages.some((m) => m.direction === "in" && m.text === p.text)) nodes.push(messageNode(p, true));
    }
    const empty = $("empty");
    thread.replaceChildren(empty, ...nodes);
    empty.hidden = nodes.length > 0;
    if (keepBottom) window.scrollTo(0, document.body.scrollHeight);
  }

  function messageNode(m, pending) {
    const meta = pending ? "sending…" : [when(m.at), m.channel !== "chat" ? "via " + m.channel : ""].filter(Boolean).join(" · ");
    return el("div", { class: "msg " + m.direction + (pending ? " pending" : ""), "data-key": m.key || "" },
      el("div", { class: "bubble" }, m.text),
      el("div", { class: "meta" }, meta));
  }

  function orderCard(order) {
    const editable = order.status === "draft" || order.status === "awaiting_chef";
    const head = el("div", { class: "order-head" },
      el("div", null,
        el("div", { class: "order-title" }, "Order #" + order.id + " · " + order.supplier.name),
        el("div", { class: "order-sub" },
          order.delivery_date ? "Delivery " + dayText(order.delivery_date) : "Delivery date to confirm")),
      el("span", { class: "badge " + order.status }, STATUS_TEXT[order.status] || order.status));

    const rows = order.lines.map((line) => lineRow(order, line, editable));
    const table = el("table", { class: "lines" },
      el("thead", null, el("tr", null,
        el("th", null, "Qty"), el("th", null, "Product"), el("th", { class: "hide-sm" }, "Pack"),
        el("th", { class: "num hide-sm" }, "Price"), el("th", { class: "num" }, "Total"))),
      el("tbody", null, rows));

    const blocking = order.lines.some((l) => l.needs_review && (l.candidates.length > 1 || l.quantity === null || !l.sku));
    const actions = editable ? el("div", { class: "actions" },
      el("button", { type: "button", class: "secondary danger", "data-action": "cancel",
                     onclick: () => act(order, "cancel") }, "Cancel"),
      el("button", { type: "button", class: "primary", "data-action": "confirm", disabled: blocking,
                     title: blocking ? "Answer the highlighted lines first" : null,
                     onclick: () => act(order, "confirm") }, "Confirm order")) : null;

    const foot = el("div", { class: "order-foot" },
      el("div", { class: "total", "data-total": order.total },
        "Total " + money(order.total, order.currency),
        order.total_complete ? null : el("small", null, "Some lines are priced by the supplier on delivery")),
      actions);

    return el("article", { class: "card order", "data-order-id": order.id, "data-status": order.status }, head, table, foot);
  }

  function lineRow(order, line, editable) {
    const product = el("td", null,
      el("div", { class: "product" }, line.name || line.text),
      line.sku ? el("div", { class: "sku" }, line.sku) : null,
      line.name ? el("div", { class: "said" }, "“" + line.text + "”") : null);
    if (line.not_carried) product.append(el("div", { class: "said" }, "Not carried by this supplier"));
    if (line.needs_review && editable) {
      const question = line.candidates.length > 1 ? "Which one did you mean?"
        : line.quantity === null ? "How many?" : "Is this right?";
      product.append(el("div", { class: "question" }, question));
      if (line.candidates.length) {
        product.append(el("div", { class: "choices" }, line.candidates.map((c) =>
          el("button", { type: "button", class: "choice", "data-sku": c.sku,
                         onclick: () => editLine(order, line, { sku: c.sku }) },
            c.name + (c.pack ? " · " + c.pack : "") + (c.price ? " · " + money(c.price, order.currency) : "")))));
      }
    }
    const unit = line.unit ? " " + line.unit : "";
    const qtyCell = el("td", { class: "num" });
    if (editable && !line.not_carried) {
      const input = el("input", { type: "number", min: "0", step: "any", value: line.quantity === null ? "" : qtyText(line.quantity),
                                  "aria-label": "Quantity of " + (line.name || line.text), "data-line-id": line.id });
      const save = () => {
        const value = input.value.trim();
        if (value && Number(value) > 0 && value !== qtyText(line.quantity)) editLine(order, line, { quantity: value });
      };
      input.addEventListener("change", save);
      input.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); save(); } });
      qtyCell.append(el("span", { class: "qty" }, input, el("span", null, unit)));
    } else {
      qtyCell.append(qtyText(line.quantity) + unit);
    }
    const rowClass = line.not_carried ? "not-carried" : (line.needs_review ? "flagged" : "");
    return el("tr", { class: rowClass, "data-line-id": line.id }, qtyCell, product,
      el("td", { class: "hide-sm" }, line.pack || ""),
      el("td", { class: "num hide-sm" }, line.unit_price === null ? "—" : money(line.unit_price, order.currency)),
      el("td", { class: "num" }, line.line_total === null ? "—" : money(line.line_total, order.currency)));
  }

  // ---- actions -----------------------------------------------------------------------------------------

  async function act(order, action) {
    if (action === "cancel" && !window.confirm("Cancel order #" + order.id + "?")) return;
    try {
      await api("POST", "/api/orders/" + order.id + "/" + action);
      setStatus(action === "confirm" ? "Order #" + order.id + " confirmed. The supplier gets it now." : "Order #" + order.id + " cancelled.");
    } catch (e) {
      setStatus(e.message, true);
    }
    refresh();
  }

  async function editLine(order, line, change) {
    try {
      await api("PATCH", "/api/orders/" + order.id + "/lines/" + line.id, change);
      setStatus("");
    } catch (e) {
      setStatus(e.message, true);
    }
    refresh();
  }

  async function send(event) {
    event.preventDefault();
    const box = $("message");
    const text = box.value.trim();
    if (!text || !state.supplier) return;
    const clientId = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2));
    const pending = { key: "pending-" + clientId, direction: "in", text, at: new Date().toISOString(), channel: "chat" };
    state.pending.push(pending);
    box.value = "";
    $("send").disabled = true;
    refreshSoon(0);
    // Retrying with the same client id is safe: the server stores the message once.
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await api("POST", "/api/messages", { client_id: clientId, supplier: state.supplier, text });
        setStatus("");
        break;
      } catch (e) {
        if (e.status && e.status < 500 && e.status !== 429) { setStatus(e.message, true); break; }
        setStatus("Connection problem, retrying…", true);
        await new Promise((r) => setTimeout(r, 1000 * (attempt + 1)));
      }
    }
    $("send").disabled = false;
    box.focus();
    await refresh();
    state.pending = state.pending.filter((p) => p !== pending);
  }

  // ---- loading and live updates ------------------------------------------------------------------------

  async function refresh() {
    if (!state.supplier) return;
    try {
      const conv = await api("GET", "/api/conversations/" + encodeURIComponent(state.supplier));
      renderThread(conv);
    } catch (e) {
      if (e.status !== 401) setStatus("Could not load the conversation: " + e.message, true);
    }
  }

  function refreshSoon(ms) {
    clearTimeout(state.refreshTimer);
    state.refreshTimer = setTimeout(refresh, ms === undefined ? 150 : ms);
  }

  function setLive(on) {
    state.liveOk = on;
    const badge = $("live");
    badge.textContent = on ? "live" : "polling";
    badge.classList.toggle("on", on);
    clearInterval(state.pollTimer);
    state.pollTimer = setInterval(refresh, on ? SAFETY_POLL_MS : POLL_MS);
  }

  function connectLive() {
    if (!("WebSocket" in window) || !state.token) { setLive(false); return; }
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/live";
    let socket;
    try { socket = new WebSocket(url); } catch (e) { setLive(false); return; }
    state.socket = socket;
    socket.onopen = () => socket.send(JSON.stringify({ token: state.token }));
    socket.onmessage = (msg) => {
      let data = {};
      try { data = JSON.parse(msg.data); } catch (e) { return; }
      if (data.type === "ready") { state.retryMs = 1000; setLive(true); refreshSoon(0); }
      else if (data.type === "inbound" || data.type === "outbound" || data.type === "order") refreshSoon();
    };
    socket.onclose = () => {
      if (state.socket !== socket) return;
      setLive(false);
      if (!state.token) return;
      setTimeout(connectLive, state.retryMs);
      state.retryMs = Math.min(state.retryMs * 2, 30000);
    };
  }

  function fillSuppliers() {
    const select = $("supplier");
    const remembered = localStorage.getItem(SUPPLIER_KEY);
    select.replaceChildren(...state.me.suppliers.map((sup) => el("option", { value: sup.slug }, sup.name)));
    const slugs = state.me.suppliers.map((sup) => sup.slug);
    state.supplier = slugs.includes(remembered) ? remembered : (slugs[0] || null);
    if (state.supplier) select.value = state.supplier;
  }

  async function start() {
    try {
      state.me = await api("GET", "/api/me");
    } catch (e) {
      if (e.status !== 401) showSignin("Could not reach chat2order: " + e.message);
      return;
    }
    if (state.me.kind !== "contact") { signOut("This page is for restaurant contacts; supplier tokens use the API."); return; }
    $("signin").hidden = true;
    $("who").hidden = false;
    $("chat").hidden = false;
    $("who-name").textContent = state.me.name + (state.me.restaurant ? " · " + state.me.restaurant.name : "");
    fillSuppliers();
    if (!state.supplier) setStatus("Your restaurant has no supplier on chat2order yet.", true);
    await refresh();
    connectLive();
    $("message").focus();
  }

  function showSignin(message) {
    $("signin").hidden = false;
    $("who").hidden = true;
    $("chat").hidden = true;
    const err = $("signin-error");
    err.textContent = message || "";
    err.hidden = !message;
  }

  function signOut(message) {
    localStorage.removeItem(TOKEN_KEY);
    state.token = "";
    const socket = state.socket;
    state.socket = null;
    if (socket) socket.close();
    clearInterval(state.pollTimer);
    showSignin(message);
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("signin-form").addEventListener("submit", (e) => {
      e.preventDefault();
      state.token = $("token").value.trim();
      localStorage.setItem(TOKEN_KEY, state.token);
      start();
    });
    $("signout").addEventListener("click", () => signOut(""));
    $("supplier").addEventListener("change", (e) => {
      state.supplier = e.target.value;
      localStorage.setItem(SUPPLIER_KEY, state.supplier);
      refresh();
    });
    $("composer").addEventListener("submit", send);
    $("message").addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("composer").requestSubmit(); }
    });
    if (state.token) start(); else showSignin("");
  });
})();
