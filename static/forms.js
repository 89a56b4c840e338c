// Forms: a JSON textarea says at once where its text stops being JSON (the server checks again);
// a dangerous button stays disabled until its confirmation field holds the exact text asked (and
// any box it needs is ticked); and
// forms marked hx-ext="json-form" are sent as a JSON object of their fields, so job data up to
// the API's 1 MB body limit can be edited (form bodies are limited to 4 KB), and a page's
// selection of job ids fits whatever their length.
(function () {
  "use strict";

  // What the page says, in its language (layout.html's #js-texts); {tokens} are filled in here.
  function texts() {
    return document.getElementById("js-texts").dataset;
  }

  // Browsers word JSON errors differently; where one gives a character position, say the line.
  function where(text, error) {
    const match = /position (\d+)/.exec(error.message);
    if (!match) return "";
    const before = text.slice(0, Number(match[1]));
    const line = before.split("\n").length;
    const column = before.length - before.lastIndexOf("\n");
    return texts().jsonWhere.replace("{line}", line).replace("{column}", column);
  }

  function checkJson(area) {
    const note = document.getElementById(area.getAttribute("aria-describedby"));
    let message = "";
    if (area.value.trim()) {
      try {
        JSON.parse(area.value);
      } catch (error) {
        // Chromium's message ends "at position 23 (line 1 column 24)": said once, by where().
        const detail = error.message.replace(/\s*(in JSON )?at position \d+.*$/, "");
        message = texts().invalidJson
          .replace("{where}", function () { return where(area.value, error); })
          .replace("{detail}", function () { return detail; });
      }
    }
    area.setAttribute("aria-invalid", message ? "true" : "false");
    if (note) {
      note.textContent = message || texts().validJson;
      note.classList.toggle("bad", Boolean(message));
    }
  }

  // The submit button waits for the exact text and for every box the action cannot do without
  // (Obliterate's "force" while jobs are active), rather than confirming and then being refused.
  function checkConfirm(form) {
    const button = form && form.querySelector("button[type=submit]");
    if (!button) return;
    const typed = Array.from(form.querySelectorAll("input[data-must-equal]")).every(function (input) {
      return input.value === input.dataset.mustEqual;
    });
    const ticked = Array.from(form.querySelectorAll("input[data-must-check]")).every(function (box) {
      return box.checked;
    });
    button.disabled = !(typed && ticked);
  }

  // A number field says in words what it takes, not only the browser's "Please match the
  // requested format."
  function checkWhole(input) {
    const ok = /^[0-9]*$/.test(input.value);
    const label = input.closest("label");
    const name = label ? label.firstChild.textContent.trim() : input.name;
    input.setCustomValidity(
      ok ? "" : texts().wholeNumber
        .replace("{name}", function () { return name; })
        .replace("{value}", function () { return JSON.stringify(input.value); })
    );
  }

  // A form's refusal is about what was sent; once the form changes, it no longer applies.
  function clearRefusal(form) {
    const target = form.getAttribute("hx-target");
    const notices = target && document.querySelector(target);
    if (notices) notices.querySelectorAll(".notice-line.bad").forEach(function (line) { line.remove(); });
  }

  // After a job is added, the button rests until the form changes, so a second click does not
  // add a second copy by accident (the notice links the job that was added). The page's own
  // refresh after an action would fill a Duplicate form again: it is skipped while the form rests.
  function resetAdded(form) {
    const button = form.querySelector("button[data-added]");
    if (!button) return;
    button.removeAttribute("data-added");
    button.disabled = false;
    button.textContent = button.dataset.label;
  }

  function addedBy(event) {
    const form = event.detail.elt;
    const status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (!form.matches || !form.matches("form.job-form") || status < 200 || status > 299) return null;
    return form.querySelector("button[type=submit]");
  }

  document.addEventListener("htmx:beforeOnLoad", function (event) {
    const button = addedBy(event);
    if (!button) return;
    button.dataset.label = button.dataset.label || button.textContent;
    button.setAttribute("data-added", "");
    button.textContent = texts().added;
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    const button = addedBy(event);
    if (button) button.disabled = true; // after htmx has re-enabled it
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    const elt = event.detail.elt;
    if (elt.id === "content" && elt.querySelector("form.job-form button[data-added]")) {
      event.preventDefault();
    }
  });

  document.addEventListener("input", function (event) {
    const target = event.target;
    if (target.form) {
      clearRefusal(target.form);
      resetAdded(target.form);
    }
    if (target.matches("input[inputmode=numeric][pattern]")) checkWhole(target);
    if (target.matches("textarea[data-json]")) checkJson(target);
    if (target.matches("input[data-must-equal], input[data-must-check]")) checkConfirm(target.form);
  });

  window.htmx.defineExtension("json-form", {
    onEvent: function (name, event) {
      if (name === "htmx:configRequest") {
        event.detail.headers["Content-Type"] = "application/json";
      }
      return true;
    },
    encodeParameters: function (xhr, parameters) {
      // A field named "ids[]" is sent as a list, "ids", of every value (the ticked jobs).
      const fields = {};
      parameters.forEach(function (value, key) {
        if (key.endsWith("[]")) {
          const name = key.slice(0, -2);
          (fields[name] = fields[name] || []).push(String(value));
        } else {
          fields[key] = String(value);
        }
      });
      return JSON.stringify(fields);
    },
  });
})();
