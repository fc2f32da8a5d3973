/// The web inspector's page: HTML, CSS and plain JavaScript, served from the binary. No build
/// step and no requests anywhere but this server (the Content-Security-Policy forbids them).
enum InspectorPage {
    static let html = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <title>basetap inspector</title>
    <link rel="stylesheet" href="/app.css">
    <script src="/app.js" defer></script>
    </head>
    <body>
    <header>
      <strong>basetap</strong>
      <span id="mode"></span>
      <label class="grow">filter <input id="filter" spellcheck="false" placeholder="dir:c2s type:chat.* /payload/n > 5 rule:id.* severity:error"></label>
      <span id="filter-error" role="alert"></span>
      <button id="pause" class="live-only" title="pause the live tail (p)">pause</button>
      <a id="export" href="/api/capture" download="basetap-capture.jsonl">export</a>
      <button id="theme" title="light or dark">theme</button>
    </header>
    <section id="control" class="live-only">
      <label>hold <input id="hold-filter" spellcheck="false" placeholder="a filter: matching messages wait here"></label>
      <button id="hold-apply">arm</button>
      <span id="hold-error" role="alert"></span>
      <div id="held"></div>
    </section>
    <main>
      <nav id="connections" aria-label="connections"></nav>
      <section id="timeline-pane">
        <div id="timeline-head" class="row head"><span>seq</span><span>conn</span><span>dir</span><span>time</span><span>kind</span><span>type</span><span>id</span><span>size</span><span>!</span></div>
        <div id="timeline" tabindex="0"><div id="spacer"><div id="rows"></div></div></div>
      </section>
      <section id="detail" aria-live="polite"><p class="hint">Open a message: click it, or use ↑ ↓ in the timeline.</p></section>
    </main>
    <section id="compose" class="live-only">
      <label>inject into <select id="compose-conn"></select></label>
      <select id="compose-dir"><option value="c2s">toward the server</option><option value="s2c">toward the client</option></select>
      <textarea id="compose-text" spellcheck="false">{"id":"basetap-1","type":"","payload":{}}</textarea>
      <button id="compose-send">send</button>
      <span id="compose-result"></span>
    </section>
    </body>
    </html>
    """#

    static let style = #"""
    :root { --bg:#fff; --fg:#1d1d1f; --dim:#6e6e73; --line:#e3e3e8; --sel:#dbe9ff; --err:#c62828; --warn:#a86b00; --c2s:#0a58ca; --s2c:#1b7f3b; }
    body.dark { --bg:#17181a; --fg:#e6e6e6; --dim:#9a9a9f; --line:#2c2d31; --sel:#23406b; --err:#ff6b6b; --warn:#f0b429; --c2s:#74a7ff; --s2c:#6bd38b; }
    * { box-sizing: border-box; }
    body { margin:0; font:13px/1.4 system-ui, sans-serif; background:var(--bg); color:var(--fg); display:flex; flex-direction:column; height:100vh; }
    header, #control, #compose { display:flex; gap:8px; align-items:center; padding:6px 10px; border-bottom:1px solid var(--line); flex-wrap:wrap; }
    header .grow { flex:1; display:flex; gap:6px; align-items:center; }
    input, textarea, select, button { font:inherit; color:var(--fg); background:var(--bg); border:1px solid var(--line); border-radius:4px; padding:3px 6px; }
    header input { flex:1; font-family:ui-monospace, monospace; }
    #hold-filter { width:28em; font-family:ui-monospace, monospace; }
    [role=alert] { color:var(--err); font-family:ui-monospace, monospace; white-space:pre; }
    main { flex:1; display:grid; grid-template-columns:16em 1fr 34em; min-height:0; }
    nav { border-right:1px solid var(--line); overflow:auto; }
    nav .conn { padding:6px 10px; border-bottom:1px solid var(--line); cursor:pointer; }
    nav .conn.selected { background:var(--sel); }
    nav .conn small { color:var(--dim); display:block; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
    #timeline-pane { display:flex; flex-direction:column; min-height:0; border-right:1px solid var(--line); }
    #timeline { flex:1; overflow:auto; position:relative; outline:none; }
    #spacer { position:relative; }
    .row { display:grid; grid-template-columns:4em 3.5em 4.5em 8.5em 4em 1fr 7em 4.5em 3em; gap:4px; height:22px; align-items:center; padding:0 8px; white-space:nowrap; font-family:ui-monospace, monospace; font-size:12px; }
    .row span { overflow:hidden; text-overflow:ellipsis; }
    .row.head { color:var(--dim); border-bottom:1px solid var(--line); font-family:inherit; }
    #rows .row { cursor:pointer; }
    #rows .row.selected { background:var(--sel); }
    .c2s { color:var(--c2s); } .s2c { color:var(--s2c); }
    .badge { border-radius:8px; padding:0 5px; font-size:11px; color:#fff; }
    .badge.error { background:var(--err); } .badge.warning { background:var(--warn); }
    .mark { font-size:11px; color:var(--dim); }
    #detail { overflow:auto; padding:8px 12px; }
    #detail h3 { margin:4px 0 8px; font-size:14px; }
    pre.json { font:12px/1.5 ui-monospace, monospace; white-space:pre-wrap; word-break:break-all; margin:0; }
    .json .key { color:var(--c2s); } .json .str { color:var(--s2c); } .json .num { color:var(--warn); }
    .json .flagged { outline:2px solid var(--err); border-radius:2px; }
    .json .flagged.warning { outline-color:var(--warn); }
    .vio { margin:6px 0; padding:4px 8px; border-left:3px solid var(--err); }
    .vio.warning { border-left-color:var(--warn); }
    .vio code { font-size:12px; }
    .hint { color:var(--dim); }
    .held { display:flex; gap:6px; align-items:center; width:100%; border-top:1px dashed var(--line); padding-top:4px; }
    .held textarea { flex:1; height:3.2em; font-family:ui-monospace, monospace; }
    #compose textarea { flex:1; height:3.2em; font-family:ui-monospace, monospace; }
    body:not(.live) .live-only { display:none !important; }
    a { color:var(--c2s); }
    """#

    static let script = #"""
    "use strict";
    const ROW = 22;
    const state = { items: [], bySeq: new Map(), conn: null, filter: "", selected: -1, paused: false, live: false, rules: new Map(), loading: false };
    const $ = (id) => document.getElementById(id);

    async function api(path, options) {
      const response = await fetch(path, Object.assign({ credentials: "same-origin" }, options || {}));
      const body = await response.json().catch(() => ({}));
      if (!response.ok) { const e = new Error(body.error || response.statusText); e.column = body.column; throw e; }
      return body;
    }

    function query(extra) {
      const p = new URLSearchParams();
      if (state.conn) p.set("conn", state.conn);
      if (state.filter) p.set("filter", state.filter);
      for (const [k, v] of Object.entries(extra || {})) p.set(k, v);
      return p.toString();
    }

    async function loadMore() {
      if (state.loading) return;
      state.loading = true;
      try {
        const after = state.items.length ? state.items[state.items.length - 1].seq : 0;
        const page = await api("/api/messages?" + query({ after, limit: 2000 }));
        for (const item of page) { state.items.push(item); state.bySeq.set(item.seq, item); }
        $("filter-error").textContent = "";
        render();
        return page.length;
      } catch (e) {
        showFilterError($("filter-error"), state.filter, e);
        return 0;
      } finally { state.loading = false; }
    }

    function showFilterError(target, text, e) {
      target.textContent = e.column ? text + "\n" + " ".repeat(e.column - 1) + "^ " + e.message : e.message;
    }

    async function reload() {
      state.items = []; state.bySeq = new Map(); state.selected = -1;
      $("timeline").scrollTop = 0;
      render();
      await loadMore();
    }

    // Only the rows in view exist; the spacer keeps the scrollbar true to the whole list.
    // (Positions are set through the DOM: the Content-Security-Policy forbids style attributes.)
    function render() {
      const timeline = $("timeline"), rowsBox = $("rows");
      $("spacer").style.height = state.items.length * ROW + "px";
      const first = Math.max(0, Math.floor(timeline.scrollTop / ROW) - 10);
      const last = Math.min(state.items.length, first + Math.ceil(timeline.clientHeight / ROW) + 20);
      const rows = [];
      for (let i = first; i < last; i++) rows.push(rowHTML(state.items[i], i));
      rowsBox.innerHTML = rows.join("");
      rowsBox.style.transform = `translateY(${first * ROW}px)`;
      if (last > state.items.length - 200 && !state.loading) loadMore();
    }

    function esc(s) { return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c])); }

    function badges(violations) {
      const errors = violations.filter((v) => v.severity === "error").length, warnings = violations.length - errors;
      return (errors ? `<span class="badge error">${errors}</span>` : "") + (warnings ? `<span class="badge warning">${warnings}</span>` : "");
    }

    function rowHTML(item, i) {
      const time = (item.ts || "").slice(11, 23);
      const mark = item.control ? ` <span class="mark">${esc(item.control)}</span>` : "";
      return `<div class="row${i === state.selected ? " selected" : ""}" data-index="${i}" data-seq="${item.seq}">` +
        `<span>${item.seq}</span><span>${esc(item.conn)}</span><span class="${item.dir}">${item.dir === "c2s" ? "→" : "←"} ${item.dir}</span>` +
        `<span>${esc(time)}</span><span>${esc(item.kind)}</span><span>${esc(item.type || "")}${mark}</span><span>${esc(item.id || "")}</span>` +
        `<span>${item.size}</span><span>${badges(item.violations)}</span></div>`;
    }

    // Pretty JSON whose every member knows its pointer, so violations land on the member they name.
    function pointerToken(t) { return String(t).replace(/~/g, "~0").replace(/\//g, "~1"); }
    function jsonHTML(value, pointer, indent, flagged) {
      const pad = "  ".repeat(indent);
      const wrap = (html) => flagged.has(pointer) ? `<span class="flagged ${flagged.get(pointer)}" data-pointer="${esc(pointer)}" title="${esc(pointer)}">${html}</span>` : html;
      if (Array.isArray(value)) {
        if (!value.length) return wrap("[]");
        const inner = value.map((v, i) => pad + "  " + jsonHTML(v, pointer + "/" + i, indent + 1, flagged)).join(",\n");
        return wrap("[\n" + inner + "\n" + pad + "]");
      }
      if (value && typeof value === "object") {
        const keys = Object.keys(value);
        if (!keys.length) return wrap("{}");
        const inner = keys.map((k) => {
          const p = pointer + "/" + pointerToken(k);
          const key = `<span class="key">${esc(JSON.stringify(k))}</span>`;
          const keyHTML = flagged.has(p) ? `<span class="flagged ${flagged.get(p)}" data-pointer="${esc(p)}" title="${esc(p)}">${key}</span>` : key;
          return pad + "  " + keyHTML + ": " + jsonHTML(value[k], p, indent + 1, new Map([...flagged].filter(([q]) => q !== p)));
        }).join(",\n");
        return wrap("{\n" + inner + "\n" + pad + "}");
      }
      const cls = typeof value === "string" ? "str" : "num";
      return wrap(`<span class="${cls}">${esc(JSON.stringify(value))}</span>`);
    }

    function open(i) {
      if (i < 0 || i >= state.items.length) return;
      state.selected = i;
      const item = state.items[i];
      const flagged = new Map();
      for (const v of item.violations) if (!flagged.has(v.pointer) || v.severity === "error") flagged.set(v.pointer, v.severity);
      let body;
      try { body = `<pre class="json">${jsonHTML(JSON.parse(item.text), "", 0, flagged)}</pre>`; }
      catch { body = `<pre class="json">${esc(item.text ?? item.base64 ?? "")}</pre>`; }
      const related = state.items.filter((o) => o !== item && o.conn === item.conn && item.id && o.id === item.id);
      const vios = item.violations.map((v) =>
        `<div class="vio ${v.severity}"><code>${esc(v.rule)}</code> ${esc(v.severity)} at <code>${esc(v.pointer || '""')}</code>: ${esc(v.message)}` +
        `<br><small>${esc((state.rules.get(v.rule) || {}).meaning || "")}</small></div>`).join("");
      const frames = (item.frames || []).map((f) => `${f.fin ? "FIN " : ""}op ${f.op}${f.rsv ? " rsv " + f.rsv : ""} ${f.len} bytes${f.masked ? " masked" : ""}`).join("; ");
      $("detail").innerHTML = `<h3><span class="${item.dir}">${esc(item.conn)} ${esc(item.dir)}[${item.index ?? ""}]</span> ${esc(item.kind)} ${esc(item.type || "")} ${esc(item.id || "")}` +
        `${item.control ? ` <span class="mark">${esc(item.control)}</span>` : ""}</h3>` + vios + body +
        (frames ? `<p class="hint">frames: ${esc(frames)}</p>` : "") +
        (related.length ? `<p>same id: ${related.map((o) => `<a href="#" data-open="${state.items.indexOf(o)}">${esc(o.dir)} #${o.seq} ${esc(o.type || "")}</a>`).join(", ")}</p>` : "") +
        (state.live ? `<p><button id="resend">resend on ${esc(item.conn)}</button> <button id="copy-compose">edit in compose</button></p>` : "") +
        (state.live && item.dir === "c2s" ? `<p><textarea id="repeat-text" spellcheck="false">${esc(item.text || "")}</textarea><br><button id="repeat">repeat on a new connection</button></p><div id="repeat-result"></div>` : "");
      render();
      const resend = $("resend");
      if (resend) resend.onclick = () => inject(item.conn, item.dir, item.text || "");
      const repeat = $("repeat");
      if (repeat) repeat.onclick = async () => {
        const box = $("repeat-result");
        box.textContent = "sending…";
        try {
          const r = await api("/api/repeat", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ seq: item.seq, text: $("repeat-text").value }) });
          const show = (list) => list.map((a) => `<pre class="json">${esc(a.text ?? a.base64 ?? "")}</pre>`).join("") || "<p class=\"hint\">none</p>";
          box.innerHTML = (r.failure ? `<p class="vio">${esc(r.failure)}</p>` : "") + `<h3>answer now</h3>${show(r.answers)}<h3>answer then</h3>${show(r.original)}`;
        } catch (e) { box.textContent = e.message; }
      };
      const copy = $("copy-compose");
      if (copy) copy.onclick = () => { $("compose-conn").value = item.conn; $("compose-dir").value = item.dir; $("compose-text").value = item.text || ""; };
    }

    async function connections() {
      const list = await api("/api/connections");
      $("connections").innerHTML = `<div class="conn${state.conn ? "" : " selected"}" data-conn="">all connections</div>` +
        list.map((c) => `<div class="conn${state.conn === c.id ? " selected" : ""}" data-conn="${esc(c.id)}"><b>${esc(c.id)}</b> ${esc(c.state)} ` +
          `${badges(Array(c.errors).fill({ severity: "error" }).concat(Array(c.warnings).fill({ severity: "warning" })))}` +
          `<small>${esc(c.url || "")}</small><small>${esc(c.client || "")} → ${esc(c.server || "")}</small>` +
          `<small>→ ${c.messages.c2s} ← ${c.messages.s2c}</small></div>`).join("");
      const select = $("compose-conn"), current = select.value;
      select.innerHTML = list.filter((c) => c.state === "open").map((c) => `<option>${esc(c.id)}</option>`).join("");
      if (current) select.value = current;
    }

    async function held() {
      if (!state.live) return;
      const list = await api("/api/held");
      $("held").innerHTML = list.map((h) => `<div class="held" data-seq="${h.seq}"><span>#${h.seq} ${esc(h.conn)} <span class="${h.dir}">${esc(h.dir)}</span></span>` +
        `<textarea spellcheck="false">${esc(h.text ?? "")}</textarea><button class="forward">forward</button><button class="drop">drop</button></div>`).join("");
    }

    async function settle(seq, action, text) {
      const body = { action };
      if (text !== undefined) body.text = text;
      await api("/api/held/" + seq, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) }).catch((e) => { $("hold-error").textContent = e.message; });
      held();
    }

    async function inject(conn, dir, text) {
      try {
        JSON.parse(text);
      } catch (e) { $("compose-result").textContent = "not JSON: " + e.message; return; }
      try {
        const result = await api(`/api/connections/${encodeURIComponent(conn)}/messages`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ dir, text }) });
        $("compose-result").textContent = result.answer ? "answer: " + (result.answer.text || "") : "sent";
      } catch (e) { $("compose-result").textContent = e.message; }
    }

    function connectEvents() {
      const ws = new WebSocket(`ws://${location.host}/api/events`);
      let pending = null;
      ws.onmessage = (message) => {
        const event = JSON.parse(message.data);
        if (event.event === "held" || event.event === "settled") { held(); return; }
        if (event.event === "connection") { connections(); return; }
        if (state.paused || pending) return;
        // New traffic: fetch what the filter shows after the last row, a few times a second at most.
        pending = setTimeout(async () => { pending = null; if (!state.paused) { const before = state.items.length; await loadMore(); if (state.items.length !== before) connections(); } }, 200);
      };
      ws.onclose = () => setTimeout(connectEvents, 1000);
    }

    function wire() {
      let typing = null;
      $("filter").addEventListener("input", () => {
        clearTimeout(typing);
        typing = setTimeout(() => { state.filter = $("filter").value.trim(); $("export").href = "/api/capture?" + query(); reload(); }, 250);
      });
      $("timeline").addEventListener("scroll", render);
      $("spacer").addEventListener("click", (e) => { const row = e.target.closest(".row"); if (row) open(Number(row.dataset.index)); });
      $("timeline").addEventListener("keydown", (e) => {
        if (e.key === "ArrowDown") { open(state.selected + 1); e.preventDefault(); }
        if (e.key === "ArrowUp") { open(state.selected - 1); e.preventDefault(); }
      });
      $("detail").addEventListener("click", (e) => { const a = e.target.closest("[data-open]"); if (a) { e.preventDefault(); open(Number(a.dataset.open)); } });
      $("connections").addEventListener("click", (e) => { const c = e.target.closest(".conn"); if (c) { state.conn = c.dataset.conn || null; connections(); reload(); } });
      $("pause").onclick = () => { state.paused = !state.paused; $("pause").textContent = state.paused ? "resume" : "pause"; if (!state.paused) loadMore(); };
      document.addEventListener("keydown", (e) => { if (e.key === "p" && e.target.tagName !== "INPUT" && e.target.tagName !== "TEXTAREA") $("pause").click(); });
      $("theme").onclick = () => { document.body.classList.toggle("dark"); localStorage.setItem("basetap-theme", document.body.classList.contains("dark") ? "dark" : "light"); };
      if (localStorage.getItem("basetap-theme") === "dark" || (!localStorage.getItem("basetap-theme") && matchMedia("(prefers-color-scheme: dark)").matches)) document.body.classList.add("dark");
      $("hold-apply").onclick = async () => {
        const filter = $("hold-filter").value;
        try {
          await api("/api/hold", { method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ filter }) });
          $("hold-error").textContent = filter.trim() ? "holding" : "";
        } catch (e) { showFilterError($("hold-error"), filter, e); }
      };
      $("held").addEventListener("click", (e) => {
        const box = e.target.closest(".held"); if (!box) return;
        const seq = box.dataset.seq, text = box.querySelector("textarea").value;
        if (e.target.classList.contains("forward")) settle(seq, "forward", text);
        if (e.target.classList.contains("drop")) settle(seq, "drop");
      });
      $("compose-send").onclick = () => inject($("compose-conn").value, $("compose-dir").value, $("compose-text").value);
    }

    async function main() {
      // The token came in the URL once; the cookie carries it from here on.
      if (location.search.includes("token=")) history.replaceState(null, "", "/");
      wire();
      const info = await api("/api/info");
      state.live = info.live;
      document.body.classList.toggle("live", info.live);
      $("mode").textContent = info.live ? "live proxy" : "capture";
      for (const rule of await api("/api/rules")) state.rules.set(rule.id, rule);
      await connections();
      await held();
      await loadMore();
      connectEvents();
      document.body.dataset.ready = "true";
    }
    main();
    """#
}
