// fijax pages: live job progress (server-sent events), job actions, job forms through the API, image zoom.
// Plain JavaScript, no libraries; every request is same-origin and carries the page's CSRF token.
"use strict";

const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

async function api(method, url, body) {
  const init = {method, headers: {"X-CSRF-Token": csrf()}, credentials: "same-origin"};
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const r = await fetch(url, init);
  let data = null;
  try { data = await r.json(); } catch (e) { data = null; }
  if (!r.ok) {
    const detail = data && data.detail ? data.detail : `${r.status} ${r.statusText}`;
    throw new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
  }
  return data;
}

function showError(el, err) {
  if (!el) return;
  el.textContent = err ? String(err.message || err) : "";
  el.hidden = !err;
}

// -- live progress -----------------------------------------------------------------------------
function setFields(root, ev) {
  const pct = Math.round((ev.progress || 0) * 100);
  root.querySelectorAll('[data-field="state"]').forEach((el) => {
    el.textContent = ev.state;
    el.className = `state state-${ev.state}`;
  });
  root.querySelectorAll('[data-field="progress"]').forEach((el) => { el.value = ev.progress || 0; el.textContent = `${pct}%`; });
  root.querySelectorAll('[data-field="percent"]').forEach((el) => { el.textContent = `${pct}%`; });
  if (ev.message !== undefined) {
    root.querySelectorAll('[data-field="message"]').forEach((el) => { el.textContent = ev.message || "—"; });
  }
}

function follow(root, onEnd) {
  const id = root.dataset.job;
  const source = new EventSource(`/jobs/${encodeURIComponent(id)}/events`);
  source.addEventListener("progress", (e) => setFields(root, JSON.parse(e.data)));
  source.addEventListener("end", (e) => {
    source.close();
    const job = JSON.parse(e.data);
    setFields(root, job);
    if (onEnd) onEnd(job);
  });
  source.onerror = () => {
    // The stream ends with an "end" event; an error before that (server gone) stops following.
    if (source.readyState === EventSource.CLOSED) return;
    source.close();
  };
  return source;
}

function initLive() {
  const status = document.getElementById("job-status");
  if (status && status.dataset.live) {
    follow(status, () => window.location.reload());
  }
  // The jobs list follows at most 8 active rows at once; when one ends, the list is drawn again
  // (once, a moment later) so its verdict or error shows.
  let reload = null;
  const redraw = () => { if (!reload) reload = window.setTimeout(() => window.location.reload(), 1000); };
  document.querySelectorAll("#jobs-table tr[data-live]").forEach((row, i) => {
    if (i < 8) follow(row, redraw);
  });
}

// -- job actions -------------------------------------------------------------------------------
function initActions() {
  document.querySelectorAll("button[data-action]").forEach((btn) => {
    btn.addEventListener("click", async () => {
      const id = btn.dataset.job;
      const errorEl = document.getElementById("action-error");
      showError(errorEl, null);
      if (btn.dataset.confirm && !window.confirm(btn.dataset.confirm)) return;
      btn.disabled = true;
      try {
        if (btn.dataset.action === "cancel") {
          await api("POST", `/jobs/${encodeURIComponent(id)}/cancel`);
          const msg = document.getElementById("job-message");
          if (msg) msg.textContent = "cancel requested…";
        } else if (btn.dataset.action === "resume") {
          await api("POST", `/jobs/${encodeURIComponent(id)}/resume`);
          window.location.reload();
        } else if (btn.dataset.action === "delete") {
          await api("DELETE", `/jobs/${encodeURIComponent(id)}`);
          window.location.assign("/ui/jobs");
        } else if (btn.dataset.action === "report") {
          const out = document.getElementById("report-status");
          out.textContent = "writing the training report…";
          const job = await api("POST", "/ops/report_model", {model: btn.dataset.model});
          const files = (job.result && job.result.files) || {};
          const html = files.html;
          out.textContent = "";
          if (html) {
            const a = document.createElement("a");
            a.href = `/ui/jobs/${encodeURIComponent(job.id)}/view/${html.path}`;
            a.target = "_blank";
            a.rel = "noopener";
            a.id = "report-link";
            a.textContent = "Open the training report";
            out.appendChild(a);
            a.focus();
          }
          btn.disabled = false;
        }
      } catch (err) {
        btn.disabled = false;
        const out = btn.dataset.action === "report" ? document.getElementById("report-status") : null;
        if (out) out.textContent = "";
        showError(errorEl || (out && out.parentElement.nextElementSibling), err);
        if (!errorEl && out) out.textContent = `Failed: ${err.message}`;
      }
    });
  });
}

// -- forms that start a job --------------------------------------------------------------------
function optionValue(el) {
  const kind = el.dataset.kind || "str";
  if (kind === "bool") return el.checked;
  if (kind === "flag") return el.checked ? el.value : undefined;
  const raw = (el.value || "").trim();
  if (raw === "") return undefined;
  if (kind === "int") return parseInt(raw, 10);
  if (kind === "float") return parseFloat(raw);
  if (kind === "text") return raw.split(",").map((s) => s.trim()).filter((s) => s);
  return raw;
}

async function buildForm(form) {
  const fd = new FormData();
  const options = {};
  const given = new Set();
  form.querySelectorAll("input[type=file][data-input]").forEach((el) => {
    if (el.files && el.files.length) {
      fd.append(el.dataset.input, el.files[0], el.files[0].name);
      given.add(el.dataset.input);
    }
  });
  for (const sel of form.querySelectorAll("select[data-pick]")) {
    const name = sel.dataset.pick;
    if (sel.value && !given.has(name)) {
      const r = await fetch(sel.value, {credentials: "same-origin"});
      if (!r.ok) throw new Error(`could not read the picked image (${r.status})`);
      fd.append(name, await r.blob(), `${name}.tif`);
      given.add(name);
    }
  }
  form.querySelectorAll("[data-option]").forEach((el) => {
    const v = optionValue(el);
    if (v !== undefined && !(Array.isArray(v) && !v.length)) options[el.dataset.option] = v;
  });
  const joined = {};
  form.querySelectorAll("input[type=checkbox][data-option-join]").forEach((el) => {
    const key = el.dataset.optionJoin;
    joined[key] = joined[key] || [];
    if (el.checked) {
      joined[key].push(el.value);
      if (el.dataset.addsMethod) {
        joined.methods = joined.methods || [];
        joined.methods.push(el.dataset.addsMethod);
      }
    }
  });
  for (const [key, values] of Object.entries(joined)) {
    const unique = [...new Set(values)];
    if (unique.length) options[key] = unique.join(",");
  }
  if ("methods" in joined && !options.methods) {
    throw new Error("choose at least one method or model");
  }
  fd.append("options", JSON.stringify(options));
  return fd;
}

function initForms() {
  document.querySelectorAll("form.job-form").forEach((form) => {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const errorEl = form.querySelector(".error");
      const button = form.querySelector("button[type=submit]");
      showError(errorEl, null);
      button.disabled = true;
      try {
        const fd = await buildForm(form);
        const job = await api("POST", `/ops/${encodeURIComponent(form.dataset.op)}?wait=false`, fd);
        window.location.assign(`/ui/jobs/${encodeURIComponent(job.id)}`);
      } catch (err) {
        showError(errorEl, err);
        button.disabled = false;
      }
    });
  });
}

// -- zoom --------------------------------------------------------------------------------------
function initZoom() {
  const dialog = document.getElementById("zoom");
  if (!dialog) return;
  const img = document.getElementById("zoom-img");
  const view = document.getElementById("zoom-view");
  const level = document.getElementById("zoom-level");
  let scale = 1;
  let opener = null;
  const apply = () => {
    img.style.width = `${Math.max(1, Math.round(img.naturalWidth * scale))}px`;
    img.style.height = `${Math.max(1, Math.round(img.naturalHeight * scale))}px`;
    level.textContent = `${Math.round(scale * 100)}%`;
    img.style.imageRendering = scale >= 1 ? "pixelated" : "auto";  // see the pixels when magnified
  };
  const fit = () => {
    if (!img.naturalWidth) return;
    scale = Math.min(view.clientWidth / img.naturalWidth, view.clientHeight / img.naturalHeight);
    scale = Math.max(0.05, scale);
    apply();
  };
  const zoomBy = (f) => { scale = Math.min(64, Math.max(0.05, scale * f)); apply(); };
  img.addEventListener("load", fit);
  document.querySelectorAll("button.zoomable").forEach((btn) => {
    btn.addEventListener("click", () => {
      opener = btn;
      document.getElementById("zoom-title").textContent = btn.dataset.title || "Image";
      img.alt = btn.dataset.title || "";
      if (img.getAttribute("src") === btn.dataset.src && img.complete) { dialog.showModal(); fit(); }
      else { img.src = btn.dataset.src; dialog.showModal(); }
      view.focus();
    });
  });
  dialog.querySelectorAll("button[data-zoom]").forEach((b) => {
    b.addEventListener("click", () => {
      const what = b.dataset.zoom;
      if (what === "in") zoomBy(1.5);
      else if (what === "out") zoomBy(1 / 1.5);
      else if (what === "fit") fit();
      else dialog.close();
    });
  });
  dialog.addEventListener("keydown", (e) => {
    if (e.key === "+" || e.key === "=") { zoomBy(1.5); e.preventDefault(); }
    else if (e.key === "-") { zoomBy(1 / 1.5); e.preventDefault(); }
    else if (e.key === "0") { fit(); e.preventDefault(); }
    else if (e.target === view && e.key.startsWith("Arrow")) {
      const d = 60;
      view.scrollBy(e.key === "ArrowLeft" ? -d : e.key === "ArrowRight" ? d : 0,
                    e.key === "ArrowUp" ? -d : e.key === "ArrowDown" ? d : 0);
      e.preventDefault();
    }
  });
  view.addEventListener("wheel", (e) => { e.preventDefault(); zoomBy(e.deltaY < 0 ? 1.25 : 0.8); }, {passive: false});
  let drag = null;
  view.addEventListener("pointerdown", (e) => { drag = {x: e.clientX, y: e.clientY, l: view.scrollLeft, t: view.scrollTop}; });
  view.addEventListener("pointermove", (e) => {
    if (drag) { view.scrollLeft = drag.l - (e.clientX - drag.x); view.scrollTop = drag.t - (e.clientY - drag.y); }
  });
  window.addEventListener("pointerup", () => { drag = null; });
  dialog.addEventListener("close", () => { if (opener) opener.focus(); });
}

document.addEventListener("DOMContentLoaded", () => {
  initLive();
  initActions();
  initForms();
  initZoom();
});
