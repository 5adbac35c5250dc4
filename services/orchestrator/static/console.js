// The review console's live parts: the queue refreshes itself when drafts arrive or are
// decided, a draft page says when it went out of date, and a decision form is sent once.
(function () {
  "use strict";

  function listen(onChange) {
    var badge = document.querySelector(".live");
    var source = new EventSource("/events");
    source.addEventListener("changed", onChange);
    source.onopen = function () { if (badge) badge.classList.remove("off"); };
    source.onerror = function () { if (badge) badge.classList.add("off"); };
  }

  // The queue page replaces its list, counts and page links with the same address's view
  // (its filter and page), so a draft outside the filter never appears.
  var view = document.getElementById("queue-view");
  if (view) {
    var refreshing = false;
    var again = false;
    var shown = null;
    var refresh = function () {
      if (refreshing) { again = true; return; } // a change during a fetch: fetch once more
      refreshing = true;
      again = false;
      fetch("/queue" + location.search, { credentials: "same-origin" })
        .then(function (r) {
          if (r.status === 401) { location.reload(); return null; }
          if (!r.ok) return null;
          var total = r.headers.get("X-Pending-Drafts");
          return r.text().then(function (html) { return { html: html, total: total }; });
        })
        .then(function (got) {
          if (!got) return;
          if (got.html !== shown) { view.innerHTML = got.html; shown = got.html; }
          var n = Number(got.total || 0);
          document.title = (n ? "(" + n + ") " : "") + "Queue · CRM mail agent";
        })
        .catch(function () {})
        .finally(function () {
          refreshing = false;
          if (again) refresh();
        });
    };
    listen(refresh);
    setInterval(refresh, 30000); // in case an event was missed while reconnecting
  }

  var draft = document.getElementById("draft");
  if (draft) {
    var url = "/drafts/" + encodeURIComponent(draft.dataset.jobId) + "/state";
    var check = function () {
      fetch(url, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (state) {
          if (state.version === draft.dataset.version) return;
          var underWay = document.querySelector('[data-state="carrying_out"]');
          var form = document.getElementById("decision-form");
          if (underWay && !form) { location.reload(); return; }
          document.getElementById("changed").hidden = false;
        })
        .catch(function () {});
    };
    listen(check);
  }

  var form = document.getElementById("decision-form");
  if (form) {
    form.addEventListener("submit", function () {
      // The pressed button's value is already in the form data; a second press (a double
      // click) is stopped here, and would be carried out once anyway.
      setTimeout(function () {
        form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      }, 0);
    });
  }
})();
