// The Switchboard operator console. Vanilla JavaScript, no build step, no
// network beyond the host's own admin API; the page is built with DOM APIs
// only (the Content-Security-Policy admits no inline script or style).
"use strict";

(function () {
  // Every 5 s; ?refresh=MS (at least 500) for a faster page (the tests).
  const asked = Number(new URLSearchParams(location.search).get("refresh"));
  const REFRESH_MS = asked >= 500 ? asked : 5000;
  const state = { plugins: [], actions: [], connections: [], failures: [], view: "plugins", focus: "" };
  const $ = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";

  // el builds an element: el("div", {class: "x", text: "y"}, child, …).
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "text") e.textContent = v;
      else if (k === "class") e.className = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }
  function svg(tag, attrs) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    return e;
  }
  function replace(node, ...children) {
    node.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  }
  function badge(text, kind) { return el("span", { class: "badge " + (kind || ""), text }); }
  function kv(pairs) {
    const dl = el("dl", { class: "kv" });
    for (const [k, v] of pairs) {
      if (v === undefined) continue;
      dl.append(el("dt", { text: k }), el("dd", {}, v));
    }
    return dl;
  }
  function fmtMs(ms) {
    if (!ms) return "0 ms";
    if (ms >= 1000) return (ms / 1000).toFixed(2) + " s";
    if (ms >= 10) return Math.round(ms) + " ms";
    return ms.toFixed(1) + " ms";
  }
  function pct(r) { return (r * 100).toFixed(r > 0 && r < 0.1 ? 1 : 0) + "%"; }
  function fmtTime(iso) {
    const d = new Date(iso);
    return isNaN(d) ? String(iso) : d.toLocaleTimeString([], { hour12: false });
  }
  function fmtSeconds(s) {
    if (s >= 3600) return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
    if (s >= 60) return Math.floor(s / 60) + " min " + (s % 60) + " s";
    return s + " s";
  }

  // api fetches one admin route; a failure throws with the host's message.
  async function api(path, opts) {
    const o = Object.assign({ credentials: "same-origin", headers: {} }, opts || {});
    if (o.body !== undefined) o.headers["Content-Type"] = "application/json";
    const r = await fetch(path, o);
    const text = await r.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch (e) { body = { message: text }; }
    if (!r.ok) {
      const err = new Error((body && body.message) || r.status + " " + r.statusText);
      err.status = r.status;
      err.body = body;
      throw err;
    }
    return body;
  }

  // ---------- navigation ----------
  function show(view) {
    const parts = (view || "plugins").split("/");
    state.view = ["plugins", "actions", "connections", "failures", "try"].includes(parts[0]) ? parts[0] : "plugins";
    state.focus = parts.slice(1).join("/");
    for (const s of document.querySelectorAll(".view")) s.hidden = s.id !== "view-" + state.view;
    for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.view === state.view);
    if (state.view === "actions" && state.focus) {
      const target = document.getElementById("action-" + state.focus);
      if (target) target.scrollIntoView({ block: "start" });
    }
    if (state.view === "try" && state.focus) selectTry(state.focus);
  }
  window.addEventListener("hashchange", () => show(location.hash.slice(1)));

  // ---------- plugins ----------
  function stateKind(s) {
    return { serving: "ok", starting: "info", restarting: "warn", failed: "bad", refused: "bad" }[s] || "";
  }
  const reloadNotes = {};
  function renderPlugins() {
    const root = $("plugins");
    if (!state.plugins.length) { replace(root, el("div", { class: "empty", text: "No plugins are loaded." })); return; }
    replace(root, state.plugins.map((p) => {
      const button = el("button", { type: "button", class: "reload", "data-plugin": p.name, text: "Reload" });
      const note = el("span", { class: "muted reload-note", text: reloadNotes[p.name] || "" });
      button.addEventListener("click", async () => {
        button.disabled = true;
        note.textContent = "restarting…";
        try {
          await api("/admin/plugins/" + encodeURIComponent(p.name) + "/reload", { method: "POST", body: "{}" });
          reloadNotes[p.name] = note.textContent = "restarted at " + new Date().toLocaleTimeString([], { hour12: false });
          await refresh();
        } catch (e) {
          note.textContent = "";
          showError("Reload of " + p.name + " failed: " + e.message);
        } finally {
          button.disabled = false;
        }
      });
      const sb = p.sandbox;
      const sandbox = sb ? el("span", {}, badge(sb.mode, sb.missing && sb.missing.length ? "warn" : "ok"), " ",
        el("span", { class: "muted", text: (sb.applied || []).join(", ") + (sb.missing && sb.missing.length ? "; missing: " + sb.missing.join(", ") : "") })) : el("span", { class: "muted", text: "no process" });
      const pids = (p.pids && p.pids.length > 1 ? p.pids : [p.pid]).filter((x) => x).join(", ") || "—";
      return el("div", { class: "card plugin", "data-plugin": p.name },
        el("div", { class: "card-head" },
          el("span", { class: "name", text: p.name }),
          badge(p.state, stateKind(p.state)),
          el("span", { class: "spacer" }), note, button),
        kv([
          ["Version", p.version || "—"],
          ["SHA-256", el("span", { class: "mono", title: p.sha256, text: p.sha256 ? p.sha256.slice(0, 16) + "…" : "—" })],
          ["Pin", p.pinned ? badge("pinned", "ok") : badge("not pinned", "warn")],
          ["PID", el("span", { class: "mono pid", text: pids })],
          ["Restarts", String(p.restarts)],
          ["Sandbox", sandbox],
          ["Actions", (p.actions || []).length ? el("span", {}, (p.actions || []).map((a, i) => [i ? ", " : "", el("a", { href: "#actions/" + a, text: a })])) : "—"],
          ["Last error", p.error ? el("span", { class: "err-text", text: p.error }) : el("span", { class: "muted", text: "none" })],
        ]));
    }));
  }

  // ---------- charts ----------
  // chart draws one series as an inline SVG: a line (and an area), scaled
  // to its maximum; a second series (p99 over p50) as a dashed line.
  function chart(label, value, points, second, fixedMax) {
    const w = 240, h = 48, pad = 2;
    const all = points.concat(second || []);
    const maxV = fixedMax || Math.max(1e-9, ...all);
    const x = (i) => pad + (i * (w - 2 * pad)) / Math.max(1, points.length - 1);
    const y = (v) => h - pad - (Math.min(v, maxV) / maxV) * (h - 2 * pad);
    const path = (ps) => ps.map((v, i) => (i ? "L" : "M") + x(i).toFixed(1) + " " + y(v).toFixed(1)).join(" ");
    const s = svg("svg", { viewBox: `0 0 ${w} ${h}`, preserveAspectRatio: "none", role: "img", "aria-label": label });
    s.append(svg("line", { class: "axis", x1: 0, y1: h - pad, x2: w, y2: h - pad }));
    const nonZero = points.filter((v) => v > 0).length;
    s.append(svg("path", { class: "area", d: path(points) + ` L${x(points.length - 1).toFixed(1)} ${h - pad} L${x(0).toFixed(1)} ${h - pad} Z` }));
    s.append(svg("path", { class: "line", d: path(points), "data-points": nonZero }));
    if (second) s.append(svg("path", { class: "line2", d: path(second) }));
    return el("div", { class: "chart" },
      el("div", { class: "label" }, el("span", { text: label }), all.some((v) => v > 0) ? el("span", { text: "max " + (fixedMax ? pct(fixedMax) : fmtMaybe(label, maxV)) }) : null),
      el("div", { class: "value", text: value }), s);
  }
  function fmtMaybe(label, v) { return label.startsWith("p50") ? fmtMs(v) : v < 10 ? v.toFixed(2) : Math.round(v); }

  // ---------- actions ----------
  const openSchemas = new Set();
  function renderActions() {
    const root = $("actions");
    if (!state.actions.length) { replace(root, el("div", { class: "empty", text: "No actions are served." })); return; }
    replace(root, state.actions.map((a) => {
      const st = a.stats || { series: [] };
      const series = st.series || [];
      const bucket = st.bucketSeconds || 10;
      const rate = series.map((p) => p.requests / bucket);
      const errRatio = series.map((p) => (p.requests ? p.errors / p.requests : 0));
      const p50 = series.map((p) => p.p50Ms), p99 = series.map((p) => p.p99Ms);
      const hit = series.map((p) => (p.cacheLookups ? p.cacheHits / p.cacheLookups : 0));
      const window = (st.windowSeconds || 900) / 60;
      const reqRate = st.requests / (st.windowSeconds || 900);
      const schema = (name, doc) => {
        const key = a.name + "/" + name;
        const d = el("details", { "data-key": key, open: openSchemas.has(key) },
          el("summary", { text: name + " schema" }), el("pre", { class: "code", text: JSON.stringify(doc, null, 2) }));
        d.addEventListener("toggle", () => (d.open ? openSchemas.add(key) : openSchemas.delete(key)));
        return d;
      };
      const c = a.cache;
      return el("div", { class: "panel action", id: "action-" + a.name, "data-action": a.name, "data-plugin": a.plugin },
        el("div", { class: "action-head" },
          el("span", { class: "name", text: a.name }),
          a.version ? badge("v" + a.version, "info") : null,
          badge("errors = " + a.errors, a.errors === "data" ? "warn" : ""),
          c ? badge("cached", "ok") : null,
          a.secure ? badge("secure", "info") : null,
          el("span", { class: "muted", text: a.description || "" }),
          el("span", { class: "spacer" }),
          el("a", { href: "#try/" + a.name, text: "Try it →" })),
        el("div", { class: "action-body" },
          el("div", {},
            kv([
              ["Plugin", a.plugin],
              ["Budget", fmtMs(a.timeoutMs)],
              ["Connections", a.connections && a.connections.length ? a.connections.join(", ") : "none"],
              ["Cache", c ? `ttl ${c.ttlSeconds} s, stale-while-revalidate ${c.staleWhileRevalidateSeconds} s, stale-if-error ${c.staleIfErrorSeconds} s, key ${c.key.length ? c.key.join(", ") : "whole input"}` : "none"],
              [`Last ${window} min`, `${st.requests} request${st.requests === 1 ? "" : "s"}, ${st.errors} error${st.errors === 1 ? "" : "s"}`],
            ]),
            schema("Input", a.inputSchema), schema("Output", a.outputSchema)),
          el("div", { class: "charts" },
            chart("Requests / s", reqRate.toFixed(reqRate < 10 ? 2 : 0) + " /s", rate),
            chart("Error ratio", pct(st.errorRatio || 0), errRatio, null, 1),
            chart("p50 / p99 latency", fmtMs(st.p50Ms) + " / " + fmtMs(st.p99Ms), p50, p99),
            chart("Cache hit ratio", st.cacheLookups ? pct(st.cacheHitRatio) : "not cached", hit, null, 1))));
    }));
  }

  function filterActions() {
    const q = $("action-filter").value.trim().toLowerCase();
    for (const a of document.querySelectorAll("#actions .action")) {
      a.hidden = q !== "" && !a.dataset.action.toLowerCase().includes(q) && !a.dataset.plugin.toLowerCase().includes(q);
    }
  }
  $("action-filter").addEventListener("input", filterActions);

  // ---------- connections ----------
  function renderConnections() {
    const root = $("connections");
    if (!state.connections.length) { replace(root, el("div", { class: "empty", text: "No connections are configured." })); return; }
    const circuit = { closed: "ok", half_open: "warn", open: "bad" };
    replace(root, el("table", { id: "connections-table" },
      el("thead", {}, el("tr", {}, ["Connection", "Base URL", "Auth", "Circuit", "Token", "Rate limit", "Recent statuses"].map((t) => el("th", { text: t })))),
      el("tbody", {}, state.connections.map((c) => {
        const tok = c.token;
        const token = !tok ? el("span", { class: "muted", text: "—" })
          : tok.state === "valid" ? el("span", {}, badge("valid", "ok"), " expires in " + fmtSeconds(tok.expiresInSeconds))
            : badge(tok.state, tok.state === "expired" ? "bad" : "");
        const rl = c.rateLimit;
        const rate = rl ? `${rl.requestsPerMinute}/min, burst ${rl.burst}` + (rl.shared && !rl.local ? " (shared across replicas)" : ` (${Math.round(rl.used)} of burst used)`) + (rl.local ? ", local share" : "") : "none";
        const recent = (c.recentStatuses || []).map((s) => el("span", {
          class: "badge " + (s.status >= 200 && s.status < 400 ? "ok" : s.status === 0 || s.status >= 500 ? "bad" : "warn"),
          title: fmtTime(s.at), text: s.status || "none",
        }));
        return el("tr", { "data-connection": c.name },
          el("td", {}, el("strong", { text: c.name })),
          el("td", { class: "mono", text: c.baseUrl }),
          el("td", { text: c.auth }),
          el("td", {}, badge(c.circuit.replace("_", "-"), circuit[c.circuit])),
          el("td", {}, token),
          el("td", { text: rate }),
          el("td", {}, recent.length ? el("div", { class: "statuses" }, recent) : el("span", { class: "muted", text: "no calls yet" })));
      }))));
  }

  // ---------- failures ----------
  function renderFailures() {
    const root = $("failures");
    const count = $("failure-count");
    count.hidden = !state.failures.length;
    count.textContent = state.failures.length;
    if (!state.failures.length) { replace(root, el("div", { class: "empty", text: "No failed requests." })); return; }
    replace(root, el("table", { id: "failures-table" },
      el("thead", {}, el("tr", {}, ["Time", "Request id", "Action", "Status", "Code", "Stage"].map((t) => el("th", { text: t })))),
      el("tbody", {}, state.failures.map((f) => el("tr", {},
        el("td", { text: fmtTime(f.at), title: f.at }),
        el("td", { class: "mono", text: f.requestId }),
        el("td", {}, f.action ? el("a", { href: "#actions/" + f.action, text: f.action }) : el("span", { class: "muted", text: "—" }),
          f.console ? [" ", badge("console test", "info")] : null),
        el("td", {}, badge(String(f.status), f.status >= 500 ? "bad" : "warn")),
        el("td", { class: "mono", text: f.code }),
        el("td", { text: f.stage }))))));
  }

  // ---------- try ----------
  // example builds an input from a JSON Schema: examples, default, const,
  // enum, then the type.
  function example(s, depth) {
    if (!s || typeof s !== "object" || depth > 6) return {};
    if (Array.isArray(s.examples) && s.examples.length) return s.examples[0];
    if (s.example !== undefined) return s.example;
    if (s.default !== undefined) return s.default;
    if (s.const !== undefined) return s.const;
    if (Array.isArray(s.enum) && s.enum.length) return s.enum[0];
    for (const k of ["oneOf", "anyOf"]) if (Array.isArray(s[k]) && s[k].length) return example(s[k][0], depth + 1);
    if (Array.isArray(s.allOf)) return Object.assign({}, ...s.allOf.map((x) => example(x, depth + 1)));
    let type = Array.isArray(s.type) ? s.type.find((t) => t !== "null") || s.type[0] : s.type;
    if (!type) type = s.properties ? "object" : s.items ? "array" : "string";
    switch (type) {
      case "object": {
        const o = {};
        for (const [k, v] of Object.entries(s.properties || {})) o[k] = example(v, depth + 1);
        return o;
      }
      case "array": return s.items ? [example(s.items, depth + 1)] : [];
      case "integer": return s.minimum !== undefined ? Math.ceil(s.minimum) : 1;
      case "number": return s.minimum !== undefined ? s.minimum : 1;
      case "boolean": return true;
      case "null": return null;
      default: {
        const formats = { email: "agent@example.com", uuid: "00000000-0000-4000-8000-000000000000", "date-time": new Date().toISOString(), date: new Date().toISOString().slice(0, 10), uri: "urn:example:resource" };
        let v = formats[s.format] || (s.description ? s.description.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 24) : "text") || "text";
        if (s.maxLength !== undefined) v = v.slice(0, s.maxLength);
        while (s.minLength !== undefined && v.length < s.minLength) v += "x";
        return v;
      }
    }
  }
  function fillTry(name) {
    const a = state.actions.find((x) => x.name === name);
    $("try-body").value = JSON.stringify(a ? example(a.inputSchema, 0) : {}, null, 2);
    replace($("try-stages"), el("span", { class: "muted", text: "Run the action to see its stages." }));
    replace($("try-status"));
    $("try-answer").textContent = "";
    $("try-note").textContent = "";
  }
  function selectTry(name) {
    const sel = $("try-action");
    if (![...sel.options].some((o) => o.value === name)) return;
    if (sel.value !== name) { sel.value = name; fillTry(name); }
  }
  function renderTryActions() {
    const sel = $("try-action");
    const names = state.actions.map((a) => a.name);
    const have = [...sel.options].map((o) => o.value);
    if (names.join("\n") === have.join("\n")) return;
    const keep = sel.value;
    replace(sel, names.map((n) => el("option", { value: n, text: n })));
    if (names.includes(keep)) sel.value = keep;
    else if (names.length) { sel.value = names[0]; fillTry(names[0]); }
  }
  async function runTry() {
    const name = $("try-action").value;
    const note = $("try-note");
    let input;
    try { input = JSON.parse($("try-body").value); } catch (e) { note.textContent = "The input is not JSON: " + e.message; return; }
    const button = $("try-run");
    button.disabled = true;
    note.textContent = "running…";
    try {
      const r = await api("/admin/actions/" + encodeURIComponent(name) + "/try", { method: "POST", body: JSON.stringify({ input }) });
      const longest = Math.max(0.001, ...r.stages.map((s) => s.durationMs));
      replace($("try-stages"), el("table", { class: "stages", id: "try-stage-table" },
        el("thead", {}, el("tr", {}, ["Stage", "", "Time", "Result"].map((t) => el("th", { text: t })))),
        el("tbody", {}, r.stages.map((s) => {
          const bar = el("div", { class: "bar" });
          bar.style.width = Math.max(2, (s.durationMs / longest) * 100) + "%"; // CSSOM, which the CSP allows
          return el("tr", { "data-stage": s.name },
            el("td", { text: s.name }),
            el("td", { class: "barcell" }, bar),
            el("td", { class: "ms", text: fmtMs(s.durationMs) }),
            el("td", {}, s.error ? el("span", { class: "err-text", text: s.error }) : badge("ok", "ok"), s.detail ? el("div", { class: "mono muted", text: s.detail }) : null));
        }),
        el("tr", {}, el("td", {}, el("strong", { text: "total" })), el("td"), el("td", { class: "ms", text: fmtMs(r.totalMs) }), el("td")))));
      replace($("try-status"), badge(r.status + " " + r.code, r.status >= 400 || r.code !== "ok" ? "bad" : "ok"), " ", el("span", { class: "muted mono", text: "request " + r.requestId }));
      $("try-answer").textContent = JSON.stringify(r.body, null, 2);
      note.textContent = "";
    } catch (e) {
      note.textContent = "";
      showError("The test run failed: " + e.message);
    } finally {
      button.disabled = false;
    }
  }
  $("try-action").addEventListener("change", (e) => fillTry(e.target.value));
  $("try-reset").addEventListener("click", () => fillTry($("try-action").value));
  $("try-run").addEventListener("click", runTry);

  // ---------- refresh ----------
  function showError(msg) {
    const b = $("error");
    b.textContent = msg;
    b.hidden = !msg;
  }
  const drawn = {};
  function changed(key, data, render) {
    const j = JSON.stringify(data);
    if (drawn[key] === j) return;
    drawn[key] = j;
    render();
  }
  let refreshing = false;
  async function refresh() {
    if (refreshing) return;
    refreshing = true;
    try {
      const [plugins, actions, connections, failures] = await Promise.all([
        api("/admin/plugins"), api("/admin/actions"), api("/admin/connections"), api("/admin/failures"),
      ]);
      state.plugins = plugins || [];
      state.actions = (actions && actions.actions) || [];
      state.connections = (connections && connections.connections) || [];
      state.failures = (failures && failures.failures) || [];
      // Only what changed is drawn again, so that a click, a selection or
      // an open schema is not lost to a refresh.
      changed("plugins", state.plugins, renderPlugins);
      changed("actions", state.actions, () => { renderActions(); filterActions(); });
      changed("connections", state.connections, renderConnections);
      changed("failures", state.failures, renderFailures);
      renderTryActions();
      $("live").className = "dot on";
      $("updated").textContent = "updated " + new Date().toLocaleTimeString([], { hour12: false });
      document.body.dataset.loaded = "true";
      if ($("error").textContent.startsWith("The host")) showError("");
    } catch (e) {
      $("live").className = "dot off";
      $("updated").textContent = "not reachable";
      showError("The host did not answer: " + e.message);
    } finally {
      refreshing = false;
    }
  }

  show(location.hash.slice(1));
  refresh().then(() => show(location.hash.slice(1)));
  setInterval(refresh, REFRESH_MS);
})();
