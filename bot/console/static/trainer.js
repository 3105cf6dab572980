// The trainer page: review inbox groups and their actions, recent knowledge answers. User text only via
// Console.el (text nodes).
(function () {
  "use strict";
  var el = Console.el, api = Console.api;
  var REASONS = { out_of_scope: "out of scope", fallback: "not understood", low_confidence: "unsure",
                  escalated: "escalated", rated_down: "rated 👎", rephrased: "asked again",
                  asked_for_person: "wanted a person", marked_wrong: "marked wrong" };
  var intents = [];
  var filter = document.getElementById("reason-filter");

  function status(text) { document.getElementById("status").textContent = text || ""; }

  function showDiff(text) {
    var pre = document.getElementById("diff");
    pre.textContent = text || "";
    pre.hidden = !text;
  }

  function reasonText(reasons) {
    return Object.keys(reasons).map(function (r) { return (REASONS[r] || r) + " " + reasons[r]; }).join(", ");
  }

  function percent(x) { return x === null || x === undefined ? "" : " " + Math.round(x * 100) + "%"; }

  function entryText(a) { return (a.entry || "?") + " (" + (a.kind || "kb") + percent(a.confidence) + ")"; }

  function signalText(s) {
    var text = REASONS[s.reason] || s.reason;
    if (s.text) text += ": “" + s.text + "”";
    if (s.similarity !== undefined && s.similarity !== null) text += " (similarity " + s.similarity + ")";
    if (s.by) text += " by " + s.by;
    if (s.note) text += " — " + s.note;
    return text;
  }

  function itemLine(i) {
    var li = el("li", { "class": "item", "data-item": i.id }, el("span", { "class": "text" }, i.text),
      el("span", { "class": "muted" }, "  (" + i.reasons.map(function (r) { return REASONS[r] || r; }).join(", ") +
        (i.intent ? "; bot: " + i.intent + " " + Math.round((i.confidence || 0) * 100) + "%" : "") +
        (i.guess && i.guess !== i.intent ? ", best guess " + i.guess : "") + ")"));
    if (i.answer) {
      li.appendChild(el("div", { "class": "answer muted" }, "↳ answered with ",
        el("span", { "class": "entry" }, entryText(i.answer)), ": ", el("span", { "class": "answer-text" }, i.answer.text || "")));
      (i.signals || []).forEach(function (s) {
        li.appendChild(el("div", { "class": "answer muted signal" }, "then " + signalText(s)));
      });
      if (i.comment) li.appendChild(el("div", { "class": "answer muted" }, "user's comment: “" + i.comment + "”"));
    }
    return li;
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
    g.items.forEach(function (i) { list.appendChild(itemLine(i)); });
    return el("div", { "class": "group", "data-group": g.id, "data-size": String(g.size) },
      el("h3", null, "#" + n + " · " + g.size + " × ", el("span", { "class": "label" }, g.label)),
      el("div", { "class": "muted reasons" }, reasonText(g.reasons)),
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

  function fillFilter(reasons) {
    if (filter.getAttribute("data-filled")) return;
    reasons.forEach(function (r) { filter.appendChild(el("option", { value: r }, REASONS[r] || r)); });
    filter.setAttribute("data-filled", "1");
  }

  function loadGroups() {
    var url = "/api/trainer/groups" + (filter.value ? "?reason=" + encodeURIComponent(filter.value) : "");
    return api("GET", url).then(function (data) {
      intents = data.intents || [];
      fillFilter(data.reasons || []);
      var box = document.getElementById("groups");
      box.textContent = "";
      var total = 0;
      data.groups.forEach(function (g, i) { total += g.size; box.appendChild(groupCard(g, i + 1)); });
      if (!data.groups.length) box.appendChild(el("p", { "class": "muted", id: "empty" },
        filter.value ? "Nothing open for this reason." : "Inbox empty: nothing the bot missed."));
      document.getElementById("summary").textContent = "— " + total + " messages in " + data.groups.length + " groups";
    });
  }

  function answerRow(a) {
    var note = el("input", { type: "text", "class": "note", placeholder: "what is wrong (optional)", "aria-label": "note" });
    var filed = a.reasons.map(function (r) { return REASONS[r] || r; }).join(", ");
    var button = el("button", { type: "button", "class": "secondary wrong", onclick: function () {
      button.disabled = true;
      status("working…");
      api("POST", "/api/trainer/wrong", { answer: a.id, note: note.value }).then(function (res) {
        status("marked wrong: “" + res.item.text + "” is in the inbox");
        load();
      }).catch(function (e) { status(e.message); button.disabled = false; });
    } }, "Wrong answer");
    var marked = a.reasons.indexOf("marked_wrong") >= 0;
    if (marked) button.disabled = true;
    return el("tr", { "class": "answer-row", "data-answer": a.id, "data-reasons": a.reasons.join(" ") },
      el("td", { "class": "question" }, a.question || ""),
      el("td", { "class": "answer-text" }, a.text || ""),
      el("td", { "class": "entry" }, entryText(a), filed ? el("div", { "class": "muted filed" }, "in the inbox: " + filed) : null),
      el("td", null, note, " ", button));
  }

  function loadAnswers() {
    return api("GET", "/api/trainer/answers?limit=20").then(function (data) {
      var body = document.querySelector("#answers tbody");
      body.textContent = "";
      data.answers.forEach(function (a) { body.appendChild(answerRow(a)); });
      if (!data.answers.length) body.appendChild(el("tr", null, el("td", { colspan: "4", "class": "muted" }, "No knowledge answers yet.")));
    });
  }

  function load() {
    document.body.removeAttribute("data-loaded");
    // one after the other: each syncs the inbox from the event stream first
    return loadGroups().then(loadAnswers).then(function () { document.body.setAttribute("data-loaded", "1"); })
      .catch(function (e) { status(e.message); });
  }

  document.getElementById("reload").addEventListener("click", load);
  filter.addEventListener("change", load);
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
