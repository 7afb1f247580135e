// The playground page: choose roles, chat with the real core, watch pushes arrive (short polling).
// Message HTML comes from the server already escaped (only <b>, <i>, <code>, <u>, <s> survive).
"use strict";

(function () {
  const T = JSON.parse(document.getElementById("pg-texts").textContent);
  const API = "/playground/api/";
  const POLL_MS = 1000;
  const state = { personas: [], current: null, rev: 0, messages: new Map(), unread: new Map(), loaded: false,
                  shown: new Map() };
  const $ = (id) => document.getElementById(id);

  function post(path, body) {
    return fetch(API + path, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Playground": "1" },
      body: JSON.stringify(body),
    }).then((r) => r.json().then((data) => ({ status: r.status, data })));
  }

  function toast(text) {
    if (!text) return;
    const el = $("toast");
    el.textContent = text;
    el.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { el.hidden = true; }, 3500);
  }

  function personaLabel(p) {
    return p.role_label + " · " + p.unit_name;
  }

  function renderPersonas() {
    const list = $("persona-list");
    list.textContent = "";
    for (const p of state.personas) {
      const chip = document.createElement("button");
      chip.type = "button";
      chip.className = "chip" + (p.chat === state.current ? " current" : "");
      chip.dataset.chat = p.chat;
      chip.title = personaLabel(p);
      chip.textContent = personaLabel(p);
      const unread = state.unread.get(p.chat) || 0;
      if (unread > 0 && p.chat !== state.current) {
        const badge = document.createElement("span");
        badge.className = "badge";
        badge.textContent = String(unread);
        badge.title = T.new;
        chip.appendChild(badge);
      }
      chip.addEventListener("click", () => choose(p.chat));
      list.appendChild(chip);
    }
    $("picker").hidden = state.personas.length > 0 && !state.picking;
  }

  function fileNode(file) {
    // the caption (a notice's heading, an export's title) above the link or the picture
    const box = document.createElement("div");
    box.className = "file";
    if (file.caption) {
      const caption = document.createElement("div");
      caption.className = "caption";
      caption.innerHTML = file.caption;
      box.appendChild(caption);
    }
    if (file.kind === "photo" && file.url) {
      const img = document.createElement("img");
      img.src = file.url;
      img.alt = file.name;
      box.appendChild(img);
    } else if (file.url) {
      const link = document.createElement("a");
      link.href = file.url;
      link.download = file.name;
      link.textContent = "📎 " + file.name + " — " + T.download;
      box.appendChild(link);
    } else {
      box.appendChild(document.createTextNode("📎 " + file.name));
    }
    return box;
  }

  function messageNode(m) {
    const el = document.createElement("div");
    el.className = "msg " + (m.from === "me" ? "me" : "bot") + (m.push ? " push" : "");
    el.dataset.id = String(m.id);
    if (m.file) el.appendChild(fileNode(m.file));
    if (m.html) {
      const body = document.createElement("div");
      body.className = "text";
      body.innerHTML = m.html;
      el.appendChild(body);
    }
    if (m.options && m.options.length) {
      const options = document.createElement("div");
      options.className = "options";
      for (const row of m.options) {
        const line = document.createElement("div");
        line.className = "row";
        for (const o of row) {
          const button = document.createElement("button");
          button.type = "button";
          button.textContent = o.label;
          button.addEventListener("click", () => press(m, o.n, button));
          line.appendChild(button);
        }
        options.appendChild(line);
      }
      el.appendChild(options);
    }
    if (m.push) {
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = T.push;
      el.appendChild(meta);
    }
    return el;
  }

  function renderChat() {
    // the whole chat, on a change of persona
    const box = $("messages");
    const persona = state.personas.find((p) => p.chat === state.current);
    $("chat-title").textContent = persona ? personaLabel(persona) : "";
    $("composer").hidden = !persona;
    box.textContent = "";
    state.shown = new Map();
    if (!persona) {
      const empty = document.createElement("p");
      empty.className = "empty";
      empty.textContent = T.empty;
      box.appendChild(empty);
      return;
    }
    const mine = [...state.messages.values()].filter((m) => m.chat === state.current).sort((a, b) => a.id - b.id);
    for (const m of mine) show(m);
    window.scrollTo(0, document.body.scrollHeight);
  }

  function show(m) {
    // add a message of the current chat, or replace it where it was edited (nothing else moves)
    const box = $("messages");
    const known = state.shown.get(m.id);
    if (known && known.rev === m.rev) return;
    const node = messageNode(m);
    if (known) box.replaceChild(node, known.node);
    else box.appendChild(node);
    state.shown.set(m.id, { rev: m.rev, node });
  }

  function absorb(data) {
    let added = false;
    for (const m of data.messages) {
      const known = state.messages.has(m.id);
      state.messages.set(m.id, m);
      if (!known && state.loaded && m.from === "bot" && m.chat !== state.current) {
        state.unread.set(m.chat, (state.unread.get(m.chat) || 0) + 1);
      }
      if (m.chat === state.current) {
        show(m);
        added = added || !known;
      }
      if (!state.personas.find((p) => p.chat === m.chat)) state.stalePersonas = true;
    }
    state.rev = Math.max(state.rev, data.rev);
    if (added) window.scrollTo(0, document.body.scrollHeight);
  }

  async function refreshPersonas() {
    const r = await fetch(API + "state");
    const data = await r.json();
    state.personas = data.personas;
    state.stalePersonas = false;
  }

  async function poll() {
    try {
      const r = await fetch(API + "updates?after=" + state.rev);
      const data = await r.json();
      if (data.rev < state.rev) {  // the server started afresh: read every chat again
        state.rev = 0;
        state.messages = new Map();
        renderChat();
        return;
      }
      absorb(data);
      if (state.stalePersonas) await refreshPersonas();
      if (data.messages.length) renderPersonas();
    } catch (e) {
      // the server may be restarting: try again at the next tick
    }
  }

  function choose(chat) {
    state.current = chat;
    state.picking = false;
    state.unread.delete(chat);
    try { localStorage.setItem("pg-chat", chat); } catch (e) { /* private mode */ }
    if (location.hash !== "#" + chat) history.replaceState(null, "", "#" + chat);
    renderPersonas();
    renderChat();
  }

  async function press(message, n, button) {
    button.disabled = true;
    const { data } = await post("press", { chat: message.chat, message: message.id, option: n });
    button.disabled = false;
    toast(data.toast || data.error);
    await poll();
  }

  async function sendText(text) {
    if (!state.current || !text.trim()) return;
    const { data } = await post("send", { chat: state.current, text });
    toast(data.toast || data.error);
    await poll();
  }

  function wire() {
    $("composer").addEventListener("submit", async (event) => {
      event.preventDefault();
      const input = $("text");
      const text = input.value;
      input.value = "";
      await sendText(text);
      input.focus();
    });
    $("menu-button").addEventListener("click", () => sendText("/menu"));
    $("file").addEventListener("change", async () => {
      const input = $("file");
      const file = input.files && input.files[0];
      if (!file || !state.current) return;
      const caption = $("text").value;
      const query = new URLSearchParams({ chat: state.current, name: file.name, caption });
      const r = await fetch(API + "file?" + query.toString(), {
        method: "POST", headers: { "Content-Type": "application/octet-stream", "X-Playground": "1" }, body: file,
      });
      const data = await r.json();
      input.value = "";
      if (data.ok) $("text").value = "";
      toast(data.toast || data.error);
      await poll();
    });
    $("add-persona").addEventListener("click", () => {
      state.picking = !state.picking || $("picker").hidden;
      $("picker").hidden = !state.picking;
    });
    for (const form of document.querySelectorAll("form.role")) {
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const unit = form.querySelector("[name=unit]").value;
        const { data } = await post("persona", { role: form.dataset.role, unit });
        if (!data.ok) { toast(data.error || T.error); return; }
        await refreshPersonas();
        await poll();
        choose(data.persona.chat);
      });
    }
    for (const preset of document.querySelectorAll("button.preset")) {
      preset.addEventListener("click", () => {
        $("clock-date").value = preset.dataset.date;
        $("clock-time").value = preset.dataset.time;
      });
    }
    $("clock-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const { data } = await post("clock", { date: $("clock-date").value, time: $("clock-time").value });
      const out = $("clock-result");
      out.textContent = "";
      if (!data.ok) { out.textContent = data.error || T.error; return; }
      const head = document.createElement("p");
      head.textContent = data.summary;
      out.appendChild(head);
      if (data.lines.length) {
        const list = document.createElement("ul");
        for (const line of data.lines) {
          const item = document.createElement("li");
          item.textContent = line;
          list.appendChild(item);
        }
        out.appendChild(list);
      }
      const after = document.createElement("p");
      after.textContent = data.after;
      out.appendChild(after);
      await poll();
    });
  }

  async function start() {
    wire();
    await refreshPersonas();
    await poll();
    state.loaded = true;
    const wanted = location.hash.slice(1) || (function () {
      try { return localStorage.getItem("pg-chat"); } catch (e) { return null; }
    })();
    if (wanted && state.personas.find((p) => p.chat === wanted)) choose(wanted);
    else if (state.personas.length) choose(state.personas[0].chat);
    else { renderPersonas(); renderChat(); }
    setInterval(() => { if (!document.hidden) poll(); }, POLL_MS);
    document.body.dataset.ready = "1";
  }

  start();
})();
