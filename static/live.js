// Live updates: while this page is visible, listen to the server's change stream and fire
// "drainboard:live" when a queue changes; the parts of the page that listen for it (counts, the
// "N new jobs: show" offer, a job page) fetch themselves again. On the front page of several
// Redis servers the stream names the connection that changed, and only that connection's group
// hears "drainboard:group-live". A hidden tab closes the stream, so it costs nothing.
(function () {
  "use strict";
  let source = null;
  let url = null;

  function wanted() {
    const content = document.getElementById("content");
    if (content && content.dataset.live) return content.dataset.live;
    const groups = document.querySelector("[data-live-groups]");
    return groups ? groups.dataset.liveGroups : null;
  }

  // `connection`: the one that changed; none: everything may have (a tab shown again).
  function refresh(connection) {
    const groups = document.querySelectorAll("[data-live-group]");
    if (!groups.length) {
      window.htmx.trigger(document.body, "drainboard:live");
      return;
    }
    groups.forEach(function (group) {
      if (connection === undefined || group.dataset.liveGroup === connection) {
        window.htmx.trigger(group, "drainboard:group-live");
      }
    });
  }

  function close() {
    if (source) {
      source.close();
      source = null;
    }
  }

  function sync() {
    const next = document.visibilityState === "visible" ? wanted() : null;
    if (next === url && source) return;
    close();
    url = next;
    if (url) {
      source = new EventSource(url);
      source.addEventListener("changed", function (event) {
        refresh(event.data);
      });
    }
  }

  document.addEventListener("visibilitychange", function () {
    const wasClosed = !source;
    sync();
    if (wasClosed && source) refresh(); // catch up on what changed while hidden
  });
  document.addEventListener("htmx:afterSettle", sync);
  document.addEventListener("DOMContentLoaded", sync);
})();
