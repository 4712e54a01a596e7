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
  let leaving = false;

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

  // keys typed while an answer is being saved wait their turn: a fast typist loses nothing
  let queue = Promise.resolve();
  function answer(button) {
    queue = queue.then(() => save(button));
    return queue;
  }

  async function save(button) {
    if (leaving) {
      return;
    }
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
        leaving = true;
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
      // changing one answer from the review screen goes back to it
      if (index + 1 < items.length && screen.dataset.back !== "review") {
        show(index + 1);
      } else {
        leaving = true;
        window.location.assign(screen.dataset.nextUrl);
      }
    } catch (error) {
      leaving = true;
      form.requestSubmit(button); // the server is unreachable or the reply unreadable
    }
  }

  screen.addEventListener("click", (event) => {
    const button = event.target.closest("button.anchor");
    if (button) {
      event.preventDefault();
      answer(button);
    }
  });

  function key(name) {
    // resolved when its turn comes, so each key answers the item current at that moment
    queue = queue.then(() => {
      if (leaving) {
        return undefined;
      }
      if (name === "backspace") {
        if (current > 0) {
          show(current - 1);
        } else if (screen.dataset.prevUrl) {
          leaving = true;
          window.location.assign(screen.dataset.prevUrl);
        }
        return undefined;
      }
      const button = items[current].querySelector('button[data-key="' + CSS.escape(name) + '"]');
      return button ? save(button) : undefined;
    });
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    const name = event.key.toLowerCase();
    if (name === "backspace" || /^[0-9s]$/.test(name)) {
      event.preventDefault();
      key(name);
    }
  });

  show(current);
  screen.dataset.ready = "keys"; // the keyboard works from here on (tests wait for it)
})();
