// Per-browser settings, kept in localStorage (nothing is sent to the server): rows per page and
// the state tab a queue page opens on, the theme, and whether actions ask for confirmation.
// Loaded without `defer`, so the theme is set before the page is painted.
(function () {
  "use strict";
  const KEY = "drainboard.settings";

  function load() {
    try {
      return JSON.parse(window.localStorage.getItem(KEY)) || {};
    } catch (error) {
      return {};
    }
  }

  function applyTheme(settings) {
    const root = document.documentElement;
    if (settings.theme === "light" || settings.theme === "dark") root.dataset.theme = settings.theme;
    else delete root.dataset.theme;
  }

  applyTheme(load());

  // Queue page links open with the chosen rows per page and state tab, unless they name theirs.
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.verb !== "get") return;
    const settings = load();
    const url = new URL(event.detail.path, window.location.href);
    if (!/\/queue\/[^/]+$/.test(url.pathname)) return;
    if (settings.pageSize && !url.searchParams.has("pageSize")) {
      url.searchParams.set("pageSize", settings.pageSize);
    }
    if (settings.status && !url.searchParams.has("status")) {
      url.searchParams.set("status", settings.status);
    }
    event.detail.path = url.pathname + url.search;
  });

  // "Confirm actions: off" skips the confirmation dialogs, except where a name must be typed.
  document.addEventListener("htmx:confirm", function (event) {
    if (!event.detail.question || load().confirm !== "off") return;
    if (event.target.closest("[data-always-confirm]")) return;
    event.preventDefault();
    event.detail.issueRequest(true);
  });

  // The settings page: show what is stored, store what is chosen.
  document.addEventListener("change", function (event) {
    const form = event.target.closest("form.browser-settings");
    if (!form) return;
    const settings = {};
    new FormData(form).forEach(function (value, key) {
      if (value) settings[key] = String(value);
    });
    window.localStorage.setItem(KEY, JSON.stringify(settings));
    applyTheme(settings);
    const saved = form.querySelector(".saved");
    if (saved) saved.hidden = false;
  });

  function fill() {
    const form = document.querySelector("form.browser-settings");
    if (!form) return;
    const settings = load();
    Array.prototype.forEach.call(form.elements, function (field) {
      if (field.name && settings[field.name] !== undefined) field.value = settings[field.name];
    });
  }

  document.addEventListener("DOMContentLoaded", fill);
  document.addEventListener("htmx:afterSettle", fill);
})();
