// The trainer page: review inbox groups and their actions. User text only via Console.el (text nodes).
(function () {
  "use strict";
  var el = Console.el, api = Console.api;
  var REASONS = { out_of_scope: "out of scope", fallback: "not understood", low_confidence: "unsure",
                  escalated: "escalated", rated_down: "rated 👎" };
  var intents = [];

  function status(text) { document.getElementById("status").textContent = text || ""; }

  function showDiff(text) {
    var pre = document.getElementById("diff");
    pre.textContent = text || "";
    pre.hidden = !text;
  }

  function reasonText(reasons) {
    return Object.keys(reasons).map(function (r) { return (REASONS[r] || r) + " " + reasons[r]; }).join(", ");
  }

  function groupCard(g, n) {
    var ids = g.items.map(function (i) { return i.id; });
    var select = el("select", { "class": "intent", "aria-label": "intent" },
      el("option", { value: "" }, "— intent —"));
    intents.forEach(function (name) { select.appendChild(el("option", { value: name }, name)); });
    var guess = Object.keys(g.intents).sort(function (a, b) { return g.intents[b] - g.intents[a]; })[0];
    if (guess && intents.indexOf(guess) >= 0) select.value = guess;
    function act(url, body, done) {
      status("working…");
      api("POST", url, body).then(function (res) { done(res); load(); })
        .catch(function (e) { status(e.message); });
    }
    var list = el("ul");
    g.items.forEach(function (i) {
      list.appendChild(el("li", { "class": "item" }, el("span", { "class": "text" }, i.text),
        el("span", { "class": "muted" }, "  (" + i.reasons.map(function (r) { return REASONS[r] || r; }).join(", ") +
          (i.intent ? "; bot: " + i.intent + " " + Math.round((i.confidence || 0) * 100) + "%" : "") +
          (i.guess && i.guess !== i.intent ? ", best guess " + i.guess : "") + ")")));
    });
    return el("div", { "class": "group", "data-group": g.id, "data-size": String(g.size) },
      el("h3", null, "#" + n + " · " + g.size + " × ", el("span", { "class": "label" }, g.label)),
      el("div", { "class": "muted" }, reasonText(g.reasons)),
      list,
      el("div", { "class": "actions" },
        select,
        el("button", { type: "button", "class": "assign", onclick: function () {
          if (!select.value) { status("pick the intent first"); return; }
          act("/api/trainer/assign", { items: ids, intent: select.value }, function (res) {
            showDiff(res.diff || "nothing new to add");
            status("added " + (res.added || []).length + " example(s) to " + res.file + " — retrain when ready");
          });
        } }, "Add to intent"),
        el("button", { type: "button", "class": "secondary draft", onclick: function () {
          act("/api/trainer/draft", { items: ids }, function (res) { status("KB draft written: " + res.file); });
        } }, "Draft KB entry"),
        el("button", { type: "button", "class": "secondary dismiss", onclick: function () {
          act("/api/trainer/dismiss", { items: ids }, function (res) { status("dismissed " + res.dismissed); });
        } }, "Dismiss")));
  }

  function load() {
    return api("GET", "/api/trainer/groups").then(function (data) {
      intents = data.intents || [];
      var box = document.getElementById("groups");
      box.textContent = "";
      var total = 0;
      data.groups.forEach(function (g, i) { total += g.size; box.appendChild(groupCard(g, i + 1)); });
      if (!data.groups.length) box.appendChild(el("p", { "class": "muted", id: "empty" }, "Inbox empty: nothing the bot missed."));
      document.getElementById("summary").textContent = "— " + total + " messages in " + data.groups.length + " groups";
      document.body.setAttribute("data-loaded", "1");
    }).catch(function (e) { status(e.message); });
  }

  document.getElementById("reload").addEventListener("click", load);
  document.getElementById("retrain").addEventListener("click", function () {
    var button = this;
    button.disabled = true;
    status("training… (a minute or so)");
    api("POST", "/api/trainer/retrain", {}).then(function (res) {
      status((res.trained ? "trained in " + res.seconds + " s" : "nothing changed") +
             (res.reloaded ? "; the bot now uses the new model" : ""));
      document.body.setAttribute("data-retrained", "1");
    }).catch(function (e) { status(e.message); }).then(function () { button.disabled = false; });
  });
  load();
})();
