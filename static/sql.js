// SQL console behaviour (/sql), loaded with defer on that page only. The CSP
// forbids inline scripts and styles, so everything is wired up here and
// shown or hidden with classes.
//
//   - scope radios show the matching target input ([data-scope]) and disable
//     the others, so they stay out of the query string;
//   - the editor gets line numbers in its gutter, scroll-synced, and
//     Ctrl/Cmd+Enter submits the form;
//   - named parameters (:name, @name, $name) typed in the SQL get a field
//     "p_name"; fields of parameters no longer used are hidden and disabled;
//   - a query over many tenants (scope other than "tenant") turns the GET
//     form into a POST to /sql with its CSRF token: a GET never starts a
//     fan-out, so a link (a shared one, or another site's) only fills the
//     form;
//   - write mode turns the form into a POST to /sql/write, enables its
//     CSRF token and makes the Run button a danger button;
//   - the "Save this query" form saves what the editor holds now;
//   - forms with data-confirm ask before they submit;
//   - the share link copies its URL.
(function () {
  "use strict";

  // params returns the named parameters of sql, each once, in order, without
  // their prefix. Text in strings, quoted identifiers and comments is
  // skipped, as internal/console.Params (and SQLite) does.
  var IDENT;
  try {
    IDENT = new RegExp("[\\p{L}\\p{Nd}_]*", "uy");
  } catch (e) {
    IDENT = /[A-Za-z0-9_]*/y;
  }

  function skipTo(s, i, end) {
    var k = s.indexOf(end, i);
    return k < 0 ? s.length : k + end.length;
  }

  function skipQuoted(s, i, q) {
    for (var j = i + 1; j < s.length; j++) {
      if (s[j] === q) {
        if (s[j + 1] === q) {
          j++;
          continue;
        }
        return j + 1;
      }
    }
    return s.length;
  }

  function params(sql) {
    var names = [];
    var seen = Object.create(null);
    var i = 0;
    while (i < sql.length) {
      var c = sql[i];
      if (c === "'" || c === '"' || c === "`") {
        i = skipQuoted(sql, i, c);
      } else if (c === "[") {
        i = skipTo(sql, i + 1, "]");
      } else if (c === "-" && sql[i + 1] === "-") {
        i = skipTo(sql, i + 2, "\n");
      } else if (c === "/" && sql[i + 1] === "*") {
        i = skipTo(sql, i + 2, "*/");
      } else if ((c === ":" || c === "@" || c === "$") && i + 1 < sql.length) {
        IDENT.lastIndex = i + 1;
        var m = IDENT.exec(sql);
        var name = m ? m[0] : "";
        if (name && !seen[name]) {
          seen[name] = true;
          names.push(name);
        }
        i += 1 + name.length;
      } else {
        i++;
      }
    }
    return names;
  }

  function toggle(el, hidden) {
    if (el) {
      el.classList.toggle("hidden", hidden);
    }
  }

  function init() {
    var form = document.getElementById("sql-form");
    if (!form) {
      return;
    }
    var editor = form.querySelector('textarea[name="sql"]');
    var gutter = form.querySelector(".sql-gutter");
    var paramsBox = document.getElementById("sql-params");
    var paramsList = document.getElementById("sql-params-list");
    var write = form.querySelector('input[name="write"]');
    var csrf = form.querySelector("input[data-sql-csrf]");
    var run = form.querySelector(".sql-run");
    var runLabel = form.querySelector(".sql-run-label");
    var mode = form.querySelector(".sql-mode");

    // Scope.
    function scope() {
      var checked = form.querySelector('input[name="scope"]:checked');
      return checked ? checked.value : "tenant";
    }

    function syncScope() {
      var current = scope();
      form.querySelectorAll("[data-scope]").forEach(function (block) {
        var off = block.getAttribute("data-scope") !== current;
        toggle(block, off);
        block.querySelectorAll("input, textarea, select").forEach(function (el) {
          el.disabled = off;
        });
      });
      if (write && write.disabled) {
        write.checked = false;
      }
      syncWrite();
    }

    // Write mode, and the method: a POST for a write or a fan-out.
    function syncWrite() {
      var on = !!write && write.checked && !write.disabled;
      var post = on || scope() !== "tenant";
      form.setAttribute("method", post ? "post" : "get");
      form.setAttribute(
        "action",
        form.getAttribute(on ? "data-write-action" : "data-read-action")
      );
      form.classList.toggle("sql-writing", on);
      if (csrf) {
        csrf.disabled = !post;
      }
      if (run) {
        run.classList.toggle("btn-danger", on);
        run.classList.toggle("btn-primary", !on);
      }
      if (runLabel) {
        runLabel.textContent = on ? "Run with write access\u2026" : "Run";
      }
      if (mode) {
        mode.textContent = on ? "Write access" : "Read-only";
      }
    }

    form.addEventListener("change", function (evt) {
      var el = evt.target;
      if (el.name === "scope") {
        syncScope();
      } else if (el === write) {
        syncWrite();
      }
    });

    // Gutter.
    var lines = 0;
    function syncGutter() {
      if (!editor || !gutter) {
        return;
      }
      var n = editor.value.split("\n").length;
      if (n !== lines) {
        var out = [];
        for (var i = 1; i <= n; i++) {
          out.push(i);
        }
        gutter.textContent = out.join("\n");
        lines = n;
      }
      gutter.scrollTop = editor.scrollTop;
    }

    // Parameters.
    function paramField(name) {
      var id = "sql-param-" + name;
      var field = document.createElement("div");
      field.className = "field sql-param";
      field.setAttribute("data-param-field", name);
      field.setAttribute("data-sql-added", "");
      var label = document.createElement("label");
      label.className = "label";
      label.htmlFor = id;
      var code = document.createElement("code");
      code.textContent = name;
      label.appendChild(code);
      var input = document.createElement("input");
      input.className = "input mono";
      input.type = "text";
      input.id = id;
      input.name = "p_" + name;
      input.autocomplete = "off";
      input.spellcheck = false;
      input.setAttribute("data-testid", "param-input");
      input.setAttribute("data-param", name);
      field.appendChild(label);
      field.appendChild(input);
      return field;
    }

    function syncParams() {
      if (!editor || !paramsList) {
        return;
      }
      var names = params(editor.value);
      var used = Object.create(null);
      names.forEach(function (n) {
        used[n] = true;
      });
      var have = Object.create(null);
      paramsList.querySelectorAll("[data-param-field]").forEach(function (field) {
        var name = field.getAttribute("data-param-field");
        var input = field.querySelector("input");
        have[name] = true;
        if (used[name]) {
          toggle(field, false);
          if (input) {
            input.disabled = false;
          }
        } else if (field.hasAttribute("data-sql-added") && input && input.value === "") {
          // A half-typed name (":ten" on the way to ":tenant") leaves nothing.
          field.remove();
          delete have[name];
        } else {
          toggle(field, true);
          if (input) {
            input.disabled = true;
          }
        }
      });
      names.forEach(function (n) {
        if (!have[n]) {
          paramsList.appendChild(paramField(n));
        }
      });
      toggle(paramsBox, names.length === 0);
    }

    var paramsTimer = 0;
    if (editor) {
      editor.addEventListener("input", function () {
        syncGutter();
        clearTimeout(paramsTimer);
        paramsTimer = setTimeout(syncParams, 250);
      });
      editor.addEventListener("scroll", syncGutter);
      // A resize (the textarea's handle) changes nothing in the gutter's
      // text but may change its scroll.
      if (typeof ResizeObserver === "function") {
        new ResizeObserver(syncGutter).observe(editor);
      }
    }

    // Ctrl/Cmd+Enter runs the query from anywhere in the form.
    form.addEventListener("keydown", function (evt) {
      if (evt.key === "Enter" && (evt.ctrlKey || evt.metaKey) && !evt.isComposing) {
        evt.preventDefault();
        syncParams();
        if (typeof form.requestSubmit === "function") {
          form.requestSubmit();
        } else {
          form.submit();
        }
      }
    });
    form.addEventListener("submit", function () {
      clearTimeout(paramsTimer);
      syncParams();
    });

    // "Save this query" saves the editor's current SQL and tenant.
    document.querySelectorAll("form[data-sql-save]").forEach(function (save) {
      save.addEventListener("submit", function () {
        var sql = save.querySelector('[data-sql-sync="sql"]');
        var tenant = save.querySelector('[data-sql-sync="tenant"]');
        var tenantInput = form.querySelector('input[name="tenant"]');
        if (sql && editor) {
          sql.value = editor.value;
        }
        if (tenant && tenantInput) {
          tenant.value = scope() === "tenant" ? tenantInput.value : "";
        }
        ["scope", "pattern", "list"].forEach(function (name) {
          var hidden = save.querySelector('[data-sql-sync="' + name + '"]');
          var field = form.querySelector('[name="' + name + '"]:not([type="radio"])');
          if (!hidden) {
            return;
          }
          if (name === "scope") {
            hidden.value = scope();
          } else if (field) {
            hidden.value = field.value;
          }
        });
      });
    });

    syncScope();
    syncGutter();
    syncParams();
  }

  // Forms with data-confirm (deleting a saved query) ask first.
  document.addEventListener("submit", function (evt) {
    var f = evt.target;
    if (f && f.matches && f.matches("form[data-confirm]")) {
      if (!window.confirm(f.getAttribute("data-confirm"))) {
        evt.preventDefault();
      }
    }
  });

  // The share link copies its URL (a plain click; the link still works
  // opened in a new tab, and where the clipboard is not available).
  document.addEventListener("click", function (evt) {
    var a = evt.target && evt.target.closest && evt.target.closest("a[data-sql-copy]");
    if (!a || evt.button !== 0 || evt.ctrlKey || evt.metaKey || evt.shiftKey || evt.altKey) {
      return;
    }
    if (!navigator.clipboard || !window.isSecureContext) {
      return;
    }
    evt.preventDefault();
    var label = a.querySelector(".sql-copy-label") || a;
    navigator.clipboard.writeText(a.href).then(
      function () {
        var text = label.getAttribute("data-text") || label.textContent;
        label.setAttribute("data-text", text);
        label.textContent = "Link copied";
        setTimeout(function () {
          label.textContent = text;
        }, 2000);
      },
      function () {
        window.location.href = a.href;
      }
    );
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
