// The agents' page. All user-provided text goes into the DOM as text (Console.el / textContent), never as HTML.
(function () {
  "use strict";
  var el = Console.el, api = Console.api;
  var contextTimer = null, live = false;
  var current = null, currentRecord = null, source = null, me = document.getElementById("me").dataset.name;

  function $(id) { return document.getElementById(id); }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  // Sender ids look like "wechat:oAbC" or "rest:alice"; the console routes take the colon as it is.
  function enc(id) { return encodeURIComponent(id).replace(/%3A/gi, ":"); }
  function ago(seconds) {
    if (seconds < 60) return seconds + " s";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min";
    return Math.floor(seconds / 3600) + " h";
  }
  function showError(e) { $("action-error").textContent = e ? (e.message || String(e)) : ""; }

  function row(r, action) {
    var tr = el("tr", { "class": "queue-row", "data-sender": r.sender_id, "data-priority": String(r.priority) });
    var badges = el("td", {});
    if (r.urgent) badges.appendChild(el("span", { "class": "badge urgent" }, "URGENT"));
    badges.appendChild(el("span", { "class": "badge" }, "P" + r.priority));
    if (r.tier) badges.appendChild(el("span", { "class": "badge" }, r.tier));
    tr.appendChild(badges);
    tr.appendChild(el("td", {}, el("strong", { "class": "sender" }, r.sender_id), el("br"),
      el("span", { "class": "reason" }, r.reason), el("br"),
      el("span", { "class": "muted" }, (r.language || "") + " · " + (r.channel || "") + " · " + ago(r.waited_seconds))));
    var td = el("td", {});
    if (action === "claim") {
      td.appendChild(el("button", { "class": "claim", type: "button", onclick: function () { claim(r.sender_id); } }, "Claim"));
    }
    td.appendChild(el("button", { "class": "secondary open", type: "button", onclick: function () { open(r.sender_id); } }, "Open"));
    if (action === "agent") td.appendChild(el("div", { "class": "muted" }, r.agent));
    tr.appendChild(td);
    return tr;
  }

  function refreshQueue() {
    return api("GET", "/api/queue").then(function (q) {
      var body = $("queue"); clear(body);
      q.waiting.forEach(function (r) { body.appendChild(row(r, "claim")); });
      $("queue-empty").hidden = q.waiting.length > 0;
      var mine = $("mine"); clear(mine);
      q.mine.forEach(function (r) { mine.appendChild(row(r, "mine")); });
      var others = $("others"); clear(others);
      q.others.forEach(function (r) { others.appendChild(row(r, "agent")); });
      $("online").textContent = q.agents_online.join(", ") || "nobody";
      if (current) {
        var all = q.waiting.concat(q.mine, q.others);
        currentRecord = all.filter(function (r) { return r.sender_id === current; })[0] || null;
        updateTools();
      }
    }).catch(function (e) { if (e.status === 401) window.location = "/login?next=/agent"; });
  }

  function updateTools() {
    var mine = currentRecord && currentRecord.state === "agent" && currentRecord.agent === me;
    $("reply-box").hidden = !mine;
    $("owner-tools").hidden = !mine;
    $("claim-box").hidden = !(currentRecord && currentRecord.state === "queued");
  }

  function addItem(item) {
    var cls = "msg " + item.kind;
    var who = item.kind === "agent" ? (item.agent || "agent") : item.kind;
    var meta = who;
    if (item.kind === "user" && item.intent) meta += " · " + item.intent + " " + Number(item.confidence).toFixed(2);
    if (item.at) meta += " · " + new Date(item.at * 1000).toLocaleTimeString();
    var node = el("div", { "class": cls }, el("span", { "class": "meta" }, meta), el("span", { "class": "text" }, item.text || ""));
    if (item.buttons && item.buttons.length) node.appendChild(el("span", { "class": "meta" }, "[" + item.buttons.join("] [") + "]"));
    if (item.media && item.media.id) {
      var src = "/api/media/" + encodeURIComponent(item.media.id);
      node.appendChild(el("a", { href: src, target: "_blank", rel: "noopener" },
        el("img", { "class": "photo", src: src, alt: "photo from the user" })));
    }
    if (item.location) node.setAttribute("data-location", item.location.latitude + "," + item.location.longitude);
    if (item.kind === "user" && item.text && !item.media) {
      node.appendChild(el("button", { "class": "link file-feedback", type: "button", title: "File as feedback",
        onclick: function () { $("feedback-text").value = item.text; $("feedback-text").focus(); } }, "⚑"));
    }
    var t = $("transcript");
    t.appendChild(node);
    t.scrollTop = t.scrollHeight;
  }

  function open(senderId) {
    if (source) { source.close(); source = null; }
    live = false;
    current = senderId;
    $("conv-title").textContent = senderId;
    clear($("transcript"));
    showError(null);
    source = new EventSource("/api/conversations/" + enc(senderId) + "/events");
    source.onmessage = function (ev) {
      var item = JSON.parse(ev.data);
      addItem(item);
      if (item.kind === "user" && live) { clearTimeout(contextTimer); contextTimer = setTimeout(loadContext, 500); }
    };
    source.addEventListener("open", function () { setTimeout(function () { live = true; }, 1000); });
    refreshQueue();
    loadContext();
  }

  function loadContext() {
    if (!current) return;
    var id = current;
    api("GET", "/api/conversations/" + enc(id) + "/context").then(function (c) {
      if (id !== current) return;
      var facts = $("context-facts"); clear(facts);
      var r = c.record || {};
      [["Language", c.language], ["Channel", c.channel], ["Tier", c.tier], ["Reason", r.reason || "-"],
       ["Trigger", r.cue || "-"], ["Priority", r.priority === undefined ? "-" : String(r.priority)],
       ["State", r.state ? (r.state + (r.agent ? " (" + r.agent + ")" : "")) : "bot"]].forEach(function (kv) {
        facts.appendChild(el("dt", {}, kv[0])); facts.appendChild(el("dd", { "data-fact": kv[0].toLowerCase() }, kv[1] || "-"));
      });
      var intents = $("context-intents"); clear(intents);
      c.intents.forEach(function (i) { intents.appendChild(el("li", {}, (i.intent || "?") + " " + i.confidence.toFixed(2))); });
      var kb = $("context-kb"); clear(kb);
      c.kb_entries.forEach(function (k) { kb.appendChild(el("li", {}, k.entry + (k.score !== undefined ? " (" + Number(k.score).toFixed(2) + ")" : ""))); });
      if (!c.kb_entries.length) kb.appendChild(el("li", { "class": "muted" }, "none"));
      var m = c.memory || {}, past = $("context-history"); clear(past);  // across conversations (bot.memory)
      (m.orders || []).forEach(function (o) { past.appendChild(el("li", {}, "Order " + o.number + ": " + o.product + ", " + o.status)); });
      (m.repairs || []).forEach(function (r) { past.appendChild(el("li", {}, "Repair " + r.number + ": " + r.device + " (" + r.fault + "), " + r.status)); });
      (m.feedback || []).forEach(function (f) { past.appendChild(el("li", {}, "Feedback " + f.id + ": " + f.title + ", " + f.status)); });
      (m.handoffs || []).forEach(function (h) {
        past.appendChild(el("li", {}, "Handoff " + h.what + (h.agent ? " (" + h.agent + ")" : "") + " " + new Date(1000 * Number(h.at || 0)).toLocaleString()));
      });
      if (!past.childNodes.length) past.appendChild(el("li", { "class": "muted" }, "nothing before"));
      var notes = $("notes"); clear(notes);
      c.notes.forEach(function (n) { notes.appendChild(el("li", { "class": "note" }, el("strong", {}, n.agent + ": "), n.text)); });
      var canned = $("canned"); clear(canned); canned.appendChild(el("option", { value: "" }, "Choose one…"));
      c.canned_replies.forEach(function (t) { canned.appendChild(el("option", { value: t }, t)); });
      var to = $("transfer-to"); clear(to);
      c.agents.filter(function (a) { return a !== c.me; }).forEach(function (a) { to.appendChild(el("option", { value: a }, a)); });
      var pools = $("perk-pool"); clear(pools);
      c.perk_pools.forEach(function (p) { pools.appendChild(el("option", { value: p.pool }, p.label + " (" + p.left + " left)")); });
      var d = c.discretion || {}, gifts = $("gift"); clear(gifts);
      (d.gifts || []).forEach(function (g) { gifts.appendChild(el("option", { value: g.gift }, g.label)); });
      $("discretion-limits").textContent = d.error ? d.error : "Up to ¥" + d.credit_max + " per credit, ¥" +
        d.credit_daily + " a day" + (d.priority_repair ? "; priority repairs" : "") + ".";
      var perks = $("perks"); clear(perks);
      c.perks_granted.forEach(function (g) { perks.appendChild(el("li", {}, g.pool + ": " + g.code + " by " + g.agent)); });
    });
  }

  function claim(senderId) {
    api("POST", "/api/conversations/" + enc(senderId) + "/claim").then(function () { open(senderId); })
      .catch(function (e) { showError(e); refreshQueue(); });
  }

  function act(path, body, after) {
    showError(null);
    return api("POST", "/api/conversations/" + enc(current) + "/" + path, body)
      .then(function (r) { if (after) after(r); refreshQueue(); loadContext(); })
      .catch(showError);
  }

  $("canned").addEventListener("change", function () { if (this.value) $("reply-text").value = this.value; });
  $("reply-send").addEventListener("click", function () {
    var text = $("reply-text").value.trim();
    if (!text) return;
    act("reply", { text: text }, function () { $("reply-text").value = ""; });
  });
  $("reply-text").addEventListener("keydown", function (e) {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) $("reply-send").click();
  });
  $("resolve").addEventListener("click", function () { act("resolve", {}); });
  $("claim-open").addEventListener("click", function () { if (current) claim(current); });
  $("note-add").addEventListener("click", function () {
    var text = $("note-text").value.trim();
    if (text) act("note", { text: text }, function () { $("note-text").value = ""; });
  });
  $("transfer").addEventListener("click", function () { act("transfer", { to: $("transfer-to").value }); });
  $("perk-grant").addEventListener("click", function () { act("perk", { pool: $("perk-pool").value }); });
  $("credit-grant").addEventListener("click", function () {
    act("discretion", { kind: "credit", amount: Number($("credit-amount").value) });
  });
  $("priority-repair").addEventListener("click", function () { act("discretion", { kind: "priority_repair" }); });
  $("gift-send").addEventListener("click", function () { act("discretion", { kind: "gift", gift: $("gift").value }); });
  $("feedback-file").addEventListener("click", function () {
    var text = $("feedback-text").value.trim();
    if (!text) return;
    act("feedback", { text: text, kind: $("feedback-kind").value }, function (r) {
      $("feedback-result").textContent = "Filed as " + r.item + " (" + r.outcome + ")";
      $("feedback-text").value = "";
    });
  });
  function loadProfile() {
    api("GET", "/api/agent/profile").then(function (p) {
      $("profile-display").value = p.display || ""; $("profile-signoff").value = p.signoff || "";
    });
  }
  $("profile-save").addEventListener("click", function () {
    api("POST", "/api/agent/profile", { display: $("profile-display").value, signoff: $("profile-signoff").value })
      .then(function (r) { $("profile-result").textContent = "Users will see: " + r.profile.display; })
      .catch(function (e) { $("profile-result").textContent = e.message; });
  });
  loadProfile();

  refreshQueue();
  setInterval(refreshQueue, 2000);
})();
