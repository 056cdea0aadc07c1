// The flystore storage browser. Plain DOM code: names from the disk only ever reach the page as
// text (textContent, attributes), never as HTML. Listing, sorting and search run on the server;
// the page holds one page of entries at a time.
"use strict";

const PAGE = 100;
const CSRF = document.querySelector('meta[name="csrf-token"]').content;
const IMAGE = /\.(png|jpe?g|gif|webp|avif|bmp|ico|svg)$/i;
const TEXT = /\.(txt|md|markdown|csv|tsv|json|ya?ml|toml|ini|cfg|conf|log|xml|py|js|ts|css|sh|sql|rs|go|java|c|h|cpp|rb|php|env)$/i;
const PDF = /\.pdf$/i;
const TEXT_PREVIEW_BYTES = 256 * 1024;

const state = { disk: "", path: "", offset: 0, sort: "name", order: "asc", q: "", deep: false };
const $ = (id) => document.getElementById(id);

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "onclick") node.addEventListener("click", value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function query(params) {
  return new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v !== undefined)).toString();
}

async function api(method, url, body) {
  const options = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (method !== "GET") options.headers["X-CSRF-Token"] = CSRF;
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(url, options);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

class ApiError extends Error {
  constructor(status, data) {
    const detail = data && data.detail;
    super((detail && (detail.message || detail)) || `the server answered ${status}`);
    this.status = status;
    this.reason = detail && detail.reason;
  }
}

function toast(message, isError = false) {
  const box = $("toast");
  box.textContent = message;
  box.className = isError ? "error" : "";
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, isError ? 7000 : 4000);
}

function fileUrl(path, inline = false) {
  return "/api/file?" + query({ disk: state.disk, path, inline: inline ? "1" : "" });
}

function size(bytes) {
  if (bytes === null || bytes === undefined) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes, unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return (unit ? value.toFixed(value < 10 ? 1 : 0) : value) + " " + units[unit];
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) : "";
}

function childPath(name) { return state.path ? state.path + "/" + name : name; }

// -- navigation: the hash holds disk and folder, so back/forward and reloads work ---------------
function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  state.disk = params.get("disk") || state.disk;
  state.path = params.get("path") || "";
}

function go(path, disk = state.disk) {
  const hash = "#" + query({ disk, path });
  if (location.hash === hash) refresh(); else location.hash = hash;
}

window.addEventListener("hashchange", () => {
  readHash();
  state.offset = 0;
  state.q = "";  // a new folder starts unfiltered
  $("search").value = "";
  $("disk").value = state.disk;
  refresh();
});

async function loadDisks() {
  const { disks } = await api("GET", "/api/disks");
  const select = $("disk");
  select.replaceChildren(...disks.map((d) => el("option", { value: d.name, text: `${d.name} (${d.driver})` })));
  readHash();
  if (!disks.some((d) => d.name === state.disk)) {
    const preferred = disks.find((d) => d.default) || disks[0];
    state.disk = preferred ? preferred.name : "";
  }
  select.value = state.disk;
  select.addEventListener("change", () => go("", select.value));
}

// -- listing -----------------------------------------------------------------------------------
async function refresh(fresh = false) {
  renderCrumbs();
  const searching = state.q && state.deep;
  try {
    const data = searching
      ? await api("GET", "/api/search?" + query({ disk: state.disk, path: state.path, q: state.q }))
      : await api("GET", "/api/list?" + query({
          disk: state.disk, path: state.path, offset: state.offset, limit: PAGE, sort: state.sort,
          order: state.order, q: state.q, fresh: fresh ? "1" : "",
        }));
    renderRows(data.entries, searching);
    renderPager(data, searching);
  } catch (error) {
    renderRows([], false);
    $("range").textContent = "";
    toast(error.message, true);
  }
}

function renderCrumbs() {
  const parts = state.path ? state.path.split("/") : [];
  const crumbs = [el("a", { href: "#" + query({ disk: state.disk, path: "" }), text: state.disk || "?" })];
  parts.forEach((part, index) => {
    crumbs.push(el("span", { class: "sep", text: "/" }));
    const path = parts.slice(0, index + 1).join("/");
    crumbs.push(el("a", { href: "#" + query({ disk: state.disk, path }), text: part }));
  });
  $("crumbs").replaceChildren(...crumbs);
  $("drop-target").textContent = `${state.disk}://${state.path}`;
  document.querySelectorAll("th.sortable").forEach((th) => {
    if (th.dataset.sort === state.sort) th.setAttribute("aria-sort", state.order === "asc" ? "ascending" : "descending");
    else th.removeAttribute("aria-sort");
  });
}

function renderRows(entries, searching) {
  $("rows").replaceChildren(...entries.map((entry) => row(entry, searching)));
  const empty = $("empty");
  empty.hidden = entries.length > 0;
  empty.textContent = state.q ? `Nothing here matches "${state.q}".` : "This folder is empty. Drop files here to upload.";
}

function row(entry, searching) {
  const name = el("td", { class: "name" });
  if (entry.is_folder) {
    name.append(el("span", { class: "icon folder", "aria-hidden": "true" }),
      el("a", { href: "#" + query({ disk: state.disk, path: entry.path }), text: entry.name }));
  } else {
    name.append(el("span", { class: "icon file", "aria-hidden": "true" }),
      el("button", { type: "button", title: "Preview", text: entry.name, onclick: () => preview(entry) }));
  }
  if (searching) name.append(el("span", { class: "where", text: entry.path }));
  const actions = el("td", { class: "actions" });
  if (!entry.is_folder) {
    actions.append(
      el("button", { type: "button", text: "Preview", onclick: () => preview(entry) }),
      el("a", { class: "button", href: fileUrl(entry.path), download: entry.name, text: "Download" }),
      el("button", { type: "button", text: "Link", onclick: () => copyLink(entry) }),
    );
  }
  actions.append(
    el("button", { type: "button", text: "Rename", onclick: () => rename(entry) }),
    el("button", { type: "button", class: "danger", text: "Delete", onclick: () => remove(entry) }),
  );
  return el("tr", { "data-path": entry.path },
    name, el("td", { class: "num", text: size(entry.size) }), el("td", { text: when(entry.last_modified) }), actions);
}

function renderPager(data, searching) {
  const prev = $("prev"), next = $("next"), range = $("range");
  if (searching) {
    prev.disabled = next.disabled = true;
    range.textContent = `${data.entries.length} found` + (data.truncated ? " (first matches only; refine the search)" : "");
    return;
  }
  const first = data.total ? data.offset + 1 : 0;
  const last = data.offset + data.entries.length;
  range.textContent = `${first.toLocaleString()}\u2013${last.toLocaleString()} of ${data.total.toLocaleString()}`;
  prev.disabled = data.offset === 0;
  next.disabled = last >= data.total;
}

$("prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE); refresh(); });
$("next").addEventListener("click", () => { state.offset += PAGE; refresh(); });
$("refresh").addEventListener("click", () => refresh(true));
document.querySelectorAll("th.sortable").forEach((th) => th.addEventListener("click", () => {
  state.order = state.sort === th.dataset.sort && state.order === "asc" ? "desc" : "asc";
  state.sort = th.dataset.sort;
  state.offset = 0;
  refresh();
}));

let typing;
$("search").addEventListener("input", (event) => {
  clearTimeout(typing);  // one request when typing pauses, not one per keystroke
  typing = setTimeout(() => { state.q = event.target.value.trim(); state.offset = 0; refresh(); }, 250);
});
$("deep").addEventListener("change", (event) => { state.deep = event.target.checked; state.offset = 0; refresh(); });

// -- preview -----------------------------------------------------------------------------------
async function preview(entry) {
  const body = $("preview-body");
  $("preview-title").textContent = entry.path;
  $("preview-info").textContent = `${size(entry.size)} \u00b7 ${when(entry.last_modified)}`;
  const download = $("preview-download");
  download.href = fileUrl(entry.path);
  download.setAttribute("download", entry.name);
  body.replaceChildren();
  $("preview").hidden = false;
  if (IMAGE.test(entry.name)) {
    body.append(el("img", { src: fileUrl(entry.path, true), alt: entry.name }));
  } else if (PDF.test(entry.name)) {
    body.append(el("iframe", { src: fileUrl(entry.path, true), title: entry.name }));
  } else if (TEXT.test(entry.name) || entry.size === 0) {
    try {
      const response = await fetch(fileUrl(entry.path), { headers: { Range: `bytes=0-${TEXT_PREVIEW_BYTES - 1}` } });
      if (!response.ok && response.status !== 416) throw new Error(`the server answered ${response.status}`);
      const text = response.status === 416 ? "" : await response.text();
      const more = entry.size > TEXT_PREVIEW_BYTES ? `\n\n\u2026 (first ${size(TEXT_PREVIEW_BYTES)} shown)` : "";
      body.append(el("pre", { text: text + more }));
    } catch (error) {
      body.append(el("p", { class: "none", text: `Cannot show it: ${error.message}` }));
    }
  } else {
    body.append(el("p", { class: "none", text: "No preview for this type; download it instead." }));
  }
}

function closePreview() {
  $("preview").hidden = true;
  $("preview-body").replaceChildren();
}
$("preview-close").addEventListener("click", closePreview);
$("preview").addEventListener("click", (event) => { if (event.target.id === "preview") closePreview(); });
document.addEventListener("keydown", (event) => { if (event.key === "Escape") closePreview(); });

// -- changes -----------------------------------------------------------------------------------
async function rename(entry) {
  const answer = prompt(`Rename or move ${entry.path}\n(a name stays in this folder; a path starting with / is from the disk root)`, entry.name);
  if (!answer || answer === entry.name) return;
  const folder = entry.path.includes("/") ? entry.path.slice(0, entry.path.lastIndexOf("/")) : "";
  const destination = answer.startsWith("/") ? answer.slice(1) : (folder ? folder + "/" + answer : answer);
  const body = { disk: state.disk, source: entry.path, destination };
  try {
    try {
      await api("POST", "/api/move", body);
    } catch (error) {
      if (error.status !== 409 || !confirm(`${destination} exists. Replace it?`)) throw error;
      await api("POST", "/api/move", { ...body, overwrite: true });
    }
    toast(`Moved to ${destination}`);
    refresh();
  } catch (error) { toast(error.message, true); }
}

async function remove(entry) {
  const what = entry.is_folder ? `the folder ${entry.path} and everything in it` : entry.path;
  if (!confirm(`Delete ${what}?`)) return;
  try {
    await api("POST", "/api/delete", { disk: state.disk, paths: [entry.path] });
    toast(`Deleted ${entry.path}`);
    refresh();
  } catch (error) { toast(error.message, true); }
}

async function copyLink(entry) {
  try {
    const { url } = await api("POST", "/api/temporary-url", { disk: state.disk, path: entry.path, expires: 3600 });
    const absolute = new URL(url, location.href).href;
    try {
      await navigator.clipboard.writeText(absolute);
      toast(`Link copied (valid 1 hour): ${absolute}`);
    } catch {
      prompt("Temporary link (valid 1 hour):", absolute);
    }
  } catch (error) { toast(error.message, true); }
}

$("new-folder").addEventListener("click", async () => {
  const name = prompt("New folder name");
  if (!name) return;
  try {
    await api("POST", "/api/folders", { disk: state.disk, path: childPath(name) });
    refresh();
  } catch (error) { toast(error.message, true); }
});

// -- uploads: one file at a time, each with its own progress bar (XHR reports upload progress) ---
const queue = [];
let uploading = false;

function enqueue(files) {
  for (const file of files) queue.push({ file, disk: state.disk, folder: state.path });
  if (!uploading) next();
}

async function next() {
  const item = queue.shift();
  if (!item) { uploading = false; refresh(); return; }
  uploading = true;
  const bar = el("progress", { max: "100", value: "0" });
  const status = el("span", { text: "0%" });
  const card = el("div", { class: "upload", "data-name": item.file.name },
    el("div", { class: "label" }, el("span", { text: item.file.name }), status), bar);
  $("uploads").append(card);
  try {
    await send(item, false, bar, status).catch((error) => {
      if (error.status === 409 && confirm(`${item.file.name} exists. Replace it?`)) return send(item, true, bar, status);
      throw error;
    });
    status.textContent = "done";
    card.classList.add("done");
    setTimeout(() => card.remove(), 2500);
  } catch (error) {
    card.classList.add("failed");
    status.textContent = "failed";
    toast(`${item.file.name}: ${error.message}`, true);
    setTimeout(() => card.remove(), 8000);
  }
  next();
}

function send(item, overwrite, bar, status) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/upload?" + query({
      disk: item.disk, folder: item.folder, name: item.file.name, overwrite: overwrite ? "1" : "",
    }));
    xhr.setRequestHeader("X-CSRF-Token", CSRF);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.addEventListener("progress", (event) => {
      if (!event.lengthComputable) return;
      const percent = Math.round((event.loaded / event.total) * 100);
      bar.value = percent;
      status.textContent = `${percent}% of ${size(event.total)}`;
    });
    xhr.addEventListener("load", () => {
      let data = {};
      try { data = JSON.parse(xhr.responseText); } catch { /* not JSON: the status says enough */ }
      if (xhr.status >= 200 && xhr.status < 300) { bar.value = 100; resolve(data); }
      else reject(new ApiError(xhr.status, data));
    });
    xhr.addEventListener("error", () => reject(new Error("the connection failed")));
    xhr.send(item.file);
  });
}

$("file-input").addEventListener("change", (event) => { enqueue(event.target.files); event.target.value = ""; });

let dragDepth = 0;
const hasFiles = (event) => event.dataTransfer && Array.from(event.dataTransfer.types).includes("Files");
document.addEventListener("dragenter", (event) => {
  if (!hasFiles(event)) return;
  dragDepth += 1;
  $("drop-overlay").hidden = false;
});
document.addEventListener("dragleave", () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (!dragDepth) $("drop-overlay").hidden = true;
});
document.addEventListener("dragover", (event) => { if (hasFiles(event)) event.preventDefault(); });
document.addEventListener("drop", (event) => {
  event.preventDefault();
  dragDepth = 0;
  $("drop-overlay").hidden = true;
  if (event.dataTransfer && event.dataTransfer.files.length) enqueue(event.dataTransfer.files);
});

loadDisks().then(() => refresh()).catch((error) => toast(error.message, true));
