// Tenantry console behaviour. Loaded with defer after htmx; the CSP forbids
// inline scripts, so everything interactive is wired up here.
(function () {
  "use strict";

  // (a) htmx requests carry the CSRF token from <meta name="csrf-token">.
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") || "" : "";
  }

  document.addEventListener("htmx:configRequest", function (evt) {
    var token = csrfToken();
    if (token && evt.detail && evt.detail.headers) {
      evt.detail.headers["X-CSRF-Token"] = token;
    }
  });

  // (b) "Type the name to confirm": a form with data-confirm-name keeps its
  // submit buttons disabled until the input named "confirm" equals the name.
  // data-confirm-unless is a selector: while the form holds a match (say,
  // the "dry run" radio checked), no confirmation is needed.
  function submitButtons(form) {
    return form.querySelectorAll(
      'button[type="submit"], button:not([type]), input[type="submit"]'
    );
  }

  function confirmed(form) {
    var unless = form.getAttribute("data-confirm-unless");
    if (unless && form.querySelector(unless)) {
      return true;
    }
    var input = form.elements.namedItem("confirm");
    return !!input && input.value === form.getAttribute("data-confirm-name");
  }

  function syncConfirm(form) {
    var ok = confirmed(form);
    submitButtons(form).forEach(function (b) {
      b.disabled = !ok;
    });
  }

  function bindConfirmForms(root) {
    if (!root || !root.querySelectorAll) {
      return;
    }
    var forms = Array.prototype.slice.call(
      root.querySelectorAll("form[data-confirm-name]")
    );
    if (root.matches && root.matches("form[data-confirm-name]")) {
      forms.push(root);
    }
    forms.forEach(function (form) {
      if (form.hasAttribute("data-confirm-bound")) {
        syncConfirm(form);
        return;
      }
      form.setAttribute("data-confirm-bound", "");
      form.addEventListener("input", function () {
        syncConfirm(form);
      });
      form.addEventListener("change", function () {
        syncConfirm(form);
      });
      form.addEventListener("submit", function (evt) {
        if (!confirmed(form)) {
          evt.preventDefault();
        }
      });
      syncConfirm(form);
    });
  }

  // (c) Elements with data-autosubmit submit their form when they change.
  document.addEventListener("change", function (evt) {
    var el = evt.target;
    if (!el || !el.closest) {
      return;
    }
    var trigger = el.closest("[data-autosubmit]");
    var form = trigger && (el.form || trigger.closest("form"));
    if (!form) {
      return;
    }
    if (typeof form.requestSubmit === "function") {
      form.requestSubmit();
    } else {
      form.submit();
    }
  });

  // (d) A part loaded by htmx (hx-trigger="load") that fails to load says
  // so in its [data-load-message] with its data-load-error text, instead
  // of loading forever.
  function loadFailed(evt) {
    var el = evt.detail && evt.detail.elt;
    if (!el || !el.hasAttribute || !el.hasAttribute("data-load-error")) {
      return;
    }
    var msg = el.querySelector("[data-load-message]");
    if (msg) {
      msg.textContent = el.getAttribute("data-load-error");
      msg.classList.add("field-error");
    }
    el.removeAttribute("aria-busy");
  }
  document.addEventListener("htmx:responseError", loadFailed);
  document.addEventListener("htmx:sendError", loadFailed);

  // (e) A button with data-copy="#id" copies that element's text (a new
  // API token, a curl example) and says so for a moment.
  document.addEventListener("click", function (evt) {
    var btn = evt.target && evt.target.closest && evt.target.closest("[data-copy]");
    if (!btn) {
      return;
    }
    var src = document.querySelector(btn.getAttribute("data-copy"));
    if (!src || !navigator.clipboard || btn.hasAttribute("data-copied")) {
      return;
    }
    navigator.clipboard.writeText(src.textContent).then(function () {
      var label = btn.textContent;
      btn.textContent = "Copied";
      btn.setAttribute("data-copied", "");
      setTimeout(function () {
        btn.textContent = label;
        btn.removeAttribute("data-copied");
      }, 1500);
    });
  });

  // Content swapped in by htmx gets the same treatment as the first page.
  document.addEventListener("htmx:load", function (evt) {
    bindConfirmForms(evt.target);
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      bindConfirmForms(document);
    });
  } else {
    bindConfirmForms(document);
  }
})();
