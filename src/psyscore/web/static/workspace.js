// psyscore workspace: keyboard answering for the visit form. No framework; the page works
// without this file (every answer button is a plain form post).
// Number key: answer the current item and move on; s: skip (missing); Backspace: back.
// Each answer is POSTed at once with the session's CSRF token, so a closed tab loses nothing.
"use strict";
(function () {
  const screen = document.getElementById("form-screen");
  if (!screen) {
    return;
  }
  const csrf = screen.dataset.csrf;
  const items = Array.from(screen.querySelectorAll("li.item"));
  let current = Math.max(0, items.findIndex((li) => li.dataset.item === screen.dataset.current));
  let busy = false;

  function show(index) {
    items.forEach((li, i) => li.classList.toggle("current", i === index));
    current = index;
    const li = items[index];
    const chosen = li.querySelector("button.chosen") || li.querySelector("button.anchor");
    if (chosen) {
      chosen.focus({ preventScroll: true });
    }
    li.scrollIntoView({ block: "center" });
  }

  function showAlert(message) {
    const box = document.getElementById("live-alert");
    box.textContent = "CRITICAL: " + message;
    box.hidden = false;
  }

  async function answer(button) {
    if (busy) {
      return;
    }
    busy = true;
    const li = button.closest("li.item");
    const form = button.closest("form");
    const body = new URLSearchParams(new FormData(form));
    body.set("value", button.value);
    try {
      const response = await fetch(form.action, {
        method: "POST",
        headers: { "X-CSRF-Token": csrf, "Accept": "application/json" },
        body: body,
        credentials: "same-origin",
      });
      if (!response.ok) {
        form.requestSubmit(button); // let the server say what is wrong, as without script
        return;
      }
      const saved = await response.json();
      li.querySelectorAll("button.anchor").forEach((b) => b.classList.toggle("chosen", b === button));
      li.classList.add("done");
      if (saved.alert) {
        showAlert(saved.alert);
      }
      const index = items.indexOf(li);
      if (index + 1 < items.length) {
        show(index + 1);
      } else {
        window.location.assign(screen.dataset.nextUrl);
      }
    } finally {
      busy = false;
    }
  }

  screen.addEventListener("click", (event) => {
    const button = event.target.closest("button.anchor");
    if (button) {
      event.preventDefault();
      answer(button);
    }
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    const li = items[current];
    if (event.key === "Backspace") {
      event.preventDefault();
      if (current > 0) {
        show(current - 1);
      } else if (screen.dataset.prevUrl) {
        window.location.assign(screen.dataset.prevUrl);
      }
      return;
    }
    const key = event.key.toLowerCase();
    const button = li.querySelector('button[data-key="' + CSS.escape(key) + '"]');
    if (button) {
      event.preventDefault();
      answer(button);
    }
  });

  show(current);
})();
