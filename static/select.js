// Select and act on a queue page: a checkbox a row, one for the whole page, and a bar whose
// buttons send the ticked ids (the "ids[]" fields, listed by forms.js's json-form) to one
// request. The bar says how many are ticked, and its confirmations say it too.
(function () {
  "use strict";

  function boxes() {
    return Array.from(document.querySelectorAll('input[name="ids[]"][form="selection"]'));
  }

  function update() {
    const bar = document.getElementById("selection");
    if (!bar) return;
    const all = boxes();
    const n = all.filter(function (box) { return box.checked; }).length;
    // The words come from the page (layout.html's #js-texts, the buttons' data-confirm-*), in
    // its language; {n} is the count.
    const texts = document.getElementById("js-texts").dataset;
    document.getElementById("selection-count").textContent =
      n ? texts.selected.replace("{n}", n) : texts.noneSelected;
    bar.querySelectorAll("button[data-verb]").forEach(function (button) {
      button.disabled = n === 0;
      const confirm = n === 1 ? button.dataset.confirmOne : button.dataset.confirmMany;
      button.setAttribute("hx-confirm", confirm.replace("{n}", n));
    });
    const page = document.querySelector("[data-select-page]");
    if (page) {
      page.checked = n > 0 && n === all.length;
      page.indeterminate = n > 0 && n < all.length;
    }
  }

  document.addEventListener("change", function (event) {
    const target = event.target;
    if (target.matches("[data-select-page]")) {
      boxes().forEach(function (box) { box.checked = target.checked; });
      update();
    } else if (target.matches('input[name="ids[]"]')) {
      update();
    }
  });

  // Done: the ticks are cleared, as the rows they named have moved.
  document.addEventListener("htmx:afterRequest", function (event) {
    const bar = document.getElementById("selection");
    if (!bar || !event.detail.successful || !bar.contains(event.detail.elt)) return;
    boxes().forEach(function (box) { box.checked = false; });
    update();
  });

  document.addEventListener("DOMContentLoaded", update);
  // The browser may restore ticks on going back to the page.
  window.addEventListener("pageshow", update);
})();
