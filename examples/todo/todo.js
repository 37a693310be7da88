// todo: the front end. The page is served at the root of the app's own
// origin (or at /tpt/APPID/), so the app's routes are relative URLs under it.
const base = (location.pathname.match(/^\/tpt\/[^/]+\//) || ["./"])[0];
const list = document.getElementById("items");
const input = document.getElementById("new-item");
const errorBox = document.getElementById("error");
const count = document.getElementById("count");

async function call(method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const doc = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(doc.Message || `${res.status} ${res.statusText}`);
  return doc;
}

function showError(e) {
  errorBox.textContent = e ? e.message : "";
  errorBox.hidden = !e;
}

function row(item) {
  const li = document.createElement("li");
  li.dataset.id = item.id;
  li.classList.toggle("done", item.done);
  const box = document.createElement("input");
  box.type = "checkbox";
  box.className = "toggle";
  box.checked = item.done;
  box.setAttribute("aria-label", "done");
  box.addEventListener("change", () =>
    call("PUT", `api/items/${item.id}`, { done: box.checked }).then(refresh, (e) => (showError(e), refresh())));
  const text = document.createElement("span");
  text.className = "text";
  text.textContent = item.text;
  const del = document.createElement("button");
  del.className = "delete";
  del.title = "delete";
  del.textContent = "×";
  del.addEventListener("click", () => call("DELETE", `api/items/${item.id}`).then(refresh, showError));
  li.append(box, text, del);
  return li;
}

async function refresh() {
  try {
    const { items } = await call("GET", "api/items");
    list.replaceChildren(...items.map(row));
    const open = items.filter((i) => !i.done).length;
    count.textContent = items.length ? `${open} of ${items.length} left` : "Nothing to do.";
    showError(null);
  } catch (e) {
    showError(e);
  }
}

document.getElementById("add-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  try {
    await call("POST", "api/items", { text });
    input.value = "";
    await refresh();
  } catch (e) {
    showError(e);
  }
});

refresh();
