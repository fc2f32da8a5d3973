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
      <span id="count" class="hint"></span>
      <input id="jump" size="8" placeholder="go to seq" title="open the message with this seq (Enter)">
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
      <section id="detail" aria-live="polite"><p class="hint">Open a message: click it, or use ↑ ↓, Page Up/Down, Home and End in the timeline.</p></section>
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
    #rows .pending { height:22px; padding:0 8px; color:var(--dim); }
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
    const ROW = 22, PAGE = 500, MAX_HEIGHT = 8000000;
    // The timeline is a window on the server's: `count` rows in all, fetched a page at a time
    // for the rows in view, so a million messages cost what a screenful does.
    const state = { count: 0, pages: new Map(), fetching: new Map(), generation: 0, conn: null, filter: "", selected: -1, item: null,
                    paused: false, live: false, rules: new Map(), following: true };
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

    function at(i) { const page = state.pages.get(Math.floor(i / PAGE)); return page ? page[i % PAGE] : undefined; }

    function fetchPage(n) {
      if (!state.fetching.has(n)) {
        const generation = state.generation;
        state.fetching.set(n, api("/api/messages?" + query({ offset: n * PAGE, limit: PAGE })).then((page) => {
          if (generation !== state.generation) return;
          state.pages.set(n, page);
          render();
        }, (e) => {
          if (generation === state.generation) showFilterError($("filter-error"), state.filter, e);
        }).finally(() => state.fetching.delete(n)));
      }
      return state.fetching.get(n);
    }

    // How many rows the timeline has now; the last page is fetched again when it grew.
    async function refresh() {
      const generation = state.generation;
      try {
        const timeline = await api("/api/timeline?" + query());
        if (generation !== state.generation) return;
        $("filter-error").textContent = "";
        if (timeline.count !== state.count) {
          state.pages.delete(Math.floor(state.count / PAGE));
          state.count = timeline.count;
        }
        $("count").textContent = state.count + (state.count === 1 ? " message" : " messages");
        render();
        if (state.following && state.live && !state.paused) $("timeline").scrollTop = $("timeline").scrollHeight;
      } catch (e) {
        if (generation === state.generation) showFilterError($("filter-error"), state.filter, e);
      }
    }

    function showFilterError(target, text, e) {
      target.textContent = e.column ? text + "\n" + " ".repeat(e.column - 1) + "^ " + e.message : e.message;
    }

    async function reload() {
      state.generation++;
      state.count = 0; state.pages = new Map(); state.selected = -1; state.following = true;
      $("timeline").scrollTop = 0;
      render();
      await refresh();
    }

    // Only the rows in view exist; the spacer keeps the scrollbar true to the whole list (past
    // MAX_HEIGHT pixels, which browsers do not draw, the scrollbar maps onto rows in proportion).
    // (Positions are set through the DOM: the Content-Security-Policy forbids style attributes.)
    function viewport() {
      const timeline = $("timeline"), visible = Math.ceil(timeline.clientHeight / ROW) + 1;
      const height = Math.min(state.count * ROW, MAX_HEIGHT);
      if (height === state.count * ROW) return { height, first: Math.floor(timeline.scrollTop / ROW), top: Math.floor(timeline.scrollTop / ROW) * ROW, visible };
      const share = timeline.scrollTop / Math.max(1, height - timeline.clientHeight);
      return { height, first: Math.floor(share * Math.max(0, state.count - visible + 1)), top: timeline.scrollTop, visible };
    }

    function render() {
      const timeline = $("timeline"), rowsBox = $("rows"), view = viewport();
      $("spacer").style.height = view.height + "px";
      const first = Math.max(0, view.first), last = Math.min(state.count, first + view.visible + 1);
      const rows = [];
      for (let i = first; i < last; i++) {
        const item = at(i);
        if (!item) fetchPage(Math.floor(i / PAGE));
        rows.push(item ? rowHTML(item, i) : `<div class="pending">…</div>`);
      }
      rowsBox.innerHTML = rows.join("");
      rowsBox.style.transform = `translateY(${Math.min(view.top, Math.max(0, view.height - rows.length * ROW))}px)`;
      state.following = timeline.scrollTop + timeline.clientHeight >= view.height - ROW;
    }

    // Brings row `i` into view.
    function reveal(i) {
      const timeline = $("timeline"), view = viewport();
      if (i >= view.first && i < view.first + view.visible - 1) return;
      timeline.scrollTop = view.height === state.count * ROW
        ? Math.max(0, i * ROW - timeline.clientHeight / 2)
        : (i / Math.max(1, state.count - view.visible + 1)) * (view.height - timeline.clientHeight);
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

    async function open(i) {
      if (i < 0 || i >= state.count) return;
      if (!at(i)) await fetchPage(Math.floor(i / PAGE));
      const item = at(i);
      if (!item) return;
      state.selected = i;
      reveal(i);
      show(item);
    }

    // A message named by seq (an answer, a request): selected where the timeline shows it, else
    // shown on its own.
    async function openSeq(seq) {
      const timeline = await api("/api/timeline?" + query({ seq }));
      if (timeline.position !== undefined && timeline.position < timeline.count) {
        await fetchPage(Math.floor(timeline.position / PAGE));
        if ((at(timeline.position) || {}).seq === seq) return open(timeline.position);
      }
      state.selected = -1;
      show(await api("/api/messages/" + seq));
    }

    function show(item) {
      state.item = item;
      const flagged = new Map();
      for (const v of item.violations) if (!flagged.has(v.pointer) || v.severity === "error") flagged.set(v.pointer, v.severity);
      let body;
      try { body = `<pre class="json">${jsonHTML(JSON.parse(item.text), "", 0, flagged)}</pre>`; }
      catch { body = `<pre class="json">${esc(item.text ?? item.base64 ?? "")}</pre>`; }
      const vios = item.violations.map((v) =>
        `<div class="vio ${v.severity}"><code>${esc(v.rule)}</code> ${esc(v.severity)} at <code>${esc(v.pointer || '""')}</code>: ${esc(v.message)}` +
        `<br><small>${esc((state.rules.get(v.rule) || {}).meaning || "")}</small></div>`).join("");
      const frames = (item.frames || []).map((f) => `${f.fin ? "FIN " : ""}op ${f.op}${f.rsv ? " rsv " + f.rsv : ""} ${f.len} bytes${f.masked ? " masked" : ""}`).join("; ");
      $("detail").innerHTML = `<h3><span class="${item.dir}">${esc(item.conn)} ${esc(item.dir)}[${item.index ?? ""}]</span> ${esc(item.kind)} ${esc(item.type || "")} ${esc(item.id || "")}` +
        `${item.control ? ` <span class="mark">${esc(item.control)}</span>` : ""}</h3>` + vios + body +
        (frames ? `<p class="hint">frames: ${esc(frames)}</p>` : "") + `<p id="related"></p>` +
        (state.live ? `<p><button id="resend">resend on ${esc(item.conn)}</button> <button id="copy-compose">edit in compose</button></p>` : "") +
        (state.live && item.dir === "c2s" ? `<p><textarea id="repeat-text" spellcheck="false">${esc(item.text || "")}</textarea><br><button id="repeat">repeat on a new connection</button></p><div id="repeat-result"></div>` : "");
      if (item.id) {
        // Its request or its answers: the messages of the connection with the same id.
        api("/api/messages?" + new URLSearchParams({ conn: item.conn, filter: "id:" + JSON.stringify(item.id), limit: 50 })).then((list) => {
          const related = list.filter((o) => o.seq !== item.seq);
          if (state.item === item && related.length) $("related").innerHTML = "same id: " + related.map((o) => `<a href="#" data-open="${o.seq}">${esc(o.dir)} #${o.seq} ${esc(o.type || "")}</a>`).join(", ");
        }, () => {});
      }
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

    // A capture is read behind the server: the timeline grows until it has all of it.
    async function followLoading() {
      while ((await api("/api/info")).loading) {
        await refresh();
        await new Promise((done) => setTimeout(done, 300));
      }
      await refresh();
      connections();
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
        pending = setTimeout(async () => { pending = null; if (!state.paused) { const before = state.count; await refresh(); if (state.count !== before) connections(); } }, 200);
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
        const screen = Math.max(1, Math.floor($("timeline").clientHeight / ROW) - 1);
        const to = { ArrowDown: state.selected + 1, ArrowUp: state.selected - 1, PageDown: state.selected + screen, PageUp: state.selected - screen, Home: 0, End: state.count - 1 }[e.key];
        if (to !== undefined) { open(Math.min(Math.max(to, 0), state.count - 1)); e.preventDefault(); }
      });
      $("jump").addEventListener("keydown", (e) => { if (e.key === "Enter" && Number($("jump").value) > 0) openSeq(Number($("jump").value)); });
      $("detail").addEventListener("click", (e) => { const a = e.target.closest("[data-open]"); if (a) { e.preventDefault(); openSeq(Number(a.dataset.open)); } });
      $("connections").addEventListener("click", (e) => { const c = e.target.closest(".conn"); if (c) { state.conn = c.dataset.conn || null; connections(); reload(); } });
      $("pause").onclick = () => { state.paused = !state.paused; $("pause").textContent = state.paused ? "resume" : "pause"; if (!state.paused) refresh(); };
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
      await refresh();
      if (info.loading) followLoading();
      connectEvents();
      document.body.dataset.ready = "true";
    }
    main();
    """#
}
